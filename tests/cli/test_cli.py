"""The command line as a whole: shared options, multi-value options, exit codes, messages."""

from __future__ import annotations

import tomllib

import click
import pytest
from click.testing import CliRunner

from polase.cli import main
from polase.cli._options import is_name, is_number, option, values_option

COMMANDS = (
    "simulate",
    "analyze",
    "decay",
    "reproduce",
    "report",
    "mechanisms",
    "calibrate",
    "acquire",
    "phasor",
    "anisotropy",
    "spin",
)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _config(*args) -> dict:
    res = run("simulate", *args, "--print-config")
    assert res.exit_code == 0, res.output
    return tomllib.loads(res.output)


# ----------------------------------------------------------------------------- shared options
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_the_shared_options(command):
    res = run(command, "--help")
    assert res.exit_code == 0, res.output
    # `polase acquire` never replaces a run folder: it continues one with --resume
    replace = "--resume" if command == "acquire" else "--overwrite"
    for spelling in ("-o, --output", replace, "-q, --quiet"):
        assert spelling in res.output, f"{command} lacks {spelling}"


def test_units_are_in_the_help_not_in_option_names():
    for command in COMMANDS:
        text = run(command, "--help").output
        for suffix in ("-ns ", "-nm ", "-deg ", "-mj-cm2 "):
            assert suffix not in text, f"{command}: unit in an option name"
    text = run("decay", "--help").output
    assert "--period FLOAT" in text and "[ns]" in text
    assert "--period-ns" not in text  # old spelling: accepted, not advertised


def test_seed_option_is_shared():
    assert "--seed" in run("simulate", "--help").output
    assert "--seed" in run("reproduce", "--help").output
    assert _config("--seed", "7")["sweep"]["seed"] == 7
    res = run("simulate", "--seed", "-3", "--print-config")
    assert res.exit_code == 2 and "--seed" in res.output


# ----------------------------------------------------------------------------- multiple values
def test_space_separated_values_like_the_readme():
    cfg = _config("--fluence", "10:12:0.5", "--qwp-angle", "0", "22.5", "45")
    assert cfg["sweep"]["qwp_angle"] == [0.0, 22.5, 45.0]
    assert cfg["sweep"]["fluence"] == [10.0, 10.5, 11.0, 11.5, 12.0]


def test_repeated_and_mixed_flags_give_the_same_values():
    a = _config("--qwp-angle", "0", "--qwp-angle", "22.5", "--qwp-angle", "45")
    b = _config("--qwp-angle", "0", "22.5", "--qwp-angle", "45")
    assert a["sweep"]["qwp_angle"] == b["sweep"]["qwp_angle"] == [0.0, 22.5, 45.0]
    f = _config("--fluence", "4", "8.2", "--fluence", "15,16", "--fluence", "17:18:1")
    assert f["sweep"]["fluence"] == [4.0, 8.2, 15.0, 16.0, 17.0, 18.0]


def test_negative_numbers_are_values_and_other_options_still_parse():
    cfg = _config("--qwp-angle", "-45", "0", "45", "--repeats", "2")
    assert cfg["sweep"]["qwp_angle"] == [-45.0, 0.0, 45.0]
    assert cfg["sweep"]["repeats"] == 2


