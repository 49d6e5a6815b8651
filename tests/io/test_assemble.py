"""Assembly of written OceanView/DAS6 files into the measurement Dataset."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from polase.errors import ConfigError, DataValidationError, InputFileError, OutputExistsError
from polase.io import (
    AssemblyWarning,
    assemble_measurement,
    load_measurement,
    save_dataset,
    validate_measurement,
    write_das6,
    write_manifest,
    write_oceanview,
)

WL = np.linspace(500.0, 580.0, 41)
FLUENCES = (8.2, 14.3, 17.0)
POLS = ("L", "C")
REPEATS = 3
DARK = 800.0 + 0.5 * np.arange(WL.size)  # offset pattern of the detector [counts]


def _signal(f, pol, rep):
    """Raw counts of a spectrum: a Gaussian band whose height encodes (f, pol, rep)."""
    height = 100.0 * f + (50.0 if pol == "C" else 0.0) + rep
    return height * np.exp(-((WL - 540.0) ** 2) / 200.0)


def _write_folder(folder: Path, *, it=0.1, dark=True, saturate=None, decimal=","):
    rows = []
    for f in FLUENCES:
        for rep in range(REPEATS):
            for pol in POLS:
                y = DARK + _signal(f, pol, rep) * it / 0.1
                if saturate is not None and (f, pol, rep) == saturate:
                    y[20:23] = 65535.0
                name = f"{f}mJ_{pol}_{rep}.txt"
                write_oceanview(
                    folder / name,
                    WL,
                    y,
                    it,
                    decimal=decimal,
                    metadata={
                        "Date": f"Tue Nov 24 09:{len(rows) // 60:02d}:{len(rows) % 60:02d} UTC 2026"
                    },
                )
                rows.append({"file": name, "fluence_mJ_cm2": f, "polarization": pol, "repeat": rep})
    if dark:
        write_oceanview(folder / "dark_a.txt", WL, DARK + 1.0, it)
        write_oceanview(folder / "dark_b.txt", WL, DARK - 1.0, it)
        rows += [{"file": "dark_a.txt", "kind": "dark"}, {"file": "dark_b.txt", "kind": "dark"}]
    write_manifest(folder / "manifest.csv", rows)
    return rows


def test_manifest_assembly_dark_and_normalization(tmp_path):
    _write_folder(tmp_path)
    ds = assemble_measurement(tmp_path / "manifest.csv")
    validate_measurement(ds)
    assert ds.spectrum.dims == ("fluence", "polarization", "repeat", "wavelength")
    assert list(ds.fluence.values) == list(FLUENCES)
    assert list(ds.polarization.values) == ["linear", "circular"]
    np.testing.assert_array_equal(ds.qwp_angle, [0.0, 45.0])
    np.testing.assert_array_equal(ds.docp, [0.0, 1.0])
    assert ds.spectrum.attrs["units"] == "counts/s" and ds.wavelength.attrs["units"] == "nm"
    assert ds.fluence.attrs["units"] == "mJ/cm**2"
    # dark (mean of DARK+1 and DARK-1) removed exactly, then divided by 0.1 s
    for f in FLUENCES:
        for pol, lab in zip(POLS, ("linear", "circular")):
            for rep in range(REPEATS):
                got = ds.spectrum.sel(fluence=f, polarization=lab, repeat=rep).values
                np.testing.assert_allclose(got, _signal(f, pol, rep) / 0.1, rtol=1e-12, atol=1e-9)
    assert not ds.saturated.any()
    assert ds.attrs["source"] == "measurement" and ds.attrs["dark_subtracted"] == 1
    # manifest row order: per fluence, repeats of L, C alternating
    acq = ds.acquisition_index
    assert acq.sel(fluence=8.2, polarization="linear", repeat=0) == 0
    assert acq.sel(fluence=8.2, polarization="circular", repeat=0) == 1
    assert acq.sel(fluence=17.0, polarization="circular", repeat=2) == 17
    prov = json.loads(ds.attrs["provenance"])
    assert len(prov) == 18 + 2
    assert prov[0]["metadata"]["Integration Time (sec)"] == 0.1
    assert {p["kind"] for p in prov} == {"spectrum", "dark"}


def test_folder_with_manifest_and_pattern_agree(tmp_path):
    _write_folder(tmp_path)
    a = load_measurement(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dark files are recognised, nothing is left over
        b = assemble_measurement(tmp_path, pattern="{fluence}mJ_{polarization}_{repeat}.txt")
    np.testing.assert_array_equal(a.spectrum.values, b.spectrum.values)
    # pattern mode orders acquisitions by the Date header, which follows the manifest order here
    np.testing.assert_array_equal(a.acquisition_index.values, b.acquisition_index.values)
    assert b.attrs["acquisition_order"].startswith("file header Date")


def test_saturation_masked_and_flagged(tmp_path):
    _write_folder(tmp_path, saturate=(14.3, "C", 1))
    with pytest.warns(AssemblyWarning, match="3 saturated"):
        ds = assemble_measurement(tmp_path / "manifest.csv")
    sat = ds.saturated.sel(fluence=14.3, polarization="circular", repeat=1).values
    np.testing.assert_array_equal(np.flatnonzero(sat), [20, 21, 22])
    spec = ds.spectrum.sel(fluence=14.3, polarization="circular", repeat=1).values
    assert np.all(np.isnan(spec[20:23])) and np.all(np.isfinite(np.delete(spec, [20, 21, 22])))
    assert int(ds.saturated.sum()) == 3
    prov = json.loads(ds.attrs["provenance"])
    assert sum(p.get("n_saturated", 0) for p in prov) == 3
    # a lower level given explicitly flags more
    with pytest.warns(AssemblyWarning):
        ds2 = assemble_measurement(tmp_path / "manifest.csv", saturation_level=DARK.max() + 1000)
    assert int(ds2.saturated.sum()) > 3


def test_saturation_level_from_header(tmp_path):
    write_oceanview(
        tmp_path / "a.txt", WL, np.full(WL.size, 1000.0), 0.1, metadata={"Saturation level": 999}
    )
    write_manifest(
        tmp_path / "m.csv",
        [{"file": "a.txt", "fluence_mJ_cm2": 1, "polarization": "lin", "repeat": 0}],
    )
    with pytest.warns(AssemblyWarning):
        ds = assemble_measurement(tmp_path / "m.csv")
    assert bool(ds.saturated.all())


def test_nan_in_file_flagged(tmp_path):
    y = np.full(WL.size, 1000.0)
    y[3] = np.nan
    write_oceanview(tmp_path / "a.txt", WL, y, 0.1)
    write_oceanview(tmp_path / "b.txt", WL, np.full(WL.size, 1000.0), 0.1)
    write_manifest(
        tmp_path / "m.csv",
        [
            {"file": "a.txt", "fluence_mJ_cm2": 1, "polarization": "L", "repeat": 0},
            {"file": "b.txt", "fluence_mJ_cm2": 1, "polarization": "C", "repeat": 0},
        ],
    )
    with pytest.warns(AssemblyWarning, match="no dark"):
        ds = assemble_measurement(tmp_path / "m.csv")
    assert ds.attrs["dark_subtracted"] == 0
    flags = ds.saturated.sel(polarization="linear").values.ravel()
    np.testing.assert_array_equal(np.flatnonzero(flags), [3])
    assert bool(ds.nan_in_file.sel(polarization="linear", wavelength=WL[3]).all())
    assert np.isnan(ds.spectrum.sel(polarization="linear").values.ravel()[3])
    np.testing.assert_allclose(ds.spectrum.sel(polarization="circular").values, 10000.0)


def test_dark_scaled_and_fitted(tmp_path):
    it = 0.2
    offset, rate = 500.0, 1000.0  # dark = offset + rate * t per pixel [counts], [counts/s]
    write_oceanview(tmp_path / "s.txt", WL, np.full(WL.size, offset + rate * it + 7.0), it)
    write_oceanview(tmp_path / "d1.txt", WL, np.full(WL.size, offset + rate * 0.1), 0.1)
    rows = [
        {"file": "s.txt", "fluence_mJ_cm2": 5, "polarization": "L", "repeat": 0},
        {"file": "d1.txt", "kind": "dark"},
    ]
    write_manifest(tmp_path / "m1.csv", rows)
    with pytest.warns(AssemblyWarning, match="scaled"):
        ds = assemble_measurement(tmp_path / "m1.csv")
    # single dark time: scaled by t/t_dark -> (offset+rate*0.1)*2 = 1200 subtracted of 707
    np.testing.assert_allclose(
        ds.spectrum.values, (offset + rate * it + 7.0 - 2 * (offset + rate * 0.1)) / it
    )
    write_oceanview(tmp_path / "d2.txt", WL, np.full(WL.size, offset + rate * 0.5), 0.5)
    write_manifest(tmp_path / "m2.csv", [*rows, {"file": "d2.txt", "kind": "dark"}])
    with pytest.warns(AssemblyWarning, match="offset"):
        ds = assemble_measurement(tmp_path / "m2.csv")
    np.testing.assert_allclose(ds.spectrum.values, 7.0 / it, rtol=1e-9)


def test_missing_combination_warns_or_raises(tmp_path):
    rows = _write_folder(tmp_path)
    rows = [r for r in rows if r["file"] != "14.3mJ_C_1.txt"]
    write_manifest(tmp_path / "partial.csv", rows)
    with pytest.warns(AssemblyWarning, match=r"1 \(fluence, polarization, repeat\)"):
        ds = assemble_measurement(tmp_path / "partial.csv")
    hole = ds.spectrum.sel(fluence=14.3, polarization="circular", repeat=1)
    assert bool(hole.isnull().all())
    assert int(ds.acquisition_index.sel(fluence=14.3, polarization="circular", repeat=1)) == -1
    assert json.loads(ds.attrs["missing_acquisitions"]) == [
        {"fluence_mJ_cm2": 14.3, "polarization": "circular", "repeat": 1}
    ]
    with pytest.raises(InputFileError, match="no file"):
        assemble_measurement(tmp_path / "partial.csv", missing="raise")


def test_duplicate_and_bad_axis_and_missing_file(tmp_path):
    write_oceanview(tmp_path / "a.txt", WL, np.ones(WL.size), 0.1)
    write_oceanview(tmp_path / "b.txt", WL, np.ones(WL.size), 0.1)
    write_oceanview(tmp_path / "shift.txt", WL + 0.01, np.ones(WL.size), 0.1)
    write_oceanview(tmp_path / "tiny.txt", WL + 1e-4, np.ones(WL.size), 0.1)
    write_oceanview(tmp_path / "short.txt", WL[:-1], np.ones(WL.size - 1), 0.1)
    base = {"fluence_mJ_cm2": 1, "repeat": 0}
    write_manifest(
        tmp_path / "dup.csv",
        [
            {"file": "a.txt", "polarization": "L", **base},
            {"file": "b.txt", "polarization": "linear", **base},
        ],
    )
    with pytest.raises(InputFileError, match=r"a\.txt") as exc:
        assemble_measurement(tmp_path / "dup.csv")
    assert exc.value.path.name == "b.txt" and "line 3" in str(exc.value)
    write_manifest(
        tmp_path / "shift.csv",
        [
            {"file": "a.txt", "polarization": "L", **base},
            {"file": "shift.txt", "polarization": "C", **base},
        ],
    )
    with pytest.raises(InputFileError, match=r"differs from .*a\.txt by 0\.01"):
        assemble_measurement(tmp_path / "shift.csv")
    write_manifest(
        tmp_path / "tiny.csv",
        [
            {"file": "a.txt", "polarization": "L", **base},
            {"file": "tiny.txt", "polarization": "C", **base},
        ],
    )
    with pytest.warns(AssemblyWarning):
        ds = assemble_measurement(tmp_path / "tiny.csv")
    np.testing.assert_array_equal(ds.wavelength, WL)  # within tolerance: first file's axis
    write_manifest(
        tmp_path / "short.csv",
        [
            {"file": "a.txt", "polarization": "L", **base},
            {"file": "short.txt", "polarization": "C", **base},
        ],
    )
    with pytest.raises(InputFileError, match="40 pixels"):
        assemble_measurement(tmp_path / "short.csv")
    write_manifest(tmp_path / "gone.csv", [{"file": "nope.txt", "polarization": "L", **base}])
    with pytest.raises(InputFileError, match="listed but not found"):
        assemble_measurement(tmp_path / "gone.csv")


def test_polarization_angles_and_acquisition_column(tmp_path):
    rows = []
    for i, angle in enumerate((45, 0, 22.5, "qwp_67.5deg")):
        write_oceanview(tmp_path / f"{i}.txt", WL, np.full(WL.size, 100.0 + i), 0.1)
        rows.append(
            {
                "file": f"{i}.txt",
                "fluence_mJ_cm2": 3.0,
                "polarization": angle,
                "repeat": 0,
                "acquisition_index": 10 - i,
            }
        )
    write_manifest(tmp_path / "m.csv", rows)
    with pytest.warns(AssemblyWarning):
        ds = assemble_measurement(tmp_path / "m.csv")
    assert list(ds.polarization.values) == ["linear", "qwp_22.5deg", "circular", "qwp_67.5deg"]
    np.testing.assert_allclose(ds.qwp_angle, [0, 22.5, 45, 67.5])
    np.testing.assert_allclose(ds.docp, np.sin(np.radians(2 * np.array([0, 22.5, 45, 67.5]))))
    np.testing.assert_array_equal(ds.acquisition_index.values.ravel(), [9, 8, 10, 7])
    assert ds.attrs["acquisition_order"] == "acquisition_index given"


def test_bad_inputs(tmp_path):
    _write_folder(tmp_path)
    with pytest.raises(ConfigError):
        assemble_measurement(
            tmp_path, manifest=tmp_path / "manifest.csv", pattern="{fluence}_{polarization}.txt"
        )
    with pytest.raises(ConfigError, match="unknown field"):
        assemble_measurement(tmp_path, pattern="{fluence}mJ_{pol}_{repeat}.txt")
    with (
        pytest.raises(InputFileError, match="no file name matches"),
        pytest.warns(AssemblyWarning, match="18 file"),
    ):
        assemble_measurement(tmp_path, pattern="{fluence}uJ_{polarization}_{repeat}.txt")
    with pytest.raises(ConfigError, match="missing"):
        assemble_measurement(tmp_path, missing="ignore")
    with pytest.raises(InputFileError, match="not found"):
        assemble_measurement(tmp_path / "nothing_here")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match="manifest not found"):
        load_measurement(empty)
    (tmp_path / "badpol.csv").write_text(
        "file,fluence_mJ_cm2,polarization,repeat\n8.2mJ_L_0.txt,8.2,diagonal,0\n"
    )
    with pytest.raises(InputFileError, match="diagonal"):
        assemble_measurement(tmp_path / "badpol.csv")


def test_csv_spectra_need_integration_time(tmp_path):
    (tmp_path / "a.csv").write_text("wavelength (nm),counts\n500,10\n501,20\n")
    (tmp_path / "m.csv").write_text("file,fluence_mJ_cm2,polarization,repeat\na.csv,1,L,0\n")
    with pytest.raises(InputFileError, match="integration_time_s"):
        assemble_measurement(tmp_path / "m.csv")
    (tmp_path / "m2.csv").write_text(
        "file,fluence_mJ_cm2,polarization,repeat,integration_time_s\na.csv,1,L,0,0.5\n"
    )
    with pytest.warns(AssemblyWarning):
        ds = assemble_measurement(tmp_path / "m2.csv")
    np.testing.assert_array_equal(ds.spectrum.values.ravel(), [20.0, 40.0])


def test_decays_from_argument_and_manifest(tmp_path, rng):
    _write_folder(tmp_path)
    t = (np.arange(256) + 0.5) * 0.05
    decay_l = rng.poisson(1000 * np.exp(-t / 2.0)).astype(float)
    decay_c = rng.poisson(1000 * np.exp(-t / 1.0)).astype(float)
    irf = rng.poisson(500 * np.exp(-0.5 * ((t - 1.0) / 0.05) ** 2)).astype(float)
    write_das6(tmp_path / "dl.txt", decay_l, 0.05)
    write_das6(tmp_path / "dc.txt", decay_c, 0.05)
    write_das6(tmp_path / "irf.txt", irf, 0.05, metadata={"Item name": "IRF"})
    decays = [
        {
            "file": "dl.txt",
            "fluence_mJ_cm2": 17.0,
            "polarization": "linear",
            "detection_wavelength_nm": 543.0,
            "kind": "decay",
        },
        {
            "file": "dc.txt",
            "fluence_mJ_cm2": 17.0,
            "polarization": "circular",
            "detection_wavelength_nm": 543.0,
            "kind": "decay",
        },
        {"file": "irf.txt", "kind": "irf"},
    ]
    ds = assemble_measurement(tmp_path, decays=decays, tcspc_repetition_period_ns=40000.0)
    validate_measurement(ds)
    assert ds.decay.dims == ("fluence", "polarization", "detection_wavelength", "time")
    np.testing.assert_array_equal(
        ds.decay.sel(fluence=17.0, polarization="linear", detection_wavelength=543.0), decay_l
    )
    np.testing.assert_array_equal(ds.irf, irf)
    assert bool(ds.decay.sel(fluence=8.2).isnull().all())
    np.testing.assert_allclose(ds.time, t, rtol=1e-14)
    assert (
        ds.attrs["tcspc_channel_width_ns"] == 0.05
        and ds.attrs["tcspc_repetition_period_ns"] == 40000.0
    )
    # the same through manifest rows
    lines = (tmp_path / "manifest.csv").read_text().splitlines()
    lines[0] += ",detection_wavelength_nm"
    lines = [lines[0]] + [ln + "," for ln in lines[1:]]  # empty detection wavelength
    lines += ["dl.txt,17.0,L,0,decay,543", "dc.txt,17.0,C,0,decay,543", "irf.txt,,,,irf,"]
    (tmp_path / "m2.csv").write_text("\n".join(lines) + "\n")
    ds2 = assemble_measurement(tmp_path / "m2.csv")
    np.testing.assert_array_equal(ds2.decay.values, ds.decay.values)
    np.testing.assert_array_equal(ds2.spectrum.values, ds.spectrum.values)
    # a decay at a fluence without spectra widens the grid with NaN spectra
    write_das6(tmp_path / "d20.txt", decay_l, 0.05)
    ds3 = assemble_measurement(
        tmp_path,
        decays=[
            {
                "file": "d20.txt",
                "fluence_mJ_cm2": 20.0,
                "polarization": "L",
                "detection_wavelength_nm": 533.0,
            }
        ],
    )
    assert list(ds3.fluence.values) == [*FLUENCES, 20.0]
    assert bool(ds3.spectrum.sel(fluence=20.0).isnull().all()) and not bool(
        ds3.saturated.sel(fluence=20.0).any()
    )
    assert int(ds3.acquisition_index.sel(fluence=20.0).max()) == -1
    # a different channel width is refused, naming both files
    write_das6(tmp_path / "odd.txt", decay_l, 0.1)
    with pytest.raises(InputFileError, match=r"dl\.txt"):
        assemble_measurement(tmp_path, decays=[decays[0], {**decays[1], "file": "odd.txt"}])
    with pytest.raises(ConfigError):
        assemble_measurement(tmp_path, decays=[{"file": "dl.txt", "kind": "decay"}])


def test_save_load_round_trip(tmp_path):
    _write_folder(tmp_path, saturate=(8.2, "L", 0))
    with pytest.warns(AssemblyWarning):
        ds = load_measurement(tmp_path)
    out = save_dataset(ds, tmp_path / "m.nc")
    back = load_measurement(out)
    np.testing.assert_array_equal(back.spectrum.values, ds.spectrum.values)
    assert back.saturated.dtype == bool
    np.testing.assert_array_equal(back.saturated.values, ds.saturated.values)
    assert list(back.polarization.values) == ["linear", "circular"]
    assert back.attrs["provenance"] == ds.attrs["provenance"]
    assert back.fluence.attrs["units"] == "mJ/cm**2"
    with pytest.raises(OutputExistsError):
        save_dataset(ds, out)
    save_dataset(ds, out, overwrite=True)
    with pytest.raises(DataValidationError):
        save_dataset({"not": "a dataset"}, tmp_path / "x.nc")
    with pytest.raises(InputFileError, match="options"):
        load_measurement(out, pattern="{fluence}_{polarization}.txt")


def test_load_measurement_points_single_files_to_their_reader(tmp_path):
    write_das6(tmp_path / "d.txt", [1, 2, 3], 0.05)
    with pytest.raises(InputFileError, match="read_das6"):
        load_measurement(tmp_path / "d.txt")
    write_oceanview(tmp_path / "s.txt", WL, np.ones(WL.size), 0.1)
    with pytest.raises(InputFileError, match="read_spectrum"):
        load_measurement(tmp_path / "s.txt")
    (tmp_path / "c.csv").write_text("wavelength (nm),counts\n500,1\n501,2\n")
    with pytest.raises(InputFileError, match="read_spectrum"):
        load_measurement(tmp_path / "c.csv")
    with pytest.raises(InputFileError, match="not found"):
        load_measurement(tmp_path / "nothing.nc")


def test_real_files_assemble(external_dir, tmp_path):
    """Absolute paths to the real exports: OceanView spectrum and DAS6 decay + IRF."""
    from polase.io import read_spectrum, read_tcspc

    ov = external_dir / "spectra" / "oceanview_comma_decimal.txt"
    dec = external_dir / "tcspc" / "atto550_dna_decay.txt"
    irf = external_dir / "tcspc" / "atto550_dna_irf.txt"
    write_manifest(
        tmp_path / "m.csv",
        [
            {"file": str(ov), "fluence_mJ_cm2": 1.0, "polarization": "L", "repeat": 0},
            {
                "file": str(dec),
                "fluence_mJ_cm2": 1.0,
                "polarization": "L",
                "kind": "decay",
                "detection_wavelength_nm": 580,
            },
            {"file": str(irf), "kind": "irf"},
        ],
    )
    with pytest.warns(AssemblyWarning, match="no dark"):
        ds = load_measurement(tmp_path / "m.csv")
    sf = read_spectrum(ov)
    np.testing.assert_array_equal(ds.wavelength, sf.wavelength_nm)
    np.testing.assert_allclose(ds.spectrum.values.ravel(), sf.counts / 0.1, rtol=1e-15)
    assert ds.sizes["time"] == 4096 and ds.attrs["tcspc_channel_width_ns"] == 2.743484e-2
    np.testing.assert_array_equal(ds.decay.values.ravel(), read_tcspc(dec).counts)
    np.testing.assert_array_equal(ds.irf.values, read_tcspc(irf).counts)
    prov = json.loads(ds.attrs["provenance"])
    assert prov[0]["metadata"]["Spectrometer"] == "HR600768"
    assert {p["kind"] for p in prov} == {"spectrum", "decay", "irf"}


def test_decays_only(tmp_path):
    write_das6(tmp_path / "a.txt", [0, 5, 3, 1], 0.1)
    write_das6(tmp_path / "b.txt", [0, 6, 2, 1], 0.1)
    (tmp_path / "m.csv").write_text(
        "file,fluence_mJ_cm2,polarization,repeat,kind,detection_wavelength_nm\n"
        "a.txt,5,L,,decay,533\nb.txt,5,L,,decay,543\n"
    )
    ds = load_measurement(tmp_path / "m.csv")
    assert "spectrum" not in ds and ds.decay.shape == (1, 1, 2, 4)
    np.testing.assert_array_equal(
        ds.decay.sel(detection_wavelength=543.0).values.ravel(), [0, 6, 2, 1]
    )
    np.testing.assert_allclose(ds.time, [0.05, 0.15, 0.25, 0.35])


def _with_measured(folder: Path, rows: list[dict], value=None) -> Path:
    """Rewrite the manifest with power-meter columns: measured = nominal x 1.02 + index."""
    out = []
    for i, r in enumerate(rows):
        r = dict(r)
        if r.get("kind") != "dark":
            f = r["fluence_mJ_cm2"] * 1.02 + 1e-3 * i
            r.update(
                fluence_measured_mJ_cm2=f if value is None or i != 4 else value,
                pulse_energy_uJ=f * 0.0393,
                power_before_mW=f * 0.98,
                power_after_mW=f * 0.99,
            )
        out.append(r)
    return write_manifest(folder / "manifest.csv", out, overwrite=True)


def test_read_manifest_power_meter_columns(tmp_path):
    from polase.io import read_manifest

    rows = _write_folder(tmp_path)
    plain = read_manifest(tmp_path / "manifest.csv")
    assert all(r["fluence_measured_mJ_cm2"] is None for r in plain)  # no column: None
    got = read_manifest(_with_measured(tmp_path, rows))
    spec = [r for r in got if r["kind"] == "spectrum"]
    assert spec[0]["fluence_measured_mJ_cm2"] == pytest.approx(FLUENCES[0] * 1.02)
    assert spec[0]["pulse_energy_uJ"] == pytest.approx(FLUENCES[0] * 1.02 * 0.0393)
    assert spec[0]["power_before_mW"] == pytest.approx(FLUENCES[0] * 1.02 * 0.98)
    assert spec[0]["power_after_mW"] == pytest.approx(FLUENCES[0] * 1.02 * 0.99)
    dark = next(r for r in got if r["kind"] == "dark")
    assert dark["fluence_measured_mJ_cm2"] is None and dark["power_before_mW"] is None


def test_measured_fluence_carried_into_the_dataset(tmp_path):
    rows = _write_folder(tmp_path)
    ds0 = assemble_measurement(tmp_path / "manifest.csv")
    assert "fluence_measured" not in ds0  # no column: no variable
    _with_measured(tmp_path, rows)
    ds = assemble_measurement(tmp_path / "manifest.csv")
    validate_measurement(ds)
    fm = ds["fluence_measured"]
    assert fm.dims == ("fluence", "polarization", "repeat")
    assert fm.attrs["units"] == "mJ/cm**2"
    for i, r in enumerate(r for r in rows if r.get("kind") != "dark"):
        lab = {"L": "linear", "C": "circular"}[r["polarization"]]
        got = fm.sel(fluence=r["fluence_mJ_cm2"], polarization=lab, repeat=r["repeat"]).item()
        assert got == pytest.approx(r["fluence_mJ_cm2"] * 1.02 + 1e-3 * i, rel=1e-12)
    # the spectra themselves are those of the manifest without the columns
    np.testing.assert_array_equal(ds.spectrum.values, ds0.spectrum.values)
    # the power readings travel with each file's provenance
    prov = [p for p in json.loads(ds.attrs["provenance"]) if p["kind"] == "spectrum"]
    assert all(p["power_before_mW"] > 0 and p["pulse_energy_uJ"] > 0 for p in prov)


@pytest.mark.parametrize("cell", ["nan", "NaN", "inf", "-1", "0"])
def test_bad_measured_fluence_names_file_and_line(tmp_path, cell):
    rows = _write_folder(tmp_path)
    man = _with_measured(tmp_path, rows, value=cell)
    with pytest.raises(InputFileError) as exc:
        assemble_measurement(man)
    # row 4 of the rows is line 6 of the CSV (header + 1-based)
    assert exc.value.path == man and exc.value.line == 6
    assert "fluence_measured_mJ_cm2" in str(exc.value) and "line 6" in str(exc.value)


def test_measured_fluence_for_some_spectra_only_is_an_error(tmp_path):
    rows = _write_folder(tmp_path)
    man = _with_measured(tmp_path, rows, value="")
    with pytest.raises(InputFileError, match=r"line 6: empty 'fluence_measured_mJ_cm2'") as exc:
        assemble_measurement(man)
    assert rows[4]["file"] in str(exc.value)


def test_fluence_measured_validated(tmp_path):
    _with_measured(tmp_path, _write_folder(tmp_path))
    ds = assemble_measurement(tmp_path / "manifest.csv")
    bad = ds.copy()
    bad["fluence_measured"] = ds["fluence_measured"] * 0.0
    with pytest.raises(DataValidationError, match="fluence_measured"):
        validate_measurement(bad)
    bad = ds.assign(fluence_measured=ds["fluence_measured"].transpose("repeat", ...))
    with pytest.raises(DataValidationError, match="fluence_measured"):
        validate_measurement(bad)
