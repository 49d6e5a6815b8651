"""Kinetics: spin relaxation, recombination limits, mechanism densities."""

from __future__ import annotations

import numpy as np
import pytest

from polase.errors import ConfigError
from polase.physics.kinetics import (
    initial_spin_densities,
    recombination_only,
    spin_relaxation,
    total_loss_rate,
)
from polase.physics.mechanisms import channel_densities, cooperative_density, parse_mechanism


def test_initial_polarization_is_eta_times_docp():
    up, down = initial_spin_densities(1e18, np.array([0.0, 0.5, 1.0]), 0.6)
    np.testing.assert_allclose(up + down, 1e18)
    np.testing.assert_allclose((up - down) / (up + down), [0.0, 0.3, 0.6])


def test_spin_relaxation_conserves_total_and_decays_polarization():
    tau = 8e-9
    up, down = 0.8, 0.2
    dt = 1e-12
    for _ in range(8000):  # 8 ns with explicit Euler
        du, dd = spin_relaxation(up, down, tau)
        up, down = up + dt * du, down + dt * dd
    assert up + down == pytest.approx(1.0, rel=1e-12)
    assert (up - down) == pytest.approx(0.6 * np.exp(-1.0), rel=1e-3)


def test_recombination_limits():
    t = np.array([0.0, 1e-9, 5e-9])
    n = recombination_only(t, 1e18, 2.5e8, 0.0, 0.0)
    np.testing.assert_allclose(n, 1e18 * np.exp(-2.5e8 * t), rtol=1e-6)
    n = recombination_only(t, 1e18, 0.0, 1e-9, 0.0)
    np.testing.assert_allclose(n, 1e18 / (1 + 1e-9 * 1e18 * t), rtol=1e-6)


def test_total_loss_rate():
    assert total_loss_rate(1e18, 1e8, 1e-10, 1e-28) == pytest.approx(1e8 + 1e8 + 1e8)


def test_cooperative_density_limits():
    n = np.array([0.0, 1e17, 4e17])
    np.testing.assert_allclose(cooperative_density(n, 0.0, 1e17), n)
    np.testing.assert_allclose(
        cooperative_density(n, 2.0, 1e17), [0.0, 1e17, 4e17 + 2.0 * 9e34 / 1e17]
    )


def test_orbit_orbit_favours_oriented_excitons():
    # same total density: oriented populations carry more gain-active density (convexity)
    lin = 2 * cooperative_density(0.5e18, 1.0, 1e17)
    circ = cooperative_density(0.75e18, 1.0, 1e17) + cooperative_density(0.25e18, 1.0, 1e17)
    assert circ > lin


def test_two_channels_sum_to_one_channel():
    nu, nd = np.array([3e17]), np.array([1e17])
    g1, s1 = channel_densities(nu, nd, nu, nd, 1.0, 1)
    g2, s2 = channel_densities(nu, nd, nu, nd, 0.7, 2)
    assert g2.sum() == pytest.approx(2 * g1.sum())
    assert s2.sum() == pytest.approx(s1.sum())


def test_mechanism_names():
    assert parse_mechanism("none") == frozenset()
    assert parse_mechanism("orbit_orbit+dichroism") == {"orbit_orbit", "dichroism"}
    with pytest.raises(ConfigError, match="mechanism"):
        parse_mechanism("orbit+spin")
