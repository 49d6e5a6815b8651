"""Tiny synthetic measurements with a known truth for the analysis tests.

A Gaussian PL band (peak 533 nm, FWHM 23 nm, growing as F**1.7) plus a narrow ASE band
(543 nm, FWHM 8 nm) that appears above a threshold and is stronger under circular
pumping by a known factor; Gaussian noise with the variance of shot + read noise.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

PL_PEAK, PL_FWHM, ASE_PEAK, ASE_FWHM = 533.0, 23.0, 543.0, 8.0
F_TH = 12.0
FLUENCES = np.array([4.0, 6.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0])


def _gauss(wl, c, fwhm):
    s = fwhm / 2.3548200450309493
    return np.exp(-0.5 * ((wl - c) / s) ** 2)


def true_delta_ase(f):
    """Circular/linear ASE gain factor - 1 (zero below threshold)."""
    return np.where(f > F_TH, 0.05 * (f - F_TH), 0.0)


def noiseless(fluence, wl, pol_factor):
    """Expected spectra (F, P, W): PL + ASE, ASE scaled by (1 + delta) for circular."""
    f = fluence[:, None, None]
    pl = 400.0 * (f / 10.0) ** 1.7 * _gauss(wl, PL_PEAK, PL_FWHM)
    ase_amp = 300.0 * np.maximum(f - F_TH, 0.0) ** 1.5
    ase = ase_amp * pol_factor(fluence)[:, :, None] * _gauss(wl, ASE_PEAK, ASE_FWHM)
    return pl + ase


def make_measurement(
    seed: int = 0,
    repeats: int = 5,
    fluence=FLUENCES,
    n_pixels: int = 600,
    read_noise: float = 3.0,
    dark: float = 0.0,
    drift: float = 0.0,
    wl_range=(440.0, 640.0),
):
    """Synthetic measurement Dataset in the docs/data-model.md schema, plus the truth.

    Acquisition order per fluence: L0, C0, L1, C1, ...; `drift` is the relative change of
    the emission per acquisition (a slow laser drift, linear in time).
    """
    rng = np.random.default_rng(seed)
    fluence = np.asarray(fluence, dtype=float)
    wl = np.linspace(*wl_range, n_pixels)

    def pol_factor(f):
        return np.stack([np.ones_like(f), 1.0 + true_delta_ase(f)], axis=1)

    mean = noiseless(fluence, wl, pol_factor)  # (F, P, W)
    nf, r = fluence.size, repeats
    acq = np.zeros((nf, 2, r), dtype=int)
    for k in range(nf):
        for j in range(r):
            acq[k, 0, j] = k * 2 * r + 2 * j
            acq[k, 1, j] = k * 2 * r + 2 * j + 1
    scale = 1.0 + drift * acq
    expected = mean[:, :, None, :] * scale[..., None] + dark
    noise = rng.normal(size=expected.shape) * np.sqrt(np.maximum(expected, 0) + read_noise**2)
    spec = expected + noise
    ds = xr.Dataset(
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
            "spectrum_noiseless": (
                ("fluence", "polarization", "wavelength"),
                mean + dark,
                {"units": "counts"},
            ),
        },
        coords={
            "fluence": ("fluence", fluence, {"units": "mJ/cm**2"}),
            "polarization": ("polarization", np.array(["linear", "circular"])),
            "qwp_angle": ("polarization", np.array([0.0, 45.0]), {"units": "deg"}),
            "docp": ("polarization", np.array([0.0, 1.0]), {"units": "1"}),
            "repeat": ("repeat", np.arange(r)),
            "acquisition_index": (("fluence", "polarization", "repeat"), acq),
            "wavelength": ("wavelength", wl, {"units": "nm"}),
        },
        attrs={"source": "simulation"},
    )
    return ds


def noiseless_dataset(ds: xr.Dataset) -> xr.Dataset:
    """The same measurement with the noiseless spectra as a single repeat."""
    nl = ds["spectrum_noiseless"].expand_dims(repeat=[0], axis=2)
    out = xr.Dataset(
        {"spectrum": nl.transpose("fluence", "polarization", "repeat", "wavelength")},
        coords={c: ds.coords[c] for c in ("fluence", "polarization", "wavelength")},
        attrs=dict(ds.attrs),
    )
    acq = ds["acquisition_index"].isel(repeat=[0]).assign_coords(repeat=[0])
    return out.assign_coords(acquisition_index=acq)


@pytest.fixture
def synth():
    """Factory of synthetic measurement Datasets (see `make_measurement`)."""
    return make_measurement


@pytest.fixture
def synth_noiseless():
    """Turns a synthetic measurement into its noiseless single-repeat twin."""
    return noiseless_dataset
