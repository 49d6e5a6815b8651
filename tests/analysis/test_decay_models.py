"""Non-exponential decay models: limits, recovery, and agreement with the exponential fit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polase.analysis.decay import _model_callable, decay_kernel, fit_decay, fit_decay_model

M = 800
DT = 0.05
T = (np.arange(M) + 0.5) * DT


def _irf():
    g = np.exp(-0.5 * ((T - 3.0) / 0.08) ** 2)
    return g / g.sum()


def test_kernels_against_closed_forms():
    lag = np.arange(200) * 0.1
    # lognormal with a vanishing width is one exponential; stretched with beta = 1 too
    np.testing.assert_allclose(
        decay_kernel("lognormal", lag, [[2.0, 3.0, 1e-6]]), [2 * np.exp(-lag / 3.0)], rtol=1e-9
    )
    np.testing.assert_allclose(
        decay_kernel("stretched", lag, [[1.0, 3.0, 1.0]]), [np.exp(-lag / 3.0)], rtol=1e-12
    )
    # lognormal: the time integral is the mean lifetime tau_m exp(sigma^2 / 2)
    lag_f = np.linspace(0, 400, 400001)
    k = decay_kernel("lognormal", lag_f, [[1.0, 2.0, 0.5]])[0]
    integral = np.sum((k[1:] + k[:-1]) / 2) * (lag_f[1] - lag_f[0])
    assert integral == pytest.approx(2.0 * math.exp(0.125), rel=1e-4)
    # stretched: integral tau Gamma(1/beta) / beta
    k = decay_kernel("stretched", lag_f, [[1.0, 2.0, 0.6]])[0]
    integral = np.sum((k[1:] + k[:-1]) / 2) * (lag_f[1] - lag_f[0])
    assert integral == pytest.approx(2.0 * math.gamma(1 / 0.6) / 0.6, rel=2e-3)


def test_stretched_beta_one_equals_the_exponential_reconvolution(rng):
    from polase.fitting import reconvolution_model

    model = reconvolution_model(_irf(), T, 1)
    y = rng.poisson(model(T, np.array([3000.0, 2.2, 0.03, 2.0, 0.0]))).astype(float)
    f = _model_callable("stretched", T, _irf(), None)
    p = np.array([[3000.0, 2.2, 1.0, 0.03, 2.0]])
    np.testing.assert_allclose(f(T, p)[0], model(T, np.array([3000.0, 2.2, 0.03, 2.0, 0.0])),
                               rtol=1e-9, atol=1e-9)  # fmt: skip
    exp_fit = fit_decay(T, y, _irf(), 1)
    st = fit_decay_model(T, y, _irf(), "stretched", p0={"beta": 1.0})[0]
    assert st["params"]["beta"] == pytest.approx(1.0, abs=0.03)
    assert st["tau_mean_ns"] == pytest.approx(exp_fit["tau_ns"][0], rel=0.02)


@pytest.mark.parametrize(
    ("model", "true"),
    [
        ("stretched", {"a": 3000.0, "tau": 1.5, "beta": 0.6}),
        ("lognormal", {"a": 3000.0, "tau_median": 1.8, "sigma": 0.6}),
        ("rise", {"a": 3000.0, "tau_rise": 0.4, "tau_decay": 3.0}),
    ],
)
def test_models_recover_their_parameters(model, true):
    f = _model_callable(model, T, _irf(), 80.0)
    p = np.array([[*true.values(), 0.02, 2.0]])
    hits = []
    for seed in range(8):
        y = np.random.default_rng(seed).poisson(f(T, p)[0]).astype(float)
        fit = fit_decay_model(T, y, _irf(), model, 80.0)[0]
        assert fit["success"], fit
        for name, v in true.items():
            assert fit["params"][name] == pytest.approx(v, rel=0.1)
            lo, hi = fit["ci95"][name]
            hits.append(lo <= v <= hi)
    assert np.mean(hits) >= 0.75  # 24 intervals: a loose check of their calibration
