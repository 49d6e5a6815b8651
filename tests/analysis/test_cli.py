"""`polase analyze` and `polase decay` end to end through click."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from polase.analysis import AnalysisConfig
from polase.cli import main


@pytest.fixture
def nc_file(tmp_path, synth):
    from polase.io import save_dataset

    path = tmp_path / "sweep.nc"
    save_dataset(synth(seed=7), path)
    return path


def test_analyze_netcdf_writes_results_features_and_plots(tmp_path, nc_file):
    out = tmp_path / "results.json"
    feats = tmp_path / "features.nc"
    plots = tmp_path / "plots"
    args = [
        "analyze",
        str(nc_file),
        "-o",
        str(out),
        "--features",
        str(feats),
        "--plots",
        str(plots),
    ]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["photon_order"] == 2
    assert res["threshold_mJ_cm2"]["method"] == "linear_hinge_fit"
    assert len(res["per_fluence"]) == 12
    assert "ASE threshold" in r.output and "per fluence" in r.output
    import xarray as xr

    with xr.open_dataset(feats, engine="h5netcdf") as f:
        assert f["peak_nm"].attrs["units"] == "nm"
        assert f["fwhm_nm"].shape == (12, 2, 5)
    for name in ("spectra.png", "threshold.png", "fwhm.png", "delta.png"):
        assert (plots / name).stat().st_size > 1000

    # an existing output is never replaced without --overwrite, and nothing else is written
    before = out.read_text()
    other = tmp_path / "other.nc"
    r = CliRunner().invoke(
        main, ["analyze", str(nc_file), "-o", str(out), "--features", str(other)]
    )
    assert r.exit_code != 0 and "exists" in r.output and "--overwrite" in r.output
    assert out.read_text() == before and not other.exists()
    r = CliRunner().invoke(
        main, ["analyze", str(nc_file), "-o", str(out), "--overwrite", "--quiet", "--no-band-fits"]
    )
    assert r.exit_code == 0, r.output
    assert "fwhm_fit_nm" not in json.loads(out.read_text())["per_fluence"][0]


def test_analyze_reference_fluence_options(tmp_path, nc_file):
    out = tmp_path / "r.json"
    r = CliRunner().invoke(
        main,
        [
            "analyze",
            str(nc_file),
            "-o",
            str(out),
            "--pl-fluence",
            "8.2",
            "--ase-fluence",
            "16",
            "--quiet",
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert (
        res["pl_peak_nm"]["fluence_mJ_cm2"] == 8.0 and res["ase_fwhm_nm"]["fluence_mJ_cm2"] == 16.0
    )


def test_analyze_bad_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_text("not a netcdf file")
    r = CliRunner().invoke(main, ["analyze", str(bad), "-o", str(tmp_path / "r.json")])
    assert r.exit_code != 0
    assert "bad.nc" in r.output
    assert not (tmp_path / "r.json").exists()


def _write_das6(path, counts, width_ns):
    lines = [
        "Item name: Decay",
        "",
        "Real time: 10",
        "Live time: 0",
        f"Time calibration: {width_ns:E}ns/ch",
        "",
        "Comment: ",
        "",
        "",
        "Chan\tData",
    ]
    lines += [f"{i + 1}\t{int(c)}" for i, c in enumerate(counts)]
    path.write_text("\n".join(lines) + "\n")


def test_decay_command_on_own_das6_files(tmp_path):
    rng = np.random.default_rng(3)
    width = 0.05
    t = (np.arange(1024) + 0.5) * width
    irf = 1e4 * np.exp(-0.5 * ((t - 5.0) / 0.12) ** 2)
    g = irf / irf.sum()
    lam = 1.0 + 3000.0 * np.convolve(g, np.exp(-(t - t[0]) / 2.2))[: t.size]
    _write_das6(tmp_path / "decay.txt", rng.poisson(lam), width)
    _write_das6(tmp_path / "irf.txt", np.rint(irf), width)
    out = tmp_path / "fit.json"
    r = CliRunner().invoke(
        main,
        ["decay", str(tmp_path / "decay.txt"), "--irf", str(tmp_path / "irf.txt"), "-o", str(out)],
    )
    assert r.exit_code == 0, r.output
    fit = json.loads(out.read_text())
    assert fit["tau_ns"][0] == pytest.approx(2.2, rel=0.02)
    lo, hi = fit["tau_ci95_ns"][0]
    assert lo < fit["tau_ns"][0] < hi
    assert set(fit) >= {
        "components",
        "tau_ns",
        "tau_ci95_ns",
        "amplitudes",
        "tau_amplitude_weighted_ns",
        "tau_intensity_weighted_ns",
        "irf_shift_ns",
        "background",
        "reduced_chi2",
    }
    assert "reduced chi2" in r.output
    r = CliRunner().invoke(
        main,
        ["decay", str(tmp_path / "decay.txt"), "--irf", str(tmp_path / "irf.txt"), "-o", str(out)],
    )
    assert r.exit_code != 0 and "exists" in r.output
    # mismatched channel widths are refused with both files named
    _write_das6(tmp_path / "irf2.txt", np.rint(irf), 0.1)
    r = CliRunner().invoke(
        main,
        [
            "decay",
            str(tmp_path / "decay.txt"),
            "--irf",
            str(tmp_path / "irf2.txt"),
            "-o",
            str(tmp_path / "x.json"),
        ],
    )
    assert r.exit_code != 0 and "irf2.txt" in r.output and "must match" in r.output


def test_decay_command_on_the_real_atto550_files(tmp_path, external_dir):
    d = external_dir / "tcspc" / "atto550_dna_decay.txt"
    i = external_dir / "tcspc" / "atto550_dna_irf.txt"
    if not (d.exists() and i.exists()):
        pytest.skip("Atto550 TCSPC files absent")
    out = tmp_path / "fit.json"
    r = CliRunner().invoke(
        main, ["decay", str(d), "--irf", str(i), "--components", "2", "-o", str(out), "--quiet"]
    )
    assert r.exit_code == 0, r.output
    fit = json.loads(out.read_text())
    assert fit["components"] == 2 and 3.0 < fit["tau_intensity_weighted_ns"] < 4.5


def test_analyze_folder_of_oceanview_files_with_pattern(tmp_path, synth):
    """Raw instrument files -> polase.io assembly -> analysis, through the command line."""
    from polase.io.oceanoptics import write_oceanview

    ds = synth(seed=8, repeats=3, dark=800.0)
    folder = tmp_path / "run"
    folder.mkdir()
    wl = ds["wavelength"].values
    t_int = 0.1
    acq = ds["acquisition_index"].values
    for i, f in enumerate(ds["fluence"].values):
        for j, p in enumerate(ds["polarization"].values):
            for r in range(3):
                name = f"{acq[i, j, r]:03d}_{f:g}mJ_{p}_{r}.txt"
                write_oceanview(folder / name, wl, ds["spectrum"].values[i, j, r], t_int)
    write_oceanview(folder / "dark_1.txt", wl, np.full(wl.size, 800.0), t_int)
    out = tmp_path / "r.json"
    pattern = "{acquisition_index}_{fluence}mJ_{polarization}_{repeat}.txt"
    r = CliRunner().invoke(
        main, ["analyze", str(folder), "--pattern", pattern, "-o", str(out), "--quiet"]
    )
    assert r.exit_code == 0, r.output
    res = json.loads(out.read_text())
    assert res["source"] == "measurement"
    assert res["units"]["intensity"] == "counts/s*nm"
    assert res["photon_order"] == 2
    # the same numbers as the analysis of the dark-subtracted Dataset in counts/s
    from polase.analysis import analyze

    ds["spectrum"] = (ds["spectrum"] - 800.0) / t_int
    direct = analyze(ds, AnalysisConfig())
    assert res["threshold_mJ_cm2"]["value"] == pytest.approx(
        direct["threshold_mJ_cm2"]["value"], rel=1e-6
    )
    assert res["pl_fwhm_nm"]["value"] == pytest.approx(direct["pl_fwhm_nm"]["value"], rel=1e-6)
    for a, b in zip(res["per_fluence"], direct["per_fluence"]):
        assert a["delta_ase"] == pytest.approx(b["delta_ase"], rel=1e-6, abs=1e-9)
    # --manifest and --pattern together are refused
    r = CliRunner().invoke(
        main,
        [
            "analyze",
            str(folder),
            "--pattern",
            pattern,
            "--manifest",
            str(out),
            "-o",
            str(tmp_path / "x.json"),
        ],
    )
    assert r.exit_code != 0 and "not both" in r.output
