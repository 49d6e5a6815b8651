"""m-photon generation: pulse-shape factor, F^m scaling, depletion, dichroism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from polase.errors import ConfigError
from polase.physics.generation import (
    initial_density,
    multiphoton_coefficient,
    pulse_shape_factor,
)


def test_c2_is_0664():
    assert pulse_shape_factor(2) == pytest.approx(0.664, abs=5e-4)
    assert pulse_shape_factor(1) == pytest.approx(1.0)


@pytest.mark.parametrize("m", [1.0, 2.0, 2.5, 3.0, 4.0])
def test_shape_factor_matches_numerical_integral(m):
    tau = 1.0
    a = 4 * math.log(2)

    def g(t):
        return math.sqrt(a / math.pi) / tau * math.exp(-a * (t / tau) ** 2)

    val, _ = quad(lambda t: g(t) ** m, -10, 10)
    assert pulse_shape_factor(m) == pytest.approx(val * tau ** (m - 1), rel=1e-9)


@pytest.mark.parametrize("m", [1.0, 2.0, 3.0])
def test_density_scales_as_fluence_to_the_m(m):
    beta = 1e-9 ** (m - 1)
    n1 = initial_density(2.0, beta, m)
    n2 = initial_density(6.0, beta, m)
    assert n2 / n1 == pytest.approx(3.0**m, rel=1e-12)


def test_two_photon_density_order_of_magnitude():
    # 1 cm/GW at 8.2 mJ/cm2, 290 fs, 1030 nm: beta C2 F^2 / (tau 2 hbar w)
    f = 8.2e-3
    e_ph = 6.62607015e-34 * 2.99792458e8 / 1030e-9
    expected = 1e-9 * 0.6643 * f**2 / (290e-15 * 2 * e_ph)
    assert initial_density(8.2, 1e-9, 2) == pytest.approx(expected, rel=2e-3)


def test_order_below_one_is_rejected():
    with pytest.raises(ConfigError, match="multiphoton_order"):
        initial_density(1.0, 1e-9, 0.5)


def test_depletion_reduces_density_and_vanishes_for_thin_samples():
    n = initial_density(15.0, 1e-9, 2)
    thick = initial_density(15.0, 1e-9, 2, thickness_cm=1e-2, depletion=True)
    thin = initial_density(15.0, 1e-9, 2, thickness_cm=1e-9, depletion=True)
    assert thick < n
    assert thin == pytest.approx(n, rel=1e-6)


def test_linear_absorption_depletion_is_beer_lambert():
    alpha, d = 1e4, 1e-4
    n = initial_density(1.0, alpha, 1, thickness_cm=d, depletion=True, n_depth=4000)
    n0 = initial_density(1.0, alpha, 1)
    assert n / n0 == pytest.approx((1 - np.exp(-alpha * d)) / (alpha * d), rel=1e-5)


def test_dichroism_forms():
    b = multiphoton_coefficient(1.0, np.array([0.0, 0.5, 1.0]), 0.1)
    np.testing.assert_allclose(b, [1.0, 1.025, 1.1])
    b = multiphoton_coefficient(1.0, np.array([-1.0, 0.5]), 0.1, form="abs")
    np.testing.assert_allclose(b, [1.1, 1.05])
