"""polase.acquire sits above io/experiment and below analysis/report/cli."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MODULES = [
    "polase.acquire",
    "polase.acquire.bench",
    "polase.acquire.composite",
    "polase.acquire.devices",
    "polase.acquire.kinesis",
    "polase.acquire.manifest",
    "polase.acquire.protocol",
    "polase.acquire.runner",
    "polase.acquire.seabreeze",
    "polase.acquire.simulated",
    "polase.acquire.visa",
]


def test_acquire_does_not_import_higher_layers():
    code = (
        "import importlib, sys\n"
        f"for m in {MODULES!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['polase', 'analysis'], ['polase', 'report'], ['polase', 'cli'], ['polase', 'inverse']))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
