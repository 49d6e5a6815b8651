"""Polarization contrast Delta = (I_other - I_linear) / I_linear, paired in acquisition order.

Pairing. In a switching sequence L, C, L, C, ... each acquisition of the other
polarization (C_i) is compared with the linear intensity *interpolated to its
acquisition index* between the linear acquisitions just before and just after it
(the mean of the two neighbours when C sits half-way; the single neighbour at either
end of the sequence). A laser drift that is linear over one L-C-L cycle cancels exactly.
Delta_i = C_i / L_interp(i) - 1; the reported value is the mean over the pairs at that
fluence with a Student-t 95 % interval (n - 1 degrees of freedom) whose standard error
is corrected for the reference spectra that neighbouring pairs share
(`pair_variance_factor`: x1.42 in variance for L, C, L, C with 5 repeats). Without
acquisition indices, repeat r of one polarization is paired with repeat r of the other.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import DataValidationError


def interpolation_weights(acq_ref, acq_other) -> np.ndarray:
    """Weights W with L_interp = W @ L: linear interpolation in acquisition index.

    Parameters
    ----------
    acq_ref : array_like, shape (R,)
        Acquisition indices of the reference (linear) spectra, all different.
    acq_other : array_like, shape (R2,)
        Acquisition indices of the other polarization.

    Returns
    -------
    ndarray, shape (R2, R)
        Row i holds the weights of the reference spectra for acquisition i (two
        neighbours, or the single nearest at either end of the sequence).
    """
    ar = np.asarray(acq_ref, dtype=float)
    ao = np.asarray(acq_other, dtype=float)
    order = np.argsort(ar)
    xs = ar[order]
    if np.any(np.diff(xs) <= 0):
        raise DataValidationError("acquisition indices of the reference polarization repeat")
    n = xs.size
    w = np.zeros((ao.size, n))
    rows = np.arange(ao.size)
    if n == 1:
        w[:, 0] = 1.0
        return w
    hi = np.clip(np.searchsorted(xs, ao, side="right"), 1, n - 1)
    lo = hi - 1
    frac = np.clip((ao - xs[lo]) / (xs[hi] - xs[lo]), 0.0, 1.0)  # clamped at both ends
    # hi = lo + 1: the two columns of a row differ, so plain assignments suffice (no add.at)
    w[rows, order[lo]] = 1.0 - frac
    w[rows, order[hi]] = frac
    return w


def paired_ratios(i_ref, i_other, acq_ref=None, acq_other=None, *, return_weights: bool = False):
    """Per-pair contrast C_i / L_interp(i) - 1 at each fluence.

    Parameters
    ----------
    i_ref : array_like, shape (F, R)
        Reference (linear) intensities per fluence and repeat. [any]
    i_other : array_like, shape (F, R2)
        Intensities of the other polarization. [same as i_ref]
    acq_ref, acq_other : array_like, shapes (F, R) and (F, R2), optional
        Acquisition indices (order of acquisition); both or neither.
    return_weights : bool
        Also return the interpolation weights (F, R2, R).

    Returns
    -------
    ndarray, shape (F, R2)
        Delta per acquisition of the other polarization. [1] NaN where an intensity
        involved (including a reference neighbour) is NaN.
    """
    a = np.asarray(i_ref, dtype=float)
    c = np.asarray(i_other, dtype=float)
    if a.ndim != 2 or c.ndim != 2 or a.shape[0] != c.shape[0]:
        raise DataValidationError(
            f"intensities must be (fluence, repeat); got {a.shape} and {c.shape}"
        )
    if (acq_ref is None) != (acq_other is None):
        raise DataValidationError("give acquisition indices for both polarizations or for neither")
    if acq_ref is None:
        if a.shape != c.shape:
            raise DataValidationError("pairing by repeat needs equal repeat counts")
        w = np.broadcast_to(np.eye(a.shape[1]), (a.shape[0], a.shape[1], a.shape[1]))
    else:
        ar = np.asarray(acq_ref, dtype=float)
        ao = np.asarray(acq_other, dtype=float)
        try:
            w = np.stack([interpolation_weights(ar[k], ao[k]) for k in range(a.shape[0])])
        except DataValidationError:
            raise DataValidationError("acquisition indices repeat within a fluence") from None
    # a masked reference spectrum may not silently borrow its neighbours
    used_nan = np.matmul((w > 0).astype(float), np.isnan(a).astype(float)[..., None])[..., 0] > 0
    ref = np.matmul(w, np.nan_to_num(a)[..., None])[..., 0]
    ref = np.where(used_nan, np.nan, ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = c / ref - 1.0
    return (d, np.asarray(w)) if return_weights else d


def pair_variance_factor(w) -> np.ndarray:
    """Correction of s^2/n for pairs that share reference spectra.

    With relative fluctuations of equal variance in every spectrum, the pair contrasts
    have covariance proportional to S = I + W W^T (an interpolated reference is shared by
    neighbouring pairs). The variance of their mean is 1^T S 1 / n^2 (times sigma^2),
    while the sample variance estimates (tr S - 1^T S 1 / n) / (n - 1); the returned
    factor turns s^2 / n into an unbiased variance of the mean. 1 for independent pairs.

    Parameters
    ----------
    w : array_like, shape (..., R2, R)
        Interpolation weights (`interpolation_weights`).

    Returns
    -------
    ndarray, shape (...)
    """
    w = np.asarray(w, dtype=float)
    n = w.shape[-2]
    if n < 2:
        return np.ones(w.shape[:-2])
    # S = I + W W^T: 1^T S 1 = n + |W^T 1|^2 and tr S = n + |W|_F^2 (no n x n product)
    tot = n + np.sum(np.sum(w, axis=-2) ** 2, axis=-1)
    tr = n + np.sum(w**2, axis=(-2, -1))
    # with independent pairs (W = I): tot = tr = 2n -> factor 1
    return (tot / n**2) / ((tr - tot / n) / (n - 1)) * n


def mean_ci(values, confidence: float = 0.95, variance_factor=1.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the last axis with a Student-t interval.

    Parameters
    ----------
    values : array_like, shape (..., n)
        Samples. NaN anywhere makes that row's mean and interval NaN.
    confidence : float
        Two-sided coverage.
    variance_factor : float or array_like, shape (...)
        Multiplies s^2 / n (correlated samples, see `pair_variance_factor`).

    Returns
    -------
    mean : ndarray, shape (...)
    ci : ndarray, shape (..., 2)
        Lower and upper limits; NaN when n < 2.
    """
    v = np.asarray(values, dtype=float)
    n = v.shape[-1]
    m = v.mean(axis=-1)
    if n < 2:
        return m, np.full((*m.shape, 2), np.nan)
    se = v.std(axis=-1, ddof=1) / np.sqrt(n) * np.sqrt(np.asarray(variance_factor, dtype=float))
    h = stats.t.ppf(0.5 + confidence / 2, n - 1) * se
    return m, np.stack([m - h, m + h], axis=-1)


