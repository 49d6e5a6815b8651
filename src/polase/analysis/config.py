"""Choices of the analysis (`AnalysisConfig`), validated on construction."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ConfigError
from .threshold import HINGE_METHODS

#: Dimensions of the ``spectrum`` variable the analysis reads (docs/data-model.md).
SPECTRUM_DIMS = ("fluence", "polarization", "repeat", "wavelength")

#: Choices of `AnalysisConfig.fluence_axis`: ``"auto"``, ``"nominal"`` and the Dataset
#: variables that record the fluence of each acquisition, in the order ``"auto"`` tries them.
FLUENCE_AXES = ("auto", "nominal", "fluence_measured", "pump_fluence_actual")


@dataclasses.dataclass(frozen=True)
class AnalysisConfig:
    """Choices of the analysis; the defaults are documented in docs/analysis.md.

    Parameters
    ----------
    reference_polarization : str or None
        Polarization whose spectra give the thresholds, slope and per-fluence features.
        None: ``"linear"`` when present, else the first label.
    pl_reference_fluence : float or None
        Fluence whose mean spectrum defines the PL peak, FWHM and PL band. [mJ/cm2]
        None: the lowest fluence. Otherwise the nearest fluence in the sweep.
    ase_reference_fluence : float or None
        Fluence whose mean spectrum defines the ASE peak, FWHM and ASE band. [mJ/cm2]
        None: the highest fluence whose spectra have no masked pixel near the peak.
    band_half_width_fwhm : float
        Each band window is the reference peak +- this many reference FWHM.
    peak_window_nm : float
        Half width of the window averaged for Delta "at the peak wavelength". [nm]
    baseline : str
        ``"auto"``: subtract the median of the pixels farther than
        `baseline_exclusion_nm` from the emission maximum (when >= 16 such pixels);
        ``"none"``: spectra are already background-free.
    baseline_exclusion_nm : float
        Half width of the emission region excluded from the baseline estimate. [nm]
    smooth_px : int
        Boxcar width for locating the maximum and the half-maximum crossings. [px]
    band_fits : bool
        Also fit a Gaussian to each spectrum (FWHM from a band fit) and decompose it
        into PL + ASE Gaussians (polase.fitting).
    n_bootstrap : int
        Bootstrap samples for the threshold and slope intervals.
    seed : int
        Seed of the bootstrap generator (results are reproducible).
    decay_components : int
        Exponentials in the decay fits (1-3); 2 by default, since a decay detected in the
        ASE band mixes a fast stimulated and a slow spontaneous part.
    pl_band_nm, ase_band_nm : (float, float) or None
        Fixed band windows [nm]; None: from the reference spectra (see docs/analysis.md).
    pl_wavelength_nm, ase_wavelength_nm : float or None
        Fixed wavelengths at which Delta_PL and Delta_ASE are evaluated [nm]; None: the
        reference peak wavelengths.
    slope_threshold_fraction : float
        The power law is fitted to fluences below this fraction of the fitted threshold,
        clear of the ASE onset, where the first stimulated photons already bend the PL
        curve and where one point more or less (a threshold moved by noise) would change
        the slope in steps (e.g. 0.85 x a 14 mJ/cm2 threshold ~ 12 mJ/cm2). [1]
    threshold_scale : {"linear", "loglog"}
        Axes of the two-segment (hinge) fit of the ASE intensity versus fluence that gives
        the L-L threshold: "linear" is the usual intersection of two straight lines;
        "loglog" finds where the superlinear rise starts (see `hinge_threshold`).
    fluence_axis : {"auto", "nominal", "fluence_measured", "pump_fluence_actual"}
        Fluences of the threshold, narrowing-onset and power-law fits [mJ/cm2]:
        ``"nominal"``, the ``fluence`` coordinate (the set points); ``"fluence_measured"``,
        the mean over repeats of the power meter's fluence per set point (reference
        polarization; variable ``fluence_measured``, from a manifest's
        ``fluence_measured_mJ_cm2`` column); ``"pump_fluence_actual"``, the same for the
        fluence the simulation delivered. ``"auto"`` (default): the first of
        ``fluence_measured``, ``pump_fluence_actual`` the Dataset has whose means are
        finite, positive and increasing, else nominal. An explicit variable that is absent
        or unusable is a `DataValidationError`.
    """

    reference_polarization: str | None = None
    pl_reference_fluence: float | None = None
    ase_reference_fluence: float | None = None
    band_half_width_fwhm: float = 0.5
    peak_window_nm: float = 1.0
    baseline: str = "auto"
    baseline_exclusion_nm: float = 100.0
    smooth_px: int = 5
    band_fits: bool = True
    n_bootstrap: int = 2000
    seed: int = 0
    decay_components: int = 2
    pl_band_nm: tuple[float, float] | None = None
    ase_band_nm: tuple[float, float] | None = None
    pl_wavelength_nm: float | None = None
    ase_wavelength_nm: float | None = None
    slope_threshold_fraction: float = 0.85
    threshold_scale: str = "linear"
    fluence_axis: str = "auto"

    def __post_init__(self):
        for key in ("pl_band_nm", "ase_band_nm"):
            v = getattr(self, key)
            if v is not None:
                if len(v) != 2 or not (np.isfinite(v[0]) and np.isfinite(v[1]) and v[0] < v[1]):
                    raise ConfigError(key, f"must be (low, high) in nm with low < high, got {v!r}")
                object.__setattr__(self, key, (float(v[0]), float(v[1])))
        for key in ("pl_wavelength_nm", "ase_wavelength_nm"):
            v = getattr(self, key)
            if v is not None and not (np.isfinite(v) and v > 0):
                raise ConfigError(key, f"must be a positive wavelength in nm, got {v!r}")
        if not 0 < self.slope_threshold_fraction <= 1:
            raise ConfigError(
                "slope_threshold_fraction",
                f"must be in (0, 1], got {self.slope_threshold_fraction!r}",
            )
        if self.threshold_scale not in HINGE_METHODS:
            raise ConfigError(
                "threshold_scale", f"must be 'linear' or 'loglog', got {self.threshold_scale!r}"
            )
        if self.fluence_axis not in FLUENCE_AXES:
            raise ConfigError(
                "fluence_axis",
                f"must be one of {', '.join(repr(a) for a in FLUENCE_AXES)}, "
                f"got {self.fluence_axis!r}",
            )
        if self.baseline not in ("auto", "none"):
            raise ConfigError("baseline", f"must be 'auto' or 'none', got {self.baseline!r}")
        if not 0 < self.band_half_width_fwhm <= 3:
            raise ConfigError("band_half_width_fwhm", "must be in (0, 3]")
        if self.peak_window_nm < 0:
            raise ConfigError("peak_window_nm", "must be >= 0 nm")
        if self.n_bootstrap < 100:
            raise ConfigError("n_bootstrap", f"must be >= 100, got {self.n_bootstrap}")
        if self.decay_components not in (1, 2, 3):
            raise ConfigError("decay_components", f"must be 1, 2 or 3, got {self.decay_components}")
        if self.smooth_px < 1:
            raise ConfigError("smooth_px", "must be >= 1")
