"""Anisotropy benchmark: polase joint fit, polase division, LifeFit, on the same data.

Run::

    python benchmarks/bench_anisotropy.py            # 20 simulated sets + the real set
    python benchmarks/bench_anisotropy.py -n 5       # reduced
    python benchmarks/bench_anisotropy.py --model hindered

Three methods, each given the same four histograms (VV, VH, HV, HH) of a set:

* polase `fit_anisotropy`: joint Poisson fit of VV and VH with the IRF (reconvolution;
  without an IRF a tail fit), G from the background-free HV / HH areas;
* polase `fit_anisotropy_division`: r(t) = (VV - G VH) / (VV + 2 G VH) after background
  subtraction, weighted least squares of the r(t) model from the VV peak on (no IRF), same G;
* LifeFit (`lifefit.tcspc.Anisotropy(...).rotation_fit`): G = sum HV / sum HH, r(t) by
  division of the raw counts (rounded to 3 decimals), unweighted least squares of the
  r(t) model from the maximum of the r(t) of its own reconvolution fits of VV and VH.

1. Simulated sets with known truth (polase's TCSPC twin, `measure_anisotropy_decays`):
   4096 channels of 27.43 ps, the measured atto550 IRF of ../shared/external/tcspc (a
   Gaussian of 0.27 ns FWHM where it is absent), tau = 4 ns, r0 = 0.35, tau_r = 1.5 ns
   (r_inf = 0.05 with ``--model hindered``), G = 0.6, 20,000 counts at the VV peak, 5
   background counts per channel, Poisson noise, one seed per set. Prints the bias and RMS
   error of G, r0, tau_r (r_inf) of each method, the time per set (wall clock, one set at
   a time, after a warm-up fit that compiles the numba kernels) and the ratios against
   LifeFit measured in the same run.
2. The real set ../shared/external/tcspc/anisotropy (Horiba DAS6, no IRF; polase with two
   population exponentials as in docs/polarization.md): G, r0, tau_r (and r_inf) of the
   one-rotation and hindered models from all three methods side by side.

LifeFit is optional (``pip install polase[bench]``); without it the polase columns are
printed alone. ``POLASE_DOCS_FAST=1`` (the docs test) defaults to 2 sets.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from pathlib import Path

import numpy as np

EXTERNAL = Path(
    os.environ.get("POLASE_EXTERNAL", Path(__file__).resolve().parents[2] / "shared" / "external")
)
TAU = 4.0
R0, TAU_R, R_INF, G = 0.35, 1.5, 0.05, 0.6
LF_MODEL = {"one": "one_rotation", "hindered": "hindered_rotation"}
LF_P0 = {"one": [0.4, 1.0], "hindered": [0.4, 1.0, 0.05]}


def have_lifefit() -> bool:
    try:
        import lifefit.tcspc  # noqa: F401
    except ImportError:
        return False
    return True


def measured_irf():
    """The atto550 IRF less its dark counts (zero outside the response), or None."""
    from polase.instruments.tcspc import irf_from_recording
    from polase.io import read_das6

    path = EXTERNAL / "tcspc" / "atto550_dna_irf.txt"
    if not path.exists():
        return None
    return irf_from_recording(read_das6(path).counts)


def simulate(n: int, model: str):
    """N seeded sets: time (M,), counts {name: (N, M)}, IRF counts (M,), IRF name."""
    from polase.instruments.tcspc import TCSPCConfig, measure_anisotropy_decays

    irf = measured_irf()
    common = {"peak_counts": 2e4, "background_counts_per_channel": 5.0}
    if irf is None:
        cfg, irf_name = TCSPCConfig(**common), "Gaussian 0.27 ns FWHM"
    else:
        cfg, irf_name = TCSPCConfig(irf=tuple(irf), **common), "measured atto550"
    tm = np.linspace(0.0, 150.0, 6001)
    r_inf = R_INF if model == "hindered" else 0.0
    r = (R0 - r_inf) * np.exp(-tm / TAU_R) + r_inf
    sets = {k: [] for k in ("VV", "VH", "HV", "HH")}
    for seed in range(n):
        d = measure_anisotropy_decays(tm, np.exp(-tm / TAU), r, cfg, g_factor=G, rng=seed)
        for k in sets:
            sets[k].append(d["counts"][k])
    return d["time"], {k: np.array(v) for k, v in sets.items()}, d["irf"], irf_name


def polase_joint(t, c, irf, model, n_components=1):
    from polase.analysis.polarization import fit_anisotropy

    s = fit_anisotropy(
        t,
        c["VV"],
        c["VH"],
        irf,
        hv=c["HV"],
        hh=c["HH"],
        model=model,
        n_components=n_components,
    ).summary
    return s["g_factor"], s["r0"], s["tau_r_ns"][0], s["r_inf"]


def polase_division(t, c, model):
    from polase.analysis.polarization import fit_anisotropy_division, g_factor_from_hv_hh

    g, _ = g_factor_from_hv_hh(c["HV"], c["HH"])
    s = fit_anisotropy_division(t, c["VV"], c["VH"], g, model=model)
    return g, s["r0"], s["tau_r_ns"][0], s["r_inf"]


def lifefit_fit(dt, c, irf, model):
    """LifeFit's Anisotropy on the four histograms; irf None: its Gaussian IRF."""
    from lifefit.tcspc import Anisotropy, Lifetime

    ch = np.arange(1, c["VV"].size + 1, dtype=float)
    irf_arr = None if irf is None else np.c_[ch, irf]
    lt = {k: Lifetime(np.c_[ch, c[k]], dt, irf_arr) for k in ("VV", "VH", "HV", "HH")}
    an = Anisotropy(lt["VV"], lt["VH"], lt["HV"], lt["HH"])
    with contextlib.redirect_stdout(io.StringIO()):
        an.rotation_fit(p0=LF_P0[model], model=LF_MODEL[model], verbose=False)
    p = an.fit_param
    return an.G, p[0], p[1], p[2] if model == "hindered" else 0.0


