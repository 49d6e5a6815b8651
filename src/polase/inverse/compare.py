"""Rank mechanisms by information criteria and predict their Delta signatures.

Every candidate (a mechanism or a "+"-combination) is fitted globally to the same
observations; the ranking is by BIC (AIC reported too). ``delta_bic`` is each candidate's BIC
minus the best one's.

Distinguishable. Adding a mechanism to the best model can only improve the fit, so a
superset of the best model is not a rival: it loses through its extra parameters (by about
ln(n) per parameter) and is simply not needed. The *rival* is the best candidate that is not
a superset of the winner. The mechanisms are called distinguishable when the rival's BIC
exceeds the winner's by more than `BIC_DECISIVE` (10, "very strong" on the Kass-Raftery
scale); otherwise the report says the data cannot tell them apart. Per mechanism, the
evidence is min BIC without it minus min BIC with it (> 10: needed, < -10: not supported).
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..analysis.delta import delta_of_means
from ..errors import FitError
from ..parallel import cluster
from .fit import FitResult, _Objective, fit
from .models import DEFAULT_CANDIDATES, MECHANISMS, ForwardModel, canonical_name, mechanism_set
from .observables import Observations

#: Delta_BIC above which the winner is called decisively better than its rival.
BIC_DECISIVE = 10.0


@dataclass
class Prediction:
    """Predicted Delta signatures of one fitted candidate.

    Attributes
    ----------
    fluence : ndarray (F,)
        [mJ/cm2]
    delta_ase_fluence, delta_pl_fluence : ndarray (F,)
        Delta = I(circular) / I(linear) - 1 in the ASE and PL bands versus fluence. [1]
    qwp_angle : ndarray (A,)
        [deg]
    delta_ase_angle : ndarray (A,)
        Delta_ASE versus plate angle at `angle_fluence`. [1]
    angle_fluence : float
        [mJ/cm2]
    """

    fluence: np.ndarray
    delta_ase_fluence: np.ndarray
    delta_pl_fluence: np.ndarray
    qwp_angle: np.ndarray
    delta_ase_angle: np.ndarray
    angle_fluence: float

    def to_dict(self) -> dict:
        return {
            "fluence_mJ_cm2": self.fluence.tolist(),
            "delta_ase_vs_fluence": self.delta_ase_fluence.tolist(),
            "delta_pl_vs_fluence": self.delta_pl_fluence.tolist(),
            "qwp_angle_deg": self.qwp_angle.tolist(),
            "delta_ase_vs_qwp_angle": self.delta_ase_angle.tolist(),
            "angle_fluence_mJ_cm2": float(self.angle_fluence),
        }


@dataclass
class Comparison:
    """Outcome of `compare_mechanisms`: fits sorted by BIC and the verdict."""

    results: list[FitResult]
    predictions: dict[str, Prediction]
    rival: str | None
    rival_delta_bic: float
    distinguishable: bool
    evidence: dict[str, float]
    message: str
    n_forward: int = 0
    forward_seconds: float = 0.0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def best(self) -> FitResult:
        return self.results[0]

    def leading_pair(self) -> tuple[FitResult, FitResult] | None:
        """The two leading candidates with a mechanism that compete with each other.

        The best non-"none" candidate and the best candidate that is not a superset of it
        (and not "none"); None when there is no such pair. The next measurement should tell
        these two apart.
        """
        named = [r for r in self.results if r.mechanism != "none"]
        if not named:
            return None
        first = named[0]
        second = next((r for r in named[1:] if is_rival(r.mechanism, first.mechanism)), None)
        return None if second is None else (first, second)

    def delta_bic(self, result: FitResult) -> float:
        return float(result.bic - self.best.bic)

    def ranking(self) -> list[dict]:
        """JSON-ready rows {mechanism, log_likelihood, aic, bic, delta_bic, parameters, ...}."""
        return [
            {
                "mechanism": r.mechanism,
                "log_likelihood": float(r.log_likelihood),
                "aic": float(r.aic),
                "bic": float(r.bic),
                "delta_bic": self.delta_bic(r),
                "n_params": int(r.n_params),
                "reduced_chi2": float(r.reduced_chi2),
                "converged": bool(r.success),
                "parameters": r.parameter_table(),
            }
            for r in self.results
        ]


def is_rival(candidate: str, best: str) -> bool:
    """Whether `candidate` competes with `best`: it is not `best` plus extra mechanisms."""
    return not mechanism_set(candidate) >= mechanism_set(best)


def predict_signatures(
    model: ForwardModel,
    result: FitResult,
    fluence,
    qwp_angle=None,
    angle_fluence: float | None = None,
) -> Prediction:
    """Delta_ASE versus fluence and plate angle, Delta_PL versus fluence, of a fitted model.

    Parameters
    ----------
    fluence : array_like (F,)
        [mJ/cm2]
    qwp_angle : array_like (A,), optional
        Default 0 to 90 deg in 5 deg steps. [deg]
    angle_fluence : float, optional
        Fluence of the angle scan; default the highest of `fluence`. [mJ/cm2]
    """
    f = np.asarray(fluence, dtype=float)
    ang = (
        np.arange(0.0, 90.0 + 1e-9, 5.0)
        if qwp_angle is None
        else np.asarray(qwp_angle, dtype=float)
    )
    if not np.any(ang == 0.0):
        ang = np.concatenate([[0.0], ang])
    af = float(f.max() if angle_fluence is None else angle_fluence)
    bands = list(getattr(model, "bands", ("pl", "ase")))
    ia, ip = bands.index("ase"), bands.index("pl")
    v = result.values
    lc = model.predict(result.mechanism, v, f, [0.0, 45.0])
    with np.errstate(invalid="ignore", divide="ignore"):
        d_ase = lc[ia, :, 1] / lc[ia, :, 0] - 1.0
        d_pl = lc[ip, :, 1] / lc[ip, :, 0] - 1.0
        sc = model.predict(result.mechanism, v, [af], ang)
        i0 = int(np.flatnonzero(ang == 0.0)[0])
        d_ang = sc[ia, 0, :] / sc[ia, 0, i0] - 1.0
    order = np.argsort(ang)
    return Prediction(f, d_ase, d_pl, ang[order], d_ang[order], af)


def measured_delta(obs: Observations, band: str = "ase"):
    """Measured Delta (I / I_linear - 1) per fluence and polarization with its 1-sigma error.

    Returns
    -------
    delta, err : ndarray (F, A)
        [1]; NaN when the data have no linear (0 deg) polarization.
    """
    b = obs.bands.index(band)
    lin = np.flatnonzero(np.isclose(obs.qwp_angle, 0.0))
    if lin.size == 0:
        nan = np.full(obs.y.shape[1:], np.nan)
        return nan, nan
    y, s = obs.y[b], obs.sigma[b]
    delta, err = delta_of_means(y, y[:, lin[:1]], s, s[:, lin[:1]])
    err[:, lin[0]] = 0.0
    return delta, err


def compare_mechanisms(
    model: ForwardModel,
    obs: Observations,
    candidates=DEFAULT_CANDIDATES,
    max_nfev: int = 200,
    predict: bool = True,
    progress=None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    processes: bool = True,
) -> Comparison:
    """Fit every candidate mechanism and rank them.

    Parameters
    ----------
    model
        Forward model.
    obs
        Observations.
    candidates
        Mechanism names; default `DEFAULT_CANDIDATES`.
    max_nfev
        Forward evaluations allowed per fit.
    predict
        Also compute each candidate's predicted Delta signatures.
    progress
        Optional callable(name, i, n) before each fit (before each fit is sent, on a cluster).
    workers
        Fit the candidates on a new local dask cluster of this many workers
        (`polase.parallel.map_batches`): first the single mechanisms (and "none") in
        parallel, then the combinations, each started from its components' fits as in the
        serial path. The results are those of the serial path.
    scheduler
        Fit them on the running dask scheduler at this address.
    client
        Fit them on this `distributed.Client` (see `polase.parallel.cluster`).
    processes
        With `workers`: local workers are processes (default) or threads.

    Returns
    -------
    Comparison
    """
    names = []
    for c in candidates:
        n = canonical_name(c)
        if n not in names:
            names.append(n)
    if not names:
        raise FitError("no candidate mechanisms given")
    t0 = time.perf_counter()
    f_pred = np.linspace(obs.fluence.min(), obs.fluence.max(), 41) if predict else None
    ordered = sorted(names, key=lambda n: len(mechanism_set(n)))
    distributed = workers is not None or scheduler is not None or client is not None
    with contextlib.ExitStack() as stack:
        if distributed and client is None:
            client = stack.enter_context(cluster(workers, scheduler, processes=processes))
        results, preds, n_forward, fwd_seconds = _fit_candidates(
            model, obs, ordered, max_nfev, f_pred, progress, client
        )
    if distributed:
        # the forward runs happened on the workers' copies of the model
        model.n_calls += n_forward
        model.seconds += fwd_seconds
    results.sort(key=lambda r: r.bic)
    preds = {r.mechanism: preds[r.mechanism] for r in results if r.mechanism in preds}
    best = results[0]
    if best.mechanism == "none":
        # no polarization effect is needed: every mechanism is a superset of "none", and the
        # question "which mechanism?" has no answer from these data
        others = [r for r in results if r.mechanism != "none"]
        rival = others[0] if others else None
        gap = float(rival.bic - best.bic) if rival is not None else float("inf")
        distinguishable = False
    else:
        rivals = [r for r in results[1:] if is_rival(r.mechanism, best.mechanism)]
        rival = rivals[0] if rivals else None
        gap = float(rival.bic - best.bic) if rival is not None else float("inf")
        distinguishable = rival is not None and gap > BIC_DECISIVE
    evidence = {}
    for m in MECHANISMS:
        with_m = [r.bic for r in results if m in mechanism_set(r.mechanism)]
        without = [r.bic for r in results if m not in mechanism_set(r.mechanism)]
        if with_m and without:
            evidence[m] = float(min(without) - min(with_m))
    message = _verdict(best, rival, gap, distinguishable, obs)
    if evidence:
        words = {True: "needed", False: "not supported"}
        parts = [
            f"{m} {v:+.1f} ({words[v > 0] if abs(v) > BIC_DECISIVE else 'undecided'})"
            for m, v in evidence.items()
        ]
        message += (
            " Evidence per mechanism (min BIC without it - min BIC with it): "
            + ", ".join(parts)
            + "."
        )
    return Comparison(
        results=results,
        predictions=preds,
        rival=rival.mechanism if rival is not None else None,
        rival_delta_bic=gap,
        distinguishable=distinguishable,
        evidence=evidence,
        message=message,
        n_forward=n_forward,
        forward_seconds=fwd_seconds,
        seconds=time.perf_counter() - t0,
    )


def _fit_candidate(task, *, model, obs, max_nfev, f_pred):
    """One candidate's fit (and predicted signatures); runs here or on a dask worker.

    Returns (FitResult, Prediction or None, forward calls, forward seconds).
    """
    name, params, starts = task
    calls0, sec0 = model.n_calls, model.seconds
    if len(mechanism_set(name)) >= 2 and starts:
        # a combination: fit from the better of its two starts (one forward run each)
        params, starts = _lowest_cost_start(model, obs, name, params, starts), None
    r = fit(model, obs, name, params, starts=starts, max_nfev=max_nfev)
    pred = predict_signatures(model, r, f_pred) if f_pred is not None else None
    return r, pred, model.n_calls - calls0, model.seconds - sec0


def _fit_candidates(model, obs, ordered, max_nfev, f_pred, progress, client):
    """Fit `ordered` candidates: single mechanisms first, then combinations from their fits.

    In a loop here when `client` is None; else each stage's fits are independent tasks on
    the cluster. Returns (results in `ordered` order, predictions, forward calls, seconds).
    """
    from ..parallel import map_batches

    by_name: dict[str, FitResult] = {}
    preds: dict[str, Prediction] = {}
    n_forward, seconds = 0, 0.0
    kw = {"model": model, "obs": obs, "max_nfev": max_nfev, "f_pred": f_pred}
    singles = [n for n in ordered if len(mechanism_set(n)) < 2]
    combos = [n for n in ordered if len(mechanism_set(n)) >= 2]
    i = 0
    # a combination starts from its components' fits, so it waits for the single ones; in
    # the serial loop (client None) each fit runs right after its progress call
    for stage in (singles, combos):
        tasks = []
        for name in stage:
            params, starts = _combination_start(model, name, by_name)
            if params is None:
                starts = model.extra_starts(name)
            tasks.append((name, params, starts))
        if client is None:
            outs = []
            for t in tasks:
                if progress is not None:
                    progress(t[0], i, len(ordered))
                i += 1
                outs.append(_fit_candidate(t, **kw))
        else:
            for t in tasks:
                if progress is not None:
                    progress(t[0], i, len(ordered))
                i += 1
            outs = map_batches(_fit_candidate, tasks, client=client, **kw)
        for (name, _, _), (r, pred, calls, sec) in zip(tasks, outs):
            by_name[name] = r
            if pred is not None:
                preds[name] = pred
            n_forward += calls
            seconds += sec
    return [by_name[n] for n in ordered], preds, n_forward, seconds


def _lowest_cost_start(model: ForwardModel, obs: Observations, name: str, params, starts):
    """Of `params` and `params` with each of `starts`, the one with the lowest chi2."""
    obj = _Objective(model, name, obs)
    best, best_cost = params, math.inf
    for p in [params, *(params.with_values(v) for v in starts)]:
        r = obj.residuals_for(p.values())[0]
        cost = float(r @ r)
        if cost < best_cost:
            best, best_cost = p, cost
    return best


def _combination_start(model: ForwardModel, name: str, done: dict):
    """Parameters of a combination started at its fitted components' values (best first),
    and, as the alternative start, the best component's own optimum.

    The first start takes each free parameter from the best component that fitted it. The
    alternative takes every parameter the best component has, fitted or fixed, from it
    (an added mechanism's strength at 0, a shared parameter at the best component's fixed
    value): the combination then starts where its best component ended. Which one is
    better depends on whether the components' fits are compatible (orbit_orbit+spin_channel
    on the default sweep: the spin channel's fitted orientation efficiency ruins the
    orbit-orbit optimum). `_fit_candidate` fits from the one with the lower chi2.

    Returns (params, starts) or (None, None) when `name` is not a combination of fitted
    candidates.
    """
    parts = mechanism_set(name)
    comps = [done[m] for m in MECHANISMS if m in parts and m in done]
    if len(parts) < 2 or len(comps) < len(parts):
        return None, None
    comps.sort(key=lambda r: r.bic)
    params = model.parameters(name)
    merged: dict[str, float] = {}
    for r in comps:
        for k in r.params.free_names:
            if k in params.free_names and k not in merged:
                merged[k] = r.values[k]
    best = comps[0].values
    nested = {k: best[k] for k in params.free_names if k in best}
    return params.with_values(merged), [] if nested == merged else [nested]


def _verdict(best: FitResult, rival, gap: float, ok: bool, obs: Observations) -> str:
    angles = ", ".join(f"{a:g}" for a in obs.qwp_angle)
    design = (
        f"{obs.fluence.size} fluences ({obs.fluence.min():g}-{obs.fluence.max():g} mJ/cm2),"
        f" plate angles {angles} deg"
    )
    if best.mechanism == "none":
        worse = (
            f"; the best mechanism, {rival.mechanism!r}, is worse by Delta_BIC = {gap:.1f}"
            if rival
            else ""
        )
        return (
            "The mechanisms cannot be told apart with these data: no polarization-dependent"
            f" mechanism is needed to explain them ('none' fits best{worse}). Data: {design}."
            " See the recommended next measurement."
        )
    if rival is None:
        return (
            f"Only {best.mechanism!r} and its supersets were fitted: the mechanisms cannot be told"
            f" apart without rivals. Data: {design}."
        )
    if ok:
        return (
            f"{best.mechanism!r} explains the data best; the next alternative {rival.mechanism!r}"
            f" is worse by Delta_BIC = {gap:.1f} (> {BIC_DECISIVE:g}: very strong evidence). Data: {design}."
        )
    return (
        f"The mechanisms cannot be told apart with these data: the best, {best.mechanism!r}, beats"
        f" {rival.mechanism!r} by only Delta_BIC = {gap:.1f} (< {BIC_DECISIVE:g}). Data: {design}."
        " See the recommended next measurement."
    )
