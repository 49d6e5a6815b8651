"""The typed AnalysisResult: JSON round trip, old files, clear errors, one JSON module."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from polase._json import dumps_json, to_jsonable
from polase.analysis import AnalysisConfig, AnalysisResult, analyze, read_results
from polase.analysis.result import SCHEMA, SCHEMA_VERSION, Estimate
from polase.errors import DataValidationError, InputFileError

from .conftest import make_measurement


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return analyze(make_measurement(seed=5), AnalysisConfig(n_bootstrap=200, band_fits=False))


def test_analyze_returns_the_typed_result(result):
    assert isinstance(result, AnalysisResult)
    assert result.schema_version == SCHEMA_VERSION and result["schema"] == SCHEMA
    # typed attributes and the mapping view are the same numbers
    assert result.threshold.value == result["threshold_mJ_cm2"]["value"]
    assert result.pl_peak.fluence_mJ_cm2 == result["pl_peak_nm"]["fluence_mJ_cm2"]
    e = result.per_fluence[-1]
    assert e.delta_ase == result["per_fluence"][-1]["delta_ase"]
    assert result.fluence_entry(e.fluence_mJ_cm2) is e
    assert result.windows.ase_band_nm == result["windows"]["ase_band_nm"]


def test_json_round_trip_is_exact(result, tmp_path):
    text = result.to_json()
    json.loads(text)  # strict JSON: no NaN
    back = AnalysisResult.from_json(text)
    assert back == result
    assert back.to_json() == text
    path = tmp_path / "results.json"
    path.write_text(text)
    assert read_results(path) == result


def test_version_1_files_still_read(result):
    old = json.loads(result.to_json())
    old["schema"] = "polase.results/1"
    for key in ("schema_version", "notes", "slope_local"):
        old.pop(key, None)
    for e in old["per_fluence"]:
        e.pop("value_at_pl_peak", None)
        e.pop("value_at_ase_peak", None)
    back = AnalysisResult.from_dict(old)
    assert back.threshold == result.threshold
    assert back.notes == [] and back.slope_local is None


def test_unknown_schema_and_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(DataValidationError, match=r"schema 'polase.results/9' is not readable"):
        AnalysisResult.from_dict({"schema": "polase.results/9"})
    with pytest.raises(DataValidationError, match="'decays' must be a list"):
        AnalysisResult.from_dict({"decays": {"543": {}}})
    bad = tmp_path / "r.json"
    bad.write_text('{"schema": "polase.results/1",\n "per_fluence": [{"peak_nm": 1}]}')
    with pytest.raises(InputFileError, match=r"r\.json.*fluence_mJ_cm2"):
        read_results(bad)
    bad.write_text("{oops")
    with pytest.raises(InputFileError, match="not valid JSON"):
        read_results(bad)


def test_estimate_keeps_estimator_details():
    e = Estimate.from_dict({"value": 1.5, "ci95": [1, 2], "method": "m", "n_points": 7})
    assert e.method == "m" and e.details == {"n_points": 7}
    assert e.to_dict() == {"value": 1.5, "ci95": [1, 2], "method": "m", "n_points": 7}


def test_one_json_conversion_for_numpy_nan_and_paths(tmp_path):
    obj = {
        1: np.float32(2.5),
        "a": np.arange(3),
        "nan": float("nan"),
        "t": (np.bool_(True), np.int64(4)),
        "p": tmp_path,
    }
    assert to_jsonable(obj) == {
        "1": 2.5,
        "a": [0, 1, 2],
        "nan": None,
        "t": [True, 4],
        "p": str(tmp_path),
    }
    assert to_jsonable(float("inf"), nonfinite="str") == "inf"
    assert math.isnan(to_jsonable(np.nan, nonfinite="keep"))
    assert json.loads(dumps_json({"x": np.nan})) == {"x": None}
