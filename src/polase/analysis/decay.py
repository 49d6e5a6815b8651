"""TCSPC decay fits: IRF reconvolution (or tail fit) by Poisson maximum likelihood.

The fits run through `polase.fitting.curve_fit_batch`, so many decays that share an IRF
and a time grid are fitted in one batched call.

Model (reconvolution): counts_k = background + sum_i a_i (IRF_shifted * exp(-t / tau_i))_k
+ scatter * IRF, with the IRF normalized to unit sum and delayed by ``irf_shift_ns``; with
a repetition period the tails of earlier pulses are included (see
`polase.fitting.reconvolution_model`). Tail fit: counts = sum_i a_i exp(-(t - t0) / tau_i)
+ offset for t >= t0, no IRF.

Intervals: estimate +- 1.96 standard errors from the inverse Fisher information of the
Poisson likelihood, inflated by sqrt(reduced chi-square) when that exceeds 1 (model or
IRF mismatch makes the counting errors alone too optimistic).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataValidationError, FitError

_Z95 = 1.959963984540054

#: Lifetime start factors (times the mean-arrival-time estimate) tried for each model size.
_STARTS = {
    1: [[1.0], [0.5]],
    2: [[0.3, 1.5], [0.5, 1.2], [0.15, 1.1], [0.6, 2.5]],
    3: [[0.15, 0.6, 2.0], [0.1, 0.4, 1.3], [0.3, 1.0, 3.0], [0.05, 0.5, 1.5]],
}


def _check_inputs(time_ns, counts, irf, n_components):
    t = np.asarray(time_ns, dtype=float)
    c = np.atleast_2d(np.asarray(counts, dtype=float))
    g = np.asarray(irf, dtype=float)
    if t.ndim != 1 or c.shape[-1] != t.size or g.shape != t.shape:
        raise DataValidationError(
            f"time_ns (M,), counts (..., M) and irf (M,) must share M channels; got {t.shape}, "
            f"{np.shape(counts)}, {g.shape}"
        )
    if int(n_components) not in (1, 2, 3):
        raise DataValidationError(f"n_components must be 1, 2 or 3, got {n_components}")
    if np.any(c[np.isfinite(c)] < 0):
        raise DataValidationError("decay counts must be non-negative")
    dt = np.diff(t)
    if np.any(dt <= 0) or not np.allclose(dt, dt.mean(), rtol=1e-6):
        raise DataValidationError("time_ns must be uniform and increasing (TCSPC channels)")
    return t, c, g


def _default_range(t, c):
    """Span of channels with counts in any decay (the TAC range actually recorded)."""
    nz = np.flatnonzero(np.nansum(c, axis=0) > 0)
    if nz.size < 10:
        raise DataValidationError("fewer than 10 channels have counts; nothing to fit")
    return float(t[nz[0]]), float(t[nz[-1]])


def _tau_guess(t, c_row, t_peak):
    """Lifetime from the mean arrival time after the peak (background-corrected). [ns]"""
    after = t > t_peak
    bg = np.nanmedian(c_row[: max(5, int(0.02 * c_row.size))])
    w = np.clip(np.nan_to_num(c_row[after]) - bg, 0, None)
    if w.sum() <= 0:
        return float((t[-1] - t[0]) / 10)
    return float(max(np.sum((t[after] - t_peak) * w) / w.sum(), 2 * (t[1] - t[0])))


def _summarize(
    params, stderr, names, n, redchi, status, success, method, fit_range, n_channels, deviance
):
    a = np.array([params[names.index(f"a{i}")] for i in range(1, n + 1)])
    tau = np.array([params[names.index(f"tau{i}")] for i in range(1, n + 1)])
    se = np.array([stderr[names.index(f"tau{i}")] for i in range(1, n + 1)])
    order = np.argsort(tau)
    a, tau, se = a[order], tau[order], se[order]
    infl = math.sqrt(max(1.0, redchi)) if math.isfinite(redchi) else 1.0
    half = _Z95 * se * infl
    with np.errstate(divide="ignore", invalid="ignore"):
        tau_amp = float(np.sum(a * tau) / np.sum(a))
        tau_int = float(np.sum(a * tau**2) / np.sum(a * tau))
    out: dict[str, Any] = {
        "method": method,
        "components": int(n),
        "tau_ns": tau.tolist(),
        "tau_ci95_ns": [[float(t - h), float(t + h)] for t, h in zip(tau, half)],
        "amplitudes": a.tolist(),
        "amplitude_fractions": (a / a.sum()).tolist() if a.sum() > 0 else [math.nan] * n,
        "tau_amplitude_weighted_ns": tau_amp,
        "tau_intensity_weighted_ns": tau_int,
        "irf_shift_ns": float(params[names.index("shift_ns")]) if "shift_ns" in names else None,
        "background": float(params[names.index("background")])
        if "background" in names
        else float(params[names.index("offset")]),
        "reduced_chi2": float(redchi),
        "poisson_deviance": float(deviance),
        "fit_range_ns": [float(fit_range[0]), float(fit_range[1])],
        "n_channels": int(n_channels),
        "status": int(status),
        "success": bool(success),
    }
    if "scatter" in names:
        out["scatter"] = float(params[names.index("scatter")])
    return out


def _take(res, rows):
    """Rows of a BatchFitResult as plain arrays (params, stderr, cost, status, success)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        params=res.params[rows],
        stderr=res.stderr[rows],
        cost=res.cost[rows],
        status=res.status[rows],
        success=np.asarray(res.success)[rows],
    )


