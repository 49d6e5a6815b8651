"""Band fits of whole batches of spectra through `polase.fitting.curve_fit_batch`.

- `gaussian_band_fit`: one Gaussian per spectrum within +-`half_window_fwhm` FWHM of its
  own peak (FWHM "from a band fit").
- `two_band_decomposition`: PL Gaussian + ASE Gaussian + constant over a common window,
  started from (and bounded near) the PL and ASE reference bands.

A masked (NaN) pixel inside a spectrum's fit window makes that spectrum's results NaN
(the fit itself gives it zero weight so the rest of the batch is unaffected).
"""

from __future__ import annotations

import numpy as np

from .spectra import GAUSS_FWHM_PER_SIGMA

_SQRT2PI = float(np.sqrt(2 * np.pi))


def _best_of(model, x, y, starts, w, bounds, max_iter, fixed=None, polish=True):
    """Lowest-cost fit per row over several start arrays, optionally polished by a restart."""
    from types import SimpleNamespace

    from ..fitting import curve_fit_batch

    n = y.shape[0]
    k = len(starts)
    # one start: no stacked copies of the data
    res = curve_fit_batch(
        model,
        x,
        y if k == 1 else np.concatenate([y] * k),
        starts[0] if k == 1 else np.concatenate(starts),
        weights=w if k == 1 or w.ndim == 1 else np.concatenate([w] * k),
        bounds=bounds,
        fixed=fixed,
        max_iter=max_iter,
    )
    cost = np.where(np.isfinite(res.cost), res.cost, np.inf).reshape(k, n)
    rows = np.argmin(cost, axis=0) * n + np.arange(n)
    params = res.params[rows]
    if not polish:
        return SimpleNamespace(params=params, success=np.asarray(res.success)[rows])
    ok = np.isfinite(params).all(axis=1)
    again = curve_fit_batch(
        model,
        x,
        y,
        np.where(ok[:, None], params, starts[0]),
        weights=w,
        bounds=bounds,
        fixed=fixed,
        max_iter=max_iter,
    )
    take = np.isfinite(again.cost) & (again.cost <= np.where(ok, res.cost[rows], np.inf))
    return SimpleNamespace(
        params=np.where(take[:, None], again.params, params),
        success=np.where(take, np.asarray(again.success), np.asarray(res.success)[rows]),
    )


