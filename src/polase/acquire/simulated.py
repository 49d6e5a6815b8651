"""Simulated devices driven by the digital twin (`polase.experiment.forward`).

`SimulatedBench` holds the state of the simulated table (attenuator transmission, plate
angle, shutter, the laser's drift) and a cache of the twin: the noiseless emission is
computed once per (fluence, plate angle) of the protocol, in one batched `forward` call,
and every acquisition adds the instrument noise of `polase.instruments` on top. Between
cached fluences (the delivered fluence differs from the nominal one by the attenuator
calibration, laser drift and jitter) the emission is interpolated in log-log.

Determinism: every random draw comes from ``numpy.random.default_rng([seed, step,
stream, call])`` where ``step`` is set by the runner before each step, ``stream`` names
the device and ``call`` counts that device's draws within the step. So the data of step
i depend only on (seed, i) and on what was asked at that step, never on how many steps
ran before in this process: a resumed run records the same numbers.

Timing: each device waits as its real counterpart would (a FLAME reads out in ~3 ms
after the integration, a K10CR1 turns at 10 deg/s, a PM100D averages ~3 ms per reading,
a shutter takes 20 ms, a decay takes its acquisition time), multiplied by `time_scale`.

Failure modes (`SimFaults`): at chosen steps the spectrometer, power meter or TCSPC times
out (`DeviceTimeoutError`) or the plate mount stalls short of its target
(`MountPositionError`); a spectrum exposed too long saturates by itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..config import SimulationConfig, load_config
from ..instruments.spectrometer import SpectrometerConfig, measure_spectrum
from ..instruments.tcspc import TCSPCConfig, measure_decay
from ..optics.pump import fluence_from_pulse_energy
from .devices import Histogram, Instruments, Spectrum
from .errors import DeviceError, DeviceTimeoutError, check_reached
from .protocol import AcquisitionProtocol

# random streams (one per device)
_LASER, _SPECTROMETER, _MOUNT, _POWER, _TCSPC, _ATTENUATOR = range(6)


@dataclass(frozen=True)
class SimFaults:
    """Steps at which a simulated device fails (for tests and rehearsals).

    Attributes
    ----------
    spectrometer_timeout, power_meter_timeout, tcspc_timeout
        Steps at which that device times out.
    mount_stall
        Steps at which the plate mount stops short of its target.
    """

    spectrometer_timeout: frozenset[int] = frozenset()
    power_meter_timeout: frozenset[int] = frozenset()
    tcspc_timeout: frozenset[int] = frozenset()
    mount_stall: frozenset[int] = frozenset()


class TwinCache:
    """Noiseless emission of the twin per (fluence, plate angle), computed once.

    Parameters
    ----------
    config
        The twin's configuration.
    """

    def __init__(self, config: SimulationConfig, cache_dir: str | Path | None = None):
        self.config = config
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self._emission: dict[tuple[float, float], np.ndarray] = {}
        self._decay: dict[tuple[float, float], np.ndarray] = {}
        self.wavelength: np.ndarray | None = None
        self.time: np.ndarray | None = None
        self.detection_wavelength: np.ndarray | None = None
        self.order = float(config["material"]["multiphoton_order"])

    def prepare(self, fluences: Iterable[float], angles: Iterable[float]) -> None:
        """Run the twin for every (fluence, angle) not cached yet (one batched call)."""
        from ..experiment import forward

        angles = sorted({float(a) for a in angles})
        todo = sorted(
            {float(f) for f in fluences if any((float(f), a) not in self._emission for a in angles)}
        )
        if not todo:
            return
        out = self._load(todo, angles)
        if out is None:
            out = forward(self.config, np.array(todo), np.array(angles))
            self._save(todo, angles, out)
        self.wavelength = out["wavelength"]
        self.time = out["time"]
        self.detection_wavelength = out["detection_wavelength"]
        for i, f in enumerate(todo):
            for j, a in enumerate(angles):
                self._emission[(f, a)] = out["emission"][i, j]
                self._decay[(f, a)] = out["emission_t"][i, j]

    _KEYS = ("wavelength", "time", "detection_wavelength", "emission", "emission_t")

    def _path(self, fluences: list[float], angles: list[float]) -> Path | None:
        if self.cache_dir is None:
            return None
        key = json.dumps([__version__, self.config.to_json(), fluences, angles])
        return self.cache_dir / f"twin-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"

    def _load(self, fluences: list[float], angles: list[float]) -> dict | None:
        path = self._path(fluences, angles)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path) as z:
                return {k: z[k] for k in self._KEYS}
        except (OSError, KeyError, ValueError):
            return None  # a damaged cache is recomputed

    def _save(self, fluences: list[float], angles: list[float], out: dict) -> None:
        path = self._path(fluences, angles)
        if path is None:
            return
        from .._files import atomic_path

        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path, overwrite=True) as tmp:
            with tmp.open("wb") as fh:
                np.savez(fh, **{k: out[k] for k in self._KEYS})

    def _grid(self, angle: float) -> np.ndarray:
        f = np.array(sorted(f for f, a in self._emission if a == angle))
        if f.size == 0:
            self.prepare([1.0], [angle])
            return self._grid(angle)
        return f

    def emission(self, fluence: float, angle: float) -> np.ndarray:
        """Detected photons per pulse per nm at `fluence` [mJ/cm2], `angle` [deg].

        Log-log interpolation between the cached fluences (the end segments extended;
        with one cached fluence, the multiphoton power law).
        """
        angle = float(angle)
        grid = self._grid(angle)
        if fluence <= 0:
            return np.zeros_like(self._emission[(grid[0], angle)])
        if grid.size == 1:
            return self._emission[(grid[0], angle)] * (fluence / grid[0]) ** self.order
        j = int(np.clip(np.searchsorted(grid, fluence) - 1, 0, grid.size - 2))
        f0, f1 = grid[j], grid[j + 1]
        w = (np.log(fluence) - np.log(f0)) / (np.log(f1) - np.log(f0))
        e0 = np.log(np.maximum(self._emission[(f0, angle)], 1e-300))
        e1 = np.log(np.maximum(self._emission[(f1, angle)], 1e-300))
        return np.exp((1 - w) * e0 + w * e1)

    def decay(self, fluence: float, angle: float, detection_nm: float) -> np.ndarray:
        """Emission rate after one pulse at the cached fluence nearest `fluence`."""
        angle = float(angle)
        grid = self._grid(angle)
        f = grid[np.argmin(np.abs(grid - fluence))]
        det = np.asarray(self.detection_wavelength)
        k = int(np.argmin(np.abs(det - detection_nm)))
        if abs(det[k] - detection_nm) > 1e-6:
            raise DeviceError(
                "tcspc", f"the twin has no decay at {detection_nm} nm (has {det.tolist()})"
            )
        return self._decay[(f, angle)][k]


class SimulatedBench:
    """The simulated table: laser, attenuator, plate, shutter, and the twin behind them.

    Parameters
    ----------
    protocol
        The protocol to be run (the twin is prepared at its fluences and angles; its
        ``[laser]`` keys that are ``[pump]`` keys override the twin's pump).
    seed
        Seed of all the noise.
    config
        Twin configuration (None: ``protocol.simulation_config`` or the calibrated
        default).
    time_scale
        Factor on every wait (None: ``protocol.time_scale``). [1]
    faults
        Failures to inject.
    calibration_error
        Relative error of the attenuator calibration ``full_fluence_mJ_cm2`` (the
        delivered fluence at full transmission is this much higher). [1]
    laser_rms
        Relative RMS step-to-step fluctuation of the pulse energy. [1]
    power_meter_rms
        Relative RMS noise of one power reading. [1]
    twin_cache_dir
        Folder where the twin's emission is kept between processes (a resumed run
        loads it instead of simulating again); None: memory only.
    """

    def __init__(
        self,
        protocol: AcquisitionProtocol,
        seed: int,
        config=None,
        time_scale: float | None = None,
        faults: SimFaults | None = None,
        calibration_error: float = 0.01,
        laser_rms: float = 0.005,
        power_meter_rms: float = 0.003,
        twin_cache_dir: str | Path | None = None,
    ):
        if config is None and protocol.simulation_config:
            src = Path(protocol.source).parent if protocol.source else Path()
            config = src / protocol.simulation_config
        # the twin's [pump] with the protocol's laser as explicit overrides (docs/acquisition.md)
        overrides: dict[str, Any] = {"pump": protocol.sections()["laser"].pump_table()}
        if protocol.tcspc_detection_wavelength_nm:
            overrides["sweep"] = {
                "detection_wavelength": list(protocol.tcspc_detection_wavelength_nm)
            }
        self.config = load_config(config, **overrides)
        self.protocol = protocol
        self.seed = int(seed)
        self.time_scale = protocol.time_scale if time_scale is None else float(time_scale)
        self.faults = faults or SimFaults()
        self.calibration_error = float(calibration_error)
        self.laser_rms = float(laser_rms)
        self.power_meter_rms = float(power_meter_rms)
        sw = self.config["sweep"]
        self._drift_per_hour = float(sw["drift_per_hour"])
        self._seconds_per_step = float(sw["seconds_per_acquisition"])
        self.twin = TwinCache(self.config, twin_cache_dir)
        self.twin.prepare(
            protocol.fluence_mJ_cm2 + protocol.tcspc_fluence_mJ_cm2, protocol.qwp_angle_deg
        )
        # the table
        self.transmission = 0.0
        self.angle = 0.0
        self.shutter_open = False
        self.step = 0
        self._calls: dict[int, int] = {}
        self._jitter = 0.0
        #: what the waits add up to at real speed [s]
        self.device_seconds = 0.0
        self.begin_step(0)

    # -- determinism
    def begin_step(self, step: int) -> None:
        """Start step `step`: reset the draw counters, draw the laser's jitter."""
        self.step = int(step)
        self._calls = {}
        self._jitter = float(self.rng(_LASER).normal(0.0, self.laser_rms))

    def rng(self, stream: int) -> np.random.Generator:
        """A generator for the next draw of device `stream` within this step."""
        n = self._calls.get(stream, 0)
        self._calls[stream] = n + 1
        return np.random.default_rng([self.seed, self.step, stream, n])

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` x `time_scale` (and count `seconds` in `device_seconds`)."""
        self.device_seconds += max(float(seconds), 0.0)
        if self.time_scale > 0 and seconds > 0:
            time.sleep(seconds * self.time_scale)

    # -- physics of the table
    def fluence(self) -> float:
        """Peak fluence delivered to the sample now (0 with the shutter closed). [mJ/cm2]"""
        if not self.shutter_open:
            return 0.0
        hours = self.step * self._seconds_per_step / 3600.0
        full = self.protocol.full_fluence_mJ_cm2 * (1.0 + self.calibration_error)
        return (
            self.transmission * full * (1.0 + self._drift_per_hour * hours) * (1.0 + self._jitter)
        )

    def power_w(self) -> float:
        """Average power at the sample now (what an ideal meter reads). [W]"""
        unit = float(fluence_from_pulse_energy(1.0, self.protocol.spot_diameter_um))
        pulse_uj = self.fluence() / unit
        return pulse_uj * 1e-6 * self.protocol.repetition_rate_hz

    def instruments(self) -> Instruments:
        """The simulated devices on this bench, as `Instruments`."""
        return Instruments(
            spectrometer=SimulatedSpectrometer(self),
            qwp=SimulatedRotationMount(self),
            attenuator=SimulatedAttenuator(self),
            power_meter=SimulatedPowerMeter(self),
            shutter=SimulatedShutter(self),
            tcspc=SimulatedTCSPC(self) if self.protocol.tcspc_fluence_mJ_cm2 else None,
            begin_step=self.begin_step,
            extra={"device_seconds": lambda: self.device_seconds},
        )

    def describe(self) -> dict[str, Any]:
        """The twin and noise settings (for the provenance)."""
        return {
            "kind": "polase digital twin",
            "polase_version": __version__,
            "seed": self.seed,
            "time_scale": self.time_scale,
            "calibration_error": self.calibration_error,
            "laser_rms": self.laser_rms,
            "power_meter_rms": self.power_meter_rms,
            "config": self.config.to_dict(),
        }


class _SimDevice:
    name = "device"
    model = "simulated"

    def __init__(self, bench: SimulatedBench, serial: str = "SIM-0000"):
        self.bench = bench
        self.serial = serial
        self.closed = False

    def describe(self) -> dict[str, Any]:
        return {"model": self.model, "serial": self.serial, "simulated": True}

    def close(self) -> None:
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise DeviceError(self.name, "used after close()")


class SimulatedSpectrometer(_SimDevice):
    """A FLAME-like spectrometer whose light comes from the twin (`measure_spectrum`)."""

    name = "spectrometer"
    model = "simulated FLAME-S (polase.instruments.spectrometer)"
    #: read-out after each scan [s]
    readout_s = 0.003
    timeout_s = 5.0

    def __init__(self, bench: SimulatedBench, serial: str = "SIM-FLMS00001"):
        super().__init__(bench, serial)
        kw = dict(bench.config["spectrometer"])
        kw["calibration"] = tuple(kw["calibration"])
        self.config = SpectrometerConfig(**kw)
        self.max_counts = float(self.config.saturation_counts)
        self.integration_time_limits_s = (1e-5, 65.0)
        self._t = float(self.config.integration_time_s)

    def set_integration_time(self, seconds: float) -> None:
        self._check_open()
        lo, hi = self.integration_time_limits_s
        if not lo <= seconds <= hi:
            raise DeviceError(self.name, f"integration time {seconds} s outside [{lo}, {hi}] s")
        self._t = float(seconds)

    def acquire(self, averages: int = 1) -> Spectrum:
        self._check_open()
        b = self.bench
        if b.step in b.faults.spectrometer_timeout:
            b.sleep(self.timeout_s)
            raise DeviceTimeoutError(self.name, f"no spectrum within {self.timeout_s} s")
        rate = b.twin.emission(b.fluence(), b.angle) * b.protocol.repetition_rate_hz
        cfg = dataclasses.replace(self.config, integration_time_s=self._t, averages=int(averages))
        out = measure_spectrum(b.twin.wavelength, rate, cfg, rng=b.rng(_SPECTROMETER))
        b.sleep((self._t + self.readout_s) * averages)
        return Spectrum(
            wavelength_nm=out["wavelength"],
            counts=np.asarray(out["counts"], dtype=float),
            integration_time_s=self._t,
            averages=int(averages),
            saturated=np.asarray(out["saturated"], dtype=bool),
        )

    def describe(self) -> dict[str, Any]:
        return super().describe() | {
            "pixels": self.config.n_pixels,
            "max_counts": self.max_counts,
            "integration_time_limits_s": list(self.integration_time_limits_s),
        }


class SimulatedRotationMount(_SimDevice):
    """A K10CR1-like mount: 10 deg/s, +-0.01 deg repeatability, 0.05 deg tolerance."""

    name = "qwp mount"
    model = "simulated K10CR1"
    speed_deg_s = 10.0
    repeatability_deg = 0.01
    tolerance_deg = 0.05

    def __init__(self, bench: SimulatedBench, serial: str = "SIM-55000001"):
        super().__init__(bench, serial)
        self._pos = 0.0

    def move_to(self, angle_deg: float, timeout_s: float = 30.0) -> float:
        self._check_open()
        b = self.bench
        travel = abs(angle_deg - self._pos)
        duration = travel / self.speed_deg_s
        if duration > timeout_s:
            b.sleep(timeout_s)
            raise DeviceTimeoutError(
                self.name, f"move to {angle_deg} deg not done in {timeout_s} s"
            )
        b.sleep(duration)
        reached = angle_deg + float(b.rng(_MOUNT).normal(0.0, self.repeatability_deg))
        if b.step in b.faults.mount_stall:
            reached = self._pos + 0.6 * (angle_deg - self._pos)
        self._pos = reached
        b.angle = float(angle_deg) if abs(reached - angle_deg) <= self.tolerance_deg else reached
        check_reached(self.name, reached, angle_deg, self.tolerance_deg, decimals=3)
        return reached

    def position(self) -> float:
        return self._pos


class SimulatedAttenuator(_SimDevice):
    """A motorized half-wave plate before a polarizer: 0.5 s per full-range move."""

    name = "attenuator"
    model = "simulated HWP + polarizer attenuator"
    full_range_s = 0.5

    def set_transmission(self, fraction: float) -> float:
        self._check_open()
        if not 0.0 <= fraction <= 1.0:
            raise DeviceError(self.name, f"transmission must be in [0, 1], got {fraction}")
        b = self.bench
        b.sleep(self.full_range_s * abs(fraction - b.transmission))
        b.transmission = float(fraction)
        return b.transmission

    def transmission(self) -> float:
        return self.bench.transmission


class SimulatedPowerMeter(_SimDevice):
    """A PM100D-like meter: ~3 ms per reading, relative noise `power_meter_rms`."""

    name = "power meter"
    model = "simulated PM100D + S401C"
    reading_s = 0.003
    timeout_s = 2.0

    def __init__(self, bench: SimulatedBench, serial: str = "SIM-P0000001"):
        super().__init__(bench, serial)
        self.wavelength_nm = 1030.0

    def set_wavelength(self, wavelength_nm: float) -> None:
        self._check_open()
        self.wavelength_nm = float(wavelength_nm)

    def read_power(self, averages: int = 1) -> float:
        self._check_open()
        b = self.bench
        if b.step in b.faults.power_meter_timeout:
            b.sleep(self.timeout_s)
            raise DeviceTimeoutError(self.name, f"no reading within {self.timeout_s} s")
        b.sleep(self.reading_s * averages)
        rms = b.power_meter_rms / np.sqrt(max(int(averages), 1))
        return b.power_w() * (1.0 + float(b.rng(_POWER).normal(0.0, rms)))


class SimulatedShutter(_SimDevice):
    """A shutter that takes 20 ms to open or close."""

    name = "shutter"
    model = "simulated SH05"
    move_s = 0.02

    def set_open(self, is_open: bool) -> None:
        self._check_open()
        if self.bench.shutter_open != bool(is_open):
            self.bench.sleep(self.move_s)
        self.bench.shutter_open = bool(is_open)

    def is_open(self) -> bool:
        return self.bench.shutter_open


class SimulatedTCSPC(_SimDevice):
    """A TCSPC unit behind a monochromator, fed by the twin's emission traces.

    The histogram's peak is ``TCSPCConfig.peak_counts`` x acquisition time / 30 s.
    """

    name = "tcspc"
    model = "simulated DeltaHub (polase.instruments.tcspc)"

    def __init__(self, bench: SimulatedBench, serial: str = "SIM-TCSPC0001"):
        super().__init__(bench, serial)
        self.config = TCSPCConfig(**bench.config["tcspc"])
        self.detection_nm = float(bench.protocol.tcspc_detection_wavelength_nm[0])

    def set_detection_wavelength(self, wavelength_nm: float) -> None:
        self._check_open()
        self.detection_nm = float(wavelength_nm)

    def _collect(self, rate: np.ndarray, seconds: float) -> dict:
        b = self.bench
        if b.step in b.faults.tcspc_timeout:
            b.sleep(seconds)
            raise DeviceTimeoutError(self.name, f"no histogram after {seconds} s")
        peak = (self.config.peak_counts or 1e4) * seconds / 30.0
        cfg = dataclasses.replace(self.config, peak_counts=peak, total_counts=None)
        out = measure_decay(b.twin.time, rate, cfg, rng=b.rng(_TCSPC))
        b.sleep(seconds)
        return out

    def acquire(self, acquisition_time_s: float) -> Histogram:
        self._check_open()
        b = self.bench
        if b.fluence() <= 0:
            raise DeviceError(self.name, "no light: open the shutter before a decay")
        unit = b.twin.decay(b.fluence(), b.angle, self.detection_nm)
        out = self._collect(unit, acquisition_time_s)
        return Histogram(np.rint(out["counts"]), self.config.channel_width_ns, acquisition_time_s)

    def acquire_irf(self, acquisition_time_s: float) -> Histogram:
        self._check_open()
        b = self.bench
        grid = b.twin._grid(float(b.protocol.qwp_angle_deg[0]))
        unit = b.twin.decay(float(grid[-1]), float(b.protocol.qwp_angle_deg[0]), self.detection_nm)
        out = self._collect(unit, acquisition_time_s)
        return Histogram(np.rint(out["irf"]), self.config.channel_width_ns, acquisition_time_s)

    def describe(self) -> dict[str, Any]:
        return super().describe() | {
            "channel_width_ns": self.config.channel_width_ns,
            "n_channels": self.config.n_channels,
        }
