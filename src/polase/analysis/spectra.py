"""Per-spectrum features, vectorized over any number of leading axes.

Every function takes a shared wavelength axis ``wavelength`` of shape (W,) and spectra of
shape (..., W) and returns arrays of shape (...). Pixels that are NaN (saturated or
missing) never produce a silent number: a feature whose window or half-maximum region
contains a NaN pixel is NaN itself, and `window_has_nan` tells which spectra were hit.
"""

from __future__ import annotations

import warnings

import numpy as np

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

    Differences of one cumulative sum: contiguous slices in the interior, index arrays
    only for the 2h edge pixels.
    """
    w = y.shape[-1]
    cs = np.empty((*y.shape[:-1], w + 1))
    cs[..., 0] = 0.0
    np.cumsum(y, axis=-1, out=cs[..., 1:])
    out = np.empty(y.shape)
    if w > 2 * h:
        np.subtract(cs[..., 2 * h + 1 :], cs[..., : w - 2 * h], out=out[..., h : w - h])
    edge = np.flatnonzero((np.arange(w) < h) | (np.arange(w) >= w - h))
    hi = np.minimum(edge + h + 1, w)
    lo = np.maximum(edge - h, 0)
    out[..., edge] = cs[..., hi] - cs[..., lo]
    return out


def _gather(y: np.ndarray, idx: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """y[..., idx + offsets] with out-of-range positions marked invalid."""
    pos = idx[..., None] + offsets
    valid = (pos >= 0) & (pos < y.shape[-1])
    np.clip(pos, 0, y.shape[-1] - 1, out=pos)
    return np.take(y.reshape(-1), _flat_rows(y, pos)), valid


def _flat_rows(a: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """pos (..., K) turned into indices of a.reshape(-1) for a (..., W), in place."""
    w = a.shape[-1]
    lead = a.shape[:-1]
    pos += (np.arange(int(np.prod(lead))) * w).reshape(*lead, 1)
    return pos


def _pick(a: np.ndarray, i: np.ndarray) -> np.ndarray:
    """a[..., i] for one index per row (a flat take: faster than take_along_axis)."""
    return np.take(a.reshape(-1), _flat_rows(a, i[..., None].astype(np.intp)))[..., 0]


def _crossings(ys: np.ndarray, imax: np.ndarray, level: np.ndarray):
    """Fractional pixel positions where `ys` first falls below `level` left and right of `imax`.

    Returns (left, right, ok): NaN positions (ok False) when the search meets a NaN pixel
    or the array edge before crossing.
    """
    w = ys.shape[-1]
    pix = np.arange(w)
    lev = level[..., None]
    stop = (ys < lev) | np.isnan(ys)
    # nearest stop on either side: first True of a boolean row (argmax stops there)
    mr = stop & (pix > imax[..., None])
    right_stop = np.argmax(mr, axis=-1)
    right_stop = np.where(_pick(mr, right_stop), right_stop, w)
    ml = (stop & (pix < imax[..., None]))[..., ::-1]
    left_stop = np.argmax(ml, axis=-1)
    left_stop = np.where(_pick(ml, left_stop), w - 1 - left_stop, -1)
    ok = (left_stop >= 0) & (right_stop < w)
    li = np.clip(left_stop, 0, w - 2)
    ri = np.clip(right_stop, 1, w - 1)
    yl0, yl1 = _pick(ys, li), _pick(ys, li + 1)
    yr0, yr1 = _pick(ys, ri - 1), _pick(ys, ri)
    ok &= np.isfinite(yl0) & np.isfinite(yr1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fl = np.clip((level - yl0) / (yl1 - yl0), 0.0, 1.0)
        fr = np.clip((yr0 - level) / (yr0 - yr1), 0.0, 1.0)
    left = np.where(ok, li + fl, np.nan)
    right = np.where(ok, ri - 1 + fr, np.nan)
    return left, right, ok


def _refine_crossing(y, pos, level, hw, sign):
    """Level crossing of a least-squares line through the pixels within +-hw of pos.

    `sign` is the expected sign of the slope (+1 on the rising left edge, -1 on the right).
    Falls back to `pos` when the line is flat or has the wrong sign; a crossing outside
    the window is clipped to its edge. NaN when a pixel in the window is NaN.
    """
    w = y.shape[-1]
    center = np.rint(np.nan_to_num(pos, nan=0.0)).astype(int)
    kmax = int(hw.max()) if hw.size else 2
    offs = np.arange(-kmax, kmax + 1)
    vals, valid = _gather(y, center, offs)
    inwin = valid & (np.abs(offs) <= hw[..., None])
    nan_in = np.any(inwin & np.isnan(vals), axis=-1)
    wgt = (inwin & np.isfinite(vals)).astype(float)
    v = np.where(wgt > 0, vals, 0.0)
    u = offs.astype(float)
    n = wgt.sum(-1)
    mu = (wgt * u).sum(-1) / np.maximum(n, 1)
    mv = (wgt * v).sum(-1) / np.maximum(n, 1)
    du = np.where(wgt > 0, u - mu[..., None], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (du * (v - mv[..., None])).sum(-1) / (du * du).sum(-1)
        ucross = mu + (level - mv) / slope
    # a crossing beyond the window moves the estimate to the window edge (the next pass
    # continues from there) rather than back to the biased first passage
    good = (sign * slope > 0) & np.isfinite(ucross)
    out = np.where(good, np.clip(center + np.clip(ucross, -hw - 1, hw + 1), 0, w - 1), pos)
    return np.where(nan_in | ~np.isfinite(pos), np.nan, out)


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
    kmax = int(k.max()) if k.size else 2
    offs = np.arange(-kmax, kmax + 1)
    vals, valid = _gather(y, center, offs)
    inwin = valid & (np.abs(offs) <= k[..., None])
    nan_in = np.any(inwin & np.isnan(vals), axis=-1)
    z = np.where(inwin & np.isfinite(vals), vals, 0.0)
    wgt = inwin.astype(float)
    # normal equations of z = c0 + c1 u + c2 u^2 + c3 u^3, u in units of k (conditioning)
    kf = k.astype(float)[..., None]
    u = offs / kf
    pw, rh = [], []
    up, zp = wgt.copy(), wgt * z  # running w u^p and w z u^p (no pow calls)
    for p in range(7):
        pw.append(up.sum(axis=-1))
        if p < 4:
            rh.append(zp.sum(axis=-1))
            zp *= u
        up *= u
    a = np.stack([np.stack([pw[i + j] for j in range(4)], -1) for i in range(4)], -2)
    rhs = np.stack(rh, -1)
    a = a + np.eye(4) * 1e-12
    # a cubic needs points: below 17 in the window (narrow lines) it is pinned to c3 = 0
    # (a parabola), which would otherwise follow the noise
    pin = (2 * k + 1) < 17
    a[..., 3, 3] += np.where(pin, 1e12 * (pw[6] + 1.0), 0.0)
    coef = np.linalg.solve(a, rhs[..., None])[..., 0]
    c0, c1, c2, c3 = (coef[..., i] for i in range(4))
    # stationary points: c1 + 2 c2 v + 3 c3 v^2 = 0, maximum where 2 c2 + 6 c3 v < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = c2**2 - 3 * c1 * c3
        root = np.sqrt(np.where(disc >= 0, disc, np.nan))
        # the root (-c2 - root) / (3 c3), whose curvature 2 c2 + 6 c3 v = -2 root <= 0,
        # written without cancellation (it tends to -c1 / 2 c2 as c3 -> 0)
        v_cubic = c1 / (root - c2)
        v_quad = np.where(c2 < 0, -c1 / (2 * c2), 0.0)
    ok = np.isfinite(v_cubic) & (np.abs(v_cubic) <= 1.0)
    v = np.where(ok, v_cubic, np.clip(np.nan_to_num(v_quad), -1.0, 1.0))
    zpk = c0 + c1 * v + c2 * v**2 + c3 * v**3
    # bias of the maximum of a noisy curve: var(f'(v)) / (2 |f''(v)|)
    fit = c0[..., None] + u * (c1[..., None] + u * (c2[..., None] + u * c3[..., None]))
    n = wgt.sum(axis=-1)
    s2 = np.sum(wgt * (z - fit) ** 2, axis=-1) / np.maximum(n - 4, 1)
    g = np.stack([np.zeros_like(v), np.ones_like(v), 2 * v, 3 * v**2], -1)
    # g^T a^-1 g through a solve (no explicit inverse)
    var_d1 = s2 * np.sum(g * np.linalg.solve(a, g[..., None])[..., 0], axis=-1)
    curv = 2 * c2 + 6 * c3 * v
    with np.errstate(divide="ignore", invalid="ignore"):
        zpk = zpk - np.where(curv < 0, var_d1 / (2 * np.abs(curv)), 0.0)
    # a peak far above every pixel in the window is a failed fit, not a peak
    zmax = np.max(np.where(inwin, z, -np.inf), axis=-1)
    zpk = np.minimum(zpk, np.where(zmax > 0, 3 * zmax, zmax + 1.0))
    return v * k, zpk, nan_in


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
    between = (pix >= np.floor(np.nan_to_num(left, nan=0.0))[..., None]) & (
        pix <= np.ceil(np.nan_to_num(right, nan=w - 1.0))[..., None]
    )
    nan_region = np.any(between & np.isnan(y), axis=-1) | nan_in
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


def band_intensity(wavelength, spectra, lo_nm: float, hi_nm: float) -> np.ndarray:
    """Integrated intensity of each spectrum over a wavelength window (trapezoid rule).

    Parameters
    ----------
    wavelength : array_like, shape (W,)
        Pixel wavelengths. [nm]
    spectra : array_like, shape (..., W)
        Baseline-subtracted spectra. [counts or counts/s]
    lo_nm, hi_nm : float
        Window limits; pixels with lo <= wavelength <= hi are used. [nm]

    Returns
    -------
    ndarray, shape (...)
        Integral. [spectrum units * nm]; NaN where a pixel in the window is NaN.
    """
    wl, y = _check_axis(wavelength, spectra)
    sel = (wl >= lo_nm) & (wl <= hi_nm)
    if sel.sum() < 2:
        raise DataValidationError(
            f"band window {lo_nm:.2f}-{hi_nm:.2f} nm holds fewer than 2 pixels of the "
            f"{wl[0]:.1f}-{wl[-1]:.1f} nm axis"
        )
    return np.trapezoid(y[..., sel], wl[sel], axis=-1)


def window_mean(wavelength, spectra, center_nm: float, half_width_nm: float) -> np.ndarray:
    """Mean of each spectrum over the pixels within `half_width_nm` of `center_nm`.

    At least the pixel nearest `center_nm` is used. NaN where one of the pixels is NaN.

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
    return y[..., sel].mean(axis=-1)


def window_has_nan(wavelength, spectra, lo_nm: float, hi_nm: float) -> np.ndarray:
    """True where a spectrum has a NaN (masked) pixel with lo <= wavelength <= hi. [nm]"""
    wl, y = _check_axis(wavelength, spectra)
    sel = (wl >= lo_nm) & (wl <= hi_nm)
    return np.isnan(y[..., sel]).any(axis=-1)
