"""Polarization-resolved decays: joint fits of two channels (anisotropy and helicity).

Both channels of a pair are fitted together: one Poisson likelihood over both histograms
(the two histograms concatenated into one model vector for `polase.fitting.curve_fit_batch`),
shared lifetimes and polarization parameters, a background per channel and an IRF shift
(optionally a separate shift for the second channel). The model of a channel is a sum of
exponentials, each integrated over its channel and convolved with the measured IRF
(normalised to unit sum, delayed by linear interpolation), so the polarization decay is
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
from typing import Any

import numba
import numpy as np

from ..errors import DataValidationError, FitError

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
    "fit_helicity_pair",
    "g_factor_from_hv_hh",
    "pileup_fraction",
    "rebin",
    "simulate_helicity_pair",
    "tau_s_from_integrated_dcp",
]

_Z95 = 1.959963984540054
_CHI2_95 = 3.841458820694124
#: Extra channels computed beyond the window so that negative IRF shifts pull real values.
_PAD = 256
#: |DCP0| at or above this counts as "at its bound" in the resolution test.
_DCP_BOUND_HIT = 0.995
ANISOTROPY_MODELS = ("one", "hindered", "two")


class PolarizationInputError(DataValidationError):
    """Polarization channels that cannot be analysed together (lengths, calibration, counts)."""


class PileUpError(PolarizationInputError):
    """A histogram recorded at so high a count rate that pile-up distorts it (> 5 %)."""


class PileUpWarning(UserWarning):
    """Pile-up above 5 % was accepted (``allow_pileup=True``); the lifetimes are biased short."""


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

    Returns the pile-up fraction [1], or None when the time or rate is unknown.
    """
    if acquisition_time_s is None or repetition_rate_hz is None or not acquisition_time_s > 0:
        return None
    frac = pileup_fraction(total_counts, acquisition_time_s, repetition_rate_hz)
    if frac > limit:
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
    """Both channels: sum_k c_k (IRF * E_k) delayed by linear interpolation, plus background.

    E_k is exp(-rate_k t) integrated over each channel per unit onset height,
    (1 - q) / (rate dt) q^j with q = exp(-rate dt); the discrete convolution with the IRF
    runs as the recursion c_j = q c_{j-1} + irf_j on m + pad channels (the pad lets a
    negative shift pull values from beyond the window).
    """
    n_fit, n_term = rates.shape
    m = irf.size
    n_full = m + pad
    fa = np.empty((n_fit, m))
    fb = np.empty((n_fit, m))
    sa = np.empty(n_full)
    sb = np.empty(n_full)
    for i in range(n_fit):
        sa[:] = 0.0
        sb[:] = 0.0
        for k in range(n_term):
            x = rates[i, k] * dt
            q = math.exp(-x)
            fac = -math.expm1(-x) / x if x > 1e-12 else 1.0
            wa = ca[i, k] * fac
            wb = cb[i, k] * fac
            c = 0.0
            for j in range(n_full):
                c = q * c + (irf[j] if j < m else 0.0)
                sa[j] += wa * c
                sb[j] += wb * c
        for ch in range(2):
            src = sa if ch == 0 else sb
            out = fa if ch == 0 else fb
            s = (shift_a[i] if ch == 0 else shift_b[i]) / dt
            bg = bg_a[i] if ch == 0 else bg_b[i]
            i0 = math.floor(s)
            f = s - i0
            for j in range(m):
                k0 = j - int(i0)
                v0 = src[k0] if 0 <= k0 < n_full else 0.0
                v1 = src[k0 - 1] if 0 <= k0 - 1 < n_full else 0.0
                out[i, j] = (1.0 - f) * v0 + f * v1 + bg
    return fa, fb


class _JointModel:
    """Two channels, each sum_k c_k (IRF * E(rate_k)) delayed + background.

    ``terms(params) -> (coef_a (N, K), coef_b (N, K), rates (N, K))``; the shift of channel a
    is ``params[:, i_shift]``, of b that plus ``params[:, i_dshift]``; backgrounds
    ``params[:, i_bg_a]``, ``params[:, i_bg_b]``.
    """

    def __init__(self, irf_norm: np.ndarray, dt: float, terms, names, pad: int = _PAD):
        self.m = int(irf_norm.size)
        self.dt = float(dt)
        self.pad = int(pad)
        self.irf = np.ascontiguousarray(irf_norm, dtype=float)
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


