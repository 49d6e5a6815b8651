"""ASE thresholds: the kink of the light-in/light-out curve and the onset of spectral narrowing.

Both estimators are vectorized over leading (bootstrap) axes so that the whole bootstrap
distribution is computed in one pass.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataValidationError

#: Method names reported in results.json.
HINGE_METHOD = "loglog_hinge_fit"
FWHM_METHOD = "fwhm_midpoint_crossing"


def hinge_fit(x, y, *, n_grid: int = 1024, min_points: int = 2) -> dict[str, np.ndarray]:
    """Continuous two-segment (hinge) least-squares fit, profiled over the breakpoint.

    Model: ``y = a + s1 * min(x - b, 0) + s2 * max(x - b, 0)``. For each breakpoint on a
    grid between the `min_points`-th and the `min_points`-th-last x (so that each segment
    is supported by at least `min_points` points) the model is linear in (a, s1, s2) and
    solved exactly; the breakpoint of least squared error is refined by a parabola
    through the three neighbouring grid errors.

    Parameters
    ----------
    x : array_like, shape (n,)
        Abscissae, strictly increasing (e.g. log fluence).
    y : array_like, shape (..., n)
        Ordinates (e.g. log intensity); finite.
    n_grid : int
        Breakpoint grid size.
    min_points : int
        Minimum number of points on each side of the breakpoint.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``breakpoint``, ``intercept`` (value at the breakpoint), ``slope_below``,
        ``slope_above``, ``sse``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = x.size
    if n < 2 * min_points + 1 or not np.all(np.diff(x) > 0):
        raise DataValidationError(
            f"hinge fit needs >= {2 * min_points + 1} strictly increasing points, got {n}"
        )
    if not np.all(np.isfinite(y)):
        raise DataValidationError("hinge fit needs finite y values (drop masked points first)")
    grid = np.linspace(x[min_points - 1], x[n - min_points], n_grid)
    d = x[None, :] - grid[:, None]  # (G, n)
    design = np.stack([np.ones_like(d), np.minimum(d, 0.0), np.maximum(d, 0.0)], axis=-1)
    pinv = np.linalg.pinv(design)  # (G, 3, n)
    coef = np.einsum("gkn,...n->...gk", pinv, y)
    fit = np.einsum("gnk,...gk->...gn", design, coef)
    sse = np.sum((fit - y[..., None, :]) ** 2, axis=-1)  # (..., G)
    j = np.argmin(sse, axis=-1)
    jc = np.clip(j, 1, n_grid - 2)
    take = np.take_along_axis
    e0 = take(sse, (jc - 1)[..., None], -1)[..., 0]
    e1 = take(sse, jc[..., None], -1)[..., 0]
    e2 = take(sse, (jc + 1)[..., None], -1)[..., 0]
    denom = e0 - 2 * e1 + e2
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where((denom > 0) & (j == jc), 0.5 * (e0 - e2) / denom, 0.0)
    step = grid[1] - grid[0]
    b = np.clip(grid[j] + np.clip(shift, -1, 1) * step * (j == jc), grid[0], grid[-1])
    # exact linear solve at the refined breakpoint
    db = x - b[..., None]
    des = np.stack([np.ones_like(db), np.minimum(db, 0.0), np.maximum(db, 0.0)], axis=-1)
    c = np.linalg.solve(
        np.einsum("...nk,...nl->...kl", des, des) + 1e-12 * np.eye(3),
        np.einsum("...nk,...n->...k", des, y)[..., None],
    )[..., 0]
    res = y - np.einsum("...nk,...k->...n", des, c)
    return {
        "breakpoint": b,
        "intercept": c[..., 0],
        "slope_below": c[..., 1],
        "slope_above": c[..., 2],
        "sse": np.sum(res**2, axis=-1),
    }


def hinge_threshold(fluence, intensity, **kwargs) -> dict[str, np.ndarray]:
    """Threshold fluence from a hinge fit of log(intensity) versus log(fluence).

    Parameters
    ----------
    fluence : array_like, shape (n,)
        Pump fluences, strictly increasing. [mJ/cm2]
    intensity : array_like, shape (..., n)
        ASE-band intensity at each fluence; positive. [any]
    **kwargs
        Passed to `hinge_fit`.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``threshold`` [mJ/cm2], ``slope_below`` and ``slope_above`` (log-log slopes),
        ``sse``; NaN where an intensity is not positive.
    """
    f = np.asarray(fluence, dtype=float)
    i = np.asarray(intensity, dtype=float)
    good = np.all(i > 0, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.log(np.where(good[..., None], i, 1.0))
    r = hinge_fit(np.log(f), ly, **kwargs)
    return {
        "threshold": np.where(good, np.exp(r["breakpoint"]), np.nan),
        "slope_below": np.where(good, r["slope_below"], np.nan),
        "slope_above": np.where(good, r["slope_above"], np.nan),
        "sse": np.where(good, r["sse"], np.nan),
    }


def fwhm_threshold(fluence, fwhm, *, n_low: int = 1, n_high: int = 1) -> dict[str, np.ndarray]:
    """Fluence at which the FWHM first falls to midway between its PL and ASE values.

    The PL width is the mean FWHM of the `n_low` lowest fluences, the ASE width that of
    the `n_high` highest; the threshold is the first crossing of the midpoint, linearly
    interpolated in log fluence between the bracketing fluences.

    Parameters
    ----------
    fluence : array_like, shape (n,)
        Pump fluences, strictly increasing. [mJ/cm2]
    fwhm : array_like, shape (..., n)
        FWHM at each fluence. [nm]
    n_low, n_high : int
        Number of fluences averaged for the PL and ASE reference widths.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``threshold`` [mJ/cm2] (NaN if the width never narrows past the midpoint or a
        width is NaN), ``fwhm_pl`` and ``fwhm_ase`` [nm], ``midpoint`` [nm].
    """
    f = np.asarray(fluence, dtype=float)
    w = np.asarray(fwhm, dtype=float)
    n = f.size
    if n < 3:
        raise DataValidationError(f"FWHM threshold needs >= 3 fluences, got {n}")
    w_pl = w[..., :n_low].mean(axis=-1)
    w_ase = w[..., n - n_high :].mean(axis=-1)
    mid = 0.5 * (w_pl + w_ase)
    below = w <= mid[..., None]
    first = np.argmax(below, axis=-1)
    ok = below.any(axis=-1) & (first > 0) & np.all(np.isfinite(w), axis=-1) & (w_ase < w_pl)
    i1 = np.clip(first, 1, n - 1)
    lf = np.log(f)
    w0 = np.take_along_axis(w, (i1 - 1)[..., None], -1)[..., 0]
    w1 = np.take_along_axis(w, i1[..., None], -1)[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.clip((w0 - mid) / (w0 - w1), 0.0, 1.0)
    lt = lf[i1 - 1] + frac * (lf[i1] - lf[i1 - 1])
    return {
        "threshold": np.where(ok, np.exp(lt), np.nan),
        "fwhm_pl": w_pl,
        "fwhm_ase": w_ase,
        "midpoint": mid,
    }
