"""Global TCSPC analysis: many decays, shared lifetimes, per-decay amplitudes.

Decays of one sample recorded under several conditions (fluences x detection wavelengths x
polarizations) share their lifetimes; their amplitudes differ. Fitting them jointly pins the
lifetimes far better than any one decay, and the amplitudes per detection wavelength are
the decay-associated spectra (DAS).

Model, per decay k (the reconvolution model of `polase.fitting.reconvolution_model`, one
IRF for all decays)::

    f_k = background_k + sum_i a_ki (IRF_shifted * exp(-t / tau_i))   (+ earlier pulses)

with shared ``tau_i`` and IRF shift and per-decay ``a_ki`` and ``background_k``.

Variable projection (Golub & Pereyra 1973), Poisson maximum likelihood: for given shared
parameters theta = (tau_1 .. tau_n, shift) the per-decay linear parameters are fitted by
the batched engine (`curve_fit_batch`, one fit per decay, theta held fixed), giving the
profile deviance ``D(theta) = sum_k min_{a_k, b_k} D_k``. Its gradient is
``sum_k sum_m 2 (1 - y/f) df/dtheta`` at the inner optimum (envelope theorem), with the
model's analytic derivatives; theta is found by L-BFGS-B on (log tau, shift).

Intervals (95 %) are by profile likelihood: the lifetime tau_i at which the deviance,
minimized over all other parameters, rises by ``3.841 c`` (the chi-square(1) quantile; c =
max(1, pooled Pearson chi-square per degree of freedom), so model or IRF mismatch widens
them as in `fit_decay`). ``interval="hessian"`` gives the quadratic approximation
(+-1.96 sqrt(c 2 H^-1), H the Hessian of D), cheaper and symmetric.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import optimize

from ..errors import DataValidationError, FitError
from ._decay_rows import dataset_decay_rows
from .decay import _check_inputs, _default_range

_CHI2_1_95 = 3.841458820694124
_Z95 = 1.959963984540054


class _Problem:
    """Data, model and the inner (per-decay, linear-parameter) batched fits."""

    def __init__(self, t, y, model, n, max_iter):
        self.t, self.y, self.model, self.n = t, y, model, n
        self.names = list(model.param_names)
        self.tau_cols = [self.names.index(f"tau{i + 1}") for i in range(n)]
        self.amp_cols = [self.names.index(f"a{i + 1}") for i in range(n)]
        self.shift_col = self.names.index("shift_ns")
        self.bg_col = self.names.index("background")
        self.theta_cols = [*self.tau_cols, self.shift_col]
        P = len(self.names)
        self.fixed = np.zeros(P, dtype=bool)
        self.fixed[self.theta_cols] = True
        self.fixed[self.names.index("scatter")] = True
        self.lo = np.full(P, -np.inf)
        self.hi = np.full(P, np.inf)
        self.lo[self.amp_cols] = 0.0
        self.lo[self.bg_col] = 0.0
        self.lo[self.names.index("scatter")] = 0.0
        self.max_iter = max_iter
        self.lin = None  # warm start of the linear parameters, (N, P)
        self.n_inner = 0

    def params(self, theta):
        p = self.lin.copy()
        p[:, self.tau_cols] = theta[: self.n]
        p[:, self.shift_col] = theta[self.n]
        return p

    def inner(self, theta):
        """Fit amplitudes and backgrounds at theta; returns (deviance per decay, params)."""
        from ..fitting import curve_fit_batch

        p0 = self.params(theta)
        p0[:, self.amp_cols] = np.maximum(p0[:, self.amp_cols], 1e-6)
        p0[:, self.bg_col] = np.maximum(p0[:, self.bg_col], 1e-6)
        res = curve_fit_batch(
            self.model,
            self.t,
            self.y,
            p0,
            loss="poisson",
            bounds=(self.lo, self.hi),
            fixed=self.fixed,
            max_iter=self.max_iter,
            nan_policy="omit",
        )
        self.n_inner += 1
        ok = np.isfinite(res.cost)
        if not ok.all():
            raise FitError(
                f"inner amplitude fit failed for {int((~ok).sum())} decays at tau = "
                f"{theta[: self.n]} ns, shift {theta[self.n]:g} ns"
            )
        self.lin = res.params.copy()
        return res.cost, res

    def profile(self, theta):
        cost, _ = self.inner(theta)
        return float(cost.sum())

    def basis(self, theta):
        """Component curves c_i (n, M) at theta and their derivatives: d c_i / d tau_i and
        d c_i / d shift (n, M) each. The model is linear in the amplitudes, so these
        shared curves give every decay's model and its theta-derivatives."""
        n = self.n
        p = np.zeros((n, len(self.names)))
        p[:, self.tau_cols] = theta[:n]
        p[:, self.shift_col] = theta[n]
        p[np.arange(n), self.amp_cols] = 1.0
        import numba

        threads = numba.get_num_threads()
        numba.set_num_threads(1)  # n rows: waking the thread pool costs more than it saves
        try:
            c = self.model(self.t, p)
            J = self.model.jacobian(self.t, p)
        finally:
            numba.set_num_threads(threads)
        dtau = J[np.arange(n), :, self.tau_cols]
        dshift = J[:, :, self.shift_col]
        return c, dtau, dshift

    def profile_grad(self, theta):
        cost, res = self.inner(theta)
        c, dtau, dshift = self.basis(theta)
        amps = res.params[:, self.amp_cols]  # (N, n)
        f = amps @ c + res.params[:, [self.bg_col]]
        valid = np.isfinite(self.y)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(valid, 2.0 * (1.0 - np.nan_to_num(self.y) / f), 0.0)  # dD/df
        g = np.empty(self.n + 1)
        g[: self.n] = np.einsum("ki,ki->i", amps, w @ dtau.T)
        g[self.n] = float(np.sum(amps * (w @ dshift.T)))
        return float(cost.sum()), g


