"""Array spectrometer model (Ocean Optics FLAME-S-XR1-ES style).

A model spectrum (photon rate per nm reaching the entrance slit) is turned into the
raw 16-bit counts of a linear CCD:

1. The model spectrum is taken as piecewise linear between its samples and zero
   outside them.
2. It is convolved with the slit function (instrument line shape) and integrated
   over each pixel's bandwidth, both in one linear map (`response_matrix`) whose
   weights are exact integrals (Gauss-Legendre on the piecewise-linear pieces), so
   photons are conserved: a line inside the detector range delivers all of its
   photons to the pixels.
3. Photons per integration time times `counts_per_photon` (optical throughput x
   quantum efficiency x ADC gain) give signal counts; thermal dark counts are added.
4. Noise per read: shot noise is Poisson in photoelectrons (``counts_per_electron``
   converts), read noise is Gaussian, the reading is digitised to integers.
5. The well saturates at ``saturation_counts - electronic_offset_counts`` signal counts;
   an optional second-order nonlinearity makes the response sub-linear; the electronic
   offset (baseline) is added and the reading is clipped to the 16-bit range.
6. ``averages`` reads are averaged (mean), as the spectrometer software does.

Units: wavelength [nm], time [s], spectral photon rate [photons/(nm s)], counts [counts].
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.special import ndtr

from ..errors import ConfigError, DataValidationError
from ._checks import as_rng, as_tuple, check_axis, check_batch, check_number, check_table

__all__ = [
    "SpectrometerConfig",
    "measure_helicity_spectra",
    "measure_spectrum",
    "pixel_edges",
    "pixel_gain",
    "pixel_wavelengths",
    "response_matrix",
    "slit_function",
]

#: FWHM of a Gaussian in units of its standard deviation.
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Gaussian slit tails beyond this many sigma carry < 1e-19 of the area: dropped.
_GAUSS_CUTOFF_SIGMA = 9.0
_SLIT_SHAPES = ("gaussian", "triangular", "boxcar")
#: Gauss-Legendre nodes per sub-interval (exact for polynomials up to degree 5).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(3)


@dataclass(frozen=True)
class SpectrometerConfig:
    """Settings of an array spectrometer.

    Defaults describe an Ocean Optics FLAME-S-XR1-ES (200-1025 nm, 2048-pixel Sony
    ILX511B CCD, 16-bit ADC); docs/instruments.md gives the source of each value.

    Parameters
    ----------
    n_pixels : int
        Number of detector pixels. [1]
    calibration : tuple of 4 float
        Wavelength calibration polynomial ``(c0, c1, c2, c3)``:
        wavelength(px) = c0 + c1 px + c2 px**2 + c3 px**3 with px the 0-based pixel
        index; the pixel centre is at integer px, its edges at px +- 0.5.
        [nm, nm, nm, nm]
    resolution_fwhm_nm : float
        Full width at half maximum of the slit function (instrument line shape). [nm]
    slit_shape : {"gaussian", "triangular", "boxcar"}
        Analytic shape of the slit function of width ``resolution_fwhm_nm``.
    slit_table : tuple of two array_like, optional
        Measured slit function ``(offset_nm, relative_response)``, e.g. a recorded
        atomic line; overrides ``slit_shape`` and ``resolution_fwhm_nm``. It is
        normalised to unit area and is zero outside the tabulated offsets. [nm, 1]
    integration_time_s : float
        Integration time of one read. [s]
    averages : int
        Number of reads averaged (mean) into one spectrum. [1]
    dark_counts_per_s : float
        Thermal dark signal per pixel. [counts/s]
    read_noise_counts : float
        Standard deviation of the Gaussian read noise of one read. [counts]
    electronic_offset_counts : float
        Electronic baseline added to every reading (what a dark spectrum shows at zero
        integration time). [counts]
    counts_per_photon : float
        Counts per photon at the entrance slit (throughput x quantum efficiency x
        ADC gain). [counts/photon]
    response_table : tuple of two array_like, optional
        Relative spectral sensitivity ``(wavelength_nm, relative_response)`` that
        multiplies `counts_per_photon` at each pixel centre (linear interpolation,
        end values held outside); None: wavelength-independent. [nm, 1]
    counts_per_electron : float
        ADC gain: counts per photoelectron; sets the shot noise (variance of the signal
        is ``counts_per_electron`` x signal counts). [counts/electron]
    saturation_counts : float
        Largest reading (16-bit: 65535); the well is full when signal + dark reach
        ``saturation_counts - electronic_offset_counts``. [counts]
    nonlinearity : float
        Second-order nonlinearity ``a``: a reading of s linear counts above the offset
        becomes s (1 - a s / s_full); the fractional response deficit at full well.
        Must be in [0, 0.5) so that the response stays monotonic. [1]
    """

    n_pixels: int = 2048
    calibration: tuple[float, float, float, float] = (200.0, 0.42392, -1.0e-5, -1.0e-10)
    resolution_fwhm_nm: float = 1.5
    slit_shape: str = "gaussian"
    slit_table: tuple | None = None
    integration_time_s: float = 0.1
    averages: int = 1
    dark_counts_per_s: float = 200.0
    read_noise_counts: float = 50.0
    electronic_offset_counts: float = 1000.0
    counts_per_photon: float = 1.0 / 41.0
    response_table: tuple | None = None
    counts_per_electron: float = 65535.0 / 160000.0
    saturation_counts: float = 65535.0
    nonlinearity: float = 0.0

    def __post_init__(self):
        check_number("n_pixels", self.n_pixels, positive=True, integer=True)
        if self.n_pixels < 2:
            raise ConfigError("n_pixels", f"must be >= 2, got {self.n_pixels}")
        cal = tuple(self.calibration) if np.ndim(self.calibration) == 1 else None
        if cal is None or len(cal) != 4:
            raise ConfigError(
                "calibration", f"must be 4 coefficients (c0, c1, c2, c3), got {self.calibration!r}"
            )
        for i, c in enumerate(cal):
            check_number(f"calibration[{i}]", c)
        object.__setattr__(self, "calibration", tuple(float(c) for c in cal))
        _check_calibration(self.calibration, self.n_pixels)
        check_number("resolution_fwhm_nm", self.resolution_fwhm_nm, positive=True)
        if self.slit_shape not in _SLIT_SHAPES:
            raise ConfigError(
                "slit_shape", f"must be one of {_SLIT_SHAPES}, got {self.slit_shape!r}"
            )
        if self.slit_table is not None:
            object.__setattr__(self, "slit_table", _check_slit_table(self.slit_table))
        check_number("integration_time_s", self.integration_time_s, positive=True)
        check_number("averages", self.averages, positive=True, integer=True)
        check_number("dark_counts_per_s", self.dark_counts_per_s, nonnegative=True)
        check_number("read_noise_counts", self.read_noise_counts, nonnegative=True)
        check_number("electronic_offset_counts", self.electronic_offset_counts, nonnegative=True)
        check_number("counts_per_photon", self.counts_per_photon, positive=True)
        check_number("counts_per_electron", self.counts_per_electron, positive=True)
        if self.response_table is not None:
            object.__setattr__(self, "response_table", _check_response_table(self.response_table))
        check_number("saturation_counts", self.saturation_counts, positive=True)
        if not self.saturation_counts > self.electronic_offset_counts:
            raise ConfigError(
                "saturation_counts",
                f"must exceed electronic_offset_counts ({self.electronic_offset_counts}), "
                f"got {self.saturation_counts}",
            )
        check_number("nonlinearity", self.nonlinearity, nonnegative=True, below=0.5)

    @property
    def full_well_counts(self) -> float:
        """Signal + dark counts (above the offset) at which the well is full. [counts]"""
        return self.saturation_counts - self.electronic_offset_counts


def _check_calibration(cal: tuple[float, ...], n_pixels: int) -> None:
    """Wavelength must be positive and strictly increasing over px in [-0.5, n_pixels - 0.5]."""
    c0, c1, c2, c3 = cal
    lo, hi = -0.5, n_pixels - 0.5

    def slope(p):
        return c1 + 2 * c2 * p + 3 * c3 * p**2

    # The slope is a quadratic in px: its minimum over [lo, hi] is at an end or the vertex.
    candidates = [lo, hi]
    if c3 != 0.0:
        vertex = -c2 / (3 * c3)
        if lo < vertex < hi:
            candidates.append(vertex)
    worst = min(candidates, key=slope)
    if not slope(worst) > 0:
        raise ConfigError(
            "calibration",
            f"wavelength polynomial {cal} is not strictly increasing over the pixel range "
            f"0..{n_pixels - 1} (slope {slope(worst):.4g} nm/px at px {worst:.1f})",
        )
    w_lo = c0 + c1 * lo + c2 * lo**2 + c3 * lo**3
    if not w_lo > 0:
        raise ConfigError(
            "calibration", f"gives a non-positive wavelength {w_lo:.4g} nm at the first pixel edge"
        )


def _check_slit_table(table) -> tuple[tuple[float, ...], tuple[float, ...]]:
    offsets, values = check_table(
        "slit_table", table, "offset_nm", "relative_response", min_points=3
    )
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ConfigError("slit_table", "relative_response must be finite and >= 0")
    if not np.trapezoid(values, offsets) > 0:
        raise ConfigError("slit_table", "relative_response has zero area")
    return as_tuple(offsets), as_tuple(values)


def _check_response_table(table) -> tuple[tuple[float, ...], tuple[float, ...]]:
    wl, rel = check_table("response_table", table, "wavelength_nm", "relative_response")
    if not np.all(np.isfinite(rel)) or np.any(rel < 0):
        raise ConfigError("response_table", "relative_response must be finite and >= 0")
    return as_tuple(wl), as_tuple(rel)


def pixel_gain(config: SpectrometerConfig | None = None) -> np.ndarray:
    """Counts per photon at every pixel (`counts_per_photon` x relative response).

    Returns
    -------
    ndarray, shape (n_pixels,)
        Sensitivity of each pixel. [counts/photon]
    """
    config = config or SpectrometerConfig()
    gain = np.full(config.n_pixels, float(config.counts_per_photon))
    if config.response_table is not None:
        wl, rel = (np.asarray(v) for v in config.response_table)
        gain *= np.interp(pixel_wavelengths(config), wl, rel)
    return gain


def pixel_wavelengths(config: SpectrometerConfig | None = None) -> np.ndarray:
    """Centre wavelength of every pixel from the calibration polynomial.

    Parameters
    ----------
    config : SpectrometerConfig, optional
        Spectrometer settings (default: `SpectrometerConfig()`).

    Returns
    -------
    ndarray, shape (n_pixels,)
        Pixel centre wavelengths, strictly increasing. [nm]
    """
    config = config or SpectrometerConfig()
    return np.polynomial.polynomial.polyval(
        np.arange(config.n_pixels, dtype=float), config.calibration
    )


def pixel_edges(config: SpectrometerConfig | None = None) -> np.ndarray:
    """Wavelengths of the pixel boundaries (calibration polynomial at half-integer px).

    Returns
    -------
    ndarray, shape (n_pixels + 1,)
        Pixel edge wavelengths, strictly increasing. [nm]
    """
    config = config or SpectrometerConfig()
    px = np.arange(config.n_pixels + 1, dtype=float) - 0.5
    return np.polynomial.polynomial.polyval(px, config.calibration)


def _gaussian_cdf(fwhm_nm: float):
    sigma = fwhm_nm / _FWHM_PER_SIGMA
    return (lambda u: ndtr(u / sigma)), _GAUSS_CUTOFF_SIGMA * sigma, sigma


def _slit_cdf(config: SpectrometerConfig):
    """Return (cdf(offset_nm), half support [nm], smallest feature scale [nm]) of the slit."""
    if config.slit_table is not None:
        offsets, values = (np.asarray(v) for v in config.slit_table)
        # Cumulative trapezoid of the (piecewise-linear) table, normalised to 1.
        cum = np.concatenate(
            [[0.0], np.cumsum(0.5 * (values[1:] + values[:-1]) * np.diff(offsets))]
        )
        cum /= cum[-1]
        support = float(max(abs(offsets[0]), abs(offsets[-1])))
        scale = float(np.min(np.diff(offsets)))
        return (lambda u: np.interp(u, offsets, cum, left=0.0, right=1.0)), support, scale
    f = config.resolution_fwhm_nm
    if config.slit_shape == "gaussian":
        return _gaussian_cdf(f)
    if config.slit_shape == "boxcar":
        return (lambda u: np.clip(u / f + 0.5, 0.0, 1.0)), 0.5 * f, 0.25 * f

    # Triangle of half-base f has FWHM f.
    def tri(u):
        v = np.clip(u / f, -1.0, 1.0)
        return np.where(v < 0, 0.5 * (1 + v) ** 2, 1 - 0.5 * (1 - v) ** 2)

    return tri, f, 0.25 * f


def slit_function(
    offset_nm,
    fwhm_nm: float = 1.5,
    shape: str = "gaussian",
    table: tuple | None = None,
) -> np.ndarray:
    """Slit function (instrument line shape) normalised to unit area.

    Parameters
    ----------
    offset_nm : array_like
        Wavelength offset from the line centre. [nm]
    fwhm_nm : float
        Full width at half maximum. [nm]
    shape : {"gaussian", "triangular", "boxcar"}
        Analytic line shape.
    table : tuple of two array_like, optional
        Measured shape ``(offset_nm, relative_response)``; overrides `shape` and
        `fwhm_nm`; interpolated linearly, zero outside, normalised to unit area.

    Returns
    -------
    ndarray
        Line-shape density at `offset_nm`, integrating to 1 over offset. [1/nm]
    """
    u = np.asarray(offset_nm, dtype=float)
    check_number("fwhm_nm", fwhm_nm, positive=True)
    if table is not None:
        offsets, values = (np.asarray(v) for v in _check_slit_table(table))
        area = np.trapezoid(values, offsets)
        return np.interp(u, offsets, values, left=0.0, right=0.0) / area
    if shape == "gaussian":
        sigma = fwhm_nm / _FWHM_PER_SIGMA
        return np.exp(-0.5 * (u / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    if shape == "boxcar":
        return np.where(np.abs(u) <= 0.5 * fwhm_nm, 1.0 / fwhm_nm, 0.0)
    if shape == "triangular":
        return np.clip(1.0 - np.abs(u) / fwhm_nm, 0.0, None) / fwhm_nm
    raise ConfigError("slit_shape", f"must be one of {_SLIT_SHAPES}, got {shape!r}")


def _config_key(config: SpectrometerConfig) -> tuple:
    """The settings the response matrix depends on (hashable)."""
    return (
        config.n_pixels,
        config.calibration,
        config.resolution_fwhm_nm,
        config.slit_shape,
        config.slit_table,
    )


_RESPONSE_CACHE: OrderedDict = OrderedDict()
_RESPONSE_CACHE_SIZE = 8


def response_matrix(wavelength_nm_model, config: SpectrometerConfig | None = None):
    """Linear map from a sampled model spectrum to photons per pixel.

    Row i, column j holds the integral over wavelength of hat_j(lambda) times the
    probability that a photon of wavelength lambda lands in pixel i (slit function
    convolved with the pixel's bandwidth); hat_j is the piecewise-linear basis function
    of model sample j. So ``R @ S`` is the exact photon rate per pixel for the
    piecewise-linear spectrum through the samples S.

    Parameters
    ----------
    wavelength_nm_model : array_like, shape (W,)
        Model wavelength grid, strictly increasing. [nm]
    config : SpectrometerConfig, optional
        Spectrometer settings.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n_pixels, W)
        Weights: photons/s in pixel i per photons/(nm s) at model sample j. [nm]
    """
    config = config or SpectrometerConfig()
    x = check_axis("wavelength_nm_model", wavelength_nm_model)
    key = (_config_key(config), x.tobytes())
    if key in _RESPONSE_CACHE:
        _RESPONSE_CACHE.move_to_end(key)
        return _RESPONSE_CACHE[key]
    mat = _build_response(x, config)
    _RESPONSE_CACHE[key] = mat
    if len(_RESPONSE_CACHE) > _RESPONSE_CACHE_SIZE:
        _RESPONSE_CACHE.popitem(last=False)
    return mat


def _build_response(x: np.ndarray, config: SpectrometerConfig):
    edges = pixel_edges(config)
    n_px, n_w = config.n_pixels, x.size
    cdf, support, scale = _slit_cdf(config)
    # Only model segments that can reach a pixel matter.
    seg_lo, seg_hi = x[:-1], x[1:]
    keep = (seg_hi >= edges[0] - support) & (seg_lo <= edges[-1] + support)
    seg = np.nonzero(keep)[0]
    if seg.size == 0:
        return scipy.sparse.csr_matrix((n_px, n_w))
    # Sub-intervals no longer than a third of the finest feature (slit or pixel width).
    step = min(scale, float(np.min(np.diff(edges)))) / 3.0
    dx = seg_hi[seg] - seg_lo[seg]
    n_sub = np.maximum(1, np.ceil(dx / step).astype(np.int64))
    seg_of_sub = np.repeat(seg, n_sub)
    first_sub = np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
    k_sub = np.arange(seg_of_sub.size) - first_sub
    h_sub = (x[seg_of_sub + 1] - x[seg_of_sub]) / np.repeat(n_sub, n_sub)
    a_sub = x[seg_of_sub] + k_sub * h_sub
    # Gauss-Legendre nodes and weights on every sub-interval.
    nodes = (a_sub[:, None] + 0.5 * h_sub[:, None] * (_GL_X[None, :] + 1.0)).ravel()
    weights = (0.5 * h_sub[:, None] * _GL_W[None, :]).ravel()
    node_seg = np.repeat(seg_of_sub, _GL_X.size)
    left = x[node_seg]
    frac = (nodes - left) / (x[node_seg + 1] - left)
    # Pixels within the slit support of each node.
    i_lo = np.clip(np.searchsorted(edges, nodes - support, side="right") - 1, 0, n_px - 1)
    i_hi = np.clip(np.searchsorted(edges, nodes + support, side="left"), 0, n_px - 1)
    width = int(np.max(i_hi - i_lo)) + 1
    rows = i_lo[:, None] + np.arange(width)[None, :]
    valid = rows <= i_hi[:, None]
    rows = np.minimum(rows, n_px - 1)
    prob = cdf(edges[rows + 1] - nodes[:, None]) - cdf(edges[rows] - nodes[:, None])
    prob = np.where(valid, prob, 0.0) * weights[:, None]
    r = np.concatenate([rows.ravel(), rows.ravel()])
    c = np.concatenate(
        [
            np.broadcast_to(node_seg[:, None], rows.shape).ravel(),
            np.broadcast_to(node_seg[:, None] + 1, rows.shape).ravel(),
        ]
    )
    d = np.concatenate([(prob * (1.0 - frac)[:, None]).ravel(), (prob * frac[:, None]).ravel()])
    nz = d != 0.0
    mat = scipy.sparse.coo_matrix((d[nz], (r[nz], c[nz])), shape=(n_px, n_w)).tocsr()
    mat.sum_duplicates()
    return mat


def _nonlinear(s: np.ndarray, config: SpectrometerConfig) -> np.ndarray:
    """Well saturation and second-order response of linear counts s above the offset."""
    full = config.full_well_counts
    s = np.minimum(s, full)
    if config.nonlinearity:
        s = s * (1.0 - config.nonlinearity * s / full)
    return s


def pixel_signal(
    wavelength_nm_model, photons_per_nm_per_s, config: SpectrometerConfig | None = None
):
    """Noiseless linear signal of every pixel, before dark counts, offset and the well.

    `response_matrix` applied to the spectra, times `pixel_gain`: what `measure_spectrum`
    records per second above the dark level while the response is linear.

    Parameters
    ----------
    wavelength_nm_model : array_like, shape (W,)
        Wavelength grid of the model spectrum, strictly increasing. [nm]
    photons_per_nm_per_s : array_like, shape (..., W)
        Spectral photon rate reaching the spectrometer (piecewise linear). [photons/(nm s)]
    config : SpectrometerConfig, optional
        Spectrometer settings (default: `SpectrometerConfig()`).

    Returns
    -------
    ndarray, shape (..., n_pixels)
        [counts/s]
    """
    config = config or SpectrometerConfig()
    x = check_axis("wavelength_nm_model", wavelength_nm_model)
    spec = check_batch("photons_per_nm_per_s", photons_per_nm_per_s, x.size, "wavelength_nm_model")
    flat = spec.reshape(-1, x.size)
    photons_per_s = np.asarray((response_matrix(x, config) @ flat.T).T)
    return (photons_per_s * pixel_gain(config)).reshape(*spec.shape[:-1], config.n_pixels)


def measure_spectrum(
    wavelength_nm_model,
    photons_per_nm_per_s,
    config: SpectrometerConfig | None = None,
    rng: int | np.random.Generator | None = None,
    noise: bool = True,
) -> dict[str, np.ndarray]:
    """Simulate the raw spectrum an array spectrometer records.

    Parameters
    ----------
    wavelength_nm_model : array_like, shape (W,)
        Wavelength grid of the model spectrum, strictly increasing. [nm]
    photons_per_nm_per_s : array_like, shape (..., W)
        Spectral photon rate reaching the spectrometer; piecewise linear between the
        samples, zero outside the grid. Leading dimensions are a batch. [photons/(nm s)]
    config : SpectrometerConfig, optional
        Spectrometer settings (default: `SpectrometerConfig()`).
    rng : None, int or numpy.random.Generator
        Random source for the noise (a seed gives reproducible spectra).
    noise : bool
        If False, ``counts`` equals ``expected`` (no shot, read or digitisation noise).

    Returns
    -------
    dict
        ``wavelength`` (n_pixels,) pixel centres [nm];
        ``expected`` (..., n_pixels) noiseless mean reading, offset included [counts];
        ``counts`` (..., n_pixels) the recorded spectrum: integer-valued for one read,
        mean of the reads for ``averages`` > 1 [counts];
        ``saturated`` (..., n_pixels) bool, True where the well was full or the ADC
        clipped in any read.

    Notes
    -----
    With zero nonlinearity, no saturation and no `response_table`,
    ``sum(expected - offset - dark)`` over
    pixels equals the integral of the input spectrum times integration time times
    ``counts_per_photon`` (photon conservation), up to slit tails beyond the detector.
    """
    config = config or SpectrometerConfig()
    t = config.integration_time_s
    linear = pixel_signal(wavelength_nm_model, photons_per_nm_per_s, config) * t
    linear = linear + config.dark_counts_per_s * t
    full = config.full_well_counts
    expected = np.clip(
        _nonlinear(linear, config) + config.electronic_offset_counts, 0.0, config.saturation_counts
    )
    result = {"wavelength": pixel_wavelengths(config), "expected": expected}
    if not noise:
        result["counts"] = expected.copy()
        result["saturated"] = (linear >= full) | (expected >= config.saturation_counts)
        return result
    gen = as_rng(rng)
    counts, saturated = _noisy_reads(linear, config, gen)
    result["counts"] = counts
    result["saturated"] = saturated
    return result


def _one_read(linear: np.ndarray, config: SpectrometerConfig, gen: np.random.Generator):
    cpe = config.counts_per_electron
    s = gen.poisson(linear / cpe) * cpe
    sat = s >= config.full_well_counts
    reading = _nonlinear(s, config) + config.electronic_offset_counts
    if config.read_noise_counts:
        reading = reading + gen.normal(0.0, config.read_noise_counts, size=reading.shape)
    reading = np.clip(np.rint(reading), 0.0, config.saturation_counts)
    return reading, sat | (reading >= config.saturation_counts)


def _noisy_reads(linear: np.ndarray, config: SpectrometerConfig, gen: np.random.Generator):
    n = int(config.averages)
    if n == 1:
        return _one_read(linear, config, gen)
    cpe, rn = config.counts_per_electron, config.read_noise_counts
    spread = 8.0 * np.sqrt(cpe * linear + rn**2 + 1.0)
    safe = (
        config.nonlinearity == 0.0
        and np.all(linear + spread < config.full_well_counts)
        and config.electronic_offset_counts - 8.0 * (rn + 1.0) > 0
    )
    if safe:
        # No clipping can occur, so the sum of n reads is: Poisson(n * mean) electrons
        # + n offsets + Gaussian read noise of variance n rn^2 + n rounding errors
        # (uniform, variance 1/12 each), rounded to an integer sum.
        total = gen.poisson(n * linear / cpe) * cpe + n * config.electronic_offset_counts
        total = total + gen.normal(0.0, math.sqrt(n * (rn**2 + 1.0 / 12.0)), size=total.shape)
        return np.rint(total) / n, np.zeros(linear.shape, dtype=bool)
    total = np.zeros(linear.shape)
    saturated = np.zeros(linear.shape, dtype=bool)
    for _ in range(n):
        reading, sat = _one_read(linear, config, gen)
        total += reading
        saturated |= sat
    return total / n, saturated


def measure_helicity_spectra(
    wavelength_nm_model,
    sigma_plus_photons_per_nm_per_s,
    sigma_minus_photons_per_nm_per_s,
    config: SpectrometerConfig | None = None,
    *,
    retardance_error_deg: float = 0.0,
    extinction: float = 0.0,
    rng: int | np.random.Generator | None = None,
    noise: bool = True,
) -> dict[str, dict[str, np.ndarray]]:
    """Spectra recorded through a circular analyzer set to sigma+ and to sigma-.

    The emitted sigma+ and sigma- spectral rates pass the detection analyzer (quarter-wave
    plate at +-45 deg, polarizer; `polase.instruments.analyzer.circular_analyzer_matrix`,
    with its retardance error) and are recorded with the same settings (same integration
    time, hence one scale), with independent noise.

    Parameters
    ----------
    wavelength_nm_model : array_like, shape (W,)
        Wavelength grid of the model spectra. [nm]
    sigma_plus_photons_per_nm_per_s, sigma_minus_photons_per_nm_per_s : array_like, (..., W)
        Emitted spectral photon rates in each helicity. [photons/(nm s)]
    config : SpectrometerConfig, optional
        Spectrometer settings.
    retardance_error_deg
        Retardance error of the detection quarter-wave plate. [deg]
    extinction
        Amplitude extinction ratio of the detection polarizer. [1]
    rng, noise
        As in `measure_spectrum`.

    Returns
    -------
    dict
        ``"sigma_plus"`` and ``"sigma_minus"``: the `measure_spectrum` result of each channel.
    """
    from .analyzer import circular_analyzer_matrix

    w = circular_analyzer_matrix(retardance_error_deg, extinction)
    plus = np.asarray(sigma_plus_photons_per_nm_per_s, dtype=float)
    minus = np.asarray(sigma_minus_photons_per_nm_per_s, dtype=float)
    if plus.shape != minus.shape:
        raise DataValidationError(
            f"the sigma+ {plus.shape} and sigma- {minus.shape} spectra differ in shape"
        )
    gen = as_rng(rng) if noise else None
    return {
        name: measure_spectrum(
            wavelength_nm_model, row[0] * plus + row[1] * minus, config, rng=gen, noise=noise
        )
        for name, row in zip(("sigma_plus", "sigma_minus"), w)
    }
