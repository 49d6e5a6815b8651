"""Calibrate the twin against the paper's observables, or report which ones conflict.

`paper_observables` measures every observable of `TARGETS` (Photonics 2022, 9, 353, text and
Fig. 3) on the noiseless spectra of a configuration, with the analysis package's estimators
(`polase.analysis.spectra.peak_and_fwhm` and `window_mean`, `polase.analysis.threshold.
hinge_threshold`, `polase.analysis.power_law.loglog_slope`), the same ones that grade a
measurement. `calibrate` fits the free parameters of one mechanism (an
`polase.inverse.Parameters` set, bounded by each parameter's literature range) with
`polase.inverse.least_squares_fit`, the bounded trust-region least squares that
`polase.inverse.fit` uses, on the tolerance-scaled misfits, and writes the values with
provenance to an explicit output path (never to the package data unless that path is given). Its result lists,
for every target, the model value and whether it is met, and every parameter that ends at a
bound: when no physical parameter set meets all observables, that list is the result.

Targets have a kind: "value" (|model - target| <= tolerance), "max" (model <= target +
tolerance), "min" (model >= target - tolerance).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...analysis.power_law import loglog_slope
from ...analysis.spectra import peak_and_fwhm, window_mean
from ...analysis.threshold import hinge_threshold
from ...config import load_config
from ...errors import ConfigError
from ...inverse.fit import least_squares_fit
from ...inverse.parameters import Parameter, Parameters
from ...materials import literature_range


@dataclass(frozen=True)
class Target:
    """One paper observable."""

    value: float
    tolerance: float
    kind: str = "value"  #: "value", "max" or "min"
    unit: str = ""
    source: str = ""

    def residual(self, model: float) -> float:
        """Misfit in tolerances (0 inside a one-sided target). [1]"""
        if not math.isfinite(model):
            return 1e3
        d = (model - self.value) / self.tolerance
        if self.kind == "max":
            return max(d - 1.0, 0.0)
        if self.kind == "min":
            return min(d + 1.0, 0.0)
        return d

    def met(self, model: float) -> bool:
        if not math.isfinite(model):
            return False
        if self.kind == "max":
            return model <= self.value + self.tolerance
        if self.kind == "min":
            return model >= self.value - self.tolerance
        return abs(model - self.value) <= self.tolerance


_P = "Photonics 2022, 9, 353"


def _paper(key: str, kind: str = "value", calibration_key: str = "") -> Target:
    """The calibration target of the paper's graded row `key` (targets.toml): its
    tolerance interval as value +- tolerance ("value") or its reference and upper bound
    ("max"), so that the twin is calibrated against the numbers it is graded with."""
    from . import TARGETS as PAPER

    t = next(x for x in PAPER.targets if x.key == key)
    tol = t.tolerance
    if kind == "max":
        ref = 0.0 if t.reference is None else t.reference
        return Target(ref, tol.high - ref, "max", t.unit, f"{_P}: {t.reference_text} ({key})")
    ref = t.reference
    if ref is not None and math.isclose(ref - tol.low, tol.high - ref):
        value, half = ref, round(tol.high - ref, 12)  # symmetric about the paper's value
    else:
        value, half = 0.5 * (tol.low + tol.high), 0.5 * (tol.high - tol.low)
    return Target(value, half, unit=t.unit, source=f"{_P}: {t.reference_text} ({key})")


#: The paper's observables on the default sweep (linear pump unless "delta"): the graded
#: rows of targets.toml, plus four shape terms that only the calibration uses (the minimum
#: FWHM, no re-broadening above threshold, the clamping of the 533 nm emission and a
#: Delta_ASE rise of at least 0.5 %: each keeps the optimiser off a degenerate corner).
TARGETS: dict[str, Target] = {
    "pl_peak_nm_8.2": _paper("pl_peak"),
    "pl_fwhm_nm_8.2": _paper("pl_fwhm"),
    "max_fwhm_below_threshold_nm": _paper("fwhm_below_threshold", "max"),
    **{f"ase_peak_nm_{f}": _paper("ase_peak") for f in (15, 16, 17)},
    "fwhm_nm_17": _paper("fwhm_above"),
    "min_fwhm_nm": Target(14.0, 1.5, unit="nm", source=f"{_P}: narrowing to ~14 nm"),
    "fwhm_rise_above_threshold_nm": Target(
        0.0, 0.3, "max", "nm", f"{_P}: monotonic narrowing above threshold"
    ),
    "threshold_mJ_cm2": _paper("threshold_ll"),
    "slope_533_chord": _paper("slope"),
    "slope_533_local_spread": _paper("slope_curvature", "max"),
    "clamp_533_20_over_15": Target(
        1.15, 0.25, unit="1", source=f"{_P} Fig. 3: the 533 nm emission clamps above threshold"
    ),
    **{f"delta_ase_pct_{f}": _paper(f"delta_ase_{f}") for f in (15, 16, 17)},
    "delta_ase_rise_pct": Target(
        0.0, 0.5, "min", "%", f"{_P}: Delta_ASE rises from 15 to 16 to 17 mJ/cm2"
    ),
    **{f"delta_533_pct_{f}": _paper(f"delta_533_{f}") for f in (15, 16, 17)},
    "max_abs_delta_533_pct_below_12": _paper("delta_pl_spontaneous", "max"),
}

#: Fluences the observables need (a subset of the default sweep). [mJ/cm2]
CALIBRATION_FLUENCES: tuple[float, ...] = (
    4.0, 5.0, 6.0, 7.0, 8.2, 9.0, 10.0, 11.0, 12.0, 13.0, 13.5, 14.0, 14.5, 15.0, 15.5, 16.0,
    16.5, 17.0, 18.0, 19.0, 20.0,
)  # fmt: skip

#: Parameters freed for every mechanism, and those freed by each mechanism.
COMMON_FREE: tuple[str, ...] = (
    "material.beta",
    "material.k2",
    "material.pl_center_ev",
    "material.pl_fwhm_ev",
    "sample.beta_sp",
    "sample.collection_ase",
    "sample.rod_end_distance_um",
    "sample.bandgap_spread_ev",
    "material.pband_density_cm3",
    "material.pband_binding_fraction",
)
MECHANISM_FREE: dict[str, tuple[str, ...]] = {
    "orbit_orbit": (
        "material.tau_s",
        "material.orientation_efficiency",
        "mechanism.orbit_orbit.exchange_fraction",
    ),
    "spin_channel": ("material.tau_s", "material.orientation_efficiency"),
    "dichroism": ("mechanism.dichroism.delta",),
}
#: Held fixed by default; a caller's ``free=`` may fit them.
OPTIONAL_FREE: tuple[str, ...] = (
    "material.pl_red_tail_ev",
    "material.exciton_binding_ev",
    "material.effective_mass_e",
    "material.effective_mass_h",
)

#: Literature ranges (min, max, unit, source) of the band-filling twin's adjustable
#: parameters, from `polase.materials` (dotted key -> range); every value of `calibrate`
#: must end strictly inside.
RANGES: dict[str, tuple[float, float, str, str]] = {
    key: literature_range(key)
    for key in dict.fromkeys(
        COMMON_FREE + OPTIONAL_FREE + tuple(k for v in MECHANISM_FREE.values() for k in v)
    )
}


def _get(cfg, key: str) -> float:
    node = cfg
    for part in key.split("."):
        node = node[part]
    return float(node)


def _nested(flat: dict) -> dict:
    out: dict = {}
    for key, v in flat.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = v
    return out


def spectra_for_calibration(config, fluence=CALIBRATION_FLUENCES, solver=None) -> dict:
    """Noiseless, baseline-subtracted spectrometer spectra of linear and circular pumping.

    Returns
    -------
    dict
        fluence (F,) [mJ/cm2]; wavelength (W,) [nm], 480-620 nm; spectra (F, 2, W) [counts]
        (axis 1: 0 deg, 45 deg); max_counts [counts].
    """
    from ...experiment import forward
    from ...instruments.spectrometer import measure_spectrum

    cfg = load_config(config)
    f = np.asarray(fluence, dtype=float)
    fwd = forward(cfg, f, [0.0, 45.0], solver=solver)
    sp = cfg.spectrometer
    meas = measure_spectrum(
        fwd["wavelength"], fwd["emission"] * cfg["pump"]["repetition_rate_hz"], sp, noise=False
    )
    base = sp.electronic_offset_counts + sp.dark_counts_per_s * sp.integration_time_s
    lam = meas["wavelength"]
    win = (lam > 480) & (lam < 620)
    return {
        "fluence": f,
        "wavelength": lam[win],
        "spectra": meas["expected"][..., win] - base,
        "max_counts": float(meas["expected"].max()),
        "fwd": fwd,
    }


def paper_observables(config=None, solver: str | None = None) -> dict[str, float]:
    """Every observable of `TARGETS` on the configuration's noiseless spectra.

    Also returns "max_counts" and, from the twin itself, "max_modal_gain_per_cm" is left to
    `polase.physics` tests. Peak, FWHM, threshold and slopes come from `polase.analysis`.
    """
    d = spectra_for_calibration(config, solver=solver)
    f, lam, s = d["fluence"], d["wavelength"], d["spectra"]
    lin = s[:, 0]
    pf = peak_and_fwhm(lam, lin)
    peak, width = pf["peak_nm"], pf["fwhm_nm"]
    i533 = window_mean(lam, s, 533.0, 0.5)  # (F, 2)
    i543 = window_mean(lam, s, 543.0, 0.5)
    out: dict[str, float] = {"max_counts": d["max_counts"]}

    def at(val):
        return int(np.flatnonzero(np.isclose(f, val))[0])

    out["pl_peak_nm_8.2"] = float(peak[at(8.2)])
    out["pl_fwhm_nm_8.2"] = float(width[at(8.2)])
    thr = float(hinge_threshold(f, i543[:, 0])["threshold"])
    out["threshold_mJ_cm2"] = thr
    below, above = f < thr, f > thr
    out["max_fwhm_below_threshold_nm"] = float(np.max(width[below])) if below.any() else math.nan
    for fl in (15, 16, 17):
        j = at(fl)
        out[f"ase_peak_nm_{fl}"] = float(peak[j])
        out[f"delta_ase_pct_{fl}"] = float(100.0 * (i543[j, 1] / i543[j, 0] - 1.0))
        out[f"delta_533_pct_{fl}"] = float(100.0 * (i533[j, 1] / i533[j, 0] - 1.0))
    out["fwhm_nm_17"] = float(width[at(17)])
    out["min_fwhm_nm"] = float(np.min(width))
    w_above = width[above]
    out["fwhm_rise_above_threshold_nm"] = (
        float(max(np.max(np.diff(w_above)), 0.0)) if w_above.size > 1 else 0.0
    )
    win = (f >= 4.0) & (f <= 12.0)
    out["slope_533_chord"] = float(loglog_slope(f[win], i533[win, 0])["slope"])
    local = np.gradient(np.log(i533[win, 0]), np.log(f[win]))
    out["slope_533_local_spread"] = float(np.max(np.abs(local - out["slope_533_chord"])))
    out["clamp_533_20_over_15"] = float(i533[at(20), 0] / i533[at(15), 0])
    out["delta_ase_rise_pct"] = min(
        out["delta_ase_pct_16"] - out["delta_ase_pct_15"],
        out["delta_ase_pct_17"] - out["delta_ase_pct_16"],
    )
    low = f < 12.0
    out["max_abs_delta_533_pct_below_12"] = float(
        100.0 * np.max(np.abs(i533[low, 1] / i533[low, 0] - 1.0))
    )
    return out


def residuals(obs: dict, keys=None) -> np.ndarray:
    """Tolerance-scaled misfits of the observables to `TARGETS`. [1]"""
    keys = list(TARGETS) if keys is None else keys
    return np.array([TARGETS[k].residual(obs.get(k, math.nan)) for k in keys])


#: Counts near the spectrometer's 16-bit full scale: a trial that saturates it is penalised.
_MAX_COUNTS = 60000.0


def parameters_for(mechanism: str, config=None, free=None) -> Parameters:
    """Free parameters of `mechanism` at the configuration's values, bounded by `RANGES`."""
    from ...physics.mechanisms import parse_mechanism

    cfg = load_config(config)
    active = parse_mechanism(mechanism)
    names = list(COMMON_FREE) if free is None else list(free)
    if free is None:
        for m in sorted(active):
            names += [k for k in MECHANISM_FREE[m] if k not in names]
    out = []
    for key in names:
        if key not in RANGES:
            raise ConfigError(
                key, f"no literature range for a calibrated parameter; known: {sorted(RANGES)}"
            )
        lo, hi, unit, _src = RANGES[key]
        v = float(np.clip(_get(cfg, key), lo, hi))
        log = lo > 0 and hi / lo > 100
        out.append(Parameter(key, v, lo, hi, True, log, unit))
    return Parameters(out)


