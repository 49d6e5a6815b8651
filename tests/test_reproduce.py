"""`polase reproduce` / `polase report`: output folder handling, raw files, acceptance.

The end-to-end test runs the real pipeline once (digital twin -> raw files -> polase.io
-> polase.analysis -> report) with the default seed; every summary row must pass. The
many-seed acceptance is in tests/report/test_acceptance_seeds.py (its own file, so that
``pytest -n 2 --dist loadfile`` runs it beside this one).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from polase._files import staged_folder
from polase.analysis.decay import decay_fit_curve
from polase.errors import OutputExistsError, PolaseError
from polase.instruments.acquisition import exposure_for
from polase.paper.photonics2022.reproduce import (
    DEFAULT_REPEATS,
    DEFAULT_SEED,
    reproduce,
    spin_relaxation_ns,
)

FIGURE_NAMES = (
    *("fig1b", "fig2a", "fig2b", "fig2c", "fig3", "delta"),
    *("polarization_fit", "polarization_ratio", "phasor"),
)


# ----------------------------------------------------------------------------- folder


def test_staged_folder_refuses_an_existing_folder(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("user data")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with staged_folder(target):
            pass
    assert (target / "keep.txt").read_text() == "user data"


def test_staged_folder_overwrite_swaps_in_the_new_tree(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with staged_folder(target, overwrite=True) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        (tmp / "new.txt").write_text("new")
        assert (target / "old.txt").exists()  # untouched until the end
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folders left
    assert (target / "new.txt").stat().st_mode & 0o044  # readable like any file, not 0600


def test_staged_folder_failure_leaves_target_untouched(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with staged_folder(target, overwrite=True) as tmp:
            (tmp / "half.txt").write_text("half")
            raise RuntimeError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_staged_folder_never_replaces_a_file(tmp_path):
    target = tmp_path / "out"
    target.write_text("a file")
    with pytest.raises(PolaseError, match="not a folder"):
        with staged_folder(target, overwrite=True):
            pass
    assert target.read_text() == "a file"


def test_reproduce_refuses_existing_dir_before_any_work(tmp_path, monkeypatch):
    import polase

    def boom(*a, **k):
        raise AssertionError("simulated although the output folder exists")

    monkeypatch.setattr(polase, "simulate", boom)
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputExistsError):
        reproduce(tmp_path / "out")
    result = CliRunner().invoke(_cli(), ["reproduce", "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code != 0 and "--overwrite" in result.output


def _cli():
    from polase.cli import main

    return main


# ----------------------------------------------------------------------------- helpers


def test_exposure_puts_the_brightest_spectrum_at_the_target():
    cfg = {
        "spectrometer": {
            "electronic_offset_counts": 1000.0,
            "saturation_counts": 65535.0,
            "integration_time_s": 0.01,
        }
    }
    full = 65535.0 - 1000.0
    ds = xr.Dataset(
        {"spectrum_noiseless": (("w",), np.array([1000.0, 1000.0 + 2 * full]))},
        attrs={"config": json.dumps(cfg)},
    )
    t = exposure_for(ds, target=0.7)
    assert t == pytest.approx(0.01 * 0.7 / 2, abs=1e-4)
    assert t <= 0.01 * 0.7 / 2  # rounded down: never brighter than asked
    assert exposure_for(xr.Dataset(attrs={"config": "{}"})) is None


def test_spin_relaxation_is_read_from_the_config_in_ns():
    ds = xr.Dataset(attrs={"config": json.dumps({"material": {"tau_s": 7.5e-9}})})
    assert spin_relaxation_ns(ds) == pytest.approx(7.5)
    assert spin_relaxation_ns(xr.Dataset(attrs={"source": "measurement"})) is None


def test_decay_fit_curve_rebuilds_the_fitted_model():
    from polase.analysis import fit_decay

    rng = np.random.default_rng(7)
    t = (np.arange(1024) + 0.5) * 0.05
    irf = np.rint(2000 * np.exp(-0.5 * ((t - 3.0) / 0.08) ** 2))
    tau = (0.6, 4.0)
    kernel = 0.4 * np.exp(-t / tau[0]) + 0.6 * np.exp(-t / tau[1])
    clean = np.convolve(irf / irf.sum(), kernel)[: t.size] * 4000 + 3.0
    counts = rng.poisson(clean).astype(float)
    fit = fit_decay(t, counts, irf, 2)
    curve = decay_fit_curve(t, irf, fit)
    assert curve.shape == counts.shape
    # the rebuilt curve is the fit: its Pearson chi-square is the reported one
    sel = (t >= fit["fit_range_ns"][0]) & (t <= fit["fit_range_ns"][1])
    chi2 = np.sum((counts[sel] - curve[sel]) ** 2 / curve[sel]) / (sel.sum() - 7)
    assert chi2 == pytest.approx(fit["reduced_chi2"], rel=0.05)
    assert np.max(np.abs(curve - clean)) < 5 * np.sqrt(clean.max())
    assert decay_fit_curve(t, irf, {**fit, "irf_shift_ns": None}) is None  # tail fit: no IRF model


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    out = tmp_path_factory.mktemp("repro") / "paper"
    summary = reproduce(out, seed=DEFAULT_SEED, repeats=DEFAULT_REPEATS)
    return out, summary


def test_reproduce_writes_the_whole_folder(reproduced):
    out, summary = reproduced
    names = {p.name for p in out.iterdir()}
    assert {
        "report.html",
        "summary.json",
        "results.json",
        "simulated.nc",
        "raw",
        "figures",
    } <= names
    for fig in FIGURE_NAMES:
        assert (out / "figures" / f"{fig}.png").read_bytes().startswith(b"\x89PNG")
        assert b"<svg" in (out / "figures" / f"{fig}.svg").read_bytes()[:2000]
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["rows"] == json.loads(json.dumps(summary["rows"]))
    for row in on_disk["rows"]:
        assert {"observable", "paper", "value", "ci95", "tolerance", "unit", "pass"} <= set(row)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(FIGURE_NAMES)
    assert html.count('class="summary-row"') == len(on_disk["rows"])


def test_raw_files_are_real_instrument_files(reproduced):
    from polase.io import load_measurement, read_spectrum, read_tcspc

    out, _ = reproduced
    sim = xr.open_dataset(out / "simulated.nc", engine="h5netcdf")
    with (out / "raw" / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    spectra = [r for r in rows if (r.get("kind") or "spectrum") == "spectrum"]
    assert len(spectra) == sim.sizes["fluence"] * sim.sizes["polarization"] * sim.sizes["repeat"]
    first = read_spectrum(out / "raw" / spectra[0]["file"])
    assert first.format == "oceanview" and first.counts.size == sim.sizes["wavelength"]
    decays = [r for r in rows if r.get("kind") == "decay"]
    assert {float(r["detection_wavelength_nm"]) for r in decays} == {533.0, 543.0}
    irf = read_tcspc(out / "raw" / next(r["file"] for r in rows if r.get("kind") == "irf"))
    assert irf.format == "das6"
    np.testing.assert_array_equal(irf.counts, sim["irf"].values)
    # L, C, L, C: the acquisition order alternates polarization at each fluence
    meas = load_measurement(out / "raw" / "manifest.csv")
    acq = meas["acquisition_index"].isel(fluence=0).values  # (polarization, repeat)
    order = np.argsort(acq.T.ravel())
    assert (
        list(np.array(["linear", "circular"] * acq.shape[1])[order][:4])
        == ["linear", "circular"] * 2
    )


def test_rows_fail_only_where_the_conflicts_are_documented(reproduced, reproduce_conflicts):
    """Seed 353: the rows that fail are exactly the documented conflicts of the packaged
    set (docs/model.md section 9, README); every other row passes. The rows added for
    Fig. 3 and the curve shapes are computed from the data (finite, in their units) and
    graded, pass or fail (issue "Physics v2")."""
    _, summary = reproduced
    headline = [r for r in summary["rows"] if r["kind"] == "measured" and r["group"] == "headline"]
    assert len(headline) == 12
    assert [r for r in summary["rows"] if r["kind"] == "input"] == []
    scored = [r for r in summary["rows"] if r["kind"] in ("measured", "model")]
    failing = {r["key"] for r in scored if r["pass"] is not True}
    documented = reproduce_conflicts["always"] | reproduce_conflicts["sometimes"]
    values = {r["key"]: (r["value"], r["tolerance"]) for r in scored if r["key"] in failing}
    assert failing <= documented, f"undocumented failures, seed {DEFAULT_SEED}: {values}"
    assert reproduce_conflicts["always"] <= failing, f"seed {DEFAULT_SEED}: {values}"
    units = {
        "delta_533_15": "%",
        "delta_533_16": "%",
        "delta_533_17": "%",
        "delta_ase_trend": "%",
        "fwhm_below_threshold": "nm",
        "slope_curvature": "1",
    }
    added = {r["key"]: r for r in summary["rows"] if r["group"] in ("fig3", "shape")}
    assert set(added) == set(units)
    for key, unit in units.items():
        r = added[key]
        assert r["unit"] == unit and r["value"] is not None and np.isfinite(r["value"]), r
        assert r["pass"] in (True, False), r  # graded against the paper, not skipped


def test_gain_row_checks_the_twin_against_full_inversion(reproduced):
    """The model row is computed from the twin's configuration over its sweep; the default
    (band-filling) set stays below the full-inversion bound: it passes."""
    from polase.experiment import gain_check

    out, summary = reproduced
    (row,) = [r for r in summary["rows"] if r["key"] == "gain_bound"]
    assert row["kind"] == "model" and row["group"] == "physics"
    sim = xr.open_dataset(out / "simulated.nc", engine="h5netcdf")
    want = gain_check(json.loads(sim.attrs["config"]))
    assert row["value"] == pytest.approx(want["max_ratio"], rel=1e-12)
    assert summary["gain_check"]["max_ratio"] == pytest.approx(want["max_ratio"], rel=1e-12)
    # the default set's gain is inversion-limited; the version-1 set's is not
    # (tests/physics/test_gain_check.py)
    assert 0.0 < row["value"] <= 1.0 and row["pass"] is True
    assert summary["gain_check"]["gain_model"] == "band_filling"
    assert "docs/model.md section 9" in row["note"]


def test_tau_s_row_is_measured_from_the_helicity_files(reproduced, tmp_path):
    """The tau_s row comes from the sigma+/sigma- files in raw/ (read back and fitted), and
    `polase spin` on those files gives the same number; the note says what it means."""
    out, summary = reproduced
    (row,) = [r for r in summary["rows"] if r["key"] == "spin_relaxation"]
    spin = summary["spin_relaxation"]
    assert row["kind"] == "recovery" and row["group"] == "spin" and row["paper"] == 8.0
    assert spin["input_tau_s_ns"] == pytest.approx(summary["spin_relaxation_ns"])
    lo, hi = row["ci95"]
    if spin["resolved"]:
        assert row["value"] == pytest.approx(spin["tau_s_ns"]) and lo < row["value"] < hi
        assert row["pass"] is (7.5 <= row["value"] <= 8.5)
    else:
        assert row["value"] is None and row["pass"] is None and "not resolved" in row["note"]
    assert "did not measure it" in row["note"]
    assert f"simulated with tau_s = {spin['input_tau_s_ns']:.3g} ns" in row["note"]
    folder = out / "raw" / "tcspc_helicity"
    with (folder / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["emission_analyzer"] for r in rows if r["kind"] == "decay") == [
        "sigma+",
        "sigma-",
    ]
    files = {r["emission_analyzer"]: folder / r["file"] for r in rows if r["kind"] == "decay"}
    res = tmp_path / "spin.json"
    result = CliRunner().invoke(
        _cli(),
        [
            *("spin", str(files["sigma+"]), str(files["sigma-"])),
            *("--irf", str(folder / "irf.txt"), "--components", "2", "-o", str(res), "--quiet"),
        ],
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(res.read_text())
    assert cli["tau_s_ci95_ns"] == pytest.approx(spin["tau_s_ci95_ns"], rel=1e-6)
    assert cli["resolved"] == spin["resolved"]


def test_report_command_rebuilds_the_report_from_the_folder(reproduced, tmp_path):
    out, summary = reproduced
    html = tmp_path / "again.html"
    result = CliRunner().invoke(_cli(), ["report", str(out), "-o", str(html)])
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert text.count('class="summary-row"') == len(summary["rows"])
    assert text.count("data:image/png;base64,") == len(
        FIGURE_NAMES
    )  # decay curves kept in summary.json
    # the phasors come from summary.json, computed by reproduce (the report draws them)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["phasors"]["labels"] == ["543 nm", "533 nm"]
    assert len(on_disk["phasors"]["g"]) == 2 and on_disk["phasors"]["calibration"] == "irf"
    # results.json alone: spectra and decay figures are left out, and the page says so
    only = tmp_path / "only.html"
    result = CliRunner().invoke(_cli(), ["report", str(out / "results.json"), "-o", str(only)])
    assert result.exit_code == 0, result.output
    assert "Figures not shown" in only.read_text(encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["report", str(out), "-o", str(html)])
    assert result.exit_code != 0 and "--overwrite" in result.output


def test_cli_help_lists_options():
    result = CliRunner().invoke(_cli(), ["reproduce", "--help"])
    assert result.exit_code == 0
    for opt in ("--output", "--seed", "--overwrite", "--repeats", "--acquire"):
        assert opt in result.output
    result = CliRunner().invoke(_cli(), ["report", "--help"])
    assert result.exit_code == 0 and "SOURCE" in result.output


def test_missing_source_is_a_clear_cli_error(tmp_path):
    result = CliRunner().invoke(
        _cli(), ["report", str(tmp_path / "nope"), "-o", str(tmp_path / "r.html")]
    )
    assert result.exit_code != 0 and "does not exist" in result.output
    assert not Path(tmp_path / "r.html").exists()


def test_bad_options_are_refused_before_any_work(tmp_path):
    runner = CliRunner()
    result = runner.invoke(_cli(), ["reproduce", "--seed", "-1", "-o", str(tmp_path / "a")])
    assert result.exit_code == 2 and "--seed" in result.output
    result = runner.invoke(_cli(), ["reproduce", "--repeats", "1", "-o", str(tmp_path / "a")])
    assert result.exit_code == 2 and "--repeats" in result.output
    assert not (tmp_path / "a").exists()


# ----------------------------------------------------------------------------- --acquire


@pytest.fixture(scope="module")
def acquired(tmp_path_factory):
    """``polase reproduce --acquire`` on a reduced protocol (2 repeats), through the CLI."""
    out = tmp_path_factory.mktemp("acq") / "paper"
    args = ["reproduce", "--acquire", "--repeats", "2", "-o", str(out), "-q"]
    result = CliRunner().invoke(_cli(), args)
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "summary.json").read_text()), result.output


def test_reproduce_acquire_writes_the_run_folder_and_report(acquired, tmp_path):
    from polase.paper.photonics2022.acquisition import acquire_paper

    out, summary, output = acquired
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "summary.json", "results.json", "raw", "figures"} <= names
    assert "simulated.nc" not in names  # the twin ran inside the bench
    raw = out / "raw"
    assert {"manifest.csv", "provenance.json", "log.jsonl", "spectra", "tcspc"} <= {
        p.name for p in raw.iterdir()
    }
    # raw/ is exactly what the acquisition writes for the same seed and protocol
    again = acquire_paper(tmp_path / "run", seed=DEFAULT_SEED, repeats=2)
    assert (raw / "manifest.csv").read_bytes() == again.read_bytes()
    events = [json.loads(s) for s in (raw / "log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "complete"
    # no excitation spectrum and no helicity pair on the bench: those figures are left out
    # and the report says why
    assert summary["source"] == "acquisition"
    omitted = {f["name"]: f["reason"] for f in summary["figures_omitted"]}
    assert set(omitted) == {"fig1b", "polarization_fit", "polarization_ratio"}
    assert "excitation_spectrum" in omitted["fig1b"]
    assert sorted(summary["figures"]) == sorted(set(FIGURE_NAMES) - set(omitted))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Figures not shown" in html and "simulated bench" in html
    assert html.count('class="summary-row"') == len(summary["rows"])
    assert "acquired" in output and "observables within tolerance" in output
    # `polase report` rebuilds it: the spectra come back from raw/manifest.csv
    html2 = tmp_path / "again.html"
    result = CliRunner().invoke(_cli(), ["report", str(out), "-o", str(html2)])
    assert result.exit_code == 0, result.output
    again_html = html2.read_text(encoding="utf-8")
    assert again_html.count("data:image/png;base64,") == len(FIGURE_NAMES) - len(omitted)
    assert "fig1b left out" in result.output and "fig2a left out" not in result.output


def test_reproduce_acquire_analyses_the_measured_fluence(acquired):
    _, summary, _ = acquired
    results = summary["results"]
    assert results["fluence_axis"] == "fluence_measured"  # the manifest's power-meter column
    # the bench protocol records no sigma+/sigma- pair: the tau_s row has no value and says so
    (spin,) = [r for r in summary["rows"] if r["key"] == "spin_relaxation"]
    assert spin["value"] is None and spin["pass"] is not True
    assert "no sigma+ / sigma- decay pair" in spin["note"]
    # every headline row is computed from the acquired files and graded
    headline = [r for r in summary["rows"] if r["kind"] == "measured" and r["group"] == "headline"]
    assert len(headline) == 12
    for r in headline:
        assert r["value"] is not None and np.isfinite(r["value"]) and r["pass"] in (True, False)
    # the gain row is computed from the twin's configuration in provenance.json
    (gain,) = [r for r in summary["rows"] if r["key"] == "gain_bound"]
    assert gain["kind"] == "model" and gain["value"] is not None and np.isfinite(gain["value"])
    assert gain["value"] == pytest.approx(summary["gain_check"]["max_ratio"])
    # the decays were recorded at 17 mJ/cm2 and fitted as `polase decay` does
    assert set(summary["decays"]) == {"543", "533"}
    assert summary["decays"]["543"]["fluence_mJ_cm2"] == 17.0


@pytest.mark.slow
def test_reproduce_acquire_full_protocol_default_seed(tmp_path, reproduce_conflicts):
    """The paper's full protocol (5 repeats), seed 353, the table's realistic noise: the
    headline rows other than Delta_ASE fail only where the packaged set's conflicts are
    documented. The Delta_ASE rows are graded as they come (docs/acquisition.md: the
    attenuator calibration error and the pulse-energy jitter, amplified by the steep ASE
    rise, move them by a few points); without that noise the headline rows fail only
    where the conflicts are documented, Delta_ASE included."""
    documented = reproduce_conflicts["always"] | reproduce_conflicts["sometimes"]
    summary = reproduce(tmp_path / "noisy", acquire=True)
    headline = [r for r in summary["rows"] if r["kind"] == "measured" and r["group"] == "headline"]
    others = [r for r in headline if not r["key"].startswith("delta_ase_")]
    assert len(others) == 9
    failing = {r["key"]: r["value"] for r in others if r["pass"] is not True}
    assert set(failing) <= documented, failing
    quiet = reproduce(
        tmp_path / "quiet", acquire=True, bench_options={"calibration_error": 0.0, "laser_rms": 0.0}
    )
    bad = {
        r["key"]: r["value"]
        for r in quiet["rows"]
        if r["kind"] == "measured" and r["group"] == "headline" and r["pass"] is not True
    }
    assert set(bad) <= documented, bad


def test_readme_summary_table_is_this_run(reproduced):
    """README.md's summary table is `markdown_table` of the default run's rows (seed 353,
    5 repeats: what `bash dev.sh run` writes): regenerate it with
    scripts/readme_summary.py when the numbers move."""
    from polase.report.summary import markdown_table

    _, summary = reproduced
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert markdown_table(summary["rows"]) in readme
