"""`curve_fit_batch`: input checks, chunking, and the two LM drivers."""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable

import numpy as np

from ..errors import DataValidationError, FitError
from . import _kernels as K
from . import _lm
from .models import Model, get_model
from .result import BatchFitResult, FitStatus

#: working-memory budget per chunk (y, weights, Jacobians) [bytes]
_CHUNK_BYTES = 64 * 2**20
#: batches with less work than this (fits x points x parameters, a few ms of one core) run on
#: one thread: waking the pool costs about what it saves, much more on a busy machine, and a
#: run that never needs the parallel kernel (e.g. `polase reproduce`) does not compile it
#: (~14 s on a cold numba cache)
_PARALLEL_MIN_WORK = 8_000_000
_LOSSES = {"lsq": _lm.LSQ, "poisson": _lm.POISSON}


def _as_model(model, npar: int) -> Model:
    if isinstance(model, (str, Model)):
        return get_model(model)
    if callable(model):
        if _scalar_signature(model):
            from .usermodel import compile_model

            return compile_model(model)
        return Model(
            model,
            param_names=[f"p{j}" for j in range(npar)],
            name=getattr(model, "__name__", "model"),
        )
    raise FitError(
        f"model must be a built-in name, a Model or a callable, got {type(model).__name__}"
    )


def _scalar_signature(func) -> bool:
    """True for a scalar model f(x, p1, ..., pP), P >= 2, no defaults (vectorised: f(x, params))."""
    import inspect

    try:
        prms = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    # a vectorised f(x, params, option=default) keeps its meaning
    return (
        len(prms) >= 3
        and all(q.kind in kinds for q in prms)
        and all(q.default is inspect.Parameter.empty for q in prms)
    )


def _per_fit(arr, n: int, width: int, what: str, dtype=float) -> np.ndarray:
    """Broadcast a (width,) or (n, width) array to 2-D with 1 or n rows."""
    a = np.asarray(arr, dtype=dtype)
    if a.ndim == 0:
        a = np.full((1, width), a.item(), dtype=dtype)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != width or a.shape[0] not in (1, n):
        raise DataValidationError(
            f"{what} has shape {np.shape(arr)}; allowed: ({width},) shared or ({n}, {width}) per fit"
        )
    return np.ascontiguousarray(a)


def _uniform_rows(x2: np.ndarray) -> bool:
    """True when every row of x2 is a uniform, increasing or decreasing grid (to ~1e-12)."""
    m = x2.shape[1]
    if m < 3 or not np.isfinite(x2).all():
        return False
    h = (x2[:, -1] - x2[:, 0]) / (m - 1)
    if np.any(h == 0):
        return False
    grid = x2[:, :1] + h[:, None] * np.arange(m)
    scale = np.abs(x2).max(axis=1) + np.abs(h)
    return bool(np.all(np.abs(x2 - grid).max(axis=1) <= 1e-12 * scale))


def _rows(a: np.ndarray, s: slice) -> np.ndarray:
    return a if a.shape[0] == 1 else np.ascontiguousarray(a[s])


