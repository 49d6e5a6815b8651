"""compare_mechanisms on a 2-worker dask cluster: the same comparison as the serial path."""

from __future__ import annotations

import numpy as np
import pytest

from polase.inverse import ToyModel, compare_mechanisms, reduce_measurement
from polase.inverse.observables import DEFAULT_BANDS

from .conftest import simulate_for_fit, twin_model_for

pytest.importorskip("distributed")


def _same(a, b):
    """Every number of two comparisons equal (ranking, fits, predictions, verdict)."""
    assert [r.mechanism for r in a.results] == [r.mechanism for r in b.results]
    for ra, rb in zip(a.results, b.results):
        np.testing.assert_equal(ra.values, rb.values)
        np.testing.assert_equal((ra.bic, ra.chi2, ra.nfev), (rb.bic, rb.chi2, rb.nfev))
        np.testing.assert_equal(ra.ci95, rb.ci95)
        np.testing.assert_array_equal(ra.model_y, rb.model_y)
    assert list(a.predictions) == list(b.predictions)
    for k, pa in a.predictions.items():
        pb = b.predictions[k]
        np.testing.assert_array_equal(pa.delta_ase_fluence, pb.delta_ase_fluence)
        np.testing.assert_array_equal(pa.delta_pl_fluence, pb.delta_pl_fluence)
        np.testing.assert_array_equal(pa.delta_ase_angle, pb.delta_ase_angle)
    assert a.rival == b.rival and a.rival_delta_bic == b.rival_delta_bic
    np.testing.assert_equal(a.evidence, b.evidence)
    assert a.message == b.message
    assert a.n_forward == b.n_forward


def test_toy_comparison_on_two_workers_equals_serial():
    m = ToyModel()
    obs = m.simulate(
        "orbit_orbit", np.arange(4.0, 20.01, 2.0), [0.0, 45.0, 90.0], repeats=4, seed=3
    )
    serial = compare_mechanisms(m, obs)
    calls = m.n_calls
    seen = []
    dist = compare_mechanisms(
        m, obs, workers=2, processes=False, progress=lambda n, i, k: seen.append((n, i, k))
    )
    _same(serial, dist)
    # combinations are among the default candidates, so the second stage ran too
    assert any("+" in r.mechanism for r in dist.results)
    assert [i for _, i, _ in seen] == list(range(len(serial.results)))
    # the workers' forward runs are counted on the caller's model
    assert m.n_calls - calls == dist.n_forward > 0


def test_twin_comparison_on_two_workers_equals_serial():
    ds = simulate_for_fit(
        "dichroism", seed=4, fluence=[12.0, 15.0, 17.0, 19.0], angles=[0.0, 45.0], repeats=3
    )
    obs = reduce_measurement(ds, windows=DEFAULT_BANDS)
    model, _ = twin_model_for(ds)
    cands = ["dichroism", "orbit_orbit", "orbit_orbit+dichroism"]
    serial = compare_mechanisms(model, obs, cands, max_nfev=6)
    dist = compare_mechanisms(model, obs, cands, max_nfev=6, workers=2, processes=False)
    _same(serial, dist)
