"""Speed-up of curve_fit_batch on a local dask.distributed cluster: 2 workers against 1.

Run:  python benchmarks/bench_distributed.py [--fits N]

The same Gaussian+offset fits (64 points) run in one process on one numba thread, then on a
local cluster of 1 worker process and of 2 worker processes (one thread each; numba limited
to one thread per task), all in this run. Each cluster is warmed up first (import, numba cache
load) outside the timing. Prints fits/s, the speed-up of 2 workers over 1, that the results
equal the serial ones, and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fits", type=int, default=200_000)
    args = ap.parse_args()
    import numba

    from polase.fitting import curve_fit_batch, get_model, guess
    from polase.parallel import cluster

    rng = np.random.default_rng(5)
    n = args.fits
    x = np.linspace(-4, 4, 64)
    truth = np.column_stack(
        [
            rng.uniform(5, 10, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0.6, 1.4, n),
            rng.uniform(0, 2, n),
        ]
    )
    y = get_model("gaussian_offset")(x, truth) + rng.normal(0, 0.2, (n, x.size))
    p0 = guess("gaussian_offset", x, y)
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    curve_fit_batch("gaussian_offset", x, y[:100], p0[:100])
    numba.set_num_threads(1)
    t0 = time.perf_counter()
    serial = curve_fit_batch("gaussian_offset", x, y, p0)
    t_serial = time.perf_counter() - t0
    print(f"serial, 1 thread          {n / t_serial:>10,.0f} fits/s  ({t_serial:.2f} s)")
    rates = {}
    for workers in (1, 2):
        with cluster(workers) as client:
            # warm-up: every worker imports polase and loads the kernels (not timed)
            curve_fit_batch("gaussian_offset", x, y[:400], p0[:400], client=client)
            t0 = time.perf_counter()
            res = curve_fit_batch("gaussian_offset", x, y, p0, client=client)
            dt = time.perf_counter() - t0
        same = np.array_equal(res.params, serial.params) and np.array_equal(
            res.status, serial.status
        )
        rates[workers] = n / dt
        print(
            f"dask, {workers} worker(s)         {n / dt:>10,.0f} fits/s  ({dt:.2f} s; "
            f"results identical to serial: {same})"
        )
    print(f"speed-up 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    print("load average now: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
