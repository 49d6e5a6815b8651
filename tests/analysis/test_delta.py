"""Polarization contrast with acquisition-order pairing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from polase.analysis.delta import delta_contrast, mean_ci, paired_ratios
from polase.errors import DataValidationError


def test_linear_drift_cancels_with_interleaved_pairing():
    r, true = 6, 0.15
    acq_l = np.arange(r) * 2  # L at 0, 2, 4 ...
    acq_c = acq_l + 1  # C half-way between
    drift = 1 + 0.03 * np.arange(2 * r)  # 3 % per acquisition, linear
    il = (100 * drift[acq_l])[None, :]
    ic = (100 * (1 + true) * drift[acq_c])[None, :]
    d = paired_ratios(il, ic, acq_l[None, :], acq_c[None, :])
    # every pair except the last (no later L to interpolate with) is exact
    np.testing.assert_allclose(d[0, :-1], true, rtol=1e-12)
    naive = ic / il - 1
    assert np.all(naive[0] > true + 0.004)  # pairing by repeat alone is biased by the drift


def test_acquisition_order_not_repeat_order_decides_the_pairs():
    il = np.array([[100.0, 200.0]])
    ic = np.array([[220.0, 110.0]])
    # C0 was taken right after L1, C1 right after L0
    d = paired_ratios(il, ic, np.array([[0, 10]]), np.array([[11, 1]]))
    # C0 follows the last L (clamped: 220 / 200); C1 sits 1/10 of the way from L0 to L1
    # (interpolated reference 110)
    np.testing.assert_allclose(d, [[0.1, 0.0]], atol=1e-12)


def test_t_interval_matches_scipy(rng):
    v = rng.normal(0.1, 0.02, (3, 5))
    _m, ci = mean_ci(v)
    for k in range(3):
        lo, hi = stats.t.interval(0.95, 4, loc=v[k].mean(), scale=stats.sem(v[k]))
        assert ci[k] == pytest.approx([lo, hi], rel=1e-12)
    assert np.isnan(mean_ci(v[:, :1])[1]).all()


def test_delta_interval_covers_truth_at_the_nominal_rate(rng):
    true = 0.12
    hits = 0
    n = 400
    for _ in range(n):
        il = 1000 * (1 + rng.normal(0, 0.02, (1, 5)))
        ic = 1000 * (1 + true) * (1 + rng.normal(0, 0.02, (1, 5)))
        ci = delta_contrast(il, ic)["ci95"][0]
        hits += ci[0] <= true <= ci[1]
    # 95 % nominal; binomial sd over 400 trials is 1.1 %
    assert 0.91 <= hits / n <= 0.99


def test_masked_reference_is_never_borrowed_silently():
    il = np.array([[100.0, np.nan, 100.0]])
    ic = np.array([[110.0, 110.0, 110.0]])
    d = paired_ratios(il, ic, np.array([[0, 2, 4]]), np.array([[1, 3, 5]]))
    # C0 and C1 would interpolate with the masked L1: NaN; C2 follows L2 only: finite
    assert np.isnan(d[0, 0]) and np.isnan(d[0, 1])
    assert d[0, 2] == pytest.approx(0.1)
    r = delta_contrast(il, ic, np.array([[0, 2, 4]]), np.array([[1, 3, 5]]))
    assert np.isnan(r["delta"][0]) and np.isnan(r["ci95"][0]).all()


def test_bad_inputs_raise():
    with pytest.raises(DataValidationError, match="both polarizations"):
        paired_ratios(np.ones((1, 2)), np.ones((1, 2)), np.zeros((1, 2)))
    with pytest.raises(DataValidationError, match="repeat"):
        paired_ratios(np.ones((1, 2)), np.ones((1, 2)), np.zeros((1, 2)), np.ones((1, 2)))


def test_delta_of_means_propagates_relative_errors():
    from polase.analysis.delta import delta_of_means

    d, err = delta_of_means([1.1, 2.0], [1.0, 2.0], [0.011, 0.0], [0.01, 0.02])
    np.testing.assert_allclose(d, [0.1, 0.0], atol=1e-15)
    np.testing.assert_allclose(err, [1.1 * np.hypot(0.01, 0.01), 1.0 * 0.01])
    assert delta_of_means(3.0, 2.0)[1] is None
