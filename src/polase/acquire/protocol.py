"""Acquisition protocols: the TOML file that says what to measure, and the step plan.

A protocol file has the sections below (every key optional except ``sweep.fluence_mJ_cm2``;
see docs/acquisition.md for the full table and examples/paper.toml for a complete file)::

    [sweep]        fluence_mJ_cm2, qwp_angle_deg, repeats, order, fluence_order
    [spectrometer] integration_time_s, min_integration_time_s, averages, auto_range,
                   target_fraction, low_fraction
    [darks]        every
    [power]        averages, wavelength_nm, tolerance, max_adjust
    [laser]        repetition_rate_hz, spot_diameter_um, full_fluence_mJ_cm2
    [settle]       mount_s, attenuator_s, shutter_s
    [tcspc]        fluence_mJ_cm2, detection_wavelength_nm, qwp_angle_deg,
                   acquisition_time_s, irf_acquisition_time_s
    [simulation]   config, time_scale

`build_plan` turns a protocol and a seed into the deterministic list of spectra and
decays; darks are inserted by the runner (every ``darks.every`` spectra and whenever an
integration time without a dark is first used).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._files import read_toml
from ..experiment import polarization_labels
from .errors import ProtocolError

ORDERS = ("alternating", "randomized_blocks", "blocked")
FLUENCE_ORDERS = ("ascending", "descending", "as_given", "random")


@dataclass(frozen=True)
class AcquisitionProtocol:
    """A validated protocol (field names are the TOML keys, ``section_key``).

    Attributes
    ----------
    fluence_mJ_cm2
        Nominal peak pump fluences. [mJ/cm2]
    qwp_angle_deg
        Quarter-wave-plate angles (0: linear, 45: circular). [deg]
    repeats
        Spectra per fluence and angle. [1]
    order
        "alternating" (L, C, L, C at each fluence), "randomized_blocks" (each block of
        one spectrum per angle in an order drawn from the seed) or "blocked" (all repeats
        of one angle, then the next).
    fluence_order
        "ascending", "descending", "as_given" or "random" (drawn from the seed).
    integration_time_s
        Longest (and first) integration time. [s]
    min_integration_time_s
        Shortest integration time auto-ranging may use. [s]
    averages
        Scans averaged per spectrum. [1]
    auto_range
        Adjust the integration time on a ladder ``integration_time_s / 2**k`` so the
        spectrum stays below saturation and above ``low_fraction`` of full scale.
    target_fraction, low_fraction
        Fraction of full scale to aim the peak at / below which to expose longer. [1]
    dark_every
        A dark spectrum (shutter closed) every this many spectra. [1]
    power_averages
        Power-meter readings averaged before and after each spectrum. [1]
    power_wavelength_nm
        Wavelength correction of the power sensor. [nm]
    power_tolerance
        Relative fluence error above which the attenuator is re-adjusted. [1]
    power_max_adjust
        Re-adjustments per spectrum at most. [1]
    repetition_rate_hz
        Laser repetition rate. [Hz]
    spot_diameter_um
        1/e^2 diameter of the pump spot. [um]
    full_fluence_mJ_cm2
        Peak fluence at full attenuator transmission (the attenuator calibration). [mJ/cm2]
    settle_mount_s, settle_attenuator_s, settle_shutter_s
        Waits after a move. [s]
    tcspc_fluence_mJ_cm2, tcspc_detection_wavelength_nm, tcspc_qwp_angle_deg
        Decays to record (after the spectra). [mJ/cm2], [nm], [deg]
    tcspc_acquisition_time_s, tcspc_irf_acquisition_time_s
        Collection time per decay and for the IRF. [s]
    simulation_config
        Digital-twin TOML for ``--simulated`` (empty: the calibrated default), relative
        to the protocol file.
    time_scale
        Factor on every simulated wait (0: no waiting). [1]
    source
        The protocol file (empty for a protocol built in code).
    """

    fluence_mJ_cm2: tuple[float, ...]
    qwp_angle_deg: tuple[float, ...] = (0.0, 45.0)
    repeats: int = 3
    order: str = "alternating"
    fluence_order: str = "ascending"
    integration_time_s: float = 0.01
    min_integration_time_s: float = 1e-4
    averages: int = 1
    auto_range: bool = True
    target_fraction: float = 0.7
    low_fraction: float = 0.2
    dark_every: int = 20
    power_averages: int = 5
    power_wavelength_nm: float = 1030.0
    power_tolerance: float = 0.02
    power_max_adjust: int = 3
    repetition_rate_hz: float = 25000.0
    spot_diameter_um: float = 100.0
    full_fluence_mJ_cm2: float = 25.0
    settle_mount_s: float = 0.2
    settle_attenuator_s: float = 0.2
    settle_shutter_s: float = 0.05
    tcspc_fluence_mJ_cm2: tuple[float, ...] = ()
    tcspc_detection_wavelength_nm: tuple[float, ...] = (533.0, 543.0)
    tcspc_qwp_angle_deg: tuple[float, ...] = (0.0,)
    tcspc_acquisition_time_s: float = 30.0
    tcspc_irf_acquisition_time_s: float = 30.0
    simulation_config: str = ""
    time_scale: float = 1.0
    source: str = ""

    def __post_init__(self):
        _check(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), as stored in provenance.json."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}

    def fingerprint(self) -> str:
        """SHA-256 of everything that decides the plan and the data (not `time_scale`)."""
        d = self.to_dict()
        d.pop("time_scale")
        d.pop("source")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def replace(self, **changes) -> AcquisitionProtocol:
        """A copy with fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def labels(self) -> list[str]:
        """Polarization label per angle ("linear", "circular", "qwp_<a>deg")."""
        return polarization_labels(self.qwp_angle_deg)


