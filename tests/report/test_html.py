"""The HTML report: self-contained, complete table, and `polase report` from a results file."""

from __future__ import annotations

import base64
import json
import re

import pytest

from polase.errors import InputFileError, OutputExistsError
from polase.paper.photonics2022 import TARGETS
from polase.report import build_report, dumps_json, report_from_path
from polase.report.figures import FIGURES


@pytest.fixture(scope="module")
def full_report(synth_ds, synth_results, synth_decays, synth_polarization, synth_phasors):
    return build_report(
        synth_results,
        synth_ds,
        synth_decays,
        spin_relaxation_ns=8.0,
        targets=TARGETS,
        facts=[("seed", "1")],
        polarization=synth_polarization,
        phasors=synth_phasors,
    )


def test_full_report_has_every_figure_and_row(full_report):
    assert [f.name for f in full_report.figures] == [n for n, _ in FIGURES]
    assert full_report.omitted == []
    html = full_report.html
    assert html.count('class="summary-row"') == len(full_report.rows) == len(TARGETS.targets)
    for f in full_report.figures:
        assert f'id="{f.name}"' in html
        assert f.svg is not None and f.svg.lstrip().startswith((b"<?xml", b"<svg"))
    measured = [r for r in full_report.rows if r["kind"] == "measured"]
    model = [r for r in full_report.rows if r["kind"] == "model"]
    recovery = [r for r in full_report.rows if r["kind"] == "recovery"]
    # every target is measured from the data except the check of the twin's gain, which
    # needs the twin's configuration; tau_s (from the sigma+/- pair's fit) is graded against
    # the twin's input, so it is a recovery row, left out of the score
    assert len(measured) + len(model) + len(recovery) == len(TARGETS.targets)
    assert [r["key"] for r in model] == ["gain_bound"]
    assert [r["key"] for r in recovery] == ["spin_relaxation"]
    assert recovery[0]["pass"] is True
    n_pass = sum(r["pass"] is True for r in measured)
    # the synthetic results are consistent with every measured target
    assert n_pass == len(measured)
    # no twin configuration here: the gain row has no value and is not passed
    assert model[0]["value"] is None and model[0]["pass"] is None
    assert f"{n_pass} of {len(measured) + 1} observables within tolerance" in html


def test_report_is_self_contained(full_report):
    html = full_report.html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", html), "external reference found"
    assert "<script" not in html and "@import" not in html and "url(" not in html
    imgs = re.findall(r'<img [^>]*src="data:image/png;base64,([^"]+)"', html)
    assert len(imgs) == len(FIGURES)
    for b64 in imgs:
        assert base64.b64decode(b64).startswith(b"\x89PNG")


def test_report_escapes_text(synth_results):
    rows = [
        {
            "observable": "<b>x</b> & y",
            "paper": 1.0,
            "value": 1.0,
            "unit": "nm",
            "pass": True,
            "kind": "measured",
        }
    ]
    html = build_report(synth_results, rows=rows, svg=False).html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt; &amp; y" in html


def test_report_from_results_json_leaves_out_what_it_cannot_draw(tmp_path, synth_results):
    src = tmp_path / "results.json"
    src.write_text(dumps_json(synth_results))
    out = tmp_path / "r.html"
    rep = report_from_path(src, out)
    assert out.read_text(encoding="utf-8") == rep.html
    drawn = {f.name for f in rep.figures}
    assert drawn == {"fig2b", "delta"}
    omitted = {name: reason for name, _, reason in rep.omitted}
    assert set(omitted) == {
        *("fig1b", "fig2a", "fig2c", "fig3"),
        *("polarization_fit", "polarization_ratio", "phasor"),
    }
    assert "Figures not shown" in rep.html and "needs TCSPC decays" in rep.html
    with pytest.raises(OutputExistsError):
        report_from_path(src, out)
    report_from_path(tmp_path, out, overwrite=True)  # a folder with results.json works too


def test_report_from_folder_with_dataset_draws_spectra(tmp_path, synth_ds, synth_results):
    (tmp_path / "results.json").write_text(dumps_json(synth_results))
    synth_ds.to_netcdf(tmp_path / "measurement.nc", engine="h5netcdf")
    rep = report_from_path(tmp_path, tmp_path / "report.html")
    assert {"fig1b", "fig2a", "fig3", "fig2b", "delta"} <= {f.name for f in rep.figures}
    assert [n for n, _, _ in rep.omitted] == [
        *("fig2c", "polarization_fit", "polarization_ratio", "phasor")
    ]


def test_report_input_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"per_fluence": [\n  1,\n  oops]}')
    with pytest.raises(InputFileError, match=r"bad.json, line 3"):
        report_from_path(bad, tmp_path / "o.html")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(InputFileError, match=r"neither a summary\.json"):
        report_from_path(other, tmp_path / "o.html")
    with pytest.raises(InputFileError, match="no such file or folder"):
        report_from_path(tmp_path / "nothing_here_dir_does_not_exist", tmp_path / "o.html")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match=r"neither summary\.json"):
        report_from_path(empty, tmp_path / "o.html")
    assert not (tmp_path / "o.html").exists()


def test_report_reloads_the_measurement_recorded_by_analyze(tmp_path, synth_ds, synth_results):
    data = tmp_path / "data"
    data.mkdir()
    synth_ds.to_netcdf(data / "sweep.nc", engine="h5netcdf")
    res_dir = tmp_path / "analysis"
    res_dir.mkdir()
    (res_dir / "results.json").write_text(
        dumps_json({**synth_results, "input": str(data / "sweep.nc")})
    )
    rep = report_from_path(res_dir / "results.json", tmp_path / "r.html")
    assert {"fig1b", "fig2a", "fig3"} <= {f.name for f in rep.figures}
    assert "sweep.nc" in rep.html  # the page says where the spectra came from
