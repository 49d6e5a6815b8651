"""Photoluminescence excitation (PLE) spectrum model (Horiba Fluorolog-3 style).

The excitation monochromator scans the lamp; the emission monochromator stays at a
fixed emission wavelength (e.g. 533 nm) and a photon-counting PMT records the PL.
For each excitation wavelength:

    photons absorbed = lamp photon flux x absorbed fraction A(lambda)
    PL counts        = photons absorbed x emission_yield x detection_efficiency x t
                       + dark counts

with the absorbed fraction of a slab of thickness d, absorption coefficient alpha and
surface reflectance R (incoherent multiple reflections between both faces):

    T_int = exp(-alpha d)
    A     = (1 - R) (1 - T_int) / (1 - R T_int)

so A -> alpha d for a thin slab (R cancels to first order) and A -> 1 - R for a thick
one: the excitation spectrum is flat above the gap (absorption saturates) and drops
below the absorption edge. R = ((n - 1) / (n + 1))**2 at normal incidence.
Reabsorption of the emitted light and the depth profile of the emission are ignored.
The counts are Poisson distributed (PMT photon counting, dead time ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataValidationError
from ._checks import as_rng, as_tuple, check_axis, check_number, check_table

__all__ = ["ExcitationConfig", "absorbed_fraction", "excitation_spectrum", "lamp_photon_flux"]


@dataclass(frozen=True)
class ExcitationConfig:
    """Settings of an excitation-spectrum measurement.

    Parameters
    ----------
    emission_wavelength_nm : float
        Wavelength at which the PL is detected. [nm]
    photon_flux_per_s : float
        Excitation photon flux on the sample at the lamp maximum (flat lamp: at every
        wavelength). [photons/s]
    lamp_table : tuple of two array_like, optional
        Lamp spectrum ``(wavelength_nm, relative_photon_flux)``, scaled so that its
        maximum is `photon_flux_per_s`; linear interpolation, zero outside. None: a flat
        (reference-corrected) photon flux. [nm, 1]
    corrected : bool
        If True, divide the result by the relative lamp flux (as the S1/R1 signal of a
        Fluorolog), so a non-flat lamp leaves no trace. Has no effect on a flat lamp.
    integration_time_s : float
        Counting time per excitation wavelength. [s]
    detection_efficiency : float
        Fraction of the emitted PL photons that are counted (collection, emission
        monochromator, PMT quantum efficiency). [1]
    dark_counts_per_s : float
        PMT dark count rate. [counts/s]
    refractive_index : float, optional
        Refractive index of the sample for the surface reflectance; None: no
        reflection. [1]
    """

    emission_wavelength_nm: float = 533.0
    photon_flux_per_s: float = 1.0e12
    lamp_table: tuple | None = None
    corrected: bool = True
    integration_time_s: float = 0.1
    detection_efficiency: float = 1.0e-5
    dark_counts_per_s: float = 100.0
    refractive_index: float | None = None

    def __post_init__(self):
        check_number("emission_wavelength_nm", self.emission_wavelength_nm, positive=True)
        check_number("photon_flux_per_s", self.photon_flux_per_s, positive=True)
        check_number("integration_time_s", self.integration_time_s, positive=True)
        check_number("detection_efficiency", self.detection_efficiency, positive=True)
        if self.detection_efficiency > 1:
            raise ConfigError(
                "detection_efficiency", f"must be <= 1, got {self.detection_efficiency}"
            )
        check_number("dark_counts_per_s", self.dark_counts_per_s, nonnegative=True)
        if not isinstance(self.corrected, bool):
            raise ConfigError("corrected", f"must be True or False, got {self.corrected!r}")
        if self.refractive_index is not None:
            check_number("refractive_index", self.refractive_index, positive=True)
            if self.refractive_index < 1:
                raise ConfigError("refractive_index", f"must be >= 1, got {self.refractive_index}")
        if self.lamp_table is not None:
            object.__setattr__(self, "lamp_table", _check_lamp(self.lamp_table))

    @property
    def reflectance(self) -> float:
        """Normal-incidence surface reflectance ((n - 1) / (n + 1))**2. [1]"""
        if self.refractive_index is None:
            return 0.0
        n = self.refractive_index
        return ((n - 1.0) / (n + 1.0)) ** 2


def _check_lamp(table) -> tuple[np.ndarray, np.ndarray]:
    wl, flux = check_table("lamp_table", table, "wavelength_nm", "relative_photon_flux")
    if not np.all(np.isfinite(flux)) or np.any(flux < 0) or not flux.max() > 0:
        raise ConfigError("lamp_table", "relative_photon_flux must be finite, >= 0 and not all 0")
    return as_tuple(wl), as_tuple(flux / flux.max())


def lamp_photon_flux(
    excitation_wavelength_nm, config: ExcitationConfig | None = None
) -> np.ndarray:
    """Excitation photon flux on the sample.

    Parameters
    ----------
    excitation_wavelength_nm : array_like
        Excitation wavelengths. [nm]
    config : ExcitationConfig, optional
        Measurement settings.

    Returns
    -------
    ndarray
        Photon flux at each wavelength. [photons/s]
    """
    config = config or ExcitationConfig()
    wl = np.asarray(excitation_wavelength_nm, dtype=float)
    if config.lamp_table is None:
        return np.full(wl.shape, config.photon_flux_per_s)
    lw, lf = (np.asarray(v) for v in config.lamp_table)
    return config.photon_flux_per_s * np.interp(wl, lw, lf, left=0.0, right=0.0)


def absorbed_fraction(absorption_coefficient_per_cm, thickness_cm, reflectance=0.0):
    """Fraction of the incident photons absorbed in a slab.

    Parameters
    ----------
    absorption_coefficient_per_cm : array_like
        Absorption coefficient alpha. [1/cm]
    thickness_cm : array_like
        Slab thickness d, broadcast against alpha. [cm]
    reflectance : float
        Reflectance R of each face (incoherent multiple reflections). [1]

    Returns
    -------
    ndarray
        (1 - R)(1 - exp(-alpha d)) / (1 - R exp(-alpha d)). [1]
    """
    alpha = np.asarray(absorption_coefficient_per_cm, dtype=float)
    d = np.asarray(thickness_cm, dtype=float)
    r = float(reflectance)
    if not 0.0 <= r < 1.0:
        raise DataValidationError(f"reflectance must be in [0, 1), got {r}")
    x = alpha * d
    absorbed = -np.expm1(-x)  # 1 - exp(-alpha d), accurate for thin slabs
    return (1.0 - r) * absorbed / (1.0 - r * np.exp(-x))


def excitation_spectrum(
    excitation_wavelength_nm,
    absorption_coefficient_per_cm,
    thickness_cm,
    emission_yield,
    config: ExcitationConfig | None = None,
    rng: int | np.random.Generator | None = None,
    noise: bool = True,
) -> dict[str, np.ndarray]:
    """Simulate a PL excitation spectrum.

    Parameters
    ----------
    excitation_wavelength_nm : array_like, shape (K,)
        Excitation wavelengths, strictly increasing. [nm]
    absorption_coefficient_per_cm : callable or array_like, shape (..., K)
        Absorption coefficient of the sample: a function of wavelength [nm] or values
        at the excitation wavelengths (leading dimensions are a batch). [1/cm]
    thickness_cm : float or array_like
        Sample thickness, broadcast against the batch dimensions. [cm]
    emission_yield : float or array_like
        Photons emitted into the detected emission band per absorbed photon, in [0, 1],
        broadcast against the batch dimensions. [1]
    config : ExcitationConfig, optional
        Measurement settings (default: `ExcitationConfig()`).
    rng : None, int or numpy.random.Generator
        Random source for the Poisson noise.
    noise : bool
        If False, ``counts`` equals ``expected``.

    Returns
    -------
    dict
        ``wavelength`` (K,) [nm]; ``absorbed_fraction`` (..., K) [1];
        ``expected`` (..., K) and ``counts`` (..., K) PL counts per point (divided by
        the relative lamp flux when ``config.corrected``) [counts].
    """
    config = config or ExcitationConfig()
    wl = check_axis("excitation_wavelength_nm", excitation_wavelength_nm, min_points=1)
    if np.any(wl <= 0):
        raise DataValidationError("excitation_wavelength_nm must be > 0")
    if callable(absorption_coefficient_per_cm):
        alpha = np.asarray(absorption_coefficient_per_cm(wl), dtype=float)
    else:
        alpha = np.asarray(absorption_coefficient_per_cm, dtype=float)
    if alpha.ndim == 0 or alpha.shape[-1] != wl.size:
        raise DataValidationError(
            f"absorption_coefficient_per_cm must have shape (..., {wl.size}) to match "
            f"excitation_wavelength_nm, got {alpha.shape}"
        )
    if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
        raise DataValidationError("absorption_coefficient_per_cm must be finite and >= 0")
    d = np.asarray(thickness_cm, dtype=float)
    if not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise DataValidationError(f"thickness_cm must be finite and > 0, got {thickness_cm!r}")
    y = np.asarray(emission_yield, dtype=float)
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y > 1):
        raise DataValidationError(f"emission_yield must be in [0, 1], got {emission_yield!r}")
    frac = absorbed_fraction(alpha, d[..., None], config.reflectance)
    flux = lamp_photon_flux(wl, config)
    t = config.integration_time_s
    dark = config.dark_counts_per_s * t
    expected = flux * frac * y[..., None] * config.detection_efficiency * t + dark
    if noise:
        counts = as_rng(rng).poisson(expected).astype(float)
    else:
        counts = expected.copy()
    if config.corrected and config.lamp_table is not None:
        rel = flux / config.photon_flux_per_s
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = np.where(rel > 0, expected / rel, np.nan)
            counts = np.where(rel > 0, counts / rel, np.nan)
    return {"wavelength": wl, "absorbed_fraction": frac, "expected": expected, "counts": counts}
