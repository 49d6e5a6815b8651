"""ASE thresholds: the kink of the light-in/light-out curve and the onset of spectral narrowing.

Both estimators are vectorized over leading (bootstrap) axes so that the whole bootstrap
distribution is computed in one pass.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataValidationError

#: Method names reported in results.json, by the scale of the light-in/light-out hinge fit.
HINGE_METHODS = {"linear": "linear_hinge_fit", "loglog": "loglog_hinge_fit"}
HINGE_METHOD = HINGE_METHODS["linear"]
FWHM_METHOD = "fwhm_onset_hinge_fit"
FWHM_MIDPOINT_METHOD = "fwhm_midpoint_crossing"


def _fixed_break(x, y, b):
    """Exact least squares of the hinge with breakpoint(s) b; returns coef (..., 3), sse."""
    d = x - b[..., None]
    des = np.stack([np.ones_like(d), np.minimum(d, 0.0), np.maximum(d, 0.0)], axis=-1)
    dt = np.swapaxes(des, -1, -2)
    c = np.linalg.solve(dt @ des + 1e-12 * np.eye(3), dt @ y[..., None])[..., 0]
    res = y - (des @ c[..., None])[..., 0]
    return c, np.sum(res**2, axis=-1)


def _line_fits(x, y, sel):
    """OLS line of y over the points `sel` (bool (n,)): intercept, slope, sse (each (...))."""
    xs, ys = x[sel], y[..., sel]
    mx = xs.mean()
    dx = xs - mx
    slope = np.einsum("n,...n->...", dx, ys - ys.mean(-1, keepdims=True)) / np.sum(dx * dx)
    icpt = ys.mean(-1) - slope * mx
    sse = np.sum((ys - icpt[..., None] - slope[..., None] * xs) ** 2, axis=-1)
    return icpt, slope, sse


def hinge_fit(x, y, *, min_points: int = 2) -> dict[str, np.ndarray]:
    """Continuous two-segment (hinge) least-squares fit, solved exactly.

    Model: ``y = a + s1 * min(x - b, 0) + s2 * max(x - b, 0)``, each segment supported by
    at least `min_points` points. For every split of the sorted points into a left and a
    right set, the unconstrained optimum is two independent lines; when they intersect
    inside the gap between the sets, the intersection is the breakpoint and that is the
    optimum for the split. Otherwise the optimum lies at a gap edge, i.e. a breakpoint
    at a data point, where the model is linear in (a, s1, s2). The global minimum over
    all these candidates is the exact least-squares hinge.

    Parameters
    ----------
    x : array_like, shape (n,)
        Abscissae, strictly increasing (e.g. log fluence).
    y : array_like, shape (..., n)
        Ordinates (e.g. log intensity); finite.
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
    lead = y.shape[:-1]
    cand_b, cand_sse = [], []
    # breakpoints at the data points that leave min_points on each side (inclusive)
    for j in range(min_points - 1, n - min_points + 1):
        b = np.full(lead, x[j])
        _, e = _fixed_break(x, y, b)
        cand_b.append(b)
        cand_sse.append(e)
    # interior optima: intersection of the two separate lines inside the gap
    idx = np.arange(n)
    for j in range(min_points - 1, n - min_points):
        c1, s1, e1 = _line_fits(x, y, idx <= j)
        c2, s2, e2 = _line_fits(x, y, idx > j)
        with np.errstate(divide="ignore", invalid="ignore"):
            b = (c2 - c1) / (s1 - s2)
        ok = np.isfinite(b) & (b > x[j]) & (b < x[j + 1])
        cand_b.append(np.where(ok, b, x[j]))
        cand_sse.append(np.where(ok, e1 + e2, np.inf))
    bs = np.stack(cand_b, axis=-1)
    es = np.stack(cand_sse, axis=-1)
    k = np.argmin(es, axis=-1)
    b = np.take_along_axis(bs, k[..., None], -1)[..., 0]
    c, sse = _fixed_break(x, y, b)
    return {
        "breakpoint": b,
        "intercept": c[..., 0],
        "slope_below": c[..., 1],
        "slope_above": c[..., 2],
        "sse": sse,
    }


