"""TCSPC model: IRF, convolution, incomplete decay, scaling, Poisson noise, real IRF."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from polase.errors import ConfigError, DataValidationError
from polase.instruments.tcspc import (
    TCSPCConfig,
    _periodic_channel_integrals,
    channel_times,
    gaussian_irf,
    measure_decay,
)

SIGMA_PER_FWHM = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _exp_model(tau, t_end, n=4001):
    t = np.linspace(0.0, t_end, n)
    return t, np.exp(-t / tau)


def _mean_time(t, y):
    return (t * y).sum() / y.sum()


def test_channel_times_are_centres():
    config = TCSPCConfig()
    t = channel_times(config)
    assert t.shape == (4096,)
    assert t[0] == pytest.approx(0.5 * 0.02743484)
    np.testing.assert_allclose(np.diff(t), 0.02743484, rtol=1e-12)


def test_gaussian_irf_normalised_centred_and_wide():
    t = channel_times(TCSPCConfig())
    irf = gaussian_irf(t, 0.3, 20.0)
    assert irf.sum() == pytest.approx(1.0, rel=1e-14)
    assert _mean_time(t, irf) == pytest.approx(20.0, abs=1e-9)
    sigma = 0.3 * SIGMA_PER_FWHM
    var = (irf * (t - 20.0) ** 2).sum()
    # Channel integration adds the box variance w^2 / 12.
    assert var == pytest.approx(sigma**2 + 0.02743484**2 / 12, rel=1e-6)


def test_gaussian_irf_outside_window_rejected():
    with pytest.raises(DataValidationError, match="outside"):
        gaussian_irf(channel_times(TCSPCConfig()), 0.3, 500.0)


def test_convolution_matches_exponentially_modified_gaussian():
    config = TCSPCConfig(peak_counts=None, total_counts=1.0e6, background_counts_per_channel=0.0)
    tau = 2.0
    t_model, rate = _exp_model(tau, 30.0)
    res = measure_decay(t_model, rate, config, noise=False)
    t, w = res["time"], config.channel_width_ns
    mu, s = config.irf_offset_ns, config.irf_fwhm_ns * SIGMA_PER_FWHM
    # Analytic EMG, averaged over each channel with 20 sub-samples.
    sub = t[:, None] + w * ((np.arange(20) + 0.5) / 20 - 0.5)[None, :]
    emg = np.exp(s**2 / (2 * tau**2) - (sub - mu) / tau) * ndtr((sub - mu) / s - s / tau)
    ref = emg.mean(axis=1)
    ref *= 1.0e6 / ref.sum()
    # Residual 3e-6 of the peak (8 sub-channels, triangle-weighted IRF; the whole-channel lag
    # kernel it replaced missed the channels' w^2/12 spread: 7e-4).
    assert np.max(np.abs(res["expected"] - ref)) < 2e-5 * ref.max()


def test_centroid_shift_equals_lifetime():
    config = TCSPCConfig(background_counts_per_channel=0.0)
    for tau in (0.5, 3.0):
        res = measure_decay(*_exp_model(tau, 40.0), config, noise=False)
        shift = _mean_time(res["time"], res["expected"]) - _mean_time(
            res["time"], res["irf_normalized"]
        )
        assert shift == pytest.approx(tau, abs=2e-3 * tau + 1e-4)


def test_peak_and_total_count_scaling():
    t_model, rate = _exp_model(1.5, 20.0)
    batch = np.stack([rate, 5.0 * rate, rate**2])  # (3, T): each member scaled separately
    peak = measure_decay(
        t_model, batch, TCSPCConfig(background_counts_per_channel=3.0), noise=False
    )
    np.testing.assert_allclose((peak["expected"] - 3.0).max(axis=-1), 10000.0, rtol=1e-12)
    cfg = TCSPCConfig(peak_counts=None, total_counts=2.5e5, background_counts_per_channel=3.0)
    tot = measure_decay(t_model, batch, cfg, noise=False)
    np.testing.assert_allclose((tot["expected"] - 3.0).sum(axis=-1), 2.5e5, rtol=1e-12)
    assert tot["expected"].shape == (3, 4096)
    assert tot["irf_expected"].sum() == pytest.approx(2.5e5 + 3.0 * 4096)


def test_zero_emission_gives_background_only():
    t_model = np.linspace(0.0, 10.0, 11)
    res = measure_decay(t_model, np.zeros(11), TCSPCConfig(), noise=False)
    np.testing.assert_array_equal(res["expected"], 2.0)


def test_periodic_sum_closed_form():
    tau, period = 30.0, 200.0
    t_model, rate = _exp_model(tau, 150.0)
    amp = rate[-1]  # the tail continues from the last model sample
    edges = np.linspace(-50.0, 110.0, 161)
    got = _periodic_channel_integrals(
        t_model, rate, np.asarray(amp), np.asarray(1.0 / tau), edges, period
    )
    a, b = edges[:-1], edges[1:]
    # sum_m int_a^b exp(-(t + mP)/tau) over m with t + mP >= 0; closed form 1/(1 - exp(-P/tau)).
    geo = 1.0 / (1.0 - np.exp(-period / tau))
    a_eff = np.where(a < 0, a + period, a)  # channels before the pulse see the previous ones
    b_eff = np.where(a < 0, b + period, b)
    ref = tau * (np.exp(-a_eff / tau) - np.exp(-b_eff / tau)) * geo
    # The channel straddling t = 0 gets both parts.
    straddle = (a < 0) & (b > 0)
    ref[straddle] = (
        tau
        * (
            (1 - np.exp(-b[straddle] / tau))
            + np.exp(-(a[straddle] + period) / tau)
            - np.exp(-period / tau)
        )
        * geo
    )
    # 1e-6: the model is piecewise linear between samples (error dt^2 / (12 tau^2) ~ 1e-7).
    np.testing.assert_allclose(got, ref, rtol=1e-6)


@pytest.mark.parametrize(
    "t_end", [100.0, 1200.0]
)  # tail in closed form / periods summed explicitly
def test_incomplete_decay_before_the_pulse(t_end):
    tau, period = 50.0, 150.0
    config = TCSPCConfig(repetition_period_ns=period, background_counts_per_channel=0.0)
    t_model, rate = _exp_model(tau, t_end, n=int(t_end * 20) + 1)
    res = measure_decay(t_model, rate, config, noise=False, tail="exponential")
    t, e = res["time"], res["expected"]
    mu = config.irf_offset_ns
    after, before = t > mu + 3, t < mu - 3
    amp = (e[after] * np.exp((t[after] - mu) / tau)).mean()
    # Before the pulse: the previous pulses' tail, amp exp(-(t - mu + P)/tau).
    np.testing.assert_allclose(e[before], amp * np.exp(-(t[before] - mu + period) / tau), rtol=1e-6)
    # After: exp(-(t - mu)/tau) scaled by 1/(1 - exp(-P/tau)) relative to a single pulse.
    single = measure_decay(
        t_model, rate, TCSPCConfig(background_counts_per_channel=0.0), noise=False
    )
    ratio = e[after] / single["expected"][after]
    # Peak normalisation hides the absolute factor, so compare shapes: constant ratio.
    assert np.ptp(ratio) < 1e-6 * ratio.mean()


def test_tail_options():
    t_model, rate = _exp_model(2.0, 8.0)
    auto = measure_decay(t_model, rate, TCSPCConfig(), noise=False)
    given = measure_decay(t_model, rate, TCSPCConfig(), noise=False, tail_decay_ns=2.0)
    np.testing.assert_allclose(auto["expected"], given["expected"], rtol=1e-8)
    long = measure_decay(*_exp_model(2.0, 60.0), TCSPCConfig(), noise=False)
    np.testing.assert_allclose(auto["expected"], long["expected"], rtol=1e-6)
    zero = measure_decay(t_model, rate, TCSPCConfig(), noise=False, tail="zero")
    t = zero["time"]
    late = t > TCSPCConfig().irf_offset_ns + 10.0
    assert np.all(zero["expected"][late] == pytest.approx(2.0))  # background only
    with pytest.raises(DataValidationError, match="does not decay"):
        measure_decay(t_model, np.exp(t_model / 2.0), TCSPCConfig())


def test_poisson_statistics(rng):
    t_model, rate = _exp_model(1.0, 10.0)
    batch = np.broadcast_to(rate, (4000, rate.size))
    config = TCSPCConfig(n_channels=512, irf_offset_ns=3.0)  # a short window keeps this fast
    res = measure_decay(t_model, batch, config, rng=rng)
    counts = res["counts"]
    assert np.all(counts == np.rint(counts)) and counts.min() >= 0
    expected = res["expected"][0]
    for ch in (np.argmax(expected), np.argmax(expected) + 100, 50):
        mean, var = counts[:, ch].mean(), counts[:, ch].var()
        mu = expected[ch]
        assert mean == pytest.approx(mu, abs=5 * np.sqrt(mu / 4000))
        assert var == pytest.approx(mu, rel=5 * np.sqrt(2 / 4000))


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"channel_width_ns": -0.01}, "channel_width_ns"),
        ({"n_channels": 0}, "n_channels"),
        ({"repetition_period_ns": 50.0}, "repetition_period_ns"),
        ({"peak_counts": None}, "peak_counts"),
        ({"total_counts": 100.0}, "peak_counts"),
        ({"irf": np.ones(10)}, "irf"),
        ({"irf": np.zeros(4096)}, "irf"),
        ({"irf_fwhm_ns": 0.0}, "irf_fwhm_ns"),
        ({"background_counts_per_channel": -1.0}, "background_counts_per_channel"),
    ],
)
def test_bad_config_names_the_key(kw, key):
    with pytest.raises(ConfigError) as err:
        TCSPCConfig(**kw)
    assert err.value.key == key


def test_bad_inputs():
    with pytest.raises(DataValidationError, match=">= 0"):
        measure_decay([-1.0, 0.0, 1.0], [1.0, 1.0, 0.5])
    with pytest.raises(DataValidationError, match="shape"):
        measure_decay([0.0, 1.0], [[1.0, 0.5, 0.1]])
    with pytest.raises(DataValidationError, match="tail"):
        measure_decay([0.0, 1.0], [1.0, 0.5], tail="linear")


def _read_das6(path):
    """Channel width [ns] and counts of a DAS6 export: polase.io.read_tcspc when it is
    available, else a minimal parse (header, `Time calibration: X ns/ch`, `Chan<TAB>Data`)."""
    try:
        from polase.io import read_tcspc
    except ImportError:
        read_tcspc = None
    if read_tcspc is not None:
        data = read_tcspc(path)
        return float(data.channel_width_ns), np.asarray(data.counts, dtype=float)
    width, rows, in_data = None, [], False
    for line in path.read_text().splitlines():
        if line.startswith("Time calibration:"):
            width = float(line.split(":")[1].strip().removesuffix("ns/ch"))
        elif line.startswith("Chan"):
            in_data = True
        elif in_data and line.strip():
            rows.append(float(line.split()[1]))
    return width, np.array(rows)


def test_measured_irf_from_real_file(external_dir):
    width, counts = _read_das6(external_dir / "tcspc" / "atto550_dna_irf.txt")
    assert width == pytest.approx(0.02743484)
    config = TCSPCConfig(
        channel_width_ns=width,
        n_channels=counts.size,
        irf=counts,
        background_counts_per_channel=0.0,
    )
    tau = 3.0
    res = measure_decay(*_exp_model(tau, 60.0), config, noise=False)
    irf = res["irf_normalized"]
    assert irf.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.argmax(irf) == np.argmax(counts)  # no shift unless asked
    # FWHM by linear interpolation of the half-maximum crossings: a sub-ns laser IRF.
    t = res["time"]
    half = irf.max() / 2
    i = np.nonzero(irf >= half)[0]
    left = np.interp(half, irf[i[0] - 1 : i[0] + 1], t[i[0] - 1 : i[0] + 1])
    right = np.interp(half, irf[i[-1] : i[-1] + 2][::-1], t[i[-1] : i[-1] + 2][::-1])
    fwhm = right - left
    assert 0.15 < fwhm < 0.4
    # Means add under convolution: the decay centroid lies tau after the IRF centroid.
    shift = _mean_time(t, res["expected"]) - _mean_time(t, irf)
    assert shift == pytest.approx(tau, abs=0.01)
    assert res["irf_expected"].max() == pytest.approx(10000.0)
    shifted = measure_decay(
        *_exp_model(tau, 60.0),
        TCSPCConfig(
            channel_width_ns=width,
            n_channels=counts.size,
            irf=counts,
            irf_shift_ns=1.0,
            background_counts_per_channel=0.0,
        ),
        noise=False,
    )
    assert _mean_time(t, shifted["irf_normalized"]) - _mean_time(t, irf) == pytest.approx(
        1.0, abs=1e-3
    )


def test_configs_hashable_and_compared_by_value():
    irf = np.zeros(4096)
    irf[400:410] = 5.0
    a, b = TCSPCConfig(irf=irf), TCSPCConfig(irf=2 * irf)  # same after normalisation
    assert a == b and hash(a) == hash(b)
    assert TCSPCConfig(irf=np.roll(irf, 3)) != a


def test_irf_from_recording_removes_the_dark_level_and_keeps_the_response():
    from polase.errors import DataValidationError
    from polase.instruments.tcspc import irf_from_recording

    rng = np.random.default_rng(3)
    ch = np.arange(400)
    response = 5e4 * np.exp(-0.5 * ((ch - 120) / 3.0) ** 2)
    rec = rng.poisson(response + 0.7).astype(float)
    irf = irf_from_recording(rec)
    assert np.all(irf[: 120 - 30] == 0.0) and np.all(irf >= 0.0)
    assert irf[200:].sum() == 0.0  # past where the response falls below one count
    assert irf.sum() == pytest.approx(response.sum(), rel=0.01)
    with pytest.raises(DataValidationError, match="fewer than 30 recorded channels"):
        irf_from_recording(rec[100:])
    with pytest.raises(DataValidationError, match="not all 0"):
        irf_from_recording(np.zeros(10))


def test_valid_convolution_is_scipys_fftconvolve():
    from scipy.signal import fftconvolve

    from polase.instruments.tcspc import _convolve_valid

    rng = np.random.default_rng(7)
    a = rng.uniform(0.0, 1.0, size=(3, 2, 257))
    k = rng.uniform(0.0, 1.0, size=31)
    want = fftconvolve(a, np.broadcast_to(k, (3, 2, 31)), mode="valid", axes=-1)
    np.testing.assert_allclose(_convolve_valid(a, k), want, rtol=1e-10, atol=1e-12)
