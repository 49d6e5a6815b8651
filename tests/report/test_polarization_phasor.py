"""Report figures of polarization-resolved pairs and phasors: drawn when the data have
them, left out (with the reason) when not, and carried through summary.json.

The phasors are computed by the analysis (`polase.analysis.phasor.decay_phasors`) and
given to the report, which draws them; `polase report` computes them for an older
summary.json that lacks them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from polase._json import dumps_json
from polase.analysis.phasor import decay_phasors, report_harmonic
from polase.errors import DataValidationError
from polase.paper.photonics2022 import TARGETS
from polase.report import build_report, load_report_inputs, report_from_path
from polase.report.figures import MissingDataError, make_figure
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
    synth_results, synth_decays, synth_polarization, synth_phasors
):
    rep = build_report(
        synth_results,
        None,
        synth_decays,
        polarization=synth_polarization,
        phasors=synth_phasors,
    )
    assert set(NEW) <= {f.name for f in rep.figures}
    for f in rep.figures:
        if f.name in NEW:
            assert f.png.startswith(b"\x89PNG") and b"<svg" in f.svg[:2000]
            assert f'id="{f.name}"' in rep.html
    # no pair, decays without a laser period: left out with the reason, no error
    no_period = {k: {**v, "repetition_period_ns": None} for k, v in synth_decays.items()}
    with pytest.raises(DataValidationError, match="repetition period") as exc:
        decay_phasors(no_period)  # the caller passes the reason on to the report
    rep = build_report(synth_results, None, no_period, phasors=str(exc.value))
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
    result = decay_phasors(synth_decays)
    labels, fits = result["labels"], result["fits"]
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
    fig = make_figure("phasor", phasors=json.loads(dumps_json(result)))  # as in summary.json
    assert fig.axes[0].get_xlabel() == "g"
    # the report draws given phasors only: decays alone do not make the figure
    with pytest.raises(MissingDataError, match="phasors of the decays"):
        make_figure("phasor", decays=synth_decays)


def test_report_harmonic():
    assert report_harmonic(40000.0, 3.0, 0.0274) == round(40000 / (2 * np.pi * 3.0))
    assert report_harmonic(12.5, 100.0, 0.01) == 1  # never below the fundamental
    assert report_harmonic(100.0, 1e-4, 0.5) == 100  # never above the Nyquist harmonic
    with pytest.raises(DataValidationError, match="repetition period"):
        decay_phasors({"533": {"time_ns": [0, 1], "counts": [1, 1], "irf": [1, 0]}})


def _summary(synth_results, synth_decays, phasors=None) -> dict:
    """A summary.json as `polase reproduce` writes it (decays with their curves)."""
    out = {"results": synth_results, "decays": synth_decays}
    return out if phasors is None else {**out, "phasors": phasors}


def test_summary_phasors_are_read_back_and_drawn(tmp_path, synth_results, synth_decays):
    ph = decay_phasors(synth_decays)
    src = tmp_path / "summary.json"
    src.write_text(dumps_json(_summary(synth_results, synth_decays, ph)))
    inp = load_report_inputs(src)
    assert inp["phasors"]["labels"] == ph["labels"]
    np.testing.assert_allclose(inp["phasors"]["g"], ph["g"])
    rep = report_from_path(src, tmp_path / "r.html")
    assert "phasor" in {f.name for f in rep.figures}


def test_older_summary_without_phasors(tmp_path, synth_results, synth_decays):
    """The report alone leaves the figure out, saying why; `polase report` computes the
    phasors at the command's edge, so an older folder still gets the figure."""
    from polase.cli import main

    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "summary.json").write_text(dumps_json(_summary(synth_results, synth_decays)))
    assert load_report_inputs(folder)["phasors"] is None
    rep = report_from_path(folder, tmp_path / "lib.html")
    omitted = {n: r for n, _, r in rep.omitted}
    assert "phasors of the decays" in omitted["phasor"]
    out = tmp_path / "cli.html"
    res = CliRunner().invoke(main, ["report", str(folder), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert 'id="phasor"' in out.read_text(encoding="utf-8")
    assert "figure phasor left out" not in res.output
    res = CliRunner().invoke(main, ["report", str(folder), "-o", str(out)])
    assert res.exit_code == 1 and "exists" in res.output  # checked before any work
    # decays without histograms (a results.json): left out, with the analysis's reason
    plain = tmp_path / "results.json"
    plain.write_text(dumps_json(synth_results))
    res = CliRunner().invoke(main, ["report", str(plain), "-o", str(tmp_path / "p.html")])
    assert res.exit_code == 0, res.output
    assert "figure phasor left out" in res.output and "repetition period" in res.output
