"""Done-when of the acquisition: the paper's protocol on the simulated bench, analysed.

``polase acquire examples/paper.toml -o run --simulated`` then ``polase analyze run
--manifest run/manifest.csv`` with no step in between; the analysis must recover the
twin's ASE threshold and Delta_ASE. The twin's values are what the same analysis gives
on noiseless twin spectra: the threshold at the nominal fluences, Delta_ASE at the
fluences actually delivered (the mean measured fluence of each nominal one and
polarization; the bench's attenuator calibration is 1 % off and the laser drifts, as on a
real table).
Tolerances are those of the reproduction's summary table: +-0.5 mJ/cm2 for thresholds,
+-2 points of Delta_ASE (or inside the measurement's 95 % interval).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from polase import simulate
from polase.analysis import AnalysisConfig, analyze, extract_features, to_jsonable
from polase.cli import main

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _twin(fluences) -> dict:
    ds = simulate(fluence=list(fluences), noise=False, repeats=2, decays=False, seed=0)
    cfg = AnalysisConfig(band_fits=False)
    return to_jsonable(analyze(ds, cfg, features=extract_features(ds, cfg)))


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("paper") / "run"
    cli = CliRunner()
    res = cli.invoke(
        main, ["acquire", str(ROOT / "examples" / "paper.toml"), "-o", str(run), "--simulated"]
    )
    assert res.exit_code == 0, res.output
    out = run / "results.json"
    res = cli.invoke(
        main,
        [
            *("analyze", str(run), "--manifest", str(run / "manifest.csv"), "-o", str(out)),
            *("--no-band-fits", "--quiet"),
        ],
    )
    assert res.exit_code == 0, res.output
    return run, json.loads(out.read_text())


def test_the_paper_run_is_complete(paper_run):
    run, results = paper_run
    rows = list(csv.DictReader((run / "manifest.csv").open()))
    spectra = [r for r in rows if r["kind"] == "spectrum"]
    assert len(spectra) == 34 * 2 * 5
    assert len({r["file"] for r in rows}) == len(rows)
    assert {(r["kind"], r["detection_wavelength_nm"]) for r in rows if r["kind"] == "decay"} == {
        ("decay", "533.0"),
        ("decay", "543.0"),
    }
    assert len(results["decays"]) == 4  # polase analyze fitted every recorded decay
    assert results["fluence_axis"] == "fluence_measured"  # the manifest's power-meter column
    events = [json.loads(s) for s in (run / "log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "complete"


def test_analysis_recovers_the_twins_threshold(paper_run):
    _, results = paper_run
    fl = sorted({e["fluence_mJ_cm2"] for e in results["per_fluence"]})
    twin = _twin(fl)
    for key in ("threshold_mJ_cm2", "threshold_fwhm_mJ_cm2"):
        assert results[key]["value"] == pytest.approx(twin[key]["value"], abs=0.5), key


def _delivered(rows, fluence, polarization=None) -> float:
    """Mean power-meter fluence of the spectra taken at a nominal fluence. [mJ/cm2]"""
    return float(
        np.mean(
            [
                float(r["fluence_measured_mJ_cm2"])
                for r in rows
                if float(r["fluence_mJ_cm2"]) == fluence
                and polarization in (None, r["polarization"])
            ]
        )
    )


def test_analysis_recovers_the_twins_delta_ase(paper_run):
    """Delta_ASE against the twin at the fluences each polarization actually received: near
    threshold the ASE rises ~10x faster than the fluence, so the bench's drift between the
    linear and circular shots (~1 %) moves Delta_ASE by several points, and the twin
    reference has to see the same two fluences."""
    run, results = paper_run
    rows = [r for r in csv.DictReader((run / "manifest.csv").open()) if r["kind"] == "spectrum"]
    nominal = sorted({float(r["fluence_mJ_cm2"]) for r in rows})
    delivered = [_delivered(rows, f) for f in nominal]
    assert np.allclose(delivered, nominal, rtol=0.03)  # the power loop held the fluence
    meas = {e["fluence_mJ_cm2"]: e for e in results["per_fluence"]}
    reported = (15.0, 16.0, 17.0)  # the Delta_ASE values the paper reports
    below = [f for f in nominal if f <= 12.0]
    pairs = {
        f: (_delivered(rows, f, "linear"), _delivered(rows, f, "circular"))
        for f in (*reported, *below)
    }
    grid = sorted({x for pair in pairs.values() for x in pair} | {max(delivered)})
    ds = simulate(fluence=grid, noise=False, repeats=2, decays=False, seed=0)
    value = extract_features(ds, AnalysisConfig(band_fits=False))["value_at_ase_peak"]
    value = value.mean("repeat")

    def twin(f):
        f_lin, f_circ = pairs[f]
        i_lin = float(value.sel(fluence=f_lin, polarization="linear"))
        return float(value.sel(fluence=f_circ, polarization="circular")) / i_lin - 1.0

    for f in reported:
        d, (lo, hi) = meas[f]["delta_ase"], meas[f]["delta_ase_ci95"]
        true = twin(f)
        assert abs(d - true) <= 0.02 or lo <= true <= hi, (f, d, true, (lo, hi))
    # below threshold: the twin's small contrast (two-photon dichroism), not more
    mean_meas = np.mean([meas[f]["delta_ase"] for f in below])
    assert mean_meas == pytest.approx(np.mean([twin(f) for f in below]), abs=0.01)
