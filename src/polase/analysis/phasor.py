"""Phasor analysis of TCSPC decays at the laser harmonics, on PhasorPy.

The phasor of a histogram ``I_k`` at channel centres ``t_k`` and harmonic ``n`` of the
laser frequency ``f = 1 / T`` is ``g + i s = sum_k I_k exp(i 2 pi n t_k / T) / sum_k I_k``
(PhasorPy's `phasor_from_signal` with the sample phases ``2 pi n t_k / T``, so a histogram
that covers less than one period is still transformed at the laser frequency, not at
``1 / span``). A constant background can be subtracted first.

A measured phasor is the product of the decay's and the instrument's (IRF, delays).
Calibration divides the instrument out: with the IRF (a reference of lifetime 0) or with a
dye of known single lifetime ``tau_ref`` whose phasor must be ``1 / (1 + i w tau_ref)``
(PhasorPy's `polar_from_reference_phasor` and `phasor_transform`; ``w = 2 pi n f``).

For a calibrated phasor:

* phase lifetime ``tau_phi = s / (w g)``, modulation lifetime
  ``tau_M = sqrt(1 / (g^2 + s^2) - 1) / w`` (PhasorPy's `phasor_to_apparent_lifetime`);
  both equal tau for a single exponential, and ``tau_phi < tau_M`` for a mixture;
* a mixture of exponentials is the intensity-weighted mean of its components' phasors on
  the universal semicircle, so a two-component decay lies on the chord between
  ``1 / (1 + i w tau_1)`` and ``1 / (1 + i w tau_2)``; `fit_consistency` measures the
  distance of the measured phasor from the chord of fitted lifetimes and compares the
  intensity fraction on the chord (PhasorPy's `phasor_component_fraction`) with the fitted
  one.

Periodic excitation: with the histogram spanning the full period (PTU T3), earlier pulses'
tails are part of the periodic signal and the single-exponential phasor is exact. A histogram
shorter than the period in which the decay has not died out gives biased phasors (the tail
beyond the window is missing); `decay_phasor` reports the counts fraction in the last 5 %
of the window so callers can see it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DataValidationError


def _phasorpy():
    try:
        import phasorpy.component
        import phasorpy.lifetime
        import phasorpy.phasor
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError("phasor analysis needs phasorpy: pip install 'polase[lifetime]'") from exc
    return phasorpy


def _harmonics(harmonic) -> list[int]:
    hs = [int(harmonic)] if np.ndim(harmonic) == 0 else [int(h) for h in harmonic]
    if not hs or any(h < 1 for h in hs):
        raise DataValidationError(f"harmonics must be integers >= 1, got {harmonic!r}")
    return hs


def frequency_mhz(period_ns: float, harmonic: int = 1) -> float:
    """Frequency of harmonic `harmonic` of a laser of period `period_ns`. [MHz]"""
    if not (math.isfinite(period_ns) and period_ns > 0):
        raise DataValidationError(f"period_ns must be finite and > 0 [ns], got {period_ns!r}")
    return 1e3 * int(harmonic) / float(period_ns)


def decay_phasor(
    time_ns,
    counts,
    period_ns: float,
    harmonic: int | Sequence[int] = 1,
    *,
    background: float | np.ndarray | None = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uncalibrated phasor coordinates of histograms at harmonics of the laser frequency.

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centre times, uniform. [ns]
    counts : array_like, shape (..., M)
        Histograms. [counts]
    period_ns : float
        Laser repetition period (the file's sync period). [ns]
    harmonic : int or sequence of int
        Harmonics of ``1 / period_ns``.
    background : float, array (...,) or None
        Constant background subtracted from each histogram before the transform
        [counts/channel]; None estimates it as the median of the channels before the rise
        (the first 2 % of the window, at least 5 channels).

    Returns
    -------
    mean, g, s : ndarray
        Mean counts per channel after background subtraction, shape (...); g and s of
        shape (..., H) for H harmonics (the harmonic axis dropped for an int `harmonic`).
    """
    pp = _phasorpy()
    t = np.asarray(time_ns, dtype=float)
    c = np.asarray(counts, dtype=float)
    if t.ndim != 1 or c.shape[-1] != t.size or t.size < 3:
        raise DataValidationError(
            f"time_ns (M,) and counts (..., M) must share M >= 3 channels; got {t.shape}, {c.shape}"
        )
    if not np.all(np.isfinite(c)):
        raise DataValidationError("counts must be finite for a phasor")
    if background is None:
        edge = max(5, int(0.02 * t.size))
        bg = np.median(c[..., :edge], axis=-1)
    else:
        bg = np.asarray(background, dtype=float)
    y = c - np.asarray(bg)[..., None]
    hs = _harmonics(harmonic)
    g_all, s_all = [], []
    mean = None
    for h in hs:
        phase = 2 * np.pi * h * t / float(period_ns)
        mean, g, s = pp.phasor.phasor_from_signal(y, axis=-1, sample_phase=phase)
        g_all.append(np.asarray(g, float))
        s_all.append(np.asarray(s, float))
    g = np.stack(g_all, axis=-1)
    s = np.stack(s_all, axis=-1)
    if np.ndim(harmonic) == 0:
        g, s = g[..., 0], s[..., 0]
    return np.asarray(mean, float), g, s


