"""Small synthetic measurements and analyses for the report tests.

They follow docs/data-model.md and the results.json schema but are built here from
closed-form line shapes, so the figure and HTML tests do not depend on the simulator
or the analysis pipeline.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

TRUE_THRESHOLD = 14.3  # [mJ/cm2]
TRUE_DELTA = {15.0: 0.11, 16.0: 0.14, 17.0: 0.17}  # fraction


def _gauss(x, mu, fwhm):
    s = fwhm / 2.3548200450309493
    return np.exp(-0.5 * ((x - mu) / s) ** 2)


def true_delta(f):
    """Synthetic Delta_ASE(F): 0 below threshold, +3 points per mJ/cm2 from 11 % at 15."""
    f = np.asarray(f, dtype=float)
    return np.where(f > TRUE_THRESHOLD, 0.11 + 0.03 * (f - 15.0), 0.0)


def make_dataset(
    seed: int = 1, repeats: int = 4, with_decays: bool = True, with_excitation: bool = True
):
    """A measurement Dataset with PL (slope 1.7) and ASE above 14.3 mJ/cm2."""
    rng = np.random.default_rng(seed)
    wl = np.arange(480.0, 600.0, 0.25)
    fl = np.unique(np.r_[np.arange(4.0, 20.5, 1.0), 8.2])
    pol = ["linear", "circular"]
    pl_amp = 50.0 * fl**1.7
    ase_amp = np.where(fl > TRUE_THRESHOLD, 4000.0 * (fl - TRUE_THRESHOLD), 0.0)
    boost = np.stack([np.ones_like(fl), 1.0 + true_delta(fl)])  # (pol, fluence)
    clean = (
        pl_amp[:, None, None] * _gauss(wl, 533.0, 23.0)[None, None, :]
        + (ase_amp[:, None] * boost.T)[:, :, None] * _gauss(wl, 543.0, 9.0)[None, None, :]
    )  # (fluence, pol, wl)
    noisy = clean[:, :, None, :] * (
        1.0 + 0.005 * rng.standard_normal((fl.size, 2, repeats, wl.size))
    )
    acq = np.empty((fl.size, 2, repeats), dtype=np.int64)
    for k in range(fl.size):
        for r in range(repeats):
            acq[k, 0, r] = k * 2 * repeats + 2 * r
            acq[k, 1, r] = k * 2 * repeats + 2 * r + 1
    ds = xr.Dataset(
        {
            "spectrum": (
                ("fluence", "polarization", "repeat", "wavelength"),
                noisy,
                {"units": "counts"},
            ),
            "saturated": (
                ("fluence", "polarization", "repeat", "wavelength"),
                np.zeros(noisy.shape, bool),
            ),
            "integration_time": ((), 0.1, {"units": "s"}),
        },
        coords={
            "fluence": ("fluence", fl, {"units": "mJ/cm**2"}),
            "polarization": ("polarization", pol),
            "qwp_angle": ("polarization", [0.0, 45.0], {"units": "deg"}),
            "docp": ("polarization", [0.0, 1.0], {"units": "1"}),
            "repeat": ("repeat", np.arange(repeats)),
            "acquisition_index": (("fluence", "polarization", "repeat"), acq),
            "wavelength": ("wavelength", wl, {"units": "nm"}),
        },
        attrs={"source": "measurement", "polase_version": "test"},
    )
    if with_excitation:
        xw = np.arange(300.0, 525.0, 1.0)
        exc = (
            1000.0
            / (1.0 + np.exp((xw - 515.0) / 3.0))
            * (1.0 + 0.2 * np.exp(-(((xw - 400) / 60) ** 2)))
        )
        ds["excitation_spectrum"] = xr.DataArray(
            exc,
            dims="excitation_wavelength",
            attrs={"units": "counts", "emission_wavelength_nm": 533.0},
        )
        ds = ds.assign_coords(excitation_wavelength=("excitation_wavelength", xw, {"units": "nm"}))
    if with_decays:
        t = np.arange(0.0, 40.0, 0.04)
        irf = 1e4 * _gauss(t, 2.0, 0.15)
        dec = np.full((fl.size, 2, 2, t.size), np.nan)
        for k, f in enumerate(fl):
            if f < 14.0:
                continue
            for j, tau in enumerate((6.0, 0.4)):  # 533 nm PL, 543 nm ASE
                model = np.convolve(irf, np.exp(-t / tau))[: t.size]
                model *= 5e3 / model.max()
                dec[k, :, j, :] = rng.poisson(model + 2.0)
        ds["decay"] = xr.DataArray(
            dec,
            dims=("fluence", "polarization", "detection_wavelength", "time"),
            attrs={"units": "counts"},
        )
        ds["irf"] = xr.DataArray(irf, dims="time", attrs={"units": "counts"})
        ds = ds.assign_coords(
            detection_wavelength=("detection_wavelength", [533.0, 543.0], {"units": "nm"}),
            time=("time", t, {"units": "ns"}),
        )
        ds.attrs["tcspc_channel_width_ns"] = 0.04
    return ds


def make_results(ds=None) -> dict:
    """A results dict (results.json schema) consistent with `make_dataset`'s truth."""
    fl = np.unique(np.r_[np.arange(4.0, 20.5, 1.0), 8.2]) if ds is None else ds["fluence"].values
    per = []
    for f in fl:
        f = float(f)
        d = float(true_delta(f))
        above = f > TRUE_THRESHOLD
        per.append(
            {
                "fluence_mJ_cm2": f,
                "peak_nm": 542.8 if above else 533.0,
                "fwhm_nm": 13.0 if f > 15.5 else 23.0 - (max(f - 14.0, 0.0) * 6.0),
                "intensity_pl": 50.0 * f**1.7,
                "intensity_ase": 4000.0 * max(f - TRUE_THRESHOLD, 0.0) + 5.0 * f**1.7,
                "delta_ase": d if above else None,
                "delta_ase_ci95": [d - 0.012, d + 0.012] if above else None,
                "delta_pl": 0.001 * np.sin(f),
                "delta_pl_ci95": [0.001 * np.sin(f) - 0.004, 0.001 * np.sin(f) + 0.004],
                "saturated": False,
            }
        )
    return {
        "threshold_mJ_cm2": {"value": 14.31, "ci95": [14.1, 14.5], "method": "two-segment fit"},
        "threshold_fwhm_mJ_cm2": {"value": 14.6, "ci95": [14.2, 15.0]},
        "slope_below_threshold": {"value": 1.71, "ci95": [1.68, 1.74]},
        "photon_order": 2,
        "pl_peak_nm": {"value": 533.1, "ci95": [532.9, 533.3]},
        "pl_fwhm_nm": {"value": 22.9, "ci95": [22.7, 23.1]},
        "ase_peak_nm": {"value": 542.9, "ci95": [542.7, 543.1]},
        "ase_fwhm_nm": {"value": 13.2, "ci95": [12.9, 13.5]},
        "per_fluence": per,
        "windows": {
            "pl_band_nm": [521.5, 538.0],
            "ase_band_nm": [538.0, 548.0],
            "peak_window_half_width_nm": 1.0,
            "delta_pl_wavelength_nm": 533.0,
            "delta_ase_wavelength_nm": 543.0,
            "pl_reference_fluence_mJ_cm2": 8.2,
            "ase_reference_fluence_mJ_cm2": 17.0,
        },
        # the truth is a power law F**1.7 below threshold: local slopes equal the chord
        "slope_local": {
            "wavelength_nm": 533.0,
            "fluence_max_mJ_cm2": 12.2,
            "window_points": 5,
            "chord": 1.7,
            "fluence_mJ_cm2": [6.0, 7.0, 8.0, 8.2, 9.0],
            "local": [1.7, 1.7, 1.7, 1.7, 1.7],
            "max_deviation": 0.0,
        },
    }