def test_greedy_option_stops_at_tokens_it_does_not_accept():
    @click.command()
    @click.argument("path")
    @values_option("--x", "numbers")
    @option("--name", multiple=True, greedy=is_name, help="names")
    def cmd(path, x, name):
        click.echo(f"{path}|{list(x)}|{list(name)}")

    res = CliRunner().invoke(cmd, ["--x", "1", "-2.5", "3e2", "data.nc", "--name", "a", "b+c"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == "data.nc|[1.0, -2.5, 300.0]|['a', 'b+c']"
    assert is_number("-1e-3") and not is_number("--x") and not is_number("a.nc")


def test_set_overrides_dotted_keys_with_toml_values():
    cfg = _config(
        "--set", "material.k2=2e-9", "numerics.solver=reference", "--set", "sweep.noise=false"
    )
    assert cfg["material"]["k2"] == pytest.approx(2e-9)
    assert cfg["numerics"]["solver"] == "reference"
    assert cfg["sweep"]["noise"] is False


def test_print_config_round_trips_through_config(tmp_path):
    cfg = _config("--qwp-angle", "0", "30", "--set", "sample.confinement=0.4")
    path = tmp_path / "my.toml"
    path.write_text(
        run(
            "simulate",
            "--qwp-angle",
            "0",
            "30",
            "--set",
            "sample.confinement=0.4",
            "--print-config",
        ).output
    )
    assert _config("--config", path) == cfg


# ----------------------------------------------------------------------------- exit codes
def test_bad_option_value_is_a_usage_error_with_the_specific_message():
    res = run("simulate", "--fluence", "5:-1:1", "-o", "x.nc")
    assert res.exit_code == 2
    assert "--fluence" in res.output and "need START <= STOP" in res.output
    res = run("simulate", "--fluence", "5:x:1", "-o", "x.nc")
    assert res.exit_code == 2 and "START:STOP:STEP" in res.output
    res = run("simulate", "--set", "nonsense", "--print-config")
    assert res.exit_code == 2 and "KEY=VALUE" in res.output


def test_unknown_option_and_missing_argument_exit_2():
    assert run("simulate", "--colour", "blue").exit_code == 2
    assert run("analyze").exit_code == 2
    res = run("simulate")
    assert res.exit_code == 2 and "-o" in res.output


def test_config_errors_exit_1_name_the_key_without_traceback(tmp_path):
    res = run("simulate", "--set", "material.k9=1", "--print-config")
    assert res.exit_code == 1
    assert "material.k9" in res.output and "allowed" in res.output
    assert "Traceback" not in res.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep]\nrepeats = \n")
    res = run("simulate", "--config", bad, "--print-config")
    assert res.exit_code == 1 and "bad.toml" in res.output and "line" in res.output


def test_existing_output_exit_1_and_says_what_to_pass(tmp_path):
    out = tmp_path / "r.json"
    out.write_text("{}")
    d = tmp_path / "d.txt"
    d.write_text("not a decay\n")
    res = run("decay", d, "--irf", d, "-o", out)
    assert res.exit_code == 1
    assert "exists" in res.output and "pass --overwrite" in res.output
    assert "overwrite=True" not in res.output and "Traceback" not in res.output


def test_malformed_input_file_exit_1(tmp_path):
    d = tmp_path / "d.txt"
    d.write_text("not a decay\n")
    res = run("decay", d, "--irf", d, "-o", tmp_path / "fit.json")
    assert res.exit_code == 1 and "d.txt" in res.output and "Traceback" not in res.output


def test_old_option_spellings_still_work(tmp_path):
    d = tmp_path / "d.txt"
    d.write_text("not a decay\n")
    # accepted (the error is about the file, not the option)
    res = run("decay", d, "--irf", d, "--period-ns", "40", "-o", tmp_path / "f.json")
    assert res.exit_code == 1 and "no such option" not in res.output.lower()
    res = run("analyze", d, "--decay-components", "1", "-o", tmp_path / "r.json")
    assert res.exit_code == 1 and "no such option" not in res.output.lower()


def test_calibrate_needs_an_explicit_output(monkeypatch):
    import polase.paper.photonics2022.calibration as calibration

    def boom(**kw):
        raise AssertionError("calibrate ran without -o (it would replace the package data)")

    monkeypatch.setattr(calibration, "calibrate", boom)
    res = run("calibrate")
    assert res.exit_code == 2 and "--output" in res.output


@pytest.mark.parametrize("command", ["analyze", "decay", "mechanisms", "calibrate"])
def test_required_output_is_required(command, tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("x\n")
    args = {"analyze": [f], "decay": [f, "--irf", f], "mechanisms": [f], "calibrate": []}
    res = run(command, *args[command])
    assert res.exit_code == 2 and "Missing option '-o' / '--output'" in res.output


def test_options_from_environment_variables_and_the_command_line_wins():
    runner = CliRunner()
    res = runner.invoke(main, ["simulate", "--print-config"], env={"POLASE_SIMULATE_SEED": "5"})
    assert res.exit_code == 0 and tomllib.loads(res.output)["sweep"]["seed"] == 5
    res = runner.invoke(
        main,
        ["simulate", "--seed", "6", "--print-config"],
        env={"POLASE_SIMULATE_SEED": "5", "POLASE_SIMULATE_QWP_ANGLE": "0 30"},
    )
    cfg = tomllib.loads(res.output)["sweep"]
    assert cfg["seed"] == 6 and cfg["qwp_angle"] == [0.0, 30.0]
