"""`polase acquire` on the command line: choices, refusals, and a failing device."""

from __future__ import annotations

import json

from click.testing import CliRunner

from polase.cli import main

SMALL = """
[sweep]
fluence_mJ_cm2 = [8.0, 17.0]
repeats = 2
[spectrometer]
integration_time_s = 0.08
auto_range = {auto}
[simulation]
time_scale = 0.0
"""


def _protocol(tmp_path, auto="true"):
    p = tmp_path / "p.toml"
    p.write_text(SMALL.format(auto=auto))
    return p


def test_acquire_is_a_polase_command():
    res = CliRunner().invoke(main, ["--help"])
    assert "acquire" in res.output


def test_one_bench_must_be_chosen(tmp_path):
    res = CliRunner().invoke(main, ["acquire", str(_protocol(tmp_path)), "-o", str(tmp_path / "r")])
    assert res.exit_code == 2 and "--simulated" in res.output


def test_simulated_run_then_refusal_to_overwrite(tmp_path):
    p, run = _protocol(tmp_path), tmp_path / "run"
    res = CliRunner().invoke(
        main, ["acquire", str(p), "-o", str(run), "--simulated", "--seed", "3"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads((run / "provenance.json").read_text())["seed"] == 3
    before = (run / "manifest.csv").read_bytes()
    res = CliRunner().invoke(main, ["acquire", str(p), "-o", str(run), "--simulated"])
    assert res.exit_code == 1 and "exists" in res.output
    # --resume of a finished run takes the seed from the run and adds nothing
    res = CliRunner().invoke(main, ["acquire", str(p), "-o", str(run), "--simulated", "--resume"])
    assert res.exit_code == 0, res.output
    assert (run / "manifest.csv").read_bytes() == before


def test_a_saturating_spectrum_stops_the_run_with_a_resume_hint(tmp_path):
    p, run = _protocol(tmp_path, auto="false"), tmp_path / "run"
    res = CliRunner().invoke(main, ["acquire", str(p), "-o", str(run), "--simulated"])
    assert res.exit_code == 1
    assert "saturated at 0.08 s (auto_range is off)" in res.output
    assert "--resume" in res.output
    last = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "error" and "SaturatedSpectrumError" in last["error"]