def calibrate_phasor(
    g,
    s,
    reference_g,
    reference_s,
    period_ns: float,
    harmonic: int | Sequence[int] = 1,
    reference_lifetime_ns: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrate phasors with a reference of known single lifetime (0 for the IRF).

    Parameters
    ----------
    g, s : array_like, shape (..., H) or (...)
        Uncalibrated phasor coordinates (`decay_phasor`).
    reference_g, reference_s : array_like, shape (H,) or scalar
        Uncalibrated phasor of the reference, measured with the same settings.
    period_ns : float
        Laser repetition period. [ns]
    harmonic : int or sequence of int
        Harmonics of the last axis of `g` (an int: no harmonic axis).
    reference_lifetime_ns : float
        Lifetime of the reference: 0 for the IRF (scatter), else the dye's. [ns]

    Returns
    -------
    g, s : ndarray
        Calibrated phasor coordinates, same shape as the input.
    """
    pp = _phasorpy()
    hs = _harmonics(harmonic)
    freq = np.array([frequency_mhz(period_ns, h) for h in hs])
    known_g, known_s = pp.lifetime.phasor_from_lifetime(freq, float(reference_lifetime_ns))
    phase0, mod0 = pp.lifetime.polar_from_reference_phasor(
        np.reshape(reference_g, -1), np.reshape(reference_s, -1), known_g, known_s
    )
    if np.ndim(harmonic) == 0:
        phase0, mod0 = float(phase0[0]), float(mod0[0])
    gc, sc = pp.phasor.phasor_transform(np.asarray(g), np.asarray(s), phase0, mod0)
    return np.asarray(gc, float), np.asarray(sc, float)


def phasor_lifetimes(
    g, s, period_ns: float, harmonic: int | Sequence[int] = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Phase and modulation lifetimes of calibrated phasors. [ns]

    Returns
    -------
    tau_phase_ns, tau_modulation_ns : ndarray
        ``s / (w g)`` and ``sqrt(1/(g^2+s^2) - 1) / w``, ``w = 2 pi n / period``. [ns]
    """
    pp = _phasorpy()
    hs = _harmonics(harmonic)
    freq = np.array([frequency_mhz(period_ns, h) for h in hs])
    if np.ndim(harmonic) == 0:
        freq = freq[0]
    tp, tm = pp.lifetime.phasor_to_apparent_lifetime(np.asarray(g), np.asarray(s), freq)
    return np.asarray(tp, float), np.asarray(tm, float)


def phasor_from_components(
    tau_ns, amplitudes, period_ns: float, harmonic: int = 1
) -> tuple[float, float]:
    """Phasor of a sum of exponentials with onset amplitudes ``a_i`` (a decay fit's).

    The intensity fractions are ``a_i tau_i / sum a_j tau_j`` (PhasorPy's
    `phasor_from_lifetime` with ``preexponential=True``).
    """
    pp = _phasorpy()
    g, s = pp.lifetime.phasor_from_lifetime(
        frequency_mhz(period_ns, harmonic),
        np.asarray(tau_ns, float),
        np.asarray(amplitudes, float),
        preexponential=True,
    )
    return float(g), float(s)


def fit_consistency(
    g: float, s: float, fit: dict[str, Any], period_ns: float, harmonic: int = 1
) -> dict[str, Any]:
    """Check a calibrated phasor against a multi-exponential fit of the same decay.

    Parameters
    ----------
    g, s : float
        Calibrated phasor of the decay at `harmonic`.
    fit : dict
        A `fit_decay` result (``tau_ns``, ``amplitudes``).
    period_ns : float
        Laser period. [ns]
    harmonic : int
        Harmonic of `g`, `s`.

    Returns
    -------
    dict
        ``expected_g``, ``expected_s`` (the fit's phasor); ``distance`` (|measured -
        expected|, in phasor units); for two components also ``chord_distance`` (signed
        distance of the measured phasor from the chord between the component phasors, >0
        towards the origin) [1], ``fraction_on_chord`` (intensity fraction of the shorter
        component from the projection on the chord, PhasorPy's `phasor_component_fraction`)
        and ``fraction_fit`` (the same fraction from the fit's amplitudes).
    """
    pp = _phasorpy()
    tau = np.asarray(fit["tau_ns"], float)
    amp = np.asarray(fit["amplitudes"], float)
    eg, es = phasor_from_components(tau, amp, period_ns, harmonic)
    out: dict[str, Any] = {
        "harmonic": int(harmonic),
        "expected_g": eg,
        "expected_s": es,
        "distance": float(math.hypot(g - eg, s - es)),
    }
    if tau.size == 2:
        cg, cs = pp.lifetime.phasor_from_lifetime(frequency_mhz(period_ns, harmonic), tau)
        cg, cs = np.asarray(cg, float).ravel(), np.asarray(cs, float).ravel()
        frac = pp.component.phasor_component_fraction(g, s, cg, cs)
        dx, dy = cg[1] - cg[0], cs[1] - cs[0]
        # normal pointing towards the origin side of the chord
        nx, ny = -dy, dx
        if nx * (0 - cg[0]) + ny * (0 - cs[0]) < 0:
            nx, ny = -nx, -ny
        norm = math.hypot(nx, ny)
        inten = amp * tau / np.sum(amp * tau)
        out.update(
            {
                "chord_distance": float(((g - cg[0]) * nx + (s - cs[0]) * ny) / norm),
                "fraction_on_chord": float(frac),
                "fraction_fit": float(inten[0]),
            }
        )
    return out


def analyze_phasors(
    time_ns,
    counts,
    period_ns: float,
    *,
    irf=None,
    reference=None,
    reference_lifetime_ns: float | None = None,
    harmonics: Sequence[int] = (1, 2),
    background: float | None = None,
) -> dict[str, Any]:
    """Calibrated phasors, phase and modulation lifetimes of many decays.

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centres. [ns]
    counts : array_like, shape (N, M) or (M,)
        Decays. [counts]
    period_ns : float
        Laser repetition period (from the file). [ns]
    irf : array_like, shape (M,), optional
        Instrument response: calibrates with lifetime 0.
    reference, reference_lifetime_ns : optional
        Histogram (M,) of a reference dye and its lifetime [ns]; used when no `irf`.
    harmonics : sequence of int
        Harmonics of the laser frequency.
    background : float, optional
        Constant background [counts/channel]; default estimated per histogram from the
        channels before the rise (also for the IRF / reference).

    Returns
    -------
    dict
        ``period_ns``, ``harmonics``, ``frequency_mhz`` (per harmonic), ``calibration``
        (``"irf"``, ``"reference"`` or ``"none"``), ``reference_lifetime_ns`` and per decay
        (lists of length N, each per harmonic): ``g``, ``s``, ``tau_phase_ns``,
        ``tau_modulation_ns``; ``tail_fraction`` (counts share of the last 5 % of the
        window; large values warn of a decay cut off by a window shorter than the period).
    """
    c = np.atleast_2d(np.asarray(counts, float))
    hs = _harmonics(list(harmonics))
    _, g, s = decay_phasor(time_ns, c, period_ns, hs, background=background)
    ref = irf if irf is not None else reference
    if ref is not None:
        tau_ref = 0.0 if irf is not None else reference_lifetime_ns
        if tau_ref is None:
            raise DataValidationError("a reference histogram needs reference_lifetime_ns")
        _, rg, rs = decay_phasor(time_ns, np.asarray(ref, float), period_ns, hs, background=None)
        g, s = calibrate_phasor(g, s, rg, rs, period_ns, hs, tau_ref)
        cal = "irf" if irf is not None else "reference"
    else:
        tau_ref, cal = None, "none"
    tp, tm = phasor_lifetimes(g, s, period_ns, hs)
    m = c.shape[-1]
    tail = c[:, -max(1, m // 20) :].sum(axis=1) / np.maximum(c.sum(axis=1), 1e-300)
    return {
        "period_ns": float(period_ns),
        "harmonics": hs,
        "frequency_mhz": [frequency_mhz(period_ns, h) for h in hs],
        "calibration": cal,
        "reference_lifetime_ns": tau_ref,
        "g": g.tolist(),
        "s": s.tolist(),
        "tau_phase_ns": tp.tolist(),
        "tau_modulation_ns": tm.tolist(),
        "tail_fraction": tail.tolist(),
    }


# ----------------------------------------------------------------- the decays of a results set

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
    period_ns : float
        Laser repetition period. [ns]
    tau_ns : float
        Lifetime scale, e.g. the longest 1/e time of the decays. [ns]
    channel_width_ns : float
        TCSPC channel width. [ns]

    Returns
    -------
    int
        The harmonic n (>= 1) of ``1 / period_ns``.
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


def decay_phasors(decays) -> dict[str, Any]:
    """Calibrated phasors of a set of decays, each with its own histogram, IRF and period.

    Each decay is calibrated with its own IRF (`analyze_phasors`, background from the
    channels before the rise) at one harmonic for all: `report_harmonic` of the longest 1/e
    time among the decays (``tau_1e_ns``; without any, a tenth of the window). Decays whose
    period differs from the first usable one are left out. This is what the report's
    ``phasor`` figure draws (`polase.report.phasor.phasor_figure`); the callers of the
    report compute it and store it in summary.json (``phasors``).

    Parameters
    ----------
    decays : mapping
        Keyed by detection wavelength [nm]: ``time_ns`` (channel centres) [ns], ``counts``
        and ``irf`` [counts], the laser period ``repetition_period_ns`` (or ``period_ns``)
        [ns]; optional ``tau_1e_ns`` [ns], and ``tau_ns`` [ns] with ``amplitudes`` of a
        decay fit, whose components the figure marks on the semicircle.

    Returns
    -------
    dict
        JSON-ready: the keys of `analyze_phasors` that all decays share (``period_ns``
        [ns], ``harmonics`` (one), ``frequency_mhz`` [MHz], ``calibration``,
        ``reference_lifetime_ns`` [ns]) and, one entry per decay, longest wavelength first:
        ``g``, ``s`` [1], ``tau_phase_ns``, ``tau_modulation_ns`` [ns] (each a list over the
        one harmonic), ``tail_fraction`` [1], ``labels`` (e.g. ``"543 nm"``) and ``fits``
        (``{"tau_ns", "amplitudes"}`` of the decay's fit, or None).

    Raises
    ------
    DataValidationError
        No decay with histogram, IRF and a known, positive repetition period.
    ImportError
        phasorpy is not installed (the ``lifetime`` extra).
    """
    usable = []
    for key, d in (decays or {}).items():
        period = next((d.get(k) for k in PERIOD_KEYS if d.get(k) is not None), None)
        if d.get("time_ns") is None or d.get("counts") is None or d.get("irf") is None:
            continue
        if period is None or not np.isfinite(float(period)) or float(period) <= 0:
            continue
        usable.append((key, d, float(period)))
    if not usable:
        raise DataValidationError(
            "phasors need decay histograms with their IRF and a known laser repetition period"
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
    labels: list[str] = []
    fits: list[dict[str, Any] | None] = []
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
        fits.append(
            {
                "tau_ns": np.asarray(d["tau_ns"], float).tolist(),
                "amplitudes": np.asarray(d["amplitudes"], float).tolist(),
            }
            if ok
            else None
        )
    # what all decays share (one period, harmonic and calibration), and the rows of each
    shared = ("period_ns", "harmonics", "frequency_mhz", "calibration", "reference_lifetime_ns")
    return {**{k: r[k] for k in shared if k in r}, **rows, "labels": labels, "fits": fits}
