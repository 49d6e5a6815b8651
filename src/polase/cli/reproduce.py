"""`polase reproduce` and `polase report`."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from ..paper.photonics2022.reproduce import DEFAULT_REPEATS, DEFAULT_SEED
from ..report.targets import SCORED_KINDS
from ._options import output_option, overwrite_option, quiet_option, seed_option
from ._progress import Stages, stderr_console

#: Stages of `polase reproduce`, in order, as shown by the progress bars.
STAGES = ("simulate", "write raw files", "analyze spectra", "fit decays", "figures")


def summary_table(rows: Sequence[Mapping[str, Any]], title: str = "paper vs polase"):
    """The summary rows as a rich Table (for the terminal)."""
    from rich import box
    from rich.table import Table

    from ..report.summary import format_ci, format_value, verdict

    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    for name, kw in (
        ("observable", {"ratio": 1, "min_width": 18}),
        ("result", {"no_wrap": True}),
        ("unit", {"no_wrap": True}),
        ("paper", {"justify": "right"}),
        ("polase", {"justify": "right", "no_wrap": True}),
        ("95 % interval", {"justify": "right", "style": "dim", "no_wrap": True}),
        ("tolerance", {}),
    ):
        table.add_column(name, **kw)
    styles = {
        "pass": "green",
        "FAIL": "bold red",
        "input": "dim italic",
        "n/a": "yellow",
        "–": "dim",
    }
    for r in rows:
        v = verdict(r)
        table.add_row(
            str(r["observable"]),
            f"[{styles[v]}]{v}[/]",
            str(r.get("unit", "")),
            str(r.get("paper_text") or format_value(r.get("paper"))),
            format_value(r.get("value")),
            format_ci(r.get("ci95")),
            str(r.get("tolerance", "")),
        )
    return table


@click.command("reproduce")
@output_option(
    "Results folder (report.html, figures/, summary.json, raw/, simulated.nc).",
    folder=True,
    default=Path("polase-reproduce"),
)
@seed_option(DEFAULT_SEED)
@click.option(
    "--repeats",
    type=click.IntRange(min=2),
    default=DEFAULT_REPEATS,
    show_default=True,
    help="Acquisitions per fluence and polarization, taken as L, C, L, C, ...",
)
@overwrite_option("an existing results folder")
@quiet_option("No progress bars; print only the summary.")
@click.option("--strict", is_flag=True, help="Exit with status 1 unless every summary row passes.")
@click.option(
    "--acquire",
    is_flag=True,
    help="Acquire through the simulated bench (polase acquire, examples/paper.toml, with the "
    "table's noise) instead of writing the twin's spectra directly.",
)
def reproduce_cmd(
    output: Path,
    seed: int,
    repeats: int,
    overwrite: bool,
    quiet: bool,
    strict: bool,
    acquire: bool,
) -> None:
    """Reproduce the paper end to end: simulate, write raw files, analyze, report.

    The digital twin writes OceanView spectra, DAS6 decays and a manifest into
    OUT/raw; polase reads them back as measured files, runs the same analysis as
    `polase analyze` and `polase decay`, and writes OUT/report.html (self-contained),
    OUT/figures/*.png|svg, OUT/summary.json, OUT/results.json and OUT/simulated.nc.
    With --strict the exit status is 1 unless every summary row is within tolerance.
    With --acquire the paper's protocol runs on the simulated bench (motors,
    attenuator, power meter, spectrometer, TCSPC driven by the twin) into OUT/raw, the
    folder `polase acquire` writes; the same analysis and report follow (no
    simulated.nc, no excitation spectrum).
    """
    from rich.console import Console

    from ..paper.photonics2022.reproduce import reproduce

    err = stderr_console()
    out = Console()
    out_dir = output
    with Stages(quiet=quiet, console=err) as bars:
        summary = reproduce(
            out_dir,
            seed=seed,
            repeats=repeats,
            overwrite=overwrite,
            progress=bars.update,
            acquire=acquire,
        )
    rows = summary["rows"]
    how = ", acquired" if acquire else ""
    out.print(summary_table(rows, title=f"paper vs polase (seed {seed}, {repeats} repeats{how})"))
    # scored rows only: a recovery row (tau_s against the twin's own input) is not scored
    n_meas = [r for r in rows if r.get("kind") in SCORED_KINDS]
    n_pass = sum(1 for r in n_meas if r.get("pass") is True)
    out.print(
        f"{n_pass}/{len(n_meas)} observables within tolerance; "
        f"report: {out_dir / 'report.html'}  ({summary['timings_s'].get('total', 0):.1f} s)"
    )
    from rich.markup import escape

    for item in summary.get("figures_omitted", []):
        # escaped: a reason such as "pip install 'polase[lifetime]'" is not rich markup
        err.print(f"[yellow]figure {item['name']} left out:[/] {escape(item['reason'])}")
    if strict and n_pass != len(n_meas):
        sys.exit(1)


def phasors_or_reason(decays) -> dict[str, Any] | str:
    """The decays' phasors (`polase.analysis.phasor.decay_phasors`), or why there are none.

    The report draws phasors, it does not compute them: `polase report` computes them
    here for inputs that do not hold them (a results.json, a summary.json written before
    summary.json stored ``phasors``), so that an older folder still gets the figure.
    """
    from ..analysis.phasor import decay_phasors
    from ..errors import DataValidationError

    try:
        return decay_phasors(decays)
    except (DataValidationError, ImportError) as exc:
        return str(exc)


@click.command("report")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@output_option("HTML file to write (self-contained).", default=Path("report.html"))
@overwrite_option("OUTPUT if it exists")
@click.option(
    "--targets",
    "targets",
    default=None,
    metavar="NAME|FILE",
    help="Grade against a target set: a study name (photonics2022) or a target TOML file. "
    "Without it the observables are reported, not graded.",
)
@quiet_option("No summary table.")
def report_cmd(
    source: Path, output: Path, overwrite: bool, targets: str | None, quiet: bool
) -> None:
    """Build the HTML report from any analysis.

    SOURCE is a `polase reproduce` folder, a folder with a results.json from
    `polase analyze` (a NetCDF measurement beside it adds the spectra figures),
    or a results.json / summary.json file. Figures that need data the analysis
    lacks are left out and the report says so. Pass/fail is judged only against
    a target set (--targets); a reproduce folder keeps the rows it was graded with.
    """
    from rich.console import Console
    from rich.markup import escape

    from .._files import check_writable
    from ..paper import load_target_set
    from ..report import load_report_inputs, report_from_inputs

    out = Console(quiet=quiet)
    tset = load_target_set(targets) if targets else None
    check_writable(output, overwrite)  # fail before the work, not after
    inp = load_report_inputs(source)
    if inp["phasors"] is None:  # a results.json or an older summary.json: computed here
        inp["phasors"] = phasors_or_reason(inp["decays"])
    report = report_from_inputs(inp, output, overwrite=overwrite, targets=tset)
    out.print(summary_table(report.rows, title="polase report"))
    for name, _, reason in report.omitted:
        out.print(f"[yellow]figure {name} left out:[/] {escape(reason)}")
    out.print(f"report: {output}")
