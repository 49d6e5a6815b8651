"""Power loss: kill `polase acquire` (SIGKILL) at random points 20 times, resume each time.

The final manifest must equal that of an uninterrupted run with the same seed (same rows,
no duplicates), and so must every data file's numbers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from polase.acquire.manifest import read_acquisition_manifest

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)"),
    pytest.mark.slow,  # 21 processes, each importing polase (~1 min on two busy cores)
]

PROTOCOL = """
[sweep]
fluence_mJ_cm2 = [8.0, 12.0, 15.0, 17.0]
repeats = 3
order = "randomized_blocks"
fluence_order = "random"
[spectrometer]
integration_time_s = 0.08
min_integration_time_s = 0.000625
[darks]
every = 5
[power]
averages = 2
[tcspc]
fluence_mJ_cm2 = [17.0]
qwp_angle_deg = [0.0, 45.0]
detection_wavelength_nm = [543.0]
acquisition_time_s = 1.0
irf_acquisition_time_s = 1.0
[simulation]
time_scale = 0.002
"""
SEED = 29


def _cmd(protocol: Path, folder: Path, resume: bool) -> list[str]:
    # a shell starts background jobs with SIGINT ignored, and Python then keeps it ignored:
    # restore the handler a terminal's Ctrl-C meets, whatever launched the test run
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "from polase.cli import main; sys.exit(main())"
    )
    cmd = [sys.executable, "-c", code, "acquire", str(protocol), "-o", str(folder)]
    cmd += ["--simulated", "--seed", str(SEED), "--quiet"]
    return cmd + (["--resume"] if resume else [])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _rows(folder: Path) -> int:
    try:
        return (folder / "manifest.csv").read_bytes().count(b"\n") - 1
    except FileNotFoundError:
        return -1


def _numbers(folder: Path) -> dict[str, list[str]]:
    out = {}
    for r in read_acquisition_manifest(folder / "manifest.csv"):
        lines = (folder / r["file"]).read_text().splitlines()
        start = next(i for i, s in enumerate(lines) if s.startswith((">>>>>", "Chan")))
        out[r["file"]] = lines[start:]
    return out


def test_killed_twenty_times_and_resumed_equals_an_uninterrupted_run(tmp_path):
    protocol = tmp_path / "p.toml"
    protocol.write_text(PROTOCOL)
    ref = tmp_path / "ref"
    subprocess.run(_cmd(protocol, ref, False), env=_env(), check=True, timeout=300)
    n_steps = _rows(ref)
    assert n_steps > 30

    rng = np.random.default_rng(2026)
    targets = np.sort(rng.choice(np.arange(1, n_steps - 1), size=20, replace=False))
    run = tmp_path / "run"
    kills = 0
    for k, target in enumerate(targets):
        proc = subprocess.Popen(
            _cmd(protocol, run, resume=k > 0),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        t_end = time.monotonic() + 120
        while _rows(run) < target and proc.poll() is None and time.monotonic() < t_end:
            time.sleep(0.001)
        time.sleep(float(rng.uniform(0.0, 0.02)))  # somewhere inside the next step
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert proc.returncode in (0, -signal.SIGKILL), err
    assert kills == 20
    assert _rows(run) < n_steps  # the last kill left work to resume
    subprocess.run(_cmd(protocol, run, True), env=_env(), check=True, timeout=300)

    got = read_acquisition_manifest(run / "manifest.csv")
    want = read_acquisition_manifest(ref / "manifest.csv")
    assert len({r["file"] for r in got}) == len(got)  # no duplicates
    assert got == want
    assert (run / "manifest.csv").read_bytes() == (ref / "manifest.csv").read_bytes()
    assert _numbers(run) == _numbers(ref)
    # a process killed while still importing never logs its resume; most got further
    resumes = [s for s in (run / "log.jsonl").read_text().splitlines() if '"resume"' in s]
    assert 10 <= len(resumes) <= 20


def test_ctrl_c_stops_cleanly_and_resume_completes(tmp_path):
    protocol = tmp_path / "p.toml"
    # slow enough that the run is still going when the interrupt comes, on a quiet machine too
    protocol.write_text(PROTOCOL.replace("time_scale = 0.002", "time_scale = 0.05"))
    run = tmp_path / "run"
    proc = subprocess.Popen(
        _cmd(protocol, run, False), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    t_end = time.monotonic() + 120
    while _rows(run) < 5 and proc.poll() is None and time.monotonic() < t_end:
        time.sleep(0.005)
    assert proc.poll() is None, "the run ended before the interrupt: slow the protocol down"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "--resume" in err.decode()
    events = (run / "log.jsonl").read_text().splitlines()
    assert '"interrupted"' in events[-1]
    n = _rows(run)
    subprocess.run(_cmd(protocol, run, True), env=_env(), check=True, timeout=300)
    rows = read_acquisition_manifest(run / "manifest.csv")
    assert len(rows) > n and [int(r["step"]) for r in rows] == list(range(len(rows)))
    assert '"complete"' in (run / "log.jsonl").read_text().splitlines()[-1]
