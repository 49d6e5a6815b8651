"""Per-spectrum features against analytic line shapes."""

from __future__ import annotations

import numpy as np
import pytest

from polase.analysis import spectra as sp
from polase.errors import DataValidationError

WL = np.linspace(450.0, 650.0, 801)  # 0.25 nm pixels


def gauss(wl, a, c, fwhm):
    return a * np.exp(-0.5 * ((wl - c) / (fwhm / sp.GAUSS_FWHM_PER_SIGMA)) ** 2)


@pytest.mark.parametrize("center", [533.0, 533.11, 541.37])
@pytest.mark.parametrize("fwhm", [8.0, 23.0])
def test_gaussian_peak_height_and_fwhm_are_exact(center, fwhm):
    r = sp.peak_and_fwhm(WL, gauss(WL, 1000.0, center, fwhm), smooth_px=1)
    # the estimator is built to be unbiased under noise (linear least squares) and to
    # follow asymmetric lines (cubic), not to be exact for one line shape: through
    # +-0.35 FWHM around the nearest pixel it finds the centre of a Gaussian to < 10 % of
    # a pixel (0.25 nm here) and its height 0.5 % low, so the width is < 0.6 % wide
    assert r["peak_nm"] == pytest.approx(center, abs=0.025)
    assert r["height"] == pytest.approx(1000.0, rel=6e-3)
    assert r["fwhm_nm"] == pytest.approx(fwhm, rel=6e-3)
    assert not r["masked"]


def test_lorentzian_fwhm():
    g = 5.0  # half width
    y = 300.0 / (1 + ((WL - 540.2) / g) ** 2)
    r = sp.peak_and_fwhm(WL, y, smooth_px=1)
    # the height comes from a parabola over +-0.35 FWHM (2 % low for a Lorentzian's sharp
    # top), and the straight line through each crossing sits on a curved flank
    assert r["fwhm_nm"] == pytest.approx(2 * g, rel=2.5e-2)
    assert r["height"] == pytest.approx(300.0, rel=2.5e-2)
    assert r["peak_nm"] == pytest.approx(540.2, abs=0.025)


def test_vectorized_over_leading_axes_matches_single():
    c = np.array([[520.0, 533.0, 545.5], [530.0, 536.2, 540.0]])
    y = gauss(WL, 50.0, c[..., None], 15.0)
    r = sp.peak_and_fwhm(WL, y)
    assert r["peak_nm"].shape == (2, 3)
    for i in range(2):
        for j in range(3):
            one = sp.peak_and_fwhm(WL, y[i, j])
            assert r["peak_nm"][i, j] == pytest.approx(float(one["peak_nm"]), abs=1e-12)
            assert r["fwhm_nm"][i, j] == pytest.approx(float(one["fwhm_nm"]), abs=1e-12)
    np.testing.assert_allclose(r["peak_nm"], c, atol=0.025)


def test_noisy_peak_is_unbiased(rng):
    y = gauss(WL, 1000.0, 533.3, 23.0) + rng.normal(0, 10, (400, WL.size))
    r = sp.peak_and_fwhm(WL, y)
    assert abs(r["peak_nm"].mean() - 533.3) < 4 * r["peak_nm"].std() / np.sqrt(400)
    assert r["fwhm_nm"].mean() == pytest.approx(23.0, rel=5e-3)


def test_nan_at_peak_masks_the_result():
    y = gauss(WL, 1000.0, 533.0, 20.0)
    y[np.argmin(np.abs(WL - 533.0))] = np.nan
    r = sp.peak_and_fwhm(WL, y)
    assert r["masked"]
    assert np.isnan(r["peak_nm"]) and np.isnan(r["fwhm_nm"]) and np.isnan(r["height"])


def test_nan_far_from_the_peak_does_not_mask():
    y = gauss(WL, 1000.0, 533.0, 20.0)
    y[-3] = np.nan
    r = sp.peak_and_fwhm(WL, y)
    assert not r["masked"]
    assert r["peak_nm"] == pytest.approx(533.0, abs=1e-3)


def test_search_range_picks_the_band_inside_it():
    y = gauss(WL, 1000.0, 470.0, 5.0) + gauss(WL, 200.0, 560.0, 12.0)
    r = sp.peak_and_fwhm(WL, y, search_nm=(520, 620))
    assert r["peak_nm"] == pytest.approx(560.0, abs=1e-3)


def test_band_intensity_of_a_gaussian_is_its_area():
    a, fwhm = 7.0, 10.0
    y = gauss(WL, a, 540.0, fwhm)
    area = a * fwhm / sp.GAUSS_FWHM_PER_SIGMA * np.sqrt(2 * np.pi)
    assert sp.band_intensity(WL, y, 450, 650) == pytest.approx(area, rel=1e-6)
    # +-FWHM/2 holds erf(sqrt(ln 2)) = 76.1 % of the area
    from scipy.special import erf

    frac = erf(np.sqrt(np.log(2)))
    assert sp.band_intensity(WL, y, 535, 545) == pytest.approx(frac * area, rel=2e-3)


