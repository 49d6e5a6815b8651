"""Figures, the observables table (graded against a target set if one is given) and the
self-contained HTML report.

- `describe_rows`: the table rows of any analysis (observable, value, ci95, unit);
- `grade` / `TargetSet` / `read_targets`: rows judged against a target set (TOML data);
- `make_figure` / `FIGURES`: the figures from a Dataset and an analysis;
- `build_report`: rows + figures + HTML; `report_from_path` /
  `report_from_inputs`: the `polase report` command.
"""

from __future__ import annotations

from .._json import dumps_json
from .build import (
    Report,
    build_report,
    load_report_inputs,
    report_from_inputs,
    report_from_path,
    write_figures,
)
from .figures import FIGURES, MissingDataError, make_figure
from .html import ReportContent, ReportFigure, render_html
from .summary import pass_fraction
from .targets import Target, TargetSet, Tolerance, describe_rows, grade, read_targets

__all__ = [
    "FIGURES",
    "MissingDataError",
    "Report",
    "ReportContent",
    "ReportFigure",
    "Target",
    "TargetSet",
    "Tolerance",
    "build_report",
    "describe_rows",
    "dumps_json",
    "grade",
    "load_report_inputs",
    "make_figure",
    "pass_fraction",
    "read_targets",
    "render_html",
    "report_from_inputs",
    "report_from_path",
    "write_figures",
]
