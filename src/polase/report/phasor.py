"""The phasor plot: calibrated phasors on the universal semicircle.

`phasor_figure` draws an `analyze_phasors` result; `decay_phasors` computes one from the
decays of a report (histograms with their IRF and the laser period).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .._files import atomic_path

#: Keys under which a decay entry may give the laser repetition period. [ns]
PERIOD_KEYS = ("repetition_period_ns", "period_ns")


def report_harmonic(period_ns: float, tau_ns: float, channel_width_ns: float) -> int:
    """The laser harmonic at which a decay of lifetime `tau_ns` is best resolved.

    ``w tau = 1`` (the phasor at the top of the semicircle), ``w = 2 pi n / period``:
    ``n = round(period / (2 pi tau))``, at least 1 and at most the Nyquist harmonic of the
    channels, ``period / (2 channel_width)``. With a window shorter than the period the
    signal is zero outside the window, so every harmonic is a valid Fourier coefficient
    of the periodic signal.

    Parameters
    ----------
    period_ns, tau_ns, channel_width_ns
        Laser period, lifetime scale (e.g. the longest 1/e time) and channel width. [ns]
    """
    n = round(float(period_ns) / (2 * np.pi * float(tau_ns)))
    n_max = max(1, int(float(period_ns) / (2 * float(channel_width_ns))))
    return int(min(max(n, 1), n_max))


def _wavelength_order(key) -> tuple:
    """Longest detection wavelength first; keys that are not numbers after, by name."""
    try:
        return (0, -float(key), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(key))


def _wavelength_label(key) -> str:
    try:
        return f"{float(key):g} nm"
    except (TypeError, ValueError):
        return str(key)


def decay_phasors(decays) -> tuple[dict[str, Any], list[str], list[dict[str, Any] | None]]:
    """Calibrated phasors of a report's decays (histogram, IRF and laser period each).

    Each decay is calibrated with its own IRF (`polase.analysis.phasor.analyze_phasors`,
    background from the channels before the rise) at one harmonic, `report_harmonic` of
    the longest 1/e time among the decays (else a tenth of the window).

    Parameters
    ----------
    decays : mapping
        Keyed by detection wavelength [nm]: ``time_ns``, ``counts``, ``irf`` and the
        laser period (``repetition_period_ns``) [ns]; ``tau_ns`` and ``amplitudes`` of a fit
        mark its components on the semicircle.

    Returns
    -------
    result, labels, fits
        For `phasor_figure`.

    Raises
    ------
    MissingDataError
        No decay with histogram, IRF and a known repetition period, or no phasorpy.
    """
    from ..analysis.phasor import analyze_phasors
    from .figures import MissingDataError

    usable = []
    for key, d in (decays or {}).items():
        period = next((d.get(k) for k in PERIOD_KEYS if d.get(k) is not None), None)
        if d.get("time_ns") is None or d.get("counts") is None or d.get("irf") is None:
            continue
        if period is None or not np.isfinite(float(period)) or float(period) <= 0:
            continue
        usable.append((key, d, float(period)))
    if not usable:
        raise MissingDataError(
            "needs decay histograms with their IRF and a known laser repetition period"
        )
    period = usable[0][2]
    usable = [u for u in usable if np.isclose(u[2], period, rtol=1e-9)]
    t0 = np.asarray(usable[0][1]["time_ns"], float)
    dt = float(np.mean(np.diff(t0)))
    t1e = [float(d["tau_1e_ns"]) for _, d, _ in usable if d.get("tau_1e_ns")]
    tau = max(t1e) if t1e else 0.1 * dt * t0.size
    h = report_harmonic(period, tau, dt)
    per_decay = ("g", "s", "tau_phase_ns", "tau_modulation_ns", "tail_fraction")
    rows: dict[str, list] = {k: [] for k in per_decay}
    labels, fits = [], []
    try:
        for key, d, _ in sorted(usable, key=lambda u: _wavelength_order(u[0])):
            r = analyze_phasors(
                np.asarray(d["time_ns"], float),
                np.asarray(d["counts"], float),
                period,
                irf=np.asarray(d["irf"], float),
                harmonics=[h],
            )
            for k in per_decay:
                rows[k].append(r[k][0])
            labels.append(_wavelength_label(key))
            ok = d.get("tau_ns") is not None and d.get("amplitudes") is not None
            fits.append({"tau_ns": d["tau_ns"], "amplitudes": d["amplitudes"]} if ok else None)
    except ImportError as exc:
        raise MissingDataError(f"the phasor plot needs phasorpy ({exc})") from None
    # what all decays share (one period, harmonic and calibration), and the rows of each
    shared = ("period_ns", "harmonics", "frequency_mhz", "calibration", "reference_lifetime_ns")
    result = {**{k: r[k] for k in shared if k in r}, **rows}
    return result, labels, fits


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
        From `polase.analysis.phasor.analyze_phasors` (``g``, ``s``, ``harmonics``,
        ``period_ns``).
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
