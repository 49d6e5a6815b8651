"""Benchmark of `polase mechanisms`: a full mechanism comparison on the default sweep.

Prints the wall time of the comparison (target: < 2 min on a 2-core machine), the number of
forward simulations and their rate, and the ratio to a baseline measured in the same run
(one forward simulation of the whole sweep with the configuration's full numerics).

``--acceptance N`` also runs the acceptance study of issue 6 on the twin: N seeds per
mechanism (noisy, 5 repeats, fluence sweep and plate-angle scan), reporting how often the
generating mechanism ranks first with Delta_BIC > 10 and how often the 95 % intervals cover
the truth.

Usage::

    .venv/bin/python benchmarks/bench_mechanisms.py [--acceptance 10] [--candidates all|singles]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import polase
from polase.experiment import forward
from polase.inverse import (
    BIC_DECISIVE,
    DEFAULT_CANDIDATES,
    TwinModel,
    compare_mechanisms,
    recommend_measurement,
    reduce_measurement,
)
from polase.inverse.models import MECHANISMS, _get_dotted, twin_numerics
from polase.inverse.observables import DEFAULT_BANDS


def default_sweep(model_error: float) -> None:
    from polase.materials import calibrated_model

    model_of = calibrated_model()
    print(
        "== full comparison on the default sweep (polase.simulate() defaults:"
        f" {model_of['gain_model']} gain, {model_of['mechanism']}) =="
    )
    t0 = time.perf_counter()
    # the docs test (POLASE_DOCS_FAST=1): a 4-fluence sweep and two candidates
    fast = os.environ.get("POLASE_DOCS_FAST") == "1"
    small = {"fluence": [13.0, 15.0, 17.0, 19.0], "repeats": 2} if fast else {}
    ds = polase.simulate(decays=False, **small)
    t_sim = time.perf_counter() - t0
    cfg = json.loads(ds.attrs["config"])
    fl, ang = ds["fluence"].values, ds["qwp_angle"].values
    print(
        f"data: {fl.size} fluences x {ang.size} polarizations x {ds.sizes['repeat']} repeats ({t_sim:.1f} s to simulate)"
    )
    t0 = time.perf_counter()
    forward(cfg, fl, ang)
    t_base = time.perf_counter() - t0
    print(f"baseline: one full-numerics forward simulation of the sweep: {t_base:.2f} s")
    obs = reduce_measurement(ds)
    if model_error:
        obs = obs.with_model_error(model_error)
    model = TwinModel(cfg, windows=obs.windows)
    t0 = time.perf_counter()
    few = {"candidates": ["orbit_orbit", "spin_channel"], "max_nfev": 10} if fast else {}
    c = compare_mechanisms(model, obs, **few)
    rec = recommend_measurement(model, obs, c)
    total = time.perf_counter() - t0
    rate = c.n_forward / max(c.forward_seconds, 1e-9)
    print(
        f"comparison of {len(c.results)} candidates + recommendation: {total:.1f} s"
        f" ({'<' if total < 120 else '>='} 2 min target; {total / t_base:.1f} x the baseline)"
    )
    print(
        f"forward simulations: {c.n_forward} in {c.forward_seconds:.1f} s = {rate:.2f} per second"
        f" ({rate * fl.size * ang.size:.0f} pump-pulse runs per second;"
        f" {model.n_reused} unpolarized runs reused across spin-parameter steps)"
    )
    for r in c.results:
        print(
            f"  {r.mechanism:28s} Delta_BIC {c.delta_bic(r):10.1f}  chi2/dof {r.reduced_chi2:7.2f}  nfev {r.nfev}"
        )
    print(c.message)
    print(
        f"recommendation: {rec['fluence_mJ_cm2']:.2f} mJ/cm2, {rec['qwp_angle_deg']:g} deg,"
        f" {rec['repeats']} repeats, {rec['expected_separation_sigma']:.1f} sigma"
    )


#: Mechanism strengths of the acceptance data (fixed, independent of the twin's defaults;
#: kappa and n_c act in the cross-section model, the exchange share in band filling).
TRUTH = {
    "mechanism.orbit_orbit.kappa": 0.3,
    "mechanism.orbit_orbit.coherence_density_cm3": 5e17,
    "mechanism.orbit_orbit.exchange_fraction": 0.3,
    "material.orientation_efficiency": 0.5,
    "mechanism.dichroism.delta": 0.05,
}
#: Starting values of the fits, away from the truth.
START = {
    "mechanism.orbit_orbit.kappa": 0.15,
    "mechanism.orbit_orbit.coherence_density_cm3": 3e17,
    "mechanism.orbit_orbit.exchange_fraction": 0.15,
    "material.orientation_efficiency": 0.3,
    "mechanism.dichroism.delta": 0.02,
}


def acceptance(n_seeds: int, candidates) -> None:
    print(
        f"== acceptance on the twin: {n_seeds} seeds per mechanism, candidates {list(candidates)} =="
    )
    fl = [6.0, 8.0, 10.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0]
    ang = [0.0, 22.5, 45.0, 90.0]
    print(
        f"data: {len(fl)} fluences x plate angles {ang} x 5 repeats, fit numerics; fits start away from the truth"
    )
    # the twin's own fit numerics (they depend on the configuration's band-gap spread)
    num = twin_numerics(None, DEFAULT_BANDS)
    cover, n_cover = 0, 0
    per_name: dict[str, list[int]] = {}
    t0 = time.perf_counter()
    for gen in MECHANISMS:
        wins, gaps = 0, []
        for seed in range(n_seeds):
            ds = polase.simulate(
                mechanism=gen,
                fluence=fl,
                qwp_angle=ang,
                repeats=5,
                seed=1000 + seed,
                decays=False,
                **num,
                **TRUTH,
            )
            cfg = json.loads(ds.attrs["config"])
            obs = reduce_measurement(ds, windows=DEFAULT_BANDS)
            start = dict(START)
            if cfg["material"]["gain_model"] == "band_filling":
                start["material.beta"] = 0.8 * cfg["material"]["beta"]
            else:
                start["material.gain_scale"] = 0.8 * cfg["material"]["gain_scale"]
            start["material.k2"] = 1.5 * cfg["material"]["k2"]
            model = TwinModel(cfg, windows=obs.windows, start=start)
            c = compare_mechanisms(model, obs, candidates, predict=False)
            ok = c.best.mechanism == gen and c.distinguishable
            wins += ok
            gaps.append(
                round(c.rival_delta_bic, 1)
                if c.best.mechanism == gen
                else f"lost to {c.best.mechanism}"
            )
            r = next(r for r in c.results if r.mechanism == gen)
            for k, (lo, hi) in r.ci95.items():
                hit = lo <= _get_dotted(cfg, k) <= hi
                cover += hit
                n_cover += 1
                tally = per_name.setdefault(k, [0, 0])
                tally[0] += hit
                tally[1] += 1
            print(
                f"  {gen} seed {seed}: best {c.best.mechanism}, rival {c.rival} Delta_BIC {c.rival_delta_bic:.1f}",
                flush=True,
            )
        print(
            f"{gen:14s} ranks first with Delta_BIC > {BIC_DECISIVE:g}: {wins}/{n_seeds}   Delta_BIC to rival: {gaps}"
        )
    print(f"95 % intervals cover the truth: {cover}/{n_cover} = {cover / max(n_cover, 1):.2f}")
    print("  per parameter: " + ", ".join(f"{k} {h}/{n}" for k, (h, n) in per_name.items()))
    print(f"({time.perf_counter() - t0:.0f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--acceptance", type=int, default=0, help="seeds per mechanism for the acceptance study"
    )
    ap.add_argument("--candidates", choices=("all", "singles"), default="all")
    ap.add_argument("--model-error", type=float, default=0.0, help="relative model-error floor")
    ap.add_argument("--skip-default", action="store_true", help="only the acceptance study")
    a = ap.parse_args()
    if not a.skip_default:
        default_sweep(a.model_error)
    if a.acceptance:
        acceptance(a.acceptance, DEFAULT_CANDIDATES if a.candidates == "all" else MECHANISMS)


if __name__ == "__main__":
    main()
