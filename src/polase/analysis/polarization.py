"""Polarization-resolved decays: joint fits of two channels (anisotropy and helicity).

Both channels of a pair are fitted together: one Poisson likelihood over both histograms
(the two histograms concatenated into one model vector for `polase.fitting.curve_fit_batch`),
shared lifetimes and polarization parameters, a background per channel and an IRF shift
(optionally a separate shift for the second channel). The model of a channel is a sum of
exponentials, each integrated over its channel and convolved with the measured IRF
(normalised to unit sum, delayed by cubic interpolation), so the polarization decay is
never divided out of IRF-distorted data (division and convolution do not commute).

Helicity (sigma+ / sigma-), populations F(t) = sum_i a_i exp(-t / tau_i) and
DCP(t) = DCP0 exp(-t / tau_s):

    I_+-(t) = F(t) [1 +- DCP(t)] / 2   (convolved with the IRF, plus a background)

Anisotropy (L format: VV, VH with G = S_V / S_H from HV / HH), r(t) one of
``one``: r0 exp(-t/theta); ``hindered``: (r0 - r_inf) exp(-t/theta) + r_inf;
``two``: r0 [f exp(-t/theta1) + (1 - f) exp(-t/theta2)]:

    VV(t) = F(t) [1 + 2 r(t)] / 3,   VH(t) = F(t) [1 - r(t)] / (3 G)

Intervals: anisotropy parameters and lifetimes by the inverse Fisher information
(lifetimes and rotation times fitted as logarithms, so their intervals are
exp(ln x +- 1.96 se)), inflated by sqrt(reduced chi-square) when that exceeds 1; tau_s by
the profile likelihood (deviance rise 3.84 x max(1, reduced chi-square)). When the profile
does not rise by that much on the short side within the search range, or the rise there
comes only from the bound |DCP0| <= 1 (the short-lived polarized emission is an IRF-shaped
spike whose area, DCP0 x tau_s, is all that the data fix), tau_s is not resolved and the
result is an upper bound; when it does not rise on the long side (DCP does not decay
within the emission), a lower bound.

Also here: the classic division method r(t) = (VV - G VH) / (VV + 2 G VH) with its own
least-squares fit (scipy), tau_s from the time-integrated DCP, P = P0 / (1 + tau / tau_s),
and the Hanle curve DCP(B) = DCP0 / [1 + (g mu_B B tau_s / hbar)^2].

Units: time [ns], counts [counts], field [T].
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numba
import numpy as np

from .._json import to_jsonable
from ..errors import DataValidationError, FitError
from ..fitting._kernels import _channel_weights, _shift_irf
from ..fitting.models import channel_irf
from .decay import PileUpWarning, check_count_rate

__all__ = [
    "PileUpError",
    "PileUpWarning",
    "PolarizationFit",
    "PolarizationInputError",
    "anisotropy_division",
    "check_pair",
    "check_pileup",
    "fit_anisotropy",
    "fit_anisotropy_division",
    "fit_hanle",
    "fit_helicity_batch",
    "fit_helicity_manifest",
    "fit_helicity_pair",
    "g_factor_from_hv_hh",
    "pileup_fraction",
    "polarization_channels",
    "rebin",
    "tau_s_from_integrated_dcp",
    "to_jsonable",
]

_Z95 = 1.959963984540054
_CHI2_95 = 3.841458820694124
#: Zero channels put before the IRF, so that a negative IRF shift pulls the IRF (and its
#: decay) from before the window instead of cutting it off.
_PAD = 256
#: |DCP0| at or above this counts as "at its bound" in the resolution test.
_DCP_BOUND_HIT = 0.995
ANISOTROPY_MODELS = ("one", "hindered", "two")


class PolarizationInputError(DataValidationError):
    """Polarization channels that cannot be analysed together (lengths, calibration, counts)."""


class PileUpError(PolarizationInputError):
    """A histogram recorded at so high a count rate that pile-up distorts it (> 5 %)."""


# ---------------------------------------------------------------------------------------
# input checks


def check_pair(
    counts: dict[str, Any],
    channel_width_ns: dict[str, float] | float,
    irf=None,
    irf_channel_width_ns: float | None = None,
) -> tuple[dict[str, np.ndarray], float]:
    """Check that polarization channels can be fitted together.

    Parameters
    ----------
    counts
        Channel name -> histogram (M,). [counts]
    channel_width_ns
        One width for all, or name -> width. [ns]
    irf : array_like, optional
        Instrument response on the same grid. [counts]
    irf_channel_width_ns
        Channel width of the IRF file. [ns]

    Returns
    -------
    counts, channel_width_ns
        The histograms as float arrays and their common channel width. [counts], [ns]

    Raises
    ------
    PolarizationInputError
        Different lengths or time calibrations (names the channels), non-finite or negative
        counts, a channel without counts.
    """
    arrs = {k: np.asarray(v, dtype=float) for k, v in counts.items()}
    widths = (
        {k: float(channel_width_ns[k]) for k in arrs}
        if isinstance(channel_width_ns, dict)
        else {k: float(channel_width_ns) for k in arrs}
    )
    if irf is not None:
        arrs_irf = np.asarray(irf, dtype=float)
        arrs = {**arrs, "IRF": arrs_irf}
        widths["IRF"] = float(irf_channel_width_ns or next(iter(widths.values())))
    lengths = {k: a.shape for k, a in arrs.items()}
    if len(set(lengths.values())) != 1 or any(len(s) != 1 for s in lengths.values()):
        raise PolarizationInputError(
            f"the channels must be 1-D histograms of the same length, got {lengths}"
        )
    w0 = next(iter(widths.values()))
    if any(not math.isclose(w, w0, rel_tol=1e-6) for w in widths.values()):
        raise PolarizationInputError(
            f"the channels have different time calibrations [ns/ch]: {widths}; "
            "re-bin them onto one grid first"
        )
    for k, a in arrs.items():
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise PolarizationInputError(f"channel {k!r}: counts must be finite and >= 0")
        if not a.sum() > 0:
            raise PolarizationInputError(f"channel {k!r} has no counts")
    if irf is not None:
        arrs.pop("IRF")
    return arrs, w0


def pileup_fraction(
    total_counts: float, acquisition_time_s: float, repetition_rate_hz: float
) -> float:
    """Fraction of detection cycles in which more than one photon arrived.

    With p = total_counts / (acquisition_time_s x repetition_rate_hz) the probability of a
    detection per excitation pulse and Poisson photon numbers of mean mu = -ln(1 - p), the
    fraction of detected cycles with >= 2 photons is 1 - mu e^-mu / (1 - e^-mu) (~p / 2).
    TCSPC records only the first photon of such a cycle, so the histogram is biased early.

    Parameters
    ----------
    total_counts
        Counts in the histogram. [counts]
    acquisition_time_s
        Acquisition (real) time. [s]
    repetition_rate_hz
        Excitation repetition rate. [Hz]

    Returns
    -------
    float
        Pile-up fraction. [1]
    """
    if not (acquisition_time_s > 0 and repetition_rate_hz > 0):
        raise PolarizationInputError(
            "acquisition_time_s and repetition_rate_hz must be > 0 to estimate pile-up, got "
            f"{acquisition_time_s}, {repetition_rate_hz}"
        )
    p = total_counts / (acquisition_time_s * repetition_rate_hz)
    if p >= 1.0:
        return 1.0
    if p <= 0.0:
        return 0.0
    mu = -math.log1p(-p)
    return 1.0 - mu * math.exp(-mu) / (-math.expm1(-mu))


def check_pileup(
    name: str,
    total_counts: float,
    acquisition_time_s: float | None,
    repetition_rate_hz: float | None,
    limit: float = 0.05,
    allow_pileup: bool = False,
) -> float | None:
    """Raise `PileUpError` (or warn, with ``allow_pileup``) when pile-up exceeds `limit`.

    Below `limit` the rate is checked as `polase decay` checks it
    (`polase.analysis.decay.check_count_rate`: a `PileUpWarning` above 0.05 detected photons
    per excitation), so one file gets the same warning from both commands.

    Returns the pile-up fraction [1], or None when the time or rate is unknown.
    """
    if acquisition_time_s is None or repetition_rate_hz is None or not acquisition_time_s > 0:
        return None
    frac = pileup_fraction(total_counts, acquisition_time_s, repetition_rate_hz)
    if frac <= limit:
        check_count_rate(
            total_counts / acquisition_time_s, 1e9 / repetition_rate_hz, source=f"channel {name!r}"
        )
    else:
        msg = (
            f"channel {name!r}: pile-up {100 * frac:.1f} % > {100 * limit:.0f} % "
            f"({total_counts:.0f} counts in {acquisition_time_s:g} s at {repetition_rate_hz:g} Hz)"
            "; record at a lower count rate (< 1-2 % of the repetition rate)"
        )
        if not allow_pileup:
            raise PileUpError(msg)
        warnings.warn(msg, PileUpWarning, stacklevel=2)
    return frac


def rebin(counts, factor: int) -> np.ndarray:
    """Sum groups of `factor` adjacent channels (a trailing incomplete group is dropped).

    Parameters
    ----------
    counts : array_like, shape (..., M)
        Histograms. [counts]
    factor
        Channels per new channel. [1]

    Returns
    -------
    ndarray, shape (..., M // factor)
        [counts]
    """
    c = np.asarray(counts, dtype=float)
    f = int(factor)
    if f < 1:
        raise PolarizationInputError(f"re-binning factor must be >= 1, got {factor}")
    m = (c.shape[-1] // f) * f
    return c[..., :m].reshape(*c.shape[:-1], m // f, f).sum(axis=-1)


# ---------------------------------------------------------------------------------------
# the joint model


@numba.njit(cache=True, nogil=True)
def _joint_kernel(irf, dt, ca, cb, rates, shift_a, shift_b, bg_a, bg_b, pad):  # pragma: no cover
    """Both channels: sum_k c_k (IRF * E_k) with each channel's IRF delayed, plus background.

    The reconvolution of `polase decay` (`polase.fitting.reconvolution_model`, the kernels
    `_shift_irf` and `_channel_weights` of `polase.fitting._kernels`): irf is `channel_irf`
    of the window's IRF behind `pad` zero channels (m + pad values), delayed per channel
    by the monotone-Hermite cumulative shift; E_k is exp(-rate_k t) per unit onset height,
    with each IRF channel's excitation spread over its width and the emission counted over
    whole channels: w0 irf_s[j] + b sum_{l<j} irf_s[l] q^(j-1-l), q = exp(-rate dt). The
    pad lets a negative shift pull the IRF (and its decay) from before the window; only the
    last m channels are returned.
    """
    n_fit, n_term = rates.shape
    n_full = irf.size
    m = n_full - pad
    fa = np.empty((n_fit, m))
    fb = np.empty((n_fit, m))
    g = np.empty(n_full)
    dg = np.empty(n_full)
    for i in range(n_fit):
        for ch in range(2):
            out = fa if ch == 0 else fb
            coef = ca if ch == 0 else cb
            s = (shift_a[i] if ch == 0 else shift_b[i]) / dt
            _shift_irf(irf, s, g, dg)
            bg = bg_a[i] if ch == 0 else bg_b[i]
            for j in range(m):
                out[i, j] = bg
            for k in range(n_term):
                x = rates[i, k] * dt
                q = math.exp(-x)
                w0, b, _, _ = _channel_weights(x)
                c = coef[i, k]
                acc = 0.0
                for j in range(n_full):
                    if j >= pad:
                        out[i, j - pad] += c * (w0 * g[j] + b * acc)
                    acc = q * acc + g[j]
    return fa, fb


class _JointModel:
    """Two channels, each sum_k c_k (IRF * E(rate_k)) delayed + background.

    ``terms(params) -> (coef_a (N, K), coef_b (N, K), rates (N, K))``; the shift of channel a
    is ``params[:, i_shift]``, of b that plus ``params[:, i_dshift]``; backgrounds
    ``params[:, i_bg_a]``, ``params[:, i_bg_b]``. The IRF is prepared as for `polase decay`
    (`channel_irf`) and put behind `pad` zero channels.
    """

    def __init__(self, irf_norm: np.ndarray, dt: float, terms, names, pad: int = _PAD):
        self.m = int(irf_norm.size)
        self.dt = float(dt)
        self.pad = int(pad)
        g = channel_irf(np.clip(np.asarray(irf_norm, dtype=float), 0.0, None))
        self.irf = np.ascontiguousarray(np.concatenate([np.zeros(self.pad), g]))
        self.terms = terms
        self.names = list(names)
        self.i_shift = self.names.index("shift_ns")
        self.i_dshift = self.names.index("dshift_ns")
        self.i_bg_a = self.names.index("background_a")
        self.i_bg_b = self.names.index("background_b")

    def channels(self, params) -> tuple[np.ndarray, np.ndarray]:
        p = np.atleast_2d(np.asarray(params, dtype=float))
        ca, cb, rates = self.terms(p)
        shift = p[:, self.i_shift]
        return _joint_kernel(
            self.irf,
            self.dt,
            np.ascontiguousarray(ca),
            np.ascontiguousarray(cb),
            np.ascontiguousarray(rates),
            np.ascontiguousarray(shift),
            np.ascontiguousarray(shift + p[:, self.i_dshift]),
            np.ascontiguousarray(p[:, self.i_bg_a]),
            np.ascontiguousarray(p[:, self.i_bg_b]),
            self.pad,
        )

    def __call__(self, x, params):
        fa, fb = self.channels(params)
        return np.maximum(np.concatenate([fa, fb], axis=1), 1e-12)

    def model(self):
        from ..fitting import Model

        return Model(self, param_names=self.names, name="polarization_joint")


def _helicity_terms(n_comp: int, names: list[str]):
    ia = [names.index(f"a{i + 1}") for i in range(n_comp)]
    it = [names.index(f"ln_tau{i + 1}") for i in range(n_comp)]
    idcp, its = names.index("dcp0"), names.index("ln_tau_s")

    def terms(p):
        a = p[:, ia]
        k = np.exp(-p[:, it])
        ks = np.exp(-p[:, [its]])
        d = p[:, [idcp]]
        ca = np.concatenate([0.5 * a, 0.5 * a * d], axis=1)
        cb = np.concatenate([0.5 * a, -0.5 * a * d], axis=1)
        return ca, cb, np.concatenate([k, k + ks], axis=1)

    return terms


def _anisotropy_terms(n_comp: int, model: str, names: list[str], g_factor: float):
    ia = [names.index(f"a{i + 1}") for i in range(n_comp)]
    it = [names.index(f"ln_tau{i + 1}") for i in range(n_comp)]
    ir0 = names.index("r0")
    inv_g = 1.0 / g_factor

    def terms(p):
        a = p[:, ia]
        k = np.exp(-p[:, it])
        r0 = p[:, [ir0]]
        if model == "one":
            betas = [r0]
            krs = [np.exp(-p[:, [names.index("ln_theta1")]])]
            rinf = np.zeros_like(r0)
        elif model == "hindered":
            rinf = p[:, [names.index("r_inf")]]
            betas = [r0 - rinf]
            krs = [np.exp(-p[:, [names.index("ln_theta1")]])]
        else:
            frac = p[:, [names.index("f1")]]
            betas = [r0 * frac, r0 * (1.0 - frac)]
            krs = [np.exp(-p[:, [names.index(f"ln_theta{j}")]]) for j in (1, 2)]
            rinf = np.zeros_like(r0)
        ca = [a * (1.0 + 2.0 * rinf) / 3.0]
        cb = [a * (1.0 - rinf) * inv_g / 3.0]
        rates = [k]
        for b, kr in zip(betas, krs):
            ca.append(2.0 * a * b / 3.0)
            cb.append(-a * b * inv_g / 3.0)
            rates.append(k + kr)
        return (
            np.concatenate(ca, axis=1),
            np.concatenate(cb, axis=1),
            np.concatenate(rates, axis=1),
        )

    return terms


@dataclass
class PolarizationFit:
    """A joint fit of two polarization channels, for JSON output and figures.

    Attributes
    ----------
    kind
        ``"helicity"`` or ``"anisotropy"``.
    summary
        JSON-ready results (keys as in docs/polarization.md).
    time_ns
        Channel times of the fitted window. [ns]
    data
        Channel name -> counts. [counts]
    model
        Channel name -> fitted model. [counts]
    weight
        1 where a channel was fitted, 0 where excluded. [1]
    ratio_name
        ``"DCP"`` or ``"r"``: the polarization quantity of the figures.
    g_factor
        G used (anisotropy), 1 for helicity. [1]
    """

    kind: str
    summary: dict[str, Any]
    time_ns: np.ndarray
    data: dict[str, np.ndarray]
    model: dict[str, np.ndarray]
    weight: np.ndarray
    ratio_name: str
    g_factor: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def ratio(self) -> tuple[np.ndarray, np.ndarray]:
        """The polarization ratio of the data and of the fit, background subtracted.

        DCP = (a - b) / (a + b) for helicity, r = (VV - G VH) / (VV + 2 G VH) for anisotropy.

        Returns
        -------
        data, model : ndarray
            Ratio of the measured and of the fitted channels (NaN where the sum <= 0). [1]
        """
        (na, nb) = list(self.data)
        bg_a, bg_b = self.summary["backgrounds"]
        g = self.g_factor
        two = 2.0 if self.kind == "anisotropy" else 1.0
        out = []
        for src in (self.data, self.model):
            a, b = src[na] - bg_a, src[nb] - bg_b
            s = a + two * g * b
            with np.errstate(divide="ignore", invalid="ignore"):
                out.append(np.where(s > 0, (a - g * b) / s, np.nan))
        return out[0], out[1]


# ---------------------------------------------------------------------------------------
# helpers shared by both fits


def _prepare(t, ya, yb, irf, tail_start_ns):
    """Window, normalised IRF (or a delta at the peak: tail fit), and the fitted-channel mask.

    Tail fit: time zero is the peak of the summed channels; channels before `tail_start_ns`
    (default: the peak plus the 10-100 % rise time, at least 10 channels) get weight 0.
    """
    dt = float(t[1] - t[0])
    tot = ya + yb
    if irf is not None:
        g = np.clip(np.asarray(irf, dtype=float), 0.0, None)
        if not g.sum() > 0:
            raise PolarizationInputError("the IRF has no positive counts")
        nz = np.flatnonzero((tot > 0) | (g > 0))
        lo, hi = int(nz[0]), int(nz[-1]) + 1
        gw = _clean_irf(g[lo:hi])
        mask = np.ones(hi - lo)
        method = "reconvolution"
    else:
        # time zero at the peak of the sum (the excitation, as well as a tail fit can know
        # it); the fit starts later, where the IRF no longer shapes the decay
        nz = np.flatnonzero(tot > 0)
        i_pk = int(np.argmax(tot))
        if tail_start_ns is None:
            rising = np.flatnonzero(tot[: i_pk + 1] < 0.1 * tot[i_pk])
            rise = (i_pk - int(rising[-1])) * dt if rising.size else 0.0
            tail_start_ns = float(t[i_pk] + max(10 * dt, rise))
        lo = i_pk
        hi = int(nz[-1]) + 1
        gw = np.zeros(hi - lo)
        gw[0] = 1.0
        mask = (t[lo:hi] >= float(tail_start_ns) - 1e-9 * dt).astype(float)
        if mask.sum() < 20:
            raise PolarizationInputError(
                f"the tail from {tail_start_ns:g} ns holds {int(mask.sum())} channels; "
                "nothing to fit"
            )
        method = "tail"
    if hi - lo < 20:
        raise PolarizationInputError(f"only {hi - lo} channels to fit; nothing to fit")
    return lo, hi, gw, mask, method, dt


def _clean_irf(g: np.ndarray) -> np.ndarray:
    """IRF minus its background, its noise floor removed, normalised to unit sum.

    The core is the run of channels around the peak where the 9-channel moving average of
    the background-free IRF stays above 3 standard errors of the background
    (3 sqrt(bg / 9)); it is kept as recorded. Outside the core, the recorded IRF is either a
    real slow tail or only background noise, which the convolution would spread over the
    whole model (with a 10^4-count IRF on a 2-count background that noise and the error of
    the background estimate raise the reduced chi-square of a 10^6-count decay by ~0.2).
    On each side of the core: if the summed counts there are consistent with zero (within
    3 standard errors of the Poisson noise plus the background estimate), that side is set
    to 0; otherwise it is replaced by its 33-channel moving average over that side (noise
    / ~6, the real tail kept).
    """
    bg, n_pre = _irf_background(g, with_count=True)
    gw = g - bg
    if bg > 0:
        smooth = np.convolve(gw, np.ones(9) / 9.0, mode="same")
        thr = 3.0 * math.sqrt(bg / 9.0)
        i_pk = int(np.argmax(smooth))
        below = smooth < thr
        left = np.flatnonzero(below[:i_pk])
        right = np.flatnonzero(below[i_pk:])
        a = int(left[-1]) + 1 if left.size else 0
        b = i_pk + int(right[0]) if right.size else g.size
        box = np.ones(33)
        for side in (slice(0, a), slice(b, g.size)):
            n = side.stop - side.start
            if n == 0:
                continue
            sigma = math.sqrt(n * bg + n * n * bg / max(n_pre, 1))
            if abs(float(gw[side].sum())) <= 3.0 * sigma:
                gw[side] = 0.0
                continue
            out = np.zeros(g.size)
            out[side] = 1.0
            with np.errstate(divide="ignore", invalid="ignore"):
                wide = np.convolve(gw * out, box, mode="same") / np.convolve(out, box, mode="same")
            gw[side] = np.nan_to_num(wide[side])
    if not gw.sum() > 0:
        raise PolarizationInputError("the IRF has no counts above its background")
    return gw / gw.sum()


def _irf_background(g: np.ndarray, with_count: bool = False):
    """Mean of the channels before the rise (more than 10 channels before the first one
    above 2 % of the peak); 0 when fewer than 5 such channels exist. [counts]

    With ``with_count`` also the number of channels averaged.
    """
    rise = int(np.argmax(g >= 0.02 * g.max()))
    pre = g[: max(rise - 10, 0)]
    bg = float(pre.mean()) if pre.size >= 5 else 0.0
    return (bg, int(pre.size)) if with_count else bg


def _mean_arrival_tau(t, y, bg):
    i_pk = int(np.argmax(y))
    w = np.clip(y[i_pk:] - bg, 0.0, None)
    tt = t[i_pk:] - t[i_pk]
    if not w.sum() > 0:
        return float((t[-1] - t[0]) / 10)
    return float(max(np.sum(tt * w) / w.sum(), 2 * (t[1] - t[0])))


def _best_of(res, n_fits: int, n_starts: int):
    cost = np.where(np.isfinite(res.cost), res.cost, np.inf).reshape(n_starts, n_fits)
    return np.argmin(cost, axis=0) * n_fits + np.arange(n_fits)


def _fit(model, x, y, p0, lo_b, hi_b, fixed, weights, max_iter=200):
    from ..fitting import curve_fit_batch

    with np.errstate(invalid="ignore"):
        lo_in = np.where(np.isfinite(lo_b), lo_b + 1e-9 * np.abs(lo_b) + 1e-12, lo_b)
        hi_in = np.where(np.isfinite(hi_b), hi_b - 1e-9 * np.abs(hi_b) - 1e-12, hi_b)
    p0 = np.clip(np.where(np.isfinite(p0), p0, np.clip(0.0, lo_in, hi_in)), lo_in, hi_in)
    return curve_fit_batch(
        model,
        x,
        y,
        p0,
        weights=weights,
        loss="poisson",
        bounds=(lo_b, hi_b),
        fixed=fixed,
        max_iter=max_iter,
    )


def _pearson_redchi(y, f, w, n_free):
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = np.sum(np.where((w > 0) & (f > 0), (y - f) ** 2 / f, 0.0), axis=-1)
    nfree = np.sum(w > 0, axis=-1) - n_free
    return np.where(nfree > 0, chi / np.maximum(nfree, 1), np.nan)


def _ln_interval(value_ln, se_ln, infl):
    """exp(ln x -+ 1.96 se); an end beyond float range (an undetermined x) is inf / 0."""
    h = _Z95 * se_ln * infl
    if not math.isfinite(h):
        return [0.0, math.inf]
    return [math.exp(max(value_ln - h, -700.0)), math.exp(min(value_ln + h, 700.0))]


def _lin_interval(value, se, infl):
    h = _Z95 * se * infl
    return [float(value - h), float(value + h)]


def _check_channels(t, channels) -> None:
    """Uniform, increasing time grid of >= 20 channels; finite, non-negative counts and no
    empty histogram in each ``(name, counts)`` of `channels`."""
    dtt = np.diff(t)
    if t.size < 20 or np.any(dtt <= 0) or not np.allclose(dtt, dtt[0], rtol=1e-6):
        raise PolarizationInputError("time_ns must be uniform and increasing (>= 20 channels)")
    for name, y in channels:
        if not np.all(np.isfinite(y)) or np.any(y < 0):
            raise PolarizationInputError(f"channel {name!r}: counts must be finite and >= 0")
        if np.any(y.sum(axis=1) <= 0):
            raise PolarizationInputError(f"channel {name!r} has a histogram without counts")


class _Window(NamedTuple):
    """The fitted window of a batch of pairs (`_joint_window`)."""

    tw: np.ndarray  # channel centres in the window [ns]
    ya: np.ndarray  # first channel, shape (N, M_w) [counts]
    yb: np.ndarray  # second channel, shape (N, M_w) [counts]
    gw: np.ndarray  # normalised IRF (a delta for the tail fit), shape (M_w,)
    mask: np.ndarray  # weight of each channel, shape (M_w,)
    method: str  # "reconvolution" or "tail"
    dt: float  # channel width [ns]
    mw: int  # channels in the window
    x: np.ndarray  # abscissa of the joint model: 0 .. 2 M_w - 1
    y: np.ndarray  # both channels side by side, shape (N, 2 M_w) [counts]
    w: np.ndarray  # weights of `y`, shape (2 M_w,)
    window: float  # width of the window [ns]


def _joint_window(t, ya_all, yb_all, irf, tail_start_ns) -> _Window:
    """`_prepare` on the batch sums, and the two channels cut to the window and stacked."""
    lo, hi, gw, mask, method, dt = _prepare(
        t, ya_all.sum(axis=0), yb_all.sum(axis=0), irf, tail_start_ns
    )
    ya, yb = ya_all[:, lo:hi], yb_all[:, lo:hi]
    mw = hi - lo
    x = np.arange(2 * mw, dtype=float)
    y = np.concatenate([ya, yb], axis=1)
    w = np.concatenate([mask, mask])
    return _Window(t[lo:hi], ya, yb, gw, mask, method, dt, mw, x, y, w, mw * dt)


def _base_bounds(names, nc: int, dt: float, window: float, method: str, separate_shift: bool):
    """Bounds and fixed flags of the parameters both joint models share.

    Amplitudes >= 0, population lifetimes from dt / 10 to 100 x the window, IRF shifts within
    a quarter of the window (and the padding), backgrounds > 0; the second channel's shift
    is fixed unless `separate_shift`, both shifts are fixed for the tail fit. The
    model-specific bounds stay infinite.
    """
    P = len(names)
    lo_b = np.full(P, -np.inf)
    hi_b = np.full(P, np.inf)
    for i in range(nc):
        lo_b[names.index(f"a{i + 1}")] = 0.0
        lo_b[names.index(f"ln_tau{i + 1}")] = math.log(dt / 10)
        hi_b[names.index(f"ln_tau{i + 1}")] = math.log(100 * window)
    shift_lim = min(0.25 * window, 0.9 * _PAD * dt)
    for name in ("shift_ns", "dshift_ns"):
        lo_b[names.index(name)], hi_b[names.index(name)] = -shift_lim, shift_lim
    lo_b[names.index("background_a")] = 1e-6
    lo_b[names.index("background_b")] = 1e-6
    fixed = np.zeros(P, dtype=bool)
    fixed[names.index("dshift_ns")] = not separate_shift
    if method == "tail":
        fixed[names.index("shift_ns")] = True
        fixed[names.index("dshift_ns")] = True
    return lo_b, hi_b, fixed


def _edge_backgrounds(ya, yb, method: str):
    """Background of each channel: the mean of the first channels of the window (the last
    ones for the tail fit, which has no pre-rise), at least 1e-3. [counts]"""
    edge = max(5, ya.shape[1] // 50)
    sl = slice(-edge, None) if method == "tail" else slice(0, edge)
    bga = np.maximum(ya[:, sl].mean(axis=1), 1e-3)
    bgb = np.maximum(yb[:, sl].mean(axis=1), 1e-3)
    return bga, bgb


def _population_starts(p0, names, nc: int, peak, tau0) -> list[np.ndarray]:
    """Starts of the population stage: `p0` with the amplitudes at peak / nc and the
    lifetimes at `tau0` times three sets of factors."""
    factors = [[1.0], [0.5], [2.0]] if nc == 1 else [[0.3, 1.5], [0.15, 1.1], [0.5, 2.5]]
    starts = []
    for fac in factors:
        p = p0.copy()
        for i in range(nc):
            p[:, names.index(f"a{i + 1}")] = peak / nc
            p[:, names.index(f"ln_tau{i + 1}")] = np.log(tau0 * fac[i])
        starts.append(p)
    return starts


def _multistart(model, x, y, starts, lo_b, hi_b, fixed, w, max_iter):
    """All starts of a batch of N fits in one batched fit; the result and, per fit, the index
    of its best start."""
    ns = len(starts)
    res = _fit(
        model, x, np.concatenate([y] * ns), np.concatenate(starts), lo_b, hi_b, fixed, w, max_iter
    )
    return res, _best_of(res, y.shape[0], ns)


def _best_polished(model, x, y, starts, lo_b, hi_b, fixed, w, max_iter, fallback):
    """Best of the multi-start fits (`fallback` where it is not finite), polished from there
    with a fresh damping parameter; params, cost, stderr and success per fit."""
    r2, best = _multistart(model, x, y, starts, lo_b, hi_b, fixed, w, max_iter)
    pb, cost, stderr = r2.params[best], r2.cost[best], r2.stderr[best]
    ok = np.isfinite(pb).all(axis=1)
    pb = np.where(ok[:, None], pb, fallback)
    r3 = _fit(model, x, y, pb, lo_b, hi_b, fixed, w, max_iter)
    better = np.isfinite(r3.cost) & (r3.cost <= np.where(np.isfinite(cost), cost, np.inf))
    pb = np.where(better[:, None], r3.params, pb)
    cost = np.where(better, r3.cost, cost)
    stderr = np.where(better[:, None], r3.stderr, stderr)
    success = np.where(better, np.asarray(r3.success), np.asarray(r2.success)[best])
    return pb, cost, stderr, success


def _fit_quality(jm, pb, y, w, n_free: int):
    """Model channels of the best parameters, Pearson reduced chi-square and the factor
    sqrt(max(1, chi2_red)) that widens the intervals."""
    fa, fb = jm.channels(pb)
    redchi = _pearson_redchi(y, np.concatenate([fa, fb], axis=1), w[None, :], n_free)
    infl = np.where(np.isfinite(redchi), np.sqrt(np.maximum(1.0, redchi)), 1.0)
    return fa, fb, redchi, infl


# ---------------------------------------------------------------------------------------
# helicity


def _helicity_names(n_comp: int) -> list[str]:
    names = [f"a{i + 1}" for i in range(n_comp)] + [f"ln_tau{i + 1}" for i in range(n_comp)]
    return [*names, "dcp0", "ln_tau_s", "shift_ns", "dshift_ns", "background_a", "background_b"]


def fit_helicity_batch(
    time_ns,
    sigma_plus,
    sigma_minus,
    irf=None,
    *,
    n_components: int = 1,
    separate_shift: bool = False,
    tail_start_ns: float | None = None,
    tau_s_range_ns: tuple[float, float] | None = None,
    profile: bool = True,
    max_iter: int = 200,
) -> list[PolarizationFit]:
    """Joint fit of many sigma+ / sigma- pairs sharing a time grid and an IRF.

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centres, uniform. [ns]
    sigma_plus, sigma_minus : array_like, shape (N, M) or (M,)
        Histograms of the two helicity channels (recorded with the same acquisition
        time). [counts]
    irf : array_like, shape (M,), optional
        Instrument response on the same channels; without it a tail fit from
        `tail_start_ns` (default: the peak of the sum). [counts]
    n_components : int
        Exponentials of the population decay F(t), 1 or 2.
    separate_shift : bool
        Fit a separate IRF shift for the sigma- channel.
    tail_start_ns : float, optional
        Start of the tail fit (no IRF). [ns]
    tau_s_range_ns : (float, float), optional
        Search range of tau_s. [ns] Default: channel width / 20 to 100 x the window.
    profile : bool
        Profile-likelihood interval of tau_s (else the Fisher interval, no resolution test).
    max_iter : int
        Iteration limit per fit.

    Returns
    -------
    list of PolarizationFit
        ``summary`` keys: ``tau_s_ns`` (None when not resolved), ``tau_s_ci95_ns`` ([lo, hi],
        lo = 0 for an upper bound, hi = None for a lower bound), ``resolved``, ``bound``
        (None, "upper" or "lower"), ``tau_s_mle_ns``, ``dcp0``, ``dcp0_ci95``, ``tau_ns``,
        ``tau_ns_ci95``, ``amplitudes``, ``irf_shift_ns``, ``reduced_chi2``,
        ``poisson_deviance``, ``time_integrated_dcp``, ``method``, ``success``.
    """
    t = np.asarray(time_ns, dtype=float)
    ya_all = np.atleast_2d(np.asarray(sigma_plus, dtype=float))
    yb_all = np.atleast_2d(np.asarray(sigma_minus, dtype=float))
    if ya_all.shape != yb_all.shape or ya_all.shape[-1] != t.size:
        raise PolarizationInputError(
            f"sigma_plus {ya_all.shape} and sigma_minus {yb_all.shape} must both be (N, "
            f"{t.size}) like time_ns"
        )
    if int(n_components) not in (1, 2):
        raise FitError(f"n_components must be 1 or 2, got {n_components}")
    _check_channels(t, (("sigma_plus", ya_all), ("sigma_minus", yb_all)))
    nc = int(n_components)
    nb = ya_all.shape[0]
    tw, ya, yb, gw, mask, method, dt, mw, x, y, w, window = _joint_window(
        t, ya_all, yb_all, irf, tail_start_ns
    )
    names = _helicity_names(nc)
    jm = _JointModel(gw, dt, _helicity_terms(nc, names), names)
    model = jm.model()
    ts_lo, ts_hi = tau_s_range_ns or (dt / 20.0, 100.0 * window)
    P = len(names)
    lo_b, hi_b, fixed = _base_bounds(names, nc, dt, window, method, separate_shift)
    lo_b[names.index("dcp0")], hi_b[names.index("dcp0")] = -1.0, 1.0
    lo_b[names.index("ln_tau_s")] = math.log(ts_lo)
    hi_b[names.index("ln_tau_s")] = math.log(ts_hi)

    # stage 1: population decay on both channels with DCP = 0 (multi-start on tau)
    bga, bgb = _edge_backgrounds(ya, yb, method)
    tsum = ya + yb
    tau0 = np.array([_mean_arrival_tau(tw, tsum[k], bga[k] + bgb[k]) for k in range(nb)])
    peak = np.maximum(tsum.max(axis=1) - bga - bgb, 1.0)
    p0 = np.zeros((nb, P))
    p0[:, names.index("background_a")] = bga
    p0[:, names.index("background_b")] = bgb
    p0[:, names.index("ln_tau_s")] = np.log(np.clip(tau0, ts_lo * 1.01, ts_hi / 1.01))
    starts = _population_starts(p0, names, nc, peak, tau0)
    fix1 = fixed.copy()
    fix1[names.index("dcp0")] = True
    fix1[names.index("ln_tau_s")] = True
    r1, best1 = _multistart(model, x, y, starts, lo_b, hi_b, fix1, w, max_iter)
    p1 = r1.params[best1]
    p1 = np.where(np.isfinite(p1), p1, p0)

    # stage 2: all free, multi-start on tau_s; DCP0 from the integrated polarization
    with np.errstate(divide="ignore", invalid="ignore"):
        sa = np.clip(ya - bga[:, None], 0, None).sum(axis=1)
        sb = np.clip(yb - bgb[:, None], 0, None).sum(axis=1)
        p_int = np.nan_to_num((sa - sb) / (sa + sb))
    tau_fit = np.exp(p1[:, names.index("ln_tau1")])
    ts_starts = [0.03, 0.3, 1.0, 5.0]
    starts = []
    for fs in ts_starts:
        p = p1.copy()
        ts = np.clip(tau_fit * fs, ts_lo * 1.5, ts_hi / 1.5)
        p[:, names.index("ln_tau_s")] = np.log(ts)
        p[:, names.index("dcp0")] = np.clip(p_int * (tau_fit + ts) / ts, -0.95, 0.95)
        starts.append(p)
    pb, cost, stderr, success = _best_polished(
        model, x, y, starts, lo_b, hi_b, fixed, w, max_iter, fallback=p1
    )
    fa, fb, redchi, infl = _fit_quality(jm, pb, y, w, int(P - fixed.sum()))

    its = names.index("ln_tau_s")
    if profile:
        prof = _profile(
            model, x, y, w, pb, cost, lo_b, hi_b, fixed, its, names.index("dcp0"), infl**2
        )
    else:
        prof = None

    out = []
    for k in range(nb):
        taus = np.exp(pb[k, [names.index(f"ln_tau{i + 1}") for i in range(nc)]])
        amps = pb[k, [names.index(f"a{i + 1}") for i in range(nc)]]
        order = np.argsort(taus)
        tau_ci = [
            _ln_interval(
                pb[k, names.index(f"ln_tau{i + 1}")],
                stderr[k, names.index(f"ln_tau{i + 1}")],
                infl[k],
            )
            for i in range(nc)
        ]
        ln_ts = pb[k, its]
        ts_mle = float(math.exp(ln_ts))
        if prof is not None:
            lo_ci, hi_ci, lo_bound_hit = prof["lower"][k], prof["upper"][k], prof["dcp_hit"][k]
            lo_open = not np.isfinite(lo_ci) or lo_bound_hit
            hi_open = not np.isfinite(hi_ci)
        else:
            lo_ci, hi_ci = _ln_interval(ln_ts, stderr[k, its], infl[k])
            lo_open = hi_open = False
        if lo_open and hi_open:
            resolved, bound, ci, value = False, "none", [0.0, None], None
        elif lo_open:
            resolved, bound, ci, value = False, "upper", [0.0, float(hi_ci)], None
        elif hi_open:
            resolved, bound, ci, value = False, "lower", [float(lo_ci), None], None
        else:
            resolved, bound, ci, value = True, None, [float(lo_ci), float(hi_ci)], ts_mle
        dcp0 = float(pb[k, names.index("dcp0")])
        a_sum = float(np.sum(amps * taus))
        with np.errstate(divide="ignore", invalid="ignore"):
            tau_eff = 1.0 / (1.0 / taus + 1.0 / ts_mle)
            p_int_model = float(dcp0 * np.sum(amps * tau_eff) / a_sum) if a_sum > 0 else math.nan
        summary = {
            "kind": "helicity",
            "method": method,
            "tau_s_ns": value,
            "tau_s_ci95_ns": ci,
            "resolved": bool(resolved),
            "bound": bound,
            "tau_s_mle_ns": ts_mle,
            "dcp0": dcp0,
            "dcp0_ci95": _lin_interval(dcp0, stderr[k, names.index("dcp0")], infl[k]),
            "tau_ns": taus[order].tolist(),
            "tau_ns_ci95": [tau_ci[i] for i in order],
            "amplitudes": amps[order].tolist(),
            "irf_shift_ns": float(pb[k, names.index("shift_ns")]),
            "irf_shift_sigma_minus_ns": float(
                pb[k, names.index("shift_ns")] + pb[k, names.index("dshift_ns")]
            ),
            "backgrounds": [
                float(pb[k, names.index("background_a")]),
                float(pb[k, names.index("background_b")]),
            ],
            "reduced_chi2": float(redchi[k]),
            "poisson_deviance": float(cost[k]),
            "time_integrated_dcp": p_int_model,
            "tau_s_search_range_ns": [float(ts_lo), float(ts_hi)],
            "n_channels": int(mw),
            "success": bool(success[k]),
        }
        out.append(
            PolarizationFit(
                kind="helicity",
                summary=summary,
                time_ns=tw,
                data={"sigma_plus": ya[k], "sigma_minus": yb[k]},
                model={"sigma_plus": fa[k], "sigma_minus": fb[k]},
                weight=mask,
                ratio_name="DCP",
                extra={"params": dict(zip(names, pb[k].tolist()))},
            )
        )
    return out


def _profile(model, x, y, w, pb, cost, lo_b, hi_b, fixed, idx, i_dcp, scale):
    """Profile-likelihood 95 % interval of parameter `idx` (ln scale), batched over fits.

    Returns lower, upper (in exp(.) units; NaN when open) and whether |DCP0| sat at its
    bound at the lower crossing.
    """
    nb = pb.shape[0]
    thr = _CHI2_95 * scale  # (nb,)
    fx = fixed.copy()
    fx[idx] = True
    steps = np.array([0.1, 0.25, 0.5, 1.0, 2.0, 3.5, 5.0, 7.0, 10.0])
    res_out = {}
    for side, sign in (("lower", -1.0), ("upper", 1.0)):
        vals = np.clip(pb[:, [idx]] + sign * steps[None, :], lo_b[idx], hi_b[idx])  # (nb, S)
        ns = steps.size
        p = np.repeat(pb[None], ns, axis=0).reshape(ns * nb, -1)
        p[:, idx] = vals.T.reshape(-1)
        r = _fit(model, x, np.concatenate([y] * ns), p, lo_b, hi_b, fx, w)
        dev = np.where(np.isfinite(r.cost), r.cost, np.inf).reshape(ns, nb) - cost[None, :]
        dcp = r.params[:, i_dcp].reshape(ns, nb)
        cross = dev > thr[None, :]
        found = cross.any(axis=0)
        j = np.argmax(cross, axis=0)
        inner = np.where(j > 0, vals[np.arange(nb), np.maximum(j - 1, 0)], pb[:, idx])
        outer = vals[np.arange(nb), j]
        d_in = np.where(j > 0, dev[np.maximum(j - 1, 0), np.arange(nb)], 0.0)
        d_out = dev[j, np.arange(nb)]
        p_in = np.where(
            (j > 0)[:, None], r.params.reshape(ns, nb, -1)[np.maximum(j - 1, 0), np.arange(nb)], pb
        )
        # bisection on the bracket [inner, outer] for the fits with a crossing
        a_v, b_v, d_a, d_b = inner.copy(), outer.copy(), d_in.copy(), d_out.copy()
        p_start = p_in.copy()
        dcp_at = dcp[j, np.arange(nb)]
        for _ in range(7):
            mid = 0.5 * (a_v + b_v)
            p = p_start.copy()
            p[:, idx] = mid
            rm = _fit(model, x, y, p, lo_b, hi_b, fx, w)
            dm = np.where(np.isfinite(rm.cost), rm.cost, np.inf) - cost
            above = dm > thr
            b_v = np.where(above, mid, b_v)
            d_b = np.where(above, dm, d_b)
            dcp_at = np.where(above, rm.params[:, i_dcp], dcp_at)
            a_v = np.where(above, a_v, mid)
            d_a = np.where(above, d_a, dm)
            p_start = np.where((~above)[:, None] & np.isfinite(rm.params), rm.params, p_start)
        # linear interpolation of the deviance inside the final bracket
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.clip((thr - d_a) / (d_b - d_a), 0.0, 1.0)
        end = a_v + np.where(np.isfinite(frac), frac, 0.5) * (b_v - a_v)
        # no rise above the threshold up to the search limit: an open side (NaN)
        res_out[side] = np.exp(np.where(found, end, np.nan))
        if side == "lower":
            res_out["dcp_hit"] = found & (np.abs(dcp_at) >= _DCP_BOUND_HIT)
    return res_out


def fit_helicity_pair(time_ns, sigma_plus, sigma_minus, irf=None, **kwargs) -> PolarizationFit:
    """Joint fit of one sigma+ / sigma- pair; see `fit_helicity_batch` for the arguments."""
    a = np.asarray(sigma_plus, dtype=float)
    b = np.asarray(sigma_minus, dtype=float)
    if a.ndim != 1 or b.ndim != 1:
        raise PolarizationInputError("fit_helicity_pair takes one histogram per channel")
    if a.shape != b.shape:
        raise PolarizationInputError(
            f"sigma_plus has {a.size} channels, sigma_minus {b.size}: they must match"
        )
    if irf is not None and np.shape(irf) != a.shape:
        raise PolarizationInputError(
            f"the IRF has {np.size(irf)} channels, the decays {a.size}: they must match"
        )
    return fit_helicity_batch(time_ns, a, b, irf, **kwargs)[0]


# ---------------------------------------------------------------------------------------
# anisotropy


def _pre_rise_background(y: np.ndarray) -> float:
    """Mean of the channels before the rise (as for the IRF); 0 without such channels."""
    nz = np.flatnonzero(y > 0)
    if nz.size == 0:
        return 0.0
    return _irf_background(y[nz[0] :])


def g_factor_from_hv_hh(hv, hh) -> tuple[float, list[float]]:
    """G = S_V / S_H from the horizontally excited pair: background-free HV / HH areas.

    Parameters
    ----------
    hv, hh : array_like, shape (M,)
        Histograms with horizontal excitation, vertical / horizontal analyzer. [counts]

    Returns
    -------
    g_factor, g_factor_ci95
        G and its 95 % interval from the counting statistics. [1]
    """
    a = np.asarray(hv, dtype=float)
    b = np.asarray(hh, dtype=float)
    if a.shape != b.shape:
        raise PolarizationInputError(f"HV has {a.size} channels, HH {b.size}: they must match")
    areas, variances = [], []
    for name, y in (("HV", a), ("HH", b)):
        if not y.sum() > 0:
            raise PolarizationInputError(f"channel {name!r} has no counts")
        nz = np.flatnonzero(y > 0)
        seg = y[nz[0] : nz[-1] + 1]
        bg = _pre_rise_background(y)
        areas.append(float(seg.sum() - bg * seg.size))
        variances.append(float(seg.sum()))
    if not (areas[0] > 0 and areas[1] > 0):
        raise PolarizationInputError("HV or HH holds no counts above its background")
    g = areas[0] / areas[1]
    rel = math.sqrt(variances[0] / areas[0] ** 2 + variances[1] / areas[1] ** 2)
    return g, [g * math.exp(-_Z95 * rel), g * math.exp(_Z95 * rel)]


def _anisotropy_names(n_comp: int, model: str) -> list[str]:
    names = [f"a{i + 1}" for i in range(n_comp)] + [f"ln_tau{i + 1}" for i in range(n_comp)]
    names += ["r0", "ln_theta1"]
    if model == "hindered":
        names += ["r_inf"]
    elif model == "two":
        names += ["ln_theta2", "f1"]
    return [*names, "shift_ns", "dshift_ns", "background_a", "background_b"]


def fit_anisotropy(
    time_ns,
    vv,
    vh,
    irf=None,
    *,
    g_factor: float | None = None,
    hv=None,
    hh=None,
    model: str = "one",
    n_components: int = 1,
    separate_shift: bool = False,
    tail_start_ns: float | None = None,
    max_iter: int = 200,
) -> PolarizationFit:
    """Joint fit of the VV and VH decays of a fluorescence-anisotropy measurement.

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centres, uniform. [ns]
    vv, vh : array_like, shape (M,) or (N, M)
        Vertical excitation, vertical / horizontal analyzer, same acquisition time. [counts]
    irf : array_like, shape (M,), optional
        Instrument response; without it a tail fit from `tail_start_ns` (default: the VV
        peak), which cannot see r(t) inside the IRF. [counts]
    g_factor
        G = S_V / S_H. Give it, or `hv` and `hh` to compute it (`g_factor_from_hv_hh`). [1]
    hv, hh : array_like, shape (M,), optional
        Horizontally excited pair for G. [counts]
    model : {"one", "hindered", "two"}
        One rotation; hindered rotation with r_inf; two rotations.
    n_components : int
        Exponentials of the population decay, 1 or 2.
    separate_shift : bool
        Fit a separate IRF shift for VH.
    tail_start_ns : float, optional
        Start of the tail fit (no IRF). [ns]
    max_iter : int
        Iteration limit per fit.

    Returns
    -------
    PolarizationFit
        (a list for batched input) ``summary`` keys: ``g_factor``, ``g_factor_ci95``,
        ``r0``, ``r0_ci95``, ``tau_r_ns`` (list), ``tau_r_ns_ci95``, ``r_inf``,
        ``r_inf_ci95``, ``rotation_fraction`` (model "two"), ``tau_ns``, ``tau_ns_ci95``,
        ``reduced_chi2``, ``poisson_deviance``, ``irf_shift_ns``, ``method``, ``model``,
        ``success``.

    Raises
    ------
    PolarizationInputError
        Missing G (neither `g_factor` nor both `hv` and `hh`), shape mismatches, channels
        without counts.
    """
    if model not in ANISOTROPY_MODELS:
        raise FitError(f"model must be one of {ANISOTROPY_MODELS}, got {model!r}")
    if int(n_components) not in (1, 2):
        raise FitError(f"n_components must be 1 or 2, got {n_components}")
    if g_factor is None:
        if hv is None or hh is None:
            missing = [n for n, v in (("HV", hv), ("HH", hh)) if v is None]
            raise PolarizationInputError(
                f"no G factor: give g_factor or both HV and HH (missing: {', '.join(missing)})"
            )
        g_factor, g_ci = g_factor_from_hv_hh(hv, hh)
    else:
        if not (np.isfinite(g_factor) and g_factor > 0):
            raise PolarizationInputError(f"g_factor must be finite and > 0, got {g_factor}")
        g_ci = [float(g_factor), float(g_factor)]
    t = np.asarray(time_ns, dtype=float)
    single = np.ndim(vv) == 1
    ya_all = np.atleast_2d(np.asarray(vv, dtype=float))
    yb_all = np.atleast_2d(np.asarray(vh, dtype=float))
    if ya_all.shape != yb_all.shape or ya_all.shape[-1] != t.size:
        raise PolarizationInputError(
            f"VV {ya_all.shape} and VH {yb_all.shape} must both have {t.size} channels like time_ns"
        )
    if irf is not None and np.shape(irf) != t.shape:
        raise PolarizationInputError(
            f"the IRF has {np.size(irf)} channels, the decays {t.size}: they must match"
        )
    _check_channels(t, (("VV", ya_all), ("VH", yb_all)))
    nc = int(n_components)
    nb = ya_all.shape[0]
    tw, ya, yb, gw, mask, method, dt, mw, x, y, w, window = _joint_window(
        t, ya_all, yb_all, irf, tail_start_ns
    )
    names = _anisotropy_names(nc, model)
    jm = _JointModel(gw, dt, _anisotropy_terms(nc, model, names, float(g_factor)), names)
    fmodel = jm.model()
    P = len(names)
    lo_b, hi_b, fixed = _base_bounds(names, nc, dt, window, method, separate_shift)
    lo_b[names.index("r0")], hi_b[names.index("r0")] = -0.45, 0.95
    for name in ("ln_theta1", "ln_theta2"):
        if name in names:
            lo_b[names.index(name)] = math.log(dt / 10)
            hi_b[names.index(name)] = math.log(1000 * window)
    if "r_inf" in names:
        lo_b[names.index("r_inf")], hi_b[names.index("r_inf")] = -0.45, 0.95
    if "f1" in names:
        lo_b[names.index("f1")], hi_b[names.index("f1")] = 0.0, 1.0

    bga, bgb = _edge_backgrounds(ya, yb, method)
    tot = (ya - bga[:, None]) + 2.0 * g_factor * (yb - bgb[:, None])
    tau0 = np.array([_mean_arrival_tau(tw, tot[k], 0.0) for k in range(nb)])
    peak = np.maximum(tot.max(axis=1), 1.0)
    # division estimate of r over the first part of the decay: the start of r0
    r_start = np.empty(nb)
    for k in range(nb):
        i_pk = int(np.argmax(tot[k]))
        seg = slice(i_pk, min(i_pk + max(3, int(0.2 * tau0[k] / dt)), mw))
        d = (ya[k, seg] - bga[k]) - g_factor * (yb[k, seg] - bgb[k])
        r_start[k] = np.sum(d) / max(np.sum(tot[k, seg]), 1.0)
    r_start = np.clip(np.nan_to_num(r_start, nan=0.2), 0.02, 0.38)
    p0 = np.zeros((nb, P))
    p0[:, names.index("background_a")] = bga
    p0[:, names.index("background_b")] = bgb
    p0[:, names.index("ln_theta1")] = np.log(tau0)
    if "ln_theta2" in names:
        p0[:, names.index("ln_theta2")] = np.log(5 * tau0)
        p0[:, names.index("f1")] = 0.5
    starts = _population_starts(p0, names, nc, peak, tau0)
    fix1 = fixed.copy()
    for name in ("r0", "ln_theta1", "r_inf", "ln_theta2", "f1"):
        if name in names:
            fix1[names.index(name)] = True
    r1, best1 = _multistart(fmodel, x, y, starts, lo_b, hi_b, fix1, w, max_iter)
    p1 = r1.params[best1]
    p1 = np.where(np.isfinite(p1), p1, p0)
    tau_fit = np.exp(p1[:, names.index("ln_tau1")])
    starts = []
    for ft in (0.05, 0.2, 0.6, 2.0):
        p = p1.copy()
        p[:, names.index("r0")] = r_start
        p[:, names.index("ln_theta1")] = np.log(tau_fit * ft)
        if "ln_theta2" in names:
            p[:, names.index("ln_theta2")] = np.log(tau_fit * ft * 8.0)
            p[:, names.index("f1")] = 0.5
        if "r_inf" in names:
            p[:, names.index("r_inf")] = 0.3 * r_start
        starts.append(p)
    pb, cost, stderr, success = _best_polished(
        fmodel, x, y, starts, lo_b, hi_b, fixed, w, max_iter, fallback=p1
    )
    fa, fb, redchi, infl = _fit_quality(jm, pb, y, w, int(P - fixed.sum()))
    out = []
    for k in range(nb):

        def par(name, k=k):
            return float(pb[k, names.index(name)])

        def se(name, k=k):
            return float(stderr[k, names.index(name)])

        taus = np.exp(pb[k, [names.index(f"ln_tau{i + 1}") for i in range(nc)]])
        order = np.argsort(taus)
        tau_ci = [
            _ln_interval(par(f"ln_tau{i + 1}"), se(f"ln_tau{i + 1}"), infl[k]) for i in range(nc)
        ]
        th_names = ["ln_theta1"] + (["ln_theta2"] if "ln_theta2" in names else [])
        thetas = [math.exp(par(n)) for n in th_names]
        th_ci = [_ln_interval(par(n), se(n), infl[k]) for n in th_names]
        if model == "hindered":
            r_inf, r_inf_ci = par("r_inf"), _lin_interval(par("r_inf"), se("r_inf"), infl[k])
        else:
            r_inf, r_inf_ci = 0.0, [0.0, 0.0]
        summary = {
            "kind": "anisotropy",
            "method": method,
            "model": model,
            "g_factor": float(g_factor),
            "g_factor_ci95": [float(v) for v in g_ci],
            "r0": par("r0"),
            "r0_ci95": _lin_interval(par("r0"), se("r0"), infl[k]),
            "tau_r_ns": thetas,
            "tau_r_ns_ci95": th_ci,
            "r_inf": r_inf,
            "r_inf_ci95": r_inf_ci,
            "tau_ns": taus[order].tolist(),
            "tau_ns_ci95": [tau_ci[i] for i in order],
            "amplitudes": pb[k, [names.index(f"a{i + 1}") for i in range(nc)]][order].tolist(),
            "irf_shift_ns": par("shift_ns"),
            "irf_shift_vh_ns": par("shift_ns") + par("dshift_ns"),
            "backgrounds": [par("background_a"), par("background_b")],
            "reduced_chi2": float(redchi[k]),
            "poisson_deviance": float(cost[k]),
            "n_channels": int(mw),
            "success": bool(success[k]),
        }
        if model == "two":
            summary["rotation_fraction"] = par("f1")
            summary["rotation_fraction_ci95"] = _lin_interval(par("f1"), se("f1"), infl[k])
        out.append(
            PolarizationFit(
                kind="anisotropy",
                summary=summary,
                time_ns=tw,
                data={"VV": ya[k], "VH": yb[k]},
                model={"VV": fa[k], "VH": fb[k]},
                weight=mask,
                ratio_name="r",
                g_factor=float(g_factor),
                extra={"params": dict(zip(names, pb[k].tolist()))},
            )
        )
    return out[0] if single else out


def anisotropy_division(
    vv, vh, g_factor: float, background_vv: float | None = None, background_vh: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The classic division r(t) = (VV - G VH) / (VV + 2 G VH), with its standard error.

    Backgrounds (default: the mean of the channels before the rise) are subtracted first.
    The standard error propagates Poisson variances (= counts) of both channels:
    sigma_r = 3 G sqrt(VH^2 var(VV) + VV^2 var(VH)) / S^2, S = VV + 2 G VH.

    Parameters
    ----------
    vv, vh : array_like, shape (M,)
        Histograms. [counts]
    g_factor
        G = S_V / S_H. [1]
    background_vv, background_vh
        Backgrounds per channel. [counts]

    Returns
    -------
    r, sigma_r : ndarray, shape (M,)
        Anisotropy and its standard error (NaN where S <= 0). [1]
    """
    a = np.asarray(vv, dtype=float)
    b = np.asarray(vh, dtype=float)
    if a.shape != b.shape:
        raise PolarizationInputError(f"VV has {a.size} channels, VH {b.size}: they must match")
    ba = _pre_rise_background(a) if background_vv is None else float(background_vv)
    bb = _pre_rise_background(b) if background_vh is None else float(background_vh)
    va, vb = a - ba, b - bb
    s = va + 2.0 * g_factor * vb
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(s > 0, (va - g_factor * vb) / s, np.nan)
        sig = np.where(
            s > 0,
            3.0
            * g_factor
            * np.sqrt(vb**2 * np.maximum(a, 1.0) + va**2 * np.maximum(b, 1.0))
            / s**2,
            np.nan,
        )
    return r, sig


def _r_model(model: str):
    if model == "one":
        return lambda t, r0, th: r0 * np.exp(-t / th), ["r0", "theta1"], [0.3, 1.0]
    if model == "hindered":
        return (
            lambda t, r0, th, ri: (r0 - ri) * np.exp(-t / th) + ri,
            ["r0", "theta1", "r_inf"],
            [0.3, 1.0, 0.05],
        )
    return (
        lambda t, r0, th1, th2, f: r0 * (f * np.exp(-t / th1) + (1 - f) * np.exp(-t / th2)),
        ["r0", "theta1", "theta2", "f1"],
        [0.3, 0.5, 5.0, 0.5],
    )


def fit_anisotropy_division(
    time_ns,
    vv,
    vh,
    g_factor: float,
    *,
    model: str = "one",
    t0_ns: float | None = None,
    fit_range_ns: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Fit r(t) from the division method by weighted least squares (scipy, no IRF).

    This is what most tools do: r(t) is built by division and a model r(t - t0) is fitted
    from the peak on, ignoring the IRF. It is here for comparison with `fit_anisotropy`.

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centres. [ns]
    vv, vh : array_like, shape (M,)
        Histograms. [counts]
    g_factor
        G factor. [1]
    model : {"one", "hindered", "two"}
        r(t) model.
    t0_ns
        Time zero of r(t) (the excitation; e.g. the IRF peak). Default: the VV peak. [ns]
    fit_range_ns
        Fitted times. Default: from the VV peak to where VV + 2 G VH falls below 2 % of its
        maximum. [ns]

    Returns
    -------
    dict
        ``r0``, ``r0_ci95``, ``tau_r_ns`` (list), ``tau_r_ns_ci95``, ``r_inf``,
        ``r_inf_ci95``, ``reduced_chi2``, ``fit_range_ns``, ``method`` ("division").
    """
    from scipy.optimize import curve_fit

    if model not in ANISOTROPY_MODELS:
        raise FitError(f"model must be one of {ANISOTROPY_MODELS}, got {model!r}")
    t = np.asarray(time_ns, dtype=float)
    r, sig = anisotropy_division(vv, vh, g_factor)
    a = np.asarray(vv, dtype=float)
    s = a + 2.0 * g_factor * np.asarray(vh, dtype=float)
    i_pk = int(np.argmax(a))
    t0 = float(t[i_pk]) if t0_ns is None else float(t0_ns)
    if fit_range_ns is None:
        after = np.flatnonzero((np.arange(t.size) > i_pk) & (s < 0.02 * s.max()))
        end = t[after[0]] if after.size else t[-1]
        fit_range_ns = (float(t[i_pk]), float(end))
    sel = (t >= fit_range_ns[0]) & (t <= fit_range_ns[1]) & np.isfinite(r) & (sig > 0)
    if sel.sum() < 6:
        raise FitError(f"only {int(sel.sum())} channels with a defined r(t) to fit")
    f, names, p0 = _r_model(model)
    lo = {"r0": -0.5, "theta1": 1e-4, "theta2": 1e-4, "r_inf": -0.5, "f1": 0.0}
    hi = {"r0": 1.0, "theta1": 1e4, "theta2": 1e4, "r_inf": 1.0, "f1": 1.0}
    popt, pcov = curve_fit(
        f,
        t[sel] - t0,
        r[sel],
        p0=p0,
        sigma=sig[sel],
        absolute_sigma=True,
        bounds=([lo[n] for n in names], [hi[n] for n in names]),
        maxfev=20000,
    )
    resid = (r[sel] - f(t[sel] - t0, *popt)) / sig[sel]
    redchi = float(np.sum(resid**2) / max(sel.sum() - len(names), 1))
    se = np.sqrt(np.diag(pcov)) * math.sqrt(max(1.0, redchi))
    v = dict(zip(names, popt))
    e = dict(zip(names, se))
    th = [n for n in names if n.startswith("theta")]
    out = {
        "method": "division",
        "model": model,
        "g_factor": float(g_factor),
        "r0": float(v["r0"]),
        "r0_ci95": [float(v["r0"] - _Z95 * e["r0"]), float(v["r0"] + _Z95 * e["r0"])],
        "tau_r_ns": [float(v[n]) for n in th],
        "tau_r_ns_ci95": [[float(v[n] - _Z95 * e[n]), float(v[n] + _Z95 * e[n])] for n in th],
        "r_inf": float(v.get("r_inf", 0.0)),
        "r_inf_ci95": [
            float(v.get("r_inf", 0.0) - _Z95 * e.get("r_inf", 0.0)),
            float(v.get("r_inf", 0.0) + _Z95 * e.get("r_inf", 0.0)),
        ],
        "reduced_chi2": redchi,
        "t0_ns": t0,
        "fit_range_ns": [float(fit_range_ns[0]), float(fit_range_ns[1])],
    }
    return out


# ---------------------------------------------------------------------------------------
# steady-state polarization: time-integrated DCP and Hanle


def tau_s_from_integrated_dcp(
    dcp: float,
    dcp0: float,
    tau_ns: float,
    dcp_se: float = 0.0,
    dcp0_se: float = 0.0,
    tau_se_ns: float = 0.0,
    n_samples: int = 200_000,
    seed: int = 0,
) -> dict[str, Any]:
    """tau_s from the time-integrated polarization, P = P0 / (1 + tau / tau_s).

    tau_s = tau / (P0 / P - 1). The interval is the 2.5-97.5 % range of a Monte-Carlo
    propagation of independent normal errors of P, P0 and tau (seeded, so reproducible).
    When P0 / P - 1 can be <= 0 within the errors (P indistinguishable from P0), tau_s has
    no upper limit and a lower bound is returned.

    Parameters
    ----------
    dcp
        Time-integrated DCP of the emission. [1]
    dcp0
        Initial DCP (e.g. from the time-resolved fit, or the orientation efficiency). [1]
    tau_ns
        Emission lifetime. [ns]
    dcp_se, dcp0_se, tau_se_ns
        Standard errors. [1], [1], [ns]
    n_samples, seed
        Monte-Carlo size and seed.

    Returns
    -------
    dict
        ``tau_s_ns`` (None when unbounded), ``tau_s_ci95_ns`` ([lo, hi], hi None when
        unbounded), ``bound`` (None or "lower"), ``ratio_tau_over_tau_s``.
    """
    if not (tau_ns > 0 and dcp0 != 0 and dcp != 0):
        raise DataValidationError(
            f"need tau_ns > 0 and non-zero P and P0, got {tau_ns}, {dcp}, {dcp0}"
        )
    if abs(dcp) > abs(dcp0) * (1 + 1e-12) and dcp_se == 0 and dcp0_se == 0:
        raise DataValidationError(f"|P| = {abs(dcp)} exceeds |P0| = {abs(dcp0)}")
    rho = dcp0 / dcp - 1.0
    gen = np.random.default_rng(seed)
    p = dcp + dcp_se * gen.standard_normal(n_samples)
    p0 = dcp0 + dcp0_se * gen.standard_normal(n_samples)
    tau = tau_ns + tau_se_ns * gen.standard_normal(n_samples)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_s = p0 / p - 1.0
    lo_r = np.percentile(rho_s, 2.5)
    if lo_r <= 0 or rho <= 0:
        ts = tau / np.where(rho_s > 0, rho_s, np.nan)
        lower = float(np.nanpercentile(ts, 2.5)) if np.any(np.isfinite(ts)) else 0.0
        return {
            "tau_s_ns": None,
            "tau_s_ci95_ns": [lower, None],
            "bound": "lower",
            "ratio_tau_over_tau_s": float(rho),
        }
    ts = tau / rho_s
    lo, hi = np.percentile(ts, [2.5, 97.5])
    return {
        "tau_s_ns": float(tau_ns / rho),
        "tau_s_ci95_ns": [float(lo), float(hi)],
        "bound": None,
        "ratio_tau_over_tau_s": float(rho),
    }


def fit_hanle(
    field_t,
    dcp,
    dcp_se,
    *,
    g: float | None = None,
    tau_ns: float | None = None,
    tau_s_ns: float | None = None,
) -> dict[str, Any]:
    """Fit a Hanle curve DCP(B) = DCP0 / [1 + (B / B_half)^2], B_half = hbar / (g mu_B T_s).

    In a steady-state measurement the spins precess during their whole life in the
    excited state, so the half width gives g times the spin lifetime T_s,
    1 / T_s = 1 / tau + 1 / tau_s (tau the emission lifetime, tau_s the spin relaxation
    time; the same T_s as in the integrated DCP, P = P0 T_s / tau). With `g`: T_s, and with
    `tau_ns` too: tau_s = 1 / (1 / T_s - 1 / tau). With `tau_s_ns` (and `tau_ns`): g. The fit
    is weighted least squares on the batched engine (a Lorentzian centred at B = 0).

    Parameters
    ----------
    field_t : array_like, shape (K,)
        Transverse field. [T]
    dcp, dcp_se : array_like, shape (K,)
        Measured steady-state DCP and its standard error. [1]
    g
        g factor of the precessing carrier (CsPbBr3 electron +1.7, hole +0.8). [1]
    tau_ns
        Emission lifetime. [ns]
    tau_s_ns
        Known spin relaxation time, to obtain g instead. [ns]

    Returns
    -------
    dict
        ``dcp0``, ``dcp0_ci95``, ``b_half_t``, ``b_half_ci95_t``, ``g_spin_lifetime_ns``
        (|g| T_s) and its ``_ci95``; with `g`: ``spin_lifetime_ns`` (T_s) and, with `tau_ns`,
        ``tau_s_ns`` (None with a lower bound when T_s is not shorter than tau), each with
        ``_ci95``; with `tau_s_ns`: ``g``, ``g_ci95``; ``reduced_chi2``.
    """
    from ..constants import HBAR_J_S
    from ..fitting import curve_fit_batch
    from ..instruments.analyzer import MU_B_J_T

    b = np.asarray(field_t, dtype=float)
    y = np.asarray(dcp, dtype=float)
    s = np.asarray(dcp_se, dtype=float)
    if not (b.shape == y.shape == s.shape) or b.ndim != 1 or b.size < 3:
        raise DataValidationError("field_t, dcp and dcp_se must be 1-D of one length >= 3")
    if np.any(~np.isfinite(b)) or np.any(~np.isfinite(y)) or np.any(~(s > 0)):
        raise DataValidationError("field, DCP must be finite and dcp_se > 0")
    width0 = float(
        np.interp(
            0.5,
            (y / y[np.argmin(np.abs(b))])[np.argsort(np.abs(b))][::-1],
            np.sort(np.abs(b))[::-1],
        )
    )
    if not width0 > 0:
        width0 = float(np.abs(b).max() / 2)
    p0 = np.array([y[np.argmin(np.abs(b))], 0.0, width0])
    res = curve_fit_batch(
        "lorentzian",
        b,
        y,
        p0,
        weights=1.0 / s**2,
        fixed=np.array([False, True, False]),
        bounds=(np.array([-1.0, -1.0, 1e-9]), np.array([1.0, 1.0, 1e3])),
    )
    a, bh = float(res.params[0, 0]), abs(float(res.params[0, 2]))
    se_a, se_b = float(res.stderr[0, 0]), float(res.stderr[0, 2])
    redchi = float(res.redchi[0])
    infl = math.sqrt(max(1.0, redchi)) if math.isfinite(redchi) else 1.0
    b_ci = [max(bh - _Z95 * se_b * infl, 0.0), bh + _Z95 * se_b * infl]
    prod = HBAR_J_S / (MU_B_J_T * bh) * 1e9  # |g| tau_s [ns]

    def to_prod(x):
        return HBAR_J_S / (MU_B_J_T * x) * 1e9 if x > 0 else None

    prod_ci = [to_prod(b_ci[1]), to_prod(b_ci[0])]
    out = {
        "dcp0": a,
        "dcp0_ci95": [a - _Z95 * se_a * infl, a + _Z95 * se_a * infl],
        "b_half_t": bh,
        "b_half_ci95_t": b_ci,
        "g_spin_lifetime_ns": prod,
        "g_spin_lifetime_ci95_ns": prod_ci,
        "reduced_chi2": redchi,
    }

    def relax(ts):
        """tau_s from T_s and tau; None where T_s >= tau (no relaxation resolved)."""
        if ts is None:
            return None
        return 1.0 / (1.0 / ts - 1.0 / tau_ns) if ts < tau_ns else None

    if g is not None:
        t_s = prod / abs(g)
        t_ci = [None if v is None else v / abs(g) for v in prod_ci]
        out["spin_lifetime_ns"] = t_s
        out["spin_lifetime_ci95_ns"] = t_ci
        if tau_ns is not None:
            out["tau_s_ns"] = relax(t_s)
            out["tau_s_ci95_ns"] = [relax(t_ci[0]), relax(t_ci[1])]
    if tau_s_ns is not None:
        t_known = tau_s_ns if tau_ns is None else 1.0 / (1.0 / tau_ns + 1.0 / tau_s_ns)
        out["g"] = prod / t_known
        out["g_ci95"] = [None if v is None else v / t_known for v in prod_ci]
    return out


# ---------------------------------------------------------------------------------------
# polarization-tagged decay files from a manifest


def polarization_channels(
    rows: list[dict],
    *,
    fluence_mJ_cm2: float | None = None,
    detection_wavelength_nm: float | None = None,
) -> dict[str, Any]:
    """Pick the polarization-tagged decay (and IRF) files of one measurement from a manifest.

    Parameters
    ----------
    rows
        Rows of `polase.io.read_manifest` (columns ``excitation_polarizer``,
        ``emission_analyzer``).
    fluence_mJ_cm2, detection_wavelength_nm
        Keep only decay rows with these values (when given). [mJ/cm2], [nm]

    Returns
    -------
    dict
        Channel -> file: ``"VV"``, ``"VH"``, ``"HV"``, ``"HH"`` (excitation then analyzer)
        for linear analyzers, ``"sigma_plus"``, ``"sigma_minus"`` for circular ones, and
        ``"IRF"`` for an irf row.

    Raises
    ------
    PolarizationInputError
        Two files for one channel, or a decay with an analyzer but no excitation polarizer
        where one is needed (the manifest lines are named).
    """
    out: dict[str, Any] = {}
    lines: dict[str, Any] = {}

    def put(name, row):
        if name in out:
            raise PolarizationInputError(
                f"two files for channel {name!r}: manifest lines {lines[name]} and {row.get('line')}"
            )
        out[name] = row["file"]
        lines[name] = row.get("line")

    for row in rows:
        if row.get("kind") == "irf":
            put("IRF", row)
            continue
        if row.get("kind") != "decay" or row.get("emission_analyzer") is None:
            continue
        if fluence_mJ_cm2 is not None and row.get("fluence_mJ_cm2") != fluence_mJ_cm2:
            continue
        if (
            detection_wavelength_nm is not None
            and row.get("detection_wavelength_nm") != detection_wavelength_nm
        ):
            continue
        ana = row["emission_analyzer"]
        if ana in ("sigma+", "sigma-"):
            put("sigma_plus" if ana == "sigma+" else "sigma_minus", row)
        else:
            exc = row.get("excitation_polarizer")
            if exc is None:
                raise PolarizationInputError(
                    f"manifest line {row.get('line')}: analyzer {ana} needs an "
                    "excitation_polarizer (V or H)"
                )
            put(exc + ana, row)
    return out


def fit_helicity_manifest(
    manifest,
    *,
    fluence_mJ_cm2: float | None = None,
    detection_wavelength_nm: float | None = None,
    n_components: int = 2,
    **kwargs,
) -> PolarizationFit:
    """Read a sigma+ / sigma- pair and its IRF through a manifest and fit them jointly.

    The files path of a measurement: `polase.io.read_manifest`, `polarization_channels`,
    `polase.io.read_decay` (DAS6, PTU, PHU, SDT; ``detector_channel`` from the manifest),
    `check_pair`, then `fit_helicity_pair`.

    Parameters
    ----------
    manifest
        Manifest CSV with decay rows tagged ``emission_analyzer`` sigma+ / sigma- and an
        ``irf`` row.
    fluence_mJ_cm2, detection_wavelength_nm
        Select the pair when the manifest holds several. [mJ/cm2], [nm]
    n_components
        Population exponentials of the fit.
    **kwargs
        Passed to `fit_helicity_pair` (``separate_shift``, ``tail_start_ns``, ...).

    Returns
    -------
    PolarizationFit
        With ``extra["files"]``: channel -> file read.

    Raises
    ------
    PolarizationInputError
        The manifest lacks a sigma+ or sigma- file (or has two of one), or the files do not
        share one time axis.
    """
    from ..io import read_decay, read_manifest

    rows = read_manifest(manifest)
    files = polarization_channels(
        rows, fluence_mJ_cm2=fluence_mJ_cm2, detection_wavelength_nm=detection_wavelength_nm
    )
    missing = [k for k in ("sigma_plus", "sigma_minus") if k not in files]
    if missing:
        raise PolarizationInputError(
            f"{manifest}: no decay row with emission_analyzer "
            f"{' / '.join('sigma+' if k == 'sigma_plus' else 'sigma-' for k in missing)}"
        )
    chan = {Path(r["file"]): r.get("detector_channel") for r in rows}
    dec = {k: read_decay(files[k], channel=chan.get(Path(files[k]))) for k in files}
    counts = {f"{k} ({files[k]})": d.counts for k, d in dec.items()}
    widths = {f"{k} ({files[k]})": d.channel_width_ns for k, d in dec.items()}
    checked, _ = check_pair(counts, widths)
    c = {k: checked[f"{k} ({files[k]})"] for k in dec}
    fit = fit_helicity_pair(
        dec["sigma_plus"].time_ns,
        c["sigma_plus"],
        c["sigma_minus"],
        c.get("IRF"),
        n_components=n_components,
        **kwargs,
    )
    fit.extra["files"] = {k: str(v) for k, v in files.items()}
    return fit
