"""Global fit of a forward model to band-intensity observations, and the bounded
least-squares core every fit of polase.inverse-style `Parameters` goes through.

`least_squares_fit` minimises the squared residuals of any function of a values dict over
the free parameters of a `Parameters` set (trust-region reflective, bounded, internal
coordinates, multi-start, central-difference final Jacobian, covariance, at-bound report);
`fit` and `polase.paper.photonics2022.calibration.calibrate` are both built on it.

The likelihood is Gaussian in the band intensities (means over repeats, standard errors
from the pooled noise model of `observables`). Each band has an unknown detection scale
(photons at the sample -> counts/s); for given physics parameters the best scale is linear
and is profiled out in closed form, so the optimizer (scipy ``least_squares``, trust-region
reflective, bounded) only sees the physics parameters. Uncertainties come from the Jacobian
at the optimum (the Jacobian of the *profiled* residuals, i.e. with the scales'
uncertainty included); `profile_likelihood` refits with one parameter held fixed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from ..errors import FitError
from .models import ForwardModel, canonical_name
from .observables import Observations
from .parameters import Parameters

Z95 = 1.959963984540054


@dataclass
class FitResult:
    """Outcome of one global fit.

    Attributes
    ----------
    mechanism : str
    params : Parameters
        Best-fit values (free and fixed).
    stderr : dict
        Standard error of each free parameter (delta method). [parameter unit]
    ci95 : dict
        95 % interval (low, high) of each free parameter from the Jacobian, computed in the
        optimizer's coordinates (log10 for log parameters, so it is asymmetric there).
    covariance : ndarray, shape (P, P)
        Covariance of the free parameters in internal coordinates.
    scales : ndarray, shape (B,)
        Profiled detection scale of each band.
    drift : ndarray, shape (B,)
        Profiled relative fluence drift from the first to the last acquisition, per band
        (0 when the acquisition order is unknown). [1]
    model_y : ndarray, shape (B, F, A)
        Fitted band intensities (scales applied). [counts/s]
    log_likelihood, chi2 : float
    n_data, n_params : int
        Number of features and of fitted parameters (free physics parameters + band scales).
    aic, bic : float
    success : bool
    message : str
    nfev : int
        Forward-model evaluations spent.
    """

    mechanism: str
    params: Parameters
    stderr: dict
    ci95: dict
    covariance: np.ndarray
    scales: np.ndarray
    drift: np.ndarray
    model_y: np.ndarray
    log_likelihood: float
    chi2: float
    n_data: int
    n_params: int
    success: bool
    message: str
    nfev: int
    at_bound: list = field(default_factory=list)

    @property
    def aic(self) -> float:
        return 2.0 * self.n_params - 2.0 * self.log_likelihood

    @property
    def bic(self) -> float:
        return self.n_params * math.log(max(self.n_data, 1)) - 2.0 * self.log_likelihood

    @property
    def values(self) -> dict:
        return self.params.values()

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / max(self.n_data - self.n_params, 1)

    def parameter_table(self) -> dict:
        """{name: {value, stderr, ci95, vary, unit}} for reports (JSON-ready)."""
        out = {}
        for n, p in self.params.items():
            row = {"value": float(p.value), "vary": bool(p.vary), "unit": p.unit}
            if n in self.stderr:
                row["stderr"] = _finite(self.stderr[n])
                row["ci95"] = [_finite(self.ci95[n][0]), _finite(self.ci95[n][1])]
                row["at_bound"] = n in self.at_bound
            out[n] = row
        return out

    def to_dataset(self, obs: Observations):
        """Data, fitted model and normalized residuals as an xarray Dataset.

        Variables over (band, fluence, polarization): ``data``, ``model``, ``sigma`` [counts/s]
        and ``residual`` = (data - model) / sigma [1].
        """
        import xarray as xr

        coords = {
            "band": ("band", list(obs.bands)),
            "fluence": ("fluence", obs.fluence, {"units": "mJ/cm**2"}),
            "qwp_angle": ("polarization", obs.qwp_angle, {"units": "deg"}),
            "docp": ("polarization", obs.docp, {"units": "1"}),
        }
        dims = ("band", "fluence", "polarization")
        with np.errstate(invalid="ignore", divide="ignore"):
            resid = (obs.y - self.model_y) / obs.sigma
        ds = xr.Dataset(
            {
                "data": (dims, obs.y, {"units": "counts/s", "long_name": "mean band intensity"}),
                "sigma": (
                    dims,
                    obs.sigma,
                    {"units": "counts/s", "long_name": "standard error of data"},
                ),
                "model": (dims, self.model_y, {"units": "counts/s", "long_name": "fitted model"}),
                "residual": (dims, resid, {"units": "1", "long_name": "(data - model) / sigma"}),
                "scale": (("band",), self.scales, {"units": "counts/s per model unit"}),
                "fluence_drift": (
                    ("band",),
                    self.drift,
                    {"units": "1", "long_name": "relative fluence drift over the run"},
                ),
            },
            coords=coords,
        )
        ds.attrs.update(
            mechanism=self.mechanism,
            parameters=json.dumps(self.parameter_table(), sort_keys=True),
            log_likelihood=float(self.log_likelihood),
            aic=float(self.aic),
            bic=float(self.bic),
            chi2=float(self.chi2),
            n_data=int(self.n_data),
            n_params=int(self.n_params),
            band_windows_nm=json.dumps(obs.windows),
        )
        return ds


@dataclass
class LeastSquaresResult:
    """Outcome of `least_squares_fit`.

    Attributes
    ----------
    params : Parameters
        The input set with the best values (free ones fitted, fixed ones as given).
    u : ndarray, shape (P,)
        The free parameters at the best point in internal coordinates (log10 for log
        parameters).
    cost : float
        Sum of squared residuals at the best point. [1]
    jac : ndarray, shape (N, P)
        Jacobian of the residuals in internal coordinates used for the covariance.
    success : bool
        The optimizer's convergence flag (of the winning start).
    message : str
    nfev : int
        Residual evaluations spent (all starts, finite-difference columns and the final
        Jacobian included).
    covariance : ndarray, shape (P, P)
        (J^T J)^-1 in internal coordinates (no rescaling by the residual variance).
    stderr : dict
        Standard error of each free parameter (delta method). [parameter unit]
    ci95 : dict
        95 % interval (low, high) of each free parameter, mapped from internal coordinates
        (asymmetric for log parameters).
    at_bound : list
        Free parameters within ``bound_tol`` of their internal span from a bound.
    """

    params: Parameters
    u: np.ndarray
    cost: float
    jac: np.ndarray
    success: bool
    message: str
    nfev: int
    covariance: np.ndarray
    stderr: dict
    ci95: dict
    at_bound: list

    @property
    def values(self) -> dict:
        return self.params.values()


def least_squares_fit(
    residual_fn: Callable[[dict], np.ndarray],
    params: Parameters,
    *,
    starts: list[Mapping[str, float]] | None = None,
    max_nfev: int = 200,
    diff_step: float = 1e-3,
    final_jacobian: bool = True,
    best_evaluated: bool = False,
    bound_tol: float = 1e-4,
    label: str = "least-squares fit",
    tol: float = 1e-8,
) -> LeastSquaresResult:
    """Minimise ``sum(residual_fn(values)**2)`` over the free parameters of `params`.

    The optimizer (scipy ``least_squares``, trust-region reflective, ``x_scale="jac"``,
    forward differences, xtol = ftol = `tol`) works in the internal coordinates of
    `Parameters` (log10 for log parameters), inside their bounds; each start is first moved
    1e-6 of the span inside the bounds (trf needs a strictly interior start).

    Parameters
    ----------
    residual_fn
        Residual vector (N,) of a dict of all parameter values (free and fixed). It should
        return finite numbers: map a failed model evaluation to a large residual.
    params
        Starting values, bounds and which parameters are free.
    starts
        Extra starting points (dicts of values, clipped into the bounds) tried besides
        `params`; the start with the lowest cost wins.
    max_nfev
        Residual evaluations of the optimizer's steps allowed per start (scipy's
        ``max_nfev``: the forward-difference Jacobian columns, one per free parameter and
        iteration, come on top; `LeastSquaresResult.nfev` counts everything).
    diff_step
        Relative finite-difference step of the optimizer in internal coordinates.
    final_jacobian
        Recompute the Jacobian at the best point by central differences with steps of 1 %
        (0.01 for log parameters, one-sided at a bound) for the uncertainties: a model that
        is piecewise smooth at the 1e-3 level (an adaptive ODE solver) can give a spuriously
        steep forward-difference column. Costs 2 evaluations per free parameter. Otherwise
        the optimizer's last Jacobian is used.
    best_evaluated
        Return the lowest-cost point among all evaluations of each start (finite-difference
        columns included) instead of the optimizer's final iterate: for short, budget-limited
        searches of an expensive model, where the optimizer may stop on ``max_nfev`` with a
        better point among its trial steps.
    bound_tol
        A free parameter is reported at a bound when it lies within this fraction of its
        internal span (log10 span for log parameters) of a finite bound.
    label
        Names the fit in the `FitError` raised when the optimizer fails.
    tol
        Relative tolerance of the cost and of the step (scipy ``ftol`` and ``xtol``).

    Returns
    -------
    LeastSquaresResult

    Raises
    ------
    FitError
        The optimizer rejected the problem (e.g. residuals not finite at the start).
    """
    lo, hi = params.internal_bounds()
    n_free = lo.size
    nfev = 0
    tracked: list = [math.inf, None]

    def fun(u):
        nonlocal nfev
        r = np.asarray(residual_fn(params.from_internal(u)), dtype=float)
        nfev += 1
        if best_evaluated:
            c = float(r @ r)
            if c < tracked[0]:
                tracked[0], tracked[1] = c, np.array(u, dtype=float)
        return r

    best = None
    for start in [None, *(starts or [])]:
        p0 = params if start is None else params.with_values(start)
        u0 = p0.to_internal()
        tracked[0], tracked[1] = math.inf, None
        if n_free == 0:
            r = fun(u0)
            cand = (float(r @ r), u0, np.zeros((r.size, 0)), True, "no free parameters")
        else:
            # keep the start strictly inside the bounds (trf requires it)
            span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
            u0 = np.clip(u0, lo + 1e-6 * span, hi - 1e-6 * span)
            try:
                sol = least_squares(
                    fun,
                    u0,
                    bounds=(lo, hi),
                    method="trf",
                    x_scale="jac",
                    diff_step=diff_step,
                    max_nfev=max_nfev,
                    xtol=tol,
                    ftol=tol,
                )
            except (ValueError, FloatingPointError) as exc:
                raise FitError(f"{label} failed: {exc}") from exc
            cand = (float(2 * sol.cost), sol.x, sol.jac, bool(sol.success), str(sol.message))
        if best_evaluated and tracked[1] is not None:
            cand = (tracked[0], tracked[1], *cand[2:])
        if best is None or cand[0] < best[0]:
            best = cand
    cost, u, jac, success, message = best
    if n_free and final_jacobian:
        jac = _central_jacobian(fun, u, lo, hi, params)
    fitted = params.with_values(params.from_internal(u))
    stderr, ci95, at_bound = {}, {}, []
    cov = np.full((n_free, n_free), np.nan)
    if n_free:
        jtj = jac.T @ jac
        try:
            cov = np.linalg.pinv(jtj, rcond=1e-12)
        except np.linalg.LinAlgError:
            pass
        su = np.sqrt(np.clip(np.diag(cov), 0, None))
        span = hi - lo
        for i, n in enumerate(fitted.free_names):
            p = fitted[n]
            ui = p.to_internal(p.value)
            deriv = p.value * math.log(10.0) if p.is_log else 1.0
            stderr[n] = float(su[i] * deriv)
            ci95[n] = (p.from_internal(ui - Z95 * su[i]), p.from_internal(ui + Z95 * su[i]))
            if np.isfinite(span[i]) and min(ui - lo[i], hi[i] - ui) < bound_tol * span[i]:
                at_bound.append(n)
    return LeastSquaresResult(
        params=fitted,
        u=np.asarray(u, dtype=float),
        cost=float(cost),
        jac=jac,
        success=success,
        message=message,
        nfev=nfev,
        covariance=cov,
        stderr=stderr,
        ci95=ci95,
        at_bound=at_bound,
    )


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _nuisance_columns(pred, obs: Observations) -> list:
    """Linear nuisance regressors per band: the prediction, and its fluence-drift derivative."""
    cols = [pred]
    if obs.drift_time is not None and obs.fluence.size >= 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            lnp = np.log(np.where(pred > 0, pred, np.nan))
            slope = np.gradient(lnp, np.log(obs.fluence), axis=1)
        # I(F (1 + d t)) ~ I(F) (1 + s d t): linear in the drift d (|d| << 1)
        cols.append(np.nan_to_num(pred * slope * obs.drift_time[None]))
    return cols


def n_nuisance(obs: Observations) -> int:
    """Linear nuisance parameters per band (scale, and fluence drift when the order is known)."""
    return 2 if (obs.drift_time is not None and obs.fluence.size >= 2) else 1


def profiled_nuisance(pred, obs: Observations):
    """Best linear nuisance per band (weighted least squares) and the resulting prediction.

    Returns
    -------
    full : ndarray (B, F, A)
        Prediction with the nuisance applied.
    coef : ndarray (B, K)
        Per band: detection scale and (K = 2) scale x relative fluence drift over the run.
    """
    m = obs.mask
    cols = _nuisance_columns(pred, obs)
    n_b = len(obs.bands)
    coef = np.zeros((n_b, len(cols)))
    full = np.zeros_like(pred)
    for b in range(n_b):
        mb = m[b] & np.isfinite(pred[b])
        if not mb.any():
            continue
        w = 1.0 / obs.sigma[b][mb]
        x = np.stack([c[b][mb] * w for c in cols], axis=1)
        c, *_ = np.linalg.lstsq(x, obs.y[b][mb] * w, rcond=None)
        coef[b] = c
        full[b] = sum(ci * col[b] for ci, col in zip(c, cols))
    return full, coef


class _Objective:
    def __init__(self, model: ForwardModel, mechanism: str, obs: Observations):
        self.model, self.mechanism, self.obs = model, mechanism, obs
        self.mask = obs.mask
        self.nfev = 0

    def predict(self, values: dict):
        o = self.obs
        pred = self.model.predict(self.mechanism, values, o.fluence, o.qwp_angle, o.docp)
        self.nfev += 1
        return pred

    def residuals_for(self, values: dict):
        pred = self.predict(values)
        full, s = profiled_nuisance(pred, self.obs)
        with np.errstate(invalid="ignore"):
            r = (self.obs.y - full) / self.obs.sigma
        r = r[self.mask]
        # a non-finite prediction (solver failure) must push the optimizer away, not crash it
        return np.where(np.isfinite(r), r, 1e6), full, s


def fit(
    model: ForwardModel,
    obs: Observations,
    mechanism: str,
    params: Parameters | None = None,
    starts: list[dict] | None = None,
    max_nfev: int = 200,
    diff_step: float = 1e-3,
    final_jacobian: bool = True,
    tol: float = 1e-5,
) -> FitResult:
    """Fit `model` with `mechanism` to `obs` (global over fluences, angles and bands).

    The physics parameters go through `least_squares_fit` on the residuals with the band
    nuisances profiled out; at-bound means within 1e-4 of the internal span.

    Parameters
    ----------
    model
        Forward model (`TwinModel`, `ToyModel`, ...).
    obs
        Observations (`reduce_measurement`).
    mechanism
        Mechanism name, e.g. "orbit_orbit" or "spin_channel+dichroism".
    params
        Parameters (free/fixed/bounds); default ``model.parameters(mechanism)``.
    starts
        Extra starting points (dicts of values) tried besides ``params``; the best fit wins.
    max_nfev
        Forward evaluations of the optimizer's steps allowed per start (the
        finite-difference Jacobian columns come on top; see `least_squares_fit`).
    diff_step
        Relative finite-difference step in the optimizer's coordinates.
    final_jacobian
        Recompute the Jacobian for the uncertainties by central differences with steps of
        1 % (0.01 decade for log parameters): the adaptive ODE solver makes the model
        piecewise smooth at the 1e-3 level, and the optimizer's small forward steps can
        straddle such a jump and give a spuriously steep column (a far too small error).
        Costs 2 forward simulations per free parameter.
    tol
        Relative tolerance on the cost and on the step (scipy's ``ftol`` and ``xtol``).
        1e-5 of a chi2 of order the number of data changes the log-likelihood by well under
        0.01 (BIC differences that matter are > 2); tighter tolerances only chase the
        adaptive solver's 1e-4-level jitter (on the default sweep 1e-8 cost 445 forward runs
        for the seven candidates against 308, with the same BICs to 0.1).

    Returns
    -------
    FitResult

    Raises
    ------
    FitError
        No data, or fewer data than fitted parameters.
    """
    mechanism = canonical_name(mechanism)
    params = params if params is not None else model.parameters(mechanism)
    n_data = obs.n_data
    n_free = len(params.free_names)
    n_par = n_free + len(obs.bands) * n_nuisance(obs)
    if n_data <= n_par:
        raise FitError(
            f"{n_data} data points for {n_par} parameters ({n_free} physics +"
            f" {n_par - n_free} band nuisances): measure more fluences or polarizations"
        )
    obj = _Objective(model, mechanism, obs)
    core = least_squares_fit(
        lambda values: obj.residuals_for(values)[0],
        params,
        starts=starts,
        max_nfev=max_nfev,
        diff_step=diff_step,
        final_jacobian=final_jacobian,
        label=f"fit of mechanism {mechanism!r}",
        tol=tol,
    )
    fitted = core.params
    _, full, coef = obj.residuals_for(fitted.values())
    r_final = (obs.y - full)[obs.mask] / obs.sigma[obs.mask]
    chi2 = float(np.sum(r_final**2))
    loglik = (
        -0.5 * chi2
        - float(np.sum(np.log(obs.sigma[obs.mask])))
        - 0.5 * n_data * math.log(2 * math.pi)
    )
    return FitResult(
        mechanism=mechanism,
        params=fitted,
        stderr=core.stderr,
        ci95=core.ci95,
        covariance=core.covariance,
        scales=coef[:, 0],
        drift=np.where(coef[:, 0] != 0, coef[:, -1] / np.where(coef[:, 0] != 0, coef[:, 0], 1), 0.0)
        if coef.shape[1] > 1
        else np.zeros(coef.shape[0]),
        model_y=full,
        log_likelihood=loglik,
        chi2=chi2,
        n_data=n_data,
        n_params=n_par,
        success=core.success,
        message=core.message,
        nfev=obj.nfev,
        at_bound=core.at_bound,
    )


def _central_jacobian(fun, u, lo, hi, params: Parameters) -> np.ndarray:
    """Jacobian of the residuals by central differences (one-sided at a bound)."""
    cols = []
    for i, n in enumerate(params.free_names):
        p = params[n]
        h = (
            0.01
            if p.is_log
            else 0.01
            * max(abs(u[i]), 1e-3 * (hi[i] - lo[i]) if np.isfinite(hi[i] - lo[i]) else 1.0)
        )
        up, dn = u.copy(), u.copy()
        up[i] = min(u[i] + h, hi[i])
        dn[i] = max(u[i] - h, lo[i])
        cols.append((fun(up) - fun(dn)) / (up[i] - dn[i]))
    return np.stack(cols, axis=1)


def profile_likelihood(
    model: ForwardModel,
    obs: Observations,
    result: FitResult,
    name: str,
    grid=None,
    n_points: int = 9,
    max_nfev: int = 100,
) -> dict:
    """Profile likelihood of one free parameter: refit the others with it held fixed.

    Parameters
    ----------
    model, obs
        As for `fit`.
    result
        The unconstrained fit (its values start each refit).
    name
        Parameter to profile (must be free in `result`).
    grid : array_like, optional
        Values to hold it at; default `n_points` across the Jacobian 95 % interval widened 1.5x
        (clipped into the bounds).

    Returns
    -------
    dict
        ``value`` (G,), ``delta_chi2`` (G,) = 2 (lnL_best - lnL_profile), and ``ci95`` (low,
        high): where the profile crosses 3.84 (NaN when it does not within the grid).
    """
    p = result.params[name]
    if name not in result.params.free_names:
        raise FitError(f"parameter {name!r} is not free in the fit of {result.mechanism!r}")
    if grid is None:
        lo, hi = result.ci95[name]
        u0, ul, uh = (
            p.to_internal(p.value),
            p.to_internal(max(lo, p.min) if p.is_log else lo),
            p.to_internal(hi),
        )
        ul, uh = u0 - 1.5 * (u0 - ul), u0 + 1.5 * (uh - u0)
        ib = p.internal_bounds()
        grid = [p.from_internal(u) for u in np.linspace(max(ul, ib[0]), min(uh, ib[1]), n_points)]
    grid = np.asarray(grid, dtype=float)
    fixed = result.params.set(name, vary=False)
    dchi = np.empty(grid.size)
    for i, g in enumerate(grid):
        pi = fixed.set(name, value=float(np.clip(g, p.min, p.max)))
        r = fit(model, obs, result.mechanism, pi, max_nfev=max_nfev)
        dchi[i] = 2.0 * (result.log_likelihood - r.log_likelihood)
    best = int(np.argmin(dchi))
    ci = [math.nan, math.nan]
    for side, idx in ((0, range(best, 0, -1)), (1, range(best, grid.size - 1))):
        for j in idx:
            k = j - 1 if side == 0 else j + 1
            if (dchi[j] - 3.84) * (dchi[k] - 3.84) <= 0 and dchi[k] != dchi[j]:
                ci[side] = float(
                    grid[j] + (3.84 - dchi[j]) * (grid[k] - grid[j]) / (dchi[k] - dchi[j])
                )
                break
    return {"value": grid, "delta_chi2": dchi, "ci95": tuple(ci)}
