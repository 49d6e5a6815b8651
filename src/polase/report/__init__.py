"""Figures, the "paper vs polase" summary table and the self-contained HTML report.

- `summary_rows`: the table rows (observable, paper, value, ci95, tolerance, unit, pass);
- `make_figure` / `FIGURES`: the paper's figures from a Dataset and an analysis;
- `build_report`: rows + figures + HTML; `report_from_path`: the `polase report` command.
"""

from __future__ import annotations

from .build import (
    Report,
    build_report,
    dumps_json,
    load_report_inputs,
    report_from_path,
    write_figures,
)
from .figures import FIGURES, MissingDataError, make_figure
from .html import ReportContent, ReportFigure, render_html
from .summary import pass_fraction, summary_rows

__all__ = [
    "FIGURES",
    "MissingDataError",
    "Report",
    "ReportContent",
    "ReportFigure",
    "build_report",
    "dumps_json",
    "load_report_inputs",
    "make_figure",
    "pass_fraction",
    "render_html",
    "report_from_path",
    "summary_rows",
    "write_figures",
]
