"""Simulation configuration: defaults, loading (TOML, dict), validation and TOML output.

A configuration is a nested dict of plain values (numbers, strings, booleans, lists) with
the sections below. `load_config` merges a user's partial configuration over the defaults
and validates every key: an unknown key or a bad value raises `ConfigError` naming the
dotted key and what is allowed.

Sections: sweep, pump, polarization, material, sample, mechanism, numerics, spectrometer,
tcspc, excitation. Material, sample and mechanism defaults come from `polase.materials`
(calibrated values from the package data file).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import tomllib
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


def _instrument_defaults(cls, skip=()) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        v = f.default
        if v is dataclasses.MISSING or v is None:
            continue
        if isinstance(v, tuple):
            v = [float(x) for x in v]
        if isinstance(v, bool | int | float | str | list):
            out[f.name] = v
    return out


def default_config(material: str = "CsPbBr3") -> dict:
    """The full default configuration as a nested dict (a fresh copy)."""
    from .instruments.excitation import ExcitationConfig
    from .instruments.spectrometer import SpectrometerConfig
    from .instruments.tcspc import TCSPCConfig
    from .materials import parameter_table

    table = parameter_table(material)
    mech: dict[str, Any] = {"name": "orbit_orbit"}
    for key, p in table["mechanism"].items():
        sec, name = key.split(".")
        mech.setdefault(sec, {})[name] = p.value
    mech["dichroism"]["form"] = "docp2"
    spectro = _instrument_defaults(SpectrometerConfig)
    # 10 ms: the 20 mJ/cm2 ASE peak at ~2/3 of 16-bit full scale, 4 mJ/cm2 PL ~2000 counts
    spectro["integration_time_s"] = 0.01
    tcspc = _instrument_defaults(TCSPCConfig)
    excitation = _instrument_defaults(ExcitationConfig, skip=("refractive_index",))
    excitation.update(
        {"wavelength_min_nm": 350.0, "wavelength_max_nm": 540.0, "wavelength_step_nm": 1.0}
    )
    return {
        "sweep": {
            "fluence": default_fluences(),
            "qwp_angle": [0.0, 45.0],
            "repeats": 3,
            "seed": 0,
            "noise": True,
            "switching": "alternating",
            "decays": True,
            "decay_min_fluence": 14.0,
            "detection_wavelength": [533.0, 543.0],
            "drift_per_hour": 0.003,
            "seconds_per_acquisition": 10.0,
        },
        "pump": {
            "wavelength_nm": 1030.0,
            "pulse_fwhm_fs": 290.0,
            "repetition_rate_hz": 25000.0,
            "spot_diameter_um": 100.0,
            "profile": "gaussian",
            "depletion": False,
        },
        "polarization": {
            "polarizer_angle_deg": 0.0,
            "retardance_deg": 90.0,
            "retardance_error_deg": 0.0,
            "diattenuation": 0.0,
        },
        "material": {"name": material, "gain_model": "cross_section"}
        | {k: p.value for k, p in table["material"].items()},
        "sample": {k: p.value for k, p in table["sample"].items()},
        "mechanism": mech,
        "numerics": {
            "solver": "fast",
            "n_cells": 24,
            "ensemble": "convolution",
            "ensemble_nodes": 7,
            "wavelength_min_nm": 490.0,
            "wavelength_max_nm": 600.0,
            "wavelength_step_nm": 1.0,
            "wavelength_nm": [],
            "t_end_ns": 60.0,
            "time_bin_ns": 0.01,
            "rtol": 1e-4,
            "atol_rel": 1e-6,
            "max_step_ns": 0.5,
        },
        "spectrometer": spectro,
        "tcspc": tcspc,
        "excitation": excitation,
    }


@dataclass(frozen=True)
class SimulationConfig:
    """A validated configuration (thin wrapper around the nested dict)."""

    data: dict

    def __getitem__(self, section: str) -> dict:
        return self.data[section]

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)

    def to_json(self) -> str:
        return json.dumps(self.data, sort_keys=True)

    def to_toml(self) -> str:
        return config_to_toml(self.data)


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
            raise ConfigError(".".join(parts[: i + 1]), f"unknown section; allowed: {allowed}")
        node = node[p]
    if parts[-1] not in node:
        raise ConfigError(dotted, f"unknown key; allowed: {sorted(node)}")
    node[parts[-1]] = value


def _merge(base: dict, user: dict, prefix: str = "") -> None:
    for k, v in user.items():
        key = f"{prefix}{k}"
        if "." in k and prefix == "":
            _set_dotted(base, k, v)
            continue
        if k not in base:
            raise ConfigError(key, f"unknown key; allowed: {sorted(base)}")
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
    return SimulationConfig(cfg)


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
    return tomli_w.dumps(_plain(data))


def _plain(obj):
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
