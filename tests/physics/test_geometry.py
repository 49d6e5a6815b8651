"""Ray-optics coupling of the rod against a Monte Carlo of isotropic rays."""

from __future__ import annotations

import numpy as np
import pytest

from polase.physics.geometry import end_escape_fraction, face_escape_fraction, objective_collection


@pytest.mark.parametrize("n", [1.6, 2.2, 2.4])
def test_escape_cones_match_isotropic_rays(n):
    rng = np.random.default_rng(11)
    k = rng.normal(size=(400_000, 3))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    c = np.sqrt(1 - 1 / n**2)
    ends = np.abs(k[:, 0]) > c
    # every ray in an end cone is totally reflected by the four side faces
    assert np.all((np.abs(k[ends, 1]) < c) & (np.abs(k[ends, 2]) < c))
    assert ends.mean() == pytest.approx(end_escape_fraction(n), abs=3e-3)
    assert (k[:, 2] > c).mean() == pytest.approx(face_escape_fraction(n), abs=3e-3)


def test_objective_collection_limits():
    assert objective_collection(2.2, 1.0) == pytest.approx(face_escape_fraction(2.2))
    assert objective_collection(2.2, 0.5) == pytest.approx(0.25 * face_escape_fraction(2.2))
    assert end_escape_fraction(2.2) == pytest.approx(0.109, abs=1e-3)
    with pytest.raises(ValueError):
        objective_collection(2.2, 0.0)
    with pytest.raises(ValueError):
        end_escape_fraction(1.0)
