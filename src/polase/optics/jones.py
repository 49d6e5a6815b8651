"""Jones calculus for the pump polarization optics: polarizer, retarder, Stokes and DOCP.

Angles are fast-axis (or transmission-axis) angles measured from the x axis (the
polarizer axis of the experiment). [deg]
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def _rotation(theta_rad):
    c, s = np.cos(theta_rad), np.sin(theta_rad)
    return np.array([[c, -s], [s, c]], dtype=complex)


def _check_angle(name: str, value) -> float:
    v = float(value)
    if not np.isfinite(v):
        raise ConfigError(name, f"must be a finite angle in degrees, got {value!r}")
    return v


def polarizer(angle_deg: float = 0.0, extinction: float = 0.0) -> np.ndarray:
    """Jones matrix of a linear polarizer.

    Parameters
    ----------
    angle_deg
        Transmission-axis angle from the x axis. [deg]
    extinction
        Amplitude-transmission ratio of the blocked to the passed axis (0 = ideal). [1]

    Returns
    -------
    ndarray, shape (2, 2), complex
        Jones matrix.
    """
    t = np.deg2rad(_check_angle("polarization.polarizer_angle_deg", angle_deg))
    r = _rotation(t)
    return r @ np.diag([1.0, np.sqrt(extinction)]).astype(complex) @ r.T


def retarder(
    angle_deg: float,
    retardance_deg: float = 90.0,
    retardance_error_deg: float = 0.0,
    diattenuation: float = 0.0,
) -> np.ndarray:
    """Jones matrix of a linear retarder (wave plate), optionally diattenuating.

    Parameters
    ----------
    angle_deg
        Fast-axis angle from the x axis. [deg]
    retardance_deg
        Nominal retardance (90 for a quarter-wave plate). [deg]
    retardance_error_deg
        Deviation of the real plate from the nominal retardance at the pump wavelength. [deg]
    diattenuation
        D = (T_fast - T_slow) / (T_fast + T_slow) of the intensity transmissions; 0 keeps the
        transmitted intensity independent of the plate angle. [1]

    Returns
    -------
    ndarray, shape (2, 2), complex
        Jones matrix.
    """
    theta = np.deg2rad(_check_angle("sweep.qwp_angle", angle_deg))
    delta = np.deg2rad(_check_angle("polarization.retardance_deg", retardance_deg))
    delta = delta + np.deg2rad(
        _check_angle("polarization.retardance_error_deg", retardance_error_deg)
    )
    if not -1.0 < diattenuation < 1.0:
        raise ConfigError(
            "polarization.diattenuation", f"must be in (-1, 1), got {diattenuation!r}"
        )
    t_fast = np.sqrt(1.0 + diattenuation)
    t_slow = np.sqrt(1.0 - diattenuation)
    core = np.diag([t_fast * np.exp(-0.5j * delta), t_slow * np.exp(0.5j * delta)])
    r = _rotation(theta)
    return r @ core @ r.T


def stokes(jones_vector) -> np.ndarray:
    """Stokes parameters (S0, S1, S2, S3) of a Jones vector (..., 2).

    Sign convention: S3 = 2 Im(Ex Ey*), so that a quarter-wave plate at +45 deg to the
    polarizer gives S3 / S0 = +1 (called sigma+ / spin-up in the kinetics).
    """
    e = np.asarray(jones_vector, dtype=complex)
    ex, ey = e[..., 0], e[..., 1]
    s0 = np.abs(ex) ** 2 + np.abs(ey) ** 2
    s1 = np.abs(ex) ** 2 - np.abs(ey) ** 2
    s2 = 2.0 * np.real(ex * np.conj(ey))
    s3 = 2.0 * np.imag(ex * np.conj(ey))
    return np.stack([s0, s1, s2, s3], axis=-1)


def docp(stokes_vector) -> np.ndarray:
    """Degree of circular polarization S3 / S0. [1]"""
    s = np.asarray(stokes_vector, dtype=float)
    return s[..., 3] / s[..., 0]


def pump_polarization(
    qwp_angle_deg,
    polarizer_angle_deg: float = 0.0,
    retardance_deg: float = 90.0,
    retardance_error_deg: float = 0.0,
    diattenuation: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Relative intensity and DOCP after polarizer + quarter-wave plate.

    The input is unit-intensity light already polarized along the polarizer axis.

    Parameters
    ----------
    qwp_angle_deg : float or array_like
        Fast-axis angle of the plate relative to the polarizer axis. [deg]
    polarizer_angle_deg
        Polarizer transmission-axis angle. [deg]
    retardance_deg, retardance_error_deg, diattenuation
        See `retarder`.

    Returns
    -------
    intensity : ndarray
        Transmitted intensity relative to the plate-free beam. [1]
    docp : ndarray
        Degree of circular polarization; sin(2 theta) for an ideal plate. [1]
    """
    angles = np.atleast_1d(np.asarray(qwp_angle_deg, dtype=float))
    p = polarizer(polarizer_angle_deg)
    a = np.deg2rad(polarizer_angle_deg)
    e_in = np.array([np.cos(a), np.sin(a)], dtype=complex)
    out = np.empty((angles.size, 2), dtype=complex)
    for i, ang in enumerate(angles):
        m = retarder(polarizer_angle_deg + ang, retardance_deg, retardance_error_deg, diattenuation)
        out[i] = m @ (p @ e_in)
    s = stokes(out)
    return s[:, 0], docp(s)
