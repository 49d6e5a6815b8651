"""User scalar models compiled into the LM kernel (`polase.fitting.compile_model`)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polase.errors import FitError
from polase.fitting import compile_model, curve_fit_batch, get_model, guess

X = np.linspace(-5.0, 5.0, 150)


def gauss_off(x, a, c, s, o):
    return a * math.exp(-0.5 * ((x - c) / s) ** 2) + o


def _data(rng, n=200):
    truth = np.column_stack(
        [
            rng.uniform(5, 10, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0.5, 1.5, n),
            rng.uniform(0, 2, n),
        ]
    )
    y = get_model("gaussian_offset")(X, truth) + rng.normal(0, 0.3, (n, X.size))
    return truth, y


@pytest.fixture(scope="module")
def gauss_model():
    return compile_model(gauss_off)


def test_symbolic_model_equals_builtin(rng, gauss_model):
    assert gauss_model.jacobian_kind == "symbolic"
    assert gauss_model.param_names == ["a", "c", "s", "o"]
    _, y = _data(rng)
    p0 = guess("gaussian_offset", X, y)
    user = curve_fit_batch(gauss_model, X, y, p0)
    builtin = curve_fit_batch("gaussian_offset", X, y, p0)
    assert user.success.all() and builtin.success.all()
    # the fused sums differ at the rounding level, so the two may stop one step apart:
    # both within sqrt(ftol * nfree) standard errors of the minimum (default ftol 1e-15)
    tol = 2 * np.sqrt(1e-15 * builtin.nfree[:, None]) * builtin.stderr
    assert np.all(np.abs(user.params - builtin.params) <= tol)
    np.testing.assert_allclose(user.stderr, builtin.stderr, rtol=1e-6)
    # a plain scalar function passed to curve_fit_batch is compiled the same way
    direct = curve_fit_batch(gauss_off, X, y, p0)
    np.testing.assert_array_equal(direct.params, user.params)


def test_symbolic_jacobian_matches_finite_differences(gauss_model):
    p = np.array([[3.0, 0.4, 1.1, 0.2], [1.0, -2.0, 0.6, -1.0]])
    J = gauss_model.jacobian(X, p)
    f = gauss_model(X, p)
    np.testing.assert_allclose(f, get_model("gaussian_offset")(X, p), rtol=1e-14)
    for j in range(4):
        h = 1e-6 * max(abs(p[0, j]), 1.0)
        dp = np.zeros(4)
        dp[j] = h
        fd = (gauss_model(X, p[0] + dp) - gauss_model(X, p[0] - dp)) / (2 * h)
        np.testing.assert_allclose(J[0, :, j], fd, rtol=1e-6, atol=1e-8)


def ramp(x, t0, k, b):
    # a branch on the value: sympy cannot trace it, the compiled central differences take over
    if x < t0:
        return b
    return b + k * (x - t0) ** 2


def test_untraceable_model_uses_compiled_differences(rng):
    m = compile_model(ramp)
    assert m.jacobian_kind == "numeric"
    truth = np.array([[-1.0, 0.5, 2.0], [0.5, 1.5, -1.0]])
    y = np.array([[ramp(x, *t) for x in X] for t in truth])
    res = curve_fit_batch(m, X, y, truth * np.array([0.8, 1.2, 0.9]))
    assert res.success.all()
    np.testing.assert_allclose(res.params, truth, rtol=1e-6, atol=1e-8)
    with pytest.raises(FitError, match="sympy cannot differentiate"):
        compile_model(ramp, jacobian="symbolic")


def decay(x, a, tau):
    return a * math.exp(-x / tau)


def d_a(x, a, tau):
    return math.exp(-x / tau)


def d_tau(x, a, tau):
    return a * x / tau**2 * math.exp(-x / tau)


def test_user_derivatives_agree_with_symbolic(rng):
    t = np.linspace(0, 10, 80)
    truth = np.column_stack([rng.uniform(50, 100, 30), rng.uniform(1, 3, 30)])
    y = truth[:, [0]] * np.exp(-t / truth[:, [1]])
    y = rng.poisson(y).astype(float)
    given = compile_model(decay, [d_a, d_tau])
    assert given.jacobian_kind == "derivatives"
    sym = compile_model(decay)
    assert sym.jacobian_kind == "symbolic"
    p0 = np.array([60.0, 2.0])
    a = curve_fit_batch(given, t, y, p0, loss="poisson")
    b = curve_fit_batch(sym, t, y, p0, loss="poisson")
    assert a.success.all() and b.success.all()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-8)
    with pytest.raises(FitError, match="1 derivatives given for 2 parameters"):
        compile_model(decay, [d_a])


def _helper(v):
    return float(v)  # fine in Python, not for sympy symbols


def rejected(x, a, b):
    y = a * x + b
    return y + _helper(x)  # numba: untyped global (a plain Python function)


def test_numba_rejection_names_the_line():
    line = rejected.__code__.co_firstlineno + 2
    with pytest.raises(FitError) as err:
        compile_model(rejected)
    msg = str(err.value)
    assert f"line {line}" in msg and "rejected" in msg
    assert "_helper(x)" in msg


def test_signature_errors():
    with pytest.raises(FitError, match="at least one parameter"):
        compile_model(lambda x: x)
    with pytest.raises(FitError, match="only positional"):
        compile_model(lambda x, *p: x)


def test_vectorised_callables_keep_their_meaning(rng):
    """f(x, params) and f(x, params, option=...) stay on the vectorised (numpy) path."""

    def line(x, p, scale=1.0):
        return scale * (p[:, [0]] * x + p[:, [1]])

    y = 2.0 * X[None, :] - 1.0 + 0.01 * rng.normal(size=(3, X.size))
    res = curve_fit_batch(line, X, y, [1.0, 0.0])
    assert res.success.all() and res.param_names == ["p0", "p1"]
    np.testing.assert_allclose(res.params, [[2.0, -1.0]] * 3, atol=0.01)