def _to_x(theta, n):
    return np.concatenate([np.log(theta[:n]), theta[n:]])


def _from_x(x, n):
    return np.concatenate([np.exp(x[:n]), x[n:]])


def _minimize(prob, theta0, free, bounds_x, ftol=1e-13):
    """Minimize the profile deviance over the free entries of theta (others held)."""
    n = prob.n
    x_all = _to_x(theta0, n)

    def fun(xf):
        x = x_all.copy()
        x[free] = xf
        theta = _from_x(x, n)
        d, g = prob.profile_grad(theta)
        gx = g * np.concatenate([theta[:n], np.ones(1)])  # chain rule for log tau
        return d, gx[free]

    r = optimize.minimize(
        fun,
        x_all[free],
        jac=True,
        method="L-BFGS-B",
        bounds=[bounds_x[i] for i in np.flatnonzero(free)],
        options={"maxiter": 300, "ftol": ftol, "gtol": 1e-7},
    )
    x = x_all.copy()
    x[free] = r.x
    return _from_x(x, n), float(r.fun), r


def fit_global_decays(
    time_ns,
    counts,
    irf,
    n_components: int = 2,
    period_ns: float | None = None,
    *,
    fit_range_ns: tuple[float, float] | None = None,
    tau0_ns: Sequence[float] | None = None,
    interval: str | None = "profile",
    max_iter: int = 100,
) -> dict[str, Any]:
    """Fit many TCSPC decays with shared lifetimes and IRF shift, per-decay amplitudes.

    Parameters
    ----------
    time_ns : array_like, shape (M,)
        Channel centre times, uniform. [ns]
    counts : array_like, shape (N, M)
        The decays. [counts]
    irf : array_like, shape (M,)
        Instrument response shared by all decays. [counts]
    n_components : int
        Number of shared lifetimes, 1-3.
    period_ns : float, optional
        Laser repetition period (incomplete decay of earlier pulses). [ns]
    fit_range_ns : (float, float), optional
        Fitted window [ns]; default the channels holding counts in any decay.
    tau0_ns : sequence of float, optional
        Starting lifetimes [ns]; default: a multi-start fit (`fit_decays`) of the sum of
        all decays, which has the same lifetimes.
    interval : {"profile", "hessian", None}
        95 % intervals of the lifetimes: profile likelihood (default), the quadratic
        approximation, or none.
    max_iter : int
        Iteration limit of each inner (amplitude) fit.

    Returns
    -------
    dict
        ``components``; ``tau_ns`` (ascending) [ns]; ``tau_ci95_ns`` [ns] and
        ``interval_method``; ``irf_shift_ns`` [ns]; ``amplitudes`` (N lists of n, onset
        amplitudes [counts/channel], ordered like ``tau_ns``); ``amplitude_stderr``
        (conditional on the shared parameters) [counts/channel]; ``amplitude_fractions``;
        ``background`` (N,) [counts/channel]; ``deviance`` (total Poisson deviance) and
        ``deviance_per_decay``; ``reduced_chi2`` (pooled Pearson chi-square per degree of
        freedom) and ``dispersion`` (the factor c applied to the intervals);
        ``n_decays``, ``n_channels`` (per decay), ``fit_range_ns``, ``success``,
        ``n_inner_fits`` (batched amplitude fits run).
    """
    from ..fitting import reconvolution_model
    from .decay import fit_decays

    t, c, g = _check_inputs(time_ns, counts, irf, n_components)
    n = int(n_components)
    if c.shape[0] < 1:
        raise DataValidationError("no decays to fit")
    if interval not in ("profile", "hessian", None):
        raise DataValidationError(
            f"interval must be 'profile', 'hessian' or None, got {interval!r}"
        )
    lo, hi = fit_range_ns if fit_range_ns is not None else _default_range(t, c)
    sel = (t >= lo) & (t <= hi)
    y = np.where(sel[None, :] & np.isfinite(c), c, np.nan)
    dt = float(t[1] - t[0])
    span = dt * t.size

    # start: the summed decay has the same lifetimes
    total = np.nansum(c, axis=0)
    start = fit_decays(t, total[None, :], g, n, period_ns, fit_range_ns=(lo, hi))[0]
    tau0 = np.sort(np.asarray(tau0_ns if tau0_ns is not None else start["tau_ns"], float))
    if tau0.size != n or np.any(~np.isfinite(tau0)) or np.any(tau0 <= 0):
        raise DataValidationError(f"tau0_ns must hold {n} positive lifetimes, got {tau0_ns!r}")
    shift0 = float(start["irf_shift_ns"] or 0.0)

    model = reconvolution_model(g, t, n, period_ns)
    prob = _Problem(t, y, model, n, max_iter)
    P = len(prob.names)
    lin = np.zeros((c.shape[0], P))
    share = np.nansum(y, axis=1) / max(np.nansum(total[sel]), 1e-300)
    frac = np.asarray(start["amplitudes"], float)
    for i, col in enumerate(prob.amp_cols):
        lin[:, col] = np.maximum(share * frac[i], 1e-3)
    lin[:, prob.bg_col] = np.maximum(share * start["background"], 1e-3)
    prob.lin = lin

    bounds_x = [(math.log(dt / 10), math.log(10 * span))] * n + [(-span / 4, span / 4)]
    theta0 = np.concatenate([tau0, [shift0]])
    free = np.ones(n + 1, dtype=bool)
    theta, dmin, r = _minimize(prob, theta0, free, bounds_x)
    order = np.argsort(theta[:n])
    theta = np.concatenate([theta[:n][order], theta[n:]])
    cost, res = prob.inner(theta)
    dmin = float(cost.sum())
    best_lin = prob.lin.copy()

    f = model(t, res.params)
    valid = np.isfinite(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.sum(np.where(valid & (f > 0), (np.nan_to_num(y) - f) ** 2 / f, 0.0)))
    nfree = int(valid.sum()) - c.shape[0] * (n + 1) - (n + 1)
    redchi = pearson / nfree if nfree > 0 else math.nan
    disp = max(1.0, redchi) if math.isfinite(redchi) else 1.0

    ci = [[math.nan, math.nan] for _ in range(n)]
    method = None
    if interval == "hessian":
        method = "hessian of the profile deviance"
        H = _hessian(prob, theta)
        try:
            cov = 2.0 * np.linalg.inv(H) * disp
            half = _Z95 * np.sqrt(np.clip(np.diag(cov)[:n], 0, None))
            ci = [[float(theta[i] - half[i]), float(theta[i] + half[i])] for i in range(n)]
        except np.linalg.LinAlgError:
            pass
    elif interval == "profile":
        method = "profile likelihood"
        H = _hessian(prob, theta)
        with np.errstate(invalid="ignore"):
            try:
                sd = np.sqrt(np.clip(np.diag(2.0 * np.linalg.inv(H) * disp), 0, None))
            except np.linalg.LinAlgError:
                sd = np.full(n + 1, np.nan)
        for i in range(n):
            ci[i] = _profile_interval(prob, theta, dmin, i, disp, sd[i], bounds_x)
    prob.lin = best_lin
    amps = res.params[:, prob.amp_cols]
    amp_se = res.stderr[:, prob.amp_cols]
    sums = amps.sum(axis=1, keepdims=True)
    return {
        "method": "global reconvolution",
        "components": n,
        "tau_ns": theta[:n].tolist(),
        "tau_ci95_ns": ci,
        "interval_method": method,
        "irf_shift_ns": float(theta[n]),
        "amplitudes": amps.tolist(),
        "amplitude_stderr": amp_se.tolist(),
        "amplitude_fractions": np.where(
            sums > 0, amps / np.where(sums > 0, sums, 1), np.nan
        ).tolist(),
        "background": res.params[:, prob.bg_col].tolist(),
        "deviance": dmin,
        "deviance_per_decay": cost.tolist(),
        "reduced_chi2": float(redchi),
        "dispersion": float(disp),
        "n_decays": int(c.shape[0]),
        "n_channels": int(sel.sum()),
        "fit_range_ns": [float(lo), float(hi)],
        "period_ns": None if period_ns is None else float(period_ns),
        "success": bool(r.success or np.all(np.abs(r.jac) < 1e-3 * max(1.0, dmin))),
        "n_inner_fits": int(prob.n_inner),
    }


