"""Polarization contrast Delta = (I_other - I_linear) / I_linear, paired in acquisition order.

Pairing. In a switching sequence L, C, L, C, ... each acquisition of the other
polarization (C_i) is compared with the linear intensity *interpolated to its
acquisition index* between the linear acquisitions just before and just after it
(the mean of the two neighbours when C sits half-way; the single neighbour at either
end of the sequence). A laser drift that is linear over one L-C-L cycle cancels exactly.
Delta_i = C_i / L_interp(i) - 1; the reported value is the mean over the pairs at that
fluence with a Student-t 95 % interval (n - 1 degrees of freedom). Without acquisition
indices, repeat r of one polarization is paired with repeat r of the other.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..errors import DataValidationError


def paired_ratios(i_ref, i_other, acq_ref=None, acq_other=None) -> np.ndarray:
    """Per-pair contrast C_i / L_interp(i) - 1 at each fluence.

    Parameters
    ----------
    i_ref : array_like, shape (F, R)
        Reference (linear) intensities per fluence and repeat. [any]
    i_other : array_like, shape (F, R2)
        Intensities of the other polarization. [same as i_ref]
    acq_ref, acq_other : array_like, shapes (F, R) and (F, R2), optional
        Acquisition indices (order of acquisition); both or neither.

    Returns
    -------
    ndarray, shape (F, R2)
        Delta per acquisition of the other polarization. [1] NaN where an intensity
        involved is NaN.
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
        ref = a
    else:
        ar = np.asarray(acq_ref, dtype=float)
        ao = np.asarray(acq_other, dtype=float)
        ref = np.empty_like(c)
        for k in range(a.shape[0]):
            order = np.argsort(ar[k])
            xs, ys = ar[k][order], a[k][order]
            if np.any(np.diff(xs) <= 0):
                raise DataValidationError(f"acquisition indices repeat at fluence index {k}")
            if np.isnan(ys).any():
                # a masked reference spectrum may not silently borrow its neighbours
                lo = np.searchsorted(xs, ao[k], side="right") - 1
                hi = np.searchsorted(xs, ao[k], side="left")
                lo_bad = np.isnan(ys[np.clip(lo, 0, len(xs) - 1)])
                hi_bad = np.isnan(ys[np.clip(hi, 0, len(xs) - 1)])
                ref[k] = np.where(lo_bad | hi_bad, np.nan, np.interp(ao[k], xs, np.nan_to_num(ys)))
            else:
                ref[k] = np.interp(ao[k], xs, ys)
    with np.errstate(divide="ignore", invalid="ignore"):
        return c / ref - 1.0


def mean_ci(values, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the last axis with a Student-t interval.

    Parameters
    ----------
    values : array_like, shape (..., n)
        Samples. NaN anywhere makes that row's mean and interval NaN.
    confidence : float
        Two-sided coverage.

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
    se = v.std(axis=-1, ddof=1) / np.sqrt(n)
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
    pairs = paired_ratios(i_ref, i_other, acq_ref, acq_other)
    m, ci = mean_ci(pairs, confidence)
    return {"delta": m, "ci95": ci, "pairs": pairs}
