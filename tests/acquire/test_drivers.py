"""Real drivers against a simulated VISA instrument and mocks of the vendor objects."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from polase.acquire import (
    DeviceError,
    DeviceTimeoutError,
    MountPositionError,
    ProtocolError,
    devices,
)
from polase.acquire.composite import (
    AttenuatorShutter,
    HalfWavePlateAttenuator,
    hwp_angle_for_transmission,
    hwp_transmission,
)

HERE = Path(__file__).resolve().parent
PM = "USB0::0x1313::0x8078::P0012345::INSTR"
PM_SILENT = "USB0::0x1313::0x8078::P0099999::INSTR"


# ----------------------------------------------------------------------------- VISA


@pytest.fixture
def sim_backend():
    pytest.importorskip("pyvisa_sim", reason="pyvisa-sim is not installed")
    return f"{HERE / 'pm100d.yaml'}@sim"


def test_pm100d_through_pyvisa_sim(sim_backend):
    from polase.acquire.visa import VisaPowerMeter

    pm = VisaPowerMeter(PM, backend=sim_backend)
    try:
        assert isinstance(pm, devices.PowerMeter)
        d = pm.describe()
        assert (d["model"], d["serial"], d["firmware"]) == ("PM100D", "P0012345", "2.4.0")
        assert d["sensor"].startswith("S401C")
        pm.set_wavelength(1030.0)
        assert float(pm._query("SENS:CORR:WAV?")) == 1030.0
        assert pm.read_power(averages=10) == pytest.approx(0.0123)
        assert int(pm._query("SENS:AVER:COUN?")) == 10
        pm._inst.write("SIM:POW 0.00421")  # the simulated sensor now sees 4.21 mW
        assert pm.read_power(averages=10) == pytest.approx(0.00421)
    finally:
        pm.close()


def test_pm100d_refuses_a_wavelength_out_of_range(sim_backend):
    from polase.acquire.visa import VisaPowerMeter

    pm = VisaPowerMeter(PM, backend=sim_backend)
    try:
        with pytest.raises(DeviceError, match=r"refused|set"):
            pm.set_wavelength(1e5)
    finally:
        pm.close()


def test_a_silent_power_meter_is_a_device_timeout(sim_backend):
    from polase.acquire.visa import VisaPowerMeter

    pm = VisaPowerMeter(PM_SILENT, backend=sim_backend, timeout_s=0.2)
    try:
        with pytest.raises(DeviceTimeoutError, match="READ"):
            pm.read_power(1)
    finally:
        pm.close()


@pytest.mark.filterwarnings("ignore:read string doesn't end")
def test_a_resource_that_is_no_power_meter_is_a_device_error(sim_backend):
    from polase.acquire.visa import VisaPowerMeter

    with pytest.raises(DeviceError, match=r"cannot open|not a Thorlabs power meter"):
        VisaPowerMeter("USB0::0x1313::0x8078::NOPE::INSTR", backend=sim_backend)


# ----------------------------------------------------------------------------- seabreeze


class FakeSeaBreeze:
    """The part of ``seabreeze.spectrometers.Spectrometer`` the driver uses (a FLAME-S)."""

    def __init__(self, scans, timeout_at=None):
        self.model = "FLAME-S"
        self.serial_number = "FLMS12345"
        self.max_intensity = 65535.0
        self.integration_time_micros_limits = (1000, 65_000_000)
        self._scans = iter(scans)
        self.calls: list[tuple] = []
        self.timeout_at = timeout_at
        self.closed = False

    def wavelengths(self):
        return np.linspace(340.0, 1030.0, 8)

    def integration_time_micros(self, us):
        self.calls.append(("integration_time_micros", us))

    def intensities(self, correct_dark_counts=False, correct_nonlinearity=False):
        self.calls.append(("intensities", correct_dark_counts, correct_nonlinearity))
        if self.timeout_at is not None and len(self.calls) >= self.timeout_at:

            class USBTimeoutError(Exception):
                pass

            raise USBTimeoutError("[Errno 110] Operation timed out")
        return next(self._scans)

    def close(self):
        self.closed = True


def test_seabreeze_driver_on_a_mock_spectrometer():
    from polase.acquire.seabreeze import SeaBreezeSpectrometer

    scans = [np.full(8, 9.0), np.full(8, 1000.0), np.full(8, 3000.0)]
    scans[2][3] = 65535.0
    dev = FakeSeaBreeze(scans)
    s = SeaBreezeSpectrometer(device=dev)
    assert isinstance(s, devices.Spectrometer)
    assert s.integration_time_limits_s == (1e-3, 65.0)
    with pytest.raises(DeviceError, match="set_integration_time"):
        s.acquire()
    s.set_integration_time(0.02)
    s.set_integration_time(0.0125)  # a change: the next scan is discarded (the 9s)
    sp = s.acquire(averages=2)
    assert dev.calls[:2] == [("integration_time_micros", 20000), ("integration_time_micros", 12500)]
    assert all(c == ("intensities", False, False) for c in dev.calls[2:])  # raw counts
    assert sp.integration_time_s == 0.0125 and sp.averages == 2
    assert np.allclose(sp.counts[[0, 1, 2, 4]], 2000.0)
    assert sp.saturated.tolist() == [False, False, False, True, False, False, False, False]
    with pytest.raises(DeviceError, match="outside"):
        s.set_integration_time(1e-4)
    d = s.describe()
    assert d["serial"] == "FLMS12345" and d["model"] == "FLAME-S" and d["pixels"] == 8
    s.close()
    assert dev.closed


def test_seabreeze_timeouts_become_device_timeouts():
    from polase.acquire.seabreeze import SeaBreezeSpectrometer

    s = SeaBreezeSpectrometer(device=FakeSeaBreeze([np.ones(8)] * 3, timeout_at=2))
    s.set_integration_time(0.01)
    with pytest.raises(DeviceTimeoutError, match="USBTimeoutError"):
        s.acquire()


def test_seabreeze_opens_the_pure_python_backend_without_hardware():
    """With seabreeze installed, opening with no device attached is a clear DeviceError."""
    pytest.importorskip("seabreeze")
    pytest.importorskip("usb", reason="pyseabreeze needs pyusb")
    from polase.acquire.seabreeze import SeaBreezeSpectrometer

    with pytest.raises(DeviceError, match="cannot open"):
        SeaBreezeSpectrometer(serial="FLMS00000", backend="pyseabreeze")


# ----------------------------------------------------------------------------- Kinesis


class FakeKinesisMotor:
    """The part of pylablib's ``Thorlabs.KinesisMotor`` the driver uses (a K10CR1)."""

    def __init__(self, stall=False, homed=False):
        self.pos = 0.0
        self.stall = stall
        self.homed = homed
        self.calls: list[tuple] = []

    def is_homed(self):
        return self.homed

    def home(self, sync=True, force=False, timeout=None):
        self.calls.append(("home", sync, force))
        self.homed = True

    def move_to(self, position):
        self.calls.append(("move_to", position))
        self.pos = position * (0.5 if self.stall else 1.0)

    def wait_move(self, timeout=None):
        if timeout is not None and timeout < 0.01:

            class ThorlabsTimeoutError(Exception):
                pass

            raise ThorlabsTimeoutError("timeout while waiting for a move")

    def get_position(self):
        return self.pos

    def get_device_info(self):
        from collections import namedtuple

        info = namedtuple("TDeviceInfo", "serial_no model_no fw_ver")
        return info(55000001, "K10CR1", "3.0.10")

    def close(self):
        self.calls.append(("close",))


