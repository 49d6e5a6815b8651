"""Hinge threshold, FWHM-narrowing threshold and the power law below threshold."""

from __future__ import annotations

import numpy as np
import pytest

from polase.analysis.power_law import loglog_slope, photon_order
from polase.analysis.threshold import (
    FWHM_METHOD,
    fwhm_onset_threshold,
    fwhm_threshold,
    hinge_fit,
    hinge_threshold,
)
from polase.errors import DataValidationError

F = np.array([6.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0])


@pytest.mark.parametrize("f_th", [10.3, 12.0, 14.3])
def test_exact_broken_power_law_gives_its_kink(f_th):
    i = np.where(F < f_th, (F / f_th) ** 1.7, (F / f_th) ** 9.0)
    r = hinge_threshold(F, 5.0 * i, scale="loglog")
    assert r["threshold"] == pytest.approx(f_th, rel=1e-10)
    assert r["slope_below"] == pytest.approx(1.7, rel=1e-10)
    assert r["slope_above"] == pytest.approx(9.0, rel=1e-10)
    assert r["sse"] < 1e-20


@pytest.mark.parametrize("f_th", [10.3, 12.0, 14.3])
def test_linear_hinge_is_the_intersection_of_two_lines(f_th):
    i = np.where(F < f_th, 2.0 + 0.5 * (F - f_th), 2.0 + 30.0 * (F - f_th))
    r = hinge_threshold(F, i)
    assert r["threshold"] == pytest.approx(f_th, rel=1e-10)
    assert r["slope_below"] == pytest.approx(0.5, rel=1e-10)
    assert r["slope_above"] == pytest.approx(30.0, rel=1e-10)


def test_linear_and_loglog_kinks_differ_on_a_gradual_onset():
    # a smooth onset (sum of power laws): the log-log kink sits where the rise starts,
    # the linear one where the steep branch takes over, so it is the larger
    i = F**1.7 + 1e-9 * F**9.5
    lin = hinge_threshold(F, i)["threshold"]
    log = hinge_threshold(F, i, scale="loglog")["threshold"]
    assert F[0] < log < lin < F[-1]


def test_hinge_scale_is_checked():
    with pytest.raises(DataValidationError, match="scale"):
        hinge_threshold(F, F, scale="log")


def test_hinge_fit_is_vectorized_and_least_squares(rng):
    x = np.linspace(0, 1, 12)
    y = np.where(x < 0.4, 1 + 2 * (x - 0.4), 1 + 5 * (x - 0.4)) + rng.normal(0, 0.01, (50, 12))
    r = hinge_fit(x, y)
    assert r["breakpoint"].shape == (50,)
    # the profiled breakpoint minimizes the SSE: nudging it cannot lower the error
    for k in range(5):
        b = r["breakpoint"][k]
        for db in (-0.01, 0.01):
            d = x - (b + db)
            des = np.stack([np.ones_like(d), np.minimum(d, 0), np.maximum(d, 0)], axis=1)
            c = np.linalg.lstsq(des, y[k], rcond=None)[0]
            assert np.sum((des @ c - y[k]) ** 2) >= r["sse"][k] - 1e-12
    assert abs(np.mean(r["breakpoint"]) - 0.4) < 0.01


def test_hinge_needs_enough_finite_points():
    with pytest.raises(DataValidationError, match="needs >= 5"):
        hinge_fit([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(DataValidationError, match="finite"):
        hinge_fit(np.arange(6.0), [1, 2, np.nan, 4, 5, 6])


def test_nonpositive_intensity_gives_nan_not_a_number():
    i = (F / 12.0) ** 2
    i[3] = 0.0
    assert np.isnan(hinge_threshold(F, i, scale="loglog")["threshold"])
    i[3] = np.nan
    assert np.isnan(hinge_threshold(F, i)["threshold"])


def test_fwhm_threshold_interpolates_the_midpoint_crossing_in_log_fluence():
    w = np.array([23.0, 23.0, 23.0, 23.0, 23.0, 20.0, 16.0, 14.0, 14.0, 14.0, 14.0])
    r = fwhm_threshold(F, w, method="midpoint")
    # midpoint 18.5 lies half-way between 20 (12 mJ/cm2) and 16 (13 mJ/cm2) in width
    expected = np.exp(np.log(12.0) + 0.375 * np.log(13.0 / 12.0))
    assert r["midpoint"] == pytest.approx(18.5)
    assert r["threshold"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("method", ["onset", "midpoint"])
def test_fwhm_threshold_without_narrowing_is_nan(method):
    assert np.isnan(fwhm_threshold(F, np.full(F.size, 20.0), method=method)["threshold"])
    w = np.linspace(23, 14, F.size)
    w[4] = np.nan
    assert np.isnan(fwhm_threshold(F, w, method=method)["threshold"])


@pytest.mark.parametrize("f_on", [12.4, 14.3, 15.0])
def test_fwhm_onset_is_the_kink_of_a_flat_then_falling_width(f_on):
    # constant PL width, then gain narrowing linear in log fluence: the onset is exact
    w = np.where(F < f_on, 23.0, 23.0 - 25.0 * np.log(F / f_on))
    r = fwhm_threshold(F, w)
    assert FWHM_METHOD == "fwhm_onset_hinge_fit"
    assert r["threshold"] == pytest.approx(f_on, rel=1e-9)
    assert r["fwhm_pl"] == pytest.approx(23.0, rel=1e-9)
    assert r["slope_below"] == pytest.approx(0.0, abs=1e-9)
    assert r["slope_above"] == pytest.approx(-25.0, rel=1e-9)
    assert r["fwhm_ase"] == pytest.approx(w[-1])


def test_fwhm_onset_precedes_the_midpoint_and_is_vectorized(rng):
    w = np.where(F < 14.3, 23.0, 23.0 - 25.0 * np.log(F / 14.3))
    noisy = w + rng.normal(0.0, 0.2, (40, F.size))
    on = fwhm_onset_threshold(F, noisy)["threshold"]
    mid = fwhm_threshold(F, noisy, method="midpoint")["threshold"]
    assert on.shape == (40,)
    assert np.all(on < mid)
    assert abs(np.median(on) - 14.3) < 0.3


def test_fwhm_threshold_rejects_unknown_method_and_too_few_points():
    with pytest.raises(DataValidationError, match="onset"):
        fwhm_threshold(F, np.full(F.size, 20.0), method="kink")
    with pytest.raises(DataValidationError, match=">= 7"):
        fwhm_onset_threshold(F[:5], np.full(5, 20.0))


@pytest.mark.parametrize("m", [1.0, 1.7, 2.0, 3.0])
def test_loglog_slope_of_a_power_law(m):
    r = loglog_slope(F, 3e4 * F**m)
    assert r["slope"] == pytest.approx(m, rel=1e-12)
    assert r["intercept"] == pytest.approx(np.log(3e4), rel=1e-12)


def test_loglog_slope_respects_the_upper_fluence_per_sample():
    i = np.where(F < 12, F**2, F**8 / 12.0**6)
    r = loglog_slope(F, np.stack([i, i]), np.array([12.0, 100.0]))
    assert r["slope"][0] == pytest.approx(2.0, rel=1e-12)
    assert r["n_points"][0] == 5
    assert r["slope"][1] > 2.5
    assert np.isnan(loglog_slope(F, i, 7.0)["slope"])  # one point is not a slope


def test_photon_order():
    assert photon_order(1.7) == 2
    assert photon_order(2.9) == 3
    assert photon_order(0.2) == 1
    assert photon_order(float("nan")) is None
