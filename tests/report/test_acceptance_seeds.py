"""Acceptance: at least 90 % of the summary rows pass for each of 10 non-default seeds.

The same pipeline as `polase reproduce` (digital twin -> raw OceanView/DAS6 files ->
polase.io -> polase.analysis -> summary rows), without figures and without fitting the
decays the summary does not use; 200 bootstrap samples, since pass/fail depends on the
point estimates only. The exposure is the one the default run chooses, found once.
"""

from __future__ import annotations

import numpy as np
import pytest

from polase.paper.photonics2022.reproduce import (
    DEFAULT_REPEATS,
    DEFAULT_SEED,
    run_pipeline,
    simulate_experiment,
)

N_SEEDS = 10


@pytest.mark.slow
def test_at_least_90_percent_of_rows_pass_for_10_other_seeds():
    """Every seed: at least 90 % of the 12 measured rows within tolerance."""
    t_int = float(np.ravel(simulate_experiment(DEFAULT_SEED, 2)["integration_time"].values)[0])
    failures = {}
    for seed in range(DEFAULT_SEED + 1, DEFAULT_SEED + 1 + N_SEEDS):
        rows = run_pipeline(
            seed, DEFAULT_REPEATS, integration_time_s=t_int, n_bootstrap=200, fit_all_decays=False
        ).rows
        measured = [r for r in rows if r["kind"] == "measured" and r["group"] == "headline"]
        assert len(measured) == 12
        bad = [(r["observable"], r["value"]) for r in measured if r["pass"] is not True]
        if len(measured) - len(bad) < 0.9 * len(measured):
            failures[seed] = bad
    assert failures == {}, f"seeds with fewer than 90 % of rows passing: {failures}"