def test_kinesis_mount_on_a_fake_k10cr1():
    from polase.acquire.kinesis import KinesisRotationMount

    dev = FakeKinesisMotor()
    m = KinesisRotationMount(device=dev)
    assert isinstance(m, devices.RotationMount)
    assert dev.calls[0] == ("home", True, False)  # homed on open
    assert m.move_to(45.0) == 45.0 and m.position() == 45.0
    d = m.describe()
    assert (d["serial"], d["model"], d["firmware"]) == ("55000001", "K10CR1", "3.0.10")
    with pytest.raises(DeviceTimeoutError, match="timed out"):
        m.move_to(10.0, timeout_s=0.001)
    m.close()
    stalled = KinesisRotationMount(device=FakeKinesisMotor(stall=True, homed=True))
    with pytest.raises(MountPositionError, match=r"stopped at 22\.5000"):
        stalled.move_to(45.0)


# ----------------------------------------------------------------------------- composites


def test_half_wave_plate_attenuator_follows_malus():
    from polase.acquire.kinesis import KinesisRotationMount

    for t in (0.0, 0.1, 0.5, 0.9, 1.0):
        a = hwp_angle_for_transmission(t, 10.0)
        assert hwp_transmission(a, 10.0) == pytest.approx(t, abs=1e-12)
        assert 10.0 <= a <= 55.0
    mount = KinesisRotationMount(device=FakeKinesisMotor(homed=True), name="attenuator mount")
    att = HalfWavePlateAttenuator(mount, angle_max_deg=10.0)
    assert isinstance(att, devices.Attenuator)
    assert att.set_transmission(0.25) == pytest.approx(0.25)
    assert mount.position() == pytest.approx(10.0 + math.degrees(math.acos(0.5)) / 2)
    shutter = AttenuatorShutter(att)
    assert isinstance(shutter, devices.Shutter)
    shutter.set_open(False)
    assert att.transmission() == pytest.approx(0.0, abs=1e-12)
    shutter.set_open(True)
    assert att.transmission() == pytest.approx(0.25)
    with pytest.raises(DeviceError):
        att.set_transmission(1.5)


