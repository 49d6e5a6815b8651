"""validate_measurement, manifests and polarization labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from polase.errors import ConfigError, DataValidationError, InputFileError, OutputExistsError
from polase.io import normalize_polarization, read_manifest, validate_measurement, write_manifest
from polase.io.manifest import compile_pattern


def _good() -> xr.Dataset:
    f, p, r, w = 3, 2, 2, 5
    return xr.Dataset(
        {
            "spectrum": (
                ("fluence", "polarization", "repeat", "wavelength"),
                np.ones((f, p, r, w)),
                {"units": "counts"},
            ),
            "saturated": (
                ("fluence", "polarization", "repeat", "wavelength"),
                np.zeros((f, p, r, w), bool),
            ),
            "integration_time": ((), 0.1, {"units": "s"}),
            "decay": (
                ("fluence", "polarization", "detection_wavelength", "time"),
                np.ones((f, p, 1, 4)),
                {"units": "counts"},
            ),
            "irf": (("time",), np.ones(4), {"units": "counts"}),
        },
        coords={
            "fluence": ("fluence", [1.0, 2.0, 3.0], {"units": "mJ/cm**2"}),
            "polarization": ["linear", "circular"],
            "qwp_angle": ("polarization", [0.0, 45.0], {"units": "deg"}),
            "docp": ("polarization", [0.0, 1.0], {"units": "1"}),
            "repeat": [0, 1],
            "acquisition_index": (
                ("fluence", "polarization", "repeat"),
                np.arange(12).reshape(3, 2, 2),
            ),
            "wavelength": ("wavelength", np.linspace(500, 540, 5), {"units": "nm"}),
            "detection_wavelength": ("detection_wavelength", [543.0], {"units": "nm"}),
            "time": ("time", [0.5, 1.5, 2.5, 3.5], {"units": "ns"}),
        },
        attrs={"source": "simulation"},
    )


def test_valid_dataset_passes_and_is_returned():
    ds = _good()
    assert validate_measurement(ds) is ds
    validate_measurement(ds.drop_vars(["decay", "irf", "detection_wavelength", "time"]))
    validate_measurement(ds.drop_vars(["spectrum", "saturated"]))


@pytest.mark.parametrize(
    ("mutate", "text"),
    [
        (lambda d: d.drop_vars(["spectrum", "decay"]), "neither"),
        (
            lambda d: d.assign_coords(fluence=("fluence", [1.0, 3.0, 2.0], {"units": "mJ/cm**2"})),
            "'fluence': must be strictly increasing",
        ),
        (
            lambda d: d.assign_coords(
                wavelength=("wavelength", [500, 510, np.nan, 530, 540], {"units": "nm"})
            ),
            "'wavelength': has non-finite",
        ),
        (lambda d: d.assign_coords(fluence=("fluence", [1.0, 2.0, 3.0])), "'fluence': no 'units'"),
        (lambda d: d.assign(spectrum=d.spectrum.assign_attrs(units="W")), "'spectrum': units 'W'"),
        (lambda d: d.assign(spectrum=d.spectrum.transpose("wavelength", ...)), "wrong order"),
        (lambda d: d.assign(spectrum=d.spectrum.astype(str)), "'spectrum': dtype"),
        (lambda d: d.assign(saturated=d.saturated.astype(float)), "'saturated': dtype"),
        (lambda d: d.assign(spectrum=d.spectrum * np.nan), "no finite values"),
        (lambda d: d.assign_coords(docp=("polarization", [0.0, 1.5], {"units": "1"})), "'docp'"),
        (lambda d: d.assign_coords(polarization=["linear", "linear"]), "duplicate labels"),
        (
            lambda d: d.assign(integration_time=xr.DataArray(-1.0, attrs={"units": "s"})),
            "'integration_time': values must be > 0",
        ),
        (
            lambda d: d.assign_coords(time=("time", [0.5, 0.5, 2.5, 3.5], {"units": "ns"})),
            "'time': must be strictly increasing",
        ),
        (lambda d: d.assign(irf=d.irf.assign_attrs(units="ns")), "'irf': units"),
        (lambda d: d.assign_attrs(source="guess"), "'source'"),
        (
            lambda d: d.assign_coords(fluence=("fluence", [-1.0, 2.0, 3.0], {"units": "mJ/cm**2"})),
            ">= 0",
        ),
    ],
)
def test_invalid_datasets_name_the_variable(mutate, text):
    with pytest.raises(DataValidationError, match=text):
        validate_measurement(mutate(_good()))


def test_validation_lists_all_problems_and_rejects_non_datasets():
    bad = _good().assign_coords(fluence=("fluence", [3.0, 2.0, 1.0])).assign_attrs(source="x")
    with pytest.raises(DataValidationError) as exc:
        validate_measurement(bad)
    msg = str(exc.value)
    assert "strictly increasing" in msg and "no 'units'" in msg and "'source'" in msg
    with pytest.raises(DataValidationError, match=r"xarray\.Dataset"):
        validate_measurement(np.ones(3))


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("linear", ("linear", 0.0, 0.0)),
        ("LIN", ("linear", 0.0, 0.0)),
        ("L", ("linear", 0.0, 0.0)),
        ("circ", ("circular", 45.0, 1.0)),
        ("C", ("circular", 45.0, 1.0)),
        (0, ("linear", 0.0, 0.0)),
        ("45deg", ("circular", 45.0, 1.0)),
        (22.5, ("qwp_22.5deg", 22.5, math.sin(math.radians(45.0)))),
        ("qwp_-45deg", ("qwp_-45deg", -45.0, -1.0)),
        ("22p5", ("qwp_22.5deg", 22.5, math.sin(math.radians(45.0)))),
        ("90", ("qwp_90deg", 90.0, math.sin(math.radians(180.0)))),
    ],
)
def test_polarization_labels(label, expected):
    got = normalize_polarization(label)
    assert got[0] == expected[0]
    assert got[1:] == pytest.approx(expected[1:], abs=1e-15)


@pytest.mark.parametrize("label", ["diagonal", "", "sigma+", True, "nan"])
def test_polarization_rejects(label):
    with pytest.raises(ValueError, match="polarization"):
        normalize_polarization(label)


def test_manifest_round_trip_and_errors(tmp_path):
    rows = [
        {
            "file": "a.txt",
            "fluence_mJ_cm2": 14.3,
            "polarization": "L",
            "repeat": 0,
            "acquisition_index": 1,
        },
        {"file": "d.txt", "kind": "dark"},
        {
            "file": "t.txt",
            "fluence_mJ_cm2": 14.3,
            "polarization": "C",
            "kind": "decay",
            "detection_wavelength_nm": 543,
        },
    ]
    p = write_manifest(tmp_path / "m.csv", rows)
    header = p.read_text().splitlines()[0]
    assert (
        header
        == "file,fluence_mJ_cm2,polarization,repeat,kind,acquisition_index,detection_wavelength_nm"
    )
    got = read_manifest(p)
    assert [r["kind"] for r in got] == ["spectrum", "dark", "decay"]
    assert (
        got[0]["file"] == tmp_path / "a.txt"
        and got[0]["fluence_mJ_cm2"] == 14.3
        and got[0]["acquisition_index"] == 1
    )
    assert got[2]["detection_wavelength_nm"] == 543.0 and got[2]["line"] == 4
    with pytest.raises(OutputExistsError):
        write_manifest(p, rows)
    with pytest.raises(ValueError, match="kind"):
        write_manifest(tmp_path / "k.csv", [{"file": "a", "kind": "flat"}])
    bad = {
        "file,fluence\na.txt,1\n": (1, "lacks column"),
        "file,fluence_mJ_cm2,polarization,repeat\na.txt,abc,L,0\n": (2, "expected a number"),
        "file,fluence_mJ_cm2,polarization,repeat\na.txt,1,L,0\nb.txt,1,L,0.5\n": (3, "integer"),
        "file,fluence_mJ_cm2,polarization,repeat\na.txt,,L,0\n": (2, "needs a value"),
        "file,fluence_mJ_cm2,polarization,repeat,kind\na.txt,1,L,0,flat\n": (2, "kind"),
        "file,fluence_mJ_cm2,polarization,repeat\na.txt,-1,L,0\n": (2, ">= 0"),
        "file,fluence_mJ_cm2,polarization,repeat\na.txt,1,L,0,9\n": (2, "columns"),
    }
    for i, (text, (line, msg)) in enumerate(bad.items()):
        f = tmp_path / f"bad{i}.csv"
        f.write_text(text)
        with pytest.raises(InputFileError, match=msg) as exc:
            read_manifest(f)
        assert exc.value.line == line, text


def test_pattern_compilation():
    rx = compile_pattern("{fluence}mJ_{polarization}_{repeat}.txt")
    m = rx.match("14.3mJ_qwp_22.5deg_3.txt")
    assert (
        m and m["fluence"] == "14.3" and m["polarization"] == "qwp_22.5deg" and m["repeat"] == "3"
    )
    assert rx.match("14.3mJ_L_3.txt.bak") is None
    assert (
        compile_pattern("run{*}_{fluence}_{polarization}.csv").match("run7x_2p5_C.csv")["fluence"]
        == "2p5"
    )
    for bad in (
        "{fluence}_{repeat}.txt",
        "{fluence}_{polarization}_{fluence}.txt",
        "{fluence}_{polarization}_{x}.txt",
    ):
        with pytest.raises(ConfigError):
            compile_pattern(bad)
