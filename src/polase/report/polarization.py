"""Figures of polarization-resolved decays: both channels with the joint fit, residuals,
and the polarization ratio r(t) or DCP(t) of the data with that of the fit.

Each function takes a `polase.analysis.polarization.PolarizationFit` and returns a
`matplotlib.figure.Figure` built without pyplot (see `polase.report.figures`).
`fit_to_dict` / `fit_from_dict` carry a fit through JSON (summary.json's
``polarization``), so ``polase report`` redraws the figures from a results folder.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .figures import figure_style

__all__ = ["fig_polarization_fit", "fig_polarization_ratio", "fit_from_dict", "fit_to_dict"]

_CURVES = ("time_ns", "weight")


def _short(a) -> list[float]:
    return [float(f"{x:.7g}") for x in np.asarray(a, dtype=float)]


def fit_to_dict(fit) -> dict:
    """A `PolarizationFit` as JSON-ready data (summary, channels, model curves, weights).

    Returns
    -------
    dict
        ``kind``, ``ratio_name``, ``g_factor``, ``summary`` (as
        `polase._json.to_jsonable` gives it), ``time_ns`` [ns], ``weight``
        [1], ``data`` and ``model`` (channel -> counts) [counts], ``files`` when the fit
        was read from files.
    """
    from .._json import to_jsonable

    out = {
        "kind": fit.kind,
        "ratio_name": fit.ratio_name,
        "g_factor": float(fit.g_factor),
        "summary": to_jsonable(fit.summary),
        "time_ns": _short(fit.time_ns),
        "weight": _short(fit.weight),
        "data": {k: _short(v) for k, v in fit.data.items()},
        "model": {k: _short(v) for k, v in fit.model.items()},
    }
    if "files" in fit.extra:
        out["files"] = dict(fit.extra["files"])
    return out


def fit_from_dict(data) -> object:
    """The `PolarizationFit` that `fit_to_dict` wrote (for the figures).

    Raises
    ------
    DataValidationError
        A key is missing or the curves have different lengths.
    """
    from ..analysis.polarization import PolarizationFit
    from ..errors import DataValidationError

    try:
        t = np.asarray(data["time_ns"], dtype=float)
        fit = PolarizationFit(
            kind=str(data["kind"]),
            summary=dict(data["summary"]),
            time_ns=t,
            data={k: np.asarray(v, dtype=float) for k, v in data["data"].items()},
            model={k: np.asarray(v, dtype=float) for k, v in data["model"].items()},
            weight=np.asarray(data["weight"], dtype=float),
            ratio_name=str(data["ratio_name"]),
            g_factor=float(data.get("g_factor", 1.0)),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataValidationError(f"polarization fit: missing or malformed entry ({exc})") from None
    sizes = {a.size for a in (fit.weight, *fit.data.values(), *fit.model.values())}
    if len(fit.data) != 2 or sizes != {t.size}:
        raise DataValidationError(
            "polarization fit: needs two channels whose data, model and weight match time_ns"
        )
    for key in ("backgrounds", "reduced_chi2"):
        if key not in fit.summary:
            raise DataValidationError(f"polarization fit: summary lacks {key!r}")
    return fit


_COLORS = ("#1f5fa8", "#d1495b")
_LABELS = {
    "sigma_plus": "σ+",
    "sigma_minus": "σ−",
    "VV": "VV",
    "VH": "VH",
}


def _title(fit) -> str:
    s = fit.summary
    if fit.kind == "helicity":
        lo, hi = s["tau_s_ci95_ns"]
        if s["resolved"]:
            return f"τs = {s['tau_s_ns']:.3g} ns [{lo:.3g}, {hi:.3g}]"
        if s["bound"] == "upper":
            return f"τs < {hi:.3g} ns (not resolved)"
        if s["bound"] == "lower":
            return f"τs > {lo:.3g} ns (DCP does not decay)"
        return "τs not determined"
    taus = ", ".join(f"{v:.3g}" for v in s["tau_r_ns"])
    return f"r0 = {s['r0']:.3f}, τr = {taus} ns, G = {s['g_factor']:.3g}"


def fig_polarization_fit(fit, log: bool = True) -> Figure:
    """Both channels (points) with the joint fit (lines) and the weighted residuals.

    Parameters
    ----------
    fit : PolarizationFit
        Result of `fit_helicity_pair` or `fit_anisotropy`.
    log : bool
        Logarithmic count axis.

    Returns
    -------
    matplotlib.figure.Figure
        Top: counts [counts] versus time [ns]; bottom: (data - fit) / sqrt(fit) [1].
    """
    with figure_style():
        fig = Figure(figsize=(4.2, 4.0), layout="constrained")
        ax, axr = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])
        t = fit.time_ns
        w = fit.weight > 0
        for color, name in zip(_COLORS, fit.data):
            y, f = fit.data[name], fit.model[name]
            ax.plot(t, y, ".", ms=1.5, color=color, alpha=0.45, label=_LABELS.get(name, name))
            ax.plot(t[w], f[w], "-", lw=1.0, color=color)
            res = np.where(w, (y - f) / np.sqrt(np.maximum(f, 1e-12)), np.nan)
            axr.plot(t, res, "-", lw=0.5, color=color)
        if log:
            ax.set_yscale("log")
            floor = min(float(np.min(fit.model[n][w])) for n in fit.model)
            ax.set_ylim(bottom=max(0.5 * floor, 0.5))
        ax.set_ylabel("counts")
        ax.legend(title="joint fit: lines")
        ax.set_title(_title(fit) + f", χ²r = {fit.summary['reduced_chi2']:.2f}")
        axr.axhline(0.0, color="0.3", lw=0.6)
        axr.set_ylabel("residual / σ")
        axr.set_xlabel("time (ns)")
    return fig


def fig_polarization_ratio(fit, min_counts: float = 20.0) -> Figure:
    """The polarization ratio of the data (division) and of the joint fit.

    For helicity DCP(t) = (σ+ - σ-) / (σ+ + σ-); for anisotropy
    r(t) = (VV - G VH) / (VV + 2 G VH); backgrounds subtracted. Near the IRF the ratio of
    the fitted channels differs from the model's DCP0 exp(-t/tau_s) or r(t): it is what a
    division of the data should show.

    Parameters
    ----------
    fit : PolarizationFit
        Result of `fit_helicity_pair` or `fit_anisotropy`.
    min_counts
        Channels whose summed counts fall below this are not drawn. [counts]

    Returns
    -------
    matplotlib.figure.Figure
        Ratio [1] versus time [ns].
    """
    data, model = fit.ratio()
    total = sum(fit.data[n] for n in fit.data)
    keep = (total >= min_counts) & (fit.weight > 0)
    with figure_style():
        fig = Figure(figsize=(4.2, 2.8), layout="constrained")
        ax = fig.subplots()
        t = fit.time_ns
        ax.plot(t[keep], data[keep], ".", ms=1.5, color="0.45", label="data (division)")
        ax.plot(t[keep], model[keep], "-", color=_COLORS[1], label="joint fit")
        ax.set_xlabel("time (ns)")
        ax.set_ylabel("DCP" if fit.ratio_name == "DCP" else "anisotropy r")
        lim = 1.0 if fit.ratio_name == "DCP" else 0.6
        ax.set_ylim(-0.2 * lim, lim)
        ax.legend()
        ax.set_title(_title(fit))
    return fig
