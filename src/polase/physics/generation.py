"""m-photon generation of excitons by an ultrashort Gaussian pump pulse."""

from __future__ import annotations

import math

import numpy as np

from ..constants import EV_J, photon_energy_ev
from ..errors import ConfigError

_FOUR_LN2 = 4.0 * math.log(2.0)


def pulse_shape_factor(m: float) -> float:
    """C_m = tau_p^(m-1) * integral g(t)^m dt for a unit-area Gaussian pulse of FWHM tau_p.

    C_m = (4 ln2 / pi)^((m-1)/2) / sqrt(m); C_1 = 1, C_2 = 0.664.

    Parameters
    ----------
    m
        Number of photons absorbed per excitation (m >= 1). [1]
    """
    check_order(m)
    return (_FOUR_LN2 / math.pi) ** ((m - 1.0) / 2.0) / math.sqrt(m)


def check_order(m) -> float:
    """Return m as float; raise ConfigError unless it is a finite number >= 1."""
    try:
        mf = float(m)
    except (TypeError, ValueError):
        raise ConfigError(
            "material.multiphoton_order", f"must be a number >= 1, got {m!r}"
        ) from None
    if not math.isfinite(mf) or mf < 1.0:
        raise ConfigError("material.multiphoton_order", f"must be a finite number >= 1, got {m!r}")
    return mf


def multiphoton_coefficient(beta_lin, docp, delta: float = 0.0, form: str = "docp2"):
    """Polarization-dependent m-photon absorption coefficient (linear-circular dichroism).

    beta(DOCP) = beta_lin * (1 + delta * DOCP^2) for form "docp2" (the even form expected from
    symmetry: the two circular helicities absorb equally) or (1 + delta * |DOCP|) for "abs".

    Parameters
    ----------
    beta_lin
        Coefficient for linearly polarized pump. [cm^(2m-3)/W^(m-1)], i.e. cm/W for m = 2
    docp
        Degree of circular polarization of the pump. [1]
    delta
        Circular-to-linear dichroism, beta_circ / beta_lin - 1. [1]
    form
        "docp2" or "abs".
    """
    d = np.asarray(docp, dtype=float)
    if form == "docp2":
        f = d**2
    elif form == "abs":
        f = np.abs(d)
    else:
        raise ConfigError("mechanism.dichroism.form", f"must be 'docp2' or 'abs', got {form!r}")
    return beta_lin * (1.0 + delta * f)


def initial_density(
    fluence_mj_cm2,
    beta,
    m: float = 2.0,
    pulse_fwhm_fs: float = 290.0,
    pump_wavelength_nm: float = 1030.0,
    thickness_cm: float | None = None,
    depletion: bool = False,
    n_depth: int = 16,
):
    """Exciton density created by m-photon absorption of one Gaussian pulse.

    N0 = beta_m C_m F^m / (tau_p^(m-1) m hbar omega). With `depletion`, the pump is attenuated
    through the thickness by dI/dz = -beta I^m (solved for the peak intensity, a slowly varying
    approximation) and N0 is the depth average.

    Parameters
    ----------
    fluence_mj_cm2
        Local pump fluence. [mJ/cm2]
    beta
        m-photon absorption coefficient; for m = 2 in [cm/W] (1 cm/GW = 1e-9 cm/W);
        general m in [cm^(2m-3)/W^(m-1)].
    m
        Photon order (any real >= 1). [1]
    pulse_fwhm_fs
        Pulse duration (intensity FWHM). [fs]
    pump_wavelength_nm
        Pump wavelength. [nm]
    thickness_cm
        Sample thickness, needed only with `depletion`. [cm]
    depletion
        Include pump depletion through the thickness.
    n_depth
        Depth points for the depletion average.

    Returns
    -------
    ndarray
        Initial exciton density. [cm^-3]
    """
    m = check_order(m)
    f = np.asarray(fluence_mj_cm2, dtype=float) * 1e-3  # J/cm2
    beta = np.asarray(beta, dtype=float)
    if np.any(~np.isfinite(f)) or np.any(f < 0):
        raise ConfigError("sweep.fluence", "fluence must be finite and >= 0 [mJ/cm2]")
    tau = pulse_fwhm_fs * 1e-15
    e_ph = photon_energy_ev(pump_wavelength_nm) * EV_J
    c_m = pulse_shape_factor(m)
    n0 = beta * c_m * f**m / (tau ** (m - 1.0) * m * e_ph)
    if not depletion:
        return n0
    if thickness_cm is None or not thickness_cm > 0:
        raise ConfigError("sample.rod_thickness_um", "must be > 0 when pump depletion is on")
    i0 = f * math.sqrt(_FOUR_LN2 / math.pi) / tau  # peak intensity W/cm2
    z = (np.arange(n_depth) + 0.5) / n_depth * thickness_cm
    zz = z.reshape((-1,) + (1,) * np.ndim(i0))
    if m == 1.0:
        ratio = np.exp(-beta * zz)
    else:
        ratio = (1.0 + (m - 1.0) * beta * i0 ** (m - 1.0) * zz) ** (-1.0 / (m - 1.0))
    return n0 * np.mean(ratio**m, axis=0)
