"""Per-spectrum features, vectorized over any number of leading axes.

Every function takes a shared wavelength axis ``wavelength`` of shape (W,) and spectra of
shape (..., W) and returns arrays of shape (...). Pixels that are NaN (saturated or
missing) never produce a silent number: a feature whose window or half-maximum region
contains a NaN pixel is NaN itself, and `window_has_nan` tells which spectra were hit.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit

from ..errors import DataValidationError

#: FWHM of a Gaussian divided by its standard deviation, 2 sqrt(2 ln 2).
GAUSS_FWHM_PER_SIGMA: float = 2.0 * np.sqrt(2.0 * np.log(2.0))


def _check_axis(wavelength, spectra) -> tuple[np.ndarray, np.ndarray]:
    wl = np.asarray(wavelength, dtype=float)
    y = np.asarray(spectra, dtype=float)
    if wl.ndim != 1 or wl.size < 5:
        raise DataValidationError(f"wavelength must be 1-D with >= 5 pixels, got shape {wl.shape}")
    if y.shape[-1] != wl.size:
        raise DataValidationError(
            f"spectra last axis ({y.shape[-1]}) must match the wavelength axis ({wl.size})"
        )
    if not np.all(np.diff(wl) > 0):
        raise DataValidationError("wavelength must be strictly increasing")
    return wl, y


def baseline_level(
    wavelength,
    spectra,
    exclude_nm: tuple[float, float] | None = None,
    min_pixels: int = 16,
    max_pixels: int = 256,
    mask=None,
):
    """Constant baseline of each spectrum: median of the pixels outside the emission region.

    Parameters
    ----------
    wavelength : array_like, shape (W,)
        Pixel wavelengths. [nm]
    spectra : array_like, shape (..., W)
        Spectra. [counts or counts/s]
    exclude_nm : (float, float) or None
        Emission region excluded from the estimate. [nm] None: no baseline (zeros).
    min_pixels : int
        Fewer pixels than this outside the region give a zero baseline (a narrow
        spectrometer window has no emission-free pixels to estimate it from).
    max_pixels : int
        At most this many evenly spaced outside pixels are used (speed).
    mask : array_like of bool, shape (..., W), optional
        Pixels to ignore (saturated).

    Returns
    -------
    ndarray, shape (...)
        Baseline level. [same as spectra]
    """
    wl, y = _check_axis(wavelength, spectra)
    if exclude_nm is None:
        return np.zeros(y.shape[:-1])
    outside = (wl < exclude_nm[0]) | (wl > exclude_nm[1])
    if outside.sum() < min_pixels:
        return np.zeros(y.shape[:-1])
    idx = np.flatnonzero(outside)
    if idx.size > max_pixels:  # evenly spaced subset: the median needs no more
        idx = idx[np.linspace(0, idx.size - 1, max_pixels).astype(int)]
    vals = np.take(y, idx, axis=-1)  # a fresh copy, faster than y[..., idx]
    if mask is not None:
        vals = np.where(np.take(np.asarray(mask, dtype=bool), idx, axis=-1), np.nan, vals)
    if np.isnan(vals).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            base = np.nanmedian(vals, axis=-1)
    else:
        base = _median_inplace(vals)
    return np.nan_to_num(base, nan=0.0)


def _median_inplace(vals: np.ndarray) -> np.ndarray:
    """np.median(vals, axis=-1) (same values) by one in-place partition of `vals`.

    One selection at n // 2 instead of numpy's two; for an even count the lower middle
    value is then the maximum of the lower half (no NaN allowed in `vals`).
    """
    n = vals.shape[-1]
    h = n // 2
    vals.partition(h, axis=-1)
    if n % 2:
        return vals[..., h].copy()
    return (vals[..., :h].max(axis=-1) + vals[..., h]) / 2


def smooth_boxcar(spectra, width_px: int = 5) -> np.ndarray:
    """Centred moving average over `width_px` pixels (odd); NaN anywhere in a window gives NaN.

    Parameters
    ----------
    spectra : array_like, shape (..., W)
        Spectra. [any]
    width_px : int
        Window width in pixels (1: no smoothing).

    Returns
    -------
    ndarray, shape (..., W)
        Smoothed spectra; the edges use the pixels available.
    """
    y = np.asarray(spectra, dtype=float)
    if width_px <= 1:
        return y.copy()
    h = width_px // 2
    bad = np.isnan(y)
    any_bad = bad.any()
    out = _window_sums(np.where(bad, 0.0, y) if any_bad else y, h)
    w = y.shape[-1]
    cnt = np.minimum(np.arange(w) + h + 1, w) - np.maximum(np.arange(w) - h, 0)
    out /= cnt
    if any_bad:
        out[_window_sums(bad.astype(float), h) > 0] = np.nan
    return out


def _window_sums(y: np.ndarray, h: int) -> np.ndarray:
    """Sums of y over the pixels j-h..j+h (those that exist) along the last axis.

    Differences of one running (cumulative) sum per row, in the order of np.cumsum.
    """
    w = y.shape[-1]
    out = np.empty(y.shape)
    _window_sum_rows(np.ascontiguousarray(y).reshape(-1, w), h, out.reshape(-1, w))
    return out


@njit(cache=True)
def _window_sum_rows(y, h, out):  # pragma: no cover - compiled
    w = y.shape[1]
    cs = np.empty(w + 1)
    cs[0] = 0.0
    for i in range(y.shape[0]):
        for j in range(w):
            cs[j + 1] = cs[j] + y[i, j]
        for j in range(w):
            out[i, j] = cs[min(j + h + 1, w)] - cs[max(j - h, 0)]


def _pick(a: np.ndarray, i: np.ndarray) -> np.ndarray:
    """a[..., i] for one index per row (a flat take: faster than take_along_axis)."""
    w = a.shape[-1]
    flat = np.asarray(i, np.intp) + w * np.arange(np.size(i)).reshape(np.shape(i))
    return np.take(np.ascontiguousarray(a).reshape(-1), flat)


def _crossings(ys: np.ndarray, imax: np.ndarray, level: np.ndarray):
    """Fractional pixel positions where `ys` first falls below `level` left and right of `imax`.

    Returns (left, right, ok): NaN positions (ok False) when the search meets a NaN pixel
    or the array edge before crossing.
    """
    return _over_rows(_crossing_rows, ys, imax, level, np.float64)


def _over_rows(kernel, y, index, arg, arg_dtype):
    """Run a compiled row kernel over the rows of `y` (..., W) picked out by `index` (...).

    The kernel is ``kernel(y (N, W), index (N,) int64, arg (N,), a, b, flag)`` and fills the
    float outputs `a`, `b` and the bool output `flag` row by row; `arg` is broadcast to the
    shape of `index` as `arg_dtype`. Returns ``(a, b, flag)``, each of the shape of `index`.
    """
    lead = np.shape(index)
    m = int(np.prod(lead))
    a, b, flag = np.empty(m), np.empty(m), np.empty(m, dtype=np.bool_)
    kernel(
        np.ascontiguousarray(y).reshape(-1, y.shape[-1]),
        np.asarray(index, np.int64).reshape(-1),
        np.broadcast_to(np.asarray(arg, arg_dtype), lead).reshape(-1),
        a,
        b,
        flag,
    )
    return a.reshape(lead), b.reshape(lead), flag.reshape(lead)


@njit(cache=True, error_model="numpy")
def _crossing_rows(ys, imax, level, left, right, ok):  # pragma: no cover - compiled
    """`_crossings` for rows of ys (N, W): walk out from the maximum to the first stop."""
    w = ys.shape[1]
    for i in range(ys.shape[0]):
        lev = level[i]
        ls = imax[i] - 1  # nearest pixel left of the maximum below the level (or NaN)
        while ls >= 0 and not (ys[i, ls] < lev or np.isnan(ys[i, ls])):
            ls -= 1
        rs = imax[i] + 1
        while rs < w and not (ys[i, rs] < lev or np.isnan(ys[i, rs])):
            rs += 1
        li = min(max(ls, 0), w - 2)
        ri = min(max(rs, 1), w - 1)
        yl0, yl1 = ys[i, li], ys[i, li + 1]
        yr0, yr1 = ys[i, ri - 1], ys[i, ri]
        good = ls >= 0 and rs < w and np.isfinite(yl0) and np.isfinite(yr1)
        ok[i] = good
        if not good:
            left[i] = np.nan
            right[i] = np.nan
            continue
        fl = (lev - yl0) / (yl1 - yl0)
        fr = (yr0 - lev) / (yr0 - yr1)
        # clipped to [0, 1]; NaN stays NaN (as np.clip)
        if fl < 0.0:
            fl = 0.0
        elif fl > 1.0:
            fl = 1.0
        if fr < 0.0:
            fr = 0.0
        elif fr > 1.0:
            fr = 1.0
        left[i] = li + fl
        right[i] = ri - 1 + fr


def _refine_crossing(y, pos, level, hw, sign):
    """Level crossing of a least-squares line through the pixels within +-hw of pos.

    `sign` is the expected sign of the slope (+1 on the rising left edge, -1 on the right).
    Falls back to `pos` when the line is flat or has the wrong sign; a crossing outside
    the window is clipped to its edge. NaN when a pixel in the window is NaN.
    """
    lead = np.shape(pos)
    w = y.shape[-1]
    out = np.empty(int(np.prod(lead)))
    _refine_rows(
        np.ascontiguousarray(y).reshape(-1, w),
        np.asarray(pos, float).reshape(-1),
        np.broadcast_to(np.asarray(level, float), lead).reshape(-1),
        np.broadcast_to(np.asarray(hw, np.int64), lead).reshape(-1),
        float(sign),
        out,
    )
    return out.reshape(lead)


@njit(cache=True, error_model="numpy")
def _refine_rows(y, pos, level, hw, sign, out):  # pragma: no cover - compiled
    """`_refine_crossing` for rows of y (N, W): one pass for the means, one for the slope."""
    w = y.shape[1]
    for i in range(y.shape[0]):
        p = pos[i]
        if not np.isfinite(p):
            out[i] = np.nan
            continue
        c = int(np.rint(p))
        h = hw[i]
        lo, hi = max(c - h, 0), min(c + h, w - 1)
        n = 0.0
        su = 0.0
        sv = 0.0
        nan_in = False
        for j in range(lo, hi + 1):
            val = y[i, j]
            if np.isnan(val):
                nan_in = True
            elif np.isfinite(val):
                n += 1.0
                su += j - c
                sv += val
        if nan_in:
            out[i] = np.nan
            continue
        mu = su / max(n, 1.0)
        mv = sv / max(n, 1.0)
        sxy = 0.0
        sxx = 0.0
        for j in range(lo, hi + 1):
            val = y[i, j]
            if np.isfinite(val):
                du = (j - c) - mu
                sxy += du * (val - mv)
                sxx += du * du
        slope = sxy / sxx
        ucross = mu + (level[i] - mv) / slope
        # a crossing beyond the window moves the estimate to the window edge (the next
        # pass continues from there) rather than back to the biased first passage
        if sign * slope > 0 and np.isfinite(ucross):
            x = c + min(max(ucross, -h - 1.0), h + 1.0)
            out[i] = min(max(x, 0.0), w - 1.0)
        else:
            out[i] = p


def _poly_peak(y, center, k):
    """Maximum of a least-squares cubic through the pixels center +- k.

    Fitted to the linear values, so noise does not bias the fitted curve (a parabola on
    log(y) would be exact for a Gaussian, but log of noisy counts is biased low, more in
    the wings). The cubic term follows an asymmetric line top: a parabola over the same
    window put the peak of a red-tailed PL band 1.1 nm red of its maximum, the cubic
    0.15 nm. The maximum is the stationary point with negative curvature inside the
    window (else the parabola vertex of the same fit, clipped to the window). With fewer
    than 17 pixels in the window the fit is a parabola.

    Returns the peak offset [px], the peak value (corrected for the upward bias of the
    maximum of a noisy curve, var(f') / 2|f''| at the peak, from the fit residuals) and
    whether a NaN pixel lies in the window.
    """
    return _over_rows(_poly_peak_rows, y, center, k, np.int64)


@njit(cache=True)
def _lu4(a, piv):  # pragma: no cover - compiled
    """In-place LU factorization with partial pivoting of a 4 x 4 matrix (as LAPACK getrf)."""
    for c in range(4):
        p = c
        for r in range(c + 1, 4):
            if abs(a[r, c]) > abs(a[p, c]):
                p = r
        piv[c] = p
        if p != c:
            for s in range(4):
                a[c, s], a[p, s] = a[p, s], a[c, s]
        for r in range(c + 1, 4):
            a[r, c] /= a[c, c]
            for s in range(c + 1, 4):
                a[r, s] -= a[r, c] * a[c, s]


@njit(cache=True)
def _lu4_solve(lu, piv, b):  # pragma: no cover - compiled
    """Solve in place with the factors of `_lu4`."""
    for c in range(4):
        p = piv[c]
        if p != c:
            b[c], b[p] = b[p], b[c]
    for r in range(1, 4):
        for s in range(r):
            b[r] -= lu[r, s] * b[s]
    for r in range(3, -1, -1):
        for s in range(r + 1, 4):
            b[r] -= lu[r, s] * b[s]
        b[r] /= lu[r, r]


@njit(cache=True, error_model="numpy")
def _poly_peak_rows(y, center, k, du_out, zpk_out, nan_out):  # pragma: no cover - compiled
    """`_poly_peak` for rows of y (N, W): normal equations of the cubic in u = offset / k."""
    w = y.shape[1]
    a = np.empty((4, 4))
    piv = np.empty(4, np.int64)
    pw = np.empty(7)
    coef = np.empty(4)
    g = np.empty(4)
    for i in range(y.shape[0]):
        c = center[i]
        ki = k[i]
        kf = float(ki)
        lo, hi = max(c - ki, 0), min(c + ki, w - 1)
        pw[:] = 0.0
        coef[:] = 0.0
        nan_in = False
        zmax = -np.inf
        for j in range(lo, hi + 1):
            val = y[i, j]
            if np.isnan(val):
                nan_in = True
            z = val if np.isfinite(val) else 0.0
            zmax = max(zmax, z)
            u = (j - c) / kf
            up = 1.0
            for p in range(7):
                pw[p] += up
                if p < 4:
                    coef[p] += z * up
                up *= u
        for r in range(4):
            for s in range(4):
                a[r, s] = pw[r + s]
            a[r, r] += 1e-12
        # a cubic needs points: below 17 in the window (narrow lines) it is pinned to
        # c3 = 0 (a parabola), which would otherwise follow the noise
        if 2 * ki + 1 < 17:
            a[3, 3] += 1e12 * (pw[6] + 1.0)
        _lu4(a, piv)
        _lu4_solve(a, piv, coef)
        c0, c1, c2, c3 = coef[0], coef[1], coef[2], coef[3]
        # stationary points: c1 + 2 c2 v + 3 c3 v^2 = 0, maximum where 2 c2 + 6 c3 v < 0;
        # the root (-c2 - root) / (3 c3), whose curvature is -2 root <= 0, written without
        # cancellation (it tends to -c1 / 2 c2 as c3 -> 0)
        disc = c2 * c2 - 3.0 * c1 * c3
        v = c1 / (np.sqrt(disc) - c2) if disc >= 0 else np.nan
        if not (np.isfinite(v) and abs(v) <= 1.0):
            v = -c1 / (2.0 * c2) if c2 < 0 else 0.0
            v = 0.0 if np.isnan(v) else min(max(v, -1.0), 1.0)
        zpk = c0 + v * (c1 + v * (c2 + v * c3))
        # bias of the maximum of a noisy curve: var(f'(v)) / (2 |f''(v)|)
        ss = 0.0
        for j in range(lo, hi + 1):
            val = y[i, j]
            z = val if np.isfinite(val) else 0.0
            u = (j - c) / kf
            r = z - (c0 + u * (c1 + u * (c2 + u * c3)))
            ss += r * r
        s2 = ss / max(pw[0] - 4.0, 1.0)
        g[0], g[1], g[2], g[3] = 0.0, 1.0, 2.0 * v, 3.0 * v * v
        _lu4_solve(a, piv, g)
        var_d1 = s2 * (g[1] + 2.0 * v * g[2] + 3.0 * v * v * g[3])
        curv = 2.0 * c2 + 6.0 * c3 * v
        if curv < 0:
            zpk -= var_d1 / (2.0 * abs(curv))
        # a peak far above every pixel in the window is a failed fit, not a peak
        cap = 3.0 * zmax if zmax > 0 else zmax + 1.0
        if cap < zpk:
            zpk = cap
        du_out[i] = v * ki
        zpk_out[i] = zpk
        nan_out[i] = nan_in


def peak_and_fwhm(
    wavelength,
    spectra,
    *,
    smooth_px: int = 5,
    search_nm: tuple[float, float] | None = None,
) -> dict[str, np.ndarray]:
    """Sub-pixel peak wavelength, peak height and FWHM by interpolated half maximum.

    Steps, all vectorized: (1) the maximum of the boxcar-smoothed spectrum inside
    `search_nm`; (2) a rough FWHM from its half-maximum crossings; (3) a least-squares
    cubic through the pixels within +-0.35 rough FWHM, re-centred on its maximum until
    it stays (at most 3 fits), gives the sub-pixel peak and its height (a Gaussian's
    height 0.5 % low; see `_poly_peak`); (4) the FWHM is the
    distance between the crossings of half that height: found on the smoothed spectrum
    searching outward from the maximum, then refined by straight lines fitted to the raw
    pixels within +-0.15 and then +-0.07 FWHM of each (unbiased by noise, unlike a first
    passage). Every step is linear least squares, so noise does not bias the results.

    Parameters
    ----------
    wavelength : array_like, shape (W,)
        Pixel wavelengths, strictly increasing. [nm]
    spectra : array_like, shape (..., W)
        Baseline-subtracted spectra; NaN marks masked pixels. [counts or counts/s]
    smooth_px : int
        Boxcar width used for locating the maximum and the half-maximum crossings. [px]
    search_nm : (float, float) or None
        Wavelength range searched for the maximum. [nm] None: all pixels.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``peak_nm`` [nm], ``height`` [spectrum units], ``fwhm_nm`` [nm], ``left_nm`` and
        ``right_nm`` (half-maximum crossings) [nm], ``peak_index`` (int pixel of the
        maximum), ``masked`` (bool: a NaN pixel inside the half-maximum region or at the
        maximum made the result NaN).
    """
    wl, y = _check_axis(wavelength, spectra)
    y = np.ascontiguousarray(y)  # the window gathers index the flat array
    w = wl.size
    pix = np.arange(w, dtype=float)
    ys = smooth_boxcar(y, smooth_px)
    search = np.ones(w, dtype=bool)
    if search_nm is not None:
        search = (wl >= search_nm[0]) & (wl <= search_nm[1])
        if search.sum() < 3:
            raise DataValidationError(f"search range {search_nm} nm holds fewer than 3 pixels")
    masked_search = np.where(search, ys, -np.inf)
    masked_search = np.where(np.isnan(masked_search), -np.inf, masked_search)
    imax = np.argmax(masked_search, axis=-1)
    ymax = _pick(masked_search, imax)
    empty = ~np.isfinite(ymax) | (ymax <= 0)

    # rough width -> parabola half-window
    l0, r0, ok0 = _crossings(ys, imax, 0.5 * np.where(empty, np.nan, ymax))
    rough_px = np.where(ok0, r0 - l0, 6.0)
    k = np.clip(np.rint(0.35 * rough_px), 2, 200).astype(int)
    # the parabola window is re-centred on the fitted vertex (twice): centred on a noisy
    # maximum pixel it would sit asymmetrically on an asymmetric line and bias the vertex
    center = imax
    for it in range(3):
        du, zpk, nan_in = _poly_peak(y, center, k)
        new_center = np.where(empty, center, np.clip(np.rint(center + du).astype(int), 0, w - 1))
        if it == 2 or np.array_equal(new_center, center):
            break  # (du, zpk) belong to `center`
        center = new_center
    height = zpk
    ppix = center + du

    left, right, ok = _crossings(ys, imax, 0.5 * height)
    # refine each crossing by a straight line fitted to the raw pixels around it: the first
    # passage of a noisy curve below a level is biased towards the peak, a local fit is not
    # (the half maximum of a Gaussian sits near its inflection point, where it is ~linear)
    # (a wide window first, to pull a crossing found early at a noise dip back into
    # place, then a narrow one, whose curvature bias is < 0.1 % of a Gaussian FWHM)
    width = np.where(ok, right - left, 6.0)
    for frac in (0.15, 0.15, 0.15, 0.07, 0.07):
        hw = np.clip(np.rint(frac * width), 2, 200).astype(int)
        left = _refine_crossing(y, left, 0.5 * height, hw, +1)
        right = _refine_crossing(y, right, 0.5 * height, hw, -1)
    ok &= np.isfinite(left) & np.isfinite(right)
    # a NaN pixel between the crossings (or a failed crossing) masks the result
    nan_px = np.isnan(y)
    nan_region = nan_in.copy()
    if nan_px.any():
        between = (pix >= np.floor(np.nan_to_num(left, nan=0.0))[..., None]) & (
            pix <= np.ceil(np.nan_to_num(right, nan=w - 1.0))[..., None]
        )
        nan_region |= np.any(between & nan_px, axis=-1)
    bad = empty | nan_region
    peak_nm = np.where(bad, np.nan, np.interp(ppix, pix, wl))
    left_nm = np.where(bad | ~ok, np.nan, np.interp(np.nan_to_num(left), pix, wl))
    right_nm = np.where(bad | ~ok, np.nan, np.interp(np.nan_to_num(right), pix, wl))
    return {
        "peak_nm": peak_nm,
        "height": np.where(bad, np.nan, height),
        "fwhm_nm": right_nm - left_nm,
        "left_nm": left_nm,
        "right_nm": right_nm,
        "peak_index": imax,
        "masked": nan_region,
    }


def band_intensity(
    wavelength, spectra, lo_nm: float, hi_nm: float, edges: str = "pixels"
) -> np.ndarray:
    """Integrated intensity of each spectrum over a wavelength window (trapezoid rule).

    Parameters
    ----------
    wavelength : array_like, shape (W,)
        Pixel wavelengths, strictly increasing. [nm]
    spectra : array_like, shape (..., W)
        Baseline-subtracted spectra (spectral densities). [counts or counts/s per nm]
    lo_nm, hi_nm : float
        Window limits. [nm]
    edges : {"pixels", "interpolate"}
        ``"pixels"``: the pixels with lo <= wavelength <= hi are integrated (at least 2;
        the analysis of measured spectra). ``"interpolate"``: the spectrum is interpolated
        linearly at the window edges, so the integral covers exactly [lo, hi] on any grid
        and is exact for a piecewise-linear spectrum (the window must lie inside the axis;
        model and spectrometer grids then give the same band intensity).

    Returns
    -------
    ndarray, shape (...)
        Integral. [spectrum units * nm]; NaN where a pixel used is NaN.
    """
    wl, y = _check_axis(wavelength, spectra)
    if edges == "interpolate":
        return _band_interpolated(wl, y, float(lo_nm), float(hi_nm))
    if edges != "pixels":
        raise ValueError(f"edges must be 'pixels' or 'interpolate', got {edges!r}")
    sel = (wl >= lo_nm) & (wl <= hi_nm)
    if sel.sum() < 2:
        raise DataValidationError(
            f"band window {lo_nm:.2f}-{hi_nm:.2f} nm holds fewer than 2 pixels of the "
            f"{wl[0]:.1f}-{wl[-1]:.1f} nm axis"
        )
    return np.trapezoid(y[..., sel], wl[sel], axis=-1)


def _band_interpolated(lam: np.ndarray, s: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Exact integral over [lo, hi] of the piecewise-linear spectrum through the pixels."""
    if not (lam[0] <= lo < hi <= lam[-1]):
        raise DataValidationError(
            f"band window {lo:g}-{hi:g} nm must lie inside the wavelength axis "
            f"{lam[0]:g}-{lam[-1]:g} nm"
        )
    i0 = int(np.searchsorted(lam, lo, side="right")) - 1
    i1 = int(np.searchsorted(lam, hi, side="left"))
    xs = lam[i0 : i1 + 1]
    ys = s[..., i0 : i1 + 1]
    # replace the outer nodes by the interpolated values at the window edges
    w_lo = (lo - xs[0]) / (xs[1] - xs[0])
    w_hi = (hi - xs[-2]) / (xs[-1] - xs[-2])
    y_lo = ys[..., 0] * (1 - w_lo) + ys[..., 1] * w_lo
    y_hi = ys[..., -2] * (1 - w_hi) + ys[..., -1] * w_hi
    x = np.concatenate([[lo], xs[1:-1], [hi]])
    y = np.concatenate([y_lo[..., None], ys[..., 1:-1], y_hi[..., None]], axis=-1)
    return np.trapezoid(y, x, axis=-1)


def window_mean(
    wavelength, spectra, center_nm: float, half_width_nm: float, skipna: bool = False
) -> np.ndarray:
    """Mean of each spectrum over the pixels within `half_width_nm` of `center_nm`.

    At least the pixel nearest `center_nm` is used. NaN where one of the pixels is NaN,
    unless `skipna` (then NaN pixels are left out; NaN only if all are).

    Parameters
    ----------
    wavelength : array_like, shape (W,)
        Pixel wavelengths. [nm]
    spectra : array_like, shape (..., W)
        Spectra. [counts or counts/s]
    center_nm : float
        Window centre. [nm]
    half_width_nm : float
        Window half width. [nm]

    Returns
    -------
    ndarray, shape (...)
        Mean spectral value. [spectrum units]
    """
    wl, y = _check_axis(wavelength, spectra)
    sel = np.abs(wl - center_nm) <= half_width_nm
    if not sel.any():
        sel = np.zeros(wl.size, dtype=bool)
        sel[np.argmin(np.abs(wl - center_nm))] = True
    if skipna:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
            return np.nanmean(y[..., sel], axis=-1)
    return y[..., sel].mean(axis=-1)


def window_has_nan(wavelength, spectra, lo_nm: float, hi_nm: float) -> np.ndarray:
    """True where a spectrum has a NaN (masked) pixel with lo <= wavelength <= hi. [nm]"""
    wl, y = _check_axis(wavelength, spectra)
    sel = (wl >= lo_nm) & (wl <= hi_nm)
    return np.isnan(y[..., sel]).any(axis=-1)
