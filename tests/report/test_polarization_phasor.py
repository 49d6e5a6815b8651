"""Report figures of polarization-resolved pairs and phasors: drawn when the data have
them, left out (with the reason) when not, and carried through summary.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polase.errors import DataValidationError
from polase.paper.photonics2022 import TARGETS
from polase.report import build_report
from polase.report.figures import MissingDataError, make_figure
from polase.report.phasor import decay_phasors, report_harmonic
from polase.report.polarization import fit_from_dict, fit_to_dict

NEW = ("polarization_fit", "polarization_ratio", "phasor")


def test_fit_survives_json(synth_polarization):
    back = fit_from_dict(json.loads(json.dumps(fit_to_dict(synth_polarization))))
    assert back.kind == "helicity" and back.summary["tau_s_ns"] == 8.0
    for name in synth_polarization.data:
        np.testing.assert_allclose(back.data[name], synth_polarization.data[name], rtol=1e-6)
        np.testing.assert_allclose(back.model[name], synth_polarization.model[name], rtol=1e-6)
    _, d_model = back.ratio()
    keep = np.isfinite(d_model) & (back.time_ns > 1.5) & (back.time_ns < 10)
    # the closed-form model's DCP, background removed, is DCP0 exp(-t / tau_s)
    np.testing.assert_allclose(d_model[keep], 0.5 * np.exp(-back.time_ns[keep] / 8.0), rtol=1e-5)
    bad = fit_to_dict(synth_polarization)
    bad["weight"] = bad["weight"][:-1]
    with pytest.raises(DataValidationError, match="match time_ns"):
        fit_from_dict(bad)
    with pytest.raises(DataValidationError, match="missing or malformed"):
        fit_from_dict({"kind": "helicity"})


def test_figures_present_with_the_data_and_absent_without(
    synth_results, synth_decays, synth_polarization
):
    rep = build_report(synth_results, None, synth_decays, polarization=synth_polarization)
    assert set(NEW) <= {f.name for f in rep.figures}
    for f in rep.figures:
        if f.name in NEW:
            assert f.png.startswith(b"\x89PNG") and b"<svg" in f.svg[:2000]
            assert f'id="{f.name}"' in rep.html
    # no pair, decays without a laser period: left out with the reason, no error
    no_period = {k: {**v, "repetition_period_ns": None} for k, v in synth_decays.items()}
    rep = build_report(synth_results, None, no_period)
    omitted = {n: r for n, _, r in rep.omitted}
    assert {f.name for f in rep.figures}.isdisjoint(NEW)
    assert "polarization-resolved" in omitted["polarization_fit"]
    assert "repetition period" in omitted["phasor"]
    for name in NEW:
        assert f'id="{name}"' not in rep.html


def test_tau_s_row_is_graded_from_the_pair(synth_results, synth_polarization):
    rows = build_report(synth_results, targets=TARGETS, polarization=synth_polarization).rows
    (row,) = [r for r in rows if r["key"] == "spin_relaxation"]
    assert row["kind"] == "recovery" and row["value"] == 8.0 and row["pass"] is True
    assert row["ci95"] == pytest.approx([7.76, 8.24])
    # an unresolved tau_s has no value, only its bound
    fit = fit_from_dict(fit_to_dict(synth_polarization))
    fit.summary.update(tau_s_ns=None, resolved=False, bound="upper", tau_s_ci95_ns=[None, 0.05])
    rows = build_report(synth_results, targets=TARGETS, polarization=fit).rows
    (row,) = [r for r in rows if r["key"] == "spin_relaxation"]
    assert row["value"] is None and row["pass"] is None
    assert "not resolved: tau_s < 0.05 ns (upper bound" in row["note"]
    # no pair at all
    rows = build_report(synth_results, targets=TARGETS).rows
    (row,) = [r for r in rows if r["key"] == "spin_relaxation"]
    assert row["value"] is None and "no sigma+ / sigma- decay pair" in row["note"]


def test_phasors_of_single_exponentials_lie_on_the_semicircle(synth_decays):
    """The synthetic decays are single exponentials convolved with the IRF: calibrated
    with that IRF their phasors lie on the semicircle at 1 / (1 + i w tau)."""
    result, labels, fits = decay_phasors(synth_decays)
    assert labels == ["543 nm", "533 nm"]
    h = result["harmonics"][0]
    w = 2 * np.pi * h / result["period_ns"]
    for (g,), (s,), fit in zip(result["g"], result["s"], fits):
        tau = fit["tau_ns"][0]
        assert g == pytest.approx(1 / (1 + (w * tau) ** 2), abs=0.02)
        assert s == pytest.approx(w * tau / (1 + (w * tau) ** 2), abs=0.02)
    # every decay keeps its own lifetimes (not the last decay's for all)
    assert len(result["tau_phase_ns"]) == len(fits) == 2
    for (tp,), fit in zip(result["tau_phase_ns"], fits):
        assert tp == pytest.approx(fit["tau_ns"][0], rel=0.1)
    fig = make_figure("phasor", decays=synth_decays)
    assert fig.axes[0].get_xlabel() == "g"


def test_report_harmonic():
    assert report_harmonic(40000.0, 3.0, 0.0274) == round(40000 / (2 * np.pi * 3.0))
    assert report_harmonic(12.5, 100.0, 0.01) == 1  # never below the fundamental
    assert report_harmonic(100.0, 1e-4, 0.5) == 100  # never above the Nyquist harmonic
    with pytest.raises(MissingDataError, match="repetition period"):
        decay_phasors({"533": {"time_ns": [0, 1], "counts": [1, 1], "irf": [1, 0]}})
