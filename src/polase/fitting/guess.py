"""Starting values from the data for the built-in models (vectorized over fits)."""

from __future__ import annotations

import numpy as np

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


def _peak(x, y, baseline: np.ndarray):
    """Height, center and FWHM of the main peak of each row above `baseline` (N,)."""
    n, m = y.shape
    yb = np.where(np.isfinite(y), y - baseline[:, None], -np.inf)
    i = np.argmax(yb, axis=1)
    rows = np.arange(n)
    height = yb[rows, i]
    center = x[rows, i]
    half = height[:, None] / 2.0
    above = yb >= half
    # contiguous run around the maximum
    idx = np.arange(m)[None, :]
    below_left = np.where(~above & (idx < i[:, None]), idx, -1).max(axis=1)
    below_right = np.where(~above & (idx > i[:, None]), idx, m).min(axis=1)
    left = x[rows, np.clip(below_left + 1, 0, m - 1)]
    right = x[rows, np.clip(below_right - 1, 0, m - 1)]
    dx = np.nanmedian(np.abs(np.diff(x, axis=1)), axis=1) if m > 1 else np.ones(n)
    fwhm = np.maximum(np.abs(right - left) + dx, dx)
    return height, center, fwhm


def _edge_baseline(y):
    m = y.shape[1]
    k = max(1, m // 10)
    edges = np.concatenate([y[:, :k], y[:, -k:]], axis=1)
    return np.nanmedian(edges, axis=1)


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
