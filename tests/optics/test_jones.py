"""Jones calculus of the pump optics against analytic results."""

from __future__ import annotations

import numpy as np
import pytest

from polase.errors import ConfigError
from polase.optics.jones import docp, polarizer, pump_polarization, retarder, stokes


def test_docp_is_sin_two_theta_for_an_ideal_plate():
    theta = np.linspace(-90, 90, 37)
    intensity, d = pump_polarization(theta)
    np.testing.assert_allclose(d, np.sin(2 * np.deg2rad(theta)), atol=1e-12)
    np.testing.assert_allclose(intensity, 1.0, atol=1e-12)


def test_linear_and_circular_have_identical_intensity():
    intensity, d = pump_polarization([0.0, 45.0])
    assert intensity[0] == pytest.approx(intensity[1], abs=1e-12)
    assert d[0] == pytest.approx(0.0, abs=1e-12)
    assert d[1] == pytest.approx(1.0, abs=1e-12)


def test_retardance_error_reduces_docp_by_cos_error():
    err = 7.0
    _, d = pump_polarization([45.0], retardance_error_deg=err)
    # retardance 90 + err at 45 deg: S3/S0 = sin(90 + err) = cos(err)
    assert d[0] == pytest.approx(np.cos(np.deg2rad(err)), rel=1e-12)


def test_pure_states_are_fully_polarized():
    rng = np.random.default_rng(3)
    for _ in range(10):
        m = retarder(rng.uniform(-90, 90), rng.uniform(0, 180))
        e = m @ polarizer(0.0) @ np.array([1.0, 0.0])
        s = stokes(e)
        assert s[0] ** 2 == pytest.approx(s[1] ** 2 + s[2] ** 2 + s[3] ** 2, rel=1e-12)
        assert abs(docp(s)) <= 1 + 1e-12


def test_diattenuation_makes_intensity_depend_on_angle():
    intensity, _ = pump_polarization([0.0, 45.0, 90.0], diattenuation=0.1)
    assert intensity[0] == pytest.approx(1.1)
    assert intensity[1] == pytest.approx(1.0)
    assert intensity[2] == pytest.approx(0.9)


def test_non_finite_angle_is_rejected():
    with pytest.raises(ConfigError, match="qwp_angle"):
        pump_polarization([np.nan])
