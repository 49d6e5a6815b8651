"""The analysis pipeline: measurement Dataset -> per-spectrum features -> results.json content.

See docs/analysis.md for the definitions (reference spectra, band windows, bootstrap) and
docs/results.md for the output schema.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from .._json import to_jsonable
from ..errors import ConfigError, DataValidationError
from . import spectra as sp
from .delta import delta_contrast, mean_ci
from .power_law import loglog_slope, photon_order
from .result import SCHEMA, AnalysisResult
from .threshold import FWHM_METHOD, HINGE_METHODS, fwhm_threshold, hinge_threshold

SPECTRUM_DIMS = ("fluence", "polarization", "repeat", "wavelength")


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
        the slope in steps. 0.85 x 14.3 mJ/cm2 ~ 12 mJ/cm2, the paper's range. [1]
    threshold_scale : {"linear", "loglog"}
        Axes of the two-segment (hinge) fit of the ASE intensity versus fluence that gives
        the L-L threshold: "linear" is the paper's intersection of two straight lines;
        "loglog" finds where the superlinear rise starts (see `hinge_threshold`).
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


# ----------------------------------------------------------------------------- inputs


def _check_dataset(ds: xr.Dataset) -> None:
    if "spectrum" not in ds:
        raise DataValidationError("Dataset has no 'spectrum' variable (see docs/data-model.md)")
    dims = ds["spectrum"].dims
    if tuple(dims) != SPECTRUM_DIMS:
        raise DataValidationError(f"'spectrum' must have dims {SPECTRUM_DIMS}, got {tuple(dims)}")
    f = np.asarray(ds["fluence"].values, dtype=float)
    if f.size < 1 or not np.all(np.diff(f) > 0) or np.any(f <= 0):
        raise DataValidationError("coordinate 'fluence' must be positive and strictly increasing")


def _spectra_and_mask(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw spectra (no copy when float64) and the saturated mask (None when absent/empty)."""
    y = np.asarray(ds["spectrum"].values, dtype=float)
    sat = None
    if "saturated" in ds:
        sat = np.asarray(ds["saturated"].transpose(*SPECTRUM_DIMS).values, dtype=bool)
        if not sat.any():
            sat = None
    return y, sat


def _apply_mask(y: np.ndarray, sat: np.ndarray | None) -> np.ndarray:
    return y if sat is None else np.where(sat, np.nan, y)


def _reference_polarization(ds: xr.Dataset, cfg: AnalysisConfig) -> str:
    labels = [str(p) for p in ds["polarization"].values]
    if cfg.reference_polarization is not None:
        if cfg.reference_polarization not in labels:
            raise ConfigError(
                "reference_polarization", f"{cfg.reference_polarization!r} not in {labels}"
            )
        return cfg.reference_polarization
    return "linear" if "linear" in labels else labels[0]


def _nearest(fluence: np.ndarray, value: float, key: str) -> int:
    if not np.isfinite(value) or value <= 0:
        raise ConfigError(key, f"must be a positive fluence in mJ/cm2, got {value}")
    return int(np.argmin(np.abs(fluence - value)))


# ----------------------------------------------------------------------------- features


def _repeat_mean(y_raw, sat, base, ipol) -> np.ndarray:
    """Mean over repeats of the masked, baseline-subtracted spectra of one polarization.

    Equal (bit for bit) to ``np.nanmean(masked(y_raw[:, ipol]) - base[:, ipol, :, None],
    axis=1)``, accumulated one repeat at a time so the (F, R, W) difference is never
    formed (it is the size of half the data). NaN pixels are left out of the mean; a
    pixel NaN in every repeat stays NaN.

    Returns
    -------
    ndarray, shape (F, W)
    """
    n_rep = y_raw.shape[2]
    acc = None
    n_bad = 0  # masked repeats per pixel (an array once one is seen)
    for r in range(n_rep):
        d = y_raw[:, ipol, r] - base[:, ipol, r, None]
        bad = np.isnan(d) if sat is None else np.isnan(d) | sat[:, ipol, r]
        if bad.any():
            d[bad] = 0.0
            n_bad = n_bad + bad
        if acc is None:
            acc = d
        else:
            acc += d
    with np.errstate(invalid="ignore", divide="ignore"):
        return acc / (n_rep - n_bad)