def curve_fit_batch(
    model: str | Model | Callable,
    x,
    y,
    p0,
    *,
    weights=None,
    loss: str = "lsq",
    bounds=None,
    fixed=None,
    max_iter: int = 1000,
    xtol: float = 1e-15,
    ftol: float = 1e-15,
    nan_policy: str = "raise",
    geodesic: bool = False,
    chunk_size: int | None = None,
    progress: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
) -> BatchFitResult:
    """Fit N independent problems y_i(x) ~ model(x, p_i) by Levenberg-Marquardt.

    Parameters
    ----------
    model
        Built-in name (see `get_model`), a `Model`, a scalar function
        ``f(x, p1, ..., pP) -> float`` of one point (three or more positional arguments
        without defaults: compiled by `compile_model`, parameters named after its
        arguments), or a vectorized callable ``f(x, params) -> (N, M)`` (parameters named
        p0, p1, ...; finite-difference Jacobian).
    x
        Abscissa, (M,) shared by all fits or (N, M) per fit [units of the model's x].
    y
        Data, (N, M); a 1-D y is one fit (N = 1). For loss="poisson": counts >= 0.
    p0
        Starting values, (P,) for all fits or (N, P).
    weights
        Weights 1/sigma^2, (M,) or (N, M), >= 0 (0 drops a point). Giving weights makes the
        covariance absolute (not rescaled by the reduced chi-square). With loss="poisson" they
        multiply the deviance terms (use 0/1 masks there).
    loss
        "lsq": chi-square sum w (y - f)^2. "poisson": deviance 2 sum w (f - y - y ln(f/y))
        (maximum likelihood for counts).
    bounds
        (lower, upper), each a scalar, (P,) or (N, P); use -inf/inf for no bound.
        p0 must lie inside.
    fixed
        Boolean mask, (P,) or (N, P): True holds a parameter at its p0 value.
    max_iter
        Maximum number of LM steps tried per fit.
    xtol, ftol
        Converged when every free parameter's step is <= xtol (|p| + xtol), or when the
        Newton decrement g^T A^-1 g (the cost reduction a full Gauss-Newton step predicts) is
        <= ftol * cost: each parameter then lies within sqrt(ftol * nfree) standard errors of
        the minimum. The defaults reach the NIST StRD certified digits.
    nan_policy
        "raise": non-finite y, x, weights or p0 raise `DataValidationError`.
        "omit": non-finite points are dropped per fit; a fit left with no usable data gets
        status NONFINITE_INPUT.
    geodesic
        Geodesic acceleration (Transtrum & Sethna 2012): a second-order correction to each
        step from one extra model evaluation, and rejection of steps whose curvature
        correction is large. Slower per step; robust on long curved valleys and far starts.
    chunk_size
        Fits per chunk (default: about 64 MiB of working memory per chunk).
    progress
        Print a line per chunk to stderr.
    workers, scheduler, client
        Run the batch on dask.distributed (`polase.parallel.map_batches`): a new local
        cluster of `workers` processes, the running scheduler at address `scheduler`, or an
        open `distributed.Client`. The fits are split into consecutive parts, one task each
        (numba on one thread per task); the results are those of the serial call.

    Returns
    -------
    BatchFitResult
        Per-fit parameters, standard errors, covariance, cost, reduced chi-square, status,
        iterations. A failed fit sets its status; it never stops the batch.

    Raises
    ------
    DataValidationError
        Shapes that do not match, non-finite input with nan_policy="raise", p0 outside the
        bounds, lower > upper, negative weights or (Poisson) negative counts.
    FitError
        Unknown model, loss or option.
    """
    if workers is not None or scheduler is not None or client is not None:
        return _distributed(
            model, x, y, p0, workers, scheduler, client, chunk_size,
            dict(
                weights=weights, loss=loss, bounds=bounds, fixed=fixed, max_iter=max_iter,
                xtol=xtol, ftol=ftol, nan_policy=nan_policy, geodesic=geodesic,
            ),
        )  # fmt: skip
    if loss not in _LOSSES:
        raise FitError(f"loss must be one of {list(_LOSSES)}, got {loss!r}")
    if nan_policy not in ("raise", "omit"):
        raise FitError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise FitError(f"max_iter must be a positive integer, got {max_iter!r}")
    for name, tol in (("xtol", xtol), ("ftol", ftol)):
        if not (np.isfinite(tol) and tol >= 0):
            raise FitError(f"{name} must be a finite number >= 0, got {tol!r}")

    y = np.asarray(y)
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or y.shape[1] == 0 or y.shape[0] == 0:
        raise DataValidationError(f"y must be (N, M) or (M,) with M > 0, got shape {np.shape(y)}")
    if not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y):
        raise DataValidationError(f"y must be real numbers, got dtype {y.dtype}")
    n, m = y.shape

    p0a = np.asarray(p0, dtype=float)
    if p0a.ndim not in (1, 2) or p0a.shape[-1] == 0:
        raise DataValidationError(f"p0 must be (P,) or (N, P), got shape {p0a.shape}")
    mdl = _as_model(model, p0a.shape[-1])
    npar = mdl.nparams
    p = _per_fit(p0a, n, npar, f"p0 (model {mdl.name!r} has {npar} parameters {mdl.param_names})")
    p = np.array(np.broadcast_to(p, (n, npar)), dtype=float)  # own copy, updated in place

    xa = np.asarray(x, dtype=float)
    if xa.ndim == 1 and xa.shape[0] == m:
        x_shared = True
        x2 = np.ascontiguousarray(xa[None, :])
    elif xa.ndim == 2 and xa.shape == (n, m):
        x_shared = False
        x2 = np.ascontiguousarray(xa)
    elif xa.ndim == 2 and xa.shape == (1, m):
        x_shared = True
        x2 = np.ascontiguousarray(xa)
    else:
        raise DataValidationError(
            f"x has shape {xa.shape}; y is {y.shape}: allowed x shapes ({m},) or ({n}, {m})"
        )
    if not x2.flags.writeable:
        # a read-only x (an xarray coordinate, a broadcast view) would make numba compile
        # every kernel a second time for the read-only array type
        x2 = x2.copy()
    mdl.check_x(x2)
    if mdl.code in (K.GAUSSIAN, K.GAUSSIAN_OFFSET) and _uniform_rows(x2):
        # uniform grid: the kernel computes the Gaussian by an exp recurrence (same values)
        mdl = copy.copy(mdl)
        mdl.aux = np.ones(1)

    if weights is None:
        w = np.ones((1, m))
    else:
        w = _per_fit(weights, n, m, f"weights (y is {y.shape})")
        if np.any(w < 0):
            raise DataValidationError("weights must be >= 0 (they are 1/sigma^2)")

    if bounds is None:
        lo = np.full((1, npar), -np.inf)
        hi = np.full((1, npar), np.inf)
    else:
        try:
            blo, bhi = bounds
        except (TypeError, ValueError):
            raise DataValidationError("bounds must be a pair (lower, upper)") from None
        lo = _per_fit(blo, n, npar, "lower bounds")
        hi = _per_fit(bhi, n, npar, "upper bounds")
        if np.any(np.isnan(lo)) or np.any(np.isnan(hi)):
            raise DataValidationError("bounds must not be NaN (use -inf/inf for no bound)")
        if np.any(lo > hi):
            i, j = np.argwhere(np.broadcast_to(lo > hi, (max(lo.shape[0], hi.shape[0]), npar)))[0]
            raise DataValidationError(
                f"lower bound > upper bound for parameter {mdl.param_names[j]!r} (fit {i})"
            )
    if fixed is None:
        fx = np.zeros((1, npar), dtype=np.bool_)
    else:
        fx = _per_fit(fixed, n, npar, "fixed mask", dtype=np.bool_)

    finite_p = np.isfinite(p).all(axis=1)
    if nan_policy == "raise":
        if not finite_p.all():
            raise DataValidationError(
                f"p0 is not finite for fit {int(np.argmin(finite_p))} (nan_policy='raise')"
            )
        if not np.isfinite(x2).all():
            raise DataValidationError(
                "x has non-finite values (nan_policy='raise'; use 'omit' to drop them)"
            )
        if weights is not None and not np.isfinite(w).all():
            raise DataValidationError("weights have non-finite values (nan_policy='raise')")
    with np.errstate(invalid="ignore"):
        outside = ((p < lo) | (p > hi)) & finite_p[:, None]
    if outside.any():
        i, j = np.argwhere(outside)[0]
        raise DataValidationError(
            f"p0 outside bounds in {int(outside.any(axis=1).sum())} fit(s), first fit {i} parameter "
            f"{mdl.param_names[j]!r}: {p[i, j]!r} not in [{lo[min(i, lo.shape[0] - 1), j]}, "
            f"{hi[min(i, hi.shape[0] - 1), j]}]"
        )

    loss_code = _LOSSES[loss]
    if chunk_size is None:
        per_fit = m * 8 * (4 if mdl.compiled else 4 + 3 * npar)
        chunk_size = max(1, min(n, _CHUNK_BYTES // per_fit))
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise FitError(f"chunk_size must be >= 1, got {chunk_size}")

    status = np.full(n, FitStatus.MAX_ITER, dtype=np.int8)
    n_iter = np.zeros(n, dtype=np.int32)
    cost = np.full(n, np.nan)
    cov = np.full((n, npar, npar), np.nan)
    nfree = np.zeros(n, dtype=np.int32)
    t0 = time.perf_counter()
    for start in range(0, n, chunk_size):
        s = slice(start, min(n, start + chunk_size))
        _fit_chunk(
            mdl, x2, x_shared, y, w, p, lo, hi, fx, s, loss_code, nan_policy, int(max_iter), float(xtol),
            float(ftol), bool(geodesic), status, n_iter, cost, cov, nfree, finite_p,
        )  # fmt: skip
        if progress:
            print(
                f"curve_fit_batch: {s.stop}/{n} fits, {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )

    bad = (status == FitStatus.NONFINITE_INPUT) | (status == FitStatus.INVALID_INPUT)
    p[bad] = np.nan
    cost[bad] = np.nan
    cov[bad] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        redchi = np.where(nfree > 0, cost / np.maximum(nfree, 1), np.nan)
        if loss == "lsq" and weights is None:
            cov *= redchi[:, None, None]
        stderr = np.sqrt(np.diagonal(cov, axis1=1, axis2=2)).copy()
    return BatchFitResult(
        params=p, stderr=stderr, cov=cov, cost=cost, redchi=redchi, status=status, n_iter=n_iter,
        nfree=nfree, param_names=list(mdl.param_names), loss=loss, model_name=mdl.name,
    )  # fmt: skip


def _rows_of(a, n: int, s: slice):
    """Rows s of a per-fit (n, ...) array; shared values (fewer dimensions or 1 row) as given."""
    if a is None:
        return None
    arr = np.asarray(a)
    if arr.ndim == 2 and arr.shape[0] == n and n > 1:
        return arr[s]
    return a


def _fit_part(part: dict, model, opts: dict) -> BatchFitResult:
    """One task of a distributed `curve_fit_batch`: the serial call on a slice of the fits."""
    return curve_fit_batch(model, part["x"], part["y"], part["p0"], **part["kw"], **opts)


#: a distributed batch is split into this many parts per worker (load balance)
_PARTS_PER_WORKER = 4


def _distributed(model, x, y, p0, workers, scheduler, client, chunk_size, opts):
    from ..parallel import map_batches

    ya = np.asarray(y)
    if ya.ndim == 1:
        ya = ya[None, :]
    if ya.ndim != 2 or ya.shape[0] == 0:
        raise DataValidationError(f"y must be (N, M) or (M,) with M > 0, got shape {np.shape(y)}")
    n = ya.shape[0]
    if chunk_size is None:
        if client is not None:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        else:
            n_workers = int(workers) if workers is not None else 1
        n_parts = max(1, min(n, n_workers * _PARTS_PER_WORKER))
        chunk_size = -(-n // n_parts)
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise FitError(f"chunk_size must be >= 1, got {chunk_size}")
    bounds = opts.pop("bounds")
    weights = opts.pop("weights")
    fixed = opts.pop("fixed")
    parts = []
    for start in range(0, n, chunk_size):
        s = slice(start, min(n, start + chunk_size))
        b = None
        if bounds is not None:
            lo_b, hi_b = bounds
            b = (_rows_of(lo_b, n, s), _rows_of(hi_b, n, s))
        parts.append(
            {
                "x": _rows_of(x, n, s),
                "y": ya[s],
                "p0": _rows_of(p0, n, s),
                "kw": {
                    "weights": _rows_of(weights, n, s),
                    "bounds": b,
                    "fixed": _rows_of(fixed, n, s),
                },
            }
        )
    results = map_batches(
        _fit_part, parts, workers=workers, scheduler=scheduler, client=client, model=model,
        opts=opts,
    )  # fmt: skip
    return BatchFitResult.concat(results)


def _fit_chunk(
    mdl, x2, x_shared, y, w, p, lo, hi, fx, s, loss, nan_policy, max_iter, xtol, ftol, accel,
    status, n_iter, cost, cov, nfree, finite_p,
):  # fmt: skip
    yc = np.ascontiguousarray(y[s], dtype=float)
    if not yc.flags.writeable:  # one compiled signature for every caller (see x2 above)
        yc = yc.copy()
    nc = yc.shape[0]
    xc = x2 if x_shared else x2[s]
    wc = _rows(w, s)
    # a sum is finite only if every term is (overflow just takes the exact check below):
    # one pass without a temporary in the common all-finite case
    with np.errstate(over="ignore", invalid="ignore"):
        all_finite = (
            math.isfinite(float(np.sum(yc)))
            and math.isfinite(float(np.sum(xc)))
            and math.isfinite(float(np.sum(wc)))
        )
    ok_pts = None
    if not all_finite:
        ok_pts = np.isfinite(yc) & np.isfinite(xc) & np.isfinite(wc)
    if ok_pts is not None and not ok_pts.all():
        if nan_policy == "raise":
            i, k = np.argwhere(~ok_pts)[0]
            raise DataValidationError(
                f"non-finite data in fit {s.start + i} at point {k} (y={yc[i, k]!r}); "
                "nan_policy='raise' (use 'omit' to drop such points)"
            )
        wc = np.where(ok_pts, np.broadcast_to(wc, yc.shape), 0.0)
        wc = np.ascontiguousarray(wc)
        yc = np.where(ok_pts, yc, 0.0)
        if not x_shared:
            xc = np.ascontiguousarray(
                np.where(ok_pts, xc, np.nanmean(np.where(np.isfinite(xc), xc, np.nan)))
            )
    if loss == _lm.POISSON and np.any(yc < 0):
        i, k = np.argwhere(yc < 0)[0]
        raise DataValidationError(
            f"loss='poisson' needs counts >= 0; fit {s.start + i} point {k} has {yc[i, k]!r}"
        )
    used = np.broadcast_to(wc > 0, yc.shape)
    if wc.shape[0] == 1:  # shared weights: count one row
        n_valid = np.full(nc, np.count_nonzero(wc[0] > 0))
    else:
        n_valid = used.sum(axis=1)
    fxc = np.broadcast_to(_rows(fx, s), (nc, fx.shape[1]))
    nfree[s] = n_valid - (~fxc).sum(axis=1)
    st = status[s]
    fin = finite_p[s]
    st[~fin] = FitStatus.NONFINITE_INPUT
    st[fin & (n_valid == 0)] = FitStatus.NONFINITE_INPUT
    st[fin & (n_valid > 0) & (nfree[s] < 0)] = FitStatus.INVALID_INPUT
    if loss == _lm.POISSON:
        empty = (np.where(used, yc, 0.0).sum(axis=1) == 0) & (n_valid > 0)
        st[fin & empty] = FitStatus.INVALID_INPUT
    todo = st == FitStatus.MAX_ITER
    status[s] = st
    loc, hic, fxr = _rows(lo, s), _rows(hi, s), np.ascontiguousarray(_rows(fx, s))
    # the fits write their results in place: row slices of the (C-contiguous) outputs
    pc, stc, itc, cc, covc = p[s], status[s], n_iter[s], cost[s], cov[s]
    if todo.any():
        if mdl.compiled:
            work = int(todo.sum()) * yc.shape[1] * pc.shape[1]
            parallel = work >= _PARALLEL_MIN_WORK
            bnd = _lm.Bounds(loc, hic, fxr)
            opts = _lm.Options(int(max_iter), float(xtol), float(ftol), int(loss), bool(accel))
            out = _lm.Outputs(stc, itc, cc, covc)
            if mdl.kernels is not None:  # a user model compiled by `compile_model`
                kernel = mdl.kernels[1] if parallel else mdl.kernels[0]
                kernel(xc, yc, wc, pc, bnd, todo, opts, out)
            elif mdl.code in (K.GAUSSIAN, K.GAUSSIAN_OFFSET) and loss == _lm.LSQ and not accel:
                kernel = _lm.fit_gauss_parallel if parallel else _lm.fit_gauss_serial
                kernel(mdl.code == K.GAUSSIAN_OFFSET, xc, yc, wc, pc, bnd, todo, opts, out)
            else:
                kernel = _lm.fit_generic_parallel if parallel else _lm.fit_generic_serial
                kernel(mdl.code, mdl.aux, xc, yc, wc, pc, bnd, todo, opts, out)
        else:
            _fit_python(
                mdl, xc, x_shared, yc, wc, pc, loc, hic, fxr, todo, loss, max_iter, xtol, ftol, accel,
                stc, itc, cc, covc,
            )  # fmt: skip


def _eval(mdl: Model, x, params, n_expected: int, m: int, jac: bool, free=None):
    with np.errstate(all="ignore"):
        f = np.asarray(mdl.func(x, params), dtype=float) if mdl.func is not None else mdl(x, params)
        if f.shape != (n_expected, m):
            if f.size == n_expected * m:
                f = f.reshape(n_expected, m)
            else:
                raise FitError(
                    f"model {mdl.name!r} returned shape {f.shape} for {n_expected} parameter rows; "
                    f"expected ({n_expected}, {m})"
                )
        J = mdl.jacobian(x, params, free) if jac else None
    if J is not None and J.shape != (n_expected, m, params.shape[1]):
        raise FitError(
            f"Jacobian of {mdl.name!r} has shape {J.shape}, expected {(n_expected, m, params.shape[1])}"
        )
    # the kernels take J parameter-major, (n, P, M)
    return np.ascontiguousarray(f), (
        None if J is None else np.ascontiguousarray(J.transpose(0, 2, 1))
    )


def _fit_python(
    mdl, xc, x_shared, y, w, p, lo, hi, fx, todo, loss, max_iter, xtol, ftol, accel, status, n_iter, cost, cov
):  # fmt: skip
    """Batched LM for Python-callable models: the same per-fit steps as the compiled kernel."""
    n, npar = p.shape
    m = y.shape[1]
    free_all = ~fx

    def xarg(r):
        return xc[0] if x_shared else xc[r]

    def freem(r):
        return free_all if free_all.shape[0] == 1 else free_all[r]

    A = np.zeros((n, npar, npar))
    g = np.zeros((n, npar))
    D = np.zeros((n, npar))
    F = np.zeros((n, m))
    Jc = np.zeros((n, npar, m)) if accel else None
    lam = np.zeros(n)
    delta = np.zeros(n)
    has_A = np.zeros(n, dtype=np.bool_)

    rows = np.flatnonzero(todo)
    f, J = _eval(mdl, xarg(rows), p[rows], rows.size, m, True, freem(rows))
    c0 = np.empty(rows.size)
    _lm.objective_batch(f, y, w, rows, loss, c0)
    cost[rows] = c0
    inval = ~np.isfinite(c0)
    status[rows[inval]] = _lm.INVALID_INPUT
    keep = ~inval
    rows, f, J = rows[keep], f[keep], J[keep]
    ok = np.empty(rows.size, dtype=np.bool_)
    _lm.normal_batch(f, J, y, w, rows, loss, A, g, D, ok)
    _lm.radius_batch(p, D, rows, delta)
    if accel:
        F[rows] = f
        Jc[rows] = J
    has_A[rows] = True
    status[rows[~ok]] = _lm.SINGULAR
    active = rows[ok]
    while active.size:
        done = cost[active] == 0.0
        status[active[done]] = _lm.CONVERGED
        active = active[~done]
        if not active.size:
            break
        na = active.size
        work = np.empty((na, npar, npar))
        idx = np.zeros((na, npar), dtype=np.int64)
        z = np.zeros((na, npar))
        nf = np.zeros(na, dtype=np.int64)
        res = np.empty(na, dtype=np.int64)
        nz = np.empty(na)
        _lm.velocity_batch(
            A, g, D, delta, lam, p, lo, hi, fx, active, n_iter, work, idx, z, nf, nz, res
        )  # fmt: skip
        still = np.ones(n, dtype=np.bool_)
        nofree = active[res == 2]
        status[nofree] = _lm.CONVERGED
        still[nofree] = False
        n_iter[active[res != 2]] += 1
        if accel and np.any(res == 1):
            sel = np.flatnonzero(res == 1)
            a1 = active[sel]
            ph = np.empty((sel.size, npar))
            zs = np.ascontiguousarray(z[sel])
            _lm.probe_batch(p, D, a1, idx[sel], nf[sel], zs, _lm.ACCEL_H, ph)
            fh, _ = _eval(mdl, xarg(a1), ph, a1.size, m, False)
            okg = np.empty(sel.size, dtype=np.bool_)
            _lm.geodesic_batch(
                Jc[a1], F[a1], fh, y, w, a1, loss, _lm.ACCEL_H, D, work[sel], idx[sel], nf[sel], zs,
                _lm.ACCEL_ALPHA, okg,
            )  # fmt: skip
            z[sel] = zs  # rejected corrections leave the plain step (see `_lm.fit_one`)
        failed = active[res == 0]
        delta[failed] *= 0.25
        sing = failed[delta[failed] < _lm.DELTA_MIN]
        status[sing] = _lm.SINGULAR
        still[sing] = False
        go_sel = res == 1
        go = active[go_sel]
        if go.size:
            trial = np.empty((go.size, npar))
            pred = np.empty(go.size)
            small = np.empty(go.size, dtype=np.bool_)
            _lm.finish_batch(
                A, g, D, p, lo, hi, go, idx[go_sel], nf[go_sel], np.ascontiguousarray(z[go_sel]), xtol,
                trial, pred, small,
            )  # fmt: skip
            # below xtol, or predicted reduction below ftol: converged, skip the evaluation
            done = np.empty(go.size, dtype=np.bool_)
            _lm.predicts_converged_batch(
                A, g, D, p, lo, hi, trial, go, idx[go_sel], nf[go_sel], cost, ftol, done
            )
            done |= small
            status[go[done]] = _lm.CONVERGED
            still[go[done]] = False
            keep = ~done
            go, trial, pred, small = go[keep], trial[keep], pred[keep], small[keep]
            nzg = nz[go_sel][keep]
        if go.size:
            ft, _ = _eval(mdl, xarg(go), trial, go.size, m, False)
            ct = np.empty(go.size)
            _lm.objective_batch(ft, y, w, go, loss, ct)
            acc = np.empty(go.size, dtype=np.bool_)
            conv = np.empty(go.size, dtype=np.bool_)
            _lm.judge_batch(cost, ct, pred, small, delta, nzg, lam, go, acc, conv)
            ga = go[acc]
            if ga.size:
                p[ga] = trial[acc]
                cost[ga] = ct[acc]
                f2, J2 = _eval(mdl, xarg(ga), p[ga], ga.size, m, True, freem(ga))
                ok2 = np.empty(ga.size, dtype=np.bool_)
                _lm.normal_batch(f2, J2, y, w, ga, loss, A, g, D, ok2)
                if accel:
                    F[ga] = f2
                    Jc[ga] = J2
                status[ga[~ok2]] = _lm.SINGULAR
                still[ga[~ok2]] = False
                conv[acc] &= ok2
            gc = go[conv]
            status[gc] = _lm.CONVERGED
            still[gc] = False
            big = (delta[go] < _lm.DELTA_MIN) & ~conv
            status[go[big]] = np.where(small[big], _lm.CONVERGED, _lm.MAX_ITER)
            still[go[big]] = False
        active = active[still[active] & (n_iter[active] < max_iter)]
    rows = np.flatnonzero(has_A)
    okc = np.empty(rows.size, dtype=np.bool_)
    _lm.covariance_batch(A, fx, rows, cov, okc)
    sing = rows[~okc & (status[rows] == _lm.CONVERGED)]
    status[sing] = _lm.SINGULAR
