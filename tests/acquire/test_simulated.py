"""Simulated devices: the twin behind them, determinism, timing and failure modes."""

from __future__ import annotations

import numpy as np
import pytest

from polase.acquire import (
    DeviceError,
    DeviceTimeoutError,
    MountPositionError,
    SaturatedSpectrumError,
    devices,
)
from polase.acquire.runner import acquire_autoranged
from polase.acquire.simulated import SimFaults, SimulatedBench
from polase.experiment import forward
from polase.instruments.spectrometer import SpectrometerConfig, measure_spectrum


@pytest.fixture(scope="module")
def bench_protocol():
    from polase.acquire import AcquisitionProtocol

    return AcquisitionProtocol(
        fluence_mJ_cm2=(8.0, 17.0), repeats=2, time_scale=0.0, tcspc_fluence_mJ_cm2=(17.0,)
    )


@pytest.fixture(scope="module")
def bench(bench_protocol):
    return SimulatedBench(
        bench_protocol, seed=3, calibration_error=0.0, laser_rms=0.0, power_meter_rms=0.0
    )


def _expose(bench, ins, fluence, angle, t=0.01):
    ins.qwp.move_to(angle)
    ins.shutter.set_open(True)
    ins.attenuator.set_transmission(fluence / bench.protocol.full_fluence_mJ_cm2)
    ins.spectrometer.set_integration_time(t)


def test_simulated_devices_satisfy_the_protocols(bench):
    ins = bench.instruments()
    assert isinstance(ins.spectrometer, devices.Spectrometer)
    assert isinstance(ins.qwp, devices.RotationMount)
    assert isinstance(ins.attenuator, devices.Attenuator)
    assert isinstance(ins.power_meter, devices.PowerMeter)
    assert isinstance(ins.shutter, devices.Shutter)
    assert isinstance(ins.tcspc, devices.TCSPC)


def test_spectrum_mean_is_the_twin_through_the_spectrometer_model(bench):
    """Averaged over many acquisitions, the simulated reading is the twin's expected counts."""
    ins = bench.instruments()
    _expose(bench, ins, 17.0, 45.0)
    bench.begin_step(0)
    s = ins.spectrometer.acquire(averages=64)
    fwd = forward(bench.config, [17.0], [0.0, 45.0])
    cfg = SpectrometerConfig(
        **(
            dict(bench.config["spectrometer"])
            | {
                "integration_time_s": 0.01,
                "calibration": tuple(bench.config["spectrometer"]["calibration"]),
            }
        )
    )
    exp = measure_spectrum(
        fwd["wavelength"],
        fwd["emission"][0, 1] * bench.protocol.repetition_rate_hz,
        cfg,
        noise=False,
    )["expected"]
    peak = np.argmax(exp)
    # 64 averages: shot + read noise of the mean is a few counts at the peak
    sigma = np.sqrt((exp[peak] - 1000.0) * cfg.counts_per_electron + 50.0**2) / 8.0
    assert abs(s.counts[peak] - exp[peak]) < 5 * sigma
    assert np.corrcoef(s.counts, exp)[0, 1] > 0.999


def test_noise_depends_only_on_seed_and_step(bench_protocol):
    a = SimulatedBench(bench_protocol, seed=5)
    b = SimulatedBench(bench_protocol, seed=5)
    ia, ib = a.instruments(), b.instruments()
    for ins, bb in ((ia, a), (ib, b)):
        _expose(bb, ins, 8.0, 0.0)
    a.begin_step(3)
    s3 = ia.spectrometer.acquire()
    for k in (0, 1, 2):  # b runs other steps first
        b.begin_step(k)
        ib.spectrometer.acquire()
    b.begin_step(3)
    assert np.array_equal(ib.spectrometer.acquire().counts, s3.counts)
    b.begin_step(4)
    assert not np.array_equal(ib.spectrometer.acquire().counts, s3.counts)
    c = SimulatedBench(bench_protocol, seed=6)
    ic = c.instruments()
    _expose(c, ic, 8.0, 0.0)
    c.begin_step(3)
    assert not np.array_equal(ic.spectrometer.acquire().counts, s3.counts)


def test_power_meter_reads_the_delivered_fluence(bench):
    from polase.optics.pump import fluence_from_average_power

    ins = bench.instruments()
    _expose(bench, ins, 17.0, 0.0)
    bench.begin_step(0)
    p_w = ins.power_meter.read_power()
    f = fluence_from_average_power(p_w * 1e3, 25000.0, 100.0)
    assert f == pytest.approx(17.0, rel=1e-12)  # no drift at step 0, no noise here
    ins.shutter.set_open(False)
    assert ins.power_meter.read_power() == 0.0


def test_shutter_closed_gives_a_dark(bench):
    ins = bench.instruments()
    _expose(bench, ins, 17.0, 0.0)
    ins.shutter.set_open(False)
    s = ins.spectrometer.acquire()
    # offset + dark current only: 1000 counts + 200 counts/s x 0.01 s, read noise 50
    assert abs(s.counts.mean() - 1002.0) < 5.0
    assert s.counts.std() == pytest.approx(50.0, rel=0.1)


