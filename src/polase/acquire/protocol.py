"""Acquisition protocols: the TOML file that says what to measure, and the step plan.

A protocol file has the sections below, each a section dataclass of `SECTIONS` read with
`polase.config.section_from_table` (every key optional except ``sweep.fluence_mJ_cm2``;
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
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._files import read_toml
from ..config import PumpConfig, section_from_table, section_to_table
from ..errors import ConfigError
from ..experiment import polarization_labels
from .errors import ProtocolError

ORDERS = ("alternating", "randomized_blocks", "blocked")
FLUENCE_ORDERS = ("ascending", "descending", "as_given", "random")


def _as(default, field_name: str):
    """A section key whose `AcquisitionProtocol` field is `field_name` (not the key itself)."""
    return dataclasses.field(default=default, metadata={"protocol_field": field_name})


@dataclass(frozen=True)
class SweepSection:
    """``[sweep]``: fluences, plate angles, repeats and their order (`AcquisitionProtocol`)."""

    fluence_mJ_cm2: tuple[float, ...] = ()
    qwp_angle_deg: tuple[float, ...] = (0.0, 45.0)
    repeats: int = 3
    order: str = "alternating"
    fluence_order: str = "ascending"


@dataclass(frozen=True)
class SpectrometerSection:
    """``[spectrometer]``: integration times, averaging and auto-ranging."""

    integration_time_s: float = 0.01
    min_integration_time_s: float = 1e-4
    averages: int = 1
    auto_range: bool = True
    target_fraction: float = 0.7
    low_fraction: float = 0.2


@dataclass(frozen=True)
class DarksSection:
    """``[darks]``: ``every`` is the protocol's ``dark_every``."""

    every: int = _as(20, "dark_every")


@dataclass(frozen=True)
class PowerSection:
    """``[power]``: the power meter (protocol fields ``power_<key>``)."""

    averages: int = _as(5, "power_averages")
    wavelength_nm: float = _as(1030.0, "power_wavelength_nm")
    tolerance: float = _as(0.02, "power_tolerance")
    max_adjust: int = _as(3, "power_max_adjust")


@dataclass(frozen=True)
class LaserSection:
    """``[laser]``: the pump laser on the bench and the attenuator calibration.

    ``repetition_rate_hz`` and ``spot_diameter_um`` are `polase.config.PumpConfig` keys
    (same names, units and defaults): on the simulated bench they override the twin's
    ``[pump]`` (`pump_table`), so that the twin is pumped by the laser the runner converts
    power to fluence with.
    """

    repetition_rate_hz: float = PumpConfig.repetition_rate_hz
    spot_diameter_um: float = PumpConfig.spot_diameter_um
    full_fluence_mJ_cm2: float = 25.0

    def pump_table(self) -> dict[str, Any]:
        """The twin's ``[pump]`` keys this laser sets (those named like a `PumpConfig` field)."""
        pump = {f.name for f in dataclasses.fields(PumpConfig)}
        return {k: v for k, v in section_to_table(self).items() if k in pump}


@dataclass(frozen=True)
class SettleSection:
    """``[settle]``: waits after a move (protocol fields ``settle_<key>``)."""

    mount_s: float = _as(0.2, "settle_mount_s")
    attenuator_s: float = _as(0.2, "settle_attenuator_s")
    shutter_s: float = _as(0.05, "settle_shutter_s")


@dataclass(frozen=True)
class TcspcSection:
    """``[tcspc]``: the decays recorded after the spectra (protocol fields ``tcspc_<key>``)."""

    fluence_mJ_cm2: tuple[float, ...] = _as((), "tcspc_fluence_mJ_cm2")
    detection_wavelength_nm: tuple[float, ...] = _as(
        (533.0, 543.0), "tcspc_detection_wavelength_nm"
    )
    qwp_angle_deg: tuple[float, ...] = _as((0.0,), "tcspc_qwp_angle_deg")
    acquisition_time_s: float = _as(30.0, "tcspc_acquisition_time_s")
    irf_acquisition_time_s: float = _as(30.0, "tcspc_irf_acquisition_time_s")


@dataclass(frozen=True)
class SimulationSection:
    """``[simulation]``: the twin of ``--simulated`` (``config`` is ``simulation_config``)."""

    config: str = _as("", "simulation_config")
    time_scale: float = 1.0


#: The sections of a protocol file, in TOML order: each key is one `AcquisitionProtocol`
#: field, the key itself unless the section dataclass names another (``darks.every`` is
#: ``dark_every``).
SECTIONS: dict[str, type] = {
    "sweep": SweepSection,
    "spectrometer": SpectrometerSection,
    "darks": DarksSection,
    "power": PowerSection,
    "laser": LaserSection,
    "settle": SettleSection,
    "tcspc": TcspcSection,
    "simulation": SimulationSection,
}