def _merge(old, new, use_new):
    from types import SimpleNamespace

    pick = np.asarray(use_new, dtype=bool)
    return SimpleNamespace(
        params=np.where(pick[:, None], new.params, old.params),
        stderr=np.where(pick[:, None], new.stderr, old.stderr),
        cost=np.where(pick, new.cost, old.cost),
        status=np.where(pick, new.status, old.status),
        success=np.where(pick, np.asarray(new.success), old.success),
    )


def fit_decays(
    time_ns,
    counts,
    irf,
    n_components: int = 1,
    period_ns: float | None = None,
    *,
    fit_range_ns: tuple[float, float] | None = None,
    method: str = "reconvolution",
    tail_start_ns: float | None = None,
    fit_scatter: bool = False,
    max_iter: int = 1000,
    max_polish: int = 4,
) -> list[dict[str, Any]]:
    """Fit many decays that share a time grid and an IRF (one batched fit).

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centre times, uniform. [ns]
    counts : array_like, shape (N, M) or (M,)
        Histograms. [counts]
    irf : array_like, shape (M,)
        Instrument response on the same channels. [counts]
    n_components : int
        Number of exponentials, 1-3.
    period_ns : float, optional
        Laser repetition period, for the incomplete decay of earlier pulses. [ns]
    fit_range_ns : (float, float), optional
        Channels with times in this range are fitted. [ns] Default: from the first to the
        last channel holding counts in any of the decays (the recorded TAC range).
    method : {"reconvolution", "tail"}
        IRF reconvolution, or a multi-exponential tail fit from `tail_start_ns`.
    tail_start_ns : float, optional
        Start of the tail fit. [ns] Default: the decay maximum plus 3 IRF FWHM.
    fit_scatter : bool
        Fit the scattered-light term (else fixed at 0).
    max_iter : int
        Iteration limit of the fit.
    max_polish : int
        Restarts from the best point while the deviance still falls.

    Returns
    -------
    list of dict
        One per decay, keys as in `fit_decay`.
    """
    from ..fitting import curve_fit_batch, reconvolution_model

    t, c, g = _check_inputs(time_ns, counts, irf, n_components)
    n = int(n_components)
    lo, hi = fit_range_ns if fit_range_ns is not None else _default_range(t, c)
    if method not in ("reconvolution", "tail"):
        raise DataValidationError(f"method must be 'reconvolution' or 'tail', got {method!r}")
    dt = float(t[1] - t[0])
    span = dt * t.size
    nb = c.shape[0]
    i_peak = np.nanargmax(np.nan_to_num(c, nan=-1.0), axis=1)
    t_peak = t[i_peak]
    taus = np.array([_tau_guess(t, c[k], t_peak[k]) for k in range(nb)])
    spread = [1.0] * n  # start lifetimes; multi-start factors are applied below
    peak = np.nanmax(c, axis=1)
    edge = max(5, int(0.02 * t.size))
    bg0 = np.clip(np.nanmedian(c[:, np.flatnonzero(t >= lo)[:edge]], axis=1), 0, None)

    if method == "reconvolution":
        model = reconvolution_model(g, t, n, period_ns)
        names = list(model.param_names)
        sel = (t >= lo) & (t <= hi)
        y = np.where(sel[None, :] & np.isfinite(c), c, np.nan)
        x = t
        p0 = np.zeros((nb, len(names)))
        lo_b = np.full(len(names), -np.inf)
        hi_b = np.full(len(names), np.inf)
        for i in range(n):
            p0[:, names.index(f"a{i + 1}")] = np.maximum(peak - bg0, 1.0) / n
            p0[:, names.index(f"tau{i + 1}")] = taus * spread[i]
            lo_b[names.index(f"a{i + 1}")] = 0.0
            lo_b[names.index(f"tau{i + 1}")] = dt / 10
            hi_b[names.index(f"tau{i + 1}")] = 10 * span
        lo_b[names.index("shift_ns")], hi_b[names.index("shift_ns")] = -span / 4, span / 4
        p0[:, names.index("background")] = np.maximum(bg0, 1e-3)
        lo_b[names.index("background")] = 0.0
        lo_b[names.index("scatter")] = 0.0
        fixed = np.zeros(len(names), dtype=bool)
        fixed[names.index("scatter")] = not fit_scatter
        rng_used = (lo, hi)
    else:
        t0 = tail_start_ns
        if t0 is None:
            gi = np.flatnonzero(g >= 0.5 * g.max())
            irf_fwhm = (gi[-1] - gi[0] + 1) * dt
            t0 = float(np.max(t_peak) + 3 * irf_fwhm)
        sel = (t >= t0) & (t <= hi)
        if sel.sum() < 2 * n + 3:
            raise FitError(
                f"tail from {t0:g} ns to {hi:g} ns holds too few channels for {n} exponentials"
            )
        x = t[sel] - t0
        y = c[:, sel]
        from ..fitting.models import get_model

        model = get_model(f"exp{n}")
        names = list(model.param_names)
        p0 = np.zeros((nb, len(names)))
        lo_b = np.full(len(names), -np.inf)
        hi_b = np.full(len(names), np.inf)
        y0 = np.maximum(np.nanmax(y[:, :5], axis=1), 1.0)
        for i in range(n):
            p0[:, names.index(f"a{i + 1}")] = y0 / n
            p0[:, names.index(f"tau{i + 1}")] = taus * spread[i]
            lo_b[names.index(f"a{i + 1}")] = 0.0
            lo_b[names.index(f"tau{i + 1}")] = dt / 10
        p0[:, names.index("offset")] = np.maximum(bg0, 1e-3)
        lo_b[names.index("offset")] = 0.0
        fixed = None
        rng_used = (float(t0), hi)

    # multi-start: several lifetime spreads per decay in the same batch, best deviance wins
    # (multi-exponential Poisson likelihoods have local optima)
    starts = _STARTS[n]
    tau_cols = [names.index(f"tau{i + 1}") for i in range(n)]
    p_all = np.concatenate([p0] * len(starts), axis=0)
    for s_i, factors in enumerate(starts):
        p_all[s_i * nb : (s_i + 1) * nb, tau_cols] *= np.asarray(factors)[None, :]
    p_all[:, tau_cols] = np.clip(p_all[:, tau_cols], 2 * dt / 10, hi_b[tau_cols] / 2)
    y_all = np.concatenate([y] * len(starts), axis=0)
    # the start fits and the polishing ones are the same fit of other data and starts
    poisson_fit = partial(
        curve_fit_batch,
        model,
        x,
        loss="poisson",
        bounds=(lo_b, hi_b),
        fixed=fixed,
        max_iter=max_iter,
        nan_policy="omit",
    )
    res = poisson_fit(y_all, p_all)
    cost = np.where(np.isfinite(res.cost), res.cost, np.inf).reshape(len(starts), nb)
    best = np.argmin(cost, axis=0) * nb + np.arange(nb)
    # polish: restart LM from the best point until the deviance stops falling (a fresh
    # damping parameter gets LM out of long flat valleys where it may stop early)
    res = _take(res, best)
    for _ in range(max_polish):
        ok = np.isfinite(res.params).all(axis=1)
        if not ok.any():
            break
        p_next = np.where(ok[:, None], res.params, p0)
        new = poisson_fit(y, p_next)
        better = np.isfinite(new.cost) & (
            new.cost < np.where(np.isfinite(res.cost), res.cost, np.inf)
        )
        gain = np.where(better, res.cost - new.cost, 0.0)
        res = _merge(res, new, better)
        if not np.any(gain > 1e-9 * np.abs(res.cost)):
            break
    f = model(x, res.params)
    out = []
    for k in range(nb):
        ok = np.isfinite(y[k])
        fk, yk = f[k][ok], y[k][ok]
        with np.errstate(divide="ignore", invalid="ignore"):
            pearson = float(np.sum(np.where(fk > 0, (yk - fk) ** 2 / fk, 0.0)))
        nfree = int(ok.sum()) - int(len(names) - (0 if fixed is None else np.sum(fixed)))
        out.append(
            _summarize(
                res.params[k],
                res.stderr[k],
                names,
                n,
                pearson / nfree if nfree > 0 else math.nan,
                res.status[k],
                res.success[k],
                method,
                rng_used,
                int(ok.sum()),
                res.cost[k],
            )
        )
    return out