# TOML (section, key) -> field
_KEYS: dict[tuple[str, str], str] = {
    ("sweep", "fluence_mJ_cm2"): "fluence_mJ_cm2",
    ("sweep", "qwp_angle_deg"): "qwp_angle_deg",
    ("sweep", "repeats"): "repeats",
    ("sweep", "order"): "order",
    ("sweep", "fluence_order"): "fluence_order",
    ("spectrometer", "integration_time_s"): "integration_time_s",
    ("spectrometer", "min_integration_time_s"): "min_integration_time_s",
    ("spectrometer", "averages"): "averages",
    ("spectrometer", "auto_range"): "auto_range",
    ("spectrometer", "target_fraction"): "target_fraction",
    ("spectrometer", "low_fraction"): "low_fraction",
    ("darks", "every"): "dark_every",
    ("power", "averages"): "power_averages",
    ("power", "wavelength_nm"): "power_wavelength_nm",
    ("power", "tolerance"): "power_tolerance",
    ("power", "max_adjust"): "power_max_adjust",
    ("laser", "repetition_rate_hz"): "repetition_rate_hz",
    ("laser", "spot_diameter_um"): "spot_diameter_um",
    ("laser", "full_fluence_mJ_cm2"): "full_fluence_mJ_cm2",
    ("settle", "mount_s"): "settle_mount_s",
    ("settle", "attenuator_s"): "settle_attenuator_s",
    ("settle", "shutter_s"): "settle_shutter_s",
    ("tcspc", "fluence_mJ_cm2"): "tcspc_fluence_mJ_cm2",
    ("tcspc", "detection_wavelength_nm"): "tcspc_detection_wavelength_nm",
    ("tcspc", "qwp_angle_deg"): "tcspc_qwp_angle_deg",
    ("tcspc", "acquisition_time_s"): "tcspc_acquisition_time_s",
    ("tcspc", "irf_acquisition_time_s"): "tcspc_irf_acquisition_time_s",
    ("simulation", "config"): "simulation_config",
    ("simulation", "time_scale"): "time_scale",
}
_TUPLES = {
    "fluence_mJ_cm2",
    "qwp_angle_deg",
    "tcspc_fluence_mJ_cm2",
    "tcspc_detection_wavelength_nm",
    "tcspc_qwp_angle_deg",
}
_INTS = {"repeats", "averages", "dark_every", "power_averages", "power_max_adjust"}
_BOOLS = {"auto_range"}
_STRS = {"order", "fluence_order", "simulation_config", "source"}


