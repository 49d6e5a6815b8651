"""`polase mechanisms INPUT -o DIR`: outputs, refusal to overwrite, clear errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from polase.cli import main


def test_mechanisms_command_writes_json_html_png_and_fit(twin_spin_channel_nc, tmp_path):
    out = tmp_path / "mech"
    args = [
        "mechanisms",
        str(twin_spin_channel_nc),
        "-o",
        str(out),
        "--mechanisms",
        "spin_channel,dichroism",
        "--max-nfev",
        "25",
        "-q",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "mechanisms.json").read_text())
    assert {r["mechanism"] for r in rep["ranking"]} == {"spin_channel", "dichroism"}
    row = rep["ranking"][0]
    assert set(row) >= {"mechanism", "log_likelihood", "aic", "bic", "delta_bic", "parameters"}
    assert row["delta_bic"] == 0.0
    assert set(rep["recommendation"]) >= {
        "fluence_mJ_cm2",
        "qwp_angle_deg",
        "repeats",
        "expected_separation_sigma",
    }
    assert isinstance(rep["distinguishable"], bool) and rep["message"]
    html = (out / "mechanisms.html").read_text()
    assert "<section" in html and "data:image/png;base64," in html and "spin_channel" in html
    assert (out / "delta_ase_fluence.png").stat().st_size > 1000
    assert (out / "best_fit.nc").is_file()
    # existing outputs are not replaced without --overwrite
    before = (out / "mechanisms.json").read_text()
    res2 = CliRunner().invoke(main, args)
    assert res2.exit_code != 0 and "exists" in res2.output and "--overwrite" in res2.output
    assert (out / "mechanisms.json").read_text() == before


def test_unknown_mechanism_and_bad_input_are_clear_errors(twin_spin_channel_nc, tmp_path):
    res = CliRunner().invoke(
        main,
        [
            "mechanisms",
            str(twin_spin_channel_nc),
            "-o",
            str(tmp_path / "o"),
            "--mechanisms",
            "magic",
        ],
    )
    assert res.exit_code != 0 and "unknown mechanism 'magic'" in res.output
    bad = tmp_path / "x.nc"
    bad.write_text("not netcdf")
    res = CliRunner().invoke(main, ["mechanisms", str(bad), "-o", str(tmp_path / "o2")])
    assert res.exit_code != 0 and "x.nc" in res.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
