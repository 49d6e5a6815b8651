"""Compile polase's numba kernels once, into their on-disk cache, before the test run.

`bash dev.sh test` runs the two halves in parallel, beside ruff and mkdocs. Without it, on
a fresh clone both pytest workers and the first CLI subprocesses compile the same kernels
at the same time (about a minute of CPU each). ``twin``: the twin's solver, the spectral
features and the joint polarization fit; ``fitting``: the fitting engine's Gaussian and
generic loops and the decay reconvolution. Nothing is checked (the tests do that) and
nothing is written outside numba's cache.

    python scripts/warm_numba_cache.py twin|fitting
"""

from __future__ import annotations

import sys
import time


def twin() -> None:
    import polase
    from polase.analysis.polarization import fit_helicity_pair
    from polase.analysis.spectra import peak_and_fwhm
    from polase.experiment import simulate_helicity_pair

    ds = polase.simulate(fluence=[8.2, 17.0], repeats=2, seed=1, decays=False)
    peak_and_fwhm(
        ds["wavelength"].values, ds["spectrum"].values.reshape(-1, ds.sizes["wavelength"])
    )
    pair = simulate_helicity_pair(None, 8.0, seed=1)
    fit_helicity_pair(pair["time"], pair["sigma_plus"], pair["sigma_minus"], pair["irf"])


def fitting() -> None:
    import numpy as np

    from polase.analysis.decay import fit_decays
    from polase.fitting import curve_fit_batch, guess

    x = np.linspace(-5.0, 5.0, 200)
    y = 3.0 * np.exp(-0.5 * ((x - 0.4) / 1.1) ** 2)[None, :] + 0.2
    for name in ("gaussian", "gaussian_offset"):
        curve_fit_batch(name, x, y, guess(name, x, y))
    t = np.arange(512) * 0.05
    irf = np.exp(-0.5 * ((t - 2.0) / 0.1) ** 2)
    decay = 1e3 * np.convolve(irf, np.exp(-t / 2.0))[: t.size] + 1.0
    fit_decays(t, decay[None, :], irf, 2)


def main() -> None:
    what = sys.argv[1:] or ["twin", "fitting"]
    for name in what:
        t0 = time.perf_counter()
        {"twin": twin, "fitting": fitting}[name]()
        print(f"warm_numba_cache {name}: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
