"""The typed configuration: TOML <-> sections, old files, keys from polase.materials."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from polase.config import (
    ExcitationSection,
    NumericsConfig,
    PumpConfig,
    SimulationConfig,
    SweepConfig,
    default_config,
    load_config,
    section_from_table,
    section_to_table,
)
from polase.errors import ConfigError
from polase.instruments.spectrometer import SpectrometerConfig
from polase.instruments.tcspc import TCSPCConfig

OLD = Path(__file__).parent / "data" / "config_0.1.0.toml"


def test_sections_are_typed_and_embed_the_instrument_configs():
    cfg = load_config({"sweep": {"qwp_angle": [0, 30]}, "tcspc": {"n_channels": 512}})
    assert isinstance(cfg.sweep, SweepConfig) and cfg.sweep.qwp_angle == (0.0, 30.0)
    assert isinstance(cfg.numerics, NumericsConfig)
    assert isinstance(cfg.spectrometer, SpectrometerConfig)
    assert cfg.spectrometer.integration_time_s == 0.001  # the simulation's default, not 0.1
    assert isinstance(cfg.tcspc, TCSPCConfig) and cfg.tcspc.n_channels == 512
    assert isinstance(cfg.excitation, ExcitationSection)
    np.testing.assert_allclose(cfg.excitation.wavelength[[0, -1]], [350.0, 540.0])
    # the dict view is the same data
    assert cfg["tcspc"]["n_channels"] == 512 and cfg["sweep"]["qwp_angle"] == [0.0, 30.0]


def test_toml_round_trip_is_exact():
    cfg = load_config({"mechanism": {"name": "spin_channel"}, "sample": {"confinement": 0.4}})
    text = cfg.to_toml()
    back = load_config(tomllib.loads(text))
    assert back == cfg
    assert back.to_toml() == text
    assert SimulationConfig.from_dict(cfg.to_dict()) == cfg


def test_section_table_conversion_is_one_function_pair():
    spc = SpectrometerConfig(integration_time_s=0.5, calibration=(300.0, 0.2, 0.0, 0.0))
    table = section_to_table(spc)
    assert table["calibration"] == [300.0, 0.2, 0.0, 0.0] and "slit_table" not in table
    assert section_from_table(SpectrometerConfig, table) == spc
    exc = section_to_table(ExcitationSection())
    assert {"wavelength_step_nm", "emission_wavelength_nm"} <= set(exc)  # embedded: flattened


def test_strict_section_from_table_checks_keys_and_types():
    """strict=True reads user input: unknown keys and wrong types name the dotted key."""
    pump = section_from_table(PumpConfig, {"repetition_rate_hz": 1000}, "pump.", strict=True)
    assert pump.repetition_rate_hz == 1000.0 and isinstance(pump.repetition_rate_hz, float)
    with pytest.raises(ConfigError) as err:
        section_from_table(PumpConfig, {"spot_diameter": 80.0}, "pump.", strict=True)
    assert err.value.key == "pump.spot_diameter"
    assert "did you mean 'spot_diameter_um'" in str(err.value) and "'profile'" in str(err.value)
    for table, kind in [
        ({"depletion": 1}, "true or false"),
        ({"profile": 3}, "a string"),
        ({"wavelength_nm": "1030"}, "a number"),
        ({"pulse_fwhm_fs": True}, "a number"),
    ]:
        with pytest.raises(ConfigError, match=kind):
            section_from_table(PumpConfig, table, "pump.", strict=True)
    sweep = section_from_table(SweepConfig, {"qwp_angle": [0, 45]}, "sweep.", strict=True)
    assert sweep.qwp_angle == (0.0, 45.0)
    with pytest.raises(ConfigError, match="must be a list of numbers") as err:
        section_from_table(SweepConfig, {"qwp_angle": [0, "x"]}, "sweep.", strict=True)
    with pytest.raises(ConfigError, match="must be an integer"):
        section_from_table(SweepConfig, {"repeats": 2.0}, "sweep.", strict=True)
    # embedded dataclasses: their keys are the section's keys
    exc = section_from_table(ExcitationSection, {"integration_time_s": 2}, strict=True)
    assert exc.instrument.integration_time_s == 2.0


def test_todays_toml_files_still_load():
    """A file written by `polase simulate --print-config` of polase 0.1.0 loads unchanged,
    or, where a key was renamed since, the error names the key and the allowed ones."""
    try:
        cfg = load_config(OLD)
    except ConfigError as exc:
        assert exc.key and "allowed" in str(exc)
    else:
        old = tomllib.loads(OLD.read_text())
        for section, table in old.items():
            for key, value in table.items():
                assert key in cfg[section]
                if section in ("sweep", "pump", "polarization", "numerics", "tcspc"):
                    assert cfg[section][key] == value


def test_instrument_errors_name_the_dotted_key():
    with pytest.raises(ConfigError) as err:
        load_config({"spectrometer": {"n_pixels": 1}})
    assert err.value.key == "spectrometer.n_pixels"
    with pytest.raises(ConfigError) as err:
        load_config({"excitation": {"integration_time_s": -1.0}})
    assert err.value.key == "excitation.integration_time_s"


def test_unknown_key_suggests_the_closest():
    with pytest.raises(ConfigError) as err:
        load_config({"numerics": {"n_cell": 3}})
    assert err.value.key == "numerics.n_cell" and "did you mean 'n_cells'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_config({"sweeps": {}})
    assert "did you mean 'sweep'" in str(err.value)


def test_new_material_and_mechanism_keys_flow_from_materials(monkeypatch):
    from polase import materials
    from polase.materials import Parameter

    monkeypatch.setitem(
        materials.MATERIALS["CsPbBr3"], "new_rate", Parameter(2.5, "1/ns", "a new rate", "test")
    )
    monkeypatch.setitem(
        materials.MECHANISM_PARAMETERS["CsPbBr3"],
        "new_mechanism.strength",
        Parameter(0.1, "1", "a new mechanism", "test"),
    )
    assert default_config()["material"]["new_rate"] == 2.5
    cfg = load_config({"material": {"new_rate": 3.0}, "mechanism.new_mechanism.strength": 0.2})
    assert cfg["material"]["new_rate"] == 3.0
    assert cfg.mechanism["new_mechanism"]["strength"] == 0.2
    with pytest.raises(ConfigError):
        load_config({"material": {"new_rate": -1.0}})  # material parameters are >= 0


def test_default_config_is_the_typed_defaults():
    d = default_config()
    assert d["sweep"] == section_to_table(SweepConfig())
    assert d["numerics"] == section_to_table(NumericsConfig())
    assert load_config().to_dict() == d