def hinge_threshold(
    fluence, intensity, *, scale: str = "linear", **kwargs
) -> dict[str, np.ndarray]:
    """Threshold fluence: the kink of a continuous two-segment fit of the L-L curve.

    With ``scale="linear"`` (default) the hinge is fitted to intensity versus fluence: the
    common "intersection of two straight-line fits", made continuous and solved exactly.
    With ``scale="loglog"`` it is fitted to log intensity versus log fluence, which weights
    the sub-threshold points more and, where the onset is gradual (an inhomogeneous
    ensemble), finds where the superlinear rise starts rather than where the steep branch
    takes over.

    Parameters
    ----------
    fluence : array_like, shape (n,)
        Pump fluences, strictly increasing. [mJ/cm2]
    intensity : array_like, shape (..., n)
        ASE-band intensity at each fluence; positive for ``scale="loglog"``. [any]
    scale : {"linear", "loglog"}
        Axes on which the two segments are straight lines.
    **kwargs
        Passed to `hinge_fit`.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``threshold`` [mJ/cm2], ``slope_below`` and ``slope_above`` (in intensity per
        mJ/cm2 for "linear", dimensionless log-log slopes for "loglog"), ``sse``; NaN where
        an intensity is not finite (or, for "loglog", not positive).
    """
    if scale not in HINGE_METHODS:
        raise DataValidationError(f"hinge scale must be 'linear' or 'loglog', got {scale!r}")
    f = np.asarray(fluence, dtype=float)
    i = np.asarray(intensity, dtype=float)
    if scale == "loglog":
        good = np.all(i > 0, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            x, y = np.log(f), np.log(np.where(good[..., None], i, 1.0))
    else:
        good = np.all(np.isfinite(i), axis=-1)
        x, y = f, np.where(good[..., None], i, 0.0)
    r = hinge_fit(x, y, **kwargs)
    b = np.exp(r["breakpoint"]) if scale == "loglog" else r["breakpoint"]
    return {
        "threshold": np.where(good, b, np.nan),
        "slope_below": np.where(good, r["slope_below"], np.nan),
        "slope_above": np.where(good, r["slope_above"], np.nan),
        "sse": np.where(good, r["sse"], np.nan),
    }


def fwhm_threshold(
    fluence, fwhm, *, method: str = "onset", n_low: int = 1, n_high: int = 1
) -> dict[str, np.ndarray]:
    """Threshold of spectral narrowing: its onset (default) or its midpoint crossing.

    Parameters
    ----------
    fluence : array_like, shape (n,)
        Pump fluences, strictly increasing. [mJ/cm2]
    fwhm : array_like, shape (..., n)
        FWHM at each fluence. [nm]
    method : {"onset", "midpoint"}
        "onset": `fwhm_onset_threshold` (the "spectral narrowing onset", method
        name `FWHM_METHOD`); "midpoint": `fwhm_midpoint_threshold` (`FWHM_MIDPOINT_METHOD`).
    n_low, n_high : int
        Number of fluences averaged for the PL and ASE reference widths.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``threshold`` [mJ/cm2], ``fwhm_pl``, ``fwhm_ase`` and ``midpoint`` [nm] (see the
        two estimators; the onset one adds ``slope_below`` and ``slope_above``).
    """
    if method == "onset":
        return fwhm_onset_threshold(fluence, fwhm, n_high=n_high)
    if method == "midpoint":
        return fwhm_midpoint_threshold(fluence, fwhm, n_low=n_low, n_high=n_high)
    raise DataValidationError(
        f"FWHM threshold method must be 'onset' or 'midpoint', got {method!r}"
    )


def fwhm_onset_threshold(
    fluence, fwhm, *, n_high: int = 1, min_points: int = 3
) -> dict[str, np.ndarray]:
    """Onset of spectral narrowing: the kink of a hinge fit of FWHM versus log fluence.

    Below threshold the width is that of the spontaneous band (flat, or slowly growing as
    the gain band lifts the red wing); above, gain narrowing makes it fall. The exact
    least-squares continuous two-segment fit (`hinge_fit`) of FWHM against log fluence puts
    its breakpoint where the falling branch starts: the fluence above which the spectrum
    narrows. Rows whose right segment does not fall (no narrowing) or with a non-finite
    width give NaN.

    Parameters
    ----------
    fluence : array_like, shape (n,)
        Pump fluences, strictly increasing. [mJ/cm2]
    fwhm : array_like, shape (..., n)
        FWHM at each fluence. [nm]
    n_high : int
        Number of highest fluences averaged for the ASE reference width.
    min_points : int
        Minimum number of fluences on each side of the kink.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``threshold`` [mJ/cm2]; ``fwhm_pl``: the fitted width at the onset [nm];
        ``fwhm_ase``: mean width of the `n_high` highest fluences [nm]; ``midpoint``: their
        mean [nm]; ``slope_below``, ``slope_above``: the two slopes [nm per unit ln F].
    """
    f = np.asarray(fluence, dtype=float)
    w = np.asarray(fwhm, dtype=float)
    n = f.size
    if n < 2 * min_points + 1:
        raise DataValidationError(
            f"FWHM onset threshold needs >= {2 * min_points + 1} fluences, got {n}"
        )
    finite = np.all(np.isfinite(w), axis=-1)
    r = hinge_fit(np.log(f), np.where(finite[..., None], w, 0.0), min_points=min_points)
    w_ase = w[..., n - n_high :].mean(axis=-1)
    ok = finite & (r["slope_above"] < 0.0) & (r["slope_above"] < r["slope_below"])
    return {
        "threshold": np.where(ok, np.exp(r["breakpoint"]), np.nan),
        "fwhm_pl": np.where(finite, r["intercept"], np.nan),
        "fwhm_ase": w_ase,
        "midpoint": 0.5 * (np.where(finite, r["intercept"], np.nan) + w_ase),
        "slope_below": np.where(finite, r["slope_below"], np.nan),
        "slope_above": np.where(finite, r["slope_above"], np.nan),
    }


def fwhm_midpoint_threshold(
    fluence, fwhm, *, n_low: int = 1, n_high: int = 1
) -> dict[str, np.ndarray]:
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