def fit_decay(
    time_ns,
    counts,
    irf,
    n_components: int = 1,
    period_ns: float | None = None,
    **kwargs,
) -> dict[str, Any]:
    """Fit one TCSPC decay with IRF reconvolution by Poisson maximum likelihood.

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centre times, uniform. [ns]
    counts : array_like, shape (M,)
        Histogram. [counts]
    irf : array_like, shape (M,)
        Instrument response on the same channels. [counts]
    n_components : int
        Number of exponentials, 1-3.
    period_ns : float, optional
        Laser repetition period (incomplete decay of earlier pulses). [ns]
    **kwargs
        ``fit_range_ns``, ``method`` ("reconvolution" or "tail"), ``tail_start_ns``,
        ``fit_scatter``, ``max_iter``; see `fit_decays`.

    Returns
    -------
    dict
        ``components``; ``tau_ns`` (ascending) [ns] and ``tau_ci95_ns`` [ns];
        ``amplitudes`` (component onset amplitudes) [counts/channel] and
        ``amplitude_fractions`` [1]; ``tau_amplitude_weighted_ns`` = sum a tau / sum a
        [ns]; ``tau_intensity_weighted_ns`` = sum a tau^2 / sum a tau [ns];
        ``irf_shift_ns`` [ns] (None for a tail fit); ``background`` [counts/channel];
        ``reduced_chi2`` (Pearson chi-square per degree of freedom); ``poisson_deviance``;
        ``fit_range_ns``; ``n_channels``; ``status`` and ``success`` of the fit.
    """
    c = np.asarray(counts, dtype=float)
    if c.ndim != 1:
        raise DataValidationError(
            f"counts must be 1-D for fit_decay (use fit_decays), got {c.shape}"
        )
    return fit_decays(time_ns, c[None, :], irf, n_components, period_ns, **kwargs)[0]