# ---------------------------------------------------------------------------------------
# helpers shared by both fits


def _prepare(t, ya, yb, irf, tail_start_ns):
    """Window, normalised IRF (or a delta at the tail start), and the fitted-channel mask."""
    m = t.size
    dt = float(t[1] - t[0])
    tot = ya + yb
    if irf is not None:
        g = np.clip(np.asarray(irf, dtype=float), 0.0, None)
        if not g.sum() > 0:
            raise PolarizationInputError("the IRF has no positive counts")
        nz = np.flatnonzero((tot > 0) | (g > 0))
        lo, hi = int(nz[0]), int(nz[-1]) + 1
        gw = g[lo:hi] - _irf_background(g[lo:hi])
        gw = gw / gw.sum()
        mask = np.ones(hi - lo)
        method = "reconvolution"
    else:
        nz = np.flatnonzero(tot > 0)
        i_pk = int(np.argmax(tot))
        t0 = t[i_pk] if tail_start_ns is None else float(tail_start_ns)
        lo = int(np.clip(np.searchsorted(t, t0), 0, m - 2))
        hi = int(nz[-1]) + 1
        gw = np.zeros(hi - lo)
        gw[0] = 1.0
        mask = np.ones(hi - lo)
        method = "tail"
    if hi - lo < 20:
        raise PolarizationInputError(f"only {hi - lo} channels to fit; nothing to fit")
    return lo, hi, gw, mask, method, dt


def _irf_background(g: np.ndarray) -> float:
    """Mean of the IRF channels before its rise (more than 10 channels before it first
    exceeds 2 % of its peak); 0 when fewer than 5 such channels exist. [counts]"""
    rise = int(np.argmax(g >= 0.02 * g.max()))
    pre = g[: max(rise - 10, 0)]
    return float(pre.mean()) if pre.size >= 5 else 0.0


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
    h = _Z95 * se_ln * infl
    return [float(math.exp(value_ln - h)), float(math.exp(value_ln + h))]


def _lin_interval(value, se, infl):
    h = _Z95 * se * infl
    return [float(value - h), float(value + h)]


# ---------------------------------------------------------------------------------------
# helicity