def run_sets(fit, sets, n):
    """(N, 4) results of fit(k) per set (NaN where it raised) and seconds per set."""
    out = np.full((n, 4), np.nan)
    errors = []
    t0 = time.perf_counter()
    for k in range(n):
        try:
            out[k] = fit({name: v[k] for name, v in sets.items()})
        except Exception as e:  # a failed fit is counted (and its first error shown)
            errors.append(f"set {k}: {type(e).__name__}: {e}")
    return out, (time.perf_counter() - t0) / n, errors


def simulated(n: int, model: str, lifefit: bool) -> None:
    t, sets, irf, irf_name = simulate(n, model)
    dt = float(t[1] - t[0])
    methods = {
        "polase joint": lambda c: polase_joint(t, c, irf, model),
        "polase division": lambda c: polase_division(t, c, model),
    }
    if lifefit:
        methods["LifeFit"] = lambda c: lifefit_fit(dt, c, irf, model)
    # warm-up on set 0: compiles (or loads) the numba kernels outside the timings
    polase_joint(t, {k: v[0] for k, v in sets.items()}, irf, model)
    res = {name: run_sets(f, sets, n) for name, f in methods.items()}

    truth = {"G": G, "r0": R0, "tau_r": TAU_R}
    cols = {"G": 0, "r0": 1, "tau_r": 2}
    if model == "hindered":
        truth["r_inf"], cols["r_inf"] = R_INF, 3
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"1. simulated: {n} sets x {t.size} channels of {dt * 1e3:.2f} ps, IRF {irf_name}, "
        f"model {model!r}; truth G {G}, r0 {R0}, tau_r {TAU_R} ns"
        + (f", r_inf {R_INF}" if model == "hindered" else "")
        + f", tau {TAU} ns; load average {load:.2f}"
    )
    print(f"{'':16s}" + "".join(f"{'bias ' + p:>12s}{'RMS ' + p:>12s}" for p in truth)
          + f"{'s/set':>9s}{'failed':>8s}")  # fmt: skip
    rms = {}
    for name, (out, sec, _) in res.items():
        ok = np.all(np.isfinite(out[:, list(cols.values())]), axis=1)
        row = f"{name:16s}"
        for p, v in truth.items():
            e = out[ok, cols[p]] - v
            rms[name, p] = float(np.sqrt(np.mean(e**2))) if ok.any() else np.nan
            row += f"{np.mean(e) if ok.any() else np.nan:12.4f}{rms[name, p]:12.4f}"
        print(row + f"{sec:9.3f}{int((~ok).sum()):8d}")
    for name, (_, _, errors) in res.items():
        if errors:
            print(f"  {name} failed on {len(errors)} sets, first: {errors[0]}")
    if not lifefit:
        return
    print("ratios against LifeFit (RMS error / LifeFit's, time / LifeFit's; < 1: better/faster)")
    for name in ("polase joint", "polase division"):
        row = f"{name:16s}"
        for p in truth:
            row += f"  RMS {p} {rms[name, p] / rms['LifeFit', p]:6.2f}"
        print(row + f"  time {res[name][1] / res['LifeFit'][1]:6.2f}")


def real(lifefit: bool) -> None:
    from polase.io import read_das6

    folder = EXTERNAL / "tcspc" / "anisotropy"
    if not folder.is_dir():
        print(f"2. real set: {folder} not found, skipped")
        return
    f = {k: read_das6(folder / f"{k}.txt") for k in ("VV", "VH", "HV", "HH")}
    t = f["VV"].time_ns
    dt = f["VV"].channel_width_ns
    c = {k: v.counts for k, v in f.items()}
    print(
        f"2. real set {folder.name}/ ({t.size} channels of {dt * 1e3:.2f} ps, no IRF: polase "
        "joint is a tail fit with 2 population exponentials, LifeFit uses its Gaussian IRF)"
    )
    print(f"{'model':10s}{'method':17s}{'G':>8s}{'r0':>8s}{'tau_r ns':>10s}{'r_inf':>8s}"
          f"{'s':>8s}")  # fmt: skip
    for model in ("one", "hindered"):
        methods = {
            "polase joint": lambda m=model: polase_joint(t, c, None, m, n_components=2),
            "polase division": lambda m=model: polase_division(t, c, m),
        }
        if lifefit:
            methods["LifeFit"] = lambda m=model: lifefit_fit(dt, c, None, m)
        for name, fit in methods.items():
            t0 = time.perf_counter()
            g, r0, th, ri = fit()
            sec = time.perf_counter() - t0
            ri_s = f"{ri:8.3f}" if model == "hindered" else f"{'-':>8s}"
            print(f"{model:10s}{name:17s}{g:8.4f}{r0:8.3f}{th:10.3f}{ri_s}{sec:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=20, help="simulated sets (seeds), default 20")
    ap.add_argument("--model", choices=("one", "hindered"), default="one",
                    help="r(t) of the simulated sets and of the fits (default one)")  # fmt: skip
    ap.add_argument("--no-real", action="store_true", help="skip the real set")
    if os.environ.get("POLASE_DOCS_FAST") == "1":  # the docs test: smallest sizes
        ap.set_defaults(n=2)
    args = ap.parse_args()
    lifefit = have_lifefit()
    if not lifefit:
        print("LifeFit is not installed (pip install polase[bench]): polase columns only")
    simulated(args.n, args.model, lifefit)
    if not args.no_real:
        print()
        real(lifefit)


if __name__ == "__main__":
    main()