def fit_dataset_decays(ds, n_components: int = 1, **kwargs) -> list[dict[str, Any]]:
    """Fit every decay of a measurement Dataset (``decay`` and ``irf`` variables).

    Decays that are all NaN (fluences without a TCSPC measurement) are skipped.

    Parameters
    ----------
    ds : xarray.Dataset
        With ``decay`` (fluence, polarization, detection_wavelength, time) [counts],
        ``irf`` (time) [counts] and optionally attribute ``tcspc_repetition_period_ns``.
    n_components : int
        Number of exponentials, 1-3.
    **kwargs
        Passed to `fit_decays`.

    Returns
    -------
    list of dict
        Each fit result plus ``fluence_mJ_cm2``, ``polarization`` and
        ``detection_wavelength_nm``.
    """
    from ._decay_rows import dataset_decay_rows

    t, irf, period, keys, rows = dataset_decay_rows(ds)
    if not rows:
        return []
    fits = fit_decays(t, np.stack(rows), irf, n_components, period, **kwargs)
    return [
        {"fluence_mJ_cm2": f, "polarization": p, "detection_wavelength_nm": w, **fit}
        for (f, p, w), fit in zip(keys, fits)
    ]


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


def decay_fit_curve(
    time_ns, irf, fit: Mapping[str, Any], period_ns: float | None = None
) -> np.ndarray | None:
    """Model counts per channel of a reconvolution fit, rebuilt from its parameters.

    Parameters
    ----------
    time_ns : array_like
        Channel times of the fitted histogram. [ns]
    irf : array_like
        The IRF the fit used. [counts]
    fit
        `polase.analysis.fit_decay` output (``tau_ns``, ``amplitudes``, ``irf_shift_ns``,
        ``background``, optional ``scatter``).
    period_ns
        Repetition period given to the fit. [ns]

    Returns
    -------
    ndarray or None
        Model counts [counts]; None for a tail fit (no IRF model) or missing parameters.
    """
    from ..fitting import reconvolution_model

    if fit.get("irf_shift_ns") is None or not fit.get("tau_ns"):
        return None
    t = np.asarray(time_ns, dtype=float)
    period = float(period_ns) if period_ns is not None else None
    if period is not None and period < (t[1] - t[0]) * t.size:
        period = None  # as the fit does: a period shorter than the span cannot be modelled
    model = reconvolution_model(np.asarray(irf, dtype=float), t, len(fit["tau_ns"]), period)
    p = {
        "shift_ns": fit["irf_shift_ns"],
        "background": fit.get("background", 0.0),
        "scatter": fit.get("scatter", 0.0),
    }
    for i, (a, tau) in enumerate(zip(fit["amplitudes"], fit["tau_ns"]), start=1):
        p[f"a{i}"], p[f"tau{i}"] = a, tau
    return np.asarray(model(t, np.array([float(p[n]) for n in model.param_names])), dtype=float)