def _key_of(name: str) -> str:
    for (sec, key), f in _KEYS.items():
        if f == name:
            return f"{sec}.{key}"
    return name


def _check(p: AcquisitionProtocol) -> None:
    def bad(name: str, msg: str):
        raise ProtocolError(_key_of(name), msg)

    for name in _TUPLES:
        v = getattr(p, name)
        if not all(isinstance(x, float) and math.isfinite(x) for x in v):
            bad(name, f"must be a list of finite numbers, got {list(v)}")
    if not p.fluence_mJ_cm2:
        bad("fluence_mJ_cm2", "the sweep is empty; give at least one fluence [mJ/cm2]")
    if len(set(p.fluence_mJ_cm2)) != len(p.fluence_mJ_cm2):
        bad("fluence_mJ_cm2", f"fluences repeat: {list(p.fluence_mJ_cm2)}")
    for name in ("fluence_mJ_cm2", "tcspc_fluence_mJ_cm2", "tcspc_detection_wavelength_nm"):
        if any(x <= 0 for x in getattr(p, name)):
            bad(name, "values must be > 0")
    if not p.qwp_angle_deg:
        bad("qwp_angle_deg", "give at least one angle [deg]")
    polarization_labels(p.qwp_angle_deg)  # distinct angles
    for a in p.tcspc_qwp_angle_deg:
        if a not in p.qwp_angle_deg:
            bad("tcspc_qwp_angle_deg", f"{a} is not one of sweep.qwp_angle_deg")
    for name in _INTS:
        v = getattr(p, name)
        if (
            not isinstance(v, int)
            or isinstance(v, bool)
            or v < (0 if name == "power_max_adjust" else 1)
        ):
            bad(name, f"must be an integer >= 1, got {v!r}")
    if p.order not in ORDERS:
        bad("order", f"{p.order!r}; allowed: {', '.join(ORDERS)}")
    if p.fluence_order not in FLUENCE_ORDERS:
        bad("fluence_order", f"{p.fluence_order!r}; allowed: {', '.join(FLUENCE_ORDERS)}")
    for name in (
        "integration_time_s",
        "min_integration_time_s",
        "power_wavelength_nm",
        "repetition_rate_hz",
        "spot_diameter_um",
        "full_fluence_mJ_cm2",
        "tcspc_acquisition_time_s",
        "tcspc_irf_acquisition_time_s",
    ):
        v = getattr(p, name)
        if not (isinstance(v, float) and math.isfinite(v) and v > 0):
            bad(name, f"must be a finite number > 0, got {v!r}")
    for name in ("settle_mount_s", "settle_attenuator_s", "settle_shutter_s", "time_scale"):
        v = getattr(p, name)
        if not (isinstance(v, float) and math.isfinite(v) and v >= 0):
            bad(name, f"must be a finite number >= 0, got {v!r}")
    if p.min_integration_time_s > p.integration_time_s:
        bad("min_integration_time_s", "must be <= spectrometer.integration_time_s")
    if not 0 < p.low_fraction < p.target_fraction < 1:
        bad("target_fraction", "need 0 < low_fraction < target_fraction < 1")
    if not 0 < p.power_tolerance < 1:
        bad("power_tolerance", f"must be in (0, 1), got {p.power_tolerance}")
    if max(p.fluence_mJ_cm2 + p.tcspc_fluence_mJ_cm2) > p.full_fluence_mJ_cm2:
        bad(
            "full_fluence_mJ_cm2",
            f"{p.full_fluence_mJ_cm2} mJ/cm2 at full transmission is below the highest "
            "fluence asked for",
        )


