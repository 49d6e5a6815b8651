"""Reduce a measurement to the few features the likelihood compares with the model.

Each spectrum becomes band intensities (the spectrum integrated over a window at the
spontaneous-PL peak and one at the ASE peak), so one forward evaluation of the model only
has to supply two numbers per fluence and polarization. The feature of a (band, fluence,
polarization) cell is the mean over the repeats; its standard error comes from a noise
model fitted to the repeat scatter of *all* cells of the band,

    var(I) = c0 + c1 I + c2 I^2         (read, shot and multiplicative noise; c >= 0),

because a sample variance from five repeats alone is uncertain by +-70 % and would make
the likelihood (and every Delta_BIC) noisy.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import nnls

from ..analysis.spectra import band_intensity as _band
from ..errors import DataValidationError

#: Default band windows when the data do not show two separate peaks. [nm]
DEFAULT_BANDS: dict[str, tuple[float, float]] = {"pl": (530.0, 536.0), "ase": (540.0, 546.0)}

#: Pixels farther than this from every band window set the baseline (offset + dark). [nm]
BASELINE_MARGIN_NM = 60.0

#: Half-width of an automatic band window. [nm]
BAND_HALF_WIDTH_NM = 3.0


@dataclass(frozen=True)
class Observations:
    """Band-intensity features of a measurement.

    Attributes
    ----------
    fluence : ndarray, shape (F,)
        Peak pump fluence. [mJ/cm2]
    qwp_angle : ndarray, shape (A,)
        Quarter-wave-plate angle of each polarization. [deg]
    docp : ndarray, shape (A,)
        Degree of circular polarization of the pump. [1]
    bands : tuple of str
        Band names, e.g. ("pl", "ase").
    windows : dict
        Band name -> (low, high) wavelength window. [nm]
    y : ndarray, shape (B, F, A)
        Mean band intensity over the repeats (NaN where no valid repeat). [counts/s]
    sigma : ndarray, shape (B, F, A)
        Standard error of `y` from the noise model. [counts/s]
    n_repeats : ndarray, shape (B, F, A)
        Number of valid repeats behind each mean.
    noise : ndarray, shape (B, 3)
        Noise-model coefficients c0 [(counts/s)^2], c1 [counts/s], c2 [1] of one acquisition.
    samples : ndarray, shape (B, F, A, R)
        Per-repeat band intensities. [counts/s]
    drift_time : ndarray, shape (F, A), optional
        Mean acquisition position of each cell, 0 (first spectrum) to 1 (last), for the
        fluence-drift nuisance of the fit; None when the acquisition order is unknown.
    """

    fluence: np.ndarray
    qwp_angle: np.ndarray
    docp: np.ndarray
    bands: tuple[str, ...]
    windows: dict
    y: np.ndarray
    sigma: np.ndarray
    n_repeats: np.ndarray
    noise: np.ndarray
    samples: np.ndarray = field(repr=False)
    drift_time: np.ndarray | None = field(default=None, repr=False)

    @property
    def mask(self) -> np.ndarray:
        """Cells with a finite mean and a positive standard error, shape (B, F, A)."""
        return np.isfinite(self.y) & np.isfinite(self.sigma) & (self.sigma > 0)

    @property
    def n_data(self) -> int:
        """Number of features entering the likelihood."""
        return int(self.mask.sum())

    def single_sigma(self, band: int, intensity) -> np.ndarray:
        """Standard deviation of ONE acquisition of `band` at mean `intensity`. [counts/s]"""
        c0, c1, c2 = self.noise[band]
        i = np.abs(np.asarray(intensity, dtype=float))
        return np.sqrt(np.maximum(c0 + c1 * i + c2 * i * i, 1e-300))

    def with_model_error(self, fraction: float) -> Observations:
        """A copy whose standard errors include a relative model-error floor.

        sigma' = sqrt(sigma^2 + (fraction * y)^2): the twin's discretization and any physics it
        lacks limit how well it can match very precise data; without a floor every
        Delta_BIC grows with the number of photons. [fraction: 1]
        """
        if not 0.0 <= fraction < 1.0:
            raise DataValidationError(f"model error fraction must be in [0, 1), got {fraction}")
        sig = np.sqrt(self.sigma**2 + (fraction * self.y) ** 2)
        return replace(self, sigma=sig)

    def subset(self, fluence_idx=None, angle_idx=None) -> Observations:
        """Observations restricted to some fluences and/or polarizations (by index)."""
        fi = np.arange(self.fluence.size) if fluence_idx is None else np.asarray(fluence_idx)
        ai = np.arange(self.qwp_angle.size) if angle_idx is None else np.asarray(angle_idx)
        return Observations(
            fluence=self.fluence[fi],
            qwp_angle=self.qwp_angle[ai],
            docp=self.docp[ai],
            bands=self.bands,
            windows=dict(self.windows),
            y=self.y[:, fi][:, :, ai],
            sigma=self.sigma[:, fi][:, :, ai],
            n_repeats=self.n_repeats[:, fi][:, :, ai],
            noise=self.noise,
            samples=self.samples[:, fi][:, :, ai],
            drift_time=None if self.drift_time is None else self.drift_time[fi][:, ai],
        )


def fit_noise_model(mean, var, dof, n_iter: int = 6) -> np.ndarray:
    """Fit var = c0 + c1 mean + c2 mean^2 (c >= 0) to sample variances.

    Iteratively reweighted non-negative least squares: a sample variance with `dof` degrees
    of freedom has standard deviation var_true * sqrt(2 / dof).

    Parameters
    ----------
    mean, var, dof : array_like, same shape
        Cell means, sample variances (ddof=1) and degrees of freedom (repeats - 1). Cells
        with dof < 1 or non-finite values are ignored.

    Returns
    -------
    ndarray, shape (3,)
        c0, c1, c2.
    """
    m = np.ravel(np.asarray(mean, dtype=float))
    v = np.ravel(np.asarray(var, dtype=float))
    d = np.ravel(np.asarray(dof, dtype=float))
    ok = np.isfinite(m) & np.isfinite(v) & (d >= 1)
    if ok.sum() < 3:
        raise DataValidationError(
            "cannot estimate the measurement noise: need at least 3 (fluence, polarization) cells"
            " with 2 or more valid repeats"
        )
    m, v, d = np.abs(m[ok]), v[ok], d[ok]
    scale = np.array([1.0, max(m.max(), 1e-300), max(m.max(), 1e-300) ** 2])
    design = np.stack([np.ones_like(m), m, m * m], axis=1) / scale
    pred = np.full_like(v, max(np.mean(v), 1e-300))
    c = np.zeros(3)
    for _ in range(n_iter):
        w = np.sqrt(d / 2.0) / pred
        c, _ = nnls(design * w[:, None], v * w)
        new = design @ c
        pred = np.maximum(new, 1e-12 * max(np.mean(v), 1e-300))
    return c / scale


def choose_band_windows(ds, half_width_nm: float = BAND_HALF_WIDTH_NM) -> dict:
    """Band windows at the spontaneous-PL peak and at the ASE peak of a measurement. [nm]

    The PL peak is the maximum of the mean spectrum at the lowest fluence, the ASE peak the
    maximum at the highest fluence. When the two are closer than two half-widths (no ASE in
    the data, or a very broad ASE) the windows of `DEFAULT_BANDS` are used.
    """
    spec = ds["spectrum"]
    lam = ds["wavelength"].values
    mean = spec.mean(dim=[d for d in spec.dims if d in ("polarization", "repeat")], skipna=True)
    lo = np.nan_to_num(mean.isel(fluence=0).values, nan=-np.inf)
    hi = np.nan_to_num(mean.isel(fluence=-1).values, nan=-np.inf)
    inside = (lam > lam[0] + half_width_nm) & (lam < lam[-1] - half_width_nm)
    if not inside.any():
        raise DataValidationError("wavelength axis too short to place band windows")
    pl_peak = lam[inside][np.argmax(lo[inside])]
    ase_peak = lam[inside][np.argmax(hi[inside])]
    if ase_peak - pl_peak < 2 * half_width_nm or ds.sizes["fluence"] < 2:
        return dict(DEFAULT_BANDS)
    return {
        "pl": (float(pl_peak - half_width_nm), float(pl_peak + half_width_nm)),
        "ase": (float(ase_peak - half_width_nm), float(ase_peak + half_width_nm)),
    }


def band_intensity(wavelength, spectra, window) -> np.ndarray:
    """Integral of spectra over a wavelength window, exact for the piecewise-linear spectrum.

    `polase.analysis.spectra.band_intensity` with ``edges="interpolate"``: the window
    edges fall between pixels and the spectrum is interpolated there, so model grid and
    spectrometer pixels give the same band intensity.

    Parameters
    ----------
    wavelength : ndarray, shape (W,)
        Strictly increasing wavelengths. [nm]
    spectra : ndarray, shape (..., W)
        Spectral densities. [X per nm]; the result is in X.
    window : (float, float)
        Low and high edge, inside the wavelength axis. [nm]
    """
    return _band(wavelength, spectra, window[0], window[1], edges="interpolate")


def _angles(ds) -> tuple[np.ndarray, np.ndarray]:
    labels = [str(x) for x in ds["polarization"].values]
    n = len(labels)
    ang = ds["qwp_angle"].values.astype(float) if "qwp_angle" in ds.coords else np.full(n, np.nan)
    docp = ds["docp"].values.astype(float) if "docp" in ds.coords else np.full(n, np.nan)
    for i, lab in enumerate(labels):
        if np.isnan(ang[i]):
            if lab == "linear":
                ang[i] = 0.0
            elif lab == "circular":
                ang[i] = 45.0
            elif lab.startswith("qwp_") and lab.endswith("deg"):
                try:
                    ang[i] = float(lab[4:-3])
                except ValueError:
                    pass
        if np.isnan(ang[i]):
            raise DataValidationError(
                f"polarization {lab!r} has no quarter-wave-plate angle: give the qwp_angle"
                " coordinate or use the labels 'linear', 'circular' or 'qwp_<angle>deg'"
            )
    # ideal plate where DOCP is unknown
    docp = np.where(np.isnan(docp), np.sin(np.deg2rad(2.0 * ang)), docp)
    return ang, docp


def observations_from_samples(
    fluence, qwp_angle, docp, samples, bands, windows=None, drift_time=None
) -> Observations:
    """Build `Observations` from per-repeat band intensities.

    Parameters
    ----------
    fluence : array_like, shape (F,)
        [mJ/cm2]
    qwp_angle, docp : array_like, shape (A,)
        [deg], [1]
    samples : array_like, shape (B, F, A, R)
        Band intensities per repeat; NaN for missing. [counts/s]
    bands : sequence of str, length B
    windows : dict, optional
        Band windows for the record. [nm]
    drift_time : array_like, shape (F, A), optional
        Acquisition position of each cell in [0, 1] (see `Observations`).
    """
    s = np.asarray(samples, dtype=float)
    if s.ndim != 4 or s.shape[0] != len(bands):
        raise DataValidationError(
            f"samples must be (band, fluence, polarization, repeat); got {s.shape}"
        )
    n = np.isfinite(s).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(n > 0, np.nansum(s, axis=-1) / np.maximum(n, 1), np.nan)
        var = np.where(
            n > 1, np.nansum((s - y[..., None]) ** 2, axis=-1) / np.maximum(n - 1, 1), np.nan
        )
    noise = np.stack([fit_noise_model(y[b], var[b], n[b] - 1) for b in range(s.shape[0])])
    sigma = np.full_like(y, np.nan)
    for b in range(s.shape[0]):
        c0, c1, c2 = noise[b]
        yy = np.abs(y[b])
        single = np.sqrt(np.maximum(c0 + c1 * yy + c2 * yy * yy, 0.0))
        sigma[b] = np.where(n[b] > 0, single / np.sqrt(np.maximum(n[b], 1)), np.nan)
    return Observations(
        fluence=np.asarray(fluence, dtype=float),
        qwp_angle=np.asarray(qwp_angle, dtype=float),
        docp=np.asarray(docp, dtype=float),
        bands=tuple(bands),
        windows=dict(windows or {}),
        y=y,
        sigma=sigma,
        n_repeats=n,
        noise=noise,
        samples=s,
        drift_time=None if drift_time is None else np.asarray(drift_time, dtype=float),
    )


def windows_from_result(result, half_width_nm: float = BAND_HALF_WIDTH_NM) -> dict | None:
    """Band windows centred on the Delta wavelengths an analysis used. [nm]

    Parameters
    ----------
    result : polase.analysis.AnalysisResult
        An analysis of the same measurement.
    half_width_nm
        Half width of each window. [nm]

    Returns
    -------
    dict or None
        ``{"pl": (lo, hi), "ase": (lo, hi)}``; None if the result lacks the wavelengths.
    """
    w = result.windows
    lam_pl, lam_ase = w.delta_pl_wavelength_nm, w.delta_ase_wavelength_nm
    if lam_pl is None or lam_ase is None:
        return None
    h = float(half_width_nm)
    return {
        "pl": (float(lam_pl) - h, float(lam_pl) + h),
        "ase": (float(lam_ase) - h, float(lam_ase) + h),
    }


def reduce_measurement(ds, windows: dict | None = None, result=None) -> Observations:
    """Band-intensity features of a measurement Dataset (docs/data-model.md schema).

    Parameters
    ----------
    ds : xarray.Dataset
        Needs ``spectrum`` (fluence, polarization, repeat, wavelength). Each spectrum's
        baseline (median of the pixels more than `BASELINE_MARGIN_NM` from every band; the
        electronic offset and dark counts of raw spectra) is subtracted, and spectra in
        ``counts`` are divided by ``integration_time`` (if present) to give counts/s.
    windows : dict, optional
        Band name -> (low, high) window [nm]; default from `result`, else from
        `choose_band_windows`.
    result : polase.analysis.AnalysisResult, optional
        An analysis of `ds`: the bands are centred on its Delta wavelengths
        (`windows_from_result`), so the comparison looks where the analysis did.

    Returns
    -------
    Observations
    """
    if "spectrum" not in ds:
        raise DataValidationError(
            "measurement has no 'spectrum' variable; mechanism fits need spectra"
        )
    spec = ds["spectrum"]
    need = ("fluence", "polarization", "repeat", "wavelength")
    missing = [d for d in need if d not in spec.dims]
    if missing:
        raise DataValidationError(f"'spectrum' lacks dimension(s) {missing}; expected {need}")
    spec = spec.transpose(*need)
    values = spec.values.astype(float)
    if "saturated" in ds:
        values = np.where(ds["saturated"].transpose(*need).values.astype(bool), np.nan, values)
    if not windows and result is not None:
        windows = windows_from_result(result)
    windows = dict(windows) if windows else choose_band_windows(ds)
    lam = ds["wavelength"].values.astype(float)
    # raw counts carry an electronic offset and dark counts: subtract the emission-free level
    lo = min(w[0] for w in windows.values()) - BASELINE_MARGIN_NM
    hi = max(w[1] for w in windows.values()) + BASELINE_MARGIN_NM
    from ..analysis.spectra import baseline_level

    values = values - baseline_level(lam, values, (lo, hi))[..., None]
    if spec.attrs.get("units", "counts") == "counts" and "integration_time" in ds:
        t = ds["integration_time"]
        tt = (
            np.broadcast_to(
                t.transpose(*[d for d in need[:3] if d in t.dims]).values if t.ndim else t.values,
                values.shape[:3],
            )
            if t.ndim in (0, 3)
            else None
        )
        if tt is None:
            raise DataValidationError(
                f"integration_time has dims {t.dims}; expected () or {need[:3]}"
            )
        values = values / np.asarray(tt, dtype=float)[..., None]
    samples = np.stack([band_intensity(lam, values, windows[b]) for b in windows])
    ang, docp = _angles(ds)
    drift_time = None
    if "acquisition_index" in ds.variables:
        acq = ds["acquisition_index"].transpose(*need[:3]).values.astype(float)
        span = np.nanmax(acq) - np.nanmin(acq)
        if np.isfinite(span) and span > 0:
            drift_time = np.nanmean((acq - np.nanmin(acq)) / span, axis=-1)
    return observations_from_samples(
        ds["fluence"].values, ang, docp, samples, tuple(windows), windows, drift_time
    )