def test_devices_toml_errors_name_the_key(tmp_path):
    from polase.acquire.bench import open_bench

    path = tmp_path / "bench.toml"
    path.write_text('[spectrometer]\ndriver = "andor"\n[qwp]\n[attenuator]\n[power_meter]\n')
    with pytest.raises(ProtocolError, match=r"spectrometer\.driver.*seabreeze"):
        open_bench(path)
    path.write_text("[camera]\n")
    with pytest.raises(ProtocolError, match="unknown device role"):
        open_bench(path)
    path.write_text('[spectrometer]\ndriver = "seabreeze"\n')
    with pytest.raises(ProtocolError, match="no \\[qwp\\]"):
        open_bench(path)


def test_devices_toml_opens_the_visa_power_meter(tmp_path, sim_backend, monkeypatch):
    """A bench file whose power meter is the pyvisa-sim PM100D; the other devices faked."""
    from polase.acquire import bench as bench_mod
    from polase.acquire.kinesis import KinesisRotationMount
    from polase.acquire.seabreeze import SeaBreezeSpectrometer

    monkeypatch.setattr(
        "polase.acquire.seabreeze.SeaBreezeSpectrometer",
        lambda serial, backend: SeaBreezeSpectrometer(device=FakeSeaBreeze([])),
    )
    monkeypatch.setattr(
        "polase.acquire.kinesis.KinesisRotationMount",
        lambda serial, **kw: KinesisRotationMount(device=FakeKinesisMotor(homed=True), **kw),
    )
    path = tmp_path / "bench.toml"
    path.write_text(
        '[spectrometer]\ndriver = "seabreeze"\nserial = "FLMS12345"\n'
        '[qwp]\ndriver = "kinesis"\nserial = "55000001"\n'
        '[attenuator]\ndriver = "kinesis-hwp"\nserial = "55000002"\nangle_max_deg = 3.0\n'
        f'[power_meter]\ndriver = "visa"\nresource = "{PM}"\nbackend = "{sim_backend}"\n'
    )
    ins = bench_mod.open_bench(path)
    try:
        desc = ins.describe()
        assert desc["power_meter"]["serial"] == "P0012345"
        assert desc["attenuator"]["angle_max_deg"] == 3.0
        assert desc["shutter"]["kind"].startswith("attenuator")
    finally:
        ins.close()