def fit_decay_files(
    decay_file: Path, irf_file: Path, n_components: int, period_ns: float | None = None
) -> dict[str, Any]:
    """Fit one decay file with its IRF file, as ``polase decay`` does, keeping the curves.

    Parameters
    ----------
    decay_file, irf_file
        TCSPC exports readable by `polase.io.read_das6`.
    n_components
        Exponentials in the fit (1-3).
    period_ns
        Laser repetition period. [ns]

    Returns
    -------
    dict
        The `fit_decay` output plus ``time_ns``, ``counts``, ``irf`` and ``fit`` (model
        counts per channel) for plotting, and ``tau_1e_ns``.
    """
    from ..io import read_das6

    dec = read_das6(decay_file)
    irf = read_das6(irf_file)
    fit = dict(fit_decay(dec.time_ns, dec.counts, irf.counts, n_components, period_ns=period_ns))
    fit["time_ns"] = np.asarray(dec.time_ns)
    fit["counts"] = np.asarray(dec.counts)
    fit["irf"] = np.asarray(irf.counts)
    fit["fit"] = decay_fit_curve(dec.time_ns, irf.counts, fit, period_ns)
    fit["tau_1e_ns"] = one_over_e_time(fit)
    return fit


# ---- pile-up and dead time ---------------------------------------------------------------


class PileUpWarning(UserWarning):
    """The detected photon rate is high enough against the sync (or dead time) to distort a
    TCSPC histogram."""


#: Detected-photon rate per excitation above which `check_count_rate` warns (pile-up).
PILEUP_WARN_RATIO = 0.05
#: Fraction of time lost to dead time above which `check_count_rate` warns.
DEAD_TIME_WARN_FRACTION = 0.01


def coates_correction(counts, n_excitations: float) -> np.ndarray:
    """Pile-up correction of a TCSPC histogram (Coates 1968, J. Phys. E 1, 878).

    A start-stop TCSPC records at most one photon per excitation, the first: a photon in
    channel k is lost whenever an earlier one arrived in the same cycle. With ``E``
    excitation cycles the probability that channel k recorded a photon, given none before,
    is ``p_k = N_k / (E - sum_{j<k} N_j)``, and the mean number of photons that arrived in
    channel k (Poisson per cycle) is ``-E ln(1 - p_k)``.

    Parameters
    ----------
    counts : array_like, shape (..., M)
        Recorded histogram(s). [counts]
    n_excitations : float
        Excitation (sync) cycles during the acquisition: acquisition time x sync rate. [1]

    Returns
    -------
    ndarray
        Corrected counts (floats, >= the recorded ones), same shape. [counts]

    Raises
    ------
    DataValidationError
        `n_excitations` not larger than the recorded counts of a histogram.
    """
    c = np.asarray(counts, dtype=float)
    e = float(n_excitations)
    if not (math.isfinite(e) and e > 0):
        raise DataValidationError(f"n_excitations must be finite and > 0, got {n_excitations!r}")
    before = np.cumsum(c, axis=-1) - c
    left = e - before
    if np.any(left <= c):
        raise DataValidationError(
            f"{e:g} excitations cannot have recorded {np.max(np.sum(c, axis=-1)):g} counts: the "
            "acquisition time or sync rate is wrong"
        )
    return -e * np.log1p(-c / left)


