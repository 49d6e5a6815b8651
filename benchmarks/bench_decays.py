"""Decay fitting benchmark: N two-component decays, polase individually and globally, LifeFit.

Run::

    python benchmarks/bench_decays.py            # 1,000 decays
    python benchmarks/bench_decays.py -n 100     # reduced

Simulated data (fixed seed): N decays of 1,000 channels of 27.43 ps, a Gaussian IRF of
0.2 ns FWHM, lifetimes 0.8 and 3.0 ns shared by all decays, short-component amplitude
shares spread over 0.2-0.8, 5,000 counts at the peak, background 2 counts/channel,
Poisson noise (the reconvolution model of polase.fitting on the same grid).

Timed, in one run (wall clock, after a warm-up run on the same data that compiles or
loads the numba kernels, the parallel one included):

* polase `fit_decays`: every decay on its own, one batched call (Poisson MLE, multi-start);
* polase `fit_global_decays`: all decays at once with shared lifetimes, profile-likelihood
  intervals (and the Hessian intervals);
* LifeFit (`lifefit.tcspc.Lifetime(...).reconvolution_fit`, its own IRF reconvolution by
  scipy `curve_fit` with NNLS amplitudes), one decay at a time in a Python loop, on
  ``--lifefit-max`` decays (default all) and scaled to N.

Prints decays/s and ratios against the LifeFit loop, and the lifetime errors of each.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

TAU = (0.8, 3.0)
DT = 0.02743484
M = 1000


def simulate(n: int, seed: int = 0):
    from polase.fitting import reconvolution_model

    t = (np.arange(M) + 0.5) * DT
    irf = np.exp(-0.5 * ((t - 2.0) / (0.2 / 2.3548)) ** 2)
    irf_counts = np.rint(1e4 * irf / irf.max())
    model = reconvolution_model(irf, t, 2)
    rng = np.random.default_rng(seed)
    frac = rng.uniform(0.2, 0.8, n)
    p = np.zeros((n, 7))
    p[:, 0], p[:, 1] = frac, TAU[0]
    p[:, 2], p[:, 3] = 1 - frac, TAU[1]
    p[:, 4] = 0.0
    shape = model(t, p)
    p[:, [0, 2]] *= (5000.0 / shape.max(axis=1))[:, None]
    p[:, 5] = 2.0
    return t, rng.poisson(model(t, p)).astype(float), irf_counts


def lifefit_loop(t, y, irf):
    import contextlib
    import io

    from lifefit.tcspc import Lifetime

    ch = np.arange(1, t.size + 1, dtype=float)
    taus = []
    for row in y:
        lf = Lifetime(np.c_[ch, row], DT, np.c_[ch, irf])
        with contextlib.redirect_stdout(io.StringIO()):
            lf.reconvolution_fit([1.0, 3.0], verbose=False)
        taus.append(np.sort(lf.fit_param["tau"]))
    return np.asarray(taus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="number of decays (default 1000)")
    ap.add_argument("--lifefit-max", type=int, default=None, help="LifeFit on this many decays")
    args = ap.parse_args()

    from polase.analysis.decay import fit_decays
    from polase.analysis.global_decay import fit_global_decays

    n = args.n
    t, y, irf = simulate(n)
    # warm-up on the same data: compiles (or loads) the kernels outside the timings, the
    # parallel one too where the batch is large enough for it
    fit_decays(t, y, irf, 2)
    fit_global_decays(t, y, irf, 2, interval="hessian")

    t0 = time.perf_counter()
    single = fit_decays(t, y, irf, 2)
    t_single = time.perf_counter() - t0
    tau_single = np.array([s["tau_ns"] for s in single])

    t0 = time.perf_counter()
    glob = fit_global_decays(t, y, irf, 2, interval="profile")
    t_global = time.perf_counter() - t0
    t0 = time.perf_counter()
    glob_h = fit_global_decays(t, y, irf, 2, interval="hessian")
    t_global_h = time.perf_counter() - t0

    k = min(n, args.lifefit_max or n)
    t0 = time.perf_counter()
    tau_lf = lifefit_loop(t, y[:k], irf)
    t_lf = (time.perf_counter() - t0) * n / k

    def err(tau):
        return np.median(np.abs(np.asarray(tau) - TAU) / TAU, axis=0) * 100

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{n} decays x {M} channels, tau = {TAU} ns; load average {load:.2f}")
    print(f"LifeFit loop       : {t_lf:8.2f} s  ({n / t_lf:9.1f} decays/s)"
          + (f"  [timed on {k}, scaled]" if k < n else ""))  # fmt: skip
    print(
        f"polase individual  : {t_single:8.2f} s  ({n / t_single:9.1f} decays/s)  "
        f"{t_lf / t_single:7.1f}x LifeFit"
    )
    print(
        f"polase global (PL) : {t_global:8.2f} s  ({n / t_global:9.1f} decays/s)  "
        f"{t_lf / t_global:7.1f}x LifeFit, {glob['n_inner_fits']} batched amplitude fits"
    )
    print(
        f"polase global (H)  : {t_global_h:8.2f} s  ({n / t_global_h:9.1f} decays/s)  "
        f"{t_lf / t_global_h:7.1f}x LifeFit"
    )
    print("median |error| of tau1, tau2 [%]:")
    print(f"  LifeFit    {err(tau_lf)[0]:6.2f} {err(tau_lf)[1]:6.2f}")
    print(f"  individual {err(tau_single)[0]:6.2f} {err(tau_single)[1]:6.2f}")
    e = np.abs(np.asarray(glob["tau_ns"]) - TAU) / TAU * 100
    print(f"  global     {e[0]:6.3f} {e[1]:6.3f}  95 % PL interval {glob['tau_ci95_ns']} ns")
    print(f"             Hessian interval {glob_h['tau_ci95_ns']} ns")


if __name__ == "__main__":
    main()
