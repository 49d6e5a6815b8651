"""Benchmark: the default sweep with the fast (numba RK23) and reference (solve_ivp) solvers.

Prints their agreement on the detected spectra and decays and the speed ratio (targets:
within 1 % on spectra, fast >= 30x faster), and the wall time of `polase.simulate()` with
defaults (target: under 5 s on 2 cores). Ratios are measured in the same process.

    .venv/bin/python benchmarks/bench_simulate.py [--quick | --pair]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import polase
from polase.config import load_config
from polase.experiment import forward


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every 4th fluence only")
    ap.add_argument(
        "--pair",
        action="store_true",
        help="8.2 and 17 mJ/cm2 only, below and above threshold (a smoke run)",
    )
    if os.environ.get("POLASE_DOCS_FAST") == "1":  # the docs test: smallest sizes
        ap.set_defaults(pair=True)
    args = ap.parse_args()
    cfg = load_config()
    fl = np.asarray(cfg["sweep"]["fluence"])
    if args.pair:
        fl = fl[np.isin(fl, (8.2, 17.0))]
    elif args.quick:
        fl = fl[::4]
    ang = cfg["sweep"]["qwp_angle"]
    forward(cfg, fl[:1], ang)  # compile / load the numba cache outside the timing

    t0 = time.perf_counter()
    fast = forward(cfg, fl, ang, solver="fast")
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = forward(cfg, fl, ang, solver="reference")
    t_ref = time.perf_counter() - t0

    e_f, e_r = fast["emission"], ref["emission"]
    mask = e_r > 0.01 * e_r.max(axis=-1, keepdims=True)
    rel = np.abs(e_f - e_r)[mask] / e_r[mask]
    tot = np.abs(e_f.sum(-1) / e_r.sum(-1) - 1)
    dec = np.abs(fast["emission_t"].sum(-1) / ref["emission_t"].sum(-1) - 1)
    print(f"runs: {fl.size} fluences x {len(ang)} polarizations")
    print(f"fast solver      : {t_fast:8.3f} s  ({fast['n_steps'].mean():.0f} steps/run)")
    print(f"reference solver : {t_ref:8.3f} s  ({ref['n_steps'].mean():.0f} steps/run)")
    print(f"speed ratio      : {t_ref / t_fast:8.1f} x   (target >= 30)")
    print(
        f"spectra, pixels > 1 % of peak: max rel. diff {rel.max():.2e}, median {np.median(rel):.2e}"
    )
    print(f"spectrally integrated emission: max rel. diff {tot.max():.2e}   (target < 1e-2)")
    print(f"decay integrals                : max rel. diff {dec.max():.2e}")

    t0 = time.perf_counter()
    polase.simulate()
    print(
        f"polase.simulate() defaults: {time.perf_counter() - t0:.2f} s   (target < 5 s on 2 cores)"
    )


if __name__ == "__main__":
    main()