def check_count_rate(
    count_rate_hz: float | None,
    repetition_period_ns: float | None,
    dead_time_ns: float | None = None,
    *,
    source: str = "",
) -> dict[str, Any]:
    """Pile-up and dead-time figures of a TCSPC acquisition, with warnings.

    Parameters
    ----------
    count_rate_hz : float or None
        Detected photon rate (e.g. `DecayFile.count_rate_hz`). [1/s]
    repetition_period_ns : float or None
        Sync period. [ns]
    dead_time_ns : float, optional
        Dead time of the detector / electronics after a photon. [ns]
    source : str
        Named in the warnings (e.g. the file).

    Returns
    -------
    dict
        ``photons_per_excitation`` (rate x period) [1] and ``dead_time_fraction``
        (rate x dead time) [1], None where an input is missing; ``pileup_warning`` and
        ``dead_time_warning`` (bool).

    Warns
    -----
    PileUpWarning
        ``photons_per_excitation > 0.05`` (the histogram is skewed to early times by more
        than ~2.5 %: correct with `coates_correction` or lower the rate), or
        ``dead_time_fraction > 0.01``.
    """
    import warnings

    ratio = dead = None
    if count_rate_hz is not None and repetition_period_ns is not None:
        ratio = float(count_rate_hz) * float(repetition_period_ns) * 1e-9
    if count_rate_hz is not None and dead_time_ns is not None:
        dead = float(count_rate_hz) * float(dead_time_ns) * 1e-9
    where = f"{source}: " if source else ""
    pile = ratio is not None and ratio > PILEUP_WARN_RATIO
    dt_warn = dead is not None and dead > DEAD_TIME_WARN_FRACTION
    if pile:
        warnings.warn(
            f"{where}{ratio:.3g} detected photons per excitation (> {PILEUP_WARN_RATIO:g}): "
            "pile-up distorts the decay; use the Coates correction or a lower count rate",
            PileUpWarning,
            stacklevel=2,
        )
    if dt_warn:
        warnings.warn(
            f"{where}dead time takes {100 * dead:.3g} % of the acquisition "
            f"(> {100 * DEAD_TIME_WARN_FRACTION:g} %): counts are lost",
            PileUpWarning,
            stacklevel=2,
        )
    return {
        "photons_per_excitation": ratio,
        "dead_time_fraction": dead,
        "pileup_warning": bool(pile),
        "dead_time_warning": bool(dt_warn),
    }


# ---- non-exponential models --------------------------------------------------------------

#: Parameters of the non-exponential reconvolution models (after the shape parameters come
#: ``shift_ns`` and ``background`` in every model).
DECAY_MODELS: dict[str, tuple[str, ...]] = {
    "stretched": ("a", "tau", "beta", "shift_ns", "background"),
    "lognormal": ("a", "tau_median", "sigma", "shift_ns", "background"),
    "rise": ("a", "tau_rise", "tau_decay", "shift_ns", "background"),
}
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(40)


def decay_kernel(model: str, lag_ns, params) -> np.ndarray:
    """Decay after one pulse at lags ``lag_ns`` for the non-exponential models.

    Parameters
    ----------
    model : {"stretched", "lognormal", "rise"}
        ``stretched``: ``exp(-(t / tau)^beta)`` (Kohlrausch), 0 < beta <= 1 for a
        distribution of rates. ``lognormal``: ``int p(tau) exp(-t / tau) dln tau`` with
        ``ln tau ~ Normal(ln tau_median, sigma^2)`` (40-node Gauss-Hermite quadrature; the
        amplitude distribution of lifetimes). ``rise``: ``exp(-t / tau_decay) -
        exp(-t / tau_rise)`` (population fed with time constant tau_rise).
    lag_ns : array_like, shape (M,)
        Times after the pulse, >= 0. [ns]
    params : array_like, shape (N, 3)
        The shape parameters (the 2nd and 3rd columns of `DECAY_MODELS`, after ``a``) with
        ``a`` first. [ns], [1]

    Returns
    -------
    ndarray, shape (N, M)
        ``a x`` the kernel. [counts/channel]
    """
    lag = np.asarray(lag_ns, float)[None, :]
    p = np.atleast_2d(np.asarray(params, float))
    a, p1, p2 = p[:, [0]], p[:, [1]], p[:, [2]]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if model == "stretched":
            k = np.exp(-((lag / p1) ** p2))
        elif model == "lognormal":
            taus = np.exp(np.log(p1)[:, :, None] + math.sqrt(2.0) * p2[:, :, None] * _GH_X)
            k = np.sum(_GH_W / math.sqrt(math.pi) * np.exp(-lag[:, :, None] / taus), axis=-1)
        elif model == "rise":
            k = np.exp(-lag / p2) - np.exp(-lag / p1)
        else:
            raise DataValidationError(f"model must be one of {sorted(DECAY_MODELS)}, got {model!r}")
    return a * k


