"""The analysis pipeline: measurement Dataset -> features -> `AnalysisResult`.

`analyze` runs one step per observable (thresholds and slope, the FWHM threshold, the
reference peaks and widths, Delta per fluence, decay fits). A step that the sweep is too
short (or too masked) for leaves its values None and adds a note to
`AnalysisResult.notes` instead of raising, so a four-fluence sweep still gives its peaks,
widths and Delta. The pieces live in `config` (AnalysisConfig), `features`
(extract_features), `statistics` (bootstrap and intervals) and `result` (the typed
result and its JSON form). See docs/analysis.md and docs/results.md.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._json import to_jsonable
from ..errors import DataValidationError, FitError
from .config import FLUENCE_AXES, SPECTRUM_DIMS, AnalysisConfig
from .delta import delta_contrast
from .features import extract_features
from .power_law import loglog_slope, photon_order
from .result import FEATURE_FIELDS, SCHEMA, AnalysisResult
from .statistics import (
    _boot_ci,
    _bootstrap_means,
    _bootstrap_weights,
    _ci,
    _num,
    _summary_stat,
    _welch_df,
)
from .threshold import FWHM_METHOD, HINGE_METHODS, fwhm_threshold, hinge_threshold

__all__ = ["SPECTRUM_DIMS", "AnalysisConfig", "analyze", "extract_features"]


#: Fluences a local log-log slope is fitted over (centred on each fluence). [1]
LOCAL_SLOPE_POINTS: int = 5


@dataclass
class _Sweep:
    """What every analysis step reads: the features of the reference polarization, the
    fluence axis of the fits and the bootstrap means."""

    cfg: AnalysisConfig
    feats: xr.Dataset
    fluence: np.ndarray  # nominal fluences (F,) [mJ/cm2]
    fax: np.ndarray  # fluence axis of the fits (F,) [mJ/cm2]
    pols: list[str]
    ipol: int
    boot: np.ndarray  # Bayesian-bootstrap weights (B, F, R)

    def ref(self, name: str) -> np.ndarray:
        """Feature `name` of the reference polarization, (F, R)."""
        return np.asarray(self.feats[name].values[:, self.ipol, :], dtype=float)

    @property
    def n_repeats(self) -> int:
        return int(self.feats.sizes["repeat"])


def _step(notes: list[str], name: str, fn: Callable[[], Any], fallback: Any) -> Any:
    """Run one analysis step; a sweep it cannot handle gives `fallback` and a note."""
    try:
        return fn()
    except (DataValidationError, FitError) as exc:
        notes.append(f"{name}: {exc}")
        return fallback


def _threshold_and_slope(sw: _Sweep) -> tuple[dict, dict]:
    """L-L (hinge) threshold and the power-law slope below it, with bootstrap intervals."""
    cfg, fax, r = sw.cfg, sw.fax, sw.n_repeats
    i_ase, i_pl = sw.ref("intensity_ase"), sw.ref("intensity_pl")
    m_ase, m_pl = i_ase.mean(1), i_pl.mean(1)
    use = np.isfinite(m_ase) & (m_ase > 0)
    thr = {
        "value": None,
        "ci95": None,
        "method": HINGE_METHODS[cfg.threshold_scale],
        "excluded_fluences_mJ_cm2": [float(f) for f in sw.fluence[~use]],
    }
    slope = {"value": None, "ci95": None, "method": "loglog_least_squares_below_threshold"}
    if use.sum() < 5:
        thr["note"] = "fewer than 5 fluences with a positive, unmasked ASE-band intensity"
        slope["note"] = "needs the L-L threshold (the power-law window ends below it)"
        return thr, slope
    b_ase = _bootstrap_means(i_ase, sw.boot)
    b_pl = _bootstrap_means(i_pl, sw.boot)
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
    if slope["value"] is None:
        slope["note"] = f"fewer than 2 usable fluences below {k * t_point:.3g} mJ/cm2"
    return thr, slope


def _local_slopes(sw: _Sweep, slope: dict) -> dict:
    """Local log-log slopes of the emission at the PL wavelength across the power-law window.

    The series is the baseline-subtracted value at the Delta_PL wavelength (repeat mean,
    reference polarization) at the fluences below the slope window's upper end. The chord
    is its least-squares log-log slope over the whole window; the local slope at each
    fluence is the least-squares slope over `LOCAL_SLOPE_POINTS` consecutive fluences
    centred on it (fewer at the window's ends are not used). ``max_deviation`` is the
    largest |local - chord|: a power law has 0, a curve bending over the window more.
    """
    fmax = slope.get("fluence_max_mJ_cm2")
    lam = sw.feats.attrs["delta_pl_wavelength_nm"]
    out: dict[str, Any] = {
        "wavelength_nm": float(lam),
        "fluence_max_mJ_cm2": fmax,
        "window_points": LOCAL_SLOPE_POINTS,
        "chord": None,
        "fluence_mJ_cm2": [],
        "local": [],
        "max_deviation": None,
    }
    if fmax is None:
        out["note"] = "needs the power-law window (the L-L threshold)"
        return out
    y = sw.ref("value_at_pl_peak").mean(1)
    sel = (sw.fax < fmax) & np.isfinite(y) & (y > 0)
    f, v = sw.fax[sel], y[sel]
    n = LOCAL_SLOPE_POINTS
    if f.size < n:
        out["note"] = f"fewer than {n} usable fluences in the power-law window"
        return out
    chord = float(loglog_slope(f, v)["slope"])
    h = n // 2
    local = [
        float(loglog_slope(f[i - h : i + h + 1], v[i - h : i + h + 1])["slope"])
        for i in range(h, f.size - h)
    ]
    out.update(
        chord=_num(chord),
        fluence_mJ_cm2=[float(x) for x in f[h : f.size - h]],
        local=[_num(x) for x in local],
        max_deviation=_num(max(abs(x - chord) for x in local)),
    )
    return out


def _fwhm_threshold(sw: _Sweep) -> dict:
    """Threshold of spectral narrowing from the FWHM versus fluence."""
    wthr = {"value": None, "ci95": None, "method": FWHM_METHOD}
    fwhm = sw.ref("fwhm_nm")
    m_w = fwhm.mean(1)
    wt = fwhm_threshold(sw.fax, m_w)
    wb = fwhm_threshold(sw.fax, _bootstrap_means(fwhm, sw.boot))
    df = _welch_df(lambda m: fwhm_threshold(sw.fax, m)["threshold"], fwhm)
    wthr.update(
        value=_num(wt["threshold"]),
        ci95=_boot_ci(float(wt["threshold"]), wb["threshold"], df) if sw.n_repeats > 1 else None,
        fwhm_pl_nm=_num(wt["fwhm_pl"]),
        fwhm_ase_nm=_num(wt["fwhm_ase"]),
    )
    return wthr


def _reference_peaks(sw: _Sweep) -> dict[str, dict]:
    """Peaks and widths of the PL and ASE reference spectra: repeat mean with a t interval."""
    out = {}
    fl, attrs = sw.fluence, sw.feats.attrs
    i_pl = int(np.argmin(np.abs(fl - attrs["pl_reference_fluence_mJ_cm2"])))
    i_ase = int(np.argmin(np.abs(fl - attrs["ase_reference_fluence_mJ_cm2"])))
    for key, var, i in (
        ("pl_peak_nm", "peak_nm", i_pl),
        ("pl_fwhm_nm", "fwhm_nm", i_pl),
        ("ase_peak_nm", "peak_nm", i_ase),
        ("ase_fwhm_nm", "fwhm_nm", i_ase),
    ):
        d = _summary_stat(sw.ref(var)[i])
        d["fluence_mJ_cm2"] = float(fl[i])
        out[key] = d
    return out


def _deltas(sw: _Sweep) -> dict[str, dict[str, Any]]:
    """Delta of every non-linear polarization against linear, paired in acquisition order."""
    feats, pols = sw.feats, sw.pols
    if "linear" not in pols:
        return {}
    acq = None
    if "acquisition_index" in feats.coords:
        acq = np.asarray(
            feats["acquisition_index"].transpose("fluence", "polarization", "repeat").values, float
        )
    il = pols.index("linear")
    deltas = {}
    for ip, p in enumerate(pols):
        if p == "linear":
            continue
        d = {}
        for key, var in (
            ("delta_ase", "value_at_ase_peak"),
            ("delta_pl", "value_at_pl_peak"),
            ("delta_ase_band", "intensity_ase"),
            ("delta_pl_band", "intensity_pl"),
        ):
            v = np.asarray(feats[var].values, dtype=float)
            d[key] = delta_contrast(
                v[:, il],
                v[:, ip],
                None if acq is None else acq[:, il],
                None if acq is None else acq[:, ip],
            )
        deltas[p] = d
    return deltas


def _per_fluence(sw: _Sweep, deltas: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per fluence: the reference polarization's features and Delta (circular)."""
    feats, pols = sw.feats, sw.pols
    sat = np.asarray(feats["saturated"].values).any(axis=(1, 2))
    msk = np.asarray(feats["masked"].values).any(axis=(1, 2))
    circ = deltas.get("circular")
    per = []
    for k in range(sw.fluence.size):
        e: dict[str, Any] = {"fluence_mJ_cm2": float(sw.fluence[k])}
        for name in FEATURE_FIELDS:
            if name in feats:
                e[name] = _num(sw.ref(name)[k].mean())
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
    return per


def _fluence_axis(
    ds: xr.Dataset,
    sw_fluence: np.ndarray,
    pols: list[str],
    ref_pol: str,
    choice: str = "auto",
    notes: list[str] | None = None,
) -> tuple[np.ndarray, str]:
    """The fluence axis of the fits and its name (`AnalysisConfig.fluence_axis`).

    A per-acquisition fluence variable (``fluence_measured``: the power meter's reading;
    ``pump_fluence_actual``: the fluence the simulation delivered, drift included) gives
    its mean over repeats per set point, for the reference polarization; missing
    acquisitions (NaN) are left out of the mean. With ``choice="auto"`` the first usable
    variable of `FLUENCE_AXES` is taken (an unusable one adds a note), else the nominal
    `sw_fluence`; an explicit choice that is absent or unusable raises.

    Raises
    ------
    DataValidationError
        An explicitly chosen variable is absent, or its means are not finite, positive
        and strictly increasing.
    """
    if choice == "nominal":
        return sw_fluence, "nominal"
    names = [n for n in FLUENCE_AXES[2:] if choice in ("auto", n)]
    for name in names:
        if name not in ds:
            if choice != "auto":
                raise DataValidationError(
                    f"fluence_axis={name!r}: the Dataset has no '{name}' variable"
                    + (
                        " (a manifest column 'fluence_measured_mJ_cm2' gives it)"
                        if name == "fluence_measured"
                        else ""
                    )
                )
            continue
        fa = np.asarray(
            ds[name].transpose("fluence", "polarization", "repeat").values, dtype=float
        )[:, pols.index(ref_pol)]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a step with no acquisition
            fa = np.nanmean(fa, axis=1)
        if np.all(np.isfinite(fa)) and np.all(fa > 0) and np.all(np.diff(fa) > 0):
            return fa, name
        why = (
            f"'{name}' ({ref_pol}, mean over repeats) is not finite, positive and strictly "
            "increasing over the fluence steps"
        )
        if choice != "auto":
            raise DataValidationError(f"fluence_axis={name!r}: {why}")
        if notes is not None:
            notes.append(f"fluence axis: {why}; not used")
    return sw_fluence, "nominal"


def analyze(
    ds: xr.Dataset, config: AnalysisConfig | None = None, features: xr.Dataset | None = None
) -> AnalysisResult:
    """Analyze a measurement Dataset; returns the typed result (docs/results.md).

    Every step degrades gracefully: on a sweep too short (or too masked) for a threshold,
    the slope or the narrowing onset, those values are None with a note in
    ``result.notes`` (and in the estimate's ``note``), and everything else is reported.
    Only input that cannot be analysed at all (no spectrum variable, wrong dims, no
    unmasked emission peak) raises.

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

    Raises
    ------
    DataValidationError
        If `ds` cannot be analysed at all (see above).
    """
    cfg = config or AnalysisConfig()
    feats = features if features is not None else extract_features(ds, cfg)
    fluence = np.asarray(feats["fluence"].values, dtype=float)
    pols = [str(p) for p in feats["polarization"].values]
    ref_pol = feats.attrs["reference_polarization"]
    notes: list[str] = []
    fax, axis_name = _fluence_axis(ds, fluence, pols, ref_pol, cfg.fluence_axis, notes)
    r = int(feats.sizes["repeat"])
    # bootstrap over repeats: one weight table, so all features are resampled jointly
    wts = _bootstrap_weights(np.random.default_rng(cfg.seed), cfg.n_bootstrap, fluence.size, r)
    sw = _Sweep(cfg, feats, fluence, fax, pols, pols.index(ref_pol), wts)
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "source": str(ds.attrs.get("source", "unknown")),
        "reference_polarization": ref_pol,
        "n_repeats": r,
        "fluence_axis": axis_name,
    }

    empty_slope = {"value": None, "ci95": None, "method": "loglog_least_squares_below_threshold"}
    empty_thr = {"value": None, "ci95": None, "method": HINGE_METHODS[cfg.threshold_scale]}
    thr, slope = _step(
        notes, "L-L threshold", lambda: _threshold_and_slope(sw), (empty_thr, empty_slope)
    )
    for name, est in (("L-L threshold", thr), ("power-law slope", slope)):
        if est.get("note") and est.get("value") is None:
            notes.append(f"{name}: {est['note']}")
    results["threshold_mJ_cm2"] = thr
    results["slope_below_threshold"] = slope
    results["slope_local"] = _step(notes, "local slopes", lambda: _local_slopes(sw, slope), None)
    results["photon_order"] = photon_order(slope["value"]) if slope["value"] is not None else None

    wthr = _step(
        notes,
        "FWHM threshold",
        lambda: _fwhm_threshold(sw),
        {"value": None, "ci95": None, "method": FWHM_METHOD},
    )
    if wthr["value"] is None and "note" not in wthr:
        wthr["note"] = (
            next((n.split(": ", 1)[1] for n in notes if n.startswith("FWHM threshold")), None)
            or "not estimable on this sweep"
        )
    results["threshold_fwhm_mJ_cm2"] = wthr

    results.update(_reference_peaks(sw))
    deltas = _deltas(sw)
    results["per_fluence"] = _per_fluence(sw, deltas)
    results["delta_by_polarization"] = {
        p: [
            {
                "fluence_mJ_cm2": float(fluence[k]),
                **{key: _num(d[key]["delta"][k]) for key in d},
                **{f"{key}_ci95": _ci(d[key]["ci95"][k]) for key in d},
            }
            for k in range(fluence.size)
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

        results["decays"] = _step(
            notes,
            "decay fits",
            lambda: fit_dataset_decays(ds, n_components=cfg.decay_components),
            [],
        )
    results["config"] = dataclasses.asdict(cfg)
    results["notes"] = notes
    return AnalysisResult.from_dict(to_jsonable(results))