def protocol_from_dict(data: dict[str, Any], source: str | Path = "") -> AcquisitionProtocol:
    """Build a protocol from the nested dict of a TOML file.

    Raises
    ------
    ProtocolError
        Unknown sections or keys (naming the allowed ones), wrong types or values.
    """
    sections = sorted({s for s, _ in _KEYS})
    kw: dict[str, Any] = {"source": str(source)}
    for sec, body in data.items():
        if sec not in sections:
            raise ProtocolError(sec, f"unknown section; allowed: {', '.join(sections)}")
        if not isinstance(body, dict):
            raise ProtocolError(sec, "must be a table ([section])")
        for key, value in body.items():
            name = _KEYS.get((sec, key))
            if name is None:
                allowed = sorted(k for s, k in _KEYS if s == sec)
                raise ProtocolError(f"{sec}.{key}", f"unknown key; allowed: {', '.join(allowed)}")
            if name in _TUPLES:
                if not isinstance(value, list):
                    raise ProtocolError(f"{sec}.{key}", f"must be a list, got {value!r}")
                try:
                    value = tuple(float(x) for x in value)
                except (TypeError, ValueError):
                    raise ProtocolError(f"{sec}.{key}", f"must be numbers, got {value!r}") from None
            elif name in _BOOLS:
                if not isinstance(value, bool):
                    raise ProtocolError(f"{sec}.{key}", f"must be true or false, got {value!r}")
            elif name in _STRS:
                if not isinstance(value, str):
                    raise ProtocolError(f"{sec}.{key}", f"must be a string, got {value!r}")
            elif name not in _INTS:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ProtocolError(f"{sec}.{key}", f"must be a number, got {value!r}")
                value = float(value)
            kw[name] = value
    if "fluence_mJ_cm2" not in kw:
        raise ProtocolError("sweep.fluence_mJ_cm2", "missing; list the fluences [mJ/cm2]")
    return AcquisitionProtocol(**kw)


def read_protocol(path: str | Path) -> AcquisitionProtocol:
    """Read and validate a protocol TOML file.

    Raises
    ------
    InputFileError
        Not readable or not TOML (with the line of the syntax error).
    ProtocolError
        Unknown or bad keys.
    """

    p = Path(path)
    data = read_toml(p, "the protocol")
    try:
        return protocol_from_dict(data, source=p)
    except ProtocolError as exc:
        raise ProtocolError(exc.key, f"{str(exc).split(': ', 1)[1]} (in {p})") from None


# ----------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class SpectrumItem:
    """One planned spectrum: nominal fluence [mJ/cm2], plate angle [deg], label, repeat."""

    fluence_mJ_cm2: float
    qwp_angle_deg: float
    polarization: str
    repeat: int


@dataclass(frozen=True)
class DecayItem:
    """One planned decay: fluence [mJ/cm2], plate angle [deg], label, detection [nm]."""

    fluence_mJ_cm2: float
    qwp_angle_deg: float
    polarization: str
    detection_wavelength_nm: float


@dataclass(frozen=True)
class Plan:
    """The deterministic acquisition order for a protocol and a seed."""

    spectra: tuple[SpectrumItem, ...]
    decays: tuple[DecayItem, ...] = field(default=())


def build_plan(protocol: AcquisitionProtocol, seed: int) -> Plan:
    """The order of spectra and decays (deterministic given `protocol` and `seed`).

    Parameters
    ----------
    protocol
        The protocol.
    seed
        Seed of the randomized orders (fluence_order "random", order "randomized_blocks").

    Returns
    -------
    Plan
    """
    rng = np.random.default_rng([int(seed), 0x504C414E])  # "PLAN"
    f = list(protocol.fluence_mJ_cm2)
    if protocol.fluence_order == "ascending":
        f.sort()
    elif protocol.fluence_order == "descending":
        f.sort(reverse=True)
    elif protocol.fluence_order == "random":
        f = [f[i] for i in rng.permutation(len(f))]
    angles = list(protocol.qwp_angle_deg)
    labels = dict(zip(angles, protocol.labels))
    items: list[SpectrumItem] = []
    for fl in f:
        if protocol.order == "blocked":
            for a in angles:
                items += [SpectrumItem(fl, a, labels[a], r) for r in range(protocol.repeats)]
            continue
        for r in range(protocol.repeats):
            block = angles
            if protocol.order == "randomized_blocks":
                block = [angles[i] for i in rng.permutation(len(angles))]
            items += [SpectrumItem(fl, a, labels[a], r) for a in block]
    decays = tuple(
        DecayItem(fl, a, labels[a], w)
        for fl in sorted(protocol.tcspc_fluence_mJ_cm2)
        for a in protocol.tcspc_qwp_angle_deg
        for w in protocol.tcspc_detection_wavelength_nm
    )
    return Plan(tuple(items), decays)