def _hessian(prob, theta):
    """Hessian of the profile deviance in theta by central differences of its gradient."""
    k = theta.size
    H = np.zeros((k, k))
    base_lin = prob.lin.copy()
    for j in range(k):
        h = 1e-4 * max(abs(theta[j]), 0.01) if j < prob.n else 1e-4 * max(abs(theta[j]), 0.05)
        tp, tm = theta.copy(), theta.copy()
        tp[j] += h
        tm[j] -= h
        prob.lin = base_lin.copy()
        gp = prob.profile_grad(tp)[1]
        prob.lin = base_lin.copy()
        gm = prob.profile_grad(tm)[1]
        H[:, j] = (gp - gm) / (2 * h)
    prob.lin = base_lin
    return 0.5 * (H + H.T)


def _profile_interval(prob, theta, dmin, i, disp, sd, bounds_x):
    """Both ends of the 95 % profile-likelihood interval of tau_i. [ns]

    Each end solves ``D_i(tau) - D_min = 3.841 c``, ``D_i`` the deviance minimized over
    the other shared parameters (the amplitudes are profiled out anyway), by iterating on
    the local quadratic model of ``D_i`` from the Hessian's estimate of the end: each step
    rescales the offset from the optimum by ``sqrt(target / rise)``, until the rise is
    within 0.5 % of the target; the other parameters start from the previous point.
    """
    n = prob.n
    target = _CHI2_1_95 * disp
    base_lin = prob.lin.copy()
    free = np.ones(n + 1, dtype=bool)
    free[i] = False
    step0 = 1.96 * sd if np.isfinite(sd) and sd > 0 else 0.05 * theta[i]
    tlo, thi = math.exp(bounds_x[i][0]), math.exp(bounds_x[i][1])
    ends = []
    for sign in (-1.0, 1.0):
        prob.lin = base_lin.copy()
        th = theta.copy()
        off = step0
        end = math.nan
        for _ in range(12):
            trial = theta[i] + sign * off
            if not tlo < trial < thi:
                break
            th[i] = trial
            # the rise is wanted to 0.5 % of ~3.84: a looser relative tolerance suffices
            th, d, _ = _minimize(prob, th, free, bounds_x, ftol=1e-10)
            rise = d - dmin
            if abs(rise - target) < 5e-3 * target:
                end = float(trial)
                break
            off = off * 2.0 if rise <= 0.05 * target else off * math.sqrt(target / rise)
        ends.append(end)
    prob.lin = base_lin
    return ends