def delta_contrast(i_ref, i_other, acq_ref=None, acq_other=None, confidence: float = 0.95):
    """Mean contrast per fluence with its interval, from paired acquisitions.

    Parameters
    ----------
    i_ref, i_other, acq_ref, acq_other
        As in `paired_ratios`.
    confidence : float
        Two-sided coverage of the interval.

    Returns
    -------
    dict
        ``delta`` (F,) [1], ``ci95`` (F, 2) [1], ``pairs`` (F, R2) [1].
    """
    pairs, w = paired_ratios(i_ref, i_other, acq_ref, acq_other, return_weights=True)
    m, ci = mean_ci(pairs, confidence, pair_variance_factor(w))
    return {"delta": m, "ci95": ci, "pairs": pairs}


def delta_of_means(mean, mean_ref, se=None, se_ref=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Delta = mean / mean_ref - 1 of two mean intensities, with its propagated error.

    The unpaired form of the contrast (for means whose standard errors come from a noise
    model, as in the mechanism comparison); `delta_contrast` is the paired form used on
    repeated acquisitions.

    Parameters
    ----------
    mean, mean_ref : array_like
        Mean intensities (broadcast against each other). [any, same unit]
    se, se_ref : array_like, optional
        Their standard errors (same unit); both or neither.

    Returns
    -------
    delta : ndarray
        Contrast. [1]
    err : ndarray or None
        First-order 1-sigma error |ratio| sqrt((se/mean)^2 + (se_ref/mean_ref)^2). [1]
    """
    y = np.asarray(mean, dtype=float)
    y0 = np.asarray(mean_ref, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = y / y0
        if se is None or se_ref is None:
            return ratio - 1.0, None
        s = np.asarray(se, dtype=float)
        s0 = np.asarray(se_ref, dtype=float)
        err = np.abs(ratio) * np.sqrt((s / y) ** 2 + (s0 / y0) ** 2)
    return ratio - 1.0, err
