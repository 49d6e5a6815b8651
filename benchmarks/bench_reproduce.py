"""Benchmark: `polase reproduce` end to end (target: under 60 s on a 2-core machine).

Runs the whole reproduction twice into a temporary folder (the first run also pays for
numba's one-off compilation unless the cache is warm) and prints per-stage times and the
ratio of the total to a baseline measured in the same process: one bare `polase.simulate`
call (the digital twin alone). Nothing is asserted; see docs/report.md.

    python benchmarks/bench_reproduce.py [--repeats 5] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

TARGET_S = 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--runs", type=int, default=2)
    if os.environ.get("POLASE_DOCS_FAST") == "1":  # the docs test: smallest sizes
        ap.set_defaults(repeats=2, runs=1)
    args = ap.parse_args()

    import polase
    from polase.paper.photonics2022.reproduce import DEFAULT_SEED, reproduce

    print(f"cpus available: {len(os.sched_getaffinity(0))}")
    t = time.perf_counter()
    polase.simulate(seed=DEFAULT_SEED, repeats=args.repeats)
    baseline = time.perf_counter() - t
    print(f"baseline (one polase.simulate): {baseline:6.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            out = Path(tmp) / f"run{run}"
            t = time.perf_counter()
            summary = reproduce(out, seed=DEFAULT_SEED, repeats=args.repeats)
            total = time.perf_counter() - t
            stages = ", ".join(
                f"{k} {v:.2f}" for k, v in summary["timings_s"].items() if k != "total"
            )
            n = sum(1 for r in summary["rows"] if r["pass"] is True)
            m = sum(1 for r in summary["rows"] if r["kind"] == "measured")
            print(
                f"run {run + 1}: total {total:6.2f} s  ({total / TARGET_S:.2f} x the 60 s target, "
                f"{total / baseline:.1f} x baseline)  rows passing {n}/{m}\n    stages [s]: {stages}"
            )


if __name__ == "__main__":
    main()
