"""Pump pulse and spot: fluence, peak intensity and the Gaussian temporal/spatial shapes."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

#: 4 ln 2, the Gaussian FWHM-to-variance factor.
_FOUR_LN2 = 4.0 * np.log(2.0)


def fluence_from_pulse_energy(pulse_energy_uj, spot_diameter_um):
    """Peak fluence of a Gaussian spot.

    F_peak = 2 E / (pi w^2), w the 1/e^2 radius.

    Parameters
    ----------
    pulse_energy_uj
        Pulse energy. [uJ]
    spot_diameter_um
        1/e^2 intensity diameter of the spot. [um]

    Returns
    -------
    float or ndarray
        Peak fluence. [mJ/cm2]
    """
    e = np.asarray(pulse_energy_uj, dtype=float)
    if np.any(~np.isfinite(e)) or np.any(e < 0):
        raise ConfigError("pump.pulse_energy_uj", "must be finite and >= 0")
    if not spot_diameter_um > 0:
        raise ConfigError("pump.spot_diameter_um", f"must be > 0, got {spot_diameter_um!r}")
    w_cm = 0.5 * spot_diameter_um * 1e-4
    return 2.0 * e * 1e-3 / (np.pi * w_cm**2)


def fluence_from_average_power(average_power_mw, repetition_rate_hz, spot_diameter_um):
    """Peak fluence from average power and repetition rate.

    Parameters
    ----------
    average_power_mw
        Average pump power. [mW]
    repetition_rate_hz
        Pulse repetition rate. [Hz]
    spot_diameter_um
        1/e^2 intensity diameter. [um]

    Returns
    -------
    float or ndarray
        Peak fluence. [mJ/cm2]
    """
    if not repetition_rate_hz > 0:
        raise ConfigError("pump.repetition_rate_hz", f"must be > 0, got {repetition_rate_hz!r}")
    energy_uj = np.asarray(average_power_mw, dtype=float) * 1e-3 / repetition_rate_hz * 1e6
    return fluence_from_pulse_energy(energy_uj, spot_diameter_um)


def peak_intensity(fluence_mj_cm2, pulse_fwhm_fs):
    """Peak intensity of a Gaussian pulse: I0 = F sqrt(4 ln2 / pi) / tau_p.

    Parameters
    ----------
    fluence_mj_cm2
        Fluence. [mJ/cm2]
    pulse_fwhm_fs
        Pulse duration (intensity FWHM). [fs]

    Returns
    -------
    float or ndarray
        Peak intensity. [W/cm2]
    """
    return np.asarray(fluence_mj_cm2) * 1e-3 * np.sqrt(_FOUR_LN2 / np.pi) / (pulse_fwhm_fs * 1e-15)


def gaussian_pulse(t_fs, pulse_fwhm_fs):
    """Unit-area Gaussian temporal profile g(t) with the given FWHM. [1/fs]"""
    t = np.asarray(t_fs, dtype=float)
    return (
        np.sqrt(_FOUR_LN2 / np.pi) / pulse_fwhm_fs * np.exp(-_FOUR_LN2 * (t / pulse_fwhm_fs) ** 2)
    )


def spot_profile(x_um, spot_diameter_um, profile: str = "gaussian"):
    """Relative fluence along a line through the spot centre.

    Parameters
    ----------
    x_um
        Position from the spot centre. [um]
    spot_diameter_um
        1/e^2 diameter. [um]
    profile
        "gaussian" (exp(-2 x^2 / w^2)) or "flat" (1 everywhere).

    Returns
    -------
    ndarray
        F(x) / F_peak. [1]
    """
    x = np.asarray(x_um, dtype=float)
    if profile == "flat":
        return np.ones_like(x)
    if profile == "gaussian":
        w = 0.5 * spot_diameter_um
        return np.exp(-2.0 * (x / w) ** 2)
    raise ConfigError("pump.profile", f"must be 'gaussian' or 'flat', got {profile!r}")
