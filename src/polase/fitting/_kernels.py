"""numba model kernels: value and analytic Jacobian of every compiled built-in model.

All compiled models share one entry point, `eval_model(code, aux, x, p, f, J, want_jac)`,
dispatching on an integer code; that keeps the LM kernel a single cached compilation
(numba cannot cache kernels that take other jitted functions as arguments).

``aux`` is a float64 array of model constants (number of components, band types, the IRF...).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# model codes
GAUSSIAN = 0  # aux = [uniform grid flag]: 1.0 enables the exp recurrence
GAUSSIAN_OFFSET = 1  # aux as GAUSSIAN
LORENTZIAN = 2
PSEUDO_VOIGT = 3
EXPDECAY = 4  # aux = [n_exp]
BAND_SUM = 5  # aux = [n_bands, type_0, ..., type_{n-1}, baseline(0 none, 1 constant, 2 linear)]
RECONV = 6  # aux = [n_exp, period_ns (0: single shot), dt_ns, irf_0, ..., irf_{M-1}]

_FOUR_LN2 = 4.0 * math.log(2.0)


@njit(cache=True, inline="always")
def _gauss_into(x, a, c, s, f, J, col, want_jac, add):
    """amplitude * exp(-(x-c)^2 / (2 s^2)); Jacobian into columns col..col+2."""
    inv_s = 1.0 / s
    for k in range(x.size):
        u = (x[k] - c) * inv_s
        e = math.exp(-0.5 * u * u)
        v = a * e
        if add:
            f[k] += v
        else:
            f[k] = v
        if want_jac:
            J[col, k] = e
            J[col + 1, k] = v * u * inv_s
            J[col + 2, k] = v * u * u * inv_s


#: on a uniform grid the Gaussian is re-anchored with a direct exp every this many points
_ANCHOR = 32


@njit(cache=True)
def _gauss_uniform_into(x, a, c, s, f, J, col, want_jac, add):
    """`_gauss_into` for a uniform grid: e_{k+1} = e_k r_k, r_{k+1} = r_k q with q = exp(-h^2/s^2).

    Two exps per run of `_ANCHOR` points instead of one per point; the products are
    re-anchored on a direct exp every `_ANCHOR` points, so the relative error stays below
    ~_ANCHOR^2 eps (~2e-13).
    """
    m = x.size
    h = (x[m - 1] - x[0]) / (m - 1)
    inv_s = 1.0 / s
    inv_s2 = inv_s * inv_s
    q = math.exp(-h * h * inv_s2)
    kf = (c - x[0]) / h
    if not (kf > 0.0):  # also NaN
        k0 = 0
    elif kf > m - 1:
        k0 = m - 1
    else:
        k0 = int(kf + 0.5)
    # upward from k0, then downward from k0 - 1
    for direction in range(2):
        if direction == 0:
            start, stop, step = k0, m, 1
        else:
            start, stop, step = k0 - 1, -1, -1
        e = 0.0
        r = 0.0
        n_run = 0
        k = start
        while k != stop:
            d = x[k] - c
            if n_run == 0:
                u = d * inv_s
                e = math.exp(-0.5 * u * u)
                r = math.exp(-(step * d * h + 0.5 * h * h) * inv_s2)
                n_run = _ANCHOR
            u = d * inv_s
            v = a * e
            if add:
                f[k] += v
            else:
                f[k] = v
            if want_jac:
                J[col, k] = e
                J[col + 1, k] = v * u * inv_s
                J[col + 2, k] = v * u * u * inv_s
            e *= r
            r *= q
            n_run -= 1
            k += step


@njit(cache=True, inline="always")
def _lorentz_into(x, a, c, g, f, J, col, want_jac, add):
    """amplitude * g^2 / ((x-c)^2 + g^2) (peak height a, HWHM g)."""
    g2 = g * g
    for k in range(x.size):
        d = x[k] - c
        den = 1.0 / (d * d + g2)
        l = g2 * den  # noqa: E741
        v = a * l
        if add:
            f[k] += v
        else:
            f[k] = v
        if want_jac:
            J[col, k] = l
            J[col + 1, k] = 2.0 * v * d * den
            J[col + 2, k] = 2.0 * v * d * d * den / g


@njit(cache=True, inline="always")
def _pvoigt_into(x, a, c, w, eta, f, J, col, want_jac, add):
    """amplitude * ((1-eta) G + eta L), both unit-peak with FWHM w."""
    inv_w = 1.0 / w
    for k in range(x.size):
        d = x[k] - c
        u = d * inv_w
        u2 = u * u
        gg = math.exp(-_FOUR_LN2 * u2)
        den = 1.0 / (1.0 + 4.0 * u2)
        ll = den
        shape = (1.0 - eta) * gg + eta * ll
        v = a * shape
        if add:
            f[k] += v
        else:
            f[k] = v
        if want_jac:
            # d/du of G = -2*4ln2*u G ; of L = -8 u L^2
            dshape_du = (1.0 - eta) * (-2.0 * _FOUR_LN2 * u * gg) + eta * (-8.0 * u * ll * ll)
            J[col, k] = shape
            J[col + 1, k] = -a * dshape_du * inv_w  # du/dc = -1/w
            J[col + 2, k] = -a * dshape_du * u * inv_w  # du/dw = -u/w
            J[col + 3, k] = a * (ll - gg)


@njit(cache=True)
def _expdecay(x, p, n, f, J, want_jac):
    off = p[2 * n]
    for k in range(x.size):
        f[k] = off
    for i in range(n):
        a = p[2 * i]
        tau = p[2 * i + 1]
        inv_t = 1.0 / tau
        for k in range(x.size):
            e = math.exp(-x[k] * inv_t)
            f[k] += a * e
            if want_jac:
                J[2 * i, k] = e
                J[2 * i + 1, k] = a * e * x[k] * inv_t * inv_t
    if want_jac:
        for k in range(x.size):
            J[2 * n, k] = 1.0


@njit(cache=True)
def _band_sum(x, p, aux, f, J, want_jac):
    nb = int(aux[0])
    baseline = int(aux[1 + nb])
    for k in range(x.size):
        f[k] = 0.0
    col = 0
    for b in range(nb):
        t = int(aux[1 + b])
        if t == GAUSSIAN:
            _gauss_into(x, p[col], p[col + 1], p[col + 2], f, J, col, want_jac, True)
            col += 3
        elif t == LORENTZIAN:
            _lorentz_into(x, p[col], p[col + 1], p[col + 2], f, J, col, want_jac, True)
            col += 3
        else:
            _pvoigt_into(x, p[col], p[col + 1], p[col + 2], p[col + 3], f, J, col, want_jac, True)
            col += 4
    if baseline >= 1:
        for k in range(x.size):
            f[k] += p[col]
            if want_jac:
                J[col, k] = 1.0
    if baseline == 2:
        for k in range(x.size):
            f[k] += p[col + 1] * x[k]
            if want_jac:
                J[col + 1, k] = x[k]


@njit(cache=True, inline="always")
def _channel_weights(x):
    """Channel-integrated exponential weights for x = dt / tau.

    An IRF channel excites uniformly over its width; the emission exp(-t / tau) (onset height
    1 per channel) is counted in whole channels. The same channel then receives
    w0 = (x - (1 - q)) / x^2 (about 1/2: on average half a channel to emit into), a channel
    l >= 1 later b q^(l-1) with b = ((1 - q) / x)^2 and q = exp(-x). Returns w0, b and their
    derivatives with respect to x; Taylor series below x = 0.01, where the closed forms
    cancel.
    """
    if x < 1e-2:
        w0 = 0.5 + x * (-1.0 / 6.0 + x * (1.0 / 24.0 + x * (-1.0 / 120.0 + x / 720.0)))
        dw0 = -1.0 / 6.0 + x * (1.0 / 12.0 + x * (-1.0 / 40.0 + x / 180.0))
        h = 1.0 + x * (-0.5 + x * (1.0 / 6.0 + x * (-1.0 / 24.0 + x / 120.0)))
        dh = -0.5 + x * (1.0 / 3.0 + x * (-1.0 / 8.0 + x * (1.0 / 30.0 - x / 144.0)))
    else:
        em = -math.expm1(-x)  # 1 - q
        w0 = (x - em) / (x * x)
        dw0 = em / (x * x) - 2.0 * (x - em) / (x * x * x)
        h = em / x
        dh = ((1.0 - em) * x - em) / (x * x)
    return w0, h * h, dw0, 2.0 * h * dh


@njit(cache=True)
def _shift_irf(v, sft, out, dout):
    """Histogram v delayed by `sft` channels: out[k] = C(k + 1 - sft) - C(k - sft), C the
    cumulative of v through the channel edges interpolated by a monotone (Fritsch-Butland)
    cubic Hermite. Exact at whole-channel shifts, sum and non-negativity kept, and smooth
    (C1) in the shift, so the likelihood has no kink at whole channels as with linear
    interpolation. dout: d out / du, u = k - sft [per channel].
    """
    m = v.size
    cum = np.empty(m + 1)
    slope = np.empty(m + 1)
    cum[0] = 0.0
    for e in range(m):
        cum[e + 1] = cum[e] + v[e]
    for e in range(m + 1):
        lft = v[e - 1] if e >= 1 else 0.0
        rgt = v[e] if e < m else 0.0
        slope[e] = 2.0 * lft * rgt / (lft + rgt) if lft > 0.0 and rgt > 0.0 else 0.0
    u0 = -sft
    i0 = math.floor(u0)
    t = u0 - i0
    t2 = t * t
    t3 = t2 * t
    h00 = 2.0 * t3 - 3.0 * t2 + 1.0
    h10 = t3 - 2.0 * t2 + t
    h01 = -2.0 * t3 + 3.0 * t2
    h11 = t3 - t2
    g00 = 6.0 * t2 - 6.0 * t
    g10 = 3.0 * t2 - 4.0 * t + 1.0
    g01 = -g00
    g11 = 3.0 * t2 - 2.0 * t
    ib = int(i0)
    # C and dC/du at u = e + t for every edge e (C = 0 before the first edge, 1 after the last)
    prev_c = 0.0
    prev_d = 0.0
    for k in range(m + 1):
        e = k + ib
        if e < 0:
            c = 0.0
            d = 0.0
        elif e >= m:
            c = cum[m]
            d = 0.0
        else:
            c = h00 * cum[e] + h10 * slope[e] + h01 * cum[e + 1] + h11 * slope[e + 1]
            d = g00 * cum[e] + g10 * slope[e] + g01 * cum[e + 1] + g11 * slope[e + 1]
        if k >= 1:
            out[k - 1] = c - prev_c
            dout[k - 1] = d - prev_d
        prev_c = c
        prev_d = d


@njit(cache=True)
def _reconv(p, aux, f, J, want_jac):
    """IRF-reconvolved multi-exponential decay with shift, background and scatter.

    f_k = bg + sum_i a_i c_ik + scatter * F * irf_s[k], where irf_s is the unit-sum IRF shifted
    by ``shift`` (`_shift_irf`: the monotone-Hermite cumulative) and c_ik = w0_i irf_s[k] + b_i S_ik is the
    channel-integrated convolution (`_channel_weights`), S_ik = sum_{j<k} irf_s[j] q_i^(k-1-j)
    with q_i = exp(-dt/tau_i) (recursion S_k+1 = q S_k + irf_s[k]), plus the steady-state
    carry-in from earlier pulses when a period is given; F = sum_i a_i tau_i / dt is the
    total fluorescence count per pulse.
    """
    n = int(aux[0])
    period = aux[1]
    dt = aux[2]
    m = aux.size - 3
    shift = p[2 * n]
    bg = p[2 * n + 1]
    scat = p[2 * n + 2]
    irf_s = np.empty(m)
    dirf = np.empty(m)
    _shift_irf(aux[3:], shift / dt, irf_s, dirf)
    for k in range(m):
        dirf[k] = -dirf[k] / dt  # d irf_s / d shift_ns
    for k in range(m):
        f[k] = bg
        if want_jac:
            J[2 * n, k] = 0.0
    ftot = 0.0
    for i in range(n):
        a = p[2 * i]
        tau = p[2 * i + 1]
        q = math.exp(-dt / tau)
        dq = q * dt / (tau * tau)
        x = dt / tau
        w0, b, dw0, db = _channel_weights(x)
        dw0 = -dw0 * x / tau  # d/dtau (dx/dtau = -x/tau)
        db = -db * x / tau
        s = 0.0
        ds = 0.0
        ss = 0.0
        if period > 0.0:
            # one pass to the end of the window gives the steady-state carry-in factor g
            cf = 0.0
            dcf = 0.0
            scf = 0.0
            for k in range(m):
                dcf = dq * cf + q * dcf
                cf = q * cf + irf_s[k]
                scf = q * scf + dirf[k]
            r = math.exp(-period / tau)
            gap = period - m * dt
            g = math.exp(-gap / tau) / (1.0 - r)
            dg = g * (gap / (tau * tau) + r * period / (tau * tau) / (1.0 - r))
            s = cf * g
            ds = dcf * g + cf * dg
            ss = scf * g
        for k in range(m):
            c = w0 * irf_s[k] + b * s
            f[k] += a * c
            if want_jac:
                J[2 * i, k] = c
                J[2 * i + 1, k] = a * (dw0 * irf_s[k] + db * s + b * ds)
                J[2 * n, k] += a * (w0 * dirf[k] + b * ss)
            ds = dq * s + q * ds
            s = q * s + irf_s[k]
            ss = q * ss + dirf[k]
        ftot += a * tau / dt
        if want_jac and scat != 0.0:
            dfa = tau / dt
            dft = a / dt
            for k in range(m):
                J[2 * i, k] += scat * irf_s[k] * dfa
                J[2 * i + 1, k] += scat * irf_s[k] * dft
    for k in range(m):
        f[k] += scat * ftot * irf_s[k]
        if want_jac:
            J[2 * n, k] += scat * ftot * dirf[k]
            J[2 * n + 1, k] = 1.0
            J[2 * n + 2, k] = ftot * irf_s[k]


@njit(cache=True)
def eval_model(code, aux, x, p, f, J, want_jac):
    """Fill f (M,) and, when want_jac, J (P, M) (parameter-major) for model `code` at p (P,)."""
    if code == GAUSSIAN:
        if aux[0] == 1.0:
            _gauss_uniform_into(x, p[0], p[1], p[2], f, J, 0, want_jac, False)
        else:
            _gauss_into(x, p[0], p[1], p[2], f, J, 0, want_jac, False)
    elif code == GAUSSIAN_OFFSET:
        if aux[0] == 1.0:
            _gauss_uniform_into(x, p[0], p[1], p[2], f, J, 0, want_jac, False)
        else:
            _gauss_into(x, p[0], p[1], p[2], f, J, 0, want_jac, False)
        for k in range(x.size):
            f[k] += p[3]
            if want_jac:
                J[3, k] = 1.0
    elif code == LORENTZIAN:
        _lorentz_into(x, p[0], p[1], p[2], f, J, 0, want_jac, False)
    elif code == PSEUDO_VOIGT:
        _pvoigt_into(x, p[0], p[1], p[2], p[3], f, J, 0, want_jac, False)
    elif code == EXPDECAY:
        _expdecay(x, p, int(aux[0]), f, J, want_jac)
    elif code == BAND_SUM:
        _band_sum(x, p, aux, f, J, want_jac)
    elif code == RECONV:
        _reconv(p, aux, f, J, want_jac)


@njit(cache=True, parallel=True)
def eval_batch(code, aux, x, p, want_jac):
    """Evaluate model `code` for every row of p (N, P); x is (1, M) shared or (N, M).

    Returns f (N, M) and J (N, P, M) (J is (1, P, 1) when want_jac is False).
    """
    n = p.shape[0]
    m = x.shape[1]
    npar = p.shape[1]
    f = np.empty((n, m))
    if want_jac:
        J = np.zeros((n, npar, m))
    else:
        J = np.zeros((1, npar, 1))
    for i in prange(n):
        xi = x[i] if x.shape[0] > 1 else x[0]
        if want_jac:
            eval_model(code, aux, xi, p[i], f[i], J[i], True)
        else:
            Jw = np.empty((npar, m))
            eval_model(code, aux, xi, p[i], f[i], Jw, False)
    return f, J


_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: n * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.0 / math.log(2.0)
#: beyond this exp(-v) underflows to 0 (the smallest subnormal is exp(-744.4))
_V_MAX = 760.0


@njit(cache=True, inline="always")
def _exp_neg(v):
    """exp(-v) for v >= 0 in plain arithmetic, so loops over it vectorize (libm's exp is a
    call per point).

    Cody-Waite reduction -v = r - n ln 2 (|r| <= ln2/2), a degree-13 Taylor polynomial
    (truncation < 2e-17 relative) and 2^-n built from exponent bits in two halves (so
    subnormal results come out right): within about 2 ulp of libm. NaN gives NaN, +inf 0.
    """
    vc = v if v < _V_MAX else _V_MAX
    n = math.floor(vc * _INV_LN2 + 0.5)
    r = (n * _LN2_HI - vc) + n * _LN2_LO
    q = 1.0 / 6227020800.0
    q = q * r + 1.0 / 479001600.0
    q = q * r + 1.0 / 39916800.0
    q = q * r + 1.0 / 3628800.0
    q = q * r + 1.0 / 362880.0
    q = q * r + 1.0 / 40320.0
    q = q * r + 1.0 / 5040.0
    q = q * r + 1.0 / 720.0
    q = q * r + 1.0 / 120.0
    q = q * r + 1.0 / 24.0
    q = q * r + 1.0 / 6.0
    q = q * r + 0.5
    q = q * r + 1.0
    q = q * r + 1.0
    ni = np.int64(n)
    h = ni >> 1
    s1 = np.int64((1023 - h) << 52).view(np.float64)
    s2 = np.int64((1023 - (ni - h)) << 52).view(np.float64)
    res = (q * s1) * s2
    return res if v == v else v


@njit(cache=True, inline="always", fastmath={"reassoc", "contract"})
def gauss_moments(x, y, w, a, c, s, o):
    """Weighted sums over the points for the fused Gaussian(+offset) normal equations.

    With u = (x - c)/s and the unit Gaussian e = exp(-u^2/2), the Jacobian columns are
    e, (a/s) e u, (a/s) e u^2 and 1, so the cost, J^T W J and J^T W r reduce to 14 sums,
    returned as a tuple: cost, sum w r (e, e u, e u^2, 1), sum w (e e, e eu, eu eu, eu eu^2,
    eu^2 eu^2), sum w (e, eu, eu^2), sum w. One pass, no stored Jacobian.

    Inlined (numba IR) into `gauss_sums`, compiled with ``fastmath={"reassoc", "contract"}``:
    reassociation lets the loop vectorize (the sums change at the rounding level only).
    """
    inv_s = 1.0 / s
    cost = 0.0
    g0 = 0.0
    g1 = 0.0
    g2 = 0.0
    g3 = 0.0
    m0 = 0.0
    m1 = 0.0
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    n0 = 0.0
    n1 = 0.0
    n2 = 0.0
    sw = 0.0
    for k in range(x.size):
        u = (x[k] - c) * inv_s
        ek = _exp_neg(0.5 * u * u)
        eu = ek * u
        eu2 = eu * u
        wk = w[k]
        r = y[k] - (a * ek + o)
        # a dropped point (w = 0) adds nothing even where the model is not finite
        wr = wk * r if wk != 0.0 else 0.0
        cost += wr * r if wk != 0.0 else 0.0
        g0 += wr * ek
        g1 += wr * eu
        g2 += wr * eu2
        g3 += wr
        we = wk * ek
        weu = wk * eu
        weu2 = wk * eu2
        m0 += we * ek
        m1 += we * eu
        m2 += weu * eu
        m3 += weu * eu2
        m4 += weu2 * eu2
        n0 += we
        n1 += weu
        n2 += weu2
        sw += wk
    return cost, g0, g1, g2, g3, m0, m1, m2, m3, m4, n0, n1, n2, sw


@njit(cache=True, inline="always", fastmath={"reassoc", "contract"})
def gauss_moments_unit(x, y, a, c, s, o, e):
    """`gauss_moments` for unit weights (no weights given): fewer operations per point, and
    the exps in a first pass into e (M,) (two short loops keep their values in registers)."""
    inv_s = 1.0 / s
    cost = 0.0
    g0 = 0.0
    g1 = 0.0
    g2 = 0.0
    g3 = 0.0
    m0 = 0.0
    m1 = 0.0
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    n0 = 0.0
    n1 = 0.0
    n2 = 0.0
    for k in range(x.size):
        u = (x[k] - c) * inv_s
        e[k] = _exp_neg(0.5 * u * u)
    for k in range(x.size):
        u = (x[k] - c) * inv_s
        ek = e[k]
        eu = ek * u
        eu2 = eu * u
        r = y[k] - (a * ek + o)
        cost += r * r
        g0 += r * ek
        g1 += r * eu
        g2 += r * eu2
        g3 += r
        m0 += ek * ek
        m1 += ek * eu
        m2 += eu * eu
        m3 += eu * eu2
        m4 += eu2 * eu2
        n0 += ek
        n1 += eu
        n2 += eu2
    return cost, g0, g1, g2, g3, m0, m1, m2, m3, m4, n0, n1, n2, float(x.size)


@njit(cache=True, fastmath={"reassoc", "contract"})
def gauss_sums(x, y, w, unit_w, a, c, s, o, e):
    """The 14 sums of `gauss_moments` (unit_w: every weight is 1, `gauss_moments_unit` with
    the work array e (M,)) for amplitude a, center c, sigma s and offset o."""
    if unit_w:
        return gauss_moments_unit(x, y, a, c, s, o, e)
    return gauss_moments(x, y, w, a, c, s, o)


@njit(cache=True, inline="always")
def gauss_normal(off, x, y, w, unit_w, p, e, A, g):
    """Fused chi-square, A = J^T W J and g = J^T W (y - f) of the Gaussian (off: + offset) at p.

    One vectorized pass over the points (`gauss_sums`); no Jacobian is stored. unit_w:
    every weight is 1 (the unweighted loop); e (M,) is a work array. Returns (cost, ok): cost
    is +inf when not finite, ok is False when A or g is not finite.
    """
    a = p[0]
    s = p[2]
    S = gauss_sums(x, y, w, unit_w, a, p[1], s, p[3] if off else 0.0, e)
    cost = S[0]
    if not math.isfinite(cost):
        cost = np.inf
    b = a / s
    g[0] = S[1]
    g[1] = b * S[2]
    g[2] = b * S[3]
    A[0, 0] = S[5]
    A[1, 0] = b * S[6]
    A[2, 0] = b * S[7]
    A[1, 1] = b * b * S[7]
    A[2, 1] = b * b * S[8]
    A[2, 2] = b * b * S[9]
    npar = 3
    if off:
        npar = 4
        g[3] = S[4]
        A[3, 0] = S[10]
        A[3, 1] = b * S[11]
        A[3, 2] = b * S[12]
        A[3, 3] = S[13]
    # one finiteness test: a sum of magnitudes is finite only if every term is
    tot = 0.0
    for i in range(npar):
        tot += abs(g[i])
        for j in range(i):
            A[j, i] = A[i, j]
        for j in range(i + 1):
            tot += abs(A[i, j])
    return cost, math.isfinite(tot)
