"""`polase analyze --fluence-axis`: the option (and its environment default) choose the
fluences of the threshold fits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from polase.cli import main
from polase.cli._options import FLUENCE_AXES


def test_choices_are_the_analysis_config_choices():
    from polase.analysis.config import FLUENCE_AXES as CONFIG_AXES

    assert FLUENCE_AXES == CONFIG_AXES


@pytest.fixture(scope="module")
def miscalibrated(tmp_path_factory):
    """A sweep whose sample saw 1.05 x the set points, recorded by a power meter."""
    from tests.analysis.conftest import FLUENCES, make_measurement

    ds = make_measurement(seed=5, fluence=FLUENCES * 1.05).assign_coords(
        fluence=("fluence", FLUENCES, {"units": "mJ/cm**2"})
    )
    shape = (FLUENCES.size, ds.sizes["polarization"], ds.sizes["repeat"])
    fm = np.broadcast_to(FLUENCES[:, None, None] * 1.05, shape).copy()
    ds["fluence_measured"] = (("fluence", "polarization", "repeat"), fm, {"units": "mJ/cm**2"})
    path = tmp_path_factory.mktemp("sweep") / "sweep.nc"
    ds.to_netcdf(path)
    return path


def _analyze(path, out, *args, env=None):
    res = CliRunner().invoke(
        main, ["analyze", str(path), "--no-band-fits", "-q", "-o", str(out), *args], env=env
    )
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


def test_fluence_axis_option_changes_the_axis_of_the_fits(miscalibrated, tmp_path):
    auto = _analyze(miscalibrated, tmp_path / "auto.json")
    measured = _analyze(miscalibrated, tmp_path / "m.json", "--fluence-axis", "fluence_measured")
    nominal = _analyze(miscalibrated, tmp_path / "n.json", "--fluence-axis", "nominal")
    assert auto["fluence_axis"] == measured["fluence_axis"] == "fluence_measured"
    assert nominal["fluence_axis"] == "nominal"
    assert nominal["config"]["fluence_axis"] == "nominal"
    # a hinge scales with its x axis: on the set points the threshold is 1.05 x lower
    t_m, t_n = measured["threshold_mJ_cm2"]["value"], nominal["threshold_mJ_cm2"]["value"]
    assert t_n == pytest.approx(t_m / 1.05, rel=1e-9)
    # POLASE_ANALYZE_FLUENCE_AXIS is the default; the command line wins
    env = {"POLASE_ANALYZE_FLUENCE_AXIS": "nominal"}
    by_env = _analyze(miscalibrated, tmp_path / "e.json", env=env)
    assert by_env["fluence_axis"] == "nominal"
    wins = _analyze(miscalibrated, tmp_path / "w.json", "--fluence-axis", "auto", env=env)
    assert wins["fluence_axis"] == "fluence_measured"


def test_a_bad_or_absent_axis(miscalibrated, tmp_path):
    res = CliRunner().invoke(
        main,
        [
            "analyze",
            str(miscalibrated),
            "--fluence-axis",
            "measured",
            "-o",
            str(tmp_path / "r.json"),
        ],
    )
    assert res.exit_code == 2 and "fluence_measured" in res.output  # the choices are listed
    res = CliRunner().invoke(
        main,
        ["analyze", str(miscalibrated), "--no-band-fits", "--fluence-axis", "pump_fluence_actual",
         "-o", str(tmp_path / "r.json")],
    )  # fmt: skip
    assert res.exit_code == 1 and "pump_fluence_actual" in res.output
