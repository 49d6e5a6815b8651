"""Global decay analysis: shared lifetimes recovered with calibrated intervals."""

from __future__ import annotations

import numpy as np
import pytest

from polase.analysis.decay import fit_decays
from polase.analysis.global_decay import fit_dataset_global, fit_global_decays
from polase.fitting import reconvolution_model
from polase.instruments.tcspc import TCSPCConfig, measure_decay

TAU = (0.9, 3.5)
FRACTIONS = np.array([0.25, 0.5, 0.75, 0.9])  # amplitude share of the short component


def _real_irf(external_dir):
    from polase.io import read_tcspc

    path = external_dir / "tcspc" / "atto550_dna_irf.txt"
    if not path.is_file():
        pytest.skip("Atto550 IRF absent")
    irf = read_tcspc(path)
    k = int(np.argmax(irf.counts))
    sl = slice(k - 60, k - 60 + 640)  # 17.6 ns window around the real IRF
    t = (np.arange(640) + 0.5) * irf.channel_width_ns
    return t, irf.counts[sl].astype(float)


def _coverage(hits):
    hits = np.asarray(hits)
    return hits.mean(), hits.size


@pytest.mark.slow
def test_coverage_two_components_with_the_real_irf(external_dir):
    """50 seeds x 4 decays (fluence series) sharing two lifetimes, the measured IRF."""
    t, irf = _real_irf(external_dir)
    model = reconvolution_model(irf, t, 2)
    p = np.zeros((FRACTIONS.size, 7))
    p[:, 0], p[:, 1] = 3000 * FRACTIONS, TAU[0]
    p[:, 2], p[:, 3] = 3000 * (1 - FRACTIONS), TAU[1]
    p[:, 4], p[:, 5] = 0.0, 3.0
    expected = model(t, p)
    hits, widths_global, widths_single = [], [], []
    for seed in range(50):
        rng = np.random.default_rng(seed)
        y = rng.poisson(expected).astype(float)
        res = fit_global_decays(t, y, irf, 2)
        assert res["success"]
        for tau, (lo, hi) in zip(TAU, res["tau_ci95_ns"]):
            hits.append(lo <= tau <= hi)
        widths_global.append(np.diff(res["tau_ci95_ns"], axis=1).ravel())
        if seed < 5:
            single = fit_decays(t, y, irf, 2)
            widths_single.append([np.diff(s["tau_ci95_ns"], axis=1).ravel() for s in single])
    cov, n = _coverage(hits)
    print(f"real-IRF coverage {cov:.3f} over {n} intervals")
    assert cov >= 0.90
    # the joint fit pins the lifetimes better than any single decay
    assert np.mean(widths_global, axis=0)[0] < np.min(np.mean(widths_single, axis=0)[:, 0])


def _twin(n_channels=600, width=0.05, seed=0, period=None):
    """Four decays (a series of short-component shares) from the twin's TCSPC model."""
    tm = np.linspace(0.0, 120.0, 24001)
    rates = np.stack(
        [
            f * np.exp(-tm / TAU[0]) / TAU[0] + (1 - f) * np.exp(-tm / TAU[1]) / TAU[1]
            for f in FRACTIONS
        ]
    )
    cfg = TCSPCConfig(
        channel_width_ns=width,
        n_channels=n_channels,
        irf_fwhm_ns=0.2,
        irf_offset_ns=3.0,
        repetition_period_ns=period or 4000.0,
        background_counts_per_channel=2.0,
        peak_counts=4000.0,
    )
    return measure_decay(tm, rates, cfg, rng=seed), cfg


@pytest.mark.slow
def test_coverage_on_the_twins_tcspc():
    """The twin's TCSPC (continuous emission, its own IRF convolution and noise), at the
    instrument's channel width (TCSPCConfig default, the DAS6 export's 27.43 ps).

    With 50 ps channels coverage is 0.92 (0.78 before issue #14's channel-integrated
    model); what is left (0.9 ns component 0.5 standard errors short) is the twin's own
    discretization (its IRF as point masses at whole-channel lags, w^2 / 12 more variance),
    see test_no_lifetime_bias_at_50_ps_channels for exact channel integrals.
    """
    hits = []
    for seed in range(50):
        m, _ = _twin(seed=seed, n_channels=900, width=TCSPCConfig().channel_width_ns)
        res = fit_global_decays(m["time"], m["counts"], m["irf_normalized"], 2)
        for tau, (lo, hi) in zip(TAU, res["tau_ci95_ns"]):
            hits.append(lo <= tau <= hi)
    cov, n = _coverage(hits)
    print(f"twin coverage {cov:.3f} over {n} intervals")
    assert cov >= 0.90


def _exact_histograms(width, n_channels, fwhm=0.2, t0=3.0):
    """Gaussian IRF x the two exponentials, integrated exactly over every channel (the
    exponentially modified Gaussian's CDF): what a TCSPC histogram's mean is."""
    from scipy.stats import exponnorm, norm

    s = fwhm / (2 * np.sqrt(2 * np.log(2)))
    edges = np.arange(n_channels + 1) * width
    cdf = [f * exponnorm.cdf(edges, TAU[0] / s, t0, s) for f in FRACTIONS]
    cdf = [c + (1 - f) * exponnorm.cdf(edges, TAU[1] / s, t0, s) for c, f in zip(cdf, FRACTIONS)]
    sig = np.diff(np.array(cdf), axis=1)
    counts = sig / sig.max(axis=1, keepdims=True) * 4000.0 + 2.0
    irf = np.diff(norm.cdf(edges, t0, s))
    return (np.arange(n_channels) + 0.5) * width, counts, irf


