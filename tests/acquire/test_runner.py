"""The runner: raw files the analysis reads, provenance, crash safety and resume."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from polase.acquire import DeviceTimeoutError, ResumeError, run_simulated
from polase.acquire.manifest import ACQUISITION_COLUMNS, read_acquisition_manifest
from polase.acquire.simulated import SimFaults
from polase.errors import OutputExistsError
from polase.io import load_measurement, read_manifest, read_oceanoptics


@pytest.fixture(scope="module")
def reference(tmp_path_factory, request):
    from polase.acquire import AcquisitionProtocol

    from .conftest import SMALL

    protocol = AcquisitionProtocol(**SMALL)
    folder = tmp_path_factory.mktemp("ref") / "run"
    run_simulated(protocol, folder, seed=11)
    return protocol, folder


def _data(folder):
    """Manifest text and every data file's numbers (headers hold the date)."""
    out = {}
    for r in read_acquisition_manifest(folder / "manifest.csv"):
        lines = (folder / r["file"]).read_text().splitlines()
        start = next(i for i, s in enumerate(lines) if s.startswith((">>>>>", "Chan")))
        out[r["file"]] = lines[start:]
    return (folder / "manifest.csv").read_text(), out


def test_the_run_folder_is_a_measurement_the_io_layer_reads(reference):
    protocol, folder = reference
    rows = read_manifest(folder / "manifest.csv")
    kinds = [r["kind"] for r in rows]
    assert kinds.count("spectrum") == 12 and kinds.count("irf") == 1 and kinds.count("decay") == 2
    assert kinds[0] == "dark"
    ds = load_measurement(folder / "manifest.csv")
    assert ds.sizes["fluence"] == 3 and ds.sizes["polarization"] == 2 and ds.sizes["repeat"] == 2
    assert ds.attrs.get("dark_subtracted") != 0
    assert "decay" in ds and "irf" in ds
    # every integration time used by a spectrum has a dark of its own
    m = read_acquisition_manifest(folder / "manifest.csv")
    t_spec = {r["integration_time_s"] for r in m if r["kind"] == "spectrum"}
    t_dark = {r["integration_time_s"] for r in m if r["kind"] == "dark"}
    assert t_spec <= t_dark and len(t_spec) >= 2  # auto-ranging did change the time
    # darks every `dark_every` spectra at most
    since = 0
    for r in m:
        since = 0 if r["kind"] == "dark" else since + (r["kind"] == "spectrum")
        assert since <= protocol.dark_every


def test_measured_pulse_energy_and_fluence_per_spectrum(reference):
    _, folder = reference
    from polase.optics.pump import fluence_from_pulse_energy

    for r in read_acquisition_manifest(folder / "manifest.csv"):
        if r["kind"] != "spectrum":
            continue
        before, after = float(r["power_before_mW"]), float(r["power_after_mW"])
        e_uj = float(r["pulse_energy_uJ"])
        assert e_uj == pytest.approx(0.5 * (before + after) * 1e-3 / 25000.0 * 1e6)
        f = float(r["fluence_measured_mJ_cm2"])
        assert f == pytest.approx(float(fluence_from_pulse_energy(e_uj, 100.0)))
        # the attenuator is re-adjusted when the fluence is off by more than 2 %;
        # the laser's 0.5 % jitter and the meter's noise remain
        assert f == pytest.approx(float(r["fluence_mJ_cm2"]), rel=0.035)
        assert (
            abs(float(r["qwp_angle_deg"]) - (45.0 if r["polarization"] == "circular" else 0.0))
            < 0.05
        )


def test_provenance_and_log(reference):
    protocol, folder = reference
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["seed"] == 11 and prov["protocol_fingerprint"] == protocol.fingerprint()
    assert prov["devices"]["spectrometer"]["serial"] == "SIM-FLMS00001"
    assert prov["simulation"]["config"]["material"]["name"]
    assert prov["polase_version"]
    events = [json.loads(s)["event"] for s in (folder / "log.jsonl").read_text().splitlines()]
    assert events == ["start", "complete"]
    meta = read_oceanoptics(folder / "spectra" / "17p00mJ_circular_01.txt").metadata
    row = json.loads(meta["polase row"])
    assert row["polarization"] == "circular" and row["repeat"] == 1