def gaussian_band_fit(
    wavelength,
    spectra,
    peak_nm,
    fwhm_nm,
    height,
    *,
    half_window_fwhm: float = 1.0,
    max_iter: int = 100,
) -> dict[str, np.ndarray]:
    """Fit a Gaussian to each spectrum around its peak.

    Parameters
    ----------
    wavelength : array_like, shape (W,)
        Pixel wavelengths. [nm]
    spectra : array_like, shape (..., W)
        Baseline-subtracted spectra (NaN: masked). [counts or counts/s]
    peak_nm, fwhm_nm, height : array_like, shape (...)
        Starting peak [nm], FWHM [nm] and height [spectrum units] (from `peak_and_fwhm`).
    half_window_fwhm : float
        Fit window: peak +- this many FWHM.
    max_iter : int
        Iteration limit.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``center_nm`` [nm], ``fwhm_nm`` [nm], ``amplitude`` [spectrum units],
        ``area`` [spectrum units * nm], ``success`` (bool).
    """
    from ..fitting import curve_fit_batch

    wl = np.asarray(wavelength, dtype=float)
    y = np.asarray(spectra, dtype=float)
    lead = y.shape[:-1]
    y2 = y.reshape(-1, wl.size)
    pk = np.asarray(peak_nm, float).reshape(-1)
    fw = np.asarray(fwhm_nm, float).reshape(-1)
    h = np.asarray(height, float).reshape(-1)
    n = y2.shape[0]
    ok = np.isfinite(pk) & np.isfinite(fw) & np.isfinite(h) & (fw > 0) & (h > 0)
    nan = np.full(n, np.nan)
    res = {
        "center_nm": nan.copy(),
        "fwhm_nm": nan.copy(),
        "amplitude": nan.copy(),
        "area": nan.copy(),
    }
    success = np.zeros(n, dtype=bool)
    if ok.any():
        rows = np.flatnonzero(ok)
        pix = np.arange(wl.size)
        ic = np.interp(pk[rows], wl, pix)
        dpx = np.gradient(wl)[np.clip(np.rint(ic).astype(int), 0, wl.size - 1)]
        half_px = np.ceil(half_window_fwhm * fw[rows] / dpx).astype(int) + 1
        k = int(min(half_px.max(), wl.size // 2))
        offs = np.arange(-k, k + 1)
        pos = np.clip(np.rint(ic).astype(int)[:, None] + offs, 0, wl.size - 1)
        x = wl[pos]
        # one flat gather of the windows (no copy of the selected rows)
        yraw = np.take(y2.reshape(-1), pos + (rows * wl.size)[:, None])
        inwin = np.abs(x - pk[rows, None]) <= half_window_fwhm * fw[rows, None]
        # duplicated edge pixels (clipped positions) must count once
        first = np.concatenate([np.ones((rows.size, 1), bool), np.diff(pos, axis=1) != 0], axis=1)
        finite = np.isfinite(yraw)
        w = (inwin & first & finite).astype(float)
        yy = np.where(w > 0, yraw, 0.0)
        sig = fw[rows] / GAUSS_FWHM_PER_SIGMA
        p0 = np.stack([h[rows], pk[rows], sig], axis=1)
        lo = np.stack([np.zeros(rows.size), pk[rows] - fw[rows], sig / 20], axis=1)
        hi = np.stack([np.full(rows.size, np.inf), pk[rows] + fw[rows], sig * 5], axis=1)
        fit = curve_fit_batch("gaussian", x, yy, p0, weights=w, bounds=(lo, hi), max_iter=max_iter)
        a, c, s = fit.params[:, 0], fit.params[:, 1], np.abs(fit.params[:, 2])
        # a masked pixel inside the window makes the fit NaN: never a silent number
        hit = np.any(inwin & ~finite, axis=1)
        good = np.isfinite(fit.params).all(axis=1) & ~hit
        res["amplitude"][rows] = np.where(good, a, np.nan)
        res["center_nm"][rows] = np.where(good, c, np.nan)
        res["fwhm_nm"][rows] = np.where(good, GAUSS_FWHM_PER_SIGMA * s, np.nan)
        res["area"][rows] = np.where(good, a * s * _SQRT2PI, np.nan)
        success[rows] = np.asarray(fit.success, bool)
    out = {k: v.reshape(lead) for k, v in res.items()}
    out["success"] = success.reshape(lead)
    return out


def two_band_decomposition(
    wavelength,
    spectra,
    pl_band: tuple[float, float],
    ase_band: tuple[float, float],
    *,
    window_fwhm: float = 1.5,
    max_iter: int = 100,
) -> dict[str, np.ndarray]:
    """Decompose each spectrum into a PL Gaussian, an ASE Gaussian and a constant.

    Parameters
    ----------
    wavelength : array_like, shape (W,)
        Pixel wavelengths. [nm]
    spectra : array_like, shape (..., W)
        Baseline-subtracted spectra (NaN: masked). [counts or counts/s]
    pl_band, ase_band : (float, float)
        Reference (peak, FWHM) of the PL and of the ASE band. [nm]
    window_fwhm : float
        Fit window from the bluer band's peak minus this many of its FWHM to the redder
        band's peak plus this many of its FWHM.
    max_iter : int
        Iteration limit.

    Returns
    -------
    dict of ndarray, each shape (...)
        ``pl_area``, ``ase_area`` [spectrum units * nm], ``pl_center_nm``,
        ``ase_center_nm``, ``pl_fwhm_nm``, ``ase_fwhm_nm`` [nm], ``success`` (bool).

    Notes
    -----
    The ASE Gaussian has the centre and width of the reference ASE band (only its
    amplitude is fitted): with a free shape it would fit noise or split the PL band below
    threshold, where its amplitude is ~0. The PL centre is bounded to +-1 reference FWHM
    and its width to 0.2-3 reference widths.
    """
    from ..fitting import band_sum_model

    wl = np.asarray(wavelength, dtype=float)
    y = np.asarray(spectra, dtype=float)
    lead = y.shape[:-1]
    y2 = y.reshape(-1, wl.size)
    (cp, wp), (ca, wa) = pl_band, ase_band
    lo_nm = min(cp - window_fwhm * wp, ca - window_fwhm * wa)
    hi_nm = max(cp + window_fwhm * wp, ca + window_fwhm * wa)
    sel = (wl >= lo_nm) & (wl <= hi_nm)
    idx = np.flatnonzero(sel)
    if idx.size and idx[-1] - idx[0] + 1 == idx.size:  # a pixel range: a view, no gather
        sel = slice(int(idx[0]), int(idx[-1]) + 1)
    x = wl[sel]
    yy = y2[:, sel]
    finite = np.isfinite(yy)
    rows_ok = finite.all(axis=1)  # any masked pixel: NaN results
    if rows_ok.all():  # nothing masked: shared unit weights, the data as they are
        w = np.ones(x.size)
        yy = np.ascontiguousarray(yy)
    else:
        w = finite.astype(float)
        yy = np.where(finite, yy, 0.0)
    n = yy.shape[0]
    sp_, sa = wp / GAUSS_FWHM_PER_SIGMA, wa / GAUSS_FWHM_PER_SIGMA
    model = band_sum_model(["gaussian", "gaussian"], baseline="constant")
    # starting amplitudes: PL from its peak pixel, ASE from the excess at its peak
    ip, ia = np.argmin(np.abs(x - cp)), np.argmin(np.abs(x - ca))
    a_pl = np.clip(yy[:, ip], 0, None)
    pl_at_ase = a_pl * np.exp(-0.5 * ((ca - cp) / sp_) ** 2)
    a_ase = np.clip(yy[:, ia] - pl_at_ase, 0, None) + 1e-6 * (a_pl + 1.0)
    ones = np.ones(n)
    p0 = np.stack(
        [a_pl + 1e-12, cp * ones, sp_ * ones, a_ase, ca * ones, sa * ones, 0 * ones], axis=1
    )
    lo = np.array([0.0, cp - wp, 0.2 * sp_, 0.0, ca - wa, 0.2 * sa, -np.inf])
    hi = np.array([np.inf, cp + wp, 3 * sp_, np.inf, ca + wa, 3 * sa, np.inf])
    # the ASE component keeps the shape of the ASE line: with a free centre and width it
    # fits noise or splits the PL band below threshold (an ill-posed, lower-cost optimum);
    # with the shape fixed the problem is well posed and one start suffices
    fixed = np.array([False, False, False, False, True, True, False])
    fit = _best_of(model, x, yy, [p0], w, (lo, hi), max_iter, fixed, polish=False)
    p = fit.params
    good = np.isfinite(p).all(axis=1) & rows_ok
    nan = np.nan

    def pick(v):
        return np.where(good, v, nan).reshape(lead)

    return {
        "pl_area": pick(p[:, 0] * np.abs(p[:, 2]) * _SQRT2PI),
        "ase_area": pick(p[:, 3] * np.abs(p[:, 5]) * _SQRT2PI),
        "pl_center_nm": pick(p[:, 1]),
        "ase_center_nm": pick(p[:, 4]),
        "pl_fwhm_nm": pick(GAUSS_FWHM_PER_SIGMA * np.abs(p[:, 2])),
        "ase_fwhm_nm": pick(GAUSS_FWHM_PER_SIGMA * np.abs(p[:, 5])),
        "success": np.asarray(fit.success, bool).reshape(lead),
    }
