"""Band fits of batches: a masked pixel affects only its own spectrum."""

from __future__ import annotations

import numpy as np

from polase.analysis.bandfit import gaussian_band_fit, two_band_decomposition
from polase.analysis.spectra import GAUSS_FWHM_PER_SIGMA

WL = np.linspace(480.0, 600.0, 481)


def _g(c, fwhm):
    return np.exp(-0.5 * ((WL - c) / (fwhm / GAUSS_FWHM_PER_SIGMA)) ** 2)


def _batch(rng, n=6):
    a_pl = rng.uniform(50, 150, (n, 1))
    a_ase = rng.uniform(0, 80, (n, 1))
    y = a_pl * _g(533.0, 23.0) + a_ase * _g(543.0, 8.0) + 2.0
    return y + rng.normal(size=y.shape), a_pl[:, 0], a_ase[:, 0]


def test_two_band_decomposition_recovers_the_areas_and_masks_one_row(rng):
    y, a_pl, a_ase = _batch(rng)
    d = two_band_decomposition(WL, y, (533.0, 23.0), (543.0, 8.0))
    s_pl, s_ase = 23.0 / GAUSS_FWHM_PER_SIGMA, 8.0 / GAUSS_FWHM_PER_SIGMA
    np.testing.assert_allclose(d["pl_area"], a_pl * s_pl * np.sqrt(2 * np.pi), rtol=0.03)
    np.testing.assert_allclose(d["ase_area"], a_ase * s_ase * np.sqrt(2 * np.pi), atol=20.0)
    # a masked pixel inside the window: that row NaN, every other row the same fit
    ym = y.copy()
    ym[2, np.argmin(np.abs(WL - 540.0))] = np.nan
    dm = two_band_decomposition(WL, ym, (533.0, 23.0), (543.0, 8.0))
    assert np.isnan(dm["pl_area"][2]) and np.isnan(dm["ase_area"][2])
    keep = np.arange(y.shape[0]) != 2
    np.testing.assert_allclose(dm["pl_area"][keep], d["pl_area"][keep], rtol=1e-9)
    np.testing.assert_allclose(dm["ase_area"][keep], d["ase_area"][keep], rtol=1e-9, atol=1e-9)


def test_gaussian_band_fit_width_and_masked_row(rng):
    y = rng.uniform(50, 150, (5, 1)) * _g(533.0, 23.0) + rng.normal(size=(5, WL.size)) * 0.5
    peak = np.full(5, 533.0)
    fwhm = np.full(5, 22.0)
    h = y.max(axis=1)
    g = gaussian_band_fit(WL, y, peak, fwhm, h)
    np.testing.assert_allclose(g["fwhm_nm"], 23.0, rtol=0.01)
    np.testing.assert_allclose(g["center_nm"], 533.0, atol=0.1)
    ym = y.copy()
    ym[1, np.argmin(np.abs(WL - 530.0))] = np.nan
    gm = gaussian_band_fit(WL, ym, peak, fwhm, h)
    assert np.isnan(gm["fwhm_nm"][1])
    keep = np.arange(5) != 1
    np.testing.assert_allclose(gm["fwhm_nm"][keep], g["fwhm_nm"][keep], rtol=1e-9)
