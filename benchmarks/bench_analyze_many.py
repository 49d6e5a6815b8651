"""Speed-up of analysing many sweeps on a local dask.distributed cluster: 2 workers against 1.

Run:  python benchmarks/bench_analyze_many.py [--sweeps N] [--repeats R] [--pixels W]

Writes N synthetic sweeps (20 fluences x linear/circular x R repeats x W pixels, different
noise each) as NetCDF files into a temporary folder, then analyses the folder with
`polase.analysis.analyze_many`: serially in this process, then on a local cluster of 1
worker process and of 2 worker processes (one thread each; numba limited to one thread per
task), all in this run. Each cluster is warmed up on one sweep first (imports, numba cache
load) outside the timing. Prints sweeps/s, the speed-up of 2 workers over 1, whether the
results equal the serial ones, and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr


def synthetic_sweep(seed: int, repeats: int, n_pixels: int) -> xr.Dataset:
    """PL (533 nm) + ASE (543 nm, above 12 mJ/cm2, 5 %/(mJ/cm2) stronger circular) + noise."""
    rng = np.random.default_rng(seed)
    f = np.linspace(4.0, 20.0, 20)
    wl = np.linspace(440.0, 640.0, n_pixels)

    def g(c, fwhm):
        return np.exp(-0.5 * ((wl - c) / (fwhm / 2.35482)) ** 2)

    pol = np.stack([np.ones_like(f), 1.0 + 0.05 * np.maximum(f - 12.0, 0.0)], axis=1)
    mean = 400.0 * (f[:, None, None] / 10.0) ** 1.7 * g(533.0, 23.0) + (
        300.0 * np.maximum(f - 12.0, 0.0)[:, None, None] ** 1.5 * pol[:, :, None] * g(543.0, 8.0)
    )
    expected = np.repeat(mean[:, :, None, :], repeats, axis=2)
    spec = expected + rng.normal(size=expected.shape) * np.sqrt(expected + 9.0)
    acq = np.arange(f.size * 2 * repeats).reshape(f.size, repeats, 2).transpose(0, 2, 1)
    return xr.Dataset(
        {
            "spectrum": (
                ("fluence", "polarization", "repeat", "wavelength"),
                spec,
                {"units": "counts"},
            ),
            "saturated": (
                ("fluence", "polarization", "repeat", "wavelength"),
                np.zeros(spec.shape, dtype=bool),
                {"units": "1"},
            ),
        },
        coords={
            "fluence": ("fluence", f, {"units": "mJ/cm**2"}),
            "polarization": ("polarization", np.array(["linear", "circular"])),
            "qwp_angle": ("polarization", np.array([0.0, 45.0]), {"units": "deg"}),
            "docp": ("polarization", np.array([0.0, 1.0]), {"units": "1"}),
            "repeat": ("repeat", np.arange(repeats)),
            "acquisition_index": (("fluence", "polarization", "repeat"), acq),
            "wavelength": ("wavelength", wl, {"units": "nm"}),
        },
        attrs={"source": "simulation"},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweeps", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--pixels", type=int, default=1024)
    args = ap.parse_args()
    import numba

    from polase.analysis import AnalysisConfig, analyze_many
    from polase.io import save_dataset
    from polase.parallel import cluster

    cfg = AnalysisConfig()
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = []
        for k in range(args.sweeps):
            paths.append(root / f"sweep{k:03d}.nc")
            save_dataset(synthetic_sweep(k, args.repeats, args.pixels), paths[-1])
        n = len(paths)
        print(
            f"{n} sweeps of 20 fluences x 2 polarizations x {args.repeats} repeats x "
            f"{args.pixels} pixels, {cfg.n_bootstrap} bootstrap samples each"
        )
        numba.set_num_threads(1)
        analyze_many(paths[:1], cfg)  # compile / load the kernels (not timed)
        t0 = time.perf_counter()
        serial = [r.to_dict() for r in analyze_many(paths, cfg)]
        dt = time.perf_counter() - t0
        print(f"serial, 1 thread      {n / dt:>7.2f} sweeps/s  ({dt:.2f} s)")
        rates = {}
        for workers in (1, 2):
            with cluster(workers) as client:
                analyze_many(paths[:workers], cfg, client=client)  # warm-up (not timed)
                t0 = time.perf_counter()
                res = analyze_many(paths, cfg, client=client)
                dt = time.perf_counter() - t0
            same = [r.to_dict() for r in res] == serial
            rates[workers] = n / dt
            print(
                f"dask, {workers} worker(s)     {n / dt:>7.2f} sweeps/s  ({dt:.2f} s; "
                f"results identical to serial: {same})"
            )
    print(f"speed-up 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x")
    print("load average now: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
