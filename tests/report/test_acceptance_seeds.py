"""Acceptance on 10 non-default seeds: the headline rows fail only where the packaged
set's conflicts with the paper are documented (docs/model.md section 9, README), and the
conflicts that are physics, not noise, fail on every seed.

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
def test_other_seeds_fail_only_the_documented_conflicts(reproduce_conflicts):
    """Every seed: each headline row passes unless it is a documented conflict, and the
    headline rows that always conflict fail (a seed that passes them would mean the
    conflict is noise, and the docs wrong)."""
    t_int = float(np.ravel(simulate_experiment(DEFAULT_SEED, 2)["integration_time"].values)[0])
    documented = reproduce_conflicts["always"] | reproduce_conflicts["sometimes"]
    undocumented, passing_conflicts, n_pass = {}, {}, {}
    for seed in range(DEFAULT_SEED + 1, DEFAULT_SEED + 1 + N_SEEDS):
        rows = run_pipeline(
            seed, DEFAULT_REPEATS, integration_time_s=t_int, n_bootstrap=200, fit_all_decays=False
        ).rows
        measured = [r for r in rows if r["kind"] == "measured" and r["group"] == "headline"]
        assert len(measured) == 12
        bad = {r["key"]: r["value"] for r in measured if r["pass"] is not True}
        n_pass[seed] = len(measured) - len(bad)
        if set(bad) - documented:
            undocumented[seed] = {k: v for k, v in bad.items() if k not in documented}
        keys = {r["key"] for r in measured}
        if (reproduce_conflicts["always"] & keys) - set(bad):
            passing_conflicts[seed] = sorted((reproduce_conflicts["always"] & keys) - set(bad))
    assert undocumented == {}, f"undocumented failures (headline rows passing {n_pass})"
    assert passing_conflicts == {}, "documented conflicts that pass on some seeds"
