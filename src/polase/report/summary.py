"""Table rows of a report: formatting, verdicts and the lookups they rest on.

Rows are plain dicts (built by `polase.report.targets.make_row`) that go straight into
``summary.json``::

    {observable, key, paper, paper_text, value, ci95, tolerance, tolerance_range, unit,
     pass, kind, group, figure, fluence_mJ_cm2, note}

``kind`` is ``"measured"`` for quantities graded against a target, ``"model"`` for checks
computed from the twin's configuration rather than from the data (graded too),
``"recovery"`` for measured values graded against the twin's own input (graded, not
counted by `pass_fraction`), ``"reported"`` for values shown without a target (``polase report`` without
``--targets``) and ``"input"`` for model parameters that the data cannot measure: the last
two have ``pass = None`` and are not counted by `pass_fraction`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..analysis.decay import one_over_e_time
from .targets import (
    SCORED_KINDS,
    Tolerance,
    delta_pl_pooled,
    per_fluence_entry,
    plus_minus,
    scalar,
)

__all__ = [
    "Tolerance",
    "decays_from_results",
    "delta_pl_pooled",
    "format_ci",
    "format_value",
    "one_over_e_time",
    "pass_fraction",
    "per_fluence_entry",
    "plus_minus",
    "scalar",
    "verdict",
]


def decays_from_results(
    results: Mapping[str, Any], fluence: float | None = None, polarization: str = "linear"
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
        Preferred fluence [mJ/cm2]; None: the ASE reference fluence of the analysis
        (``windows.ase_reference_fluence_mJ_cm2``), else the highest fluence with a fit.
    polarization
        Preferred polarization label.

    Returns
    -------
    dict or None
        ``{"543": fit, "533": fit, ...}``; None without decay fits.
    """
    fits = results.get("decays")
    if not isinstance(fits, Sequence) or not fits:
        return None
    if fluence is None:
        fluence = (results.get("windows") or {}).get("ase_reference_fluence_mJ_cm2")
    if fluence is None:
        fl = [
            float(f["fluence_mJ_cm2"])
            for f in fits
            if isinstance(f, Mapping) and f.get("fluence_mJ_cm2") is not None
        ]
        fluence = max(fl) if fl else math.inf
    fluence = float(fluence)
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


def pass_fraction(rows: Sequence[Mapping[str, Any]]) -> float:
    """Fraction of scored rows (measured and model) that pass; rows without a value fail.

    Recovery rows (graded against the twin's own input) and inputs are not counted."""
    measured = [r for r in rows if r.get("kind", "measured") in SCORED_KINDS]
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
    """'pass', 'FAIL', 'input', 'n/a' or '–' (reported without a target) for a row."""
    if row.get("kind") == "input":
        return "input"
    if row.get("kind") == "reported":
        return "–"
    p = row.get("pass")
    if p is None:
        return "n/a"
    return "pass" if p else "FAIL"


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows of a summary as a GitHub-flavoured Markdown table (``|`` in cells escaped).

    Columns: observable, paper, polase, 95 % interval, tolerance, unit, result; a recovery
    row's result says so ("pass (recovery)").
    """

    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|")

    head = ["observable", "paper", "polase", "95 % interval", "tolerance", "unit", "result"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ci = format_ci(r.get("ci95")) or "–"
        result = verdict(r)
        if r.get("kind") == "recovery" and result in ("pass", "FAIL"):
            result += " (recovery)"
        values = [
            r.get("observable", r.get("key", "")),
            r.get("paper_text", ""),
            format_value(r.get("value")),
            ci,
            r.get("tolerance", ""),
            r.get("unit", ""),
            result,
        ]
        lines.append("| " + " | ".join(cell(v) for v in values) + " |")
    return "\n".join(lines)
