"""Levenberg-Marquardt in numba: the per-fit steps, the one LM loop made of them, and the
batched versions of the steps.

* `make_lm_loop` writes the trust-region loop once, closed over how the model is evaluated;
  `make_generic_loop` (stored f and J from ``eval_model``, any loss, optional geodesic
  acceleration) and `make_fused_loop` (one-pass normal equations such as `gauss_normal`,
  least squares) make the two loops from it: `fit_one` for compiled built-in models and
  `fit_gauss` for Gaussian(+offset) least squares, run by `fit_generic_serial` /
  `fit_generic_parallel` and `fit_gauss_serial` / `fit_gauss_parallel` (whole fits, no
  Python in the loop). `polase.fitting.usermodel` makes the same two loops from a compiled
  user model's functions. The loop and every step are inlined (numba ``inline="always"``)
  into the row functions: a call with a dozen array arguments costs reference counting of
  each, as much as the 4 x 4 arithmetic.
* `velocity_batch` / `finish_batch` / `normal_batch` ... apply the same steps to a batch, for
  models that are Python callables evaluated on the whole batch at once: `core._fit_python`
  drives them step by step from Python, one model call per step for every active fit (a
  numba loop cannot call back into Python at that rate), in the order of `make_lm_loop`.

The long argument lists travel as named tuples (`Options`, `Bounds`, `Outputs`, and the work
arrays `FusedWork` / `GenericWork`), which numba passes by value and unpacks at compile time.

Algorithm (per fit): the objective is chi-square ``sum w (y - f)^2`` (loss 0) or the Poisson
deviance ``2 sum w (f - y - y ln(f/y))`` (loss 1, Fisher scoring: normal equations with
weights ``w / f``). The step solves ``(S A S + lam I) z = S g``, ``delta = S z``, with
``A = J^T W J``, ``g = J^T W (y - f)`` and Marquardt scaling ``S = diag(D)^-1/2``, ``D`` the
running maximum of ``diag(A)`` (MINPACK's choice: scale invariant). The damping lam is the
smallest that keeps the scaled step ``|z|`` inside a trust radius (Moré 1978, MINPACK's
lmpar): lam = 0 (Gauss-Newton) whenever that step fits; the radius starts at
``DELTA0 |D^1/2 p0|``, halves after a poor step (actual/predicted reduction < 1/4) and
doubles the step after a good one (> 3/4). Box bounds: the trial point is projected on the
box, parameters held at a bound by the gradient leave the free set for that step.
Convergence: a Newton decrement ``g^T A^-1 g <= ftol * cost`` over the free parameters at the
current point (the reduction a full Gauss-Newton step predicts; a test on the gradient that
accounts for the conditioning of A, for steps that no bound clips), or a step ``|delta_i| <=
xtol (|p_i| + xtol)`` for every free parameter (also a rejected one: the radius has shrunk
to rounding level), or zero cost, or no free parameter (KKT point). A small cost reduction
alone never ends a fit.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit, prange

from ._kernels import eval_model, gauss_normal

# numba's on-disk cache (cache=True) checks only this file's own timestamp, not that of
# _kernels.py whose models it inlines: a change to a model kernel must come with a change
# here, or the cached drivers keep evaluating the old model. Bump with every kernel change.
KERNELS_REVISION = 3  # 2: channel-integrated reconvolution; 3: smooth IRF shift (issue #14)

# status codes, mirrored by polase.fitting.FitStatus
CONVERGED = 0
MAX_ITER = 1
SINGULAR = 2
NONFINITE_INPUT = 3
INVALID_INPUT = 4

LSQ = 0
POISSON = 1

#: floor of the model value in the Poisson Fisher weights 1/f [counts]
FMIN = 1e-10
#: initial trust radius, relative to the scaled norm |D^1/2 p0| (1 where p0 = 0); Moré's
#: MINPACK uses 100, which overshoots the far starts of BoxBOD and MGH09 (a local flat)
DELTA0 = 1.0
#: a trust radius below this (scaled units) ends the fit: nothing smaller can be represented
DELTA_MIN = 1e-300
#: the damping search stops when |z| is within this fraction of the trust radius
DELTA_RTOL = 0.1
#: at most this many factorizations per step to fit the step into the trust radius
LAM_ITER = 12
#: scaled-Hessian pivots below this make the final covariance singular
PIVOT_TOL = 1e-13
#: geodesic acceleration: relative probe step h and the largest accepted 2|a|/|v|
ACCEL_H = 0.1
ACCEL_ALPHA = 0.75


@njit(cache=True, fastmath={"reassoc", "contract"})
def _chi2(f, y, w):
    c = 0.0
    for k in range(f.size):
        r = y[k] - f[k]
        t = w[k] * r * r
        c += t if w[k] != 0.0 else 0.0
    return c


@njit(cache=True)
def objective(f, y, w, loss):
    """Cost at model values f; +inf when the model is not admissible (NaN, Poisson f<=0)."""
    c = 0.0
    if loss == LSQ:
        c = _chi2(f, y, w)
    else:
        for k in range(f.size):
            if w[k] != 0.0:
                fk = f[k]
                yk = y[k]
                if fk > 0.0:
                    if yk > 0.0:
                        c += w[k] * (fk - yk - yk * math.log(fk / yk))
                    else:
                        c += w[k] * fk
                elif not (fk == 0.0 and yk == 0.0):
                    return np.inf
        c *= 2.0
    if not math.isfinite(c):
        return np.inf
    return c


@njit(cache=True, fastmath={"reassoc", "contract"})
def normal_eq(f, J, y, w, loss, A, g, wv, r):
    """A = J^T W J and g = J^T W (y - f) for J (P, M); returns False if not finite.

    wv and r are work arrays (M,). Reassociation lets the dot products vectorize.
    """
    npar = A.shape[0]
    m = f.size
    for k in range(m):
        wk = w[k]
        if wk != 0.0:
            if loss == POISSON:
                wk = wk / max(f[k], FMIN)
            wv[k] = wk
            r[k] = wk * (y[k] - f[k])
        else:
            wv[k] = 0.0
            r[k] = 0.0
    for a in range(npar):
        ja = J[a]
        s = 0.0
        for k in range(m):
            s += ja[k] * r[k]
        g[a] = s
        for b in range(a + 1):
            jb = J[b]
            s = 0.0
            for k in range(m):
                s += ja[k] * wv[k] * jb[k]
            A[a, b] = s
            A[b, a] = s
    ok = True
    for a in range(npar):
        if not math.isfinite(g[a]):
            ok = False
        for b in range(npar):
            if not math.isfinite(A[a, b]):
                ok = False
    return ok


@njit(cache=True, inline="always")
def _cholesky(M, n):
    """In-place lower Cholesky of M[:n, :n]; returns the smallest pivot^2 (<= 0: failed).

    The diagonal holds the reciprocal pivots 1/L_jj: the solves multiply instead of divide.
    """
    minpiv = np.inf
    for j in range(n):
        s = M[j, j]
        for k in range(j):
            s -= M[j, k] * M[j, k]
        if not (s > 0.0):
            return -1.0
        minpiv = min(minpiv, s)
        rd = 1.0 / math.sqrt(s)
        M[j, j] = rd
        for i in range(j + 1, n):
            t = M[i, j]
            for k in range(j):
                t -= M[i, k] * M[j, k]
            M[i, j] = t * rd
    return minpiv


@njit(cache=True, inline="always")
def _chol_solve(L, b, n):
    for i in range(n):
        t = b[i]
        for k in range(i):
            t -= L[i, k] * b[k]
        b[i] = t * L[i, i]
    for i in range(n - 1, -1, -1):
        t = b[i]
        for k in range(i + 1, n):
            t -= L[k, i] * b[k]
        b[i] = t * L[i, i]


@njit(cache=True, inline="always")
def _damped_system(A, g, sD, lam, idx, nf, work, z):
    """work[:nf, :nf] = S A S + lam I (lower half) and z = S g over the free set."""
    for a in range(nf):
        ia = idx[a]
        sa = sD[ia]
        z[a] = g[ia] * sa
        for b in range(a + 1):
            ib = idx[b]
            work[a, b] = A[ia, ib] * (sa * sD[ib])
        work[a, a] += lam


@njit(cache=True, inline="always")
def _norm(z, n):
    s = 0.0
    for a in range(n):
        s += z[a] * z[a]
    return math.sqrt(s)


@njit(cache=True)
def velocity(A, g, sD, delta, lam, p, lo, hi, fixed, work, idx, z, q):
    """Trust-region Levenberg-Marquardt step z (scaled, free coordinates idx[:nf]).

    Solves ``(S A S + lam I) z = S g`` with the smallest damping lam >= 0 for which
    ``|z| <= delta`` (Moré 1978, as MINPACK's lmpar): the Gauss-Newton step (lam = 0) when it
    exists and fits, otherwise Newton iterations on ``|z(lam)| = delta`` started from the
    previous lam, safeguarded by the bracket ``0 <= lam <= |S g| / delta``. The factor of the
    last system stays in work; q (P,) is work space. sD = 1/sqrt(D), the scale factors.

    Returns (code, nf, lam, |z|): code 1 step computed, 0 no factorization succeeded
    (shrink the radius), 2 no free parameter (every parameter fixed or held at a bound by
    the gradient).
    """
    npar = p.size
    nf = 0
    for i in range(npar):
        if fixed[i]:
            continue
        if p[i] <= lo[i] and g[i] <= 0.0:
            continue
        if p[i] >= hi[i] and g[i] >= 0.0:
            continue
        idx[nf] = i
        nf += 1
    if nf == 0:
        return 2, 0, lam, 0.0
    _damped_system(A, g, sD, 0.0, idx, nf, work, z)
    gn = _norm(z, nf)
    if _cholesky(work, nf) > PIVOT_TOL:
        _chol_solve(work, z, nf)
        nz = _norm(z, nf)
        if nz <= (1.0 + DELTA_RTOL) * delta:
            return 1, nf, 0.0, nz
    lam_lo = 0.0
    lam_hi = gn / delta  # |z(lam)| <= |S g| / lam
    if not (lam > lam_lo and lam < lam_hi):
        lam = 1e-3 * lam_hi
    code = 0
    nz = 0.0
    lam_z = lam
    for _ in range(LAM_ITER):
        _damped_system(A, g, sD, lam, idx, nf, work, z)
        if _cholesky(work, nf) <= 0.0:
            # not positive definite in floating point: more damping
            code = 0
            lam_lo = lam
            lam = 10.0 * lam if lam_hi <= lam else min(10.0 * lam, math.sqrt(lam * lam_hi))
            continue
        _chol_solve(work, z, nf)
        code = 1
        lam_z = lam
        nz = _norm(z, nf)
        phi = nz - delta
        if abs(phi) <= DELTA_RTOL * delta:
            break
        if phi > 0.0:
            lam_lo = max(lam_lo, lam)
        else:
            lam_hi = min(lam_hi, lam)
        # Newton step on phi(lam), phi' = -|q|^2 / |z| with L q = z
        for i in range(nf):
            t = z[i]
            for k in range(i):
                t -= work[i, k] * q[k]
            q[i] = t * work[i, i]
        nq = _norm(q, nf)
        lam += (nz / nq) ** 2 * phi / delta
        if not (lam > lam_lo and lam < lam_hi):
            lam = max(math.sqrt(lam_lo * lam_hi), 1e-3 * lam_hi)
    # z and the factor in work belong to lam_z (the last successful factorization)
    return code, nf, lam_z, nz


@njit(cache=True)
def probe_point(p, D, idx, nf, z, h, ph):
    """ph = p + h v, the point where the second directional derivative is sampled."""
    for i in range(p.size):
        ph[i] = p[i]
    for a in range(nf):
        ph[idx[a]] += h * z[a] / math.sqrt(D[idx[a]])


@njit(cache=True)
def geodesic(J, f, fh, y, w, loss, h, D, work, idx, nf, z, alpha):
    """Add half the geodesic acceleration to z (Transtrum & Sethna 2012).

    f_vv = (2/h) ((f(p + h v) - f(p)) / h - J v); the acceleration a solves the same damped
    system with right-hand side -J^T W f_vv. Returns False (z unchanged: the plain step) when
    2 |a| / |v| > alpha (scaled norms) or f(p + h v) is not finite.
    """
    m = f.size
    v = np.empty(nf)
    rhs = np.zeros(nf)
    for a in range(nf):
        v[a] = z[a] / math.sqrt(D[idx[a]])
    for k in range(m):
        wk = w[k]
        if wk == 0.0:
            continue
        if not math.isfinite(fh[k]):
            return False
        if loss == POISSON:
            wk = wk / max(f[k], FMIN)
        jv = 0.0
        for a in range(nf):
            jv += J[idx[a], k] * v[a]
        fvv = 2.0 / h * ((fh[k] - f[k]) / h - jv)
        for a in range(nf):
            rhs[a] -= wk * J[idx[a], k] * fvv
    for a in range(nf):
        rhs[a] /= math.sqrt(D[idx[a]])
    _chol_solve(work, rhs, nf)
    na = 0.0
    nv = 0.0
    for a in range(nf):
        na += rhs[a] * rhs[a]
        nv += z[a] * z[a]
    if not (2.0 * math.sqrt(na) <= alpha * math.sqrt(nv)):
        return False
    for a in range(nf):
        z[a] += 0.5 * rhs[a]
    return True


@njit(cache=True)
def finish(A, g, sD, p, lo, hi, idx, nf, z, trial):
    """trial = p + S z (S = diag(sD)) projected on the box; returns the predicted reduction."""
    npar = p.size
    for i in range(npar):
        trial[i] = p[i]
    for a in range(nf):
        ia = idx[a]
        t = p[ia] + z[a] * sD[ia]
        if t < lo[ia]:
            t = lo[ia]
        elif t > hi[ia]:
            t = hi[ia]
        trial[ia] = t
    # predicted reduction of the quadratic model for the projected step
    pred = 0.0
    for a in range(npar):
        da = trial[a] - p[a]
        if da == 0.0:
            continue
        pred += 2.0 * da * g[a]
        for b in range(npar):
            pred -= da * A[a, b] * (trial[b] - p[b])
    return pred


@njit(cache=True)
def step_small(p, trial, xtol):
    for i in range(p.size):
        if abs(trial[i] - p[i]) > xtol * (abs(p[i]) + xtol):
            return False
    return True


@njit(cache=True)
def clipped(p, trial, lo, hi, idx, nf):
    """True when the trial sits on a bound for a free parameter (the step was projected)."""
    for a in range(nf):
        ia = idx[a]
        if trial[ia] == lo[ia] or trial[ia] == hi[ia]:
            return True
    return False


@njit(cache=True)
def predicts_converged(A, g, D, p, trial, idx, nf, work, cost, ftol, z):
    """Newton-decrement test: the undamped Gauss-Newton model predicts less than ftol * cost of
    further reduction (g^T A^-1 g over the free parameters). Only for steps that no bound
    clipped; False when the undamped system is singular. Saves the last confirming evaluation.
    """
    if nf == 0:
        return False
    # z holds sqrt(D) until row a is built (rows bottom-up: row a needs z[:a + 1])
    for a in range(nf):
        z[a] = math.sqrt(D[idx[a]])
    for a in range(nf - 1, -1, -1):
        ia = idx[a]
        sa = 1.0 / z[a]
        for b in range(a + 1):
            work[a, b] = A[ia, idx[b]] * sa / z[b]
        z[a] = g[ia] * sa
    if _cholesky(work, nf) <= PIVOT_TOL:
        return False
    # decrement = |L^-1 S g|^2
    for i in range(nf):
        t = z[i]
        for k in range(i):
            t -= work[i, k] * z[k]
        z[i] = t * work[i, i]
    dec = 0.0
    for a in range(nf):
        dec += z[a] * z[a]
    return dec <= ftol * cost


@njit(cache=True)
def judge(cost, ctrial, pred, small, delta, nz, lam):
    """Accept or reject a trial and update the trust radius; returns (accepted, converged, delta).

    rho = actual / predicted reduction: below 1/4 the radius halves (to at most half the
    step), above 3/4 (or for an undamped step that is not poor) it becomes twice the step.
    """
    actual = cost - ctrial
    rho = actual / pred if pred > 0.0 else -1.0
    if not (rho >= 0.25):  # also NaN
        delta = 0.5 * min(delta, nz)
    elif lam == 0.0 or rho > 0.75:
        delta = max(delta, 2.0 * nz)
    # a step below xtol ends the fit; a small cost reduction alone does not: the next
    # iteration's Newton-decrement test (`predicts_converged`) judges the new point
    return ctrial < cost, small, delta


@njit(cache=True)
def initial_radius(p, sD):
    """Starting trust radius DELTA0 |D^1/2 p| in the scaled coordinates (DELTA0 when p = 0)."""
    s = 0.0
    for i in range(p.size):
        t = p[i] / sD[i]
        s += t * t
    r = DELTA0 * math.sqrt(s)
    if not (r > 0.0 and math.isfinite(r)):
        r = DELTA0
    return r


@njit(cache=True)
def update_scaling(A, D):
    for i in range(D.size):
        D[i] = max(D[i], A[i, i])
        if not (D[i] > 0.0):
            D[i] = 1.0


@njit(cache=True)
def rescale(A, D, sD):
    """`update_scaling` and `scale_factors` in one pass, the square root only where D changed."""
    for i in range(D.size):
        d = max(D[i], A[i, i])
        if not (d > 0.0):
            d = 1.0
        if d != D[i]:
            D[i] = d
            sD[i] = 1.0 / math.sqrt(d)


@njit(cache=True)
def scale_factors(D, sD):
    """sD = 1/sqrt(D): computed once per change of D, used by every step."""
    for i in range(D.size):
        sD[i] = 1.0 / math.sqrt(D[i])


@njit(cache=True)
def covariance(A, fixed, cov, work, idx, e):
    """cov = inv(A) over the non-fixed parameters (0 rows/columns for fixed); False if singular."""
    npar = A.shape[0]
    nf = 0
    for i in range(npar):
        for j in range(npar):
            cov[i, j] = 0.0
        if not fixed[i]:
            idx[nf] = i
            nf += 1
    if nf == 0:
        return True
    for a in range(nf):
        if not (A[idx[a], idx[a]] > 0.0):
            for i in range(npar):
                for j in range(npar):
                    cov[i, j] = np.nan
            return False
    # scale to unit diagonal (e holds the factors), factor, invert L in place
    for a in range(nf):
        e[a] = 1.0 / math.sqrt(A[idx[a], idx[a]])
    for a in range(nf):
        for b in range(a + 1):
            work[a, b] = A[idx[a], idx[b]] * (e[a] * e[b])
    piv = _cholesky(work, nf)
    if piv <= PIVOT_TOL:
        for i in range(npar):
            for j in range(npar):
                cov[i, j] = np.nan
        return False
    _tri_inverse(work, nf)
    # inv(S A S) = L^-T L^-1, then unscale
    for a in range(nf):
        for b in range(a + 1):
            s = 0.0
            for k in range(a, nf):
                s += work[k, a] * work[k, b]
            c = s * e[a] * e[b]
            cov[idx[a], idx[b]] = c
            cov[idx[b], idx[a]] = c
    return True


@njit(cache=True, inline="always")
def _tri_inverse(L, n):
    """Invert the lower-triangular `_cholesky` factor in place (its diagonal holds 1/L_jj)."""
    for j in range(n - 1, -1, -1):
        d = L[j, j]
        # rows bottom-up: row i still needs the original L[k, j] for k <= i
        for i in range(n - 1, j, -1):
            s = 0.0
            for k in range(j + 1, i + 1):
                s += L[i, k] * L[k, j]
            L[i, j] = -s * d


def _inlined(f):
    """A twin of the njit function f that numba inlines into its callers (same source)."""
    return njit(cache=True, inline="always")(f.py_func)


_velocity = _inlined(velocity)
_probe_point = _inlined(probe_point)
_finish = _inlined(finish)
_step_small = _inlined(step_small)
_clipped = _inlined(clipped)
_predicts_converged = _inlined(predicts_converged)
_judge = _inlined(judge)
_initial_radius = _inlined(initial_radius)
_rescale = _inlined(rescale)
_covariance = _inlined(covariance)


# ---- the LM loop, generated for each way of evaluating the normal equations --------------

#: options shared by every fit of a batch (loss: LSQ or POISSON; accel: geodesic acceleration)
Options = namedtuple("Options", ["max_iter", "xtol", "ftol", "loss", "accel"])
#: box bounds and fixed flags [units of the parameters], arrays (1 or N, P); one fit's: (P,)
Bounds = namedtuple("Bounds", ["lo", "hi", "fixed"])
#: per-fit outputs written in place: status (N,), n_iter (N,), cost (N,), cov (N, P, P)
Outputs = namedtuple("Outputs", ["status", "n_iter", "cost", "cov"])
#: work arrays of one fit, reused across fits (the fields every loop uses come first): A,
#: work (P, P); g, D, sD, trial, z, vec (P,); idx (P,) int; then the evaluation's own arrays
_COMMON = ["A", "work", "g", "D", "sD", "trial", "z", "vec", "idx"]
#: fused normal equations: At (P, P), gt (P,) at the trial; e (M,) scratch
FusedWork = namedtuple("FusedWork", [*_COMMON, "At", "gt", "e"])
#: stored model values: f, ft, wv, r (M,); J, Jt (P, M); buf, the one array they all view
GenericWork = namedtuple("GenericWork", [*_COMMON, "f", "ft", "J", "Jt", "wv", "r", "buf"])


def make_lm_loop(start, at_trial, take, accelerate=None):
    """The trust-region LM loop (one fit, in place) for one way of evaluating the model.

    The loop is written once; each path supplies numba-inlined functions of its problem
    tuple ``prob`` and work arrays ``ws`` (a `FusedWork` or `GenericWork`):

    * ``start(prob, ws, p) -> (cost, ok)``: cost and normal equations (ws.A, ws.g) at p
      (ok False: not finite; a cost that is not finite need not fill them);
    * ``at_trial(prob, ws, trial) -> (cost, ok)``: the cost at the trial (and whatever
      ``take`` needs of it);
    * ``take(prob, ws, ok) -> ok``: the trial was accepted: make ws.A, ws.g its normal
      equations;
    * ``accelerate(prob, ws, p, nf)``: the geodesic correction of the step ws.z (None: the
      path has none, and the branch is compiled out).

    Returns an ``@njit(inline="always")`` function ``lm_loop(prob, bnd, opts, ws, p, cov) ->
    (status, n_iter, cost)`` (bnd: `Bounds` of this fit, opts: `Options`) that numba inlines
    into the row functions (`_gauss_rows`, `_generic_rows`): no call per fit or per step, so
    no reference counting of a dozen array arguments, which costs as much as the 4 x 4
    arithmetic. The loop is a closure over the path's functions, compiled into (and cached
    with) the functions that call it.
    """
    has_accel = accelerate is not None
    if accelerate is None:
        accelerate = _no_accel

    @njit(inline="always")
    def lm_loop(prob, bnd, opts, ws, p, cov):
        lo, hi, fixed = bnd.lo, bnd.hi, bnd.fixed
        A, g, D, sD, work, trial, z, vec, idx = (
            ws.A, ws.g, ws.D, ws.sD, ws.work, ws.trial, ws.z, ws.vec, ws.idx
        )  # fmt: skip
        max_iter, xtol, ftol = opts.max_iter, opts.xtol, opts.ftol
        accel = has_accel and opts.accel
        npar = p.size
        for i in range(npar):
            D[i] = 0.0
        cost, ok = start(prob, ws, p)
        if not math.isfinite(cost):
            return INVALID_INPUT, 0, cost
        if not ok:
            return SINGULAR, 0, cost
        _rescale(A, D, sD)
        delta = _initial_radius(p, sD)
        lam = 0.0
        status = MAX_ITER
        it = 0
        while it < max_iter:
            if cost == 0.0:
                status = CONVERGED
                break
            res, nf, lam, nz = _velocity(
                A, g, sD, delta, lam, p, lo, hi, fixed, work, idx, z, trial
            )  # fmt: skip
            if res == 2:
                status = CONVERGED
                break
            it += 1
            if res == 1 and accel:
                # a rejected correction (2|a|/|v| > alpha) leaves the plain step: near the
                # minimum the finite-difference curvature is rounding noise, and shrinking
                # the radius there would stop the fit on the xtol test short of the minimum
                accelerate(prob, ws, p, nf)
            if it == 1:
                delta = min(delta, nz)
            if res == 0:
                # no step (failed factorization or curvature too large for the radius)
                delta *= 0.25
                if delta < DELTA_MIN:
                    status = SINGULAR
                    break
                continue
            pred = _finish(A, g, sD, p, lo, hi, idx, nf, z, trial)
            small = _step_small(p, trial, xtol)
            # the damped step's predicted reduction never exceeds the Newton decrement, so
            # the decrement test can only pass when pred <= ftol * cost (not so with accel)
            if small or (
                (accel or pred <= ftol * cost)
                and not _clipped(p, trial, lo, hi, idx, nf)
                and _predicts_converged(A, g, D, p, trial, idx, nf, work, cost, ftol, vec)
            ):
                # below xtol, or an undamped model that predicts less than ftol of further
                # reduction: done whatever the trial gives, so save its evaluation
                status = CONVERGED
                break
            ct, okt = at_trial(prob, ws, trial)
            accepted, conv, delta = _judge(cost, ct, pred, small, delta, nz, lam)
            if accepted:
                for i in range(npar):
                    p[i] = trial[i]
                cost = ct
                if not take(prob, ws, okt):
                    status = SINGULAR
                    break
                _rescale(A, D, sD)
            if conv:
                status = CONVERGED
                break
            if delta < DELTA_MIN:
                status = CONVERGED if small else MAX_ITER
                break
        if not _covariance(A, fixed, cov, work, idx, vec):
            if status == CONVERGED:
                status = SINGULAR
        return status, it, cost

    return lm_loop


@njit(inline="always")
def _no_accel(prob, ws, p, nf):
    pass


def make_fused_loop(normal):
    """`make_lm_loop` for a model whose cost and normal equations come from one pass over the
    points, ``normal(off, x, y, w, unit_w, p, e, A, g) -> (cost, ok)`` (`gauss_normal`, or a
    compiled user model's): least squares, no geodesic acceleration, prob = (off, x, y, w,
    unit_w) and ws a `FusedWork`. The normal equations at the trial come with its cost (wasted
    only on rejection)."""

    @njit(inline="always")
    def start(prob, ws, p):
        off, x, y, w, unit_w = prob
        return normal(off, x, y, w, unit_w, p, ws.e, ws.A, ws.g)

    @njit(inline="always")
    def at_trial(prob, ws, trial):
        off, x, y, w, unit_w = prob
        return normal(off, x, y, w, unit_w, trial, ws.e, ws.At, ws.gt)

    return make_lm_loop(start, at_trial, _take_fused)


@njit(inline="always")
def _take_fused(prob, ws, ok):
    A, At, g, gt = ws.A, ws.At, ws.g, ws.gt
    for i in range(g.size):
        g[i] = gt[i]
        for j in range(g.size):
            A[i, j] = At[i, j]
    return ok


def make_generic_loop(evaluate):
    """`make_lm_loop` for a model evaluated into stored values and Jacobian, ``evaluate(code,
    aux, x, p, f, J, want_jac)`` (`eval_model`, or a compiled user model's): any loss,
    optional geodesic acceleration, prob = (code, aux, x, y, w, loss, accel) and ws a `GenericWork`.
    The Jacobian costs little next to the exponentials, so it comes with the trial; the normal
    equations only on acceptance."""

    @njit(inline="always")
    def start(prob, ws, p):
        code, aux, x, y, w, loss, _accel = prob
        ws.buf[:] = 0.0
        evaluate(code, aux, x, p, ws.f, ws.J, True)
        cost = objective(ws.f, y, w, loss)
        if not math.isfinite(cost):
            return cost, False
        return cost, normal_eq(ws.f, ws.J, y, w, loss, ws.A, ws.g, ws.wv, ws.r)

    @njit(inline="always")
    def at_trial(prob, ws, trial):
        code, aux, x, y, w, loss, _accel = prob
        evaluate(code, aux, x, trial, ws.ft, ws.Jt, True)
        return objective(ws.ft, y, w, loss), True

    @njit(inline="always")
    def take(prob, ws, ok):
        _code, _aux, _x, y, w, loss, accel = prob
        ok = normal_eq(ws.ft, ws.Jt, y, w, loss, ws.A, ws.g, ws.wv, ws.r)
        if accel:
            # the trial's values become the current ones (ft, Jt are overwritten by the
            # next trial or probe; f, J are read again only by the acceleration)
            # (element loops: numba's slice assignment costs more than the copy itself)
            f, ft, J, Jt = ws.f, ws.ft, ws.J, ws.Jt
            for k in range(f.size):
                f[k] = ft[k]
            for a in range(J.shape[0]):
                for k in range(J.shape[1]):
                    J[a, k] = Jt[a, k]
        return ok

    @njit(inline="always")
    def accelerate(prob, ws, p, nf):
        code, aux, x, y, w, loss, _accel = prob
        _probe_point(p, ws.D, ws.idx, nf, ws.z, ACCEL_H, ws.trial)
        evaluate(code, aux, x, ws.trial, ws.ft, ws.Jt, False)
        geodesic(
            ws.J, ws.f, ws.ft, y, w, loss, ACCEL_H, ws.D, ws.work, ws.idx, nf, ws.z, ACCEL_ALPHA
        )  # fmt: skip

    return make_lm_loop(start, at_trial, take, accelerate)


@njit(cache=True)
def work_size(m, npar):
    """Length of the float work array of a `GenericWork` for M points and P parameters."""
    return 4 * m + 2 * npar * m + 2 * npar * npar + 6 * npar


@njit(cache=True, inline="always")
def generic_work(m, npar):
    """A `GenericWork` for M points and P parameters: views of one zeroed array."""
    buf = np.zeros(work_size(m, npar))
    pm = npar * m
    pp = npar * npar
    o = 4 * m
    J = buf[o : o + pm].reshape((npar, m))
    Jt = buf[o + pm : o + 2 * pm].reshape((npar, m))
    o += 2 * pm
    A = buf[o : o + pp].reshape((npar, npar))
    work = buf[o + pp : o + 2 * pp].reshape((npar, npar))
    o += 2 * pp
    return GenericWork(
        A, work, buf[o : o + npar], buf[o + npar : o + 2 * npar],
        buf[o + 5 * npar : o + 6 * npar], buf[o + 2 * npar : o + 3 * npar],
        buf[o + 3 * npar : o + 4 * npar], buf[o + 4 * npar : o + 5 * npar],
        np.zeros(npar, dtype=np.int64), buf[0:m], buf[m : 2 * m], J, Jt, buf[2 * m : 3 * m],
        buf[3 * m : 4 * m], buf,
    )  # fmt: skip


@njit(cache=True, inline="always")
def fused_work(m, npar):
    """A `FusedWork` for M points and P parameters."""
    vecs = np.zeros((7, npar))
    return FusedWork(
        np.zeros((npar, npar)), np.zeros((npar, npar)), vecs[0], vecs[2], vecs[3], vecs[4],
        vecs[5], vecs[6], np.zeros(npar, dtype=np.int64), np.zeros((npar, npar)), vecs[1],
        np.empty(m),
    )  # fmt: skip


@njit(cache=True, inline="always")
def _row(a, i):
    """Row i of a per-fit array with 1 (shared) or N rows."""
    return a[i] if a.shape[0] > 1 else a[0]


@njit(cache=True, inline="always")
def row_bounds(bnd, i):
    """The `Bounds` of fit i."""
    return Bounds(_row(bnd.lo, i), _row(bnd.hi, i), _row(bnd.fixed, i))


#: one fit of a compiled built-in model (`eval_model`)
fit_one = make_generic_loop(eval_model)
#: one Gaussian(+offset) least-squares fit with the fused normal equations (`gauss_normal`)
fit_gauss = make_fused_loop(gauss_normal)


@njit(cache=True)
def _gauss_rows(r0, r1, off, x, y, w, wunit, p, bnd, todo, opts, out):
    """`fit_gauss` for rows r0 <= i < r1 with todo[i]; one set of work arrays."""
    ws = fused_work(y.shape[1], p.shape[1])
    for i in range(r0, r1):
        if not todo[i]:
            continue
        prob = (off, _row(x, i), y[i], _row(w, i), _row(wunit, i))
        s, it, c = fit_gauss(prob, row_bounds(bnd, i), opts, ws, p[i], out.cov[i])
        out.status[i] = s
        out.n_iter[i] = it
        out.cost[i] = c


@njit(cache=True)
def _generic_rows(r0, r1, code, aux, x, y, w, p, bnd, todo, opts, out):
    """`fit_one` for rows r0 <= i < r1 with todo[i]; one set of work arrays."""
    ws = generic_work(y.shape[1], p.shape[1])
    for i in range(r0, r1):
        if not todo[i]:
            continue
        prob = (code, aux, _row(x, i), y[i], _row(w, i), opts.loss, opts.accel)
        s, it, c = fit_one(prob, row_bounds(bnd, i), opts, ws, p[i], out.cov[i])
        out.status[i] = s
        out.n_iter[i] = it
        out.cost[i] = c


@njit(cache=True)
def unit_rows(w):
    """Per row of w (1 or N rows): True when every weight is 1 (checked once per batch)."""
    out = np.ones(w.shape[0], dtype=np.bool_)
    for i in range(w.shape[0]):
        for k in range(w.shape[1]):
            if w[i, k] != 1.0:
                out[i] = False
                break
    return out


#: fits per block of the parallel loop (one set of work arrays per block)
BLOCK = 64

# Four kernels, each compiled only when first used (a run fitting only Gaussians never
# compiles the generic loop with every model, and vice versa); the serial and parallel
# kernels of a path share one compilation of its block function (`_gauss_rows`,
# `_generic_rows`). Small batches run serially: no thread-pool start-up.


@njit(cache=True, parallel=True)
def fit_gauss_parallel(off, x, y, w, p, bnd, todo, opts, out):
    """`fit_gauss` (Gaussian, off: + offset, least squares) for every row i with todo[i]
    (x, w and the `Bounds` bnd have 1 or N rows); prange over blocks of `BLOCK` fits."""
    n = y.shape[0]
    wunit = unit_rows(w)
    for b in prange((n + BLOCK - 1) // BLOCK):
        _gauss_rows(
            b * BLOCK, min(n, (b + 1) * BLOCK), off, x, y, w, wunit, p, bnd, todo, opts, out
        )  # fmt: skip


@njit(cache=True)
def fit_gauss_serial(off, x, y, w, p, bnd, todo, opts, out):
    """`fit_gauss_parallel` on one thread."""
    n = y.shape[0]
    wunit = unit_rows(w)
    for b in range((n + BLOCK - 1) // BLOCK):
        _gauss_rows(
            b * BLOCK, min(n, (b + 1) * BLOCK), off, x, y, w, wunit, p, bnd, todo, opts, out
        )  # fmt: skip


@njit(cache=True, parallel=True)
def fit_generic_parallel(code, aux, x, y, w, p, bnd, todo, opts, out):
    """`fit_one` of compiled model `code` for every row i with todo[i], in parallel."""
    n = y.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        _generic_rows(
            b * BLOCK, min(n, (b + 1) * BLOCK), code, aux, x, y, w, p, bnd, todo, opts, out
        )  # fmt: skip


@njit(cache=True)
def fit_generic_serial(code, aux, x, y, w, p, bnd, todo, opts, out):
    """`fit_generic_parallel` on one thread."""
    n = y.shape[0]
    for b in range((n + BLOCK - 1) // BLOCK):
        _generic_rows(
            b * BLOCK, min(n, (b + 1) * BLOCK), code, aux, x, y, w, p, bnd, todo, opts, out
        )  # fmt: skip


# ---- batched steps for Python-callable models -------------------------------------------


@njit(cache=True)
def objective_batch(f, y, w, rows, loss, out):
    """out[j] = cost of fit rows[j] given model values f[j]."""
    for j in range(rows.size):
        i = rows[j]
        wi = w[i] if w.shape[0] > 1 else w[0]
        out[j] = objective(f[j], y[i], wi, loss)


@njit(cache=True)
def normal_batch(f, J, y, w, rows, loss, A, g, D, ok):
    """Normal equations of fits rows[j] from f[j], J[j] into A[i], g[i]; updates scaling D[i]."""
    for j in range(rows.size):
        i = rows[j]
        wi = w[i] if w.shape[0] > 1 else w[0]
        ok[j] = normal_eq(
            f[j], J[j], y[i], wi, loss, A[i], g[i], np.empty(f.shape[1]), np.empty(f.shape[1])
        )
        update_scaling(A[i], D[i])


@njit(cache=True)
def radius_batch(p, D, rows, delta):
    """Starting trust radius of fits rows[j] (`initial_radius`)."""
    sD = np.empty(p.shape[1])
    for j in range(rows.size):
        i = rows[j]
        scale_factors(D[i], sD)
        delta[i] = initial_radius(p[i], sD)


@njit(cache=True)
def velocity_batch(
    A, g, D, delta, lam, p, lo, hi, fixed, rows, n_iter, work, idx, z, nf, nz, res
):  # fmt: skip
    """`velocity` for fits rows[j]; per-fit factor, index and step kept in work/idx/z/nf[j].

    The first step of a fit (n_iter 0) also caps its radius at the step length.
    """
    npar = p.shape[1]
    sD = np.empty(npar)
    q = np.empty(npar)
    for j in range(rows.size):
        i = rows[j]
        scale_factors(D[i], sD)
        loi = lo[i] if lo.shape[0] > 1 else lo[0]
        hii = hi[i] if hi.shape[0] > 1 else hi[0]
        fxi = fixed[i] if fixed.shape[0] > 1 else fixed[0]
        r, k, lam[i], nz[j] = velocity(
            A[i], g[i], sD, delta[i], lam[i], p[i], loi, hii, fxi, work[j], idx[j], z[j], q
        )
        if r != 2 and n_iter[i] == 0:
            delta[i] = min(delta[i], nz[j])
        res[j] = r
        nf[j] = k


@njit(cache=True)
def probe_batch(p, D, rows, idx, nf, z, h, ph):
    for j in range(rows.size):
        probe_point(p[rows[j]], D[rows[j]], idx[j], nf[j], z[j], h, ph[j])


@njit(cache=True)
def geodesic_batch(J, f, fh, y, w, rows, loss, h, D, work, idx, nf, z, alpha, ok):
    """`geodesic` for fits rows[j]; J[j], f[j] at the current point, fh[j] at the probe."""
    for j in range(rows.size):
        i = rows[j]
        wi = w[i] if w.shape[0] > 1 else w[0]
        ok[j] = geodesic(
            J[j], f[j], fh[j], y[i], wi, loss, h, D[i], work[j], idx[j], nf[j], z[j], alpha
        )


@njit(cache=True)
def finish_batch(A, g, D, p, lo, hi, rows, idx, nf, z, xtol, trial, pred, small):
    sD = np.empty(p.shape[1])
    for j in range(rows.size):
        i = rows[j]
        scale_factors(D[i], sD)
        loi = lo[i] if lo.shape[0] > 1 else lo[0]
        hii = hi[i] if hi.shape[0] > 1 else hi[0]
        pred[j] = finish(A[i], g[i], sD, p[i], loi, hii, idx[j], nf[j], z[j], trial[j])
        small[j] = step_small(p[i], trial[j], xtol)


@njit(cache=True)
def predicts_converged_batch(A, g, D, p, lo, hi, trial, rows, idx, nf, cost, ftol, out):
    npar = p.shape[1]
    work = np.empty((npar, npar))
    z = np.empty(npar)
    for j in range(rows.size):
        i = rows[j]
        loi = lo[i] if lo.shape[0] > 1 else lo[0]
        hii = hi[i] if hi.shape[0] > 1 else hi[0]
        out[j] = not clipped(p[i], trial[j], loi, hii, idx[j], nf[j]) and predicts_converged(
            A[i], g[i], D[i], p[i], trial[j], idx[j], nf[j], work, cost[i], ftol, z
        )


@njit(cache=True)
def judge_batch(cost, ctrial, pred, small, delta, nz, lam, rows, accepted, conv):
    for j in range(rows.size):
        i = rows[j]
        a, c, delta[i] = judge(cost[i], ctrial[j], pred[j], small[j], delta[i], nz[j], lam[i])
        accepted[j] = a
        conv[j] = c


@njit(cache=True)
def covariance_batch(A, fixed, rows, cov, ok):
    npar = A.shape[1]
    for j in range(rows.size):
        i = rows[j]
        fxi = fixed[i] if fixed.shape[0] > 1 else fixed[0]
        work = np.empty((npar, npar))
        idx = np.empty(npar, dtype=np.int64)
        ok[j] = covariance(A[i], fxi, cov[i], work, idx, np.empty(npar))