def _shifted_irf(irf_n, shift_ch):
    """IRF (unit sum) delayed by `shift_ch` channels, (N, M), as `reconvolution_model` does
    (monotone cubic of the cumulative through the channel edges)."""
    from ..fitting._kernels import _shift_irf

    shifts = np.atleast_1d(np.asarray(shift_ch, float))
    out = np.empty((shifts.size, irf_n.size))
    dout = np.empty(irf_n.size)
    for i, s in enumerate(shifts):
        _shift_irf(np.ascontiguousarray(irf_n, dtype=float), float(s), out[i], dout)
    return out


def _model_callable(model, time_ns, irf, period_ns):
    from scipy.signal import fftconvolve

    from ..fitting import channel_irf

    t = np.asarray(time_ns, float)
    dt = float(t[1] - t[0])
    m = t.size
    lag = np.arange(m) * dt
    irf_n = channel_irf(np.clip(np.asarray(irf, float), 0, None))
    n_rep = 0
    if period_ns is not None:
        n_rep = int(min(200, max(1, math.ceil(20 * m * dt / period_ns))))
    # channel-integrated kernel (as `reconvolution_model`): excitation spread over an IRF
    # channel, emission counted over whole channels, so lag l gets the triangle-weighted
    # mean int_0^1 (1 - u) [K((l + u) dt) + K((l - u) dt)] du (Gauss-Legendre, 4 nodes)
    gl_u, gl_w = np.polynomial.legendre.leggauss(4)
    gl_u, gl_w = (gl_u + 1) / 2, gl_w / 2

    def kern(lags, p3):
        k = decay_kernel(model, np.maximum(lags, 0.0), p3) * (lags > 0)
        for r in range(1, n_rep + 1):  # tails of earlier pulses (incomplete decay)
            k = k + decay_kernel(model, lags + r * period_ns, p3)
        return k

    def f(x, params):
        p = np.atleast_2d(params)
        k = sum(
            wq * (1 - uq) * (kern(lag + uq * dt, p[:, :3]) + kern(lag - uq * dt, p[:, :3]))
            for uq, wq in zip(gl_u, gl_w)
        )
        g = _shifted_irf(irf_n, p[:, 3] / dt)
        conv = fftconvolve(g, k, axes=-1)[:, :m]
        return p[:, [4]] + conv

    return f