def _protocol_field(f: dataclasses.Field) -> str:
    return f.metadata.get("protocol_field", f.name)


@dataclass(frozen=True)
class AcquisitionProtocol:
    """A validated protocol: one field per TOML key of `SECTIONS` (defaults from there).

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
    qwp_angle_deg: tuple[float, ...] = SweepSection.qwp_angle_deg
    repeats: int = SweepSection.repeats
    order: str = SweepSection.order
    fluence_order: str = SweepSection.fluence_order
    integration_time_s: float = SpectrometerSection.integration_time_s
    min_integration_time_s: float = SpectrometerSection.min_integration_time_s
    averages: int = SpectrometerSection.averages
    auto_range: bool = SpectrometerSection.auto_range
    target_fraction: float = SpectrometerSection.target_fraction
    low_fraction: float = SpectrometerSection.low_fraction
    dark_every: int = DarksSection.every
    power_averages: int = PowerSection.averages
    power_wavelength_nm: float = PowerSection.wavelength_nm
    power_tolerance: float = PowerSection.tolerance
    power_max_adjust: int = PowerSection.max_adjust
    repetition_rate_hz: float = LaserSection.repetition_rate_hz
    spot_diameter_um: float = LaserSection.spot_diameter_um
    full_fluence_mJ_cm2: float = LaserSection.full_fluence_mJ_cm2
    settle_mount_s: float = SettleSection.mount_s
    settle_attenuator_s: float = SettleSection.attenuator_s
    settle_shutter_s: float = SettleSection.shutter_s
    tcspc_fluence_mJ_cm2: tuple[float, ...] = TcspcSection.fluence_mJ_cm2
    tcspc_detection_wavelength_nm: tuple[float, ...] = TcspcSection.detection_wavelength_nm
    tcspc_qwp_angle_deg: tuple[float, ...] = TcspcSection.qwp_angle_deg
    tcspc_acquisition_time_s: float = TcspcSection.acquisition_time_s
    tcspc_irf_acquisition_time_s: float = TcspcSection.irf_acquisition_time_s
    simulation_config: str = SimulationSection.config
    time_scale: float = SimulationSection.time_scale
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

    def sections(self) -> dict[str, Any]:
        """The protocol as its typed TOML sections (`SECTIONS`)."""
        return {
            name: cls(
                **{f.name: getattr(self, _protocol_field(f)) for f in dataclasses.fields(cls)}
            )
            for name, cls in SECTIONS.items()
        }

    def to_toml(self) -> str:
        """The protocol as TOML text; `read_protocol` reads it back to an equal protocol."""
        import tomli_w

        return tomli_w.dumps({k: section_to_table(v) for k, v in self.sections().items()})

    @property
    def labels(self) -> list[str]:
        """Polarization label per angle ("linear", "circular", "qwp_<a>deg")."""
        return polarization_labels(self.qwp_angle_deg)


#: AcquisitionProtocol field -> its dotted TOML key
_TOML_KEYS: dict[str, str] = {
    _protocol_field(f): f"{name}.{f.name}"
    for name, cls in SECTIONS.items()
    for f in dataclasses.fields(cls)
}
_HINTS = typing.get_type_hints(AcquisitionProtocol)
_TUPLES = {name for name, hint in _HINTS.items() if typing.get_origin(hint) is tuple}
_INTS = {name for name, hint in _HINTS.items() if hint is int}


def _check(p: AcquisitionProtocol) -> None:
    def bad(name: str, msg: str):
        raise ProtocolError(_TOML_KEYS.get(name, name), msg)

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

    Each table is read into its section dataclass of `SECTIONS` by
    `polase.config.section_from_table` (strict: unknown keys and wrong types are errors).

    Raises
    ------
    ProtocolError
        Unknown sections or keys (naming the allowed ones), wrong types or values.
    """
    for sec, body in data.items():
        if sec not in SECTIONS:
            raise ProtocolError(sec, f"unknown section; allowed: {', '.join(sorted(SECTIONS))}")
        if not isinstance(body, dict):
            raise ProtocolError(sec, "must be a table ([section])")
    kw: dict[str, Any] = {"source": str(source)}
    for sec, cls in SECTIONS.items():
        try:
            section = section_from_table(cls, data.get(sec, {}), f"{sec}.", strict=True)
        except ConfigError as exc:
            raise ProtocolError(exc.key, exc.message) from None
        kw |= {_protocol_field(f): getattr(section, f.name) for f in dataclasses.fields(cls)}
    if "fluence_mJ_cm2" not in data.get("sweep", {}):
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