def fit_dataset_global(ds, n_components: int = 2, **kwargs) -> dict[str, Any]:
    """Global fit of every decay of a measurement Dataset; amplitudes as DAS.

    Parameters
    ----------
    ds : xarray.Dataset
        With ``decay`` (fluence, polarization, detection_wavelength, time) [counts], ``irf``
        (time) [counts] and optionally attribute ``tcspc_repetition_period_ns``.
    n_components : int
        Shared lifetimes.
    **kwargs
        Passed to `fit_global_decays`.

    Returns
    -------
    dict
        The `fit_global_decays` result plus ``decays`` (per fitted decay its
        ``fluence_mJ_cm2``, ``polarization``, ``detection_wavelength_nm``, amplitudes and
        background) and ``das``: per (fluence, polarization) the amplitudes of each
        component versus ``detection_wavelength_nm`` [counts/channel] (decay-associated
        spectra; NaN where a decay is missing).
    """
    t, irf, period, keys, rows = dataset_decay_rows(ds)
    if not rows:
        raise DataValidationError("the Dataset holds no complete decay")
    out = fit_global_decays(t, np.stack(rows), irf, n_components, period, **kwargs)
    out["decays"] = [
        {
            "fluence_mJ_cm2": f,
            "polarization": p,
            "detection_wavelength_nm": w,
            "amplitudes": a,
            "background": b,
        }
        for (f, p, w), a, b in zip(keys, out["amplitudes"], out["background"])
    ]
    wls = sorted({k[2] for k in keys})
    das = []
    for f in sorted({k[0] for k in keys}):
        for p in sorted({k[1] for k in keys if k[0] == f}):
            amp = np.full((n_components, len(wls)), np.nan)
            for (kf, kp, kw), a in zip(keys, out["amplitudes"]):
                if kf == f and kp == p:
                    amp[:, wls.index(kw)] = a
            das.append(
                {
                    "fluence_mJ_cm2": f,
                    "polarization": p,
                    "detection_wavelength_nm": wls,
                    "amplitudes": amp.tolist(),
                }
            )
    out["das"] = das
    return out
