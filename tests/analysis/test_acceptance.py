"""Acceptance: interval coverage on noisy simulated sweeps (polase.simulate), 20 seeds.

Truth is the same analysis of the simulation's noiseless spectra, with the band windows
and Delta wavelengths pinned to those of the noisy analysis (they define the measurand),
and `photon_order` must equal round(slope). The sweep has 5 repeats, 13 fluences
and no laser drift: drift moves the delivered fluence off the nominal steps, a systematic
that repeats cannot reveal (Delta is protected by the L/C pairing and the threshold by the
recorded `pump_fluence_actual`; tests/analysis/test_pipeline.py covers the pairing).

Criterion. Each reported quantity with an interval is checked against its truth in every
seed. At 95 % nominal coverage, a single quantity falls below 18 of 20 by chance with
probability 7.5 %, so demanding 18/20 of each of ~60 quantities would fail by chance
almost always. The test therefore asks that (a) the pooled coverage over all quantities
and seeds is >= 90 %, (b) every global quantity (thresholds, slope, peaks, widths) is
covered in >= 17 of 20 seeds and (c) no quantity is covered in fewer than 15 of 20 (a
chance probability of 0.03 % per quantity at nominal coverage: a biased quantity fails).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from polase.analysis import AnalysisConfig, analyze

FLUENCE = [4.0, 6.0, 8.0, 10.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0]
GLOBAL = (
    "threshold_mJ_cm2",
    "threshold_fwhm_mJ_cm2",
    "slope_below_threshold",
    "pl_peak_nm",
    "pl_fwhm_nm",
    "ase_peak_nm",
    "ase_fwhm_nm",
)
DELTAS = ("delta_ase", "delta_pl", "delta_ase_band", "delta_pl_band")


def _noiseless(ds: xr.Dataset) -> xr.Dataset:
    nl = ds["spectrum_noiseless"].expand_dims(repeat=[0], axis=2)
    out = xr.Dataset(
        {"spectrum": nl.transpose("fluence", "polarization", "repeat", "wavelength")},
        coords={c: ds.coords[c] for c in ("fluence", "polarization", "wavelength")},
        attrs=dict(ds.attrs),
    )
    acq = ds["acquisition_index"].isel(repeat=[0]).assign_coords(repeat=[0])
    return out.assign_coords(acquisition_index=acq)


def _items(r: dict) -> dict:
    out = {k: (r[k]["value"], r[k]["ci95"]) for k in GLOBAL}
    for e in r["per_fluence"]:
        for k in DELTAS:
            out[f"{k}@{e['fluence_mJ_cm2']:g}"] = (e[k], e[f"{k}_ci95"])
    return out


@pytest.mark.slow
def test_intervals_cover_the_simulation_truth():
    polase = pytest.importorskip("polase")
    cfg = AnalysisConfig()
    covered: dict[str, list[bool]] = {}
    orders = []
    for seed in range(20):
        ds = polase.simulate(
            repeats=5, seed=seed, fluence=FLUENCE, decays=False, **{"sweep.drift_per_hour": 0.0}
        )
        res = analyze(ds, cfg)
        w = res["windows"]
        pinned = dataclasses.replace(
            cfg,
            band_fits=False,
            pl_band_nm=tuple(w["pl_band_nm"]),
            ase_band_nm=tuple(w["ase_band_nm"]),
            pl_wavelength_nm=w["delta_pl_wavelength_nm"],
            ase_wavelength_nm=w["delta_ase_wavelength_nm"],
        )
        truth = _items(analyze(_noiseless(ds), pinned))
        for k, (v, ci) in _items(res).items():
            tv = truth[k][0]
            assert v is not None and ci is not None and tv is not None, k
            covered.setdefault(k, []).append(ci[0] <= tv <= ci[1])
        orders.append(res["photon_order"])
        assert res["photon_order"] == max(1, round(res["slope_below_threshold"]["value"]))
    counts = {k: int(np.sum(v)) for k, v in covered.items()}
    pooled = np.mean([c for v in covered.values() for c in v])
    report = ", ".join(f"{k}: {c}/20" for k, c in counts.items() if c < 20)
    assert pooled >= 0.90, f"pooled coverage {pooled:.3f}; {report}"
    for k in GLOBAL:
        assert counts[k] >= 17, f"{k} covered in {counts[k]}/20 seeds; {report}"
    assert min(counts.values()) >= 15, report
    # photon order = round(slope) (the simulated sub-linear slope may sit near 1.5, where
    # the rounding itself is at the boundary: the slope interval is what is tested)
    assert all(o is not None for o in orders)
