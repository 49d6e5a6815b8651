"""`polase phasor`: calibrated phasors of TCSPC decays, with the phasor plot."""

from __future__ import annotations

from pathlib import Path

import click

from .._files import check_writable
from .._json import write_json_atomic
from ..errors import ConfigError, PolaseError
from ._options import (
    INPUT_FILE,
    input_files_argument,
    option,
    output_option,
    overwrite_option,
    quiet_option,
)


@click.command("phasor")
@input_files_argument("files", "FILE...")
@click.option(
    "--irf", "irf_file", type=INPUT_FILE, help="IRF histogram: calibrates with lifetime 0."
)
@click.option(
    "--reference",
    "reference_file",
    type=INPUT_FILE,
    help="Histogram of a reference dye of single lifetime --reference-lifetime.",
)
@click.option("--reference-lifetime", "reference_lifetime", type=float, help="[ns]")
@click.option("--channel", type=click.IntRange(0), help="Detector channel (PTU/PHU/SDT).")
@click.option(
    "--harmonics",
    default="1,2",
    show_default=True,
    help="Harmonics of the laser frequency, comma separated.",
)
@option(
    "--period",
    "period_ns",
    type=float,
    aliases=("--period-ns",),
    help="Laser period [ns]; default: the sync period in the file.",
)
@click.option(
    "--components",
    type=click.IntRange(1, 3),
    help="Also fit each decay (needs --irf) and check the phasor against the fit.",
)
@output_option("JSON file to write.", required=True)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Phasor plot PNG (default: OUTPUT with .png).",
)
@overwrite_option()
@quiet_option("No summary table.")
def phasor_cmd(
    files,
    irf_file,
    reference_file,
    reference_lifetime,
    channel,
    harmonics,
    period_ns,
    components,
    output,
    plot_path,
    overwrite,
    quiet,
):
    """Phasor coordinates, phase and modulation lifetimes of TCSPC decays.

    FILE: DAS6 text, PicoQuant PTU/PHU, Becker & Hickl SDT. Calibrate with --irf, or with
    --reference and --reference-lifetime (a dye of known single lifetime).
    """
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from ..analysis import to_jsonable
    from ..analysis.phasor import analyze_phasors, fit_consistency
    from ..io import read_decay
    from ..report.phasor import phasor_figure, write_phasor_plot

    plot_path = plot_path or output.with_suffix(".png")
    try:
        check_writable(output, overwrite)
        check_writable(plot_path, overwrite)
        if irf_file is not None and reference_file is not None:
            raise ConfigError("--irf/--reference", "calibrate with one of them, not both")
        if (reference_file is None) != (reference_lifetime is None):
            raise ConfigError(
                "--reference-lifetime", "give --reference FILE and --reference-lifetime NS together"
            )
        if components is not None and irf_file is None:
            raise ConfigError("--components", "fitting the decays needs --irf")
        try:
            hs = [int(h) for h in harmonics.split(",") if h.strip()]
        except ValueError:
            raise ConfigError(
                "--harmonics", f"expected integers like 1,2; got {harmonics!r}"
            ) from None
        decs = [read_decay(f, channel=channel) for f in files]
        first = decs[0]
        for f, d in zip(files, decs):
            if d.counts.shape != first.counts.shape or not np.isclose(
                d.channel_width_ns, first.channel_width_ns, rtol=1e-9
            ):
                raise ConfigError("FILE", f"{f} does not share the channels of {files[0]}")
        period = period_ns
        if period is None:
            periods = {d.repetition_period_ns for d in decs}
            if None in periods or len(periods) != 1:
                raise ConfigError(
                    "--period",
                    "the files do not all record one sync period (DAS6 exports record none): "
                    "give the laser period",
                )
            period = periods.pop()
        ref = None
        if irf_file is not None:
            ref = read_decay(irf_file)
        elif reference_file is not None:
            ref = read_decay(reference_file)
        if ref is not None and ref.counts.shape != first.counts.shape:
            raise ConfigError("--irf/--reference", "the reference does not share the channels")
        counts = np.stack([d.counts for d in decs])
        res = analyze_phasors(
            first.time_ns,
            counts,
            period,
            irf=ref.counts if irf_file is not None else None,
            reference=ref.counts if reference_file is not None else None,
            reference_lifetime_ns=reference_lifetime,
            harmonics=hs,
        )
        res["files"] = [str(f) for f in files]
        fits = None
        if components is not None:
            from ..analysis import fit_decays

            fits = fit_decays(first.time_ns, counts, ref.counts, components, period)
            res["fit_consistency"] = [
                fit_consistency(res["g"][k][0], res["s"][k][0], fits[k], period, hs[0])
                for k in range(len(decs))
            ]
            res["fits"] = fits
        res = to_jsonable(res)
        fig = phasor_figure(res, [Path(f).name for f in files], fits=fits)
        write_phasor_plot(plot_path, fig, overwrite)
        write_json_atomic(output, res, overwrite)
    except PolaseError as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        t = Table(
            title=f"phasors at {res['frequency_mhz'][0]:g} MHz x {hs} "
            f"(calibration: {res['calibration']})",
            title_justify="left",
            header_style="bold",
        )
        for name in ("file", "g", "s", "tau_phase \\[ns]", "tau_mod \\[ns]"):
            t.add_column(name, justify="left" if name == "file" else "right")
        for k, f in enumerate(files):
            t.add_row(
                Path(f).name,
                f"{res['g'][k][0]:.4f}",
                f"{res['s'][k][0]:.4f}",
                f"{res['tau_phase_ns'][k][0]:.4g}",
                f"{res['tau_modulation_ns'][k][0]:.4g}",
            )
        Console().print(t)
        Console().print(f"wrote {output} and {plot_path}")