def _references(wl, mean_spec, fluence, cfg):
    """PL and ASE reference peaks/widths from the repeat-mean spectra (F, W) of the
    reference polarization."""
    ref = sp.peak_and_fwhm(wl, mean_spec, smooth_px=cfg.smooth_px)
    if cfg.pl_reference_fluence is None:
        valid = np.flatnonzero(np.isfinite(ref["fwhm_nm"]))
        if valid.size == 0:
            raise DataValidationError(
                "no fluence has an unmasked emission peak to define the PL band"
            )
        i_pl = int(valid[0])
    else:
        i_pl = _nearest(fluence, cfg.pl_reference_fluence, "pl_reference_fluence")
    if cfg.ase_reference_fluence is None:
        valid = np.flatnonzero(np.isfinite(ref["fwhm_nm"]))
        i_ase = int(valid[-1]) if valid.size else len(fluence) - 1
    else:
        i_ase = _nearest(fluence, cfg.ase_reference_fluence, "ase_reference_fluence")
    for name, i in (("PL", i_pl), ("ASE", i_ase)):
        if not np.isfinite(ref["fwhm_nm"][i]):
            raise DataValidationError(
                f"{name} reference spectrum at {fluence[i]:g} mJ/cm2 has a masked (saturated/NaN) "
                "pixel at its peak or no half-maximum crossing; choose another reference fluence"
            )
    out = {
        "i_pl": i_pl,
        "i_ase": i_ase,
        "pl_peak": float(ref["peak_nm"][i_pl]),
        "pl_fwhm": float(ref["fwhm_nm"][i_pl]),
        "ase_peak": float(ref["peak_nm"][i_ase]),
        "ase_fwhm": float(ref["fwhm_nm"][i_ase]),
    }
    out["ase_line"] = _ase_line(wl, mean_spec[i_pl], mean_spec[i_ase], out)
    return out


def _ase_line(wl, pl_spec, ase_spec, refs) -> tuple[float, float]:
    """Peak and FWHM of the ASE line alone: the ASE reference spectrum minus the PL
    reference spectrum scaled to it on the PL wing away from the ASE band. [nm]

    Falls back to the ASE reference peak and FWHM when the excess has no clean peak.
    """
    cp, wp, ca = refs["pl_peak"], refs["pl_fwhm"], refs["ase_peak"]
    side = -1.0 if ca >= cp else 1.0
    wing = (wl - cp) * side
    sel = (wing >= 0.5 * wp) & (wing <= 1.0 * wp) & np.isfinite(pl_spec) & np.isfinite(ase_spec)
    fallback = (refs["ase_peak"], refs["ase_fwhm"])
    if sel.sum() < 3 or np.sum(pl_spec[sel]) <= 0:
        return fallback
    scale = np.sum(ase_spec[sel]) / np.sum(pl_spec[sel])
    excess = ase_spec - scale * pl_spec
    r = sp.peak_and_fwhm(wl, excess, search_nm=(ca - wp, ca + wp))
    if not (np.isfinite(r["fwhm_nm"]) and 0 < r["fwhm_nm"] <= refs["ase_fwhm"] * 1.5):
        return fallback
    return float(r["peak_nm"]), float(r["fwhm_nm"])


def _band_windows(refs, cfg, wl):
    if cfg.pl_band_nm is not None and cfg.ase_band_nm is not None:
        return cfg.pl_band_nm, cfg.ase_band_nm
    pl, ase = _auto_band_windows(refs, cfg, wl)
    return cfg.pl_band_nm or pl, cfg.ase_band_nm or ase


def _auto_band_windows(refs, cfg, wl):
    k = cfg.band_half_width_fwhm
    ase = (refs["ase_peak"] - k * refs["ase_fwhm"], refs["ase_peak"] + k * refs["ase_fwhm"])
    pl_lo = refs["pl_peak"] - k * refs["pl_fwhm"]
    pl_hi = refs["pl_peak"] + k * refs["pl_fwhm"]
    # keep the PL window off the ASE band when the two overlap and enough PL is left
    if refs["ase_peak"] > refs["pl_peak"] and pl_hi > ase[0]:
        if np.sum((wl >= pl_lo) & (wl <= ase[0])) >= 3:
            pl_hi = ase[0]
    elif refs["ase_peak"] < refs["pl_peak"] and pl_lo < ase[1]:
        if np.sum((wl >= ase[1]) & (wl <= pl_hi)) >= 3:
            pl_lo = ase[1]
    return (pl_lo, pl_hi), ase


