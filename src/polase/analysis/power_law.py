"""Power law of the emission below threshold: log-log slope and implied photon order."""

from __future__ import annotations

import numpy as np


def loglog_slope(
    fluence, intensity, upper_fluence=None, *, min_points: int = 2
) -> dict[str, np.ndarray]:
    """Least-squares slope of log(intensity) versus log(fluence) below an upper fluence.

    Vectorized over leading axes: `intensity` (..., n) and `upper_fluence` (...) broadcast,
    so each bootstrap sample may use its own upper limit.

    Parameters
    ----------
    fluence : array_like, shape (n,)
        Pump fluences. [mJ/cm2]
    intensity : array_like, shape (..., n)
        Emission intensity at each fluence. [any]
    upper_fluence : float or array_like, shape (...), optional
        Only fluences strictly below it are used (e.g. the ASE threshold). [mJ/cm2]
        None: all fluences.
    min_points : int
        Fewer usable points (finite, positive, below the limit) give NaN.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``slope`` (d log I / d log F), ``intercept`` (log I at F = 1 mJ/cm2),
        ``n_points`` (points used).
    """
    f = np.asarray(fluence, dtype=float)
    y = np.asarray(intensity, dtype=float)
    lx = np.log(f)
    use = np.isfinite(y) & (y > 0)
    if upper_fluence is not None:
        use = use & (f < np.asarray(upper_fluence, dtype=float)[..., None])
    wgt = use.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ly = np.where(use, np.log(np.where(use, y, 1.0)), 0.0)
        n = wgt.sum(-1)
        mx = (wgt * lx).sum(-1) / n
        my = (wgt * ly).sum(-1) / n
        dx = np.where(use, lx - mx[..., None], 0.0)
        sxx = (dx * dx).sum(-1)
        slope = (dx * (ly - my[..., None])).sum(-1) / sxx
    ok = (n >= min_points) & (sxx > 0)
    return {
        "slope": np.where(ok, slope, np.nan),
        "intercept": np.where(ok, my - slope * mx, np.nan),
        "n_points": n.astype(int),
    }


def photon_order(slope: float) -> int | None:
    """Nearest integer photon order (>= 1) implied by a log-log slope; None for NaN."""
    if slope is None or not np.isfinite(slope):
        return None
    return max(1, round(float(slope)))
