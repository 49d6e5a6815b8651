"""Simulation configuration: typed sections, defaults, validation, TOML in and out.

A configuration has the sections below, each a TOML table. `load_config` merges a user's
partial configuration (TOML file or nested dict) over the defaults, validates every key (an
unknown key or a bad value raises `ConfigError` naming the dotted key and what is allowed)
and returns a `SimulationConfig` of typed sections:

- ``sweep``, ``pump``, ``polarization``, ``numerics``: `SweepConfig`, `PumpConfig`,
  `PolarizationConfig`, `NumericsConfig`;
- ``material``, ``sample``, ``mechanism``: parameter tables whose keys, defaults and units
  are those of `polase.materials` (calibrated values from the package data file): a
  parameter added there is a configuration key without any change here;
- ``spectrometer``, ``tcspc``: the instruments' own frozen configs
  (`SpectrometerConfig`, `TCSPCConfig`), ``excitation``: `ExcitationSection` (a grid plus an
  `ExcitationConfig`).

`section_to_table` / `section_from_table` are the one conversion between a section
dataclass and its TOML table. Dotted keys (``"material.k2"``) are accepted as overrides;
the command line passes them with ``--set KEY=VALUE``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import json
import math
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, InputFileError

#: Shortcut names accepted by `polase.simulate(**overrides)`, mapped to dotted keys.
SHORTCUTS: dict[str, str] = {
    "fluence": "sweep.fluence",
    "qwp_angle": "sweep.qwp_angle",
    "repeats": "sweep.repeats",
    "seed": "sweep.seed",
    "noise": "sweep.noise",
    "switching": "sweep.switching",
    "decays": "sweep.decays",
    "detection_wavelength": "sweep.detection_wavelength",
    "mechanism": "mechanism.name",
    "solver": "numerics.solver",
    "material": "material.name",
}

_CHOICES: dict[str, tuple[str, ...]] = {
    "sweep.switching": ("alternating", "blocked"),
    "pump.profile": ("gaussian", "flat"),
    "numerics.solver": ("fast", "reference"),
    "numerics.ensemble": ("convolution", "quadrature"),
    "mechanism.dichroism.form": ("docp2", "abs"),
    "material.gain_model": ("band_filling", "cross_section"),
}

# keys that must be > 0 (others numeric must only be finite)
_POSITIVE = {
    "sweep.repeats",
    "sweep.seconds_per_acquisition",
    "sweep.decay_min_fluence",
    "pump.wavelength_nm",
    "pump.pulse_fwhm_fs",
    "pump.repetition_rate_hz",
    "pump.spot_diameter_um",
    "numerics.n_cells",
    "numerics.ensemble_nodes",
    "numerics.wavelength_step_nm",
    "numerics.t_end_ns",
    "numerics.time_bin_ns",
    "numerics.rtol",
    "numerics.atol_rel",
    "numerics.max_step_ns",
    "excitation.wavelength_step_nm",
}
_NONNEGATIVE_SECTIONS = ("material", "sample", "mechanism")
_INTEGER = {"sweep.repeats", "sweep.seed", "numerics.n_cells", "numerics.ensemble_nodes"}


def default_fluences() -> list[float]:
    """Default sweep: 4 to 20 mJ/cm2 in 0.5 steps plus 8.2. [mJ/cm2]"""
    f = set(np.round(np.arange(4.0, 20.0 + 1e-9, 0.5), 6).tolist()) | {8.2}
    return sorted(float(x) for x in f)


# ----------------------------------------------------------------------------- sections
@dataclass(frozen=True)
class SweepConfig:
    """``[sweep]``: what is measured, in which order, with what noise.

    Parameters
    ----------
    fluence : tuple of float
        Peak pump fluences of the sweep. [mJ/cm2]
    qwp_angle : tuple of float
        Quarter-wave-plate angles; 0 is linear, 45 circular. [deg]
    repeats : int
        Spectra per (fluence, polarization).
    seed : int
        Seed of the instrument noise.
    noise : bool
        Shot, dark and read noise on (False: noiseless counts).
    switching : str
        Acquisition order: "alternating" (L, C, L, C, ...) or "blocked".
    decays : bool
        Also simulate TCSPC decays.
    decay_min_fluence : float
        Lowest fluence at which decays are recorded. [mJ/cm2]
    detection_wavelength : tuple of float
        Detection wavelengths of the decays. [nm]
    drift_per_hour : float
        Relative laser-power drift. [1/h]
    seconds_per_acquisition : float
        Laboratory time per spectrum (drives the drift). [s]
    """

    fluence: tuple[float, ...] = dataclasses.field(
        default_factory=lambda: tuple(default_fluences())
    )
    qwp_angle: tuple[float, ...] = (0.0, 45.0)
    repeats: int = 3
    seed: int = 0
    noise: bool = True
    switching: str = "alternating"
    decays: bool = True
    decay_min_fluence: float = 14.0
    detection_wavelength: tuple[float, ...] = (533.0, 543.0)
    drift_per_hour: float = 0.003
    seconds_per_acquisition: float = 10.0


@dataclass(frozen=True)
class PumpConfig:
    """``[pump]``: the femtosecond pump laser.

    Parameters
    ----------
    wavelength_nm : float
        Pump wavelength. [nm]
    pulse_fwhm_fs : float
        Pulse duration (FWHM). [fs]
    repetition_rate_hz : float
        Pulse repetition rate. [Hz]
    spot_diameter_um : float
        Spot diameter on the sample. [um]
    profile : str
        Transverse profile: "gaussian" or "flat".
    depletion : bool
        Deplete the pump along the sample thickness.
    """

    wavelength_nm: float = 1030.0
    pulse_fwhm_fs: float = 290.0
    repetition_rate_hz: float = 25000.0
    spot_diameter_um: float = 100.0
    profile: str = "gaussian"
    depletion: bool = False


@dataclass(frozen=True)
class PolarizationConfig:
    """``[polarization]``: polarizer and quarter-wave plate (Jones calculus).

    Parameters
    ----------
    polarizer_angle_deg : float
        Transmission axis of the polarizer. [deg]
    retardance_deg : float
        Retardance of the wave plate (90 for an ideal quarter-wave plate). [deg]
    retardance_error_deg : float
        Deviation of the retardance from its nominal value. [deg]
    diattenuation : float
        Diattenuation of the plate. [1]
    """

    polarizer_angle_deg: float = 0.0
    retardance_deg: float = 90.0
    retardance_error_deg: float = 0.0
    diattenuation: float = 0.0


@dataclass(frozen=True)
class NumericsConfig:
    """``[numerics]``: grids and solver of the digital twin.

    Parameters
    ----------
    solver : str
        "fast" (numba integrator) or "reference" (scipy solve_ivp).
    n_cells : int
        Cells along the rod for the ASE propagation.
    ensemble : str
        Band-gap ensemble average: "convolution" or "quadrature".
    ensemble_nodes : int
        Gauss-Hermite nodes of the "quadrature" ensemble.
    wavelength_min_nm, wavelength_max_nm, wavelength_step_nm : float
        Uniform model wavelength grid. [nm]
    wavelength_nm : tuple of float
        Explicit uniform model grid (overrides min/max/step when not empty). [nm]
    t_end_ns : float
        End of the simulated time window. [ns]
    time_bin_ns : float
        Output time step of the kinetics. [ns]
    rtol, atol_rel : float
        Relative and (relative-to-initial) absolute tolerance of the integrator. [1]
    max_step_ns : float
        Largest integrator step. [ns]
    """

    solver: str = "fast"
    n_cells: int = 24
    ensemble: str = "convolution"
    ensemble_nodes: int = 7
    wavelength_min_nm: float = 490.0
    wavelength_max_nm: float = 600.0
    wavelength_step_nm: float = 1.0
    wavelength_nm: tuple[float, ...] = ()
    t_end_ns: float = 60.0
    time_bin_ns: float = 0.01
    rtol: float = 1e-4
    atol_rel: float = 1e-6
    max_step_ns: float = 0.5


def _spectrometer_default():
    from .instruments.spectrometer import SpectrometerConfig

    # 1 ms: the 20 mJ/cm2 ASE peak at ~0.9 of 16-bit full scale, 4 mJ/cm2 PL ~1700 counts
    return SpectrometerConfig(integration_time_s=0.001)


def _tcspc_default():
    from .instruments.tcspc import TCSPCConfig

    return TCSPCConfig()


def _excitation_default():
    from .instruments.excitation import ExcitationConfig

    return ExcitationConfig()


@dataclass(frozen=True)
class ExcitationSection:
    """``[excitation]``: the excitation-spectrum measurement.

    The TOML table holds the keys of `instrument` (an
    `polase.instruments.excitation.ExcitationConfig`) next to the grid below.

    Parameters
    ----------
    wavelength_min_nm, wavelength_max_nm, wavelength_step_nm : float
        Excitation wavelengths scanned. [nm]
    instrument : ExcitationConfig
        Lamp, detection and counting settings.
    """

    wavelength_min_nm: float = 350.0
    wavelength_max_nm: float = 540.0
    wavelength_step_nm: float = 1.0
    instrument: Any = dataclasses.field(default_factory=_excitation_default)

    @property
    def wavelength(self) -> np.ndarray:
        """The scanned excitation wavelengths. [nm]"""
        step = self.wavelength_step_nm
        return np.arange(self.wavelength_min_nm, self.wavelength_max_nm + 0.5 * step, step)


def _scalar(v):
    return v.item() if isinstance(v, np.generic) else v


def section_to_table(obj) -> dict:
    """A section dataclass as a TOML table (plain values; embedded dataclasses flattened).

    Fields that TOML cannot hold (None, arrays such as a measured IRF) are left out.
    """
    out: dict = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            out.update(section_to_table(v))
        elif v is None or isinstance(v, np.ndarray):
            continue
        elif isinstance(v, tuple):
            if any(isinstance(x, tuple | list | np.ndarray) for x in v):
                continue  # a table (e.g. slit_table): not a TOML scalar list
            out[f.name] = [_scalar(x) for x in v]
        else:
            out[f.name] = _scalar(v)
    return out


def section_from_table(cls, table: Mapping, prefix: str = "", default=None, *, strict=False):
    """Build the section dataclass `cls` from a TOML table (the inverse of `section_to_table`).

    Lists become tuples; keys the table lacks keep the value of `default` (an instance of
    `cls`, default ``cls()``); embedded dataclasses take their keys from the same table.
    An instrument's own validation error is re-raised naming the dotted key.

    With ``strict=True`` the table is read as user input: a key that is no field is a
    `ConfigError` naming ``prefix + key`` and the allowed keys, and every value must have
    its field's annotated type (true/false for a bool, an integer for an int, a number for
    a float, which it becomes, a string for a str, a list of those for a tuple).
    """
    default = default if default is not None else cls()
    if strict:
        allowed = _table_keys(default)
        for key in table:
            if key not in allowed:
                raise _unknown(f"{prefix}{key}", "key", allowed)
    return _section_from_table(cls, table, prefix, default, strict)


def _table_keys(obj) -> set[str]:
    """The TOML keys of a section dataclass instance (embedded dataclasses flattened)."""
    out: set[str] = set()
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        out |= _table_keys(v) if dataclasses.is_dataclass(v) else {f.name}
    return out


#: what a strictly read value of each annotated type must be: (one, a list of them)
_KINDS: dict[type, tuple[str, str]] = {
    bool: ("true or false", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
}


def _typed(key: str, value, hint):
    """`value` checked against the annotation `hint` (ints to float for a float field)."""
    if typing.get_origin(hint) is tuple:
        item = (typing.get_args(hint) or (Any,))[0]
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"must be a list, got {value!r}")
        try:
            return tuple(_typed(key, x, item) for x in value)
        except ConfigError:
            raise ConfigError(key, f"must be a list of {_KINDS[item][1]}, got {value!r}") from None
    if hint not in _KINDS:
        return value
    kind = int | float if hint is float else hint
    if isinstance(value, bool) != (hint is bool) or not isinstance(value, kind):
        raise ConfigError(key, f"must be {_KINDS[hint][0]}, got {value!r}")
    return float(value) if hint is float else value


def _section_from_table(cls, table: Mapping, prefix: str, default, strict: bool):
    hints = typing.get_type_hints(cls) if strict else {}
    kw = {}
    for f in dataclasses.fields(cls):
        current = getattr(default, f.name)
        if dataclasses.is_dataclass(current):
            kw[f.name] = _section_from_table(type(current), table, prefix, current, strict)
        elif f.name in table:
            v = table[f.name]
            if strict:
                kw[f.name] = _typed(f"{prefix}{f.name}", v, hints.get(f.name, Any))
            else:
                kw[f.name] = tuple(v) if isinstance(v, list) else v
        else:
            kw[f.name] = current
    try:
        return cls(**kw)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}{exc.key}", exc.message) from None


#: The typed sections of a configuration, in TOML order; None: a parameter table whose keys
#: come from `polase.materials` (kept as a nested dict).
SECTIONS: dict[str, Callable[[], Any] | None] = {
    "sweep": SweepConfig,
    "pump": PumpConfig,
    "polarization": PolarizationConfig,
    "material": None,
    "sample": None,
    "mechanism": None,
    "numerics": NumericsConfig,
    "spectrometer": _spectrometer_default,
    "tcspc": _tcspc_default,
    "excitation": ExcitationSection,
}


def _parameter_tables(material: str) -> dict[str, dict]:
    """material, sample and mechanism tables: every key `polase.materials` defines."""
    from .materials import calibrated_model, parameter_table

    table = parameter_table(material)
    # the calibrated set says which gain model and mechanism it was fitted with
    model = calibrated_model(material)
    mech: dict[str, Any] = {"name": model["mechanism"]}
    for key, p in table["mechanism"].items():
        node = mech
        *parents, name = key.split(".")
        for sec in parents:
            node = node.setdefault(sec, {})
        node[name] = p.value
    mech.setdefault("dichroism", {})["form"] = "docp2"
    return {
        "material": {"name": material, "gain_model": model["gain_model"]}
        | {k: p.value for k, p in table["material"].items()},
        "sample": {k: p.value for k, p in table["sample"].items()},
        "mechanism": mech,
    }


def default_config(material: str = "CsPbBr3") -> dict:
    """The full default configuration as a nested dict (a fresh copy)."""
    tables = _parameter_tables(material)
    return {
        name: copy.deepcopy(tables[name]) if make is None else section_to_table(make())
        for name, make in SECTIONS.items()
    }


@dataclass(frozen=True)
class SimulationConfig:
    """A validated configuration: typed sections, TOML and JSON in and out.

    Build one with `load_config` (validates, merges over the defaults); ``cfg["material"]``
    gives a section as a plain dict, ``cfg.spectrometer`` the typed section.

    Attributes
    ----------
    sweep, pump, polarization, numerics
        `SweepConfig`, `PumpConfig`, `PolarizationConfig`, `NumericsConfig`.
    material, sample, mechanism : dict
        Parameter tables; their keys are those `polase.materials` defines for the material.
    spectrometer, tcspc
        `polase.instruments.spectrometer.SpectrometerConfig`,
        `polase.instruments.tcspc.TCSPCConfig`.
    excitation
        `ExcitationSection` (grid plus an `ExcitationConfig`).
    """

    sweep: SweepConfig
    pump: PumpConfig
    polarization: PolarizationConfig
    material: dict
    sample: dict
    mechanism: dict
    numerics: NumericsConfig
    spectrometer: Any
    tcspc: Any
    excitation: ExcitationSection

    @classmethod
    def from_dict(cls, data: Mapping) -> SimulationConfig:
        """Typed sections from a complete, validated nested dict (`load_config` validates)."""
        kw = {}
        for name, make in SECTIONS.items():
            if make is None:
                kw[name] = copy.deepcopy(dict(data[name]))
            else:
                proto = make()
                kw[name] = section_from_table(type(proto), data[name], f"{name}.", proto)
        return cls(**kw)

    @functools.cached_property
    def data(self) -> dict:
        """The configuration as a nested dict of TOML values (do not modify)."""
        return {
            name: copy.deepcopy(getattr(self, name))
            if make is None
            else section_to_table(getattr(self, name))
            for name, make in SECTIONS.items()
        }

    def __getitem__(self, section: str) -> dict:
        return self.data[section]

    def to_dict(self) -> dict:
        """A fresh nested dict (TOML values), accepted back by `load_config`."""
        return copy.deepcopy(self.data)

    def to_json(self) -> str:
        """JSON text of `to_dict` (stored in a simulated Dataset's ``config`` attribute)."""
        return json.dumps(self.data, sort_keys=True)

    def to_toml(self) -> str:
        """TOML text of `to_dict`; `load_config` reads it back to an equal configuration."""
        return config_to_toml(self.data)


def _unknown(key: str, what: str, allowed) -> ConfigError:
    """The error for an unknown key: what is allowed and the closest spelling."""
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(key, f"unknown {what}{hint}; allowed: {allowed}")


def _set_dotted(cfg: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    node = cfg
    for i, p in enumerate(parts[:-1]):
        if not isinstance(node, dict) or p not in node or not isinstance(node[p], dict):
            allowed = (
                sorted(k for k in node if isinstance(node[k], dict))
                if isinstance(node, dict)
                else []
            )
            raise _unknown(".".join(parts[: i + 1]), "section", allowed)
        node = node[p]
    if parts[-1] not in node:
        raise _unknown(dotted, "key", node)
    node[parts[-1]] = value


def _merge(base: dict, user: dict, prefix: str = "") -> None:
    for k, v in user.items():
        key = f"{prefix}{k}"
        if "." in k and prefix == "":
            _set_dotted(base, k, v)
            continue
        if k not in base:
            raise _unknown(key, "key" if prefix else "section", base)
        if isinstance(base[k], dict):
            if not isinstance(v, dict):
                raise ConfigError(key, f"must be a table (section) with keys {sorted(base[k])}")
            _merge(base[k], v, f"{key}.")
        else:
            base[k] = v


def _num_list(key: str, value, positive=False, allow_empty=False) -> list[float]:
    vals = np.atleast_1d(np.asarray(value, dtype=object))
    if vals.ndim != 1 or (vals.size == 0 and not allow_empty):
        raise ConfigError(key, f"must be a non-empty list of numbers, got {value!r}")
    out = []
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            raise ConfigError(key, f"must contain numbers only, got {v!r}")
        fv = float(v)
        if not math.isfinite(fv):
            raise ConfigError(key, f"must be finite numbers, got {v!r}")
        if positive and fv <= 0:
            raise ConfigError(key, f"must be > 0, got {v!r}")
        out.append(fv)
    return out


def _validate(cfg: dict, defaults: dict, prefix: str = "") -> None:
    for k, dv in defaults.items():
        key = f"{prefix}{k}"
        v = cfg[k]
        if isinstance(dv, dict):
            _validate(v, dv, f"{key}.")
        elif key in _CHOICES:
            if v not in _CHOICES[key]:
                raise ConfigError(key, f"must be one of {list(_CHOICES[key])}, got {v!r}")
        elif isinstance(dv, bool):
            if not isinstance(v, bool | np.bool_):
                raise ConfigError(key, f"must be true or false, got {v!r}")
            cfg[k] = bool(v)
        elif isinstance(dv, str):
            if not isinstance(v, str):
                raise ConfigError(key, f"must be a string, got {v!r}")
        elif isinstance(dv, list):
            cfg[k] = _num_list(
                key, v, positive=key == "sweep.fluence", allow_empty=key == "numerics.wavelength_nm"
            )
        else:
            if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
                raise ConfigError(key, f"must be a number, got {v!r}")
            if not math.isfinite(float(v)):
                raise ConfigError(key, f"must be finite, got {v!r}")
            is_int = isinstance(dv, int) or key in _INTEGER
            if is_int:
                if float(v) != int(v):
                    raise ConfigError(key, f"must be an integer, got {v!r}")
                v = int(v)
            if key in _POSITIVE and not v > 0:
                raise ConfigError(key, f"must be > 0, got {v!r}")
            if prefix.split(".")[0] in _NONNEGATIVE_SECTIONS and v < 0:
                raise ConfigError(key, f"must be >= 0, got {v!r}")
            cfg[k] = v if is_int else float(v)


def load_config(config=None, **overrides) -> SimulationConfig:
    """Build a validated configuration.

    Parameters
    ----------
    config
        None (defaults), a nested dict (partial; dotted keys like "material.k2" allowed),
        a path to a TOML file, or a `SimulationConfig`.
    **overrides
        Shortcuts (see `SHORTCUTS`, e.g. ``fluence=[...]``, ``mechanism="spin_channel"``)
        or dotted keys, applied last.

    Returns
    -------
    SimulationConfig

    Raises
    ------
    ConfigError
        Unknown key or invalid value (the message names the key and what is allowed).
    InputFileError
        The TOML file cannot be read or parsed.
    """
    if isinstance(config, SimulationConfig):
        user: dict = config.to_dict()
    elif config is None:
        user = {}
    elif isinstance(config, dict):
        user = copy.deepcopy(config)
    elif isinstance(config, str | Path):
        p = Path(config)
        try:
            user = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputFileError(p, "configuration file not found") from None
        except tomllib.TOMLDecodeError as exc:
            line = getattr(exc, "lineno", None)
            raise InputFileError(p, f"not valid TOML: {exc}", line) from None
    else:
        raise ConfigError(
            "config",
            f"must be None, a dict, a TOML path or a SimulationConfig, got {type(config).__name__}",
        )
    material = (
        user.get("material", {}).get("name", "CsPbBr3")
        if isinstance(user.get("material"), dict)
        else "CsPbBr3"
    )
    if isinstance(overrides.get("material"), str):
        material = overrides["material"]
    from .materials import MATERIALS

    if material not in MATERIALS:
        raise ConfigError(
            "material.name", f"unknown material {material!r}; allowed: {sorted(MATERIALS)}"
        )
    defaults = default_config(material)
    cfg = copy.deepcopy(defaults)
    _merge(cfg, user)
    for k, v in overrides.items():
        if v is None:
            continue
        if k in cfg and isinstance(cfg[k], dict) and isinstance(v, dict):
            _merge(cfg[k], v, f"{k}.")  # a whole section, e.g. spectrometer={...}
            continue
        if k not in SHORTCUTS and "." not in k:
            raise ConfigError(
                k,
                f"unknown override; allowed: {sorted(SHORTCUTS)} or dotted keys like 'material.k2'",
            )
        _set_dotted(cfg, SHORTCUTS.get(k, k), v)
    _validate(cfg, defaults)
    _check_consistency(cfg)
    cfg["sweep"]["fluence"] = sorted(set(cfg["sweep"]["fluence"]))
    return SimulationConfig.from_dict(cfg)


def _check_consistency(cfg: dict) -> None:
    from .physics.generation import check_order
    from .physics.mechanisms import parse_mechanism

    check_order(cfg["material"]["multiphoton_order"])
    parse_mechanism(cfg["mechanism"]["name"])
    num = cfg["numerics"]
    if num["wavelength_nm"]:
        lam = np.asarray(num["wavelength_nm"], dtype=float)
        d = np.diff(lam)
        if lam.size < 3 or np.any(d <= 0):
            raise ConfigError(
                "numerics.wavelength_nm", "must be at least 3 strictly increasing wavelengths [nm]"
            )
        if not np.allclose(d, d[0], rtol=1e-6):
            raise ConfigError(
                "numerics.wavelength_nm",
                "must be uniformly spaced (the ASE solver integrates on a uniform grid)",
            )
    elif not num["wavelength_max_nm"] > num["wavelength_min_nm"] + 2 * num["wavelength_step_nm"]:
        raise ConfigError(
            "numerics.wavelength_max_nm",
            f"must exceed wavelength_min_nm + 2 steps (an increasing grid), got min {num['wavelength_min_nm']}, max {num['wavelength_max_nm']}",
        )
    sel = cfg["mechanism"]["spin_channel"]["selectivity"]
    if not 0.0 <= sel <= 1.0:
        raise ConfigError("mechanism.spin_channel.selectivity", f"must be in [0, 1], got {sel}")
    frac = cfg["mechanism"]["orbit_orbit"]["exchange_fraction"]
    if not 0.0 <= frac <= 1.0:
        raise ConfigError(
            "mechanism.orbit_orbit.exchange_fraction", f"must be in [0, 1], got {frac}"
        )
    b = cfg["material"]["pband_binding_fraction"]
    if not 0.0 <= b <= 1.0:
        raise ConfigError("material.pband_binding_fraction", f"must be in [0, 1], got {b}")
    if not cfg["material"]["pband_density_cm3"] >= 0.0:
        raise ConfigError(
            "material.pband_density_cm3",
            f"must be >= 0 (0: no P band), got {cfg['material']['pband_density_cm3']}",
        )
    eta = cfg["material"]["orientation_efficiency"]
    if not 0.0 <= eta <= 1.0:
        raise ConfigError("material.orientation_efficiency", f"must be in [0, 1], got {eta}")
    for key in ("confinement", "beta_sp"):
        if not 0.0 < cfg["sample"][key] <= 1.0:
            raise ConfigError(f"sample.{key}", f"must be in (0, 1], got {cfg['sample'][key]}")
    if cfg["numerics"]["time_bin_ns"] > cfg["numerics"]["t_end_ns"]:
        raise ConfigError("numerics.time_bin_ns", "must not exceed numerics.t_end_ns")


def model_wavelengths(cfg: SimulationConfig | dict) -> np.ndarray:
    """The model wavelength grid of a configuration. [nm]"""
    num = cfg["numerics"]
    if num["wavelength_nm"]:
        return np.asarray(num["wavelength_nm"], dtype=float)
    span = num["wavelength_max_nm"] - num["wavelength_min_nm"]
    n = round(span / num["wavelength_step_nm"]) + 1
    return num["wavelength_min_nm"] + num["wavelength_step_nm"] * np.arange(n)


def config_to_toml(cfg: SimulationConfig | dict) -> str:
    """Render a configuration as TOML text."""
    import tomli_w

    data = cfg.to_dict() if isinstance(cfg, SimulationConfig) else cfg
    from ._json import to_jsonable

    return tomli_w.dumps(to_jsonable(data, nonfinite="keep"))