def extract_features(ds: xr.Dataset, config: AnalysisConfig | None = None) -> xr.Dataset:
    """Per-spectrum features of a measurement Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Measurement per docs/data-model.md (``spectrum`` with dims fluence, polarization,
        repeat, wavelength; optional ``saturated`` and ``acquisition_index``).
    config : AnalysisConfig, optional
        Analysis choices.

    Returns
    -------
    xarray.Dataset
        Dims (fluence, polarization, repeat): ``peak_nm`` [nm], ``fwhm_nm`` [nm],
        ``intensity_pl`` and ``intensity_ase`` (band integrals) [spectrum units * nm],
        ``value_at_pl_peak`` and ``value_at_ase_peak`` [spectrum units], ``baseline``
        [spectrum units], ``masked`` (bool), and with band fits ``fwhm_fit_nm`` [nm],
        ``pl_component`` and ``ase_component`` (areas of the two-band decomposition)
        [spectrum units * nm]. Attributes record the reference spectra and windows.
    """
    cfg = config or AnalysisConfig()
    _check_dataset(ds)
    wl = np.asarray(ds["wavelength"].values, dtype=float)
    fluence = np.asarray(ds["fluence"].values, dtype=float)
    y_raw, sat = _spectra_and_mask(ds)
    pols = [str(p) for p in ds["polarization"].values]
    ref_pol = _reference_polarization(ds, cfg)
    ipol = pols.index(ref_pol)
    flat = y_raw.reshape(-1, wl.size)

    # baseline: median of the pixels far from the emission maximum of the grand mean
    # (located on <= 256 evenly spaced spectra: enough to find where the emission is)
    if cfg.baseline == "auto":
        pick = np.unique(np.linspace(0, flat.shape[0] - 1, min(256, flat.shape[0])).astype(int))
        sub = (
            flat[pick]
            if sat is None
            else np.where(sat.reshape(-1, wl.size)[pick], np.nan, flat[pick])
        )
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            grand = np.nanmean(sub, axis=0)
        if not np.isfinite(grand).any():
            raise DataValidationError("every spectrum pixel is masked (NaN/saturated)")
        gmax = wl[np.nanargmax(np.where(np.isfinite(grand), sp.smooth_boxcar(grand, 1), -np.inf))]
        excl = (gmax - cfg.baseline_exclusion_nm, gmax + cfg.baseline_exclusion_nm)
        base = sp.baseline_level(wl, y_raw, excl, mask=sat)
    else:
        excl = None
        base = np.zeros(y_raw.shape[:-1])

    # reference spectra need only the repeat mean of the reference polarization
    refs = _references(wl, _repeat_mean(y_raw, sat, base, ipol), fluence, cfg)
    pl_win, ase_win = _band_windows(refs, cfg, wl)
    # analysis region: both bands with 2.5 reference FWHM on either side
    lo = min(refs["pl_peak"] - 2.5 * refs["pl_fwhm"], refs["ase_peak"] - 2.5 * refs["ase_fwhm"])
    hi = max(refs["pl_peak"] + 2.5 * refs["pl_fwhm"], refs["ase_peak"] + 2.5 * refs["ase_fwhm"])
    lam_pl = refs["pl_peak"] if cfg.pl_wavelength_nm is None else cfg.pl_wavelength_nm
    lam_ase = refs["ase_peak"] if cfg.ase_wavelength_nm is None else cfg.ase_wavelength_nm
    lo = min(
        lo, pl_win[0], ase_win[0], lam_pl - 2 * cfg.peak_window_nm, lam_ase - 2 * cfg.peak_window_nm
    )
    hi = max(
        hi, pl_win[1], ase_win[1], lam_pl + 2 * cfg.peak_window_nm, lam_ase + 2 * cfg.peak_window_nm
    )
    region = (wl >= lo) & (wl <= hi)
    idx = np.flatnonzero(region)
    if idx.size and idx[-1] - idx[0] + 1 == idx.size:  # a pixel range: a view, no gather
        region = slice(int(idx[0]), int(idx[-1]) + 1)
    wr = wl[region]
    # C-contiguous (a boolean index on the last axis is not): the feature kernels gather
    # windows from the flat array
    yr = np.ascontiguousarray(
        _apply_mask(y_raw[..., region], None if sat is None else sat[..., region]) - base[..., None]
    )

    pk = sp.peak_and_fwhm(wr, yr, smooth_px=cfg.smooth_px)
    i_pl = sp.band_intensity(wr, yr, *pl_win)
    i_ase = sp.band_intensity(wr, yr, *ase_win)
    v_pl = sp.window_mean(wr, yr, lam_pl, cfg.peak_window_nm)
    v_ase = sp.window_mean(wr, yr, lam_ase, cfg.peak_window_nm)
    # flags refer to the analysis region: a masked pixel elsewhere changes no number
    masked = np.isnan(yr).any(axis=-1)
    saturated = sat[..., region].any(axis=-1) if sat is not None else np.zeros(masked.shape, bool)

    units = str(ds["spectrum"].attrs.get("units", "counts"))
    dims = ("fluence", "polarization", "repeat")
    out = {
        "peak_nm": (pk["peak_nm"], "nm", "sub-pixel peak wavelength (least-squares parabola)"),
        "fwhm_nm": (pk["fwhm_nm"], "nm", "FWHM by interpolated half maximum"),
        "peak_height": (pk["height"], units, "peak height above baseline"),
        "intensity_pl": (i_pl, f"{units}*nm", "integral over the PL band window"),
        "intensity_ase": (i_ase, f"{units}*nm", "integral over the ASE band window"),
        "value_at_pl_peak": (v_pl, units, "mean over +-peak_window_nm around the PL peak"),
        "value_at_ase_peak": (v_ase, units, "mean over +-peak_window_nm around the ASE peak"),
        "baseline": (base, units, "subtracted constant baseline"),
    }
    if cfg.band_fits:
        from .bandfit import gaussian_band_fit, two_band_decomposition

        g = gaussian_band_fit(wr, yr, pk["peak_nm"], pk["fwhm_nm"], pk["height"])
        out["fwhm_fit_nm"] = (
            g["fwhm_nm"],
            "nm",
            "FWHM of a Gaussian fitted within +-1 FWHM of the peak",
        )
        dec = two_band_decomposition(wr, yr, (refs["pl_peak"], refs["pl_fwhm"]), refs["ase_line"])
        out["pl_component"] = (
            dec["pl_area"],
            f"{units}*nm",
            "area of the PL Gaussian (two-band fit)",
        )
        out["ase_component"] = (
            dec["ase_area"],
            f"{units}*nm",
            "area of the ASE Gaussian (two-band fit)",
        )
    coords = {c: ds.coords[c] for c in ("fluence", "polarization", "repeat") if c in ds.coords}
    for c in ("acquisition_index", "qwp_angle", "docp"):
        if c in ds.coords:
            coords[c] = ds.coords[c]
    data_vars = {
        name: xr.DataArray(val, dims=dims, attrs={"units": u, "long_name": desc})
        for name, (val, u, desc) in out.items()
    }
    data_vars["masked"] = xr.DataArray(
        masked,
        dims=dims,
        attrs={
            "units": "1",
            "long_name": "saturated, NaN or missing pixels in the analysis region",
        },
    )
    data_vars["saturated"] = xr.DataArray(
        saturated,
        dims=dims,
        attrs={"units": "1", "long_name": "saturated pixels in the analysis region"},
    )
    feats = xr.Dataset(data_vars, coords=coords)
    feats.attrs.update(
        {
            "reference_polarization": ref_pol,
            "pl_reference_fluence_mJ_cm2": float(fluence[refs["i_pl"]]),
            "ase_reference_fluence_mJ_cm2": float(fluence[refs["i_ase"]]),
            "pl_reference_peak_nm": refs["pl_peak"],
            "pl_reference_fwhm_nm": refs["pl_fwhm"],
            "ase_reference_peak_nm": refs["ase_peak"],
            "ase_reference_fwhm_nm": refs["ase_fwhm"],
            "ase_line_nm": json.dumps([float(v) for v in refs["ase_line"]]),
            "pl_band_nm": json.dumps([float(pl_win[0]), float(pl_win[1])]),
            "ase_band_nm": json.dumps([float(ase_win[0]), float(ase_win[1])]),
            "delta_pl_wavelength_nm": float(lam_pl),
            "delta_ase_wavelength_nm": float(lam_ase),
            "analysis_region_nm": json.dumps([float(wr[0]), float(wr[-1])]),
            "baseline_exclusion_nm": json.dumps(
                None if excl is None else [float(excl[0]), float(excl[1])]
            ),
            "config": json.dumps(dataclasses.asdict(cfg)),
        }
    )
    for c in ("fluence",):
        feats[c].attrs.setdefault("units", "mJ/cm**2")
    return feats


