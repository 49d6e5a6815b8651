"""TCSPC decay fits: synthetic truth and the real Atto550 decay against an independent fit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from polase.analysis import fit_decay, fit_decays
from polase.errors import DataValidationError

DT = 0.05  # ns per channel
T = (np.arange(1024) + 0.5) * DT


def gaussian_irf(t0=5.0, fwhm=0.3):
    """Gaussian response integrated over each channel [1]."""
    from scipy.stats import norm

    return np.diff(norm.cdf(np.arange(T.size + 1) * DT, t0, fwhm / 2.3548))


def expected_counts(amps, taus, bg, t0=5.0, fwhm=0.3):
    """Gaussian response x exponentials (onset height a per channel), integrated exactly over
    each channel (the exponentially modified Gaussian's CDF), plus background. [counts]"""
    from scipy.stats import exponnorm

    s = fwhm / 2.3548
    edges = np.arange(T.size + 1) * DT
    out = np.full(T.size, float(bg))
    for a, tau in zip(amps, taus):
        out += a * tau / DT * np.diff(exponnorm.cdf(edges, tau / s, t0, s))
    return out


def test_monoexponential_lifetime_is_recovered_within_its_interval(rng):
    irf = gaussian_irf()
    lam = expected_counts([2000.0], [2.5], 2.0)
    hits = 0
    for _ in range(10):
        fit = fit_decay(T, rng.poisson(lam).astype(float), irf, 1)
        assert fit["success"]
        lo, hi = fit["tau_ci95_ns"][0]
        hits += lo <= 2.5 <= hi
        assert fit["tau_ns"][0] == pytest.approx(2.5, rel=0.02)
        assert fit["irf_shift_ns"] == pytest.approx(0.0, abs=0.02)
        assert fit["background"] == pytest.approx(2.0, rel=0.3)
        assert 0.8 < fit["reduced_chi2"] < 1.2  # Poisson data and the right model
    assert hits >= 8


def test_biexponential_means_and_shift(rng):
    irf = gaussian_irf()
    # data delayed by 0.2 ns relative to the IRF
    a, tau = np.array([3000.0, 1000.0]), np.array([0.4, 3.0])
    lam = expected_counts(a, tau, 1.0, t0=5.2)
    fit = fit_decay(T, rng.poisson(lam).astype(float), irf, 2)
    np.testing.assert_allclose(fit["tau_ns"], tau, rtol=0.05)
    np.testing.assert_allclose(fit["amplitudes"], a, rtol=0.05)
    assert fit["irf_shift_ns"] == pytest.approx(0.2, abs=0.01)
    amp_w = np.sum(a * tau) / a.sum()
    int_w = np.sum(a * tau**2) / np.sum(a * tau)
    assert fit["tau_amplitude_weighted_ns"] == pytest.approx(amp_w, rel=0.03)
    assert fit["tau_intensity_weighted_ns"] == pytest.approx(int_w, rel=0.03)
    assert fit["tau_ns"][0] < fit["tau_ns"][1]  # sorted ascending


def test_batched_fits_equal_single_fits(rng):
    irf = gaussian_irf()
    rows = np.stack([rng.poisson(expected_counts([1500.0], [tau], 1.0)) for tau in (1.0, 2.0, 4.0)])
    many = fit_decays(T, rows.astype(float), irf, 1)
    for k in range(3):
        one = fit_decay(
            T, rows[k].astype(float), irf, 1, fit_range_ns=tuple(many[k]["fit_range_ns"])
        )
        assert one["tau_ns"][0] == pytest.approx(many[k]["tau_ns"][0], rel=1e-6)


def test_tail_fit_of_a_pure_exponential(rng):
    irf = gaussian_irf()
    lam = expected_counts([5000.0], [2.0], 0.5)
    fit = fit_decay(T, rng.poisson(lam).astype(float), irf, 1, method="tail")
    assert fit["method"] == "tail" and fit["irf_shift_ns"] is None
    assert fit["tau_ns"][0] == pytest.approx(2.0, rel=0.03)
    assert fit["fit_range_ns"][0] > 5.0


def test_bad_inputs_raise():
    irf = gaussian_irf()
    with pytest.raises(DataValidationError, match="share M channels"):
        fit_decay(T, np.ones(10), irf, 1)
    with pytest.raises(DataValidationError, match="1, 2 or 3"):
        fit_decay(T, np.ones(T.size), irf, 4)
    with pytest.raises(DataValidationError, match="non-negative"):
        fit_decay(T, -np.ones(T.size), irf, 1)
    with pytest.raises(DataValidationError, match="fewer than 10 channels"):
        fit_decay(T, np.zeros(T.size), irf, 1)


# ---------------------------------------------------------------------- real decay


def _read_das6(path):
    """Minimal independent reader of the DAS6 text export (Chan<TAB>Data rows)."""
    lines = path.read_text().splitlines()
    width = next(
        float(s.split(":")[1].strip().split("ns")[0])
        for s in lines
        if s.startswith("Time calibration")
    )
    start = next(i for i, s in enumerate(lines) if s.strip().startswith("Chan"))
    rows = np.array([[float(v) for v in s.split()] for s in lines[start + 1 :] if s.strip()])
    return (rows[:, 0] - 0.5) * width, rows[:, 1]


def _scipy_reconvolution(t, y, irf, n, lo, hi):
    """Independent Poisson-MLE reconvolution fit.

    np.convolve of the IRF with the exponential integrated over channel pairs (excitation
    uniform over an IRF channel, emission counted over whole channels), the IRF less the
    w^2 / 6 variance that spread adds (a twelfth of its second difference), shifted by
    scipy's PCHIP of its cumulative at the channel edges, and scipy.optimize.least_squares
    on Poisson deviance residuals sign(y - f) sqrt(2 (f - y + y ln(y / f))), whose sum of
    squares is the deviance.
    """
    from scipy.interpolate import PchipInterpolator

    g0 = irf / irf.sum()
    g0 = np.clip(np.convolve(g0, [-1 / 12, 7 / 6, -1 / 12])[1:-1], 0, None)
    g0 /= g0.sum()
    dt = t[1] - t[0]
    k = np.arange(t.size)
    pad = 4  # zero channels either side: the cumulative is flat there
    cum = PchipInterpolator(
        np.arange(-pad, t.size + pad + 1),
        np.concatenate([np.zeros(pad + 1), np.cumsum(g0), np.ones(pad)]),
    )
    sel = (t >= lo) & (t <= hi)
    ys = y[sel]

    def model(p):
        shift, bg = p[2 * n], p[2 * n + 1]
        u = np.clip(k - shift / dt, -pad, t.size + pad - 1)
        g = cum(u + 1) - cum(u)
        f = np.full(t.size, bg)
        for i in range(n):
            a, tau = p[2 * i], p[2 * i + 1]
            r, em = tau / dt, -np.expm1(-dt / tau)
            w = r**2 * em**2 * np.exp(-(k - 1) * dt / tau)
            w[0] = r - r**2 * em
            f += a * np.convolve(g, w)[: t.size]
        return f[sel]

    def resid(p):
        f = np.maximum(model(p), 1e-12)
        ylogy = np.where(ys > 0, ys * np.log(np.where(ys > 0, ys, 1.0) / f), 0.0)
        dev = np.maximum(2 * (f - ys + ylogy), 0.0)
        return np.sign(ys - f) * np.sqrt(dev)

    peak = y.max()
    p0 = [peak, 3.5] if n == 1 else [0.5 * peak, 1.0, 0.5 * peak, 4.5]
    p0 = np.array([*p0, 0.0, 1.0])
    lo_b = [0.0, 0.05] * n + [-2.0, 0.0]
    hi_b = [np.inf, 50.0] * n + [2.0, np.inf]
    r = optimize.least_squares(
        resid, p0, bounds=(lo_b, hi_b), x_scale="jac", xtol=1e-12, ftol=1e-12, max_nfev=5000
    )
    return r.x


@pytest.mark.parametrize("n", [1, 2])
def test_real_atto550_decay_matches_independent_scipy_fit(external_dir, n):
    d = external_dir / "tcspc" / "atto550_dna_decay.txt"
    i = external_dir / "tcspc" / "atto550_dna_irf.txt"
    if not (d.exists() and i.exists()):
        pytest.skip("Atto550 TCSPC files absent")
    t, y = _read_das6(d)
    _, irf = _read_das6(i)
    fit = fit_decay(t, y, irf, n)
    assert fit["success"]
    lo, hi = fit["fit_range_ns"]
    p = _scipy_reconvolution(t, y, irf, n, lo, hi)
    taus = np.sort(p[1 : 2 * n : 2])
    np.testing.assert_allclose(fit["tau_ns"], taus, rtol=0.01)
    a = p[0 : 2 * n : 2][np.argsort(p[1 : 2 * n : 2])]
    assert fit["tau_intensity_weighted_ns"] == pytest.approx(
        np.sum(a * taus**2) / np.sum(a * taus), rel=0.01
    )
    # Atto550 on DNA: a few-ns dye lifetime
    assert 3.0 < fit["tau_intensity_weighted_ns"] < 4.5