def test_too_long_an_exposure_saturates_and_auto_ranging_avoids_it(bench, bench_protocol):
    ins = bench.instruments()
    _expose(bench, ins, 17.0, 45.0, t=0.08)
    bench.begin_step(1)
    assert ins.spectrometer.acquire().saturated.any()
    with pytest.raises(SaturatedSpectrumError, match="auto_range is off"):
        acquire_autoranged(
            ins.spectrometer,
            0.08,
            bench_protocol.replace(auto_range=False, integration_time_s=0.08),
        )
    s = acquire_autoranged(ins.spectrometer, 0.08, bench_protocol.replace(integration_time_s=0.08))
    assert not s.saturated.any()
    assert s.counts.max() < 0.95 * ins.spectrometer.max_counts
    assert s.integration_time_s < 0.08
    low = bench_protocol.replace(integration_time_s=0.08, min_integration_time_s=0.08)
    with pytest.raises(SaturatedSpectrumError, match="shortest allowed"):
        acquire_autoranged(ins.spectrometer, 0.08, low)


def test_auto_ranging_exposes_a_weak_spectrum_longer(bench, bench_protocol):
    ins = bench.instruments()
    _expose(bench, ins, 8.0, 0.0, t=0.005)
    p = bench_protocol.replace(integration_time_s=0.16, min_integration_time_s=0.005)
    s = acquire_autoranged(ins.spectrometer, 0.005, p)
    frac = s.counts.max() / ins.spectrometer.max_counts
    assert s.integration_time_s > 0.005
    assert p.low_fraction <= frac <= 0.95 or s.integration_time_s == 0.16


def test_faults_raise_named_errors(bench_protocol):
    faults = SimFaults(
        spectrometer_timeout=frozenset({2}),
        power_meter_timeout=frozenset({3}),
        mount_stall=frozenset({4}),
        tcspc_timeout=frozenset({5}),
    )
    b = SimulatedBench(bench_protocol, seed=1, faults=faults)
    ins = b.instruments()
    _expose(b, ins, 8.0, 0.0)
    b.begin_step(2)
    with pytest.raises(DeviceTimeoutError, match="spectrometer"):
        ins.spectrometer.acquire()
    b.begin_step(3)
    with pytest.raises(DeviceTimeoutError, match="power meter"):
        ins.power_meter.read_power()
    b.begin_step(4)
    with pytest.raises(MountPositionError, match=r"commanded 45\.000 deg"):
        ins.qwp.move_to(45.0)
    b.begin_step(5)
    with pytest.raises(DeviceTimeoutError, match="tcspc"):
        ins.tcspc.acquire(30.0)
    assert isinstance(DeviceTimeoutError("x", "y"), TimeoutError)


def test_waits_follow_the_real_devices_scaled_by_time_scale(bench_protocol):
    b = SimulatedBench(bench_protocol, seed=1, time_scale=0.0)
    ins = b.instruments()
    ins.qwp.move_to(45.0)  # K10CR1: 10 deg/s
    assert b.device_seconds == pytest.approx(4.5, abs=1e-9)
    ins.spectrometer.set_integration_time(0.1)
    ins.spectrometer.acquire(averages=3)
    assert b.device_seconds == pytest.approx(4.5 + 3 * (0.1 + 0.003))


def test_decay_histogram_is_the_twin_trace(bench):
    ins = bench.instruments()
    _expose(bench, ins, 17.0, 0.0)
    ins.tcspc.set_detection_wavelength(543.0)
    h543 = ins.tcspc.acquire(30.0)
    ins.tcspc.set_detection_wavelength(533.0)
    h533 = ins.tcspc.acquire(30.0)
    assert h543.counts.max() == pytest.approx(1e4, rel=0.05)
    t = (np.arange(h543.counts.size) + 0.5) * h543.channel_width_ns

    def width(h):
        half = h.counts > h.counts.max() / np.e
        return t[half].max() - t[half].min()

    assert width(h543) < width(h533) / 3  # ASE decays much faster than PL


def test_auto_ranging_keeps_to_the_device_limits(bench, bench_protocol):
    ins = bench.instruments()
    _expose(bench, ins, 17.0, 45.0, t=0.08)
    ins.spectrometer.integration_time_limits_s = (0.03, 65.0)  # a slower device
    p = bench_protocol.replace(integration_time_s=0.08)
    with pytest.raises(SaturatedSpectrumError, match="shortest allowed"):
        acquire_autoranged(ins.spectrometer, 0.08, p)  # 0.04 s is its shortest rung
    ins.spectrometer.integration_time_limits_s = (1.0, 65.0)
    with pytest.raises(DeviceError, match="ladder"):
        acquire_autoranged(ins.spectrometer, 0.08, p)


def test_the_protocols_laser_overrides_the_twins_pump(tmp_path):
    """[laser] wins over the twin configuration's [pump]; its other pump keys stay."""
    from polase.acquire import read_protocol

    (tmp_path / "twin.toml").write_text(
        "[pump]\nrepetition_rate_hz = 5000.0\nspot_diameter_um = 60.0\npulse_fwhm_fs = 200.0\n"
    )
    (tmp_path / "p.toml").write_text(
        "[sweep]\nfluence_mJ_cm2 = [8.0]\n[laser]\nspot_diameter_um = 90.0\n"
        '[simulation]\nconfig = "twin.toml"\ntime_scale = 0.0\n'
    )
    bench = SimulatedBench(read_protocol(tmp_path / "p.toml"), seed=0)
    assert bench.config.pump.repetition_rate_hz == 25000.0  # the protocol's default
    assert bench.config.pump.spot_diameter_um == 90.0
    assert bench.config.pump.pulse_fwhm_fs == 200.0
