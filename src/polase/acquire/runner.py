"""The acquisition runner: drive the bench through a protocol, write raw files + manifest.

The run folder it writes is what ``polase analyze FOLDER`` reads with no manual step::

    FOLDER/manifest.csv          one row per file (polase.io manifest format + the
                                 acquisition's columns, see polase.acquire.manifest)
    FOLDER/spectra/*.txt         OceanView "ASCII with header" spectra and darks
    FOLDER/tcspc/*.txt           DAS6 decays and the IRF (if the protocol has [tcspc])
    FOLDER/provenance.json       protocol, seed, software, devices (serials, settings)
    FOLDER/log.jsonl             the run log: one JSON event per line

Crash safety: every data file is written atomically (temporary file + rename), then its
manifest row is appended and fsynced. The sequence of steps is a pure function of the
protocol, the seed and the rows already in the manifest, and a simulated device's noise
at step i depends only on (seed, i), so ``resume=True`` continues exactly where an
interrupted run (Ctrl-C, a device error, a killed process) stopped: no spectrum lost or
taken twice, nothing existing overwritten. A file written just before a crash, whose row
never reached the manifest, carries its row in its header (``polase row``) and is
adopted on resume rather than measured again.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputFileError, OutputExistsError
from ..optics.pump import fluence_from_pulse_energy
from .devices import Instruments, Spectrum
from .errors import DeviceError, ResumeError, SaturatedSpectrumError
from .manifest import AppendingManifest, _fsync_dir, read_acquisition_manifest
from .protocol import AcquisitionProtocol, DecayItem, Plan, SpectrumItem, build_plan

#: Header key of the data files that holds the file's manifest row (JSON).
ROW_KEY = "polase row"
PROVENANCE_SCHEMA = "polase.acquisition/1"


@dataclass
class StepEvent:
    """What the runner reports after each step (to a progress bar or the live view).

    Attributes
    ----------
    row
        The manifest row just written.
    done, total
        Planned spectra and decays done / in the plan (darks not counted). [1]
    spectrum
        The spectrum of a spectrum or dark step (None for decays).
    adopted
        True if the file was already there (written before a crash) and only its row
        was added.
    """

    row: dict[str, Any]
    done: int
    total: int
    spectrum: Spectrum | None = None
    adopted: bool = False


@dataclass
class RunState:
    """Where a run stands; rebuilt from the manifest on resume."""

    integration_time_s: float
    step: int = 0
    spectra_done: int = 0
    decays_done: int = 0
    irf_done: bool = False
    since_dark: int = 0
    darks: int = 0
    dark_times: set[float] = field(default_factory=set)

    def apply(self, row: dict[str, Any]) -> None:
        """Advance the state by one manifest row (text or typed cells)."""
        kind = row["kind"]
        self.step = int(row["step"]) + 1
        if kind == "spectrum":
            self.spectra_done += 1
            self.since_dark += 1
            self.integration_time_s = float(row["integration_time_s"])
        elif kind == "dark":
            self.darks += 1
            self.since_dark = 0
            self.dark_times.add(float(row["integration_time_s"]))
        elif kind == "irf":
            self.irf_done = True
        elif kind == "decay":
            self.decays_done += 1


def _fmt_f(f: float) -> str:
    return f"{f:05.2f}".replace(".", "p")


def _ladder(protocol: AcquisitionProtocol) -> list[float]:
    """Allowed integration times: integration_time_s / 2**k down to the minimum. [s]"""
    out, t = [], protocol.integration_time_s
    while t >= protocol.min_integration_time_s * (1 - 1e-12):
        out.append(float(f"{t:.6g}"))
        t /= 2.0
    return out


def acquire_autoranged(spectrometer, t_start: float, protocol: AcquisitionProtocol) -> Spectrum:
    """Take a spectrum, adjusting the integration time on the ladder of `_ladder`.

    Rungs outside the spectrometer's ``integration_time_limits_s`` are skipped.
    Saturated: two rungs shorter (1/4), and again. Peak below ``low_fraction`` of full
    scale: the longest rung that puts it at most at ``target_fraction``. Without
    ``auto_range`` one spectrum at `t_start`.

    Raises
    ------
    SaturatedSpectrumError
        Still saturated at the shortest rung (or at `t_start` without auto-ranging).
    """
    lo, hi = getattr(spectrometer, "integration_time_limits_s", (0.0, math.inf))
    ladder = [t for t in _ladder(protocol) if lo <= t <= hi]
    if not ladder:
        raise DeviceError(
            getattr(spectrometer, "name", "spectrometer"),
            f"no integration time of the protocol's ladder lies within the device's [{lo}, {hi}] s",
        )
    k = int(np.argmin([abs(t - t_start) for t in ladder]))
    tried: set[int] = set()
    while True:
        t = ladder[k]
        tried.add(k)
        spectrometer.set_integration_time(t)
        s = spectrometer.acquire(protocol.averages)
        if s.saturated.any():
            if not protocol.auto_range or k == len(ladder) - 1:
                raise SaturatedSpectrumError(
                    getattr(spectrometer, "name", "spectrometer"),
                    f"{int(s.saturated.sum())} pixel(s) saturated at {t:g} s"
                    + (
                        " (auto_range is off)" if not protocol.auto_range else " (shortest allowed)"
                    ),
                )
            k = min(k + 2, len(ladder) - 1)
            continue
        if not protocol.auto_range:
            return s
        frac = float(np.max(s.counts)) / spectrometer.max_counts
        if frac < protocol.low_fraction and k > 0:
            want = t * protocol.target_fraction / max(frac, 1e-6)
            k_new = next((i for i, tl in enumerate(ladder) if tl <= want), k)
            if k_new < k and k_new not in tried:
                k = k_new
                continue
        return s


def _only_setup(folder: Path) -> bool:
    """True if `folder` holds nothing but what a start creates before its first file."""
    if not folder.exists():
        return True
    if not folder.is_dir():
        return False
    for x in folder.iterdir():
        if x.name == ".twin":
            continue
        if x.name in ("spectra", "tcspc") and x.is_dir():
            if any(not y.name.startswith(".") for y in x.iterdir()):
                return False
            continue
        if x.name.startswith(".") and x.name.endswith(".tmp"):
            continue
        return False
    return True


class Runner:
    """Runs one protocol into one folder (see the module docstring).

    Parameters
    ----------
    protocol
        The protocol.
    folder
        Run folder (created; must be absent or empty unless `resume`).
    instruments
        The bench.
    seed
        Seed of the randomized orders (and of the simulated noise, held by the bench).
    resume
        Continue the run in `folder`.
    on_step
        Called with a `StepEvent` after each step.
    simulation
        Description of the simulated bench for the provenance (None: real devices).
    """

    def __init__(
        self,
        protocol: AcquisitionProtocol,
        folder: str | Path,
        instruments: Instruments,
        seed: int,
        resume: bool = False,
        on_step: Callable[[StepEvent], None] | None = None,
        simulation: dict[str, Any] | None = None,
    ):
        self.protocol = protocol
        self.folder = Path(folder)
        self.ins = instruments
        self.seed = int(seed)
        self.resume = resume
        self.on_step = on_step
        self.simulation = simulation
        self.plan: Plan = build_plan(protocol, self.seed)
        self.state = RunState(protocol.integration_time_s)
        self.manifest: AppendingManifest | None = None
        #: settle waits of this session at real speed [s]
        self.settle_seconds = 0.0

    # ------------------------------------------------------------------ folder
    @property
    def total(self) -> int:
        """Planned spectra + decays (+ the IRF)."""
        return len(self.plan.spectra) + len(self.plan.decays) + (1 if self.plan.decays else 0)

    @property
    def done(self) -> int:
        s = self.state
        return s.spectra_done + s.decays_done + (1 if s.irf_done else 0)

    def _log(self, event: str, **info: Any) -> None:
        rec = {"time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event}
        rec.update(info)
        line = (json.dumps(rec, default=str) + "\n").encode("utf-8")
        fd = os.open(self.folder / "log.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _provenance(self) -> dict[str, Any]:
        return {
            "schema": PROVENANCE_SCHEMA,
            "polase_version": __version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "host": platform.node(),
            "command": sys.argv,
            "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seed": self.seed,
            "protocol_fingerprint": self.protocol.fingerprint(),
            "protocol": self.protocol.to_dict(),
            "devices": self.ins.describe(),
            "simulation": self.simulation,
            "manifest": "manifest.csv",
            "manifest_columns_added": {
                "step": "position of the file in the run [1]",
                "qwp_angle_deg": "plate angle reported by the mount [deg]",
                "power_before_mW": "average power before the spectrum [mW]",
                "power_after_mW": "average power after the spectrum [mW]",
                "pulse_energy_uJ": "mean power / repetition rate [uJ]",
                "fluence_measured_mJ_cm2": "peak fluence of that pulse energy [mJ/cm2]",
            },
        }

    def _open(self) -> None:
        from .._files import write_text_atomic

        f = self.folder
        prov = f / "provenance.json"
        if self.resume and not f.is_dir():
            raise ResumeError(
                f"{f}: no such run folder; nothing to resume (start without --resume)"
            )
        if self.resume and not prov.is_file() and _only_setup(f):
            self.resume = False  # killed while creating the folder: start it again
        if self.resume:
            if not prov.is_file():
                raise ResumeError(
                    f"{f}: no provenance.json; nothing to resume (start without --resume)"
                )
            try:
                old = json.loads(prov.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ResumeError(f"{prov}: unreadable ({exc})") from None
            if old.get("protocol_fingerprint") != self.protocol.fingerprint():
                raise ResumeError(
                    f"{f}: the protocol differs from the one this run was started with "
                    "(provenance.json 'protocol'); resume with the same protocol file"
                )
            if int(old.get("seed", -1)) != self.seed:
                raise ResumeError(f"{f}: started with seed {old.get('seed')}, not {self.seed}")
            for sub in (f, f / "spectra", f / "tcspc"):  # temporaries of interrupted writes
                if sub.is_dir():
                    for tmp in sub.glob(".*.tmp"):
                        tmp.unlink()
            if not (f / "manifest.csv").exists():  # killed between provenance and manifest
                AppendingManifest(f / "manifest.csv")
            rows = read_acquisition_manifest(f / "manifest.csv", repair=True)
            for i, r in enumerate(rows):
                if int(r["step"]) != i:
                    raise ResumeError(f"{f / 'manifest.csv'}: row {i + 2} has step {r['step']}")
                if not (f / r["file"]).is_file():
                    raise ResumeError(f"{f / 'manifest.csv'}: row {i + 2}: {r['file']} is missing")
                self.state.apply(r)
            self.manifest = AppendingManifest(f / "manifest.csv")
            self._log("resume", step=self.state.step, devices=self.ins.describe())
            return
        if f.exists() and not _only_setup(f):
            raise OutputExistsError(f)
        (f / "spectra").mkdir(parents=True, exist_ok=True)
        if self.plan.decays:
            (f / "tcspc").mkdir(exist_ok=True)
        write_text_atomic(prov, json.dumps(self._provenance(), indent=2, default=str) + "\n")
        self.manifest = AppendingManifest(f / "manifest.csv")
        _fsync_dir(f)
        self._log("start", seed=self.seed, total=self.total)

    # ------------------------------------------------------------------ steps
    def _adopt(self, path: Path, step: int) -> dict[str, Any] | None:
        """The row stored in an orphan file's header, if it is this step's file."""
        if not path.exists():
            return None
        from ..io import read_das6, read_oceanoptics

        reader = read_das6 if path.parent.name == "tcspc" else read_oceanoptics
        try:
            meta = reader(path).metadata
            row = json.loads(str(meta[ROW_KEY]))
        except (InputFileError, KeyError, ValueError):
            row = None
        if not isinstance(row, dict) or row.get("step") != step:
            raise ResumeError(
                f"{path} exists but is not the file of step {step} of this run; move it "
                "away (nothing is overwritten)"
            )
        return row

    def _record(self, row: dict[str, Any], spectrum: Spectrum | None, adopted: bool) -> None:
        assert self.manifest is not None
        self.manifest.append(row)
        self.state.apply(row)
        if self.on_step is not None:
            self.on_step(StepEvent(row, self.done, self.total, spectrum, adopted))

    def _power(self) -> float:
        return self.ins.power_meter.read_power(self.protocol.power_averages)

    def _fluence_of(self, power_w: float) -> float:
        pulse_uj = power_w / self.protocol.repetition_rate_hz * 1e6
        return float(fluence_from_pulse_energy(max(pulse_uj, 0.0), self.protocol.spot_diameter_um))

    def _set_beam(self, fluence: float, angle: float) -> tuple[float, float]:
        """Plate to `angle`, attenuator to `fluence`, shutter open; (angle reached, power)."""
        p, ins = self.protocol, self.ins
        reached = ins.qwp.move_to(angle)
        if not ins.shutter.is_open():  # before the attenuator: a beam block restores its T
            ins.shutter.set_open(True)
            self._settle(p.settle_shutter_s)
        ins.attenuator.set_transmission(min(1.0, fluence / p.full_fluence_mJ_cm2))
        self._settle(max(p.settle_mount_s, p.settle_attenuator_s))
        power = self._power()
        for _ in range(p.power_max_adjust):
            measured = self._fluence_of(power)
            if measured > 0 and abs(measured / fluence - 1.0) <= p.power_tolerance:
                break
            t = ins.attenuator.transmission()
            ins.attenuator.set_transmission(min(1.0, t * fluence / max(measured, 1e-12)))
            self._settle(p.settle_attenuator_s)
            power = self._power()
        return reached, power

    def _settle(self, seconds: float) -> None:
        self.settle_seconds += max(seconds, 0.0)
        scale = self.protocol.time_scale if self.simulation is not None else 1.0
        if seconds > 0 and scale > 0:
            time.sleep(seconds * scale)

    def _powers(self, before: float, after: float) -> dict[str, float]:
        mean = 0.5 * (before + after)
        return {
            "power_before_mW": before * 1e3,
            "power_after_mW": after * 1e3,
            "pulse_energy_uJ": mean / self.protocol.repetition_rate_hz * 1e6,
            "fluence_measured_mJ_cm2": self._fluence_of(mean),
        }

    def _meta(self, row: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        serial = self.ins.spectrometer.describe().get("serial", "unknown")
        return {"Spectrometer": serial, **extra, ROW_KEY: json.dumps(row, sort_keys=True)}

    def _write_spectrum(self, row: dict[str, Any], s: Spectrum, extra: dict[str, Any]) -> None:
        from ..io import write_oceanoptics

        counts = np.where(s.saturated, self.ins.spectrometer.max_counts, s.counts)
        meta = self._meta(row, {"Scans to average": s.averages, **extra})
        write_oceanoptics(
            self.folder / row["file"], s.wavelength_nm, counts, s.integration_time_s, metadata=meta
        )

    def _dark(self) -> None:
        st, p, ins = self.state, self.protocol, self.ins
        name = f"spectra/dark_{st.darks:03d}.txt"
        base = {
            "file": name,
            "kind": "dark",
            "integration_time_s": st.integration_time_s,
            "step": st.step,
        }
        row = self._adopt(self.folder / name, st.step)
        if row is not None:
            return self._record(row, None, True)
        if ins.shutter.is_open():
            ins.shutter.set_open(False)
            self._settle(p.settle_shutter_s)
        ins.spectrometer.set_integration_time(st.integration_time_s)
        s = ins.spectrometer.acquire(p.averages)
        row = dict(base)
        self._write_spectrum(row, s, {})
        self._record(row, s, False)

    def _spectrum(self, item: SpectrumItem) -> None:
        st = self.state
        name = f"spectra/{_fmt_f(item.fluence_mJ_cm2)}mJ_{item.polarization}_{item.repeat:02d}.txt"
        row = self._adopt(self.folder / name, st.step)
        if row is not None:
            return self._record(row, None, True)
        reached, before = self._set_beam(item.fluence_mJ_cm2, item.qwp_angle_deg)
        s = acquire_autoranged(self.ins.spectrometer, st.integration_time_s, self.protocol)
        after = self._power()
        row = {
            "file": name,
            "fluence_mJ_cm2": item.fluence_mJ_cm2,
            "polarization": item.polarization,
            "repeat": item.repeat,
            "kind": "spectrum",
            "acquisition_index": st.step,
            "integration_time_s": s.integration_time_s,
            "step": st.step,
            "qwp_angle_deg": float(reached),
            **self._powers(before, after),
        }
        extra = {
            "polase fluence (mJ/cm2)": item.fluence_mJ_cm2,
            "polase polarization": item.polarization,
        }
        self._write_spectrum(row, s, extra)
        self._record(row, s, False)

    def _histogram(self, name: str, row: dict[str, Any], h, item_name: str) -> None:
        from ..io import write_das6

        meta = {
            "Item name": item_name,
            "Real time": h.acquisition_time_s,
            ROW_KEY: json.dumps(row, sort_keys=True),
        }
        write_das6(self.folder / name, h.counts, h.channel_width_ns, metadata=meta)

    def _irf(self) -> None:
        st, ins = self.state, self.ins
        name = "tcspc/irf.txt"
        row = self._adopt(self.folder / name, st.step)
        if row is not None:
            return self._record(row, None, True)
        assert ins.tcspc is not None
        ins.tcspc.set_detection_wavelength(self.plan.decays[0].detection_wavelength_nm)
        h = ins.tcspc.acquire_irf(self.protocol.tcspc_irf_acquisition_time_s)
        row = {"file": name, "kind": "irf", "step": st.step}
        self._histogram(name, row, h, "IRF")
        self._record(row, None, False)

    def _decay(self, item: DecayItem) -> None:
        st, ins = self.state, self.ins
        w = item.detection_wavelength_nm
        name = f"tcspc/{_fmt_f(item.fluence_mJ_cm2)}mJ_{item.polarization}_{w:g}nm.txt"
        row = self._adopt(self.folder / name, st.step)
        if row is not None:
            return self._record(row, None, True)
        assert ins.tcspc is not None
        reached, before = self._set_beam(item.fluence_mJ_cm2, item.qwp_angle_deg)
        ins.tcspc.set_detection_wavelength(w)
        h = ins.tcspc.acquire(self.protocol.tcspc_acquisition_time_s)
        after = self._power()
        row = {
            "file": name,
            "fluence_mJ_cm2": item.fluence_mJ_cm2,
            "polarization": item.polarization,
            "kind": "decay",
            "detection_wavelength_nm": w,
            "step": st.step,
            "qwp_angle_deg": float(reached),
            **self._powers(before, after),
        }
        self._histogram(name, row, h, f"Decay {w:g} nm")
        self._record(row, None, False)

    def _next(self) -> Callable[[], None] | None:
        """The next step, decided from the state alone (so a resume decides the same)."""
        st, p = self.state, self.protocol
        n_spec = len(self.plan.spectra)
        no_dark = st.integration_time_s not in st.dark_times
        if no_dark or (st.since_dark >= p.dark_every and st.spectra_done < n_spec):
            return self._dark
        if st.spectra_done < n_spec:
            item = self.plan.spectra[st.spectra_done]
            return lambda: self._spectrum(item)
        if self.plan.decays and not st.irf_done:
            return self._irf
        if st.decays_done < len(self.plan.decays):
            item_d = self.plan.decays[st.decays_done]
            return lambda: self._decay(item_d)
        return None

    # ------------------------------------------------------------------ run
    def run(self) -> Path:
        """Run (or resume) to the end; return the manifest path.

        Device errors and KeyboardInterrupt are logged and re-raised; the folder is then
        consistent and resumable.
        """
        self._open()
        ins = self.ins
        ins.power_meter.set_wavelength(self.protocol.power_wavelength_nm)
        t0 = time.perf_counter()
        try:
            while (step := self._next()) is not None:
                if ins.begin_step is not None:
                    ins.begin_step(self.state.step)
                step()
        except KeyboardInterrupt:
            self._log("interrupted", step=self.state.step)
            raise
        except Exception as exc:
            self._log("error", step=self.state.step, error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            try:
                ins.shutter.set_open(False)
            except Exception:  # report the original error, not this one
                pass
        info: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 3)}
        dev = ins.extra.get("device_seconds")
        if dev is not None:  # simulated: what this session would take at real speed
            info["seconds_at_real_speed"] = round(float(dev()) + self.settle_seconds, 1)
        self._log("complete", steps=self.state.step, **info)
        return self.folder / "manifest.csv"


def run_protocol(
    protocol: AcquisitionProtocol,
    folder: str | Path,
    instruments: Instruments,
    seed: int,
    resume: bool = False,
    on_step: Callable[[StepEvent], None] | None = None,
    simulation: dict[str, Any] | None = None,
) -> Path:
    """Run `protocol` on `instruments` into `folder` (see `Runner`); return the manifest."""
    return Runner(protocol, folder, instruments, seed, resume, on_step, simulation).run()


def run_simulated(
    protocol: AcquisitionProtocol,
    folder: str | Path,
    seed: int,
    resume: bool = False,
    on_step: Callable[[StepEvent], None] | None = None,
    time_scale: float | None = None,
    faults=None,
    config=None,
    **bench_options,
) -> Path:
    """Run `protocol` on the simulated bench (`polase.acquire.simulated`).

    Parameters
    ----------
    protocol, folder, seed, resume, on_step
        See `Runner`.
    time_scale
        Factor on every simulated wait (None: the protocol's ``simulation.time_scale``).
    faults
        `SimFaults` to inject.
    config
        Twin configuration (None: the protocol's ``simulation.config`` or the default).
        The twin's emission is kept in ``folder/.twin/`` so that a resume does not
        simulate again.
    **bench_options
        Further `SimulatedBench` arguments (``calibration_error``, ``laser_rms``,
        ``power_meter_rms``).

    Returns
    -------
    Path
        The manifest.
    """
    from .simulated import SimulatedBench

    if time_scale is not None:
        protocol = protocol.replace(time_scale=float(time_scale))
    f = Path(folder)
    # checked before the bench writes its cache into the folder
    if not resume and not _only_setup(f):
        raise OutputExistsError(f)
    if resume and not f.is_dir():
        raise ResumeError(f"{f}: no such run folder; nothing to resume (start without --resume)")
    bench = SimulatedBench(
        protocol,
        seed,
        config=config,
        faults=faults,
        twin_cache_dir=Path(folder) / ".twin",
        **bench_options,
    )
    ins = bench.instruments()
    try:
        return run_protocol(protocol, folder, ins, seed, resume, on_step, bench.describe())
    finally:
        ins.close()
