"""Statistics of the analysis: Bayesian-bootstrap over repeats, Welch-Satterthwaite degrees
of freedom and small-sample-corrected percentile intervals.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from .delta import mean_ci


def weighted_mean_ci(values, weights=None) -> tuple[float | None, list[float] | None]:
    """Weighted mean of independent estimates and its 95 % Student-t interval.

    The interval comes from the weighted scatter of the values about the mean (sandwich
    variance, n / (n - 1) corrected, n - 1 degrees of freedom), not from the estimates' own
    intervals: with a handful of repeats a sample variance can come out accidentally small
    and would then dominate an inverse-variance mean.

    Parameters
    ----------
    values : sequence of float
        The estimates. [any]
    weights : sequence of float, optional
        Their weights (e.g. the band intensity: the shot-noise variance of a ratio scales
        as 1 / intensity); a plain mean when absent or when any weight is not > 0. [1]

    Returns
    -------
    mean : float or None
        None without values.
    ci95 : list of float or None
        None with fewer than 2 values.
    """
    vals = [float(v) for v in values]
    n = len(vals)
    if n == 0:
        return None, None
    w = [float(x) for x in weights] if weights is not None else []
    if len(w) != n or not all(x > 0 for x in w):
        w = [1.0] * n
    wsum = sum(w)
    mean = sum(a * v for a, v in zip(w, vals)) / wsum
    if n < 2:
        return mean, None
    var = n / (n - 1) * sum((a * (v - mean)) ** 2 for a, v in zip(w, vals)) / wsum**2
    half = float(stats.t.ppf(0.975, n - 1)) * math.sqrt(var)
    return mean, [mean - half, mean + half]


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _ci(lo_hi) -> list[float | None] | None:
    vals = [_num(v) for v in np.asarray(lo_hi, dtype=float).ravel()]
    return None if any(v is None for v in vals) else vals


def _bootstrap_weights(rng, n_boot: int, nf: int, r: int) -> np.ndarray:
    """Bayesian-bootstrap weights of the repeats, (B, F, R) float32 summing to R per (B, F).

    Dirichlet(1, ..., 1) weights (normalized exponential variates): a smooth version of
    resampling the R repeats with replacement, and cheap to draw for many repeats. One
    table serves all features, so they are resampled jointly (a repeat stays whole).
    """
    e = rng.standard_exponential(size=(n_boot, nf, r), dtype=np.float32)
    e *= r / e.sum(axis=2, keepdims=True)
    return e


def _bootstrap_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Variance-corrected bootstrap means of the repeats at each fluence.

    values (F, R); weights (B, F, R) from `_bootstrap_weights`. The Bayesian-bootstrap
    mean has variance s^2 (R-1) / (R (R+1)) instead of s^2 / R, so its deviations from the
    sample mean m are expanded by sqrt((R+1)/(R-1)) (1.22 for R = 5).
    """
    r = values.shape[1]
    m = values.mean(axis=1)
    dev = (values - m[:, None]).astype(np.float32)  # centred: float32 keeps full precision
    res = np.einsum("bfr,fr->bf", weights, dev).astype(float) / r
    c = math.sqrt((r + 1) / (r - 1)) if r > 1 else 1.0
    return m[None, :] + c * res


def _welch_df(stat, values: np.ndarray) -> float:
    """Welch-Satterthwaite degrees of freedom of a statistic of per-fluence repeat means.

    stat maps means (..., F) to (...); values (F, R). The gradient is taken by finite
    differences of 0.2 standard errors, so that a profile over a grid stays smooth.
    """
    f, r = values.shape
    if r < 2:
        return math.inf
    m = values.mean(axis=1)
    se = values.std(axis=1, ddof=1) / math.sqrt(r)
    step = np.where(se > 0, 0.2 * se, 1.0)
    pert = m[None, :] + np.diag(step)
    both = np.concatenate([pert, m[None, :] - np.diag(step)], axis=0)
    g = np.asarray(stat(both), dtype=float)
    grad = (g[:f] - g[f:]) / (2 * step)
    var = (grad * se) ** 2
    if not np.all(np.isfinite(var)) or var.sum() <= 0:
        return float(r - 1)
    return float(var.sum() ** 2 / np.sum(var**2 / (r - 1)))


def _boot_ci(point: float, samples: np.ndarray, df: float) -> list[float | None] | None:
    """Percentile interval widened about `point` by t(df)/z (small-sample correction)."""
    good = np.isfinite(samples)
    if not np.isfinite(point) or good.mean() < 0.9:
        return None
    lo, hi = np.percentile(samples[good], [2.5, 97.5])
    k = stats.t.ppf(0.975, max(df, 1.0)) / stats.norm.ppf(0.975) if math.isfinite(df) else 1.0
    return _ci([point - k * (point - lo), point + k * (hi - point)])


def _summary_stat(values: np.ndarray) -> dict[str, Any]:
    m, ci = mean_ci(values)
    return {"value": _num(m), "ci95": _ci(ci)}
