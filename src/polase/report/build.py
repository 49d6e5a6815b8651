"""Assemble a report (table rows, figures, HTML) from an analysis and write it out.

`build_report` works with whatever it is given: a results dict alone gives the table and
the figures drawn from per-fluence numbers; a Dataset adds the spectra figures; decay
curves add the decay figure; the decays' phasors (computed by the caller with
`polase.analysis.phasor.decay_phasors`) add the phasor figure. Without a target set the table reports the observables
(`polase.report.targets.describe_rows`); with one it grades them
(`polase.report.targets.grade`). `load_report_inputs` finds those pieces in a
`polase reproduce` folder, a results.json from `polase analyze`, or a summary.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import write_text_atomic
from ..errors import InputFileError, PolaseError
from .figures import FIGURES, MissingDataError, make_figure, render
from .html import ReportContent, ReportFigure, render_html
from .summary import decays_from_results
from .targets import TargetSet, describe_rows, figure_hints, grade

#: Default page title.
TITLE = "polase report"


@dataclass
class Report:
    """A built report.

    Attributes
    ----------
    rows
        Summary rows (see `polase.report.summary`).
    figures
        Rendered figures (PNG and SVG bytes).
    omitted
        ``(name, caption, reason)`` of figures left out.
    html
        The self-contained page.
    """

    rows: list[dict[str, Any]]
    figures: list[ReportFigure] = field(default_factory=list)
    omitted: list[tuple[str, str, str]] = field(default_factory=list)
    html: str = ""


def build_report(
    results: Mapping[str, Any],
    ds=None,
    decays: Mapping[Any, Mapping[str, Any]] | None = None,
    *,
    rows: Sequence[Mapping[str, Any]] | None = None,
    spin_relaxation_ns: float | None = None,
    targets: TargetSet | None = None,
    captions: Mapping[str, str] | None = None,
    citation: str | None = None,
    title: str = TITLE,
    facts: Sequence[tuple[str, str]] = (),
    details: Mapping[str, Any] | None = None,
    svg: bool = True,
    on_figure: Callable[[str], None] | None = None,
    polarization=None,
    spin_relaxation: Mapping[str, Any] | None = None,
    phasors: Mapping[str, Any] | str | None = None,
) -> Report:
    """Build the summary table, the figures and the HTML page.

    Parameters
    ----------
    results
        Analysis results (results.json schema).
    ds : xarray.Dataset, optional
        The measurement (or simulated) Dataset the results came from; needed for the
        spectra figures (1b, 2a, 3a-c).
    decays
        Decay fits with curves keyed by detection wavelength [nm] (see `figures.fig2c`).
    rows
        Precomputed table rows; if None, `targets` graded against `results` and `decays`,
        or (without targets) the observables reported without verdicts.
    spin_relaxation_ns
        Model spin relaxation time for an ``input`` row of `targets`. [ns]
    targets
        Target set to grade against (e.g. `polase.paper.load_target_set("photonics2022")`);
        it also sets the switching panels and the reference points of the Delta figure.
    captions
        Figure captions by name, replacing the generic ones of `FIGURES`.
    citation
        What precomputed `rows` were graded against (default: the citation of `targets`).
    title, facts, details
        Page title, run facts and collapsed provenance.
    svg
        Also render every figure as SVG.
    on_figure
        Called with each figure name after it is done (progress reporting).
    polarization
        A joint fit of a polarization-resolved decay pair (`PolarizationFit` or its
        `polase.report.polarization.fit_to_dict` form): adds the ``polarization_fit`` and
        ``polarization_ratio`` figures, and for a helicity pair its tau_s is the
        ``spin_relaxation`` of `targets` unless `spin_relaxation` is given.
    spin_relaxation
        tau_s measured from a sigma+ / sigma- pair, for a ``helicity_tau_s`` row of
        `targets` (the keys of `fit_helicity_pair`'s summary).
    phasors
        The calibrated phasors of the decays (`polase.analysis.phasor.decay_phasors`, or
        summary.json ``phasors``): adds the ``phasor`` figure. A str says why there are none
        and becomes the figure's omission reason. The report draws them, it computes none.

    Returns
    -------
    Report
    """
    if spin_relaxation is None and polarization is not None:
        summary = (
            polarization.get("summary")
            if isinstance(polarization, Mapping)
            else getattr(polarization, "summary", None)
        )
        if isinstance(summary, Mapping) and "tau_s_ns" in summary:
            spin_relaxation = summary
    if rows is None:
        if targets is not None:
            context = {
                "spin_relaxation_ns": spin_relaxation_ns,
                "spin_relaxation": spin_relaxation,
            }
            rows = grade(targets, results, decays, context)
        else:
            rows = describe_rows(results, decays)
    report = Report(rows=[dict(r) for r in rows])
    hints = figure_hints(targets)
    for name, caption in FIGURES:
        caption = (captions or (targets.captions if targets is not None else {})).get(name, caption)
        try:
            fig = make_figure(
                name,
                ds=ds,
                results=results,
                decays=decays,
                polarization=polarization,
                phasors=phasors,
                **hints,
            )
        except MissingDataError as exc:
            report.omitted.append((name, caption, str(exc)))
        else:
            report.figures.append(
                ReportFigure(name, caption, render(fig, "png"), render(fig, "svg") if svg else None)
            )
        if on_figure is not None:
            on_figure(name)
    content = ReportContent(
        title=title,
        rows=report.rows,
        figures=report.figures,
        omitted=report.omitted,
        facts=facts,
        decays={k: v for k, v in (decays or {}).items()},
        details=details,
        citation=citation or (targets.citation if targets is not None else ""),
        description=targets.description if targets is not None else "",
    )
    report.html = render_html(content)
    return report


def write_figures(report: Report, folder: str | Path, overwrite: bool = False) -> list[Path]:
    """Write every figure of `report` into `folder` as NAME.png and NAME.svg."""
    from .._files import write_bytes_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for f in report.figures:
        written.append(write_bytes_atomic(folder / f"{f.name}.png", f.png, overwrite))
        if f.svg is not None:
            written.append(write_bytes_atomic(folder / f"{f.name}.svg", f.svg, overwrite))
    return written


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON: {exc.msg}", exc.lineno) from None
    except OSError as exc:
        raise InputFileError(path, f"cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise InputFileError(path, "expected a JSON object (results.json or summary.json)")
    return data


_DATASET_NAMES = ("simulated.nc", "measurement.nc", "dataset.nc", "features.nc")


def _open_dataset(path: Path):
    import xarray as xr

    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except (OSError, ValueError) as exc:
        raise InputFileError(path, f"cannot open as NetCDF: {exc}") from None


def load_report_inputs(path: str | Path) -> dict[str, Any]:
    """Find results, decays, Dataset and provenance for `polase report`.

    Parameters
    ----------
    path
        A folder written by `polase reproduce` (summary.json, simulated.nc), a folder
        holding a results.json (and optionally a NetCDF Dataset), or a JSON file: a
        summary.json from `polase reproduce` or a results.json from `polase analyze`.

    Returns
    -------
    dict
        ``results``, ``decays`` (or None), ``ds`` (or None), ``spin_relaxation_ns``,
        ``facts``, ``details``, ``rows`` (the graded rows a summary.json holds, or None),
        ``targets`` (the name of the target set they were graded against, or None),
        ``polarization`` (a summary.json's joint polarization fit, `fit_to_dict` form, or
        None), ``spin_relaxation`` (its measured tau_s, or None), ``phasors`` (a
        summary.json's phasors of the decays, `polase.analysis.phasor.decay_phasors` form,
        or None: an older summary.json or a results.json has none) and ``source`` (the
        files used).

    Raises
    ------
    InputFileError
        If nothing usable is found or a file cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(
            p, "no such file or folder; give a results folder, results.json or summary.json"
        )
    folder = p if p.is_dir() else p.parent
    if p.is_dir():
        for name in ("summary.json", "results.json"):
            if (p / name).is_file():
                json_path = p / name
                break
        else:
            raise InputFileError(
                p,
                "folder has neither summary.json (polase reproduce) nor results.json (polase analyze)",
            )
    else:
        if p.suffix.lower() != ".json":
            raise InputFileError(
                p, "expected a folder or a .json file (results.json or summary.json)"
            )
        json_path = p
    data = _read_json(json_path)
    if "results" in data and isinstance(data["results"], Mapping):  # summary.json
        results = _typed(data["results"], json_path)
        decays = data.get("decays") or None
        spin = data.get("spin_relaxation_ns")
        facts = [tuple(f) for f in data.get("facts", [])]
        details = data.get("details")
        rows = data.get("rows") if isinstance(data.get("rows"), list) else None
        target_name = data.get("targets") if isinstance(data.get("targets"), str) else None
        polarization = (
            data.get("polarization") if isinstance(data.get("polarization"), Mapping) else None
        )
        spin_meas = (
            data.get("spin_relaxation")
            if isinstance(data.get("spin_relaxation"), Mapping)
            else None
        )
        phasors = data.get("phasors") if isinstance(data.get("phasors"), Mapping) else None
    elif "per_fluence" in data or "threshold_mJ_cm2" in data:  # results.json
        results, decays, spin, details = _typed(data, json_path), None, None, None
        rows, target_name, polarization, spin_meas, phasors = None, None, None, None, None
        facts = [("source", f"analysis results ({data.get('source', 'unknown')})")]
    else:
        raise InputFileError(
            json_path,
            "neither a summary.json (key 'results') nor a results.json (key 'per_fluence')",
        )
    decays = _decays_with_curves(decays) or decays_from_results(results)
    ds = None
    ds_path = None
    if p.is_dir() or json_path.name in ("summary.json", "results.json"):
        for name in _DATASET_NAMES:
            if (folder / name).is_file():
                ds_path = folder / name
                break
    if ds_path is not None:
        cand = _open_dataset(ds_path)
        if "spectrum" in cand.variables:
            ds = cand
    if ds is None and isinstance(results.get("input"), str):
        # `polase analyze` records its INPUT: reload the measurement for the spectra figures
        ds, ds_path = _load_analyzed_input(results["input"], folder)
    return {
        "results": results,
        "decays": decays,
        "ds": ds,
        "spin_relaxation_ns": spin,
        "facts": facts,
        "details": details,
        "rows": rows,
        "targets": target_name,
        "polarization": polarization,
        "spin_relaxation": spin_meas,
        "phasors": phasors,
        "source": [str(json_path)] + ([str(ds_path)] if ds is not None else []),
    }


def _typed(data: Mapping[str, Any], path: Path):
    """The analysis in a JSON file as an `AnalysisResult` (schema checked)."""
    from ..analysis.result import AnalysisResult
    from ..errors import DataValidationError

    try:
        return AnalysisResult.from_dict(data, str(path))
    except DataValidationError as exc:
        raise InputFileError(path, str(exc).removeprefix(f"{path}: ")) from None


def _load_analyzed_input(recorded: str, folder: Path):
    """The measurement `polase analyze` read (path as recorded, or relative to `folder`)."""
    from ..io import read_measurement

    for cand in (Path(recorded), folder / recorded):
        if cand.exists():
            try:
                ds = read_measurement(cand)
            except PolaseError:
                return None, None  # unreadable now: the report goes on without spectra
            return (ds, cand) if "spectrum" in ds.variables else (None, None)
    return None, None


def _decays_with_curves(decays) -> dict[str, dict[str, Any]] | None:
    """Normalise decays from JSON: keys as wavelength strings; lists stay lists."""
    if not decays or not isinstance(decays, Mapping):
        return None
    out = {}
    for k, v in decays.items():
        if not isinstance(v, Mapping):
            continue
        try:
            key = f"{float(k):g}"
        except (TypeError, ValueError):
            continue
        out[key] = dict(v)
    return out or None


def report_from_path(
    path: str | Path,
    output: str | Path,
    overwrite: bool = False,
    targets: TargetSet | None = None,
    captions: Mapping[str, str] | None = None,
) -> Report:
    """Build the report from a results folder or JSON and write `output`.

    The phasor figure is drawn from the phasors the inputs hold (summary.json
    ``phasors``); `polase report` computes them for inputs without (`load_report_inputs`,
    then `report_from_inputs`).

    Parameters
    ----------
    path
        See `load_report_inputs`.
    output
        HTML file to write (never overwritten unless `overwrite`).
    overwrite
        Replace an existing `output`.
    targets
        Target set to grade against. None: a summary.json's own graded rows are kept
        (``polase reproduce`` graded them); any other results are reported without
        verdicts.
    captions
        Figure captions by name (see `build_report`).

    Returns
    -------
    Report
    """
    from .._files import check_writable

    check_writable(output, overwrite)  # fail before the work, not after
    return report_from_inputs(load_report_inputs(path), output, overwrite, targets, captions)


def report_from_inputs(
    inp: Mapping[str, Any],
    output: str | Path,
    overwrite: bool = False,
    targets: TargetSet | None = None,
    captions: Mapping[str, str] | None = None,
) -> Report:
    """Build the report from `load_report_inputs`'s dict and write `output`.

    Parameters
    ----------
    inp
        From `load_report_inputs`; its ``phasors`` may have been filled in by the caller
        (a mapping, or a str: why there are none).
    output, overwrite, targets, captions
        See `report_from_path`.

    Returns
    -------
    Report
    """
    from .._files import check_writable

    out = check_writable(output, overwrite)
    facts = list(inp["facts"]) or [("source", "analysis results")]
    facts.append(("read from", ", ".join(Path(s).name for s in inp["source"])))
    rows = inp["rows"] if targets is None else None
    if rows is not None and inp["targets"]:
        facts.append(("graded against", str(inp["targets"])))
    report = build_report(
        inp["results"],
        ds=inp["ds"],
        decays=inp["decays"],
        rows=rows,
        citation=inp["targets"] if rows is not None else None,
        spin_relaxation_ns=inp["spin_relaxation_ns"],
        targets=targets,
        captions=captions,
        facts=facts,
        details=inp["details"],
        svg=False,
        polarization=inp["polarization"],
        spin_relaxation=inp["spin_relaxation"],
        phasors=inp.get("phasors"),
    )
    write_text_atomic(out, report.html, overwrite)
    return report
