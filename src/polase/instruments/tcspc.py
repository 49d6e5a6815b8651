"""Time-correlated single-photon counting (TCSPC) model (Horiba Fluorolog-3 style).

A model emission rate after one excitation pulse becomes a TCSPC histogram:

1. The rate is taken as piecewise linear between its samples (time zero = the
   excitation pulse) and integrated exactly over every channel.
2. Beyond the last model time it continues as an exponential tail (decay rate from
   the last tenth of the model) or stops (``tail="zero"``).
3. Incomplete decay: with pulses every ``repetition_period_ns`` the histogram
   holds the emission of all earlier pulses too, sum_m f(t + m P). Periods that
   reach into the sampled model are summed explicitly; all later ones lie in the
   exponential tail and are summed in closed form, a geometric series
   (factor 1 / (1 - exp(-P / tau))).
4. The emission, on 8 sub-channels per channel, is convolved with the instrument
   response function (Gaussian, or a measured IRF) weighted by a triangle of one
   sub-channel's half-width (the overlap of emission and detection sub-channels), summed
   into channels, scaled to the requested peak or total counts
   (as a peak-preset acquisition does), a constant background is added, and the
   counts are Poisson distributed.

Pile-up and dead time are ignored: valid at the low count rates (< 1-2 % of the
repetition rate) at which TCSPC data are recorded.

Units: time [ns], counts [counts].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ..errors import ConfigError, DataValidationError
from ._checks import as_rng, as_tuple, check_axis, check_batch, check_number

__all__ = [
    "TCSPCConfig",
    "channel_times",
    "gaussian_irf",
    "irf_from_recording",
    "measure_anisotropy_decays",
    "measure_decay",
    "measure_decay_set",
    "measure_helicity_decays",
]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_TAILS = ("exponential", "zero")
#: sub-channels per channel on which `_signal` integrates
_N_SUB = 8


@dataclass(frozen=True)
class TCSPCConfig:
    """Settings of a TCSPC lifetime measurement.

    Defaults follow the Horiba DAS6 export in ../shared/external/tcspc (channel width,
    4096 channels, IRF width, 10000-count peak preset); see docs/instruments.md.

    Parameters
    ----------
    channel_width_ns : float
        Time width of one histogram channel. [ns]
    n_channels : int
        Number of channels; the window is n_channels x channel_width_ns. [1]
    irf_fwhm_ns : float
        FWHM of the Gaussian instrument response (used when `irf` is None). [ns]
    irf : array_like, optional
        Measured IRF, counts per channel on the same channel grid (length
        n_channels); negative values are set to 0 and it is normalised to sum 1.
        Its position in the window defines the excitation time. Stored as a tuple
        of floats (normalised), so configs stay hashable. [counts]
    irf_offset_ns : float
        Centre of the Gaussian IRF, i.e. arrival of the excitation pulse, measured
        from the start of channel 0. [ns]
    irf_shift_ns : float
        Extra delay applied to a measured IRF (its cumulative, linear within a channel,
        delayed). [ns]
    repetition_period_ns : float
        Time between excitation pulses (25 kHz: 40000 ns); must not be shorter than
        the window. [ns]
    background_counts_per_channel : float
        Constant background (dark counts, ambient light) per channel. [counts]
    peak_counts : float, optional
        Expected counts of the signal (background excluded) in its highest channel,
        as in a peak-preset acquisition. Exactly one of `peak_counts`, `total_counts`
        is given. [counts]
    total_counts : float, optional
        Expected signal counts summed over all channels (background excluded). [counts]
    """

    channel_width_ns: float = 0.02743484
    n_channels: int = 4096
    irf_fwhm_ns: float = 0.27
    irf: tuple | None = None
    irf_offset_ns: float = 10.0
    irf_shift_ns: float = 0.0
    repetition_period_ns: float = 40000.0
    background_counts_per_channel: float = 2.0
    peak_counts: float | None = 10000.0
    total_counts: float | None = None

    def __post_init__(self):
        check_number("channel_width_ns", self.channel_width_ns, positive=True)
        check_number("n_channels", self.n_channels, positive=True, integer=True)
        if self.n_channels < 2:
            raise ConfigError("n_channels", f"must be >= 2, got {self.n_channels}")
        check_number("irf_fwhm_ns", self.irf_fwhm_ns, positive=True)
        check_number("irf_offset_ns", self.irf_offset_ns)
        check_number("irf_shift_ns", self.irf_shift_ns)
        check_number("repetition_period_ns", self.repetition_period_ns, positive=True)
        if self.repetition_period_ns < self.window_ns:
            raise ConfigError(
                "repetition_period_ns",
                f"must be >= the time window n_channels x channel_width_ns = {self.window_ns:.6g} ns, "
                f"got {self.repetition_period_ns}",
            )
        check_number(
            "background_counts_per_channel", self.background_counts_per_channel, nonnegative=True
        )
        if (self.peak_counts is None) == (self.total_counts is None):
            raise ConfigError(
                "peak_counts",
                "give exactly one of peak_counts and total_counts "
                f"(got peak_counts={self.peak_counts!r}, total_counts={self.total_counts!r})",
            )
        if self.peak_counts is not None:
            check_number("peak_counts", self.peak_counts, positive=True)
        else:
            check_number("total_counts", self.total_counts, positive=True)
        if self.irf is not None:
            object.__setattr__(self, "irf", _check_irf(self.irf, self.n_channels))

    @property
    def window_ns(self) -> float:
        """Width of the time window. [ns]"""
        return self.n_channels * self.channel_width_ns


def _check_irf(irf, n_channels: int) -> tuple[float, ...]:
    arr = np.asarray(irf, dtype=float)
    if arr.shape != (n_channels,):
        raise ConfigError(
            "irf", f"must have shape ({n_channels},) like the channel grid, got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ConfigError("irf", "contains NaN or infinite values")
    arr = np.clip(arr, 0.0, None)
    if not arr.sum() > 0:
        raise ConfigError("irf", "has no positive counts")
    return as_tuple(arr / arr.sum())


def channel_times(config: TCSPCConfig | None = None) -> np.ndarray:
    """Centre time of every channel, (n + 0.5) x channel_width_ns.

    Returns
    -------
    ndarray, shape (n_channels,)
        Channel centre times. [ns]
    """
    config = config or TCSPCConfig()
    return (np.arange(config.n_channels) + 0.5) * config.channel_width_ns


def gaussian_irf(time_ns, fwhm_ns: float, t0_ns: float) -> np.ndarray:
    """Gaussian instrument response integrated over channels, normalised to sum 1.

    Parameters
    ----------
    time_ns : array_like, shape (C,)
        Channel centre times, uniformly spaced; channel c covers time_ns[c] +- w/2. [ns]
    fwhm_ns : float
        Full width at half maximum of the Gaussian. [ns]
    t0_ns : float
        Centre of the Gaussian. [ns]

    Returns
    -------
    ndarray, shape (C,)
        Fraction of the response in each channel; sums to 1. [1]
    """
    t = check_axis("time_ns", time_ns)
    check_number("fwhm_ns", fwhm_ns, positive=True)
    check_number("t0_ns", t0_ns)
    w = np.diff(t)
    if not np.allclose(w, w[0], rtol=1e-6, atol=0.0):
        raise DataValidationError("time_ns must be uniformly spaced (TCSPC channels)")
    sigma = fwhm_ns / _FWHM_PER_SIGMA
    half = 0.5 * w[0]
    p = ndtr((t + half - t0_ns) / sigma) - ndtr((t - half - t0_ns) / sigma)
    total = p.sum()
    if not total > 1e-6:
        raise DataValidationError(
            f"the Gaussian IRF centred at {t0_ns} ns lies outside the time range "
            f"[{t[0] - half:.4g}, {t[-1] + half:.4g}] ns"
        )
    return p / total


def irf_from_recording(counts, pre_peak_channels: int = 30) -> np.ndarray:
    """The instrument response alone from a recorded IRF histogram, for `TCSPCConfig.irf`.

    A recorded IRF holds dark counts in every channel, which are no response of the
    instrument: their mean (from the first non-empty channel to `pre_peak_channels` before
    the peak) is subtracted, and the response is set to zero before that point and from
    where its 9-channel running mean falls below one count after the peak.

    Parameters
    ----------
    counts : array_like, shape (C,)
        Recorded IRF histogram. [counts]
    pre_peak_channels : int
        Channels before the peak where the response starts. [1]

    Returns
    -------
    ndarray, shape (C,)
        Response, >= 0, in the recording's counts. [counts]

    Raises
    ------
    DataValidationError
        Fewer than `pre_peak_channels` non-empty channels before the peak, or no counts.
    """
    raw = np.asarray(counts, dtype=float)
    if raw.ndim != 1 or not np.all(np.isfinite(raw)) or raw.max(initial=0.0) <= 0:
        raise DataValidationError("counts must be a 1-D histogram of finite counts, not all 0")
    pk = int(raw.argmax())
    first = int(np.flatnonzero(raw > 0)[0])
    if pk - pre_peak_channels <= first:
        raise DataValidationError(
            f"the IRF peak (channel {pk}) has fewer than {pre_peak_channels} recorded channels"
            " before it: no dark level to subtract"
        )
    irf = np.clip(raw - raw[first : pk - pre_peak_channels].mean(), 0.0, None)
    smooth = np.convolve(irf, np.ones(9) / 9, mode="same")
    irf[: pk - pre_peak_channels] = 0.0
    irf[pk + int(np.argmax(smooth[pk:] < 1.0)) :] = 0.0
    return irf


def _tail(time: np.ndarray, rate: np.ndarray, tail: str, tail_decay_ns):
    """Amplitude A [rate] and decay constant k [1/ns] of the tail A exp(-k (t - t_end))."""
    amp = rate[..., -1]
    if tail == "zero":
        return np.zeros_like(amp), np.ones_like(amp)
    if tail_decay_ns is not None:
        k = np.broadcast_to(1.0 / np.asarray(tail_decay_ns, dtype=float), amp.shape).copy()
        return amp, k
    # Decay rate from the last tenth of the model (log slope between two samples).
    i_a = int(np.searchsorted(time, time[-1] - 0.1 * (time[-1] - time[0]), side="right")) - 1
    i_a = min(max(i_a, 0), time.size - 2)
    r_a = rate[..., i_a]
    pos = amp > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(pos, np.log(r_a / amp) / (time[-1] - time[i_a]), 1.0)
    if np.any(pos & ~(k > 0)):
        raise DataValidationError(
            "emission_rate does not decay at the end of time_ns_model, so no exponential "
            "tail can be extrapolated; extend the model time range, pass tail_decay_ns, "
            "or use tail='zero'"
        )
    return np.where(pos, amp, 0.0), k


def _cumulative(time, rate, amp, k, query):
    """Integral of the extended rate from 0 to each query time (exact for piecewise-linear rate).

    rate (..., T); amp, k (...); query (Q,) -> (..., Q).
    """
    dt = np.diff(time)
    seg_int = 0.5 * (rate[..., 1:] + rate[..., :-1]) * dt
    cum = np.concatenate([np.zeros((*rate.shape[:-1], 1)), np.cumsum(seg_int, axis=-1)], axis=-1)
    q = np.asarray(query, dtype=float)
    inside = (q >= time[0]) & (q <= time[-1])
    j = np.clip(np.searchsorted(time, q, side="right") - 1, 0, time.size - 2)
    u = np.where(inside, q - time[j], 0.0)
    slope = (rate[..., j + 1] - rate[..., j]) / dt[j]
    val_in = cum[..., j] + rate[..., j] * u + 0.5 * slope * u**2
    after = q > time[-1]
    du = np.where(after, q - time[-1], 0.0)
    val_after = cum[..., -1:] + (amp / k)[..., None] * -np.expm1(-k[..., None] * du)
    return np.where(inside, val_in, np.where(after, val_after, 0.0))


def _periodic_channel_integrals(time, rate, amp, k, edges, period):
    """Integral over each channel of sum_{m >= 0} f(t + m P); edges (E+1,) -> (..., E)."""
    t_end = time[-1]
    # Explicit periods: until every shifted channel lies beyond the model's end.
    m_max = max(0, math.ceil((t_end - edges[0]) / period) - 1)
    total = 0.0
    for m in range(m_max + 1):
        cum = _cumulative(time, rate, amp, k, edges + m * period)
        total = total + np.diff(cum, axis=-1)
    # All later periods lie in the tail: geometric series in closed form.
    start = edges[:-1] + (m_max + 1) * period - t_end
    width = np.diff(edges)
    kk = k[..., None]
    with np.errstate(over="ignore", under="ignore"):
        rest = (amp / k)[..., None] * np.exp(-kk * start) * -np.expm1(-kk * width)
        rest = rest / -np.expm1(-kk * period)
    return total + rest


def _psi(x, sd):
    """E[max(x - Z, 0)], Z ~ N(0, sd^2): sd (z Phi(z) + phi(z)), z = x / sd."""
    z = x / sd
    return sd * (z * ndtr(z) + np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi))


def _signal(time_ns_model, emission_rate, config: TCSPCConfig, tail: str, tail_decay_ns):
    """Unscaled channel signal (IRF-convolved, periodic) and the normalised IRF."""
    if tail not in _TAILS:
        raise DataValidationError(f"tail must be one of {_TAILS}, got {tail!r}")
    t = check_axis("time_ns_model", time_ns_model)
    if t[0] < 0:
        raise DataValidationError(f"time_ns_model must start at >= 0 (the excitation), got {t[0]}")
    rate = check_batch("emission_rate", emission_rate, t.size, "time_ns_model")
    n, w = int(config.n_channels), config.channel_width_ns
    centres = channel_times(config)
    # Emission and detection on _N_SUB sub-channels per channel. Emission spread uniformly
    # over a sub-channel reaches a detection sub-channel d later through the IRF mass
    # weighted by a triangle of half-width ws centred on the lag d ws (the overlap of the two
    # sub-channels, shifted), and the sub-channels are summed into channels: exact but for
    # the emission's shape within a sub-channel (ws^2 / 12 of spread, w^2 / 768).
    ns = _N_SUB
    ws = w / ns
    lags = np.arange(n * ns) * ws
    if config.irf is None:
        sd = config.irf_fwhm_ns / _FWHM_PER_SIGMA
        irf_norm = gaussian_irf(centres, config.irf_fwhm_ns, config.irf_offset_ns)
        # triangle-weighted Gaussian: the second difference of psi over +-ws, psi the
        # Gaussian's twice-integrated density
        x = lags - config.irf_offset_ns
        near = np.abs(x) <= 12.0 * sd + ws
        xs = x[near]
        kernel = np.zeros(lags.size)
        kernel[near] = (_psi(xs + ws, sd) - 2.0 * _psi(xs, sd) + _psi(xs - ws, sd)) / ws
    else:
        measured = np.asarray(config.irf)
        # its cumulative through the channel edges (uniform within a channel), delayed
        cum = np.concatenate([[0.0], np.cumsum(measured)])
        edges_ch = np.arange(n + 1) * w + config.irf_shift_ns
        irf_norm = np.diff(np.interp(np.arange(n + 1) * w, edges_ch, cum))
        sub = np.diff(np.interp(np.arange(n * ns + 1) * ws, edges_ch, cum))
        kernel = 0.5 * (sub + np.concatenate([[0.0], sub[:-1]]))
        if not irf_norm.sum() > 0 or not kernel.sum() > 0:
            raise ConfigError(
                "irf_shift_ns", f"shifts the IRF out of the window ({config.irf_shift_ns} ns)"
            )
        irf_norm = irf_norm / irf_norm.sum()
    kernel = np.clip(kernel, 0.0, None)
    kernel = kernel / kernel.sum()
    # the kernel's support only: emission of the sub-channels it carries into the window
    nz = np.flatnonzero(kernel > 0)
    d0, d1 = int(nz[0]), int(nz[-1])
    kernel = kernel[d0 : d1 + 1]
    amp, k = _tail(t, rate, tail, tail_decay_ns)
    edges = np.arange(-d1, n * ns - d0 + 1) * ws
    emission = _periodic_channel_integrals(t, rate, amp, k, edges, config.repetition_period_ns)
    signal = _convolve_valid(emission, kernel)
    signal = signal.reshape(*signal.shape[:-1], n, ns).sum(axis=-1)
    signal = np.clip(signal, 0.0, None)
    return centres, signal, irf_norm


def _convolve_valid(a, kernel):
    """``scipy.signal.fftconvolve(a, kernel, mode="valid")`` along the last axis of `a`
    (one kernel for every row), through scipy.fft: scipy.signal costs ~0.7 s to import."""
    from scipy import fft

    n_a, n_k = a.shape[-1], kernel.size
    n_fft = fft.next_fast_len(n_a + n_k - 1, real=True)
    full = fft.irfft(fft.rfft(a, n_fft, axis=-1) * fft.rfft(kernel, n_fft), n_fft, axis=-1)
    return full[..., n_k - 1 : n_a]


def measure_decay(
    time_ns_model,
    emission_rate,
    config: TCSPCConfig | None = None,
    rng: int | np.random.Generator | None = None,
    noise: bool = True,
    tail: str = "exponential",
    tail_decay_ns=None,
) -> dict[str, np.ndarray]:
    """Simulate a TCSPC decay histogram.

    Parameters
    ----------
    time_ns_model : array_like, shape (T,)
        Model times after the excitation pulse, strictly increasing, >= 0. [ns]
    emission_rate : array_like, shape (..., T)
        Emission rate after one pulse (any unit: the histogram is scaled to
        `config.peak_counts` or `config.total_counts`); leading dimensions are a
        batch, each member scaled separately. [photons/ns]
    config : TCSPCConfig, optional
        TCSPC settings (default: `TCSPCConfig()`).
    rng : None, int or numpy.random.Generator
        Random source for the Poisson noise.
    noise : bool
        If False, ``counts`` equals ``expected``.
    tail : {"exponential", "zero"}
        Emission after the last model time: exponential extrapolation (rate from the
        last tenth of the model, or `tail_decay_ns`) or none.
    tail_decay_ns : float or array_like, optional
        Decay time of the exponential tail, broadcast to the batch shape. [ns]

    Returns
    -------
    dict
        ``time`` (n_channels,) channel centres [ns]; ``expected`` (..., n_channels)
        [counts]; ``counts`` (..., n_channels) Poisson histogram [counts];
        ``irf`` (n_channels,) recorded IRF (scaled like the decay, background and
        noise included) [counts]; ``irf_expected`` (n_channels,) its mean [counts];
        ``irf_normalized`` (n_channels,) IRF on the channel grid, sum 1 [1].
    """
    config = config or TCSPCConfig()
    centres, signal, irf_norm = _signal(time_ns_model, emission_rate, config, tail, tail_decay_ns)
    if config.peak_counts is not None:
        norm, target = signal.max(axis=-1, keepdims=True), config.peak_counts
        irf_scale = config.peak_counts / irf_norm.max()
    else:
        norm, target = signal.sum(axis=-1, keepdims=True), config.total_counts
        irf_scale = config.total_counts
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norm > 0, target / norm, 0.0)
    bg = config.background_counts_per_channel
    expected = signal * scale + bg
    irf_expected = irf_norm * irf_scale + bg
    result = {
        "time": centres,
        "expected": expected,
        "irf_expected": irf_expected,
        "irf_normalized": irf_norm,
    }
    if noise:
        gen = as_rng(rng)
        result["counts"] = gen.poisson(expected).astype(float)
        result["irf"] = gen.poisson(irf_expected).astype(float)
    else:
        result["counts"] = expected.copy()
        result["irf"] = irf_expected.copy()
    return result


def measure_decay_set(
    time_ns_model,
    emission_rates: dict,
    config: TCSPCConfig | None = None,
    rng: int | np.random.Generator | None = None,
    noise: bool = True,
    tail: str = "exponential",
    tail_decay_ns=None,
) -> dict:
    """Simulate TCSPC histograms of several polarization channels that share ONE scale.

    The channels of a polarization-resolved measurement are recorded with the same
    acquisition time, so their relative intensities carry the polarization. One scale is
    chosen so that the brightest channel meets the preset (`config.peak_counts` in its
    highest channel, or `config.total_counts` in its sum); every channel gets that scale,
    the background, and independent Poisson noise. (`measure_decay` scales every trace of
    a batch separately and cannot be used for this.)

    Parameters
    ----------
    time_ns_model : array_like, shape (T,)
        Model times after the excitation pulse, strictly increasing, >= 0. [ns]
    emission_rates : dict of str -> array_like, each shape (..., T)
        Emission rate reaching each detection channel (same unit for all). [photons/ns]
    config, rng, noise, tail, tail_decay_ns
        As in `measure_decay`.

    Returns
    -------
    dict
        ``time`` (n_channels,) [ns]; ``scale`` the common factor (leading batch shape)
        [counts per unit rate]; for every channel name ``name``: ``counts[name]`` and
        ``expected[name]`` (..., n_channels) [counts]; ``irf``, ``irf_expected``,
        ``irf_normalized`` as in `measure_decay`.
    """
    config = config or TCSPCConfig()
    if not emission_rates:
        raise DataValidationError("emission_rates is empty: give at least one channel")
    names = list(emission_rates)
    shapes = {k: np.shape(v) for k, v in emission_rates.items()}
    if len(set(shapes.values())) != 1:
        raise DataValidationError(f"the channels' emission rates differ in shape: {shapes}")
    stacked = np.stack([np.asarray(emission_rates[k], dtype=float) for k in names])
    centres, signal, irf_norm = _signal(time_ns_model, stacked, config, tail, tail_decay_ns)
    if config.peak_counts is not None:
        norm, target = signal.max(axis=-1).max(axis=0), config.peak_counts
        irf_scale = config.peak_counts / irf_norm.max()
    else:
        norm, target = signal.sum(axis=-1).max(axis=0), config.total_counts
        irf_scale = config.total_counts
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norm > 0, target / norm, 0.0)
    bg = config.background_counts_per_channel
    expected = signal * scale[None, ..., None] + bg
    irf_expected = irf_norm * irf_scale + bg
    gen = as_rng(rng) if noise else None
    counts = gen.poisson(expected).astype(float) if noise else expected.copy()
    out = {
        "time": centres,
        "scale": scale,
        "expected": {k: expected[i] for i, k in enumerate(names)},
        "counts": {k: counts[i] for i, k in enumerate(names)},
        "irf_expected": irf_expected,
        "irf_normalized": irf_norm,
        "irf": gen.poisson(irf_expected).astype(float) if noise else irf_expected.copy(),
    }
    return out


def measure_helicity_decays(
    time_ns_model,
    n_up,
    n_down,
    config: TCSPCConfig | None = None,
    *,
    k_rad: float = 1.0,
    eps: float = 1.0,
    retardance_error_deg: float = 0.0,
    extinction: float = 0.0,
    rng: int | np.random.Generator | None = None,
    noise: bool = True,
    tail: str = "exponential",
) -> dict:
    """Helicity-resolved TCSPC pair (sigma+, sigma-) from spin populations.

    The emission I_+-(t) = k_rad [(1 +- eps) N_up + (1 -+ eps) N_down] / 2
    (`polase.instruments.analyzer.helicity_emission`) passes a quarter-wave plate plus
    polarizer analyzer (`circular_analyzer_matrix`, with its retardance error) and is
    recorded as a pair with one common scale (`measure_decay_set`).

    Parameters
    ----------
    time_ns_model : array_like, shape (T,)
        Model times after the excitation pulse. [ns]
    n_up, n_down : array_like, shape (..., T)
        Spin-resolved populations N_up(t), N_down(t). [arb.]
    config : TCSPCConfig, optional
        TCSPC settings; the preset applies to the brighter channel.
    k_rad
        Radiative rate (only sets the unit of the rate). [1/s]
    eps
        Helicity of the emission of one spin state. [1]
    retardance_error_deg
        Retardance error of the detection quarter-wave plate. [deg]
    extinction
        Amplitude extinction ratio of the detection polarizer. [1]
    rng, noise, tail
        As in `measure_decay`.

    Returns
    -------
    dict
        As `measure_decay_set` with channels ``"sigma_plus"`` and ``"sigma_minus"``.
    """
    from .analyzer import circular_analyzer_matrix, helicity_emission

    plus, minus = helicity_emission(n_up, n_down, k_rad, eps)
    w = circular_analyzer_matrix(retardance_error_deg, extinction)
    rates = {
        "sigma_plus": w[0, 0] * plus + w[0, 1] * minus,
        "sigma_minus": w[1, 0] * plus + w[1, 1] * minus,
    }
    return measure_decay_set(time_ns_model, rates, config, rng=rng, noise=noise, tail=tail)


def measure_anisotropy_decays(
    time_ns_model,
    total_rate,
    anisotropy,
    config: TCSPCConfig | None = None,
    *,
    g_factor: float = 1.0,
    rng: int | np.random.Generator | None = None,
    noise: bool = True,
    tail: str = "exponential",
) -> dict:
    """L-format anisotropy set (VV, VH, HV, HH) with one common scale.

    Parameters
    ----------
    time_ns_model : array_like, shape (T,)
        Model times after the excitation pulse. [ns]
    total_rate : array_like, shape (..., T)
        Total emission rate F(t). [arb./ns]
    anisotropy : array_like, broadcast to total_rate
        Anisotropy r(t). [1]
    config : TCSPCConfig, optional
        TCSPC settings; the preset applies to the brightest channel (VV).
    g_factor
        Detection sensitivity ratio S_V / S_H. [1]
    rng, noise, tail
        As in `measure_decay`.

    Returns
    -------
    dict
        As `measure_decay_set` with channels ``"VV"``, ``"VH"``, ``"HV"``, ``"HH"``.
    """
    from .analyzer import anisotropy_channels

    rates = anisotropy_channels(total_rate, anisotropy, g_factor)
    return measure_decay_set(time_ns_model, rates, config, rng=rng, noise=noise, tail=tail)
