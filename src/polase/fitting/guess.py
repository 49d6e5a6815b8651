"""Starting values from the data for the built-in models (vectorized over fits)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..errors import DataValidationError, FitError
from .models import _FWHM_GAUSS, Model, get_model


def _prep(x, y):
    y = np.asarray(y, dtype=float)
    if y.ndim == 1:
        y = y[None, :]
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = np.broadcast_to(x, y.shape)
    if x.shape != y.shape:
        raise DataValidationError(f"x {x.shape} and y {y.shape} do not match")
    return x, y


@njit(cache=True)
def _peak_rows(x, y, baseline, height, center, fwhm):
    """Height above baseline, position and FWHM (half-maximum crossings) of each row's maximum."""
    n, m = y.shape
    for i in range(n):
        xi = x[i] if x.shape[0] > 1 else x[0]
        b = baseline[i]
        k = -1
        best = -np.inf
        for j in range(m):
            v = y[i, j] - b
            if v > best:  # NaN never wins
                best = v
                k = j
        if k < 0:
            height[i] = np.nan
            center[i] = np.nan
            fwhm[i] = np.nan
            continue
        half = best / 2.0
        lo = k
        while lo > 0 and not (y[i, lo - 1] - b < half):
            lo -= 1
        hi = k
        while hi < m - 1 and not (y[i, hi + 1] - b < half):
            hi += 1
        # interpolate the crossings linearly between samples
        xl = xi[lo]
        if lo > 0:
            y0 = y[i, lo - 1] - b
            y1 = y[i, lo] - b
            if y1 != y0 and math.isfinite(y0):
                xl = xi[lo - 1] + (half - y0) / (y1 - y0) * (xi[lo] - xi[lo - 1])
        xr = xi[hi]
        if hi < m - 1:
            y0 = y[i, hi] - b
            y1 = y[i, hi + 1] - b
            if y1 != y0 and math.isfinite(y1):
                xr = xi[hi] + (half - y0) / (y1 - y0) * (xi[hi + 1] - xi[hi])
        dx = abs(xi[min(k + 1, m - 1)] - xi[max(k - 1, 0)]) / 2.0 if m > 1 else 1.0
        height[i] = best
        center[i] = xi[k]
        fwhm[i] = max(abs(xr - xl), dx)


def _peak(x, y, baseline: np.ndarray):
    """Height, center and FWHM of the main peak of each row above `baseline` (N,)."""
    n = y.shape[0]
    h, c, w = np.empty(n), np.empty(n), np.empty(n)
    x2 = x[:1] if x.strides[0] == 0 else x  # shared abscissa (broadcast view)
    _peak_rows(
        np.ascontiguousarray(x2),
        np.ascontiguousarray(y),
        np.ascontiguousarray(baseline, float),
        h,
        c,
        w,
    )
    return h, c, w


@njit(cache=True)
def _edge_median(y, k):
    n, m = y.shape
    out = np.empty(n)
    buf = np.empty(2 * k)
    for i in range(n):
        c = 0
        for j in range(k):
            for v in (y[i, j], y[i, m - 1 - j]):
                if math.isfinite(v):
                    buf[c] = v
                    c += 1
        out[i] = np.median(buf[:c]) if c > 0 else np.nan
    return out