def fit_decay_model(
    time_ns,
    counts,
    irf,
    model: str,
    period_ns: float | None = None,
    *,
    fit_range_ns: tuple[float, float] | None = None,
    p0: dict[str, float] | None = None,
    max_iter: int = 300,
) -> list[dict[str, Any]]:
    """Fit decays with a non-exponential reconvolution model (Poisson maximum likelihood).

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centres, uniform. [ns]
    counts : array_like, shape (N, M) or (M,)
        Decays. [counts]
    irf : array_like, shape (M,)
        Instrument response. [counts]
    model : {"stretched", "lognormal", "rise"}
        See `decay_kernel`. The kernel is integrated over the channels and convolved with the
        shifted IRF as in `polase.fitting.reconvolution_model` (``stretched`` with
        ``beta = 1`` is its single exponential), plus a background.
    period_ns : float, optional
        Laser period: the tails of earlier pulses (up to 20 histogram spans) are added. [ns]
    fit_range_ns : (float, float), optional
        Fitted window [ns]; default the channels with counts.
    p0 : dict, optional
        Starting values by parameter name; default from a single-exponential fit.
    max_iter : int
        Iteration limit.

    Returns
    -------
    list of dict
        Per decay: ``model``, ``params`` (name -> value) with ``stderr`` and
        ``ci95`` (+-1.96 standard errors inflated by sqrt(reduced chi-square) when > 1);
        ``tau_mean_ns`` (the amplitude-weighted mean lifetime: ``tau Gamma(1/beta) / beta``
        for stretched, ``tau_median exp(sigma^2 / 2)`` for lognormal, tau_decay for rise)
        [ns]; ``reduced_chi2``, ``poisson_deviance``, ``status``, ``success``.
    """
    from ..fitting import Model, curve_fit_batch

    if model not in DECAY_MODELS:
        raise DataValidationError(f"model must be one of {sorted(DECAY_MODELS)}, got {model!r}")
    t, c, g = _check_inputs(time_ns, counts, irf, 1)
    lo, hi = fit_range_ns if fit_range_ns is not None else _default_range(t, c)
    sel = (t >= lo) & (t <= hi)
    y = np.where(sel[None, :] & np.isfinite(c), c, np.nan)
    names = list(DECAY_MODELS[model])
    start = fit_decays(t, c, g, 1, period_ns, fit_range_ns=(lo, hi))
    dt = float(t[1] - t[0])
    span = dt * t.size
    p = np.zeros((c.shape[0], 5))
    for k, s in enumerate(start):
        tau, a = s["tau_ns"][0], s["amplitudes"][0]
        shape = {
            "stretched": (a, tau, 0.8),
            "lognormal": (a, tau, 0.3),
            "rise": (2 * a, max(2 * dt, 0.1 * tau), tau),
        }[model]
        p[k] = [*shape, s["irf_shift_ns"], max(s["background"], 1e-3)]
    for name, value in (p0 or {}).items():
        if name not in names:
            raise DataValidationError(f"p0 key {name!r}; the {model} model has {names}")
        p[:, names.index(name)] = value
    lo_b = np.array([0.0, dt / 10, 0.0, -span / 4, 0.0])
    hi_b = np.array([np.inf, 10 * span, np.inf, span / 4, np.inf])
    if model == "stretched":
        lo_b[2], hi_b[2] = 0.05, 2.0
    elif model == "lognormal":
        lo_b[2], hi_b[2] = 1e-3, 3.0
    else:
        lo_b[2], hi_b[2] = dt / 10, 10 * span
    p = np.clip(p, lo_b + 1e-12, np.where(np.isfinite(hi_b), hi_b - 1e-12, np.inf))
    fm = Model(_model_callable(model, t, g, period_ns), param_names=names, name=model)
    res = curve_fit_batch(
        fm, t, y, p, loss="poisson", bounds=(lo_b, hi_b), max_iter=max_iter, nan_policy="omit"
    )
    f = fm(t, np.where(np.isfinite(res.params), res.params, p))
    out = []
    for k in range(c.shape[0]):
        ok = np.isfinite(y[k])
        fk, yk = f[k][ok], y[k][ok]
        with np.errstate(divide="ignore", invalid="ignore"):
            pearson = float(np.sum(np.where(fk > 0, (yk - fk) ** 2 / fk, 0.0)))
        nfree = int(ok.sum()) - len(names)
        redchi = pearson / nfree if nfree > 0 else math.nan
        infl = math.sqrt(max(1.0, redchi)) if math.isfinite(redchi) else 1.0
        pk, se = res.params[k], res.stderr[k]
        if model == "stretched":
            tau_mean = float(pk[1] * math.gamma(1 / pk[2]) / pk[2])
        elif model == "lognormal":
            tau_mean = float(pk[1] * math.exp(pk[2] ** 2 / 2))
        else:
            tau_mean = float(pk[2])
        out.append(
            {
                "model": model,
                "params": dict(zip(names, map(float, pk))),
                "stderr": dict(zip(names, map(float, se))),
                "ci95": {
                    nm: [float(v - _Z95 * s_ * infl), float(v + _Z95 * s_ * infl)]
                    for nm, v, s_ in zip(names, pk, se)
                },
                "tau_mean_ns": tau_mean,
                "reduced_chi2": float(redchi),
                "poisson_deviance": float(res.cost[k]),
                "fit_range_ns": [float(lo), float(hi)],
                "status": int(res.status[k]),
                "success": bool(res.status[k] == 0),
            }
        )
    return out
