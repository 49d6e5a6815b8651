"""Phasor analysis against analytic phasors and PhasorPy side by side."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("phasorpy")
import phasorpy.lifetime as ppl
import phasorpy.phasor as ppp

from polase.analysis.phasor import (
    analyze_phasors,
    calibrate_phasor,
    decay_phasor,
    fit_consistency,
    phasor_lifetimes,
)

PERIOD = 50.0  # ns
M = 1000
DT = PERIOD / M
T = (np.arange(M) + 0.5) * DT


def periodic_exp(tau):
    """Exact bin integrals of a periodic exp(-t/tau) started at t=0 (sum over all pulses)."""
    edges = np.arange(M + 1) * DT
    f = -tau * np.exp(-edges / tau) / (1 - np.exp(-PERIOD / tau))
    return np.diff(f)


def centred_kernel(tau):
    """Periodic exp(-lag/tau) integrated over lags [(m - 1/2) dt, (m + 1/2) dt): the bin
    contents a point emission at one channel centre gives in channel m after it."""
    edges = np.concatenate([[0.0], (np.arange(M) + 0.5) * DT, [PERIOD]])
    f = -tau * np.exp(-edges / tau) / (1 - np.exp(-PERIOD / tau))
    v = np.diff(f)
    v[0] += v[-1]  # lags in [T - dt/2, T) fall in channel 0 of the next period
    return v[:-1]


def irf_gauss(center=3.0, sigma=0.08):
    g = np.exp(-0.5 * ((T - center) / sigma) ** 2)
    return g / g.sum()


def circ_conv(a, b):
    return np.real(np.fft.ifft(np.fft.fft(a) * np.fft.fft(b)))


def test_matches_phasorpy_on_a_full_period_and_the_analytic_phasor():
    tau = 3.0
    y = 1e5 * periodic_exp(tau)
    _, g, s = decay_phasor(T - DT / 2, y, PERIOD, [1, 2, 3])
    # PhasorPy with its own uniform sample phases (samples cover one period from t = 0)
    _, g_ref, s_ref = ppp.phasor_from_signal(y, harmonic=[1, 2, 3])
    np.testing.assert_allclose(g, g_ref, atol=1e-12)
    np.testing.assert_allclose(s, s_ref, atol=1e-12)
    # at the channel centres: the analytic phasor g + i s = 1 / (1 - i w tau) of a periodic
    # exponential (bin integration changes it by O((w dt)^2) only)
    _, g, s = decay_phasor(T, y, PERIOD, [1, 2, 3])
    for k, h in enumerate((1, 2, 3)):
        z = 1 / (1 - 1j * 2 * np.pi * h / PERIOD * tau)
        assert g[k] == pytest.approx(z.real, abs=1e-4)
        assert s[k] == pytest.approx(z.imag, abs=1e-4)


def test_irf_calibration_recovers_single_and_two_component_lifetimes(rng):
    irf = irf_gauss()
    for tau in (0.8, 2.5, 6.0):
        y = circ_conv(irf, centred_kernel(tau)) * 1e6
        res = analyze_phasors(T, y, PERIOD, irf=irf * 1e5, harmonics=(1, 2), background=0.0)
        np.testing.assert_allclose(res["tau_phase_ns"][0], tau, rtol=2e-3)
        np.testing.assert_allclose(res["tau_modulation_ns"][0], tau, rtol=2e-3)
    # two components: on the chord, phase lifetime < modulation lifetime
    t1, t2, a1, a2 = 0.7, 4.0, 3.0, 1.0
    y = circ_conv(irf, a1 * centred_kernel(t1) + a2 * centred_kernel(t2)) * 2e5
    res = analyze_phasors(T, y, PERIOD, irf=irf, harmonics=(1,), background=0.0)
    tp, tm = res["tau_phase_ns"][0][0], res["tau_modulation_ns"][0][0]
    assert t1 < tp < tm < t2
    fake_fit = {"tau_ns": [t1, t2], "amplitudes": [a1, a2]}
    chk = fit_consistency(res["g"][0][0], res["s"][0][0], fake_fit, PERIOD, 1)
    assert abs(chk["chord_distance"]) < 1e-3
    assert chk["fraction_on_chord"] == pytest.approx(chk["fraction_fit"], abs=2e-3)
    assert chk["distance"] < 1e-3
    # PhasorPy's expectation for the same mixture, side by side
    g_pp, s_pp = ppl.phasor_from_lifetime(1e3 / PERIOD, [t1, t2], [a1, a2], preexponential=True)
    assert chk["expected_g"] == pytest.approx(float(g_pp)) and chk["expected_s"] == pytest.approx(
        float(s_pp)
    )


def test_reference_dye_calibration_equals_irf_calibration_and_phasorpy():
    irf = irf_gauss(center=5.0, sigma=0.1)
    y = circ_conv(irf, centred_kernel(1.7)) * 1e6
    ref = circ_conv(irf, centred_kernel(4.1)) * 1e6
    a = analyze_phasors(T, y, PERIOD, irf=irf, harmonics=(1, 2), background=0.0)
    b = analyze_phasors(
        T, y, PERIOD, reference=ref, reference_lifetime_ns=4.1, harmonics=(1, 2), background=0.0
    )
    np.testing.assert_allclose(a["g"], b["g"], atol=2e-3)
    np.testing.assert_allclose(b["tau_phase_ns"][0], 1.7, rtol=3e-3)
    # PhasorPy's own calibration routine on the same inputs
    _, g, s = decay_phasor(T, y, PERIOD, 1, background=0.0)
    mean_r, gr, sr = decay_phasor(T, ref, PERIOD, 1, background=0.0)
    g_pp, s_pp = ppl.phasor_calibrate(
        np.atleast_1d(g), np.atleast_1d(s), np.atleast_1d(mean_r), np.atleast_1d(gr),
        np.atleast_1d(sr), frequency=1e3 / PERIOD, lifetime=4.1,
    )  # fmt: skip
    gc, sc = calibrate_phasor(g, s, gr, sr, PERIOD, 1, 4.1)
    assert gc == pytest.approx(float(g_pp[0]), abs=1e-12)
    assert sc == pytest.approx(float(s_pp[0]), abs=1e-12)
    tp, tm = phasor_lifetimes(gc, sc, PERIOD, 1)
    assert tp == pytest.approx(1.7, rel=3e-3) and tm == pytest.approx(1.7, rel=3e-3)


def test_background_subtraction_and_noise(rng):
    irf = irf_gauss()
    clean = circ_conv(irf, centred_kernel(2.0)) * 3e5
    y = rng.poisson(clean + 5.0).astype(float)
    res = analyze_phasors(T, y, PERIOD, irf=irf * 1e4, harmonics=(1,), background=None)
    assert res["tau_phase_ns"][0][0] == pytest.approx(2.0, rel=0.02)
    raw = analyze_phasors(T, y, PERIOD, irf=irf * 1e4, harmonics=(1,), background=0.0)
    # an unsubtracted background pulls the phasor to the origin: longer modulation lifetime
    assert raw["tau_modulation_ns"][0][0] > res["tau_modulation_ns"][0][0] * 1.05


def test_phasor_figure(tmp_path):
    from polase.report.phasor import phasor_figure, write_phasor_plot

    irf = irf_gauss()
    y = np.stack([circ_conv(irf, centred_kernel(t)) * 1e5 for t in (1.0, 3.0)])
    res = analyze_phasors(T, y, PERIOD, irf=irf, harmonics=(1,), background=0.0)
    fig = phasor_figure(res, ["a", "b"], fits=[{"tau_ns": [1.0]}, None])
    ax = fig.axes[0]
    xy = [ln.get_xydata()[0] for ln in ax.get_lines() if ln.get_marker() == "o"]
    np.testing.assert_allclose(xy, np.c_[res["g"], res["s"]].reshape(2, 2)[:, :2])
    out = write_phasor_plot(tmp_path / "p.png", fig)
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(FileExistsError):
        write_phasor_plot(tmp_path / "p.png", fig)