def _edge_baseline(y):
    """Median of the outer 10 % of points (each side) of every row."""
    k = max(1, y.shape[1] // 10)
    return _edge_median(np.ascontiguousarray(y), k)


def guess(model: str | Model, x, y) -> np.ndarray:
    """Starting parameters estimated from the data, (N, P).

    Parameters
    ----------
    model
        A built-in name ("gaussian", "gaussian_offset", "lorentzian", "pseudo_voigt",
        "voigt", "exp1", "exp2", "exp3"), a `band_sum_model` or a `reconvolution_model`.
    x
        Abscissa, (M,) or (N, M).
    y
        Data, (M,) or (N, M).

    Returns
    -------
    ndarray
        (N, P) starting values in the model's parameter order.

    Notes
    -----
    Peaks: height, position and FWHM of the highest point (half-maximum crossings), baseline
    from the median of the outer 10 % of points. Decays: offset from the tail, lifetime from
    the area over the peak height; several components spread the lifetime by factors
    1/4, 1, 4. Reconvolution: background from the channels before the IRF, shift 0,
    scatter 0. Band sums: bands placed at equal quantiles of the area.
    """
    mdl = get_model(model)
    x, y = _prep(x, y)
    name = mdl.name
    if name in ("gaussian", "lorentzian", "pseudo_voigt", "voigt", "gaussian_offset"):
        base = _edge_baseline(y) if name == "gaussian_offset" else np.zeros(y.shape[0])
        h, c, w = _peak(x, y, base)
        if name == "gaussian":
            return np.column_stack([h, c, w / _FWHM_GAUSS])
        if name == "gaussian_offset":
            return np.column_stack([h, c, w / _FWHM_GAUSS, base])
        if name == "lorentzian":
            return np.column_stack([h, c, w / 2.0])
        if name == "pseudo_voigt":
            return np.column_stack([h, c, w, np.full_like(h, 0.5)])
        return np.column_stack([h, c, w / 3.6, w / 3.6])
    if name in ("exp1", "exp2", "exp3"):
        return _guess_exp(x, y, int(name[-1]))
    if name.startswith("reconvolution"):
        return _guess_reconv(mdl, y)
    if name.startswith("band_sum"):
        return _guess_bands(mdl, x, y)
    raise FitError(f"no guess rule for model {name!r}")


def _guess_exp(x, y, n_exp):
    m = y.shape[1]
    k = max(1, m // 10)
    off = np.nanmedian(y[:, -k:], axis=1)
    yb = np.clip(y - off[:, None], 0.0, None)
    a0 = np.nanmax(yb, axis=1)
    a0 = np.where(a0 > 0, a0, 1.0)
    area = np.trapezoid(np.nan_to_num(yb), x, axis=1)
    span = np.abs(x[:, -1] - x[:, 0])
    tau = np.clip(area / a0, span / (20 * m), span)
    cols = []
    factors = {1: [1.0], 2: [0.25, 2.0], 3: [0.1, 0.5, 3.0]}[n_exp]
    for fct in factors:
        cols += [a0 / n_exp, tau * fct]
    return np.column_stack([*cols, off])


def _guess_reconv(mdl, y):
    n_exp = mdl.n_exp
    irf = mdl.irf
    t = mdl.x_grid
    dt = t[1] - t[0]
    onset = int(np.argmax(irf >= 0.05 * irf.max()))
    pre = y[:, : max(1, onset - 1)]
    bg = (
        np.maximum(np.nanmean(pre, axis=1), 0.0)
        if onset > 2
        else np.maximum(np.nanmin(y, axis=1), 0.0)
    )
    ypk = np.nanmax(y, axis=1) - bg
    ypk = np.where(ypk > 0, ypk, 1.0)
    area = np.nansum(np.clip(y - bg[:, None], 0, None), axis=1) * dt
    tau = np.clip(area / ypk, 2 * dt, t.size * dt)
    factors = {1: [1.0], 2: [0.3, 2.0], 3: [0.1, 0.5, 2.5]}.get(n_exp, np.geomspace(0.1, 3, n_exp))
    cols = []
    for fct in factors:
        cols += [ypk / n_exp, tau * fct]
    nfit = y.shape[0]
    # a small positive background keeps the Poisson model > 0 before the rise
    return np.column_stack([*cols, np.zeros(nfit), np.maximum(bg, 1e-3), np.zeros(nfit)])


def _guess_bands(mdl, x, y):
    bands = mdl.bands if hasattr(mdl, "bands") else [n.split("_", 1)[1] for n in mdl.param_names]
    baseline = getattr(mdl, "baseline", "constant")
    nb = len(bands)
    base = _edge_baseline(y) if baseline != "none" else np.zeros(y.shape[0])
    yb = np.clip(np.nan_to_num(y - base[:, None]), 0, None)
    cum = np.cumsum(yb, axis=1)
    tot = np.where(cum[:, -1] > 0, cum[:, -1], 1.0)
    rows = np.arange(y.shape[0])
    h, c, w = _peak(x, y, base)
    cols = []
    for b, kind in enumerate(bands):
        qi = np.array([np.searchsorted(cum[r] / tot[r], (b + 0.5) / nb) for r in rows])
        qi = np.clip(qi, 0, y.shape[1] - 1)
        cb = x[rows, qi] if nb > 1 else c
        hb = yb[rows, qi] if nb > 1 else h
        wb = w / nb
        if kind == "gaussian":
            cols += [hb, cb, wb / _FWHM_GAUSS]
        elif kind == "lorentzian":
            cols += [hb, cb, wb / 2]
        elif kind == "pseudo_voigt":
            cols += [hb, cb, wb, np.full_like(hb, 0.5)]
        else:
            cols += [hb, cb, wb / 3.6, wb / 3.6]
    if baseline in ("constant", "linear"):
        cols.append(base)
    if baseline == "linear":
        cols.append(np.zeros_like(base))
    return np.column_stack(cols)
