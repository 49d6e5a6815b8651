"""Protocol files and the acquisition plan."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from polase.acquire import AcquisitionProtocol, ProtocolError, build_plan, read_protocol
from polase.acquire.protocol import SECTIONS, LaserSection
from polase.config import PumpConfig
from polase.errors import InputFileError
from polase.paper.photonics2022.acquisition import paper_protocol_path

ROOT = Path(__file__).resolve().parents[2]


def test_paper_protocol_reads_and_the_shipped_copy_is_identical():
    p = read_protocol(ROOT / "examples" / "paper.toml")
    assert p.repeats == 5 and p.qwp_angle_deg == (0.0, 45.0)
    assert len(p.fluence_mJ_cm2) == 34 and 8.2 in p.fluence_mJ_cm2
    assert p.tcspc_fluence_mJ_cm2 == (17.0,)
    # polase reproduce --acquire reads the package copy: it must not drift from examples/
    assert (ROOT / "examples" / "paper.toml").read_bytes() == paper_protocol_path().read_bytes()


def test_alternating_plan_is_l_c_l_c_per_fluence():
    p = AcquisitionProtocol(fluence_mJ_cm2=(10.0, 5.0), repeats=3)
    plan = build_plan(p, seed=1)
    labels = [(i.fluence_mJ_cm2, i.polarization, i.repeat) for i in plan.spectra]
    assert labels[:6] == [
        (5.0, "linear", 0),
        (5.0, "circular", 0),
        (5.0, "linear", 1),
        (5.0, "circular", 1),
        (5.0, "linear", 2),
        (5.0, "circular", 2),
    ]
    assert len(plan.spectra) == 12 and len(set(labels)) == 12


def test_randomized_blocks_hold_each_angle_once_and_follow_the_seed():
    p = AcquisitionProtocol(
        fluence_mJ_cm2=tuple(float(x) for x in range(4, 12)),
        qwp_angle_deg=(0.0, 22.5, 45.0),
        repeats=4,
        order="randomized_blocks",
        fluence_order="random",
    )
    a = build_plan(p, seed=7).spectra
    assert a == build_plan(p, seed=7).spectra  # deterministic
    assert a != build_plan(p, seed=8).spectra  # and drawn from the seed
    for k in range(0, len(a), 3):
        block = a[k : k + 3]
        assert {i.qwp_angle_deg for i in block} == {0.0, 22.5, 45.0}
        assert len({(i.fluence_mJ_cm2, i.repeat) for i in block}) == 1
    orders = {tuple(i.qwp_angle_deg for i in a[k : k + 3]) for k in range(0, len(a), 3)}
    assert len(orders) > 1  # not one fixed order
    assert Counter(i.fluence_mJ_cm2 for i in a) == {f: 12 for f in p.fluence_mJ_cm2}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[sweep]\nfluence_mJ_cm2 = []\n", "sweep.fluence_mJ_cm2"),
        ("[sweep]\nqwp_angle_deg = [0.0]\n", "sweep.fluence_mJ_cm2"),
        ("[sweep]\nfluence_mJ_cm2 = [1.0]\nrepeat = 3\n", "sweep.repeat"),
        ("[sweep]\nfluence_mJ_cm2 = [1.0]\n[sweeps]\n", "sweeps"),
        ("[sweep]\nfluence_mJ_cm2 = [1.0]\norder = 'zigzag'\n", "sweep.order"),
        ("[sweep]\nfluence_mJ_cm2 = [30.0]\n", "laser.full_fluence_mJ_cm2"),
        ("[sweep]\nfluence_mJ_cm2 = [1.0, 1.0]\n", "sweep.fluence_mJ_cm2"),
        (
            "[sweep]\nfluence_mJ_cm2 = [1.0]\n[tcspc]\nqwp_angle_deg = [10.0]\n",
            "tcspc.qwp_angle_deg",
        ),
        (
            "[sweep]\nfluence_mJ_cm2 = [1.0]\n[spectrometer]\nauto_range = 1\n",
            "spectrometer.auto_range",
        ),
    ],
)
def test_bad_protocols_name_the_key_and_the_file(tmp_path, text, key):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ProtocolError) as err:
        read_protocol(path)
    assert err.value.key == key
    assert str(path) in str(err.value)


def test_a_toml_syntax_error_is_an_input_file_error(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[sweep\n")
    with pytest.raises(InputFileError, match="not valid TOML"):
        read_protocol(path)


def test_fingerprint_ignores_time_scale_only():
    p = AcquisitionProtocol(fluence_mJ_cm2=(5.0,))
    assert p.fingerprint() == p.replace(time_scale=0.0).fingerprint()
    assert p.fingerprint() != p.replace(repeats=4).fingerprint()


def test_every_field_is_one_toml_key_and_the_toml_round_trips(tmp_path):
    p = read_protocol(ROOT / "examples" / "paper.toml")
    sections = p.sections()
    assert list(sections) == list(SECTIONS)
    n_keys = sum(len(dataclasses.fields(cls)) for cls in SECTIONS.values())
    assert n_keys == len(dataclasses.fields(AcquisitionProtocol)) - 1  # all but `source`
    assert sections["darks"].every == p.dark_every and sections["simulation"].config == ""
    path = tmp_path / "p.toml"
    path.write_text(p.to_toml())
    assert read_protocol(path) == p.replace(source=str(path))


def test_unknown_keys_and_bad_types_name_section_key_and_allowed(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[sweep]\nfluence_mJ_cm2 = [1.0]\n[power]\naverage = 3\n")
    with pytest.raises(ProtocolError) as err:
        read_protocol(path)
    assert err.value.key == "power.average" and "did you mean 'averages'" in str(err.value)
    assert "'max_adjust'" in str(err.value) and str(path) in str(err.value)
    path.write_text("[sweep]\nfluence_mJ_cm2 = [1.0]\nrepeats = 2.5\n")
    with pytest.raises(ProtocolError, match="must be an integer") as err:
        read_protocol(path)
    assert err.value.key == "sweep.repeats"


def test_the_laser_section_is_the_pumps_keys():
    """[laser] shares its pump keys (names, defaults) with the twin's [pump] and sets them."""
    assert LaserSection().pump_table() == {
        "repetition_rate_hz": PumpConfig().repetition_rate_hz,
        "spot_diameter_um": PumpConfig().spot_diameter_um,
    }
    p = AcquisitionProtocol(fluence_mJ_cm2=(5.0,), repetition_rate_hz=1000.0)
    assert p.sections()["laser"].pump_table() == {
        "repetition_rate_hz": 1000.0,
        "spot_diameter_um": 100.0,
    }