def _helicity_names(n_comp: int) -> list[str]:
    names = [f"a{i + 1}" for i in range(n_comp)] + [f"ln_tau{i + 1}" for i in range(n_comp)]
    return names + ["dcp0", "ln_tau_s", "shift_ns", "dshift_ns", "background_a", "background_b"]


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
    dtt = np.diff(t)
    if t.size < 20 or np.any(dtt <= 0) or not np.allclose(dtt, dtt[0], rtol=1e-6):
        raise PolarizationInputError("time_ns must be uniform and increasing (>= 20 channels)")
    for name, y in (("sigma_plus", ya_all), ("sigma_minus", yb_all)):
        if not np.all(np.isfinite(y)) or np.any(y < 0):
            raise PolarizationInputError(f"channel {name!r}: counts must be finite and >= 0")
        if np.any(y.sum(axis=1) <= 0):
            raise PolarizationInputError(f"channel {name!r} has a histogram without counts")
    nc = int(n_components)
    nb = ya_all.shape[0]
    lo, hi, gw, mask, method, dt = _prepare(
        t, ya_all.sum(axis=0), yb_all.sum(axis=0), irf, tail_start_ns
    )
    tw = t[lo:hi]
    ya, yb = ya_all[:, lo:hi], yb_all[:, lo:hi]
    mw = hi - lo
    names = _helicity_names(nc)
    jm = _JointModel(gw, dt, _helicity_terms(nc, names), names)
    model = jm.model()
    x = np.arange(2 * mw, dtype=float)
    y = np.concatenate([ya, yb], axis=1)
    w = np.concatenate([mask, mask])
    window = mw * dt
    ts_lo, ts_hi = tau_s_range_ns or (dt / 20.0, 100.0 * window)
    P = len(names)
    lo_b = np.full(P, -np.inf)
    hi_b = np.full(P, np.inf)
    for i in range(nc):
        lo_b[names.index(f"a{i + 1}")] = 0.0
        lo_b[names.index(f"ln_tau{i + 1}")] = math.log(dt / 10)
        hi_b[names.index(f"ln_tau{i + 1}")] = math.log(100 * window)
    lo_b[names.index("dcp0")], hi_b[names.index("dcp0")] = -1.0, 1.0
    lo_b[names.index("ln_tau_s")] = math.log(ts_lo)
    hi_b[names.index("ln_tau_s")] = math.log(ts_hi)
    shift_lim = min(0.25 * window, 0.9 * _PAD * dt)
    lo_b[names.index("shift_ns")], hi_b[names.index("shift_ns")] = -shift_lim, shift_lim
    lo_b[names.index("dshift_ns")], hi_b[names.index("dshift_ns")] = -shift_lim, shift_lim
    lo_b[names.index("background_a")] = 1e-6
    lo_b[names.index("background_b")] = 1e-6
    fixed = np.zeros(P, dtype=bool)
    fixed[names.index("dshift_ns")] = not separate_shift
    if method == "tail":
        fixed[names.index("shift_ns")] = True
        fixed[names.index("dshift_ns")] = True

    # stage 1: population decay on both channels with DCP = 0 (multi-start on tau)
    edge = max(5, mw // 50)
    sl = slice(-edge, None) if method == "tail" else slice(0, edge)  # tail: no pre-rise
    bga = np.maximum(ya[:, sl].mean(axis=1), 1e-3)
    bgb = np.maximum(yb[:, sl].mean(axis=1), 1e-3)
    tsum = ya + yb
    tau0 = np.array([_mean_arrival_tau(tw, tsum[k], bga[k] + bgb[k]) for k in range(nb)])
    peak = np.maximum(tsum.max(axis=1) - bga - bgb, 1.0)
    factors = [[1.0], [0.5], [2.0]] if nc == 1 else [[0.3, 1.5], [0.15, 1.1], [0.5, 2.5]]
    p0 = np.zeros((nb, P))
    p0[:, names.index("background_a")] = bga
    p0[:, names.index("background_b")] = bgb
    p0[:, names.index("ln_tau_s")] = np.log(np.clip(tau0, ts_lo * 1.01, ts_hi / 1.01))
    starts = []
    for fac in factors:
        p = p0.copy()
        for i in range(nc):
            p[:, names.index(f"a{i + 1}")] = peak / nc
            p[:, names.index(f"ln_tau{i + 1}")] = np.log(tau0 * fac[i])
        starts.append(p)
    fix1 = fixed.copy()
    fix1[names.index("dcp0")] = True
    fix1[names.index("ln_tau_s")] = True
    ns = len(starts)
    r1 = _fit(
        model,
        x,
        np.concatenate([y] * ns),
        np.concatenate(starts),
        lo_b,
        hi_b,
        fix1,
        w,
        max_iter,
    )
    p1 = r1.params[_best_of(r1, nb, ns)]
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
    ns = len(starts)
    r2 = _fit(
        model, x, np.concatenate([y] * ns), np.concatenate(starts), lo_b, hi_b, fixed, w, max_iter
    )
    best = _best_of(r2, nb, ns)
    pb = r2.params[best]
    cost = r2.cost[best]
    stderr = r2.stderr[best]
    # polish from the best point (a fresh damping parameter)
    ok = np.isfinite(pb).all(axis=1)
    pb = np.where(ok[:, None], pb, p1)
    r3 = _fit(model, x, y, pb, lo_b, hi_b, fixed, w, max_iter)
    better = np.isfinite(r3.cost) & (r3.cost <= np.where(np.isfinite(cost), cost, np.inf))
    pb = np.where(better[:, None], r3.params, pb)
    cost = np.where(better, r3.cost, cost)
    stderr = np.where(better[:, None], r3.stderr, stderr)
    success = np.where(better, np.asarray(r3.success), np.asarray(r2.success)[best])

    fa, fb = jm.channels(pb)
    f_all = np.concatenate([fa, fb], axis=1)
    n_free = int(P - fixed.sum())
    redchi = _pearson_redchi(y, f_all, w[None, :], n_free)
    infl = np.where(np.isfinite(redchi), np.sqrt(np.maximum(1.0, redchi)), 1.0)

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
    for side, sign, limit in (("lower", -1.0, lo_b[idx]), ("upper", 1.0, hi_b[idx])):
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
        end = np.where(found, end, np.nan)
        # a crossing found only at the clipped search limit is an open side
        res_out[side] = np.exp(end)
        if side == "lower":
            res_out["dcp_hit"] = found & (np.abs(dcp_at) >= _DCP_BOUND_HIT)
        res_out[side + "_limit"] = limit
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
