"""Target sets: observables with reference values and tolerances, graded against an analysis.

A target set is data, not code: a TOML file (for example the paper package's
``polase/paper/photonics2022/targets.toml``) with one ``[[target]]`` table per row::

    [target_set]
    name = "my-study"
    citation = "J. Doe et al., Journal 1, 1 (2030)"

    [captions]                      # optional: report figure captions by figure name
    fig2b = "Fig. 4: threshold"

    [[target]]
    key = "ase_peak"                # unique id of the row
    label = "ASE peak"              # row label; the fluence measured at is appended
    reference = 543.0               # reference value, in `unit` (omit for a qualitative one)
    reference_text = "543"          # how the source states it
    tolerance = { plus_minus = 1.0 }   # or { low = 10.0, high = 16.0, text = "10-16" }
    unit = "nm"
    figure = "Fig. 2a"              # where the source shows it
    measure = "result"              # how it is read from the analysis (see MEASURES)
    field = "ase_peak_nm"           # measure parameters follow

`grade` turns a target set and an analysis (results.json content, optional decay fits)
into table rows; `describe_rows` gives the same kind of rows for any analysis without
reference values or verdicts, which is what ``polase report`` shows unless it is given
a target set.

Measures (``measure = ...``; parameters as further keys of the target):

``result``
    ``results[field]`` (a value with ``ci95``); the row states the fluence it was
    measured at when the analysis records one.
``per_fluence``
    ``field`` of the per-fluence entry nearest ``fluence`` [mJ/cm2] (within 0.26), its
    interval from ``field + "_ci95"``, times ``scale``. The label may hold ``{fluence}``.
    With ``wavelength_nm``, a Delta field is only taken when the analysis measured it at
    that wavelength (within 0.5 nm; ``windows.delta_*_wavelength_nm``).
``pooled_below``
    Intensity-weighted mean of ``field`` over the fluences below ``max_fluence`` [mJ/cm2]
    (`delta_pl_pooled`), times ``scale``.
``rise``
    Smallest step of ``field`` (times ``scale``) between consecutive ``fluences``: > 0
    when the quantity rises monotonically through them.
``max_below_threshold``
    Largest per-fluence ``field`` below the L-L threshold of the analysis.
``slope_curvature``
    Largest difference between the local log-log slopes and the chord slope of the
    emission at the PL wavelength across the power-law window (``slope_local``).
``decay_ratio``
    Ratio of the 1/e times of the decays at ``wavelengths[0]`` and ``wavelengths[1]`` [nm].
``helicity_tau_s``
    A spin relaxation time measured from a sigma+ / sigma- pair, given by the caller as
    ``context[field]`` (the dict of `polase.analysis.polarization.fit_helicity_pair`'s
    summary: ``tau_s_ns``, ``tau_s_ci95_ns``, ``resolved``, ``bound``; optionally
    ``input_tau_s_ns`` when the pair was simulated). A resolved tau_s is the value with
    its profile-likelihood interval; an unresolved one has no value (the row is not
    passed) and its note gives the bound.
``gain_bound``
    The twin's peak modal gain over the full-inversion bound Gamma alpha0, given by the
    caller as ``context[field]`` (the dict of `polase.experiment.gain_check`:
    ``max_ratio``, ``max_fluence``, ``max_polarization``, ``peak_modal_gain_per_cm``,
    ``bound_per_cm``, ``gain_model``). None: no value (the configuration of the twin is
    unknown, e.g. a measurement). Used with ``kind = "model"``.
``input``
    A model input given by the caller (``context[field]``), shown but never graded.

Kinds (``kind = ...``): ``"measured"`` (default; read from the analysis and graded),
``"model"`` (computed from the twin's configuration, not from the data, and graded: a
check of the model itself), ``"recovery"`` (read from the analysis and graded against a
value the twin was given as an input: it shows that the measurement recovers its input,
not that the paper is right, so `pass_fraction` leaves it out) and ``"input"`` (a model
input, shown, never graded).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import read_toml
from ..errors import InputFileError

#: Tolerance on a fluence key when looking up per-fluence results. [mJ/cm2]
FLUENCE_MATCH_TOL: float = 0.26
#: Largest distance between a target's wavelength and the one the analysis used. [nm]
WAVELENGTH_MATCH_TOL: float = 0.5
#: Row kinds that are graded against their tolerance.
GRADED_KINDS: tuple[str, ...] = ("measured", "model", "recovery")
#: Graded kinds that count towards the agreement with a target set (``pass_fraction``):
#: not "recovery", whose reference is the twin's own input.
SCORED_KINDS: tuple[str, ...] = ("measured", "model")


@dataclass(frozen=True)
class Tolerance:
    """Closed acceptance interval ``[low, high]`` and how to say it in a table.

    Parameters
    ----------
    low, high
        Bounds of the accepted interval, in the row's unit; ``-inf``/``inf`` for open ends.
    text
        Human-readable tolerance, e.g. ``"± 1"``.
    """

    low: float
    high: float
    text: str

    def accepts(self, value: float | None) -> bool | None:
        """True if `value` lies in the interval, None if there is no value."""
        if value is None or not math.isfinite(value):
            return None
        return self.low <= value <= self.high


def plus_minus(center: float, half: float) -> Tolerance:
    """The tolerance ``center ± half``."""
    return Tolerance(center - half, center + half, f"± {half:g}")


@dataclass(frozen=True)
class Target:
    """One row of a target set.

    Parameters
    ----------
    key
        Unique id.
    label
        Row label (may contain ``{fluence}``).
    reference
        Reference value in `unit`; None for a qualitative statement.
    reference_text
        The reference as its source states it.
    tolerance
        Accepted interval; None: the row is reported, not graded.
    unit
        Unit of value and tolerance.
    figure
        Where the source shows the observable.
    measure
        Name in `MEASURES`.
    params
        Parameters of the measure, as ``(name, value)`` pairs.
    kind
        ``"measured"`` (graded), ``"model"`` (computed from the twin, graded) or
        ``"input"`` (a model input, never graded).
    group
        Free label to select rows (e.g. ``"headline"``).
    note
        Extra text for the row (how the value is read).
    """

    key: str
    label: str
    reference: float | None
    reference_text: str
    tolerance: Tolerance | None
    unit: str
    figure: str
    measure: str
    params: tuple[tuple[str, Any], ...] = ()
    kind: str = "measured"
    group: str = ""
    note: str = ""

    def param(self, name: str, default: Any = None) -> Any:
        """Value of the measure parameter `name`."""
        return dict(self.params).get(name, default)


@dataclass(frozen=True)
class TargetSet:
    """A named, cited table of targets (see the module docstring for the TOML form)."""

    name: str
    citation: str
    targets: tuple[Target, ...]
    description: str = ""
    source: str = ""
    captions: Mapping[str, str] = field(default_factory=dict)

    def by_key(self, key: str) -> Target:
        """The target with `key`."""
        for t in self.targets:
            if t.key == key:
                return t
        raise KeyError(key)


@dataclass
class Measured:
    """What a measure read from an analysis: value, 95 % interval, where, and a note."""

    value: float | None
    ci95: list[float] | None = None
    fluence: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- reading


def scalar(entry: Any) -> tuple[float | None, list[float] | None]:
    """Split a results entry into ``(value, ci95)``.

    Accepts a bare number, ``None``, or a mapping with ``value`` and optional ``ci95``
    (the results.json convention). Non-finite numbers become ``None``.
    """
    if entry is None:
        return None, None
    if isinstance(entry, Mapping):
        value = entry.get("value")
        ci = entry.get("ci95")
    else:
        value, ci = entry, None
    try:
        value = float(value) if value is not None else None
    except (TypeError, ValueError):
        value = None
    if value is not None and not math.isfinite(value):
        value = None
    if ci is not None:
        try:
            ci = [float(ci[0]), float(ci[1])]
        except (TypeError, ValueError, IndexError):
            ci = None
        if ci is not None and not all(math.isfinite(c) for c in ci):
            ci = None
    return value, ci


def per_fluence_entry(results: Mapping[str, Any], fluence: float) -> Mapping[str, Any] | None:
    """The ``per_fluence`` entry of `results` nearest `fluence` (within 0.26 mJ/cm2), or None."""
    best, best_d = None, FLUENCE_MATCH_TOL
    for entry in results.get("per_fluence") or []:
        f = entry.get("fluence_mJ_cm2")
        if f is None:
            continue
        d = abs(float(f) - fluence)
        if d <= best_d:
            best, best_d = entry, d
    return best


def _scaled(value, ci, scale: float):
    v = None if value is None else scale * value
    c = None if ci is None else sorted([scale * ci[0], scale * ci[1]])
    return v, c


# ----------------------------------------------------------------------------- measures


def _m_result(t: Target, results, decays, context) -> Measured:
    entry = results.get(t.param("field"))
    v, ci = scalar(entry)
    v, ci = _scaled(v, ci, float(t.param("scale", 1.0)))
    fl = None
    note = ""
    if isinstance(entry, Mapping):
        if entry.get("fluence_mJ_cm2") is not None and v is not None:
            fl = float(entry["fluence_mJ_cm2"])
            note = f"measured at {fl:g} mJ/cm2"
        if t.param("note_from"):
            note = str(entry.get(t.param("note_from"), "") or "")
        if v is None and entry.get("note"):
            note = str(entry["note"])
    return Measured(v, ci, fl, note)


def _m_per_fluence(t: Target, results, decays, context) -> Measured:
    want = float(t.param("fluence"))
    name = t.param("field")
    entry = per_fluence_entry(results, want)
    if entry is None:
        return Measured(None, None, want, f"no per-fluence result at {want:g} mJ/cm2")
    lam = t.param("wavelength_nm")
    if lam is not None:
        # the target names a wavelength: the analysis must have taken this Delta there
        wkey = (
            "delta_pl_wavelength_nm" if name.startswith("delta_pl") else "delta_ase_wavelength_nm"
        )
        got = (results.get("windows") or {}).get(wkey)
        if got is None or abs(float(got) - float(lam)) > WAVELENGTH_MATCH_TOL:
            where = "an unrecorded wavelength" if got is None else f"{float(got):.4g} nm"
            return Measured(
                None,
                None,
                float(entry["fluence_mJ_cm2"]),
                f"the analysis took {name} at {where}, not at {float(lam):g} nm",
            )
    v, ci = scalar({"value": entry.get(name), "ci95": entry.get(f"{name}_ci95")})
    v, ci = _scaled(v, ci, float(t.param("scale", 1.0)))
    return Measured(v, ci, float(entry["fluence_mJ_cm2"]))


def delta_pl_pooled(
    results: Mapping[str, Any], max_fluence: float, field: str = "delta_pl"
) -> tuple[float | None, list[float] | None, int]:
    """Pooled per-fluence `field` over the fluences below `max_fluence`, PL-weighted.

    Each fluence below `max_fluence` gives one estimate; they are averaged with weights
    proportional to the PL-band intensity by `polase.analysis.statistics.weighted_mean_ci`
    (a Student-t interval from their weighted scatter).

    Parameters
    ----------
    results
        Analysis results with ``per_fluence`` entries (`field` [1], ``intensity_pl`` [any]).
    max_fluence
        Upper end (exclusive) of the pooled region. [mJ/cm2]
    field
        Per-fluence key to pool.

    Returns
    -------
    mean : float or None
        Pooled value. [1]
    ci95 : list of float or None
        Its 95 % interval (None with fewer than 2 fluences). [1]
    n : int
        Number of fluences pooled.
    """
    from ..analysis.statistics import weighted_mean_ci

    vals, weights = [], []
    for entry in results.get("per_fluence") or []:
        f = entry.get("fluence_mJ_cm2")
        if f is None or float(f) >= max_fluence:
            continue
        v, _ = scalar(entry.get(field))
        if v is None:
            continue
        w, _ = scalar(entry.get("intensity_pl"))
        vals.append(v)
        weights.append(w if w is not None else 0.0)
    mean, ci = weighted_mean_ci(vals, weights)
    return mean, ci, len(vals)


def _m_pooled_below(t: Target, results, decays, context) -> Measured:
    fmax = float(t.param("max_fluence"))
    v, ci, n = delta_pl_pooled(results, fmax, t.param("field", "delta_pl"))
    v, ci = _scaled(v, ci, float(t.param("scale", 1.0)))
    note = f"PL-intensity-weighted mean over {n} fluences below {fmax:g} mJ/cm2" if n else ""
    return Measured(v, ci, None, note)


def _m_rise(t: Target, results, decays, context) -> Measured:
    name = t.param("field")
    scale = float(t.param("scale", 1.0))
    vals = []
    for f in t.param("fluences"):
        entry = per_fluence_entry(results, float(f))
        v, _ = scalar(None if entry is None else entry.get(name))
        if v is None:
            return Measured(None, None, None, f"no {name} at {float(f):g} mJ/cm2")
        vals.append(scale * v)
    steps = [b - a for a, b in itertools.pairwise(vals)]
    txt = " → ".join(f"{v:.3g}" for v in vals)
    return Measured(min(steps), None, None, f"smallest step of {txt}", {"values": vals})


def _m_max_below_threshold(t: Target, results, decays, context) -> Measured:
    name = t.param("field")
    thr, _ = scalar(results.get("threshold_mJ_cm2"))
    if thr is None:
        return Measured(None, None, None, "needs the L-L threshold")
    best, at = None, None
    for entry in results.get("per_fluence") or []:
        f = entry.get("fluence_mJ_cm2")
        v, _ = scalar(entry.get(name))
        if f is None or v is None or float(f) >= thr:
            continue
        if best is None or v > best:
            best, at = v, float(f)
    if best is None:
        return Measured(None, None, None, f"no {name} below {thr:.3g} mJ/cm2")
    return Measured(best, None, at, f"largest below the threshold ({thr:.3g} mJ/cm2), at {at:g}")


def _m_slope_curvature(t: Target, results, decays, context) -> Measured:
    entry = results.get("slope_local")
    if not isinstance(entry, Mapping) or entry.get("max_deviation") is None:
        note = entry.get("note", "") if isinstance(entry, Mapping) else ""
        return Measured(None, None, None, note or "no local slopes in this analysis")
    v, _ = scalar(entry.get("max_deviation"))
    chord, _ = scalar(entry.get("chord"))
    local = entry.get("local") or []
    rng = [x for x in local if x is not None]
    note = ""
    if chord is not None and rng:
        note = (
            f"chord {chord:.3g}, local {min(rng):.3g}–{max(rng):.3g} at "
            f"{entry.get('wavelength_nm', float('nan')):g} nm"
        )
    return Measured(v, None, None, note)


def _m_decay_ratio(t: Target, results, decays, context) -> Measured:
    from ..analysis.decay import one_over_e_time

    w_num, w_den = (round(float(w)) for w in t.param("wavelengths"))
    if not decays:
        return Measured(None, None, None, "no decay fits")
    by_wl = {}
    for key, fit in decays.items():
        try:
            by_wl[round(float(key))] = fit
        except (TypeError, ValueError):
            continue
    num, den = by_wl.get(w_num), by_wl.get(w_den)
    if num is None or den is None:
        return Measured(None, None, None, f"needs decay fits at {w_num} and {w_den} nm")
    t_n, t_d = one_over_e_time(num), one_over_e_time(den)
    if t_n is None or t_d is None or t_d <= 0:
        return Measured(None, None, None, "decay fit without usable lifetimes")
    ratio = t_n / t_d
    ci = None
    # Interval: 1/e times of the lifetimes at their interval bounds (worst-case combination).
    ci_n, ci_d = num.get("tau_ci95_ns"), den.get("tau_ci95_ns")
    if ci_n is not None and ci_d is not None:
        try:
            lo_a = one_over_e_time({**num, "tau_ns": [c[0] for c in ci_n]})
            hi_a = one_over_e_time({**num, "tau_ns": [c[1] for c in ci_n]})
            lo_p = one_over_e_time({**den, "tau_ns": [c[0] for c in ci_d]})
            hi_p = one_over_e_time({**den, "tau_ns": [c[1] for c in ci_d]})
            if None not in (lo_a, hi_a, lo_p, hi_p) and lo_p > 0 and hi_p > 0:
                ci = [lo_a / hi_p, hi_a / lo_p]
        except (TypeError, IndexError, ValueError):
            ci = None
    note = f"1/e times {t_n:.3g} ns ({w_num} nm) and {t_d:.3g} ns ({w_den} nm)"
    return Measured(ratio, ci, None, note)


def _m_input(t: Target, results, decays, context) -> Measured:
    v = (context or {}).get(t.param("field"))
    if v is None:
        return Measured(
            None, note="not measurable from these data (a model parameter; see polase mechanisms)"
        )
    return Measured(float(v), note="model input, not measured: the value used by the simulation")


def _m_helicity_tau_s(t: Target, results, decays, context) -> Measured:
    m = (context or {}).get(t.param("field"))
    if not isinstance(m, Mapping):
        return Measured(None, note="no sigma+ / sigma- decay pair in this analysis")
    ci = m.get("tau_s_ci95_ns")
    ci = [None if c is None else float(c) for c in ci] if ci is not None else None
    extra = {k: m.get(k) for k in ("resolved", "bound", "input_tau_s_ns", "tau_s_mle_ns")}
    inp = m.get("input_tau_s_ns")
    src = ""
    if inp is not None:
        lo = -math.inf if ci is None or ci[0] is None else ci[0]
        hi = math.inf if ci is None or ci[1] is None else ci[1]
        inside = ci is not None and lo <= float(inp) <= hi
        src = f"; the pair was simulated with tau_s = {float(inp):.3g} ns, " + (
            "inside the 95 % interval: the measurement recovers the twin's input"
            if inside
            else "outside the 95 % interval"
        )
    how = (
        f"joint sigma+/sigma- fit at {float(m['fluence_mJ_cm2']):g} mJ/cm2"
        if m.get("fluence_mJ_cm2") is not None
        else "joint sigma+/sigma- fit"
    )
    if m.get("resolved") and m.get("tau_s_ns") is not None:
        note = f"measured ({how}), resolved{src}"
        value = float(m["tau_s_ns"])
    else:
        value = None
        if m.get("bound") == "upper" and ci is not None and ci[1] is not None:
            note = f"not resolved: tau_s < {ci[1]:.3g} ns (upper bound, {how}){src}"
        elif m.get("bound") == "lower" and ci is not None and ci[0] is not None:
            note = f"not resolved: tau_s > {ci[0]:.3g} ns (DCP does not decay, {how}){src}"
        else:
            note = f"not determined ({how}){src}"
    if t.note:
        note = f"{note}. {t.note}"
    return Measured(value, ci, m.get("fluence_mJ_cm2"), note, extra)


def _m_gain_bound(t: Target, results, decays, context) -> Measured:
    g = (context or {}).get(t.param("field"))
    if not isinstance(g, Mapping) or g.get("max_ratio") is None:
        note = "no twin configuration: the gain of the model is not known for these data"
        return Measured(None, note=f"{note}. {t.note}" if t.note else note)
    value = float(g["max_ratio"])
    bound = float(g["bound_per_cm"])
    fl = float(g["max_fluence"])
    note = (
        f"gain model {g.get('gain_model', '?')!r}: peak modal gain {value * bound:.3g} /cm "
        f"({g.get('max_polarization', '?')} pump, {fl:g} mJ/cm2) against Gamma alpha0 = "
        f"{bound:.3g} /cm, computed from the twin's configuration over its sweep"
    )
    if t.note:
        note = f"{note}. {t.note}"
    return Measured(value, None, fl, note)


Measure = Callable[[Target, Mapping[str, Any], Any, Mapping[str, Any] | None], Measured]

#: How each ``measure`` name reads a row's value from an analysis.
MEASURES: dict[str, Measure] = {
    "result": _m_result,
    "per_fluence": _m_per_fluence,
    "pooled_below": _m_pooled_below,
    "rise": _m_rise,
    "max_below_threshold": _m_max_below_threshold,
    "slope_curvature": _m_slope_curvature,
    "decay_ratio": _m_decay_ratio,
    "helicity_tau_s": _m_helicity_tau_s,
    "gain_bound": _m_gain_bound,
    "input": _m_input,
}


# ----------------------------------------------------------------------------- rows


def _label(t: Target, m: Measured) -> str:
    if "{fluence" in t.label:
        f = m.fluence if m.fluence is not None else t.param("fluence")
        return t.label.format(fluence=f)
    if m.fluence is not None and t.measure in ("result",):
        return f"{t.label} ({m.fluence:g} mJ/cm2)"
    return t.label


def make_row(t: Target, m: Measured, graded: bool = True) -> dict[str, Any]:
    """One table row (a plain dict that goes straight into summary.json).

    Keys: ``observable, key, paper, paper_text, value, ci95, tolerance, tolerance_range,
    unit, pass, kind, group, figure, fluence_mJ_cm2, note``. ``pass`` is None for
    ungraded rows, inputs and missing values.
    """
    tol = t.tolerance if graded else None
    passed = tol.accepts(m.value) if (tol is not None and t.kind in GRADED_KINDS) else None
    t_range = None
    if tol is not None:
        t_range = [
            tol.low if math.isfinite(tol.low) else None,
            tol.high if math.isfinite(tol.high) else None,
        ]
    note = m.note or t.note
    if m.value is None and t.kind in GRADED_KINDS and not note:
        note = "not available in this analysis"
    kind = t.kind if graded or t.kind == "input" else "reported"
    return {
        "observable": _label(t, m),
        "key": t.key,
        "paper": t.reference if graded else None,
        "paper_text": t.reference_text if graded else "",
        "value": m.value,
        "ci95": list(m.ci95) if m.ci95 is not None else None,
        "tolerance": tol.text if tol is not None else "",
        "tolerance_range": t_range,
        "unit": t.unit,
        "pass": passed,
        "kind": kind,
        "group": t.group,
        "figure": t.figure if graded else "",
        "fluence_mJ_cm2": m.fluence,
        "note": note,
    }


def grade(
    target_set: TargetSet,
    results: Mapping[str, Any],
    decays: Mapping[Any, Mapping[str, Any]] | None = None,
    context: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Rows of `target_set` measured from an analysis, each with its verdict.

    Parameters
    ----------
    target_set
        The targets.
    results
        Analysis results (results.json content; see docs/results.md).
    decays
        Decay fits keyed by detection wavelength [nm] (for ``decay_ratio``).
    context
        Values for ``input`` rows (e.g. ``{"spin_relaxation_ns": 8.0}``).

    Returns
    -------
    list of dict
        One row per target (see `make_row`).
    """
    return [
        make_row(t, MEASURES[t.measure](t, results, decays, context)) for t in target_set.targets
    ]


