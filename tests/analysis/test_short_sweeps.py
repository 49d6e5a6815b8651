"""Every analysis step degrades to a note on short sweeps instead of raising."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polase.analysis import AnalysisConfig, analyze

from .conftest import make_measurement


@pytest.mark.parametrize("fluences", [[8.2, 15.0, 16.0, 17.0], [16.0], [10.0, 17.0]])
def test_short_synthetic_sweeps_give_a_result_with_notes(fluences):
    ds = make_measurement(seed=2, fluence=fluences)
    res = analyze(ds, AnalysisConfig(n_bootstrap=200, band_fits=False))
    json.loads(res.to_json())
    # what needs many fluences is None with a reason ...
    assert res.threshold.value is None and res.threshold.note
    assert res.threshold_fwhm.value is None and res.threshold_fwhm.note
    assert res.slope.value is None and res.photon_order is None
    assert any(n.startswith("L-L threshold") for n in res.notes)
    assert any(n.startswith("FWHM threshold") for n in res.notes)
    # ... and everything one spectrum or one pair gives is still there
    assert res.pl_peak.value is not None and res.ase_fwhm.value is not None
    top = res.per_fluence[-1]
    assert top.delta_ase is not None and np.isfinite(top.delta_ase)
    assert len(res.per_fluence) == len(fluences)


def test_a_full_sweep_has_no_notes():
    res = analyze(make_measurement(seed=2), AnalysisConfig(n_bootstrap=200, band_fits=False))
    assert res.notes == []
    assert res.threshold.value is not None and res.threshold_fwhm.value is not None
    loc = res.slope_local
    assert loc["chord"] is not None and len(loc["local"]) == len(loc["fluence_mJ_cm2"]) > 0
    assert loc["max_deviation"] == pytest.approx(max(abs(x - loc["chord"]) for x in loc["local"]))


def test_the_readme_example_analyses():
    """README: ``polase.simulate(fluence=[8.2, 15, 16, 17], repeats=5, seed=1)`` then
    ``analyze(ds)`` (it raised "FWHM onset threshold needs >= 7 fluences")."""
    import polase

    ds = polase.simulate(fluence=[8.2, 15, 16, 17], repeats=5, seed=1)
    res = analyze(ds, AnalysisConfig(n_bootstrap=200))
    assert res.threshold_fwhm.value is None
    assert "needs >= 7 fluences" in res.threshold_fwhm.note
    assert any("7 fluences" in n for n in res.notes)
    assert [e.fluence_mJ_cm2 for e in res.per_fluence] == [8.2, 15.0, 16.0, 17.0]
    assert all(e.delta_ase is not None for e in res.per_fluence)


def test_local_slopes_of_a_power_law_equal_the_chord():
    """PL growing as F**1.7 (the synthetic truth): local and chord slopes agree."""
    from .conftest import noiseless_dataset

    ds = noiseless_dataset(make_measurement(seed=2, fluence=np.arange(2.0, 20.5, 0.5)))
    res = analyze(ds, AnalysisConfig(n_bootstrap=200, band_fits=False))
    loc = res.slope_local
    assert len(loc["local"]) >= 5
    assert loc["chord"] == pytest.approx(1.7, abs=0.05)
    assert loc["max_deviation"] < 0.02
