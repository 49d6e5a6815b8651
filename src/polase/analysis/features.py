"""Per-spectrum features of a measurement: reference spectra, band windows, peaks, widths,
band intensities and the values at the Delta wavelengths (`extract_features`).

See docs/analysis.md for the definitions.
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import xarray as xr

from ..errors import ConfigError, DataValidationError
from . import spectra as sp
from .config import SPECTRUM_DIMS, AnalysisConfig


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