# ----------------------------------------------------------------------------- generic rows


def _t(key, label, unit, measure, **params) -> Target:
    return Target(key, label, None, "", None, unit, "", measure, tuple(params.items()))


#: The observables `describe_rows` reports for any analysis (no reference, no verdict).
DESCRIBE: tuple[Target, ...] = (
    _t("pl_peak", "PL peak", "nm", "result", field="pl_peak_nm"),
    _t("pl_fwhm", "PL FWHM", "nm", "result", field="pl_fwhm_nm"),
    _t("ase_peak", "ASE peak", "nm", "result", field="ase_peak_nm"),
    _t("ase_fwhm", "ASE FWHM", "nm", "result", field="ase_fwhm_nm"),
    _t("threshold", "ASE threshold (L-L kink)", "mJ/cm2", "result", field="threshold_mJ_cm2"),
    _t(
        "threshold_fwhm",
        "ASE threshold (FWHM narrowing)",
        "mJ/cm2",
        "result",
        field="threshold_fwhm_mJ_cm2",
    ),
    _t("slope", "log-log slope below threshold", "1", "result", field="slope_below_threshold"),
)


def describe_rows(
    results: Mapping[str, Any], decays: Mapping[Any, Mapping[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Rows for any analysis: the headline observables with intervals, no verdicts.

    Every value is labelled with the fluence it was measured at when the analysis
    records it; Delta_ASE and Delta_PL are given at every fluence whose Delta the
    analysis reports, and the decay 1/e times at each detection wavelength.

    Parameters
    ----------
    results
        Analysis results (results.json content).
    decays
        Decay fits keyed by detection wavelength [nm].

    Returns
    -------
    list of dict
        Rows (see `make_row`) with ``kind = "reported"`` and ``pass = None``.
    """
    from ..analysis.decay import one_over_e_time

    rows = [make_row(t, MEASURES[t.measure](t, results, decays, None), False) for t in DESCRIBE]
    windows = results.get("windows") or {}
    for name, field_, lam in (
        ("Δ_ASE", "delta_ase", windows.get("delta_ase_wavelength_nm")),
        ("Δ_PL", "delta_pl", windows.get("delta_pl_wavelength_nm")),
    ):
        at = f" at {float(lam):.4g} nm" if lam is not None else ""
        for entry in results.get("per_fluence") or []:
            if entry.get(field_) is None or entry.get("fluence_mJ_cm2") is None:
                continue
            f = float(entry["fluence_mJ_cm2"])
            t = _t(
                f"{field_}_{f:g}",
                f"{name}{at} ({{fluence:g}} mJ/cm2)",
                "%",
                "per_fluence",
                field=field_,
                fluence=f,
                scale=100.0,
            )
            rows.append(make_row(t, MEASURES["per_fluence"](t, results, decays, None), False))
    for key, fit in sorted((decays or {}).items(), key=lambda kv: str(kv[0])):
        tau = one_over_e_time(fit)
        f = fit.get("fluence_mJ_cm2") if isinstance(fit, Mapping) else None
        t = _t(f"tau_1e_{key}", f"decay 1/e time at {key} nm", "ns", "result")
        rows.append(make_row(t, Measured(tau, None, None if f is None else float(f)), False))
    return rows


def figure_hints(target_set: TargetSet | None) -> dict[str, Any]:
    """Figure options implied by a target set: its Delta_ASE targets give the switching
    panels' fluences and the reference points of the Delta figure.

    Returns
    -------
    dict
        ``switching`` (list of fluences [mJ/cm2] or None) and ``reference_delta``
        (list of ``(fluence [mJ/cm2], Delta_ASE [%])`` or None).
    """
    if target_set is None:
        return {"switching": None, "reference_delta": None}
    pts = [
        (float(t.param("fluence")), float(t.reference))
        for t in target_set.targets
        if t.measure == "per_fluence"
        and t.param("field") == "delta_ase"
        and t.reference is not None
        and t.unit == "%"
    ]
    return {
        "switching": [f for f, _ in pts] or None,
        "reference_delta": pts or None,
    }


# ----------------------------------------------------------------------------- TOML


def _tolerance(spec: Any, reference: float | None, where: str) -> Tolerance | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: tolerance must be a table")
    if "plus_minus" in spec:
        if reference is None:
            raise ValueError(f"{where}: plus_minus needs a reference value")
        tol = plus_minus(float(reference), float(spec["plus_minus"]))
        return Tolerance(tol.low, tol.high, str(spec.get("text", tol.text)))
    low = float(spec.get("low", -math.inf))
    high = float(spec.get("high", math.inf))
    if not low <= high:
        raise ValueError(f"{where}: tolerance needs low <= high")
    return Tolerance(low, high, str(spec.get("text", f"{low:g}–{high:g}")))


_TARGET_KEYS = {
    "key",
    "label",
    "reference",
    "reference_text",
    "tolerance",
    "unit",
    "figure",
    "measure",
    "kind",
    "group",
    "note",
}


def parse_targets(data: Mapping[str, Any], source: str = "") -> TargetSet:
    """A `TargetSet` from the parsed TOML tables (see the module docstring).

    Raises
    ------
    ValueError
        Naming the target and key that is wrong.
    """
    head = data.get("target_set") or {}
    targets = []
    seen = set()
    for i, spec in enumerate(data.get("target") or [], start=1):
        where = f"{source or 'targets'}: target {i} ({spec.get('key', '?')})"
        for need in ("key", "label", "unit", "measure"):
            if need not in spec:
                raise ValueError(f"{where}: missing key {need!r}")
        if spec["measure"] not in MEASURES:
            raise ValueError(
                f"{where}: unknown measure {spec['measure']!r}; allowed: {', '.join(MEASURES)}"
            )
        if spec["key"] in seen:
            raise ValueError(f"{where}: duplicate key")
        seen.add(spec["key"])
        ref = spec.get("reference")
        ref = None if ref is None else float(ref)
        kind = spec.get("kind", "measured")
        if kind not in (*GRADED_KINDS, "input"):
            raise ValueError(f"{where}: kind must be 'measured', 'model', 'recovery' or 'input'")
        params = tuple((k, v) for k, v in spec.items() if k not in _TARGET_KEYS)
        targets.append(
            Target(
                key=str(spec["key"]),
                label=str(spec["label"]),
                reference=ref,
                reference_text=str(spec.get("reference_text", "" if ref is None else f"{ref:g}")),
                tolerance=_tolerance(spec.get("tolerance"), ref, where),
                unit=str(spec["unit"]),
                figure=str(spec.get("figure", "")),
                measure=str(spec["measure"]),
                params=params,
                kind=kind,
                group=str(spec.get("group", "")),
                note=str(spec.get("note", "")),
            )
        )
    if not targets:
        raise ValueError(f"{source or 'targets'}: no [[target]] tables")
    return TargetSet(
        name=str(head.get("name", Path(source).stem if source else "targets")),
        citation=str(head.get("citation", "")),
        targets=tuple(targets),
        description=str(head.get("description", "")),
        source=source,
        captions={str(k): str(v) for k, v in (data.get("captions") or {}).items()},
    )


def read_targets(path: str | Path) -> TargetSet:
    """Read a target-set TOML file.

    Raises
    ------
    InputFileError
        The file cannot be read, is not TOML or a target is malformed.
    """
    p = Path(path)
    data = read_toml(p)
    try:
        return parse_targets(data, str(p))
    except ValueError as exc:
        raise InputFileError(p, str(exc)) from None
