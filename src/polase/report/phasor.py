"""The phasor plot: calibrated phasors on the universal semicircle.

`phasor_figure` draws given phasors: an `analyze_phasors` result, or the ``phasors`` of a
report (`polase.analysis.phasor.decay_phasors`, computed by the report's caller and stored
in summary.json). The report draws them; it computes none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._files import atomic_path


def phasor_figure(
    result: dict[str, Any],
    labels: Sequence[str] | None = None,
    *,
    harmonic_index: int = 0,
    fits: Sequence[dict[str, Any] | None] | None = None,
) -> Figure:
    """Phasor plot of an `analyze_phasors` result at one harmonic.

    Parameters
    ----------
    result : dict
        From `polase.analysis.phasor.analyze_phasors` or
        `polase.analysis.phasor.decay_phasors` (``g``, ``s`` [1], ``harmonics``,
        ``period_ns`` [ns]).
    labels : sequence of str, optional
        One legend label per decay.
    harmonic_index : int
        Which of ``result["harmonics"]`` to draw.
    fits : sequence of dict or None, optional
        Decay fits (``tau_ns``, ``amplitudes``) per decay: the component phasors are marked
        on the semicircle, joined by their chord.

    Returns
    -------
    matplotlib.figure.Figure
        Semicircle of single exponentials with lifetime ticks [ns], one marker per decay.
    """
    h = int(result["harmonics"][harmonic_index])
    period = float(result["period_ns"])
    w = 2 * np.pi * h / period  # [rad/ns]
    g = np.asarray(result["g"], float)[:, harmonic_index]
    s = np.asarray(result["s"], float)[:, harmonic_index]
    fig = Figure(figsize=(5.2, 3.4), layout="constrained")
    ax = fig.add_subplot()
    phi = np.linspace(0, np.pi, 400)
    ax.plot(0.5 + 0.5 * np.cos(phi), 0.5 * np.sin(phi), color="0.4", lw=1)
    for tau in (0.1, 0.3, 1, 3, 10, 30, 100):
        wt = w * tau
        gt, st = 1 / (1 + wt**2), wt / (1 + wt**2)
        if 0.02 < gt < 0.98:
            ax.plot(gt, st, "|", color="0.4", ms=6)
            ax.annotate(f"{tau:g} ns", (gt, st), textcoords="offset points", xytext=(0, 5),
                        ha="center", fontsize=7, color="0.3")  # fmt: skip
    for i in range(g.size):
        label = labels[i] if labels is not None and i < len(labels) else f"decay {i + 1}"
        (line,) = ax.plot(g[i], s[i], "o", ms=5, label=label)
        fit = fits[i] if fits is not None and i < len(fits) else None
        if fit:
            tau = np.asarray(fit["tau_ns"], float)
            gt, st = 1 / (1 + (w * tau) ** 2), w * tau / (1 + (w * tau) ** 2)
            ax.plot(gt, st, "s--", color=line.get_color(), ms=4, lw=0.8, mfc="none")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(0, 0.62)
    ax.set_aspect("equal")
    ax.set_xlabel("g")
    ax.set_ylabel("s")
    ax.set_title(
        f"phasors at {1e3 * h / period:g} MHz (harmonic {h}), calibration: "
        f"{result.get('calibration', 'none')}",
        fontsize=9,
    )
    if g.size <= 12:
        ax.legend(fontsize=7, loc="upper right")
    return fig


def write_phasor_plot(path: str | Path, fig: Figure, overwrite: bool = False) -> Path:
    """Write `fig` as PNG atomically (refuses to replace `path` unless `overwrite`)."""
    with atomic_path(path, overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return Path(path)