# ----------------------------------------------------------------------------- results


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _ci(lo_hi) -> list[float | None] | None:
    vals = [_num(v) for v in np.asarray(lo_hi, dtype=float).ravel()]
    return None if any(v is None for v in vals) else vals


def _bootstrap_weights(rng, n_boot: int, nf: int, r: int) -> np.ndarray:
    """Bayesian-bootstrap weights of the repeats, (B, F, R) float32 summing to R per (B, F).

    Dirichlet(1, ..., 1) weights (normalized exponential variates): a smooth version of
    resampling the R repeats with replacement, and cheap to draw for many repeats. One
    table serves all features, so they are resampled jointly (a repeat stays whole).
    """
    e = rng.standard_exponential(size=(n_boot, nf, r), dtype=np.float32)
    e *= r / e.sum(axis=2, keepdims=True)
    return e


def _bootstrap_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Variance-corrected bootstrap means of the repeats at each fluence.

    values (F, R); weights (B, F, R) from `_bootstrap_weights`. The Bayesian-bootstrap
    mean has variance s^2 (R-1) / (R (R+1)) instead of s^2 / R, so its deviations from the
    sample mean m are expanded by sqrt((R+1)/(R-1)) (1.22 for R = 5).
    """
    r = values.shape[1]
    m = values.mean(axis=1)
    dev = (values - m[:, None]).astype(np.float32)  # centred: float32 keeps full precision
    res = np.einsum("bfr,fr->bf", weights, dev).astype(float) / r
    c = math.sqrt((r + 1) / (r - 1)) if r > 1 else 1.0
    return m[None, :] + c * res


def _welch_df(stat, values: np.ndarray) -> float:
    """Welch-Satterthwaite degrees of freedom of a statistic of per-fluence repeat means.

    stat maps means (..., F) to (...); values (F, R). The gradient is taken by finite
    differences of 0.2 standard errors, so that a profile over a grid stays smooth.
    """
    f, r = values.shape
    if r < 2:
        return math.inf
    m = values.mean(axis=1)
    se = values.std(axis=1, ddof=1) / math.sqrt(r)
    step = np.where(se > 0, 0.2 * se, 1.0)
    pert = m[None, :] + np.diag(step)
    both = np.concatenate([pert, m[None, :] - np.diag(step)], axis=0)
    g = np.asarray(stat(both), dtype=float)
    grad = (g[:f] - g[f:]) / (2 * step)
    var = (grad * se) ** 2
    if not np.all(np.isfinite(var)) or var.sum() <= 0:
        return float(r - 1)
    return float(var.sum() ** 2 / np.sum(var**2 / (r - 1)))


def _boot_ci(point: float, samples: np.ndarray, df: float) -> list[float | None] | None:
    """Percentile interval widened about `point` by t(df)/z (small-sample correction)."""
    good = np.isfinite(samples)
    if not np.isfinite(point) or good.mean() < 0.9:
        return None
    lo, hi = np.percentile(samples[good], [2.5, 97.5])
    k = stats.t.ppf(0.975, max(df, 1.0)) / stats.norm.ppf(0.975) if math.isfinite(df) else 1.0
    return _ci([point - k * (point - lo), point + k * (hi - point)])


def _summary_stat(values: np.ndarray) -> dict[str, Any]:
    m, ci = mean_ci(values)
    return {"value": _num(m), "ci95": _ci(ci)}


def analyze(
    ds: xr.Dataset, config: AnalysisConfig | None = None, features: xr.Dataset | None = None
) -> AnalysisResult:
    """Analyze a measurement Dataset; returns the typed result (docs/results.md).

    Parameters
    ----------
    ds : xarray.Dataset
        Measurement per docs/data-model.md.
    config : AnalysisConfig, optional
        Analysis choices.
    features : xarray.Dataset, optional
        Output of `extract_features` for `ds` with the same config (recomputed if None).

    Returns
    -------
    AnalysisResult
        Typed results (also a read-only mapping over the results.json content; NaN
        values are None).
    """
    cfg = config or AnalysisConfig()
    feats = features if features is not None else extract_features(ds, cfg)
    fluence = np.asarray(feats["fluence"].values, dtype=float)
    pols = [str(p) for p in feats["polarization"].values]
    ref_pol = feats.attrs["reference_polarization"]
    ipol = pols.index(ref_pol)
    nf = fluence.size

    def ref(name):
        return np.asarray(feats[name].values[:, ipol, :], dtype=float)  # (F, R)

    i_ase, i_pl, fwhm = ref("intensity_ase"), ref("intensity_pl"), ref("fwhm_nm")
    r = i_ase.shape[1]
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "source": str(ds.attrs.get("source", "unknown")),
        "reference_polarization": ref_pol,
        "n_repeats": int(r),
    }

    # fluence axis of the fits: the delivered fluence when the Dataset records it per
    # acquisition (laser drift moves it off the nominal steps), else the nominal one
    fax, axis_name = fluence, "nominal"
    if "pump_fluence_actual" in ds:
        fa = ds["pump_fluence_actual"].transpose("fluence", "polarization", "repeat").values
        fa = np.asarray(fa, dtype=float)[:, pols.index(ref_pol)].mean(axis=1)
        if np.all(np.isfinite(fa)) and np.all(np.diff(fa) > 0) and np.all(fa > 0):
            fax, axis_name = fa, "pump_fluence_actual"
    results["fluence_axis"] = axis_name

    # --- thresholds, slope: bootstrap over repeats (joint resampling of all features)
    rng = np.random.default_rng(cfg.seed)
    wts = _bootstrap_weights(rng, cfg.n_bootstrap, nf, r)
    m_ase, m_pl, m_w = i_ase.mean(1), i_pl.mean(1), fwhm.mean(1)
    b_ase = _bootstrap_means(i_ase, wts)
    b_pl = _bootstrap_means(i_pl, wts)
    b_w = _bootstrap_means(fwhm, wts)

    use = np.isfinite(m_ase) & (m_ase > 0)
    excluded = [float(f) for f in fluence[~use]]
    thr = {
        "value": None,
        "ci95": None,
        "method": HINGE_METHODS[cfg.threshold_scale],
        "excluded_fluences_mJ_cm2": excluded,
    }
    slope = {"value": None, "ci95": None, "method": "loglog_least_squares_below_threshold"}
    t_point = np.nan
    if use.sum() >= 5:
        fu = fax[use]
        sc = cfg.threshold_scale
        h = hinge_threshold(fu, m_ase[use], scale=sc)
        hb = hinge_threshold(fu, b_ase[:, use], scale=sc)
        t_point = float(h["threshold"])
        df = _welch_df(lambda m: hinge_threshold(fu, m, scale=sc)["threshold"], i_ase[use])
        thr.update(
            value=_num(t_point),
            ci95=_boot_ci(t_point, hb["threshold"], df) if r > 1 else None,
            slope_below=_num(h["slope_below"]),
            slope_above=_num(h["slope_above"]),
        )
        k = cfg.slope_threshold_fraction
        s = loglog_slope(fax, m_pl, k * t_point)
        sb = loglog_slope(fax, b_pl, k * hb["threshold"])
        pl_ok = np.isfinite(m_pl)
        df = _welch_df(lambda m: loglog_slope(fax[pl_ok], m, k * t_point)["slope"], i_pl[pl_ok])
        slope.update(
            value=_num(s["slope"]),
            ci95=_boot_ci(float(s["slope"]), sb["slope"], df) if r > 1 else None,
            n_points=int(s["n_points"]),
            fluence_max_mJ_cm2=_num(k * t_point),
        )
    else:
        thr["note"] = "fewer than 5 fluences with a positive, unmasked ASE-band intensity"
    results["threshold_mJ_cm2"] = thr
    results["slope_below_threshold"] = slope
    results["photon_order"] = photon_order(slope["value"]) if slope["value"] is not None else None

    wthr = {"value": None, "ci95": None, "method": FWHM_METHOD}
    if nf >= 3:
        wt = fwhm_threshold(fax, m_w)
        wb = fwhm_threshold(fax, b_w)
        df = _welch_df(lambda m: fwhm_threshold(fax, m)["threshold"], fwhm)
        wthr.update(
            value=_num(wt["threshold"]),
            ci95=_boot_ci(float(wt["threshold"]), wb["threshold"], df) if r > 1 else None,
            fwhm_pl_nm=_num(wt["fwhm_pl"]),
            fwhm_ase_nm=_num(wt["fwhm_ase"]),
        )
    results["threshold_fwhm_mJ_cm2"] = wthr

    # --- reference peaks and widths: mean over repeats with a t interval
    i_plref = int(np.argmin(np.abs(fluence - feats.attrs["pl_reference_fluence_mJ_cm2"])))
    i_aseref = int(np.argmin(np.abs(fluence - feats.attrs["ase_reference_fluence_mJ_cm2"])))
    for key, var, i in (
        ("pl_peak_nm", "peak_nm", i_plref),
        ("pl_fwhm_nm", "fwhm_nm", i_plref),
        ("ase_peak_nm", "peak_nm", i_aseref),
        ("ase_fwhm_nm", "fwhm_nm", i_aseref),
    ):
        d = _summary_stat(ref(var)[i])
        d["fluence_mJ_cm2"] = float(fluence[i])
        results[key] = d

    # --- per fluence, with Delta against linear for every other polarization
    acq = None
    if "acquisition_index" in feats.coords:
        acq = np.asarray(
            feats["acquisition_index"].transpose("fluence", "polarization", "repeat").values, float
        )
    sat = np.asarray(feats["saturated"].values).any(axis=(1, 2))
    msk = np.asarray(feats["masked"].values).any(axis=(1, 2))
    deltas: dict[str, dict[str, Any]] = {}
    if "linear" in pols:
        il = pols.index("linear")
        for p in pols:
            if p == "linear":
                continue
            ip = pols.index(p)
            d = {}
            for key, var in (
                ("delta_ase", "value_at_ase_peak"),
                ("delta_pl", "value_at_pl_peak"),
                ("delta_ase_band", "intensity_ase"),
                ("delta_pl_band", "intensity_pl"),
            ):
                v = np.asarray(feats[var].values, dtype=float)
                dc = delta_contrast(
                    v[:, il],
                    v[:, ip],
                    None if acq is None else acq[:, il],
                    None if acq is None else acq[:, ip],
                )
                d[key] = dc
            deltas[p] = d

    per = []
    for k in range(nf):
        e: dict[str, Any] = {"fluence_mJ_cm2": float(fluence[k])}
        for name in (
            "peak_nm",
            "fwhm_nm",
            "intensity_pl",
            "intensity_ase",
            "fwhm_fit_nm",
            "pl_component",
            "ase_component",
        ):
            if name in feats:
                e[name] = _num(ref(name)[k].mean())
        circ = deltas.get("circular")
        for key in ("delta_ase", "delta_pl", "delta_ase_band", "delta_pl_band"):
            e[key] = _num(circ[key]["delta"][k]) if circ else None
            e[f"{key}_ci95"] = _ci(circ[key]["ci95"][k]) if circ else None
        e["saturated"] = bool(sat[k])
        e["masked"] = bool(msk[k])
        e["by_polarization"] = {
            p: {
                name: _num(np.asarray(feats[name].values[k, j], float).mean())
                for name in ("peak_nm", "fwhm_nm", "intensity_pl", "intensity_ase")
            }
            for j, p in enumerate(pols)
        }
        per.append(e)
    results["per_fluence"] = per
    results["delta_by_polarization"] = {
        p: [
            {
                "fluence_mJ_cm2": float(fluence[k]),
                **{key: _num(d[key]["delta"][k]) for key in d},
                **{f"{key}_ci95": _ci(d[key]["ci95"][k]) for key in d},
            }
            for k in range(nf)
        ]
        for p, d in deltas.items()
    }
    results["windows"] = {
        "pl_band_nm": json.loads(feats.attrs["pl_band_nm"]),
        "ase_band_nm": json.loads(feats.attrs["ase_band_nm"]),
        "peak_window_half_width_nm": cfg.peak_window_nm,
        "delta_pl_wavelength_nm": feats.attrs["delta_pl_wavelength_nm"],
        "delta_ase_wavelength_nm": feats.attrs["delta_ase_wavelength_nm"],
        "pl_reference_fluence_mJ_cm2": feats.attrs["pl_reference_fluence_mJ_cm2"],
        "ase_reference_fluence_mJ_cm2": feats.attrs["ase_reference_fluence_mJ_cm2"],
    }
    results["units"] = {
        "intensity": feats["intensity_ase"].attrs["units"],
        "wavelength": "nm",
        "fluence": "mJ/cm**2",
        "delta": "1",
    }
    if "decay" in ds:
        from .decay import fit_dataset_decays

        results["decays"] = fit_dataset_decays(ds, n_components=cfg.decay_components)
    results["config"] = dataclasses.asdict(cfg)
    return AnalysisResult.from_dict(to_jsonable(results))
