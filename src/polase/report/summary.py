"""The "paper vs polase" summary table: one row per observable of DESIGN.md section 1.

Each row compares a value extracted by the analysis pipeline (with its 95 % interval)
against the value reported in Photonics 2022, 9, 353 and a tolerance (the digital-twin
issue's acceptance tolerances). Rows are plain dicts so that they go straight into
``summary.json``::

    {observable, paper, paper_text, value, ci95, tolerance, tolerance_range, unit,
     pass, kind, note}

``kind`` is ``"measured"`` for quantities extracted from the data and ``"input"`` for
model parameters that the data cannot measure (the spin relaxation time): such rows
have ``pass = None`` and are not counted by `pass_fraction`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Fluences at which the paper reports Delta_ASE, and the values. [mJ/cm2], [%]
PAPER_DELTA_ASE_PERCENT: dict[float, float] = {15.0: 11.0, 16.0: 14.0, 17.0: 17.0}
#: Fluence at which the paper reports the up-conversion PL peak and FWHM. [mJ/cm2]
PL_REFERENCE_FLUENCE: float = 8.2
#: Upper end of the spontaneous (sub-threshold) region used for Delta_PL. [mJ/cm2]
DELTA_PL_MAX_FLUENCE: float = 12.0
#: Largest tau_543 / tau_533 ratio that counts as "ASE ≪ PL". [1]
DECAY_RATIO_MAX: float = 1.0 / 3.0
#: Tolerance on a fluence key when looking up per-fluence results. [mJ/cm2]
_FLUENCE_MATCH_TOL: float = 0.26


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


def _plus_minus(center: float, half: float) -> Tolerance:
    return Tolerance(center - half, center + half, f"± {half:g}")


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
    best, best_d = None, _FLUENCE_MATCH_TOL
    for entry in results.get("per_fluence") or []:
        f = entry.get("fluence_mJ_cm2")
        if f is None:
            continue
        d = abs(float(f) - fluence)
        if d <= best_d:
            best, best_d = entry, d
    return best


def _percent(value: float | None, ci: Sequence[float] | None):
    """Fraction -> percent for a value and its interval."""
    v = None if value is None else 100.0 * value
    c = None if ci is None else [100.0 * ci[0], 100.0 * ci[1]]
    return v, c


def _row(
    observable: str,
    paper: float | None,
    paper_text: str,
    value: float | None,
    ci95: Sequence[float] | None,
    tol: Tolerance | None,
    unit: str,
    kind: str = "measured",
    note: str = "",
) -> dict[str, Any]:
    passed = tol.accepts(value) if (tol is not None and kind == "measured") else None
    if tol is not None:
        t_range = [
            tol.low if math.isfinite(tol.low) else None,
            tol.high if math.isfinite(tol.high) else None,
        ]
    else:
        t_range = None
    if value is None and kind == "measured" and not note:
        note = "not available in this analysis"
    return {
        "observable": observable,
        "paper": paper,
        "paper_text": paper_text,
        "value": value,
        "ci95": list(ci95) if ci95 is not None else None,
        "tolerance": tol.text if tol is not None else "",
        "tolerance_range": t_range,
        "unit": unit,
        "pass": passed,
        "kind": kind,
        "note": note,
    }


def one_over_e_time(components: Mapping[str, Any] | None) -> float | None:
    """1/e time of a fitted multi-exponential decay, from its lifetimes and amplitudes.

    Solves ``sum_i a_i exp(-t / tau_i) = sum_i a_i / e`` for t (the decay after the IRF has
    been deconvolved by the fit), so one number describes a 1-3 component decay.

    Parameters
    ----------
    components
        Mapping with ``tau_ns`` (list of lifetimes [ns]) and ``amplitudes`` (same length,
        any positive scale), as returned by `polase.analysis.fit_decay`.

    Returns
    -------
    float or None
        1/e time. [ns]; None if the fit has no usable lifetimes.
    """
    if not components:
        return None
    taus = components.get("tau_ns")
    amps = components.get("amplitudes")
    if taus is None:
        return None
    taus = [float(t) for t in (taus if isinstance(taus, Sequence) else [taus])]
    if amps is None:
        amps = [1.0] * len(taus)
    amps = [float(a) for a in (amps if isinstance(amps, Sequence) else [amps])]
    pairs = [(a, t) for a, t in zip(amps, taus) if math.isfinite(a) and math.isfinite(t) and t > 0]
    if not pairs:
        return None
    total = sum(a for a, _ in pairs)
    if total <= 0:
        return None
    target = total / math.e

    def f(t: float) -> float:
        return sum(a * math.exp(-t / tau) for a, tau in pairs) - target

    lo, hi = 0.0, max(t for _, t in pairs) * 2.0
    while f(hi) > 0:  # negative amplitudes can stretch the decay; widen the bracket
        hi *= 2.0
        if hi > 1e9:
            return None
    for _ in range(200):  # bisection: f is continuous, f(lo) > 0 > f(hi)
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def decays_from_results(
    results: Mapping[str, Any], fluence: float = 17.0, polarization: str = "linear"
) -> dict[str, dict[str, Any]] | None:
    """Decay fits keyed by detection wavelength from an analysis's ``decays`` list.

    `polase.analysis.analyze` lists one fit per (fluence, polarization, detection
    wavelength); this picks, per wavelength, the fit at the fluence nearest `fluence`
    under `polarization` (any polarization if none matches).

    Parameters
    ----------
    results
        Analysis results with an optional ``decays`` list.
    fluence
        Preferred fluence. [mJ/cm2]
    polarization
        Preferred polarization label.

    Returns
    -------
    dict or None
        ``{"543": fit, "533": fit, ...}``; None without decay fits.
    """
    fits = results.get("decays")
    if isinstance(fits, Mapping):
        return {str(k): dict(v) for k, v in fits.items() if isinstance(v, Mapping)} or None
    if not isinstance(fits, Sequence) or not fits:
        return None
    out: dict[str, dict[str, Any]] = {}
    best: dict[str, tuple] = {}
    for fit in fits:
        if not isinstance(fit, Mapping) or fit.get("detection_wavelength_nm") is None:
            continue
        key = f"{float(fit['detection_wavelength_nm']):g}"
        f = fit.get("fluence_mJ_cm2")
        rank = (
            fit.get("polarization") != polarization,
            abs(float(f) - fluence) if f is not None else math.inf,
        )
        if key not in best or rank < best[key]:
            best[key], out[key] = rank, dict(fit)
    return out or None


def _decay_ratio(decays: Mapping[Any, Mapping[str, Any]] | None):
    """tau_1/e(543 nm) / tau_1/e(533 nm) with an interval from the lifetime intervals."""
    if not decays:
        return None, None, "no decay fits"
    by_wl = {}
    for key, fit in decays.items():
        try:
            by_wl[round(float(key))] = fit
        except (TypeError, ValueError):
            continue
    ase, pl = by_wl.get(543), by_wl.get(533)
    if ase is None or pl is None:
        return None, None, "needs decay fits at 543 and 533 nm"
    t_ase, t_pl = one_over_e_time(ase), one_over_e_time(pl)
    if t_ase is None or t_pl is None or t_pl <= 0:
        return None, None, "decay fit without usable lifetimes"
    ratio = t_ase / t_pl
    ci = None
    # Interval: 1/e times of the lifetimes at their interval bounds (worst-case combination).
    ci_ase, ci_pl = ase.get("tau_ci95_ns"), pl.get("tau_ci95_ns")
    if ci_ase is not None and ci_pl is not None:
        try:
            lo_a = one_over_e_time({**ase, "tau_ns": [c[0] for c in ci_ase]})
            hi_a = one_over_e_time({**ase, "tau_ns": [c[1] for c in ci_ase]})
            lo_p = one_over_e_time({**pl, "tau_ns": [c[0] for c in ci_pl]})
            hi_p = one_over_e_time({**pl, "tau_ns": [c[1] for c in ci_pl]})
            if None not in (lo_a, hi_a, lo_p, hi_p) and lo_p > 0 and hi_p > 0:
                ci = [lo_a / hi_p, hi_a / lo_p]
        except (TypeError, IndexError, ValueError):
            ci = None
    return ratio, ci, f"1/e times {t_ase:.3g} ns (543 nm) and {t_pl:.3g} ns (533 nm)"


def delta_pl_pooled(results: Mapping[str, Any], max_fluence: float = DELTA_PL_MAX_FLUENCE):
    """Pooled Delta_PL over the spontaneous region, weighted by PL intensity.

    Each fluence below `max_fluence` gives one Delta_PL estimate. They are averaged with
    weights proportional to the PL-band intensity (shot-noise-limited variance of a ratio
    scales as 1 / intensity), not with their own interval widths: with a handful of
    repeats a sample variance can come out accidentally small and would then dominate.
    The 95 % interval is a Student-t interval from the weighted scatter of the
    per-fluence values about the mean (n - 1 degrees of freedom).

    Parameters
    ----------
    results
        Analysis results with ``per_fluence`` entries (``delta_pl`` [1],
        ``intensity_pl`` [any]).
    max_fluence
        Upper end (exclusive) of the spontaneous region. [mJ/cm2]

    Returns
    -------
    mean : float or None
        Pooled Delta_PL. [1]
    ci95 : list of float or None
        Its 95 % interval (None with fewer than 2 fluences). [1]
    n : int
        Number of fluences pooled.
    """
    from scipy import stats

    vals, weights = [], []
    for entry in results.get("per_fluence") or []:
        f = entry.get("fluence_mJ_cm2")
        if f is None or float(f) >= max_fluence:
            continue
        v, _ = scalar(entry.get("delta_pl"))
        if v is None:
            continue
        w, _ = scalar(entry.get("intensity_pl"))
        vals.append(v)
        weights.append(w if w is not None and w > 0 else None)
    n = len(vals)
    if n == 0:
        return None, None, 0
    if any(w is None for w in weights):
        weights = [1.0] * n  # no usable intensities: plain mean
    wsum = sum(weights)
    mean = sum(w * v for w, v in zip(weights, vals)) / wsum
    if n < 2:
        return mean, None, n
    # variance of a weighted mean from the observed scatter (sandwich form, n/(n-1) corrected)
    var = n / (n - 1) * sum((w * (v - mean)) ** 2 for w, v in zip(weights, vals)) / wsum**2
    half = float(stats.t.ppf(0.975, n - 1)) * math.sqrt(var)
    return mean, [mean - half, mean + half], n


def _measured_at(entry: Any) -> str:
    """'at F mJ/cm2' when a results entry records the fluence it was measured at."""
    if (
        isinstance(entry, Mapping)
        and entry.get("fluence_mJ_cm2") is not None
        and entry.get("value") is not None
    ):
        return f"measured at {float(entry['fluence_mJ_cm2']):g} mJ/cm2"
    return ""


def summary_rows(
    results: Mapping[str, Any],
    decays: Mapping[Any, Mapping[str, Any]] | None = None,
    spin_relaxation_ns: float | None = None,
) -> list[dict[str, Any]]:
    """Build the "paper vs polase" rows from an analysis.

    Parameters
    ----------
    results
        Output of `polase.analysis.analyze` (the results.json schema in docs/results.md).
    decays
        Decay fits keyed by detection wavelength [nm], each the output of
        `polase.analysis.fit_decay` (``tau_ns``, ``tau_ci95_ns``, ``amplitudes``); None
        if the analysis has no decays.
    spin_relaxation_ns
        Spin relaxation time used by the model, for the input row. [ns]; None for a
        measurement (the row then says it is not measured).

    Returns
    -------
    list of dict
        One row per observable, in the order of DESIGN.md section 1.
    """
    rows = []
    v, ci = scalar(results.get("pl_peak_nm"))
    rows.append(
        _row(
            "PL peak (8.2 mJ/cm2)",
            533.0,
            "533",
            v,
            ci,
            _plus_minus(533.0, 1.0),
            "nm",
            note=_measured_at(results.get("pl_peak_nm")),
        )
    )
    v, ci = scalar(results.get("pl_fwhm_nm"))
    rows.append(
        _row(
            "PL FWHM (8.2 mJ/cm2)",
            23.0,
            "23",
            v,
            ci,
            _plus_minus(23.0, 1.5),
            "nm",
            note=_measured_at(results.get("pl_fwhm_nm")),
        )
    )
    v, ci = scalar(results.get("ase_peak_nm"))
    note = _measured_at(results.get("ase_peak_nm"))
    rows.append(_row("ASE peak", 543.0, "543", v, ci, _plus_minus(543.0, 1.0), "nm", note=note))
    v, ci = scalar(results.get("threshold_mJ_cm2"))
    method = (
        (results.get("threshold_mJ_cm2") or {}).get("method", "")
        if isinstance(results.get("threshold_mJ_cm2"), Mapping)
        else ""
    )
    rows.append(
        _row(
            "ASE threshold (L-L kink)",
            14.3,
            "14.3",
            v,
            ci,
            _plus_minus(14.3, 0.5),
            "mJ/cm2",
            note=method,
        )
    )
    v, ci = scalar(results.get("threshold_fwhm_mJ_cm2"))
    rows.append(
        _row(
            "ASE threshold (FWHM narrowing)",
            14.3,
            "14.3 (text: 14.7)",
            v,
            ci,
            Tolerance(13.8, 15.2, "14.3–14.7 ± 0.5"),
            "mJ/cm2",
        )
    )
    v, ci = scalar(results.get("ase_fwhm_nm"))
    rows.append(
        _row(
            "FWHM above threshold",
            14.0,
            "~14",
            v,
            ci,
            Tolerance(10.0, 16.0, "10–16"),
            "nm",
            note=_measured_at(results.get("ase_fwhm_nm")),
        )
    )
    v, ci = scalar(results.get("slope_below_threshold"))
    rows.append(
        _row("log-log slope of PL below threshold", 1.7, "1.7", v, ci, _plus_minus(1.7, 0.1), "1")
    )
    ratio, ci, note = _decay_ratio(decays)
    rows.append(
        _row(
            "decay ratio τ543 / τ533",
            None,
            "ASE ≪ PL",
            ratio,
            ci,
            Tolerance(0.0, DECAY_RATIO_MAX, "< 1/3"),
            "1",
            note=note,
        )
    )
    for fluence, paper in PAPER_DELTA_ASE_PERCENT.items():
        entry = per_fluence_entry(results, fluence)
        v = ci = None
        if entry is not None:
            v, ci = scalar({"value": entry.get("delta_ase"), "ci95": entry.get("delta_ase_ci95")})
            v, ci = _percent(v, ci)
        rows.append(
            _row(
                f"Δ_ASE at {fluence:g} mJ/cm2",
                paper,
                f"+{paper:g}",
                v,
                ci,
                _plus_minus(paper, 2.0),
                "%",
            )
        )
    v, ci, n = delta_pl_pooled(results)
    v, ci = _percent(v, ci)
    rows.append(
        _row(
            "Δ_PL (below 12 mJ/cm2)",
            0.0,
            "~0",
            v,
            ci,
            Tolerance(-1.0, 1.0, "|Δ_PL| < 1"),
            "%",
            note=f"PL-intensity-weighted mean over {n} fluences below {DELTA_PL_MAX_FLUENCE:g} mJ/cm2"
            if n
            else "",
        )
    )
    rows.append(
        _row(
            "spin relaxation τ_s",
            8.0,
            "~8",
            spin_relaxation_ns,
            None,
            None,
            "ns",
            kind="input",
            note=(
                "model input, not measured: the value used by the simulation"
                if spin_relaxation_ns is not None
                else "not measurable from these data (a model parameter; see polase mechanisms)"
            ),
        )
    )
    return rows


def pass_fraction(rows: Sequence[Mapping[str, Any]]) -> float:
    """Fraction of measured rows that pass (rows without a value count as failures)."""
    measured = [r for r in rows if r.get("kind", "measured") == "measured"]
    if not measured:
        return float("nan")
    return sum(1 for r in measured if r.get("pass") is True) / len(measured)


def format_value(value: float | None, unit: str = "") -> str:
    """Format a number with a sensible number of digits for the table."""
    if value is None:
        return "–"
    a = abs(value)
    if a == 0:
        return "0"
    if a >= 100:
        s = f"{value:.1f}"
    elif a >= 10:
        s = f"{value:.2f}"
    elif a >= 0.01:
        s = f"{value:.3f}"
    else:
        s = f"{value:.2g}"
    return s


def format_ci(ci: Sequence[float] | None) -> str:
    """Format a 95 % interval as ``[lo, hi]``."""
    if ci is None:
        return ""
    return f"[{format_value(ci[0])}, {format_value(ci[1])}]"


def verdict(row: Mapping[str, Any]) -> str:
    """'pass', 'FAIL', 'input' or 'n/a' for a row."""
    if row.get("kind") == "input":
        return "input"
    p = row.get("pass")
    if p is None:
        return "n/a"
    return "pass" if p else "FAIL"
