"""NIST StRD nonlinear regression: polase defaults against scipy least_squares (lm, trf).

Run:  python benchmarks/bench_nist.py [--nist-dir DIR]

Every one of the 27 datasets from both certified starts, in one run: polase
``curve_fit_batch(model, x, y, p0)`` with its default settings (central-difference Jacobian
of a numpy model), and ``scipy.optimize.least_squares`` with method "lm" (MINPACK) and "trf",
each with scipy's default tolerances (1e-8) and with tight ones (ftol = xtol = gtol = 1e-15),
scipy's default Jacobian (2-point differences). A cell is the log relative error (LRE, matching
significant digits) of the worst parameter, "*" when it meets the certified digits (6, or 4
for higher difficulty), and "!" when the solver did not report success. Prints a markdown
table and the totals (certified count per start, wall time per solver).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
import warnings
from pathlib import Path

import numpy as np


def _nist_module():
    here = Path(__file__).resolve().parent.parent / "tests" / "fitting" / "test_nist.py"
    spec = importlib.util.spec_from_file_location("_nist_problems", here)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "external" / "nist_strd"
    ap.add_argument("--nist-dir", type=Path, default=default)
    args = ap.parse_args()
    if not args.nist_dir.is_dir():
        raise SystemExit(f"NIST StRD folder not found: {args.nist_dir}")
    from scipy.optimize import least_squares

    from polase.fitting import FitStatus, curve_fit_batch

    tn = _nist_module()
    solvers = ["polase", "lm", "lm tight", "trf", "trf tight"]
    tight = {"ftol": 1e-15, "xtol": 1e-15, "gtol": 1e-15}
    times = dict.fromkeys(solvers, 0.0)
    certified = {s: {1: 0, 2: 0} for s in solvers}
    rows = []
    # compile (or load) the polase kernels outside the timing
    m0, x0, d0 = tn._problem("Misra1a", args.nist_dir)
    curve_fit_batch(m0, x0, d0["y"], d0["start"][0])
    for name in tn.DATASETS:
        model, x, d = tn._problem(name, args.nist_dir)
        need = tn._required(d["difficulty"])
        for start in (1, 2):
            p0 = d["start"][start - 1]
            cells = []
            for s in solvers:
                t0 = time.perf_counter()
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    if s == "polase":
                        r = curve_fit_batch(model, x, d["y"], p0)
                        p, ok = r.params[0], r.status[0] == FitStatus.CONVERGED
                    else:
                        method = s.split()[0]
                        kw = tight if s.endswith("tight") else {}

                        def resid(b, model=model, x=x, y=d["y"]):
                            return model.func(x, b[None, :])[0] - y

                        try:
                            r = least_squares(resid, p0, method=method, max_nfev=100_000, **kw)
                            p, ok = r.x, bool(r.success)
                        except (ValueError, np.linalg.LinAlgError):
                            p, ok = np.full(p0.shape, np.nan), False
                times[s] += time.perf_counter() - t0
                lre = float(np.nan_to_num(tn._digits(p, d["cert"]).min(), nan=-99.0))
                good = ok and lre >= need
                certified[s][start] += good
                cells.append(f"{max(lre, -9.9):.1f}{'*' if good else ''}{'' if ok else '!'}")
            rows.append((f"{name} / {start}", d["difficulty"], cells))
    print("| dataset / start | difficulty | " + " | ".join(solvers) + " |")
    print("|---|---|" + "---|" * len(solvers))
    for label, diff, cells in rows:
        print(f"| {label} | {diff} | " + " | ".join(cells) + " |")
    print(
        "| **certified, start 1 / start 2** | | "
        + " | ".join(f"{certified[s][1]}/27, {certified[s][2]}/27" for s in solvers)
        + " |"
    )
    print(
        "| **wall time, all 54 fits [s]** | | "
        + " | ".join(f"{times[s]:.2f}" for s in solvers)
        + " |"
    )
    print(
        f"\nload average {os.getloadavg()[0]:.2f}; LRE of the worst parameter, * certified, ! no success"
    )


if __name__ == "__main__":
    main()
