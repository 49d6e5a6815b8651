"""analyze_many and `polase analyze FOLDER_OF_SWEEPS`: dask results equal the serial ones."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from polase.analysis import AnalysisConfig, analyze, analyze_many, find_sweeps
from polase.errors import InputFileError
from polase.io import load_measurement, save_dataset

from .conftest import make_measurement

CFG = AnalysisConfig(band_fits=False, n_bootstrap=200)


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """A folder of three NetCDF sweeps (different noise and sweep lengths) and a stray file."""
    root = tmp_path_factory.mktemp("sweeps")
    for k, repeats in enumerate((3, 4, 3)):
        save_dataset(make_measurement(seed=k, repeats=repeats, n_pixels=300), root / f"s{k}.nc")
    (root / "notes.txt").write_text("not a sweep\n")
    return root


def test_find_sweeps(sweeps, tmp_path):
    assert [p.name for p in find_sweeps(sweeps)] == ["s0.nc", "s1.nc", "s2.nc"]
    with pytest.raises(InputFileError, match="holds no sweep"):
        find_sweeps(tmp_path)


def test_serial_equals_per_sweep_analyze(sweeps):
    res = analyze_many(sweeps, CFG)
    direct = [analyze(load_measurement(p), CFG) for p in find_sweeps(sweeps)]
    assert [r.to_dict() for r in res] == [r.to_dict() for r in direct]
    # the sweeps differ, so an order mix-up would show
    assert res[0].to_dict() != res[1].to_dict()


def test_two_worker_cluster_equals_serial(sweeps):
    pytest.importorskip("distributed")
    serial = analyze_many(sweeps, CFG)
    dist = analyze_many(sweeps, CFG, workers=2, processes=False)
    assert [r.to_dict() for r in dist] == [r.to_dict() for r in serial]


def test_cli_folder_of_sweeps(sweeps, tmp_path):
    from polase.cli import main

    out = tmp_path / "out"
    args = ["analyze", str(sweeps), "-o", str(out), "--no-band-fits", "--quiet"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["s0_results.json", "s1_results.json", "s2_results.json"]
    cfg = AnalysisConfig(band_fits=False)
    want = analyze(load_measurement(sweeps / "s1.nc"), cfg).to_dict()
    got = json.loads((out / "s1_results.json").read_text())
    assert got["input"] == str(sweeps / "s1.nc")
    assert got["threshold_mJ_cm2"] == json.loads(json.dumps(want["threshold_mJ_cm2"]))
    # no overwrite without --overwrite, and nothing written before the refusal
    r = CliRunner().invoke(main, args)
    assert r.exit_code != 0 and "exists" in r.output
    r = CliRunner().invoke(
        main, ["analyze", str(sweeps / "s0.nc"), "-o", str(out / "x.json"), "--workers", "2"]
    )
    assert r.exit_code != 0 and "folder of sweeps" in r.output


def test_a_bad_sweep_is_named(sweeps, tmp_path):
    ds = make_measurement(seed=9, repeats=3, n_pixels=300)
    del ds["spectrum"].attrs["units"]
    bad = tmp_path / "bad.nc"
    save_dataset(ds, bad)
    with pytest.raises(InputFileError, match=r"bad\.nc"):
        analyze_many([*find_sweeps(sweeps), bad], CFG)
