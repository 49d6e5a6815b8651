"""Pump pulse and spot formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from polase.errors import ConfigError
from polase.optics.pump import (
    fluence_from_average_power,
    fluence_from_pulse_energy,
    gaussian_pulse,
    peak_intensity,
    spot_profile,
)


def test_peak_fluence_integrates_back_to_pulse_energy():
    e_uj, d_um = 1.7, 100.0
    f0 = fluence_from_pulse_energy(e_uj, d_um) * 1e-3  # J/cm2
    w = 0.5 * d_um * 1e-4
    total, _ = quad(lambda r: f0 * np.exp(-2 * r**2 / w**2) * 2 * np.pi * r, 0, 10 * w)
    assert total == pytest.approx(e_uj * 1e-6, rel=1e-9)


def test_average_power_and_repetition_rate():
    # 10 mW at 25 kHz = 0.4 uJ per pulse
    assert fluence_from_average_power(10.0, 25e3, 100.0) == pytest.approx(
        fluence_from_pulse_energy(0.4, 100.0)
    )
    with pytest.raises(ConfigError, match="repetition_rate"):
        fluence_from_average_power(10.0, 0.0, 100.0)


def test_gaussian_pulse_has_unit_area_and_given_fwhm():
    area, _ = quad(gaussian_pulse, -2000, 2000, args=(290.0,))
    assert area == pytest.approx(1.0, rel=1e-9)
    half = gaussian_pulse(145.0, 290.0) / gaussian_pulse(0.0, 290.0)
    assert half == pytest.approx(0.5, rel=1e-12)


def test_peak_intensity_times_pulse_integral_is_fluence():
    f, tau = 8.2, 290.0
    i0 = peak_intensity(f, tau)
    total, _ = quad(lambda t: i0 * np.exp(-4 * np.log(2) * (t / tau) ** 2) * 1e-15, -3000, 3000)
    assert total * 1e3 == pytest.approx(f, rel=1e-9)


def test_spot_profile_is_one_over_e_squared_at_the_radius():
    assert spot_profile(50.0, 100.0) == pytest.approx(np.exp(-2.0))
    assert np.all(spot_profile(np.array([-30.0, 0.0, 30.0]), 100.0, "flat") == 1.0)
    with pytest.raises(ConfigError, match="profile"):
        spot_profile(0.0, 100.0, "square")
