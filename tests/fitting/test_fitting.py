"""polase.fitting: models, agreement with scipy, Poisson MLE, bounds, masks and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special

from polase.errors import DataValidationError, FitError
from polase.fitting import (
    BatchFitResult,
    FitStatus,
    Model,
    band_sum_model,
    channel_irf,
    curve_fit_batch,
    fwhm_from_params,
    get_model,
    guess,
    reconvolution_model,
    voigt_fwhm,
)

X = np.linspace(-5.0, 5.0, 120)
T = np.arange(256) * 0.05  # TCSPC channels [ns]
IRF = np.exp(-0.5 * ((T - 1.0) / 0.06) ** 2)


def _fd_jacobian(model, x, p, h=1e-6):
    cols = []
    for j in range(p.size):
        step = h * max(abs(p[j]), 1e-3)
        e = np.zeros_like(p)
        e[j] = step
        cols.append((model(x, p + e) - model(x, p - e)) / (2 * step))
    return np.column_stack(cols)


JAC_CASES = [
    ("gaussian", X, [3.0, 0.2, 0.7]),
    ("gaussian_offset", X, [3.0, 0.2, 0.7, 1.0]),
    ("lorentzian", X, [3.0, 0.2, 0.5]),
    ("pseudo_voigt", X, [3.0, 0.2, 0.9, 0.3]),
    ("exp1", T, [3.0, 2.0, 0.5]),
    ("exp3", T, [3.0, 0.5, 2.0, 1.5, 1.0, 4.0, 0.2]),
    (
        band_sum_model(["gaussian", "lorentzian", "pseudo_voigt"], "linear"),
        X,
        [3, 0.2, 0.7, 1, -1, 0.3, 2, 1, 0.5, 0.4, 0.1, 0.02],
    ),
    (reconvolution_model(IRF, T, 1), T, [100.0, 2.0, 0.03, 2.0, 0.05]),
    (reconvolution_model(IRF, T, 2, period_ns=12.8), T, [100.0, 2.0, 50.0, 0.7, 0.03, 2.0, 0.05]),
    (
        reconvolution_model(IRF, T, 3, period_ns=20.0),
        T,
        [100.0, 2.0, 50.0, 0.7, 20.0, 6.0, -0.02, 1.0, 0.1],
    ),
]


@pytest.mark.parametrize("case", range(len(JAC_CASES)))
def test_analytic_jacobian_matches_finite_differences(case):
    name, x, p = JAC_CASES[case]
    model = get_model(name)
    p = np.asarray(p, float)
    J = model.jacobian(x, p)[0]
    Jn = _fd_jacobian(model, x, p)
    scale = np.abs(Jn).max(axis=0) + 1e-12
    np.testing.assert_array_less(np.abs(J - Jn).max(axis=0) / scale, 1e-6)


def _channel_lag_weights(dt, tau, m):
    """Counts in the channel l = 0, 1, .. after an excitation spread uniformly over channel 0,
    for the emission exp(-t / tau) of onset height 1 per channel (the exact double integral)."""
    r = tau / dt
    em = -np.expm1(-dt / tau)
    w = r**2 * em**2 * np.exp(-(np.arange(m) - 1) * dt / tau)
    w[0] = r - r**2 * em
    return w


def test_reconvolution_is_the_channel_integrated_convolution():
    """Recursion == direct discrete convolution with the channel-integrated exponential;
    periodic == explicit sum over earlier pulses; the weights == brute-force quadrature."""
    tau, a, dt = 1.7, 50.0, T[1] - T[0]
    irf_n = channel_irf(IRF)
    w = _channel_lag_weights(dt, tau, T.size)
    # the weights are what a histogram counts: excitation uniform over a channel, emission
    # integrated over whole channels (midpoint quadrature over both times)
    u = (np.arange(2000) + 0.5) / 2000 * dt
    for lag in (0, 1, 5):
        d = lag * dt + u[:, None] - u[None, :]  # emission minus excitation time
        inside = np.where(d > 0, 1.0, np.where(d == 0, 0.5, 0.0))  # the diagonal: half
        quad = np.mean(inside * np.exp(-np.clip(d, 0, None) / tau)) * a
        assert a * w[lag] == pytest.approx(quad, rel=1e-5)
    # all the emission is counted, F = a tau / dt per pulse
    assert a * _channel_lag_weights(dt, tau, 20000).sum() == pytest.approx(a * tau / dt, rel=1e-9)
    single = a * np.convolve(irf_n, w)[: T.size]
    m1 = reconvolution_model(IRF, T, 1)
    np.testing.assert_allclose(m1(T, [a, tau, 0.0, 0.0, 0.0]), single, rtol=1e-12, atol=1e-12)
    # integer shift by 3 channels = IRF moved by 3 channels
    shifted = a * np.convolve(np.concatenate([np.zeros(3), irf_n[:-3]]), w)[: T.size]
    np.testing.assert_allclose(m1(T, [a, tau, 3 * dt, 0.0, 0.0]), shifted, rtol=1e-9, atol=1e-12)
    # periodic: every earlier pulse n contributes its full IRF, delayed by n * period
    period = 15.0
    k = np.arange(T.size)
    lag = (k[:, None] - k[None, :]) * dt  # t_k - t_j, all j
    b = w[1]
    earlier = sum(b * np.exp(-(lag + n * period - dt) / tau) @ irf_n for n in range(1, 80))
    mp = reconvolution_model(IRF, T, 1, period_ns=period)
    np.testing.assert_allclose(mp(T, [a, tau, 0.0, 0.0, 0.0]), single + a * earlier, rtol=1e-10)
    # background and scatter (F: the total fluorescence count per pulse)
    F = a * tau / dt
    np.testing.assert_allclose(
        m1(T, [a, tau, 0.0, 2.0, 0.1]), single + 2.0 + 0.1 * F * irf_n, rtol=1e-12
    )


def test_channel_irf_removes_the_spread_variance_and_keeps_sum_and_mean():
    """Channel integrals of a Gaussian spread uniformly over each channel have w^2 / 6 more
    variance than the Gaussian; channel_irf takes it off and keeps the sum and the mean."""
    from scipy.stats import norm

    w, sigma, t0 = 0.05, 0.085, 3.013
    edges = np.arange(201) * w
    hist = np.diff(norm.cdf(edges, t0, sigma))
    centres = edges[:-1] + w / 2
    g = channel_irf(hist)
    assert g.sum() == pytest.approx(1.0, rel=1e-12)
    assert g.min() >= 0.0
    mean = np.sum(g * centres)
    assert mean == pytest.approx(t0, abs=1e-6 * w)
    # variance of the uniform-in-channel density = point variance + w^2 / 12
    var = np.sum(g * (centres - mean) ** 2) + w**2 / 12
    var_hist = np.sum(hist * (centres - t0) ** 2) + w**2 / 12
    assert var_hist == pytest.approx(sigma**2 + w**2 / 6, rel=1e-3)
    assert var == pytest.approx(sigma**2, rel=1e-3)


def test_reconvolution_rejects_bad_setup():
    with pytest.raises(FitError, match="uniform"):
        reconvolution_model(IRF, T**2, 1)
    with pytest.raises(FitError, match="period_ns"):
        reconvolution_model(IRF, T, 1, period_ns=5.0)
    with pytest.raises(FitError, match="equal length"):
        reconvolution_model(IRF[:-1], T, 1)
    m = reconvolution_model(IRF, T, 1)
    with pytest.raises(FitError, match="time grid"):
        curve_fit_batch(m, T * 2, np.ones(T.size), [1, 1, 0, 0, 0])


def _scipy_fit(f, x, y, p0, sigma=None):
    kw = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15, "maxfev": 20000}
    popt, pcov = optimize.curve_fit(
        f, x, y, p0, sigma=sigma, absolute_sigma=sigma is not None, **kw
    )
    return popt, np.sqrt(np.diag(pcov))


def _gauss_off(x, a, c, s, o):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2) + o


def _lor(x, a, c, g):
    return a * g**2 / ((x - c) ** 2 + g**2)


def _exp2(x, a1, t1, a2, t2, o):
    return a1 * np.exp(-x / t1) + a2 * np.exp(-x / t2) + o


SCIPY_CASES = [
    ("gaussian_offset", _gauss_off, X, [8.0, 0.3, 1.1, 0.5], 0.3),
    ("lorentzian", _lor, X, [5.0, -0.4, 0.6], 0.2),
    ("exp2", _exp2, T, [60.0, 0.5, 30.0, 3.0, 2.0], 1.0),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", range(len(SCIPY_CASES)))
def test_agrees_with_scipy_curve_fit(rng, case, weighted):
    name, f, x, p_true, noise = SCIPY_CASES[case]
    n = 12
    sigma = noise * (1 + 0.5 * rng.random((n, x.size)))
    y = f(x, *p_true)[None, :] + sigma * rng.normal(size=(n, x.size))
    p0 = np.asarray(p_true) * (1 + 0.05 * rng.normal(size=(n, len(p_true))))
    w = 1 / sigma**2 if weighted else None
    res = curve_fit_batch(name, x, y, p0, weights=w, xtol=1e-14, ftol=1e-15)
    assert res.success.all(), res.summary()
    for i in range(n):
        popt, perr = _scipy_fit(f, x, y[i], p0[i], sigma[i] if weighted else None)
        np.testing.assert_allclose(res.params[i], popt, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(res.stderr[i], perr, rtol=1e-3)
    np.testing.assert_allclose(res.redchi, res.cost / (x.size - len(p_true)))


def test_python_callable_path_matches_compiled(rng):
    """User callable (finite differences), user Jacobian and compiled model agree."""
    n = 30
    p_true = np.column_stack(
        [
            rng.uniform(4, 8, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0.5, 1.5, n),
            rng.uniform(0, 1, n),
        ]
    )
    y = get_model("gaussian_offset")(X, p_true) + 0.2 * rng.normal(size=(n, X.size))
    p0 = guess("gaussian_offset", X, y)

    def f(x, p):
        return p[:, [0]] * np.exp(-0.5 * ((x - p[:, [1]]) / p[:, [2]]) ** 2) + p[:, [3]]

    def jac(x, p):
        e = np.exp(-0.5 * ((x - p[:, [1]]) / p[:, [2]]) ** 2)
        u = (x - p[:, [1]]) / p[:, [2]]
        return np.stack(
            [e, p[:, [0]] * e * u / p[:, [2]], p[:, [0]] * e * u**2 / p[:, [2]], np.ones_like(e)],
            axis=-1,
        )

    kw = {"xtol": 1e-14, "ftol": 1e-15}
    ref = curve_fit_batch("gaussian_offset", X, y, p0, **kw)
    plain = curve_fit_batch(f, X, y, p0, **kw)
    with_jac = curve_fit_batch(Model(f, jac=jac, param_names=["a", "c", "s", "o"]), X, y, p0, **kw)
    for r in (plain, with_jac):
        assert r.success.all()
        np.testing.assert_allclose(r.params, ref.params, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(r.stderr, ref.stderr, rtol=1e-4)
    assert plain.param_names == ["p0", "p1", "p2", "p3"]


def test_voigt_fit_and_fwhm(rng):
    p_true = np.array([4.0, 0.3, 0.4, 0.25])
    m = get_model("voigt")
    clean = m(X, p_true)
    assert clean.max() == pytest.approx(4.0, rel=1e-3)  # amplitude is the peak height
    y = clean + 0.02 * rng.normal(size=X.size)
    res = curve_fit_batch("voigt", X, y, guess("voigt", X, y)[0])
    assert res.success[0]
    np.testing.assert_allclose(res.params[0], p_true, rtol=0.05)

    def f(x, a, c, s, g):
        return a * special.voigt_profile(x - c, s, g) / special.voigt_profile(0, s, g)

    popt, _ = _scipy_fit(f, X, y, res.params[0])
    np.testing.assert_allclose(res.params[0], popt, rtol=1e-5)
    # FWHM: Olivero-Longbothum within 0.05 % of the numerically measured width
    xf = np.linspace(-4, 4, 400001)
    prof = special.voigt_profile(xf, 0.4, 0.25)
    above = xf[prof >= prof.max() / 2]
    assert voigt_fwhm(0.4, 0.25) == pytest.approx(above[-1] - above[0], rel=5e-4)
    assert fwhm_from_params("voigt", [1, 0, 1e-9, 0.5]) == pytest.approx(1.0, rel=1e-5)
    assert fwhm_from_params("gaussian", [[1, 0, 2.0]])[0] == pytest.approx(
        2 * np.sqrt(2 * np.log(2)) * 2.0
    )
    assert fwhm_from_params("lorentzian", [1, 0, 0.7]) == pytest.approx(1.4)
    assert fwhm_from_params("pseudo_voigt", [1, 0, 0.9, 0.3]) == pytest.approx(0.9)


def test_lineshape_widths_are_what_the_names_say():
    """Half maximum of each built-in lineshape lies where fwhm_from_params says."""
    xf = np.linspace(-10, 10, 200001)
    for name, p in [
        ("gaussian", [2.0, 0.5, 1.3]),
        ("lorentzian", [2.0, 0.5, 0.8]),
        ("pseudo_voigt", [2.0, 0.5, 1.5, 0.4]),
    ]:
        prof = get_model(name)(xf, p)
        above = xf[prof >= 1.0]
        assert prof.max() == pytest.approx(2.0, rel=1e-8)
        assert above[-1] - above[0] == pytest.approx(fwhm_from_params(name, p), abs=2e-4)


@pytest.mark.parametrize(
    "name",
    ["gaussian", "gaussian_offset", "lorentzian", "pseudo_voigt", "voigt", "exp1", "exp2", "exp3"],
)
def test_guess_then_fit_recovers_noiseless_truth(name):
    truths = {
        "gaussian": [5.0, 0.7, 0.9],
        "gaussian_offset": [5.0, 0.7, 0.9, 1.5],
        "lorentzian": [5.0, -0.7, 0.6],
        "pseudo_voigt": [5.0, 0.2, 1.6, 0.3],
        "voigt": [5.0, 0.2, 0.5, 0.3],
        "exp1": [100.0, 2.0, 3.0],
        "exp2": [100.0, 0.5, 40.0, 3.0, 3.0],
        "exp3": [100.0, 0.3, 50.0, 1.5, 20.0, 6.0, 1.0],
    }
    x = T * 4 if name.startswith("exp") else X
    p_true = np.array(truths[name])
    y = get_model(name)(x, np.vstack([p_true, p_true * 1.1]))
    p0 = guess(name, x, y)
    assert p0.shape == (2, p_true.size)
    res = curve_fit_batch(name, x, y, p0, max_iter=500)
    assert res.success.all(), (res.summary(), p0, res.params)
    np.testing.assert_allclose(res.params[0], p_true, rtol=1e-6)
    np.testing.assert_allclose(res.params[1], p_true * 1.1, rtol=1e-6)


def test_band_decomposition_two_gaussians_constant_baseline(rng):
    """The analysis use: two Gaussian bands + constant baseline from `guess`, batched."""
    wl = np.linspace(500, 580, 300)
    m = band_sum_model(["gaussian", "gaussian"], baseline="constant")
    assert m.param_names == [
        "b0_amplitude",
        "b0_center",
        "b0_sigma",
        "b1_amplitude",
        "b1_center",
        "b1_sigma",
        "baseline_c0",
    ]
    n = 50
    p_true = np.column_stack([
        rng.uniform(50, 100, n), np.full(n, 533.0), np.full(n, 9.8),
        rng.uniform(20, 200, n), np.full(n, 543.0), np.full(n, 3.0), np.full(n, 5.0),
    ])  # fmt: skip
    y = m(wl, p_true) + rng.normal(0, 1.0, (n, wl.size))
    p0 = guess(m, wl, y)
    res = curve_fit_batch(m, wl, y, p0)
    assert res.success.all(), res.summary()
    err = np.abs(res.params - p_true)
    assert np.all(err < 6 * res.stderr + 1e-9)
    assert np.median(np.abs(res["b1_center"] - 543.0)) < 0.1


def test_poisson_mle_unbiased_where_weighted_lsq_is_biased():
    """1,000 decays of 1,000 counts: MLE lifetime bias < 1 %; Neyman-weighted LSQ is biased."""
    rng = np.random.default_rng(7)
    tau = 2.0
    m = reconvolution_model(IRF, T, 1, period_ns=12.8)
    unit = m(T, [1.0, tau, 0.0, 0.0, 0.0])
    bg = 20.0 / T.size
    mu = m(T, [980.0 / unit.sum(), tau, 0.0, bg, 0.0])
    assert mu.sum() == pytest.approx(1000.0)
    y = rng.poisson(mu, (1000, T.size)).astype(float)
    p0 = guess(m, T, y)
    kw = {
        "fixed": [False, False, True, False, True],
        "bounds": ([0, 0.01, -1, 0, 0], [np.inf, 100, 1, np.inf, 1]),
    }
    mle = curve_fit_batch(m, T, y, p0, loss="poisson", **kw)
    assert mle.success.all()
    t_mle = mle["tau1"]
    assert abs(t_mle.mean() / tau - 1) < 0.01
    # inverse Fisher information predicts the scatter of the estimates
    assert np.median(mle.stderr[:, 1]) == pytest.approx(t_mle.std(), rel=0.1)
    lsq = curve_fit_batch(m, T, y, p0, weights=1 / np.maximum(y, 1), **kw)
    assert lsq.success.all()
    assert lsq["tau1"].mean() / tau - 1 < -0.05  # biased low by > 5 %
    # cost is the deviance
    f = m(T, mle.params[:3])
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y[:3] > 0, y[:3] * np.log(f / y[:3]), 0.0)
    np.testing.assert_allclose(mle.cost[:3], 2 * np.sum(f - y[:3] - ylog, axis=1), rtol=1e-10)


def test_poisson_multi_exponential_reconvolution(rng):
    m = reconvolution_model(IRF, T, 2, period_ns=12.8)
    p_true = np.array([300.0, 0.4, 100.0, 2.5, 0.12, 1.0, 0.02])
    y = rng.poisson(m(T, p_true), (20, T.size)).astype(float)
    p0 = guess(m, T, y)
    lo = [0, 0.01, 0, 0.01, -1, 0, 0]
    hi = [np.inf, 50, np.inf, 50, 1, np.inf, 1]
    res = curve_fit_batch(m, T, y, p0, loss="poisson", bounds=(lo, hi))
    assert res.success.all(), res.summary()
    z = (res.params - p_true) / res.stderr
    assert np.all(np.abs(z[:, :4]) < 5)
    assert abs(np.median(res["tau2"]) / 2.5 - 1) < 0.05


def test_bounds_and_fixed(rng):
    y = get_model("gaussian_offset")(X, [5.0, 0.3, 1.0, 2.0]) + 0.05 * rng.normal(size=X.size)
    # the offset's best value 2 is outside [0, 1.5]: it ends on the bound, the rest adapt
    res = curve_fit_batch(
        "gaussian_offset", X, y, [4, 0, 1.2, 0.5], bounds=([0, -1, 0.1, 0], [10, 1, 5, 1.5])
    )
    assert res.success[0]
    assert res.params[0, 3] == 1.5
    # fixed: held at p0, zero stderr and one less free parameter
    res2 = curve_fit_batch(
        "gaussian_offset", X, y, [4, 0, 1.2, 2.0], fixed=[False, False, True, False]
    )
    assert res2.success[0]
    assert res2.params[0, 2] == 1.2
    assert res2.stderr[0, 2] == 0 and np.all(res2.cov[0, 2] == 0)
    assert res2.nfree[0] == X.size - 3
    # per-fit masks and bounds
    y2 = np.vstack([y, y])
    res3 = curve_fit_batch(
        "gaussian_offset", X, y2, [4, 0, 1.2, 2.0], fixed=[[False] * 4, [False, False, True, False]]
    )
    np.testing.assert_allclose(res3.params[1], res2.params[0], rtol=1e-9)
    assert res3.params[0, 2] != 1.2
    with pytest.raises(DataValidationError, match="outside bounds"):
        curve_fit_batch(
            "gaussian_offset", X, y, [4, 0, 1.2, 2.0], bounds=([0, -1, 0.1, 0], [10, 1, 5, 1.5])
        )
    with pytest.raises(DataValidationError, match="lower bound > upper"):
        curve_fit_batch("gaussian", X, y, [4, 0, 1.2], bounds=([0, 1, 0], [10, -1, 5]))


def test_nan_policy(rng):
    y = get_model("gaussian")(X, np.array([[5.0, 0.3, 1.0]] * 3)) + 0.05 * rng.normal(
        size=(3, X.size)
    )
    y[0, 10] = np.nan
    y[1] = np.nan
    with pytest.raises(DataValidationError, match="fit 0 at point 10"):
        curve_fit_batch("gaussian", X, y, [4, 0, 1.2])
    res = curve_fit_batch("gaussian", X, y, [4, 0, 1.2], nan_policy="omit")
    assert list(res.status) == [FitStatus.CONVERGED, FitStatus.NONFINITE_INPUT, FitStatus.CONVERGED]
    assert np.isnan(res.params[1]).all()
    keep = np.isfinite(y[0])
    sub = curve_fit_batch("gaussian", X[keep], y[0, keep], [4, 0, 1.2])
    np.testing.assert_allclose(res.params[0], sub.params[0], rtol=1e-12)
    assert res.nfree[0] == keep.sum() - 3
    p0 = np.array([[4, 0, 1.2], [4, 0, 1.2], [np.nan, 0, 1]])
    with pytest.raises(DataValidationError, match="p0 is not finite for fit 2"):
        curve_fit_batch("gaussian", X, np.nan_to_num(y), p0)
    res2 = curve_fit_batch("gaussian", X, np.nan_to_num(y), p0, nan_policy="omit")
    assert res2.status[2] == FitStatus.NONFINITE_INPUT


def test_statuses_never_stop_the_batch(rng):
    good = get_model("gaussian")(X, [5.0, 0.3, 1.0]) + 0.05 * rng.normal(size=X.size)
    zero = np.zeros(X.size)
    y = np.vstack([good, zero, good])
    # exact zero data with zero amplitude: center and width are not identifiable
    p0 = np.array([[4, 0, 1.2], [0.0, 0.0, 1.0], [4, 0, 1.2]])
    res = curve_fit_batch("gaussian", X, y, p0)
    assert res.status[1] == FitStatus.SINGULAR and np.isnan(res.stderr[1]).all()
    assert res.success[[0, 2]].all()
    res = curve_fit_batch("gaussian", X, y, [4, 0, 1.2], max_iter=1)
    assert (res.status == FitStatus.MAX_ITER).any() and res.n_iter.max() == 1
    # Poisson: an all-zero decay is not fittable; other decays are unaffected
    m = reconvolution_model(IRF, T, 1)
    counts = rng.poisson(m(T, [50, 2, 0, 0.1, 0]), (3, T.size)).astype(float)
    counts[1] = 0
    p0 = guess(m, T, counts)
    res = curve_fit_batch(
        m, T, counts, p0, loss="poisson", bounds=([0, 0.01, -1, 0, 0], [np.inf, 50, 1, np.inf, 1])
    )
    assert res.status[1] == FitStatus.INVALID_INPUT and np.isnan(res.params[1]).all()
    assert res.success[[0, 2]].all()
    with pytest.raises(DataValidationError, match="counts >= 0"):
        curve_fit_batch(m, T, -counts, p0, loss="poisson")
    # model not admissible at p0 (zero where counts > 0)
    res = curve_fit_batch(m, T, counts[:1], [0, 2, 0, 0, 0], loss="poisson")
    assert res.status[0] == FitStatus.INVALID_INPUT
    # fewer points than free parameters
    res = curve_fit_batch("gaussian", X[:2], good[:2], [4, 0, 1.2])
    assert res.status[0] == FitStatus.INVALID_INPUT


def test_bad_input_errors():
    y = np.ones((4, X.size))
    with pytest.raises(DataValidationError, match="x has shape"):
        curve_fit_batch("gaussian", X[:-1], y, [1, 0, 1])
    with pytest.raises(DataValidationError, match="p0"):
        curve_fit_batch("gaussian", X, y, [1, 0, 1, 5])
    with pytest.raises(DataValidationError, match="p0"):
        curve_fit_batch("gaussian", X, y, np.ones((3, 3)))
    with pytest.raises(DataValidationError, match="weights"):
        curve_fit_batch("gaussian", X, y, [1, 0, 1], weights=np.ones(5))
    with pytest.raises(DataValidationError, match="weights must be >= 0"):
        curve_fit_batch("gaussian", X, y, [1, 0, 1], weights=-np.ones(X.size))
    with pytest.raises(DataValidationError, match="y must be"):
        curve_fit_batch("gaussian", X, np.ones((2, 3, 4)), [1, 0, 1])
    with pytest.raises(FitError, match="unknown model"):
        curve_fit_batch("gauss", X, y, [1, 0, 1])
    with pytest.raises(FitError, match="loss"):
        curve_fit_batch("gaussian", X, y, [1, 0, 1], loss="l1")
    with pytest.raises(FitError, match="nan_policy"):
        curve_fit_batch("gaussian", X, y, [1, 0, 1], nan_policy="propagate")
    with pytest.raises(FitError, match="returned shape"):
        curve_fit_batch(lambda x, p: np.ones(7), X, y, [1.0])
    with pytest.raises(FitError, match="unknown band"):
        band_sum_model(["gauss"])


def test_chunking_per_fit_x_and_result_container(rng):
    n = 23
    p_true = np.column_stack(
        [rng.uniform(4, 8, n), rng.uniform(-1, 1, n), rng.uniform(0.5, 1.5, n)]
    )
    xs = X[None, :] + rng.uniform(-0.5, 0.5, (n, 1))  # per-fit abscissa
    y = get_model("gaussian")(xs, p_true) + 0.05 * rng.normal(size=(n, X.size))
    p0 = guess("gaussian", xs, y)
    whole = curve_fit_batch("gaussian", xs, y, p0)
    chunked = curve_fit_batch("gaussian", xs, y, p0, chunk_size=5)
    np.testing.assert_array_equal(whole.params, chunked.params)
    np.testing.assert_array_equal(whole.status, chunked.status)
    one = curve_fit_batch("gaussian", xs[7], y[7], p0[7])
    np.testing.assert_allclose(one.params[0], whole.params[7], rtol=1e-12)
    assert isinstance(whole, BatchFitResult) and len(whole) == n
    assert whole.summary() == {"CONVERGED": n}
    np.testing.assert_array_equal(whole["center"], whole.params[:, 1])
    ds = whole.to_dataset()
    assert ds["params"].shape == (n, 3) and list(ds["param"].values) == [
        "amplitude",
        "center",
        "sigma",
    ]
    assert bool(ds["success"].all())


def test_noiseless_data_exact_recovery():
    p_true = np.array([[7.0, 0.1, 0.8, 0.3], [2.0, -1.0, 1.7, -0.2]])
    y = get_model("gaussian_offset")(X, p_true)
    res = curve_fit_batch("gaussian_offset", X, y, p_true * 1.2)
    assert res.success.all()
    np.testing.assert_allclose(res.params, p_true, rtol=1e-10, atol=1e-12)
    assert np.all(res.cost < 1e-20)


def test_geodesic_acceleration_same_minimum_compiled_and_python(rng, capsys):
    n = 40
    p_true = np.column_stack(
        [
            rng.uniform(4, 8, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0.5, 1.5, n),
            rng.uniform(0, 1, n),
        ]
    )
    y = get_model("gaussian_offset")(X, p_true) + 0.2 * rng.normal(size=(n, X.size))
    p0 = p_true * rng.uniform(0.7, 1.3, p_true.shape)  # far-ish starts, not from guess
    kw = {"xtol": 1e-14, "ftol": 1e-15}
    plain = curve_fit_batch("gaussian_offset", X, y, p0, **kw)
    geo = curve_fit_batch("gaussian_offset", X, y, p0, geodesic=True, progress=True, **kw)
    assert "curve_fit_batch: 40/40 fits" in capsys.readouterr().err
    assert plain.success.all() and geo.success.all()
    # both stop where the Newton decrement is <= ftol * cost, i.e. within
    # sqrt(ftol * nfree) standard errors of the minimum (2x: both may sit on either side)
    tol = 2 * np.sqrt(kw["ftol"] * plain.nfree[:, None]) * plain.stderr
    assert np.all(np.abs(geo.params - plain.params) <= tol)

    def f(x, p):
        return p[:, [0]] * np.exp(-0.5 * ((x - p[:, [1]]) / p[:, [2]]) ** 2) + p[:, [3]]

    geo_py = curve_fit_batch(f, X, y, p0, geodesic=True, **kw)
    assert geo_py.success.all()
    assert np.all(np.abs(geo_py.params - plain.params) <= tol)
    # Poisson with geodesic acceleration on the compiled reconvolution model
    m = reconvolution_model(IRF, T, 1, period_ns=12.8)
    counts = rng.poisson(m(T, [40.0, 1.5, 0.0, 0.3, 0.0]), (10, T.size)).astype(float)
    kwp = {
        "loss": "poisson",
        "fixed": [False, False, True, False, True],
        "bounds": ([0, 0.01, -1, 0, 0], [np.inf, 50, 1, np.inf, 1]),
    }
    a = curve_fit_batch(m, T, counts, guess(m, T, counts), **kwp, **kw)
    b = curve_fit_batch(m, T, counts, guess(m, T, counts), geodesic=True, **kwp, **kw)
    assert a.success.all() and b.success.all()
    assert np.all(np.abs(b.params - a.params) <= 1e-4 * a.stderr)


def test_uniform_grid_fast_path_matches_general_path(rng):
    """Gaussians on a uniform grid use an exp recurrence; a jittered grid uses direct exps."""
    n = 20
    p_true = np.column_stack(
        [
            rng.uniform(4, 8, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0.5, 1.5, n),
            rng.uniform(0, 1, n),
        ]
    )
    xj = X.copy()
    xj[5] += 1e-9  # no longer uniform to 1e-12: general path
    y = get_model("gaussian_offset")(X, p_true) + 0.2 * rng.normal(size=(n, X.size))
    p0 = guess("gaussian_offset", X, y)
    fast = curve_fit_batch("gaussian_offset", X, y, p0, xtol=1e-14, ftol=1e-15)
    slow = curve_fit_batch("gaussian_offset", xj, y, p0, xtol=1e-14, ftol=1e-15)
    np.testing.assert_allclose(fast.params, slow.params, rtol=1e-7)
    np.testing.assert_allclose(fast.cost, slow.cost, rtol=1e-9)


@pytest.mark.parametrize("variant", ["unit", "weights", "bounds_fixed", "omit"])
def test_fused_gaussian_kernel_matches_generic_path(rng, variant):
    """gaussian_offset LSQ runs a fused kernel (no stored Jacobian); a one-band Gaussian band
    sum with a constant baseline is the same model through the generic normal equations."""
    n = 30
    p_true = np.column_stack(
        [
            rng.uniform(4, 8, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0.5, 1.5, n),
            rng.uniform(0, 1, n),
        ]
    )
    y = get_model("gaussian_offset")(X, p_true) + 0.2 * rng.normal(size=(n, X.size))
    p0 = guess("gaussian_offset", X, y)
    kw = {"xtol": 1e-14, "ftol": 1e-15}
    if variant == "weights":
        w = rng.uniform(0.5, 2.0, (n, X.size))
        w[:, ::7] = 0.0  # dropped points
        kw["weights"] = w
    elif variant == "bounds_fixed":
        kw["bounds"] = ([0, -np.inf, 0.9, -np.inf], [np.inf, np.inf, np.inf, 0.5])
        kw["fixed"] = [False, False, False, False]
        p0[:, 2] = np.maximum(p0[:, 2], 0.9)
        p0[:, 3] = np.minimum(p0[:, 3], 0.5)
    elif variant == "omit":
        y[::3, 10:14] = np.nan
        kw["nan_policy"] = "omit"
    fused = curve_fit_batch("gaussian_offset", X, y, p0, **kw)
    generic = curve_fit_batch(band_sum_model(["gaussian"], "constant"), X, y, p0, **kw)
    np.testing.assert_array_equal(fused.status, generic.status)
    np.testing.assert_allclose(fused.params, generic.params, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(fused.cost, generic.cost, rtol=1e-9)
    np.testing.assert_allclose(fused.stderr, generic.stderr, rtol=1e-6)
    if variant == "bounds_fixed":
        assert np.all(fused.params[:, 2] >= 0.9) and np.all(fused.params[:, 3] <= 0.5)
        # fixed mask through the fused path
        fx = curve_fit_batch("gaussian_offset", X, y, p0, fixed=[False, False, True, False])
        np.testing.assert_array_equal(fx.params[:, 2], p0[:, 2])
        assert np.all(fx.stderr[:, 2] == 0.0)


def test_fused_gaussian_without_offset_matches_generic_path(rng, monkeypatch):
    """The fused kernel with P = 3 (gaussian) against a one-band sum without baseline, on the
    one-thread and the parallel kernel (the parallel threshold lowered for the whole batch)."""
    import polase.fitting.core as core

    n = 6000
    p_true = np.column_stack(
        [rng.uniform(4, 8, n), rng.uniform(-1, 1, n), rng.uniform(0.5, 1.5, n)]
    )
    y = get_model("gaussian")(X, p_true) + 0.2 * rng.normal(size=(n, X.size))
    p0 = guess("gaussian", X, y)
    kw = {"xtol": 1e-14, "ftol": 1e-15, "bounds": ([0, -np.inf, 0.6], np.inf)}
    p0[:, 2] = np.maximum(p0[:, 2], 0.6)
    generic = curve_fit_batch(band_sum_model(["gaussian"], "none"), X, y, p0, **kw)
    for rows, min_work in ((slice(0, 20), 10**12), (slice(None), 0)):  # serial, parallel
        monkeypatch.setattr(core, "_PARALLEL_MIN_WORK", min_work)
        fused = curve_fit_batch("gaussian", X, y[rows], p0[rows], **kw)
        np.testing.assert_array_equal(fused.status, generic.status[rows])
        np.testing.assert_allclose(fused.params, generic.params[rows], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(fused.cost, generic.cost[rows], rtol=1e-9)
        np.testing.assert_allclose(fused.stderr, generic.stderr[rows], rtol=1e-6)
    assert np.all(fused.params[:, 2] >= 0.6) and fused.success.mean() > 0.99


def test_vectorizable_exp_matches_libm():
    """The fused kernel's exp(-v): ~ulp accuracy, subnormal tail, inf -> 0, NaN -> NaN."""
    from numba import njit

    from polase.fitting._kernels import _exp_neg

    @njit
    def ev(v):
        out = np.empty_like(v)
        for k in range(v.size):
            out[k] = _exp_neg(v[k])
        return out

    v = np.concatenate([np.linspace(0.0, 700.0, 100_001), np.random.default_rng(1).random(1000)])
    np.testing.assert_allclose(ev(v), np.exp(-v), rtol=5e-16, atol=0)
    tail = np.linspace(700.0, 760.0, 10_001)  # down to and past the smallest subnormal
    np.testing.assert_allclose(ev(tail), np.exp(-tail), rtol=5e-16, atol=2e-323)
    out = ev(np.array([np.inf, np.nan, 1e300]))
    assert out[0] == 0.0 and np.isnan(out[1]) and out[2] == 0.0
