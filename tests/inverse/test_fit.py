"""Global fit on the analytic toy model: recovery, uncertainties, profiles, nuisances."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polase.errors import FitError
from polase.inverse import ToyModel, fit, observations_from_samples, profile_likelihood
from polase.inverse.fit import profiled_nuisance

FLUENCE = np.arange(4.0, 20.01, 1.0)
ANGLES = [0.0, 15.0, 30.0, 45.0, 60.0, 75.0, 90.0]


def test_noiseless_data_give_the_truth_and_zero_chi2():
    m = ToyModel()
    obs = m.simulate(
        "orbit_orbit+dichroism", FLUENCE, ANGLES, repeats=3, seed=1, rel_noise=1e-9, abs_noise=1e-9
    )
    # replace the (tiny) noisy means by the exact model and keep their errors
    exact = (
        m.predict("orbit_orbit+dichroism", m.TRUTH, FLUENCE, ANGLES)
        * np.array([1e4, 3e3])[:, None, None]
    )
    from dataclasses import replace

    obs = replace(obs, y=exact, sigma=np.maximum(obs.sigma, 1e-6 * exact))
    r = fit(m, obs, "orbit_orbit+dichroism")
    for k in ("gain", "n_th", "kappa", "n_c", "delta"):
        assert r.values[k] == pytest.approx(m.TRUTH[k], rel=1e-4, abs=1e-6)
    assert r.scales == pytest.approx([1e4, 3e3], rel=1e-6)
    assert r.chi2 < 1e-6
    assert r.n_params == 5 + 2


def test_uncertainties_match_the_scatter_over_seeds():
    m = ToyModel()
    est, err = [], []
    for seed in range(12):
        obs = m.simulate("spin_channel", FLUENCE, ANGLES, repeats=5, seed=seed, rel_noise=0.02)
        r = fit(m, obs, "spin_channel")
        est.append(r.values["eta"])
        err.append(r.stderr["eta"])
    # the Jacobian standard error predicts the seed-to-seed scatter (within sampling error)
    assert np.std(est, ddof=1) / np.mean(err) == pytest.approx(1.0, abs=0.45)
    assert abs(np.mean(est) - m.TRUTH["eta"]) < 3 * np.mean(err)


def test_profile_likelihood_interval_agrees_with_jacobian_for_a_near_linear_parameter():
    m = ToyModel()
    obs = m.simulate("dichroism", FLUENCE, ANGLES, repeats=5, seed=3, rel_noise=0.02)
    r = fit(m, obs, "dichroism")
    prof = profile_likelihood(m, obs, r, "delta", n_points=7)
    assert prof["delta_chi2"].min() > -1e-3  # the best fit is the best
    lo, hi = prof["ci95"]
    jlo, jhi = r.ci95["delta"]
    assert lo == pytest.approx(jlo, rel=0.15) and hi == pytest.approx(jhi, rel=0.15)
    with pytest.raises(FitError, match="not free"):
        profile_likelihood(m, obs, r, "kappa")


def test_fixed_parameters_stay_and_dataset_holds_data_model_residuals():
    m = ToyModel()
    obs = m.simulate("orbit_orbit", FLUENCE, ANGLES, repeats=5, seed=4)
    p = m.parameters("orbit_orbit").set("n_c", value=0.6, vary=False)
    r = fit(m, obs, "orbit_orbit", p)
    assert r.values["n_c"] == 0.6 and "n_c" not in r.stderr
    ds = r.to_dataset(obs)
    assert set(ds.data_vars) >= {"data", "model", "sigma", "residual"}
    assert ds["residual"].dims == ("band", "fluence", "polarization")
    assert np.allclose(ds["residual"], (obs.y - r.model_y) / obs.sigma)
    assert float((ds["residual"] ** 2).sum()) == pytest.approx(r.chi2)
    assert ds.attrs["mechanism"] == "orbit_orbit"


def test_too_few_data_is_a_clear_error():
    m = ToyModel()
    obs = m.simulate("orbit_orbit", [15.0, 16.0, 17.0], [0.0], repeats=5, seed=0)
    with pytest.raises(FitError, match=r"data points for .* parameters"):
        fit(m, obs, "orbit_orbit")


def test_profiled_drift_nuisance_recovers_a_fluence_drift():
    m = ToyModel()
    f = FLUENCE
    a = np.array([0.0, 45.0])
    t = np.linspace(0, 1, f.size * a.size).reshape(f.size, a.size)
    drift = 0.01
    mu = m.predict("none", m.TRUTH, f, a)
    # exact model at the drifted fluences, cell by cell
    drifted = np.stack(
        [
            np.stack(
                [
                    m.predict("none", m.TRUTH, [fi * (1 + drift * t[i, j])], [aj])[:, 0, 0]
                    for j, aj in enumerate(a)
                ],
                -1,
            )
            for i, fi in enumerate(f)
        ],
        1,
    )
    samples = np.repeat(drifted[..., None], 3, axis=-1) * (1 + 1e-4 * np.arange(3))
    obs = observations_from_samples(f, a, [0.0, 1.0], samples, m.bands, drift_time=t)
    full, coef = profiled_nuisance(mu, obs)
    assert coef[:, 1] / coef[:, 0] == pytest.approx([drift, drift], rel=0.05)
    # the linearized drift removes > 95 % of the drift error (one-sided slope at the ends)
    err_uncorrected = np.max(np.abs(mu * coef[:, :1, None] / drifted - 1))
    assert np.max(np.abs(full / drifted - 1)) < 0.05 * err_uncorrected


def test_least_squares_fit_recovers_a_line_with_its_covariance():
    from polase.inverse import Parameter, Parameters, least_squares_fit

    x = np.linspace(0.0, 1.0, 11)
    y = 2.0 + 3.0 * x
    sigma = 0.1

    def resid(v):
        return (v["a"] + v["b"] * x - y) / sigma

    p = Parameters([Parameter("a", 0.5, -10, 10), Parameter("b", 1.0, 0.01, 100.0)])
    r = least_squares_fit(resid, p)
    assert r.values["a"] == pytest.approx(2.0, abs=1e-6)
    assert r.values["b"] == pytest.approx(3.0, rel=1e-6)
    assert r.success and r.cost < 1e-10 and r.at_bound == []
    # linear model: the standard errors are the textbook ones
    design = np.stack([np.ones_like(x), x], axis=1) / sigma
    cov = np.linalg.inv(design.T @ design)
    assert r.stderr["a"] == pytest.approx(math.sqrt(cov[0, 0]), rel=1e-3)
    assert r.stderr["b"] == pytest.approx(math.sqrt(cov[1, 1]), rel=1e-3)
    lo, hi = r.ci95["b"]  # b is fitted in log10 (bounds span 4 decades): asymmetric interval
    assert lo < 3.0 < hi and hi - 3.0 > 3.0 - lo


def test_least_squares_fit_reports_bounds_fixed_parameters_and_best_evaluation():
    from polase.inverse import Parameter, Parameters, least_squares_fit

    def resid(v):
        return np.array([v["a"] - 5.0, v["c"] - 1.0])

    p = Parameters([Parameter("a", 0.5, 0.0, 1.0), Parameter("c", 2.0, vary=False)])
    r = least_squares_fit(resid, p, final_jacobian=False)
    assert r.values["a"] == pytest.approx(1.0, abs=1e-4) and r.values["c"] == 2.0
    assert r.at_bound == ["a"]
    seen = []
    r2 = least_squares_fit(
        lambda v: seen.append(v["a"]) or resid(v), p, max_nfev=2, best_evaluated=True
    )
    assert r2.cost == pytest.approx(min((a - 5.0) ** 2 + 1.0 for a in seen[:-2]))
    assert r2.nfev == len(seen)  # the central-difference Jacobian (2 calls) included
    with pytest.raises(FitError, match="my fit failed"):
        least_squares_fit(lambda v: np.array([np.nan]), p, label="my fit")