def test_band_intensity_nan_in_window_is_nan_and_too_narrow_window_raises():
    y = gauss(WL, 7.0, 540.0, 10.0)
    y[np.argmin(np.abs(WL - 541))] = np.nan
    assert np.isnan(sp.band_intensity(WL, y, 535, 545))
    assert np.isfinite(sp.band_intensity(WL, y, 560, 600))
    assert sp.window_has_nan(WL, y, 535, 545) and not sp.window_has_nan(WL, y, 560, 600)
    with pytest.raises(DataValidationError, match="fewer than 2 pixels"):
        sp.band_intensity(WL, y, 540.01, 540.1)


def test_window_mean_and_nearest_pixel_fallback():
    y = np.broadcast_to(WL, (3, WL.size))
    assert sp.window_mean(WL, y, 540.0, 1.0) == pytest.approx(np.full(3, 540.0))
    assert sp.window_mean(WL, y, 540.1, 0.0) == pytest.approx(np.full(3, 540.0))


def test_baseline_level_removes_a_constant_offset():
    y = gauss(WL, 100.0, 533.0, 20.0) + 42.0
    wide = np.linspace(200, 1000, 2048)
    yw = gauss(wide, 100.0, 533.0, 20.0) + 42.0
    assert sp.baseline_level(wide, yw, (433, 633)) == pytest.approx(42.0, abs=1e-6)
    # no emission-free pixels: no baseline rather than a wrong one
    assert sp.baseline_level(WL, y, (400, 700)) == 0.0


def test_smooth_boxcar_preserves_lines_and_propagates_nan():
    y = np.arange(20.0)
    s = sp.smooth_boxcar(y, 5)
    np.testing.assert_allclose(s[2:-2], y[2:-2])  # a straight line is unchanged
    y[10] = np.nan
    s = sp.smooth_boxcar(y, 5)
    assert np.isnan(s[8:13]).all() and np.isfinite(s[:8]).all() and np.isfinite(s[13:]).all()


def test_bad_axes_raise():
    with pytest.raises(DataValidationError, match="strictly increasing"):
        sp.peak_and_fwhm(WL[::-1], gauss(WL, 1, 533, 10))
    with pytest.raises(DataValidationError, match="must match"):
        sp.peak_and_fwhm(WL, np.ones(10))


def test_asymmetric_line_peak_is_near_its_maximum():
    # a red-tailed band (Gaussian halves, the red one 1.2x wider): the curvature jumps at
    # the maximum, so any smooth fit leans to the broad side; the cubic stays within
    # 1.2 % of the FWHM, and the half-maximum width is that of the two halves
    c, s_blue, s_red = 533.0, 8.0, 9.6
    y = np.where(
        WL < c, np.exp(-0.5 * ((WL - c) / s_blue) ** 2), np.exp(-0.5 * ((WL - c) / s_red) ** 2)
    )
    r = sp.peak_and_fwhm(WL, 500.0 * y, smooth_px=1)
    width = np.sqrt(2 * np.log(2)) * (s_blue + s_red)
    assert c < r["peak_nm"] < c + 0.012 * width
    assert r["fwhm_nm"] == pytest.approx(width, rel=0.006)


@pytest.mark.parametrize("width", [1, 3, 5, 9])
def test_smooth_boxcar_is_the_mean_of_the_pixels_that_exist(rng, width):
    y = rng.normal(size=(3, 40))
    y[1, 17] = np.nan
    s = sp.smooth_boxcar(y, width)
    h = width // 2
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            ref = y[i, max(j - h, 0) : j + h + 1].mean()  # NaN inside -> NaN
            np.testing.assert_allclose(s[i, j], ref, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("n_out", [31, 32])  # odd and even pixel counts
def test_baseline_level_is_the_median_of_the_outside_pixels(rng, n_out):
    wl = np.arange(100.0)
    y = rng.normal(size=(4, 2, 100)) * 10 + rng.normal(size=(4, 2, 1)) * 100
    excl = (float(n_out) - 0.5, 99.5)  # pixels 0 .. n_out-1 lie outside
    expected = np.median(y[..., :n_out], axis=-1)
    assert np.array_equal(sp.baseline_level(wl, y, excl), expected)
    # a masked outside pixel is left out of the median
    mask = np.zeros(y.shape, bool)
    mask[0, 0, 3] = True
    got = sp.baseline_level(wl, y, excl, mask=mask)
    assert got[0, 0] == np.median(np.delete(y[0, 0, :n_out], 3))
    assert np.array_equal(got[1:], expected[1:])


def test_half_maximum_crossings_by_walking_out_from_the_maximum():
    ys = np.array([[0.0, 1.0, 3.0, 5.0, 4.0, 2.0, 1.0], [0.0, 4.0, 2.0, 5.0, 4.0, 3.0, 3.0]])
    left, right, ok = sp._crossings(ys, np.array([3, 3]), np.array([2.5, 2.5]))
    np.testing.assert_allclose(left[0], 1.75)  # between 1.0 at 1 and 3.0 at 2
    np.testing.assert_allclose(right[0], 4.75)  # between 4.0 at 4 and 2.0 at 5
    assert ok[0] and not ok[1] and np.isnan(left[1])  # row 1 never falls below on the right
    # a NaN pixel stops the walk and fails the crossing
    ys[0, 1] = np.nan
    left, _, ok = sp._crossings(ys[:1], np.array([3]), np.array([0.5]))
    assert not ok[0] and np.isnan(left[0])
