"""Spectra: spontaneous lineshape, gain cross-section (Einstein relation), Urbach absorption."""

from __future__ import annotations

import math

import numpy as np

from ..constants import C_CM_S, HC_EV_NM

_FOUR_LN2 = 4.0 * math.log(2.0)


def lineshape_per_nm(wavelength_nm, center_ev: float, fwhm_ev: float, red_tail_ev: float = 0.0):
    """Spontaneous-emission lineshape in photon energy, as a density per nm.

    A Gaussian in energy (centre E_c, given FWHM), optionally convolved with a one-sided
    exponential of decay energy `red_tail_ev` towards lower energies (phonon-assisted and
    localized-state emission tail: an exponentially modified Gaussian). Converted to a
    density per wavelength, L_lambda = L_E |dE/dlambda|, unit area in energy.

    Parameters
    ----------
    wavelength_nm
        Vacuum wavelength. [nm]
    center_ev
        Centre energy of the Gaussian part. [eV]
    fwhm_ev
        Full width at half maximum of the Gaussian part. [eV]
    red_tail_ev
        Decay energy of the red (low-energy) exponential tail; 0 for a pure Gaussian. [eV]

    Returns
    -------
    ndarray
        Lineshape. [1/nm]
    """
    lam = np.asarray(wavelength_nm, dtype=float)
    e = HC_EV_NM / lam
    if red_tail_ev > 0.0:
        sd = fwhm_ev / math.sqrt(8.0 * math.log(2.0))
        l_e = _exponnorm_pdf(center_ev - e, red_tail_ev / sd, sd)
    else:
        l_e = (
            math.sqrt(_FOUR_LN2 / math.pi)
            / fwhm_ev
            * np.exp(-_FOUR_LN2 * ((e - center_ev) / fwhm_ev) ** 2)
        )
    return l_e * e / lam


def _exponnorm_pdf(x, k: float, sd: float):
    """Exponentially modified Gaussian density (scipy.stats.exponnorm with loc 0, shape k,
    scale sd), without importing scipy.stats (~0.6 s): erfcx where the erfc underflows."""
    from scipy.special import erfc, erfcx

    y = np.asarray(x, dtype=float) / sd
    b = (1.0 / k - y) / math.sqrt(2.0)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        direct = np.exp(0.5 / k**2 - y / k) * erfc(b)
        scaled = erfcx(np.maximum(b, 0.0)) * np.exp(-0.5 * y * y)
    return np.where(b >= 0.0, scaled, direct) / (2.0 * k * sd)


def urbach_absorption(wavelength_nm, alpha0_per_cm: float, edge_ev: float, urbach_ev: float):
    """Band-edge absorption with an exponential (Urbach) tail, saturating above the edge.

    alpha(E) = alpha0 exp((E - E_g) / E_U) for E < E_g, alpha0 for E >= E_g.

    Parameters
    ----------
    wavelength_nm
        Vacuum wavelength. [nm]
    alpha0_per_cm
        Absorption coefficient at and above the edge. [1/cm]
    edge_ev
        Edge energy E_g. [eV]
    urbach_ev
        Urbach energy E_U. [eV]

    Returns
    -------
    ndarray
        Absorption coefficient. [1/cm]
    """
    e = HC_EV_NM / np.asarray(wavelength_nm, dtype=float)
    return alpha0_per_cm * np.exp(np.minimum(e - edge_ev, 0.0) / urbach_ev)


def gain_cross_section(
    wavelength_nm, lineshape_nm, k_rad_per_s: float, refractive_index: float, scale: float = 1.0
):
    """Stimulated-emission cross-section from the spontaneous lineshape (Fuchtbauer-Ladenburg).

    sigma(lambda) = scale * lambda^4 L_lambda(lambda) k_rad / (8 pi n^2 c).

    Parameters
    ----------
    wavelength_nm
        Vacuum wavelength. [nm]
    lineshape_nm
        Spontaneous lineshape, unit area. [1/nm]
    k_rad_per_s
        Radiative rate. [1/s]
    refractive_index
        Refractive index near the emission. [1]
    scale
        Dimensionless enhancement over the Einstein value (calibrated; accounts for the
        homogeneous linewidth being narrower than the inhomogeneous PL band). [1]

    Returns
    -------
    ndarray
        Cross-section. [cm^2]
    """
    lam_cm = np.asarray(wavelength_nm, dtype=float) * 1e-7
    l_cm = np.asarray(lineshape_nm, dtype=float) * 1e7  # per cm of wavelength
    return scale * lam_cm**4 * l_cm * k_rad_per_s / (8.0 * math.pi * refractive_index**2 * C_CM_S)


def escape_fraction(alpha_per_cm, path_cm: float):
    """Mean transmission (1 - exp(-a d)) / (a d) of light emitted uniformly through a layer.

    Parameters
    ----------
    alpha_per_cm
        Absorption coefficient. [1/cm]
    path_cm
        Layer thickness crossed by the detected light. [cm]

    Returns
    -------
    ndarray
        Fraction escaping without reabsorption. [1]
    """
    ad = np.asarray(alpha_per_cm, dtype=float) * path_cm
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ad > 1e-8, -np.expm1(-ad) / np.where(ad > 1e-8, ad, 1.0), 1.0 - 0.5 * ad)
    return out


def absorption_from_nk(wavelength_nm, k):
    """Absorption coefficient alpha = 4 pi k / lambda. [1/cm] (wavelength in [nm], k [1])."""
    return (
        4.0 * math.pi * np.asarray(k, dtype=float) / (np.asarray(wavelength_nm, dtype=float) * 1e-7)
    )
