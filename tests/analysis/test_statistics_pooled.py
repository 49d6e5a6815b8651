"""The weighted mean of independent estimates (used for the pooled Delta_PL row)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from polase.analysis.statistics import weighted_mean_ci


def test_equal_weights_give_the_student_t_interval_of_the_mean():
    v = [0.1, -0.2, 0.05, 0.3]
    mean, ci = weighted_mean_ci(v)
    lo, hi = stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    assert mean == pytest.approx(np.mean(v))
    assert ci == pytest.approx([lo, hi])
    # a non-positive weight falls back to the plain mean
    assert weighted_mean_ci(v, [1.0, 2.0, 0.0, 1.0]) == (mean, ci)


def test_weights_pull_the_mean_and_short_inputs_degrade():
    mean, _ = weighted_mean_ci([0.0, 1.0], [3.0, 1.0])
    assert mean == pytest.approx(0.25)
    assert weighted_mean_ci([2.0]) == (2.0, None)
    assert weighted_mean_ci([]) == (None, None)