def calibrate(
    output: str | Path,
    mechanism: str = "spin_channel",
    *,
    config=None,
    free=None,
    overwrite: bool = False,
    max_nfev: int = 60,
    log: Callable[[str], None] | None = print,
) -> dict:
    """Fit one mechanism's free parameters to `TARGETS`; write them with provenance to `output`.

    Parameters
    ----------
    output
        TOML file to write (required: the package data are never replaced implicitly).
    mechanism
        Mechanism name (``"+"``-combinations allowed).
    config
        Starting configuration (anything `load_config` accepts); its
        ``material.gain_model`` is used as is.
    free
        Dotted keys to fit (default: `COMMON_FREE` plus the mechanism's `MECHANISM_FREE`).
    overwrite
        Replace `output` if it exists.
    max_nfev
        Model evaluations of the least-squares solver's steps (the finite-difference
        Jacobian columns, one per free parameter and iteration, come on top); the best point
        among all evaluations is kept (`polase.inverse.least_squares_fit` with
        ``best_evaluated=True``).
    log
        Progress messages (None: silent).

    Returns
    -------
    dict
        ``path``; ``parameters`` (key -> value) of the best evaluated point; ``at_bound``
        (keys within 0.1 % of their span from a bound, in the fit's coordinates: log10 for
        log parameters); ``targets`` (name -> {model, target, tolerance, kind, met});
        ``conflicts`` (names of targets not met); ``cost`` (sum of squared misfits).
    """
    from ..._files import atomic_path

    log = log or (lambda _msg: None)
    out_path = Path(output)
    if out_path.exists() and not overwrite:
        from ...errors import OutputExistsError

        raise OutputExistsError(f"{out_path} exists; pass --overwrite to replace it")
    base = load_config(config if config is not None else {})
    base_d = base.to_dict()
    base_d["mechanism"]["name"] = mechanism
    params = parameters_for(mechanism, base_d, free)
    keys = list(TARGETS)
    observed: dict = {}  # observables of every evaluated point, by its values
    n_eval = [0]

    def misfits(values: dict) -> np.ndarray:
        cfg = _nested(values)
        trial = load_config({**base_d, **_merge_sections(base_d, cfg)})
        obs = paper_observables(trial)
        r = residuals(obs, keys)
        over = max(obs["max_counts"] - _MAX_COUNTS, 0.0) / 1000.0
        r = np.append(r, over)
        observed[tuple(values.values())] = obs
        n_eval[0] += 1
        log(f"  eval {n_eval[0]}: cost {float(r @ r):.4g}")
        return r

    log(f"calibrating {mechanism}: {len(params.free_names)} parameters, {len(keys)} targets")
    fitted = least_squares_fit(
        misfits,
        params,
        max_nfev=max_nfev,
        diff_step=2e-2,
        final_jacobian=False,
        best_evaluated=True,
        bound_tol=1e-3,
        label=f"calibration of {mechanism!r}",
    )
    values = fitted.values
    obs = observed[tuple(values.values())]
    at_bound = fitted.at_bound
    table = {
        k: {
            "model": float(obs.get(k, math.nan)),
            "target": t.value,
            "tolerance": t.tolerance,
            "kind": t.kind,
            "met": t.met(obs.get(k, math.nan)),
        }
        for k, t in TARGETS.items()
    }
    conflicts = [k for k, v in table.items() if not v["met"]]
    text = _render(values, obs, table, conflicts, at_bound, mechanism, base, fitted.nfev)
    with atomic_path(out_path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return {
        "path": out_path,
        "parameters": values,
        "at_bound": at_bound,
        "targets": table,
        "conflicts": conflicts,
        "cost": fitted.cost,
    }


def _merge_sections(base: dict, new: dict) -> dict:
    out = {}
    for sec, vals in new.items():
        merged = dict(base.get(sec, {}))
        for k, v in vals.items():
            if isinstance(v, dict):
                merged[k] = {**merged.get(k, {}), **v}
            else:
                merged[k] = v
        out[sec] = merged
    return out


def conflict_table(result: dict) -> str:
    """Plain-text table of the targets of a `calibrate` result, conflicts marked."""
    lines = [f"{'observable':34s} {'model':>10s} {'target':>10s} {'tol':>6s}  met"]
    for k, v in result["targets"].items():
        lines.append(
            f"{k:34s} {v['model']:10.4g} {v['target']:10.4g} {v['tolerance']:6.3g}  "
            f"{'yes' if v['met'] else 'NO'}"
        )
    if result["at_bound"]:
        lines.append("parameters at a bound: " + ", ".join(result["at_bound"]))
    return "\n".join(lines)


def _render(values, obs, table, conflicts, at_bound, mechanism, base, n_evals) -> str:
    import tomli_w

    from ... import __version__

    doc = _nested({k: float(v) for k, v in values.items()})
    doc.setdefault("material", {})["gain_model"] = base["material"]["gain_model"]
    doc.setdefault("mechanism", {})["name"] = mechanism
    doc["provenance"] = {
        "written_by": "polase.paper.photonics2022.calibration.calibrate",
        "polase_version": __version__,
        "date_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mechanism": mechanism,
        "method": (
            "trust-region least squares (polase.inverse.least_squares_fit) of the"
            " tolerance-scaled misfits of polase.paper.photonics2022.calibration.TARGETS,"
            " observables measured with polase.analysis on the noiseless spectra; parameters"
            " bounded by their literature ranges"
        ),
        "evaluations": n_evals,
        "conflicts": conflicts,
        "at_bound": at_bound,
        "targets": {k: float(v["target"]) for k, v in table.items()},
        "model": {k: float(v) for k, v in obs.items() if math.isfinite(v)},
    }
    header = (
        "# Parameters written by `polase calibrate` (polase.paper.photonics2022.calibration.calibrate).\n"
        "# [provenance] lists the observables this set does not meet (conflicts).\n"
    )
    return header + tomli_w.dumps(doc)