def make_decays(ds) -> dict:
    """Decay 'fits' with curves, keyed by detection wavelength, at 17 mJ/cm2, linear."""
    out = {}
    sub = ds.sel(fluence=17.0, polarization="linear")
    t = ds["time"].values
    for wl, tau in ((533.0, 6.0), (543.0, 0.4)):
        counts = sub["decay"].sel(detection_wavelength=wl).values
        model = np.convolve(ds["irf"].values, np.exp(-t / tau))[: t.size]
        model = model * (counts.max() - 2.0) / model.max() + 2.0
        out[f"{wl:g}"] = {
            "fluence_mJ_cm2": 17.0,
            "components": 1,
            "tau_ns": [tau],
            "tau_ci95_ns": [[0.95 * tau, 1.05 * tau]],
            "amplitudes": [1.0],
            "reduced_chi2": 1.02,
            "time_ns": t,
            "counts": counts,
            "fit": model,
            "irf": ds["irf"].values,
            "repetition_period_ns": 1000.0,
        }
    return out


def make_polarization_fit(seed: int = 3, tau_s: float = 8.0, dcp0: float = 0.5):
    """A helicity `PolarizationFit` built from its closed form (no fitting): sigma+/- counts
    F(t) [1 +- DCP0 exp(-t/tau_s)] / 2 with F a 4 ns exponential, Poisson noise, background 2.
    """
    from polase.analysis.polarization import PolarizationFit

    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 60.0, 0.05)
    pop = 4e3 * np.exp(-t / 4.0) * (t > 1.0)
    dcp = dcp0 * np.exp(-t / tau_s)
    model = {"sigma_plus": pop * (1 + dcp) / 2 + 2.0, "sigma_minus": pop * (1 - dcp) / 2 + 2.0}
    data = {k: rng.poisson(v).astype(float) for k, v in model.items()}
    summary = {
        "tau_s_ns": tau_s,
        "tau_s_ci95_ns": [0.97 * tau_s, 1.03 * tau_s],
        "resolved": True,
        "bound": None,
        "tau_s_mle_ns": tau_s,
        "dcp0": dcp0,
        "tau_ns": [4.0],
        "reduced_chi2": 1.01,
        "backgrounds": [2.0, 2.0],
    }
    return PolarizationFit("helicity", summary, t, data, model, np.ones_like(t), "DCP", 1.0)


@pytest.fixture(scope="session")
def synth_ds():
    return make_dataset()


@pytest.fixture(scope="session")
def synth_results(synth_ds):
    return make_results(synth_ds)


@pytest.fixture(scope="session")
def synth_decays(synth_ds):
    return make_decays(synth_ds)


@pytest.fixture(scope="session")
def synth_phasors(synth_decays):
    """The decays' phasors, as the report's callers compute them (the report draws them)."""
    from polase.analysis.phasor import decay_phasors

    return decay_phasors(synth_decays)


@pytest.fixture(scope="session")
def synth_polarization():
    return make_polarization_fit()