def test_no_lifetime_bias_at_50_ps_channels():
    """Issue #14: the fit of the noiseless histograms (their exact channel integrals) is the
    asymptotic estimate, its Hessian interval the standard error a Poisson histogram of the
    same mean has. A bias of b standard errors lowers 95 % coverage to
    Phi(1.96 - b) - Phi(-1.96 - b): 0.94 at b = 0.2, 0.84 at b = 1. The model counting an IRF
    channel's emission with full weight in that same channel (and taking the IRF histogram
    for the response) gave b = -1.0 (tau 0.9 ns) here; the channel-integrated model ~0.02.
    """
    t, y, irf = _exact_histograms(0.05, 400)
    res = fit_global_decays(t, y, irf, 2, interval="hessian")
    se = np.diff(res["tau_ci95_ns"], axis=1).ravel() / (2 * 1.959964)
    bias = (np.asarray(res["tau_ns"]) - TAU) / se
    assert np.all(np.abs(bias) < 0.2), f"bias {bias} standard errors (se {se} ns)"
    assert abs(res["irf_shift_ns"]) < 0.05 * 0.05  # the IRF is on the histogram's channels


def test_profile_and_hessian_intervals_agree_and_phasors_match_the_fit():
    from polase.analysis.phasor import analyze_phasors, phasor_from_components, phasor_lifetimes

    period = 600 * 0.05  # the window is one period: periodic excitation, full-period phasors
    m, _ = _twin(seed=3, period=period)
    prof = fit_global_decays(m["time"], m["counts"], m["irf_normalized"], 2, period)
    hess = fit_global_decays(
        m["time"], m["counts"], m["irf_normalized"], 2, period, interval="hessian"
    )
    np.testing.assert_allclose(prof["tau_ns"], hess["tau_ns"], rtol=1e-6)
    np.testing.assert_allclose(prof["tau_ci95_ns"], hess["tau_ci95_ns"], rtol=0.02)
    for tau, (lo, hi) in zip(prof["tau_ns"], prof["tau_ci95_ns"]):
        assert lo < tau < hi
    # onset-amplitude shares follow the simulated series (FRACTIONS are intensity shares)
    fr = np.asarray(prof["amplitude_fractions"])[:, 0]
    a1, a2 = FRACTIONS / TAU[0], (1 - FRACTIONS) / TAU[1]
    np.testing.assert_allclose(fr, a1 / (a1 + a2), atol=0.02)
    # phasor lifetimes of each decay agree with those of its global fit
    ph = analyze_phasors(
        m["time"], m["counts"], period, irf=m["irf_normalized"], harmonics=(1,), background=2.0
    )
    for k in range(FRACTIONS.size):
        g, s = phasor_from_components(prof["tau_ns"], prof["amplitudes"][k], period, 1)
        tp, tm = phasor_lifetimes(g, s, period, 1)
        assert ph["tau_phase_ns"][k][0] == pytest.approx(float(tp), rel=0.02)
        assert ph["tau_modulation_ns"][k][0] == pytest.approx(float(tm), rel=0.02)


def test_dataset_global_fit_gives_das(rng):
    import xarray as xr

    t = (np.arange(500) + 0.5) * 0.05
    irf = np.exp(-0.5 * ((t - 2.0) / 0.08) ** 2)
    model = reconvolution_model(irf, t, 2)
    wl = np.array([520.0, 530.0, 540.0])
    das_true = np.array([[1000.0, 2000.0, 500.0], [300.0, 800.0, 1500.0]])  # (component, wl)
    dec = np.full((2, 1, 3, t.size), np.nan)
    for i, scale in enumerate((1.0, 2.0)):
        for k in range(3):
            p = [scale * das_true[0, k], 0.7, scale * das_true[1, k], 2.5, 0.0, 1.0, 0.0]
            dec[i, 0, k] = rng.poisson(model(t, np.asarray(p)))
    ds = xr.Dataset(
        {
            "decay": (("fluence", "polarization", "detection_wavelength", "time"), dec),
            "irf": (("time",), irf * 1e4),
        },
        coords={
            "fluence": [5.0, 10.0],
            "polarization": ["linear"],
            "detection_wavelength": wl,
            "time": t,
        },
    )
    res = fit_dataset_global(ds, 2, interval="hessian")
    np.testing.assert_allclose(res["tau_ns"], [0.7, 2.5], rtol=0.03)
    assert len(res["das"]) == 2 and res["das"][0]["detection_wavelength_nm"] == list(wl)
    np.testing.assert_allclose(res["das"][0]["amplitudes"], das_true, rtol=0.12)
    np.testing.assert_allclose(res["das"][1]["amplitudes"], 2 * das_true, rtol=0.12)
