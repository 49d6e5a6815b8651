"""Calibration: observable estimators on analytic data, the data file and its provenance."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from polase.calibration import (
    FREE,
    TARGETS,
    _cost,
    calibrate,
    fwhm,
    peak_wavelength,
    two_line_threshold,
)
from polase.config import load_config
from polase.materials import calibrated_file, parameter_table


def test_two_line_threshold_recovers_a_kink():
    f = np.arange(4.0, 20.01, 0.5)
    y = np.where(f < 14.3, 2.0 + 0.5 * f, 2.0 + 0.5 * 14.3 + 9.0 * (f - 14.3))
    # exact kink at a non-grid point: both straight segments are fitted exactly except
    # the straddling point, so the intersection lands close to 14.3
    assert two_line_threshold(f, y) == pytest.approx(14.3, abs=0.15)


def test_peak_and_fwhm_of_a_gaussian():
    x = np.linspace(500, 580, 801)
    y = np.exp(-4 * np.log(2) * ((x - 537.33) / 12.0) ** 2)
    assert peak_wavelength(x, y) == pytest.approx(537.33, abs=0.01)
    assert fwhm(x, y) == pytest.approx(12.0, abs=0.01)


def test_cost_is_zero_on_target_and_grows_off_target():
    obs = {k: v[0] for k, v in TARGETS.items()}
    assert _cost(obs, list(TARGETS)) == pytest.approx(0.0)
    obs["threshold_mJ_cm2"] += TARGETS["threshold_mJ_cm2"][1]
    assert _cost(obs, list(TARGETS)) == pytest.approx(1.0)


def test_defaults_come_from_the_calibrated_file():
    path = calibrated_file("CsPbBr3")
    if not path.is_file():
        pytest.skip("no calibrated data file in the package")
    data = tomllib.loads(path.read_text())
    assert data["provenance"]["written_by"] == "polase.calibration.calibrate"
    cfg = load_config()
    for key in FREE:
        sec, rest = key.split(".", 1)
        node_file, node_cfg = data[sec], cfg[sec]
        for part in rest.split(".")[:-1]:
            node_file, node_cfg = node_file[part], node_cfg[part]
        last = rest.split(".")[-1]
        assert node_cfg[last] == pytest.approx(node_file[last]), key


def test_calibrated_values_lie_within_their_bounds():
    table = parameter_table("CsPbBr3")
    for key in FREE:
        sec, name = key.split(".", 1)
        p = table[sec][name]
        assert p.source == "calibrated"
        lo, hi = p.bounds
        assert lo <= p.value <= hi, key


def test_plausible_magnitudes():
    mat = load_config()["material"]
    assert 0.1 <= mat["beta"] <= 10  # cm/GW
    assert 1e-11 <= mat["k2"] <= 3e-9  # cm3/s
    assert 1e-29 <= mat["k3"] <= 1e-27  # cm6/s
    assert 2.0 <= mat["refractive_index"] <= 2.4
    assert mat["tau_s"] == pytest.approx(8e-9)


def test_calibrate_writes_a_provenanced_file(tmp_path):
    out = tmp_path / "cal.toml"
    res = calibrate(output=out, stages=(1,), maxiter=3, log=None)
    data = tomllib.loads(out.read_text())
    assert data["provenance"]["evaluations"] >= 3
    assert set(res["targets"]) == set(TARGETS)
    assert "material" in data and "pl_center_ev" in data["material"]
    with pytest.raises(Exception, match="exists"):
        calibrate(output=out, stages=(), log=None)