def test_nothing_existing_is_overwritten(tmp_path, small_protocol):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError):
        run_simulated(small_protocol, folder, seed=11)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    with pytest.raises(ResumeError, match="nothing to resume"):
        run_simulated(small_protocol, tmp_path / "other", seed=11, resume=True)


def test_resume_refuses_another_protocol_or_seed(reference, tmp_path):
    protocol, folder = reference
    copy = tmp_path / "run"
    shutil.copytree(folder, copy)
    with pytest.raises(ResumeError, match="seed"):
        run_simulated(protocol, copy, seed=12, resume=True)
    with pytest.raises(ResumeError, match="protocol differs"):
        run_simulated(protocol.replace(repeats=3), copy, seed=11, resume=True)


def test_a_device_error_stops_the_run_and_resume_completes_it_identically(reference, tmp_path):
    protocol, folder = reference
    run = tmp_path / "run"
    with pytest.raises(DeviceTimeoutError):
        run_simulated(protocol, run, seed=11, faults=SimFaults(spectrometer_timeout=frozenset({7})))
    rows = read_acquisition_manifest(run / "manifest.csv")
    assert len(rows) == 7  # steps 0..6 done, step 7 not recorded
    events = [json.loads(s) for s in (run / "log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "error" and "DeviceTimeoutError" in events[-1]["error"]
    run_simulated(protocol, run, seed=11, resume=True)
    assert _data(run) == _data(folder)


def test_a_file_written_before_a_crash_is_adopted_not_measured_again(reference, tmp_path):
    protocol, folder = reference
    run = tmp_path / "run"
    shutil.copytree(folder, run)
    text = (run / "manifest.csv").read_text()
    lines = text.splitlines(keepends=True)
    # the last two rows never reached the manifest, and the third-last is half written
    (run / "manifest.csv").write_text("".join(lines[:-3]) + lines[-3][:17])
    before = (run / lines[-1].split(",")[0]).read_bytes()
    run_simulated(protocol, run, seed=11, resume=True)
    assert (run / "manifest.csv").read_text() == text
    assert (run / lines[-1].split(",")[0]).read_bytes() == before  # adopted as it was


def test_a_foreign_file_in_the_way_is_refused_not_overwritten(reference, tmp_path):
    protocol, folder = reference
    run = tmp_path / "run"
    shutil.copytree(folder, run)
    lines = (run / "manifest.csv").read_text().splitlines(keepends=True)
    (run / "manifest.csv").write_text("".join(lines[:-1]))
    victim = run / lines[-1].split(",")[0]
    victim.write_text("someone else's file\n")
    with pytest.raises(ResumeError, match="not the file of step"):
        run_simulated(protocol, run, seed=11, resume=True)
    assert victim.read_text() == "someone else's file\n"


def test_manifest_columns_start_with_the_io_columns():
    from polase.io.manifest import MANIFEST_COLUMNS

    assert ACQUISITION_COLUMNS[: len(MANIFEST_COLUMNS)] == MANIFEST_COLUMNS


def test_same_seed_same_data_other_seed_other_data(reference, tmp_path):
    protocol, folder = reference
    again = tmp_path / "again"
    run_simulated(protocol, again, seed=11)
    assert _data(again) == _data(folder)
    other = tmp_path / "other"
    run_simulated(protocol, other, seed=12)
    a = np.loadtxt((folder / "spectra" / "08p00mJ_linear_00.txt").read_text().splitlines()[-2048:])
    b = np.loadtxt((other / "spectra" / "08p00mJ_linear_00.txt").read_text().splitlines()[-2048:])
    assert not np.array_equal(a, b)
