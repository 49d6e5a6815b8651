"""`polase analyze` (spectra sweep -> results.json) and `polase decay` (TCSPC fits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .._files import check_writable, write_netcdf_atomic
from .._json import write_json_atomic
from ..errors import ConfigError, InputFileError, PolaseError
from ._options import (
    INPUT_FILE,
    cluster_options,
    fluence_axis_option,
    input_files_argument,
    option,
    output_option,
    overwrite_option,
    quiet_option,
)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return (
            f"{v:.{digits}g}"
            if abs(v) >= 1e4 or (abs(v) < 1e-2 and v != 0)
            else f"{v:.{digits}f}".rstrip("0").rstrip(".")
        )
    return str(v)


def _ci(ci) -> str:
    return "–" if not ci else f"[{_fmt(ci[0])}, {_fmt(ci[1])}]"


def results_tables(results: dict) -> list:
    """Rich tables summarizing a results dict (global quantities, per fluence, decays)."""
    from rich.table import Table

    t = Table(title="polase analyze", title_justify="left", header_style="bold")
    for name, kw in (
        ("quantity", {}),
        ("value", {"justify": "right"}),
        ("95 % interval", {"justify": "right"}),
        ("unit / method", {"style": "dim"}),
    ):
        t.add_column(name, **kw)
    rows = (
        ("ASE threshold (L-L kink)", "threshold_mJ_cm2", "mJ/cm2"),
        ("ASE threshold (FWHM narrowing)", "threshold_fwhm_mJ_cm2", "mJ/cm2"),
        ("log-log slope below threshold", "slope_below_threshold", ""),
        ("PL peak", "pl_peak_nm", "nm"),
        ("PL FWHM", "pl_fwhm_nm", "nm"),
        ("ASE peak", "ase_peak_nm", "nm"),
        ("ASE FWHM", "ase_fwhm_nm", "nm"),
    )
    for label, key, unit in rows:
        d = results.get(key) or {}
        extra = d.get("method", "")
        if "fluence_mJ_cm2" in d:
            extra = f"at {_fmt(d['fluence_mJ_cm2'])} mJ/cm2"
        t.add_row(label, _fmt(d.get("value")), _ci(d.get("ci95")), f"{unit} {extra}".strip())
    t.add_row("photon order", _fmt(results.get("photon_order")), "", "round(slope)")

    p = Table(
        title="per fluence (reference polarization: "
        + str(results.get("reference_polarization"))
        + ")",
        title_justify="left",
        header_style="bold",
    )
    for name in (
        "F \\[mJ/cm2]",
        "peak \\[nm]",
        "FWHM \\[nm]",
        "I_PL",
        "I_ASE",
        "Delta_ASE \\[%]",
        "95 %",
        "Delta_PL \\[%]",
        "95 %",
        "sat.",
    ):
        p.add_column(name, justify="right")

    def pct(v):
        return "–" if v is None else f"{100 * v:+.1f}"

    def pct_ci(ci):
        return "–" if not ci else f"[{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]"

    for e in results.get("per_fluence", []):
        p.add_row(
            _fmt(e["fluence_mJ_cm2"]),
            _fmt(e.get("peak_nm"), 4),
            _fmt(e.get("fwhm_nm")),
            _fmt(e.get("intensity_pl")),
            _fmt(e.get("intensity_ase")),
            pct(e.get("delta_ase")),
            pct_ci(e.get("delta_ase_ci95")),
            pct(e.get("delta_pl")),
            pct_ci(e.get("delta_pl_ci95")),
            "[red]yes[/]" if e.get("saturated") else "no",
        )
    tables = [t, p]
    if results.get("decays"):
        d = Table(title="decays", title_justify="left", header_style="bold")
        for name in (
            "F \\[mJ/cm2]",
            "pol.",
            "λ \\[nm]",
            "tau \\[ns]",
            "tau_amp \\[ns]",
            "tau_int \\[ns]",
            "red. chi2",
        ):
            d.add_column(name, justify="right")
        for e in results["decays"]:
            d.add_row(
                _fmt(e["fluence_mJ_cm2"]),
                e["polarization"],
                _fmt(e["detection_wavelength_nm"]),
                ", ".join(_fmt(x) for x in e["tau_ns"]),
                _fmt(e["tau_amplitude_weighted_ns"]),
                _fmt(e["tau_intensity_weighted_ns"]),
                _fmt(e["reduced_chi2"]),
            )
        tables.append(d)
    return tables


def _quantity_table(title: str):
    """Rich table with the columns quantity, value and 95 % interval."""
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold")
    for name in ("quantity", "value", "95 % interval"):
        t.add_column(name, justify="right" if name != "quantity" else "left")
    return t


def decay_table(fit: dict):
    """Rich table of one decay fit."""
    t = _quantity_table(f"decay fit ({fit['method']}, {fit['components']} component(s))")
    for i, (tau, ci, a) in enumerate(zip(fit["tau_ns"], fit["tau_ci95_ns"], fit["amplitudes"]), 1):
        t.add_row(f"tau{i} \\[ns]", _fmt(tau, 4), _ci(ci))
        t.add_row(f"a{i} \\[counts/ch]", _fmt(a), "")
    t.add_row("amplitude-weighted tau \\[ns]", _fmt(fit["tau_amplitude_weighted_ns"], 4), "")
    t.add_row("intensity-weighted tau \\[ns]", _fmt(fit["tau_intensity_weighted_ns"], 4), "")
    t.add_row("IRF shift \\[ns]", _fmt(fit["irf_shift_ns"], 4), "")
    t.add_row("background \\[counts/ch]", _fmt(fit["background"]), "")
    t.add_row("reduced chi2", _fmt(fit["reduced_chi2"]), "")
    return t


def _load(input_path: Path, manifest: Path | None, pattern: str | None):
    from ..io import assemble_measurement, read_measurement

    if manifest is not None or pattern is not None:
        if not input_path.is_dir():
            raise click.BadParameter(
                f"with --manifest/--pattern INPUT must be the folder of spectra, got {input_path}",
                param_hint="INPUT",
            )
        return assemble_measurement(input_path, manifest=manifest, pattern=pattern)
    return read_measurement(input_path)


@click.command("analyze")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--manifest",
    type=INPUT_FILE,
    help="CSV: file,fluence_mJ_cm2,polarization,repeat[,kind].",
)
@click.option(
    "--pattern", help='File-name pattern, e.g. "{fluence}mJ_{polarization}_{repeat}.txt".'
)
@output_option(
    "results.json to write; for a folder of sweeps, the folder of <sweep>_results.json.",
    required=True,
    folder=None,
)
@click.option(
    "--features",
    "features_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the per-spectrum features (NetCDF).",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for diagnostic PNGs.",
)
@click.option(
    "--pl-fluence",
    type=float,
    help="Fluence of the PL reference spectrum [mJ/cm2] (default: lowest).",
)
@click.option(
    "--ase-fluence",
    type=float,
    help="Fluence of the ASE reference spectrum [mJ/cm2] (default: highest unmasked).",
)
@option(
    "--components",
    type=click.IntRange(1, 3),
    default=2,
    show_default=True,
    aliases=("--decay-components",),
    help="Exponentials in decay fits (ASE + spontaneous decays are rarely single-exponential).",
)
@fluence_axis_option()
@click.option("--no-band-fits", is_flag=True, help="Skip the Gaussian and two-band fits (faster).")
@cluster_options("Folder of sweeps: analyse them")
@overwrite_option()
@quiet_option("No summary table.")
def analyze_cmd(
    input_path,
    manifest,
    pattern,
    output,
    features_path,
    plots_dir,
    pl_fluence,
    ase_fluence,
    components,
    fluence_axis,
    no_band_fits,
    workers,
    scheduler,
    overwrite,
    quiet,
):
    """Analyze a fluence sweep: thresholds, power law, peaks/widths, Delta_ASE/PL, decays.

    INPUT is a polase NetCDF file, a folder of spectra (with --manifest or --pattern, or a
    manifest.csv inside), or a manifest CSV; or a folder of sweeps (.nc files and run
    folders with a manifest.csv), each analysed into OUTPUT/<sweep>_results.json, in
    parallel with --workers or --scheduler.
    """
    from rich.console import Console

    from ..analysis import AnalysisConfig, analyze, extract_features, to_jsonable

    if manifest is not None and pattern is not None:
        raise click.UsageError("give --manifest or --pattern, not both")
    cfg = AnalysisConfig(
        pl_reference_fluence=pl_fluence,
        ase_reference_fluence=ase_fluence,
        decay_components=components,
        fluence_axis=fluence_axis,
        band_fits=not no_band_fits,
    )
    many = (
        input_path.is_dir()
        and manifest is None
        and pattern is None
        and not (input_path / "manifest.csv").exists()
    )
    if many:
        if features_path is not None or plots_dir is not None:
            raise click.UsageError("--features/--plots apply to one sweep, not a folder of sweeps")
        _analyze_folder(input_path, output, cfg, workers, scheduler, overwrite, quiet)
        return
    if workers is not None or scheduler is not None:
        raise click.UsageError(
            f"--workers/--scheduler apply to a folder of sweeps; {input_path} is one sweep"
        )
    if output.is_dir():
        raise click.BadParameter(
            f"{output} is a folder; give the results.json to write", param_hint="-o/--output"
        )
    # refuse existing outputs before any work
    check_writable(output, overwrite)
    if features_path is not None:
        check_writable(features_path, overwrite)
    if plots_dir is not None:
        from ..analysis.plots import PLOT_NAMES

        for name in PLOT_NAMES:
            check_writable(plots_dir / name, overwrite)
    from ..io import validate_measurement

    ds = _load(input_path, manifest, pattern)
    validate_measurement(ds)
    feats = extract_features(ds, cfg)
    results = to_jsonable(analyze(ds, cfg, features=feats))
    results["input"] = str(input_path)
    write_json_atomic(output, results, overwrite)
    if features_path is not None:
        write_netcdf_atomic(feats, features_path, overwrite)
    if plots_dir is not None:
        from ..analysis.plots import diagnostic_plots

        diagnostic_plots(ds, feats, results, plots_dir, overwrite)
    if not quiet:
        console = Console()
        for table in results_tables(results):
            console.print(table)
        console.print(f"wrote {output}")


def _analyze_folder(folder, outdir, cfg, workers, scheduler, overwrite, quiet) -> None:
    """One <sweep>_results.json per sweep of `folder` in `outdir` (see `analyze_many`)."""
    from rich.console import Console

    from ..analysis import analyze_many, find_sweeps, to_jsonable

    sweeps = find_sweeps(folder)
    outs = [outdir / f"{p.stem if p.is_file() else p.name}_results.json" for p in sweeps]
    if len(set(outs)) < len(outs):
        raise ConfigError("INPUT", f"{folder} holds sweeps of the same name (a.nc and a/)")
    for out in outs:  # refuse existing outputs before any work
        check_writable(out, overwrite)
    results = analyze_many(sweeps, cfg, workers=workers, scheduler=scheduler)
    outdir.mkdir(parents=True, exist_ok=True)
    for p, out, res in zip(sweeps, outs, results):
        d = to_jsonable(res)
        d["input"] = str(p)
        write_json_atomic(out, d, overwrite)
    if not quiet:
        Console().print(f"analysed {len(sweeps)} sweeps; wrote {len(outs)} results to {outdir}")


def _read_decay_option(path: Path, channel: int | None, option: str):
    from ..io import read_decay

    try:
        return read_decay(path, channel=channel)
    except PolaseError as exc:
        if "choose one" in str(exc):
            raise click.BadParameter(str(exc), param_hint=option) from None
        raise


@click.command("decay")
@input_files_argument("decay_files", "DECAY_FILE...")
@click.option(
    "--irf",
    "irf_file",
    required=True,
    type=INPUT_FILE,
    help="IRF histogram (same channels): DAS6 text, PTU, PHU or SDT.",
)
@click.option(
    "--channel",
    type=click.IntRange(0),
    help="Detector channel of the decay files that hold several (PTU/PHU input, SDT block).",
)
@click.option("--irf-channel", type=click.IntRange(0), help="Detector channel of the IRF file.")
@click.option(
    "--components",
    type=click.IntRange(1, 3),
    default=1,
    show_default=True,
    help="Number of exponentials (one file: the simplest model first).",
)
@option(
    "--period",
    "period_opt",
    type=float,
    aliases=("--period-ns",),
    help="Laser repetition period [ns] (incomplete decay); default: from the file (PTU/PHU/SDT).",
)
@option(
    "--fit-range",
    nargs=2,
    type=float,
    aliases=("--fit-range-ns",),
    help="Fit window START END [ns] (default: channels with counts).",
)
@click.option("--tail", is_flag=True, help="Tail fit (no reconvolution) from --tail-start.")
@option(
    "--tail-start",
    type=float,
    aliases=("--tail-start-ns",),
    help="Start of the tail fit [ns] (default: peak + 3 IRF FWHM).",
)
@click.option(
    "--global",
    "global_fit",
    is_flag=True,
    help="Fit all DECAY_FILEs jointly: shared lifetimes, per-decay amplitudes.",
)
@click.option(
    "--pileup-correction",
    is_flag=True,
    help="Coates pile-up correction (needs acquisition time and sync rate from the file).",
)
@option(
    "--dead-time",
    type=float,
    aliases=("--dead-time-ns",),
    help="Detector dead time [ns] for the dead-time check.",
)
@output_option("JSON file to write.", required=True)
@overwrite_option("OUTPUT if it exists")
@quiet_option("No summary table.")
def decay_cmd(
    decay_files,
    irf_file,
    channel,
    irf_channel,
    components,
    period_opt,
    fit_range,
    tail,
    tail_start,
    global_fit,
    pileup_correction,
    dead_time,
    output,
    overwrite,
    quiet,
):
    """Fit TCSPC decays with IRF reconvolution (Poisson maximum likelihood).

    DECAY_FILE: Horiba DAS6 text, PicoQuant PTU (T2/T3) or PHU, Becker & Hickl SDT; several
    files are fitted in one batch, or jointly with --global.
    """
    import warnings

    import numpy as np
    from rich.console import Console

    from ..analysis import fit_decays, to_jsonable
    from ..analysis.decay import PileUpWarning, check_count_rate, coates_correction

    check_writable(output, overwrite)
    if global_fit and tail:
        raise click.UsageError("--global reconvolves: it cannot be combined with --tail")
    decs = [_read_decay_option(f, channel, "--channel") for f in decay_files]
    irf = _read_decay_option(irf_file, irf_channel, "--irf-channel")
    for f, dec in zip(decay_files, decs):
        if (
            dec.counts.shape != irf.counts.shape
            or abs(dec.channel_width_ns - irf.channel_width_ns) > 1e-9 * dec.channel_width_ns
        ):
            raise InputFileError(
                irf_file,
                f"{irf_file.name} has {irf.counts.size} channels of {irf.channel_width_ns:g} ns; the "
                f"decay {f} has {dec.counts.size} of {dec.channel_width_ns:g} ns: they must match",
            )
    periods = {d.repetition_period_ns for d in decs if d.repetition_period_ns is not None}
    if period_opt is None and len(periods) > 1:
        raise ConfigError(
            "--period",
            f"the files record different sync periods {sorted(periods)} ns; fit them apart",
        )
    period = period_opt if period_opt is not None else (periods.pop() if periods else None)
    period_source = "option" if period_opt is not None else ("file" if period else None)
    span = decs[0].channel_width_ns * decs[0].counts.size
    if period is not None and period < span * (1 - 1e-9):
        raise click.BadParameter(
            f"{period:g} ns is shorter than the {span:g} ns histogram", param_hint="--period"
        )
    checks = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PileUpWarning)
        for f, d in zip(decay_files, decs):
            checks.append(check_count_rate(d.count_rate_hz, period, dead_time, source=str(f)))
    counts = np.stack([d.counts for d in decs])
    if pileup_correction:
        for k, d in enumerate(decs):
            if d.acquisition_time_s is None or period is None:
                raise ConfigError(
                    "--pileup-correction",
                    f"{decay_files[k]} has no acquisition time or sync period to count excitations",
                )
            counts[k] = coates_correction(counts[k], d.acquisition_time_s / (period * 1e-9))
    kw = {"fit_range_ns": tuple(fit_range) if fit_range else None}
    if global_fit:
        from ..analysis.global_decay import fit_global_decays

        result = fit_global_decays(decs[0].time_ns, counts, irf.counts, components, period, **kw)
        result["decay_files"] = [str(f) for f in decay_files]
    else:
        fits = fit_decays(
            decs[0].time_ns,
            counts,
            irf.counts,
            components,
            period,
            method="tail" if tail else "reconvolution",
            tail_start_ns=tail_start,
            **kw,
        )
        for f, fit in zip(decay_files, fits):
            fit["decay_file"] = str(f)
        result = fits[0] if len(fits) == 1 else {"decays": fits}
    result = to_jsonable(result)
    result["irf_file"] = str(irf_file)
    result["period_ns"] = period
    result["period_source"] = period_source
    result["pileup_corrected"] = bool(pileup_correction)
    result["count_rate_checks"] = [to_jsonable(c) for c in checks]
    write_json_atomic(output, result, overwrite)
    if not quiet:
        console = Console()
        for w in caught:
            console.print(f"[yellow]warning:[/] {w.message}")
        if global_fit:
            console.print(global_table(result))
        else:
            for fit in result.get("decays", [result]):
                console.print(decay_table(fit))


def global_table(res: dict):
    """Rich table of a global decay fit (shared lifetimes)."""
    t = _quantity_table(
        f"global decay fit ({res['n_decays']} decays, {res['components']} lifetime(s))"
    )
    for i, (tau, ci) in enumerate(zip(res["tau_ns"], res["tau_ci95_ns"]), 1):
        t.add_row(f"tau{i} \\[ns]", _fmt(tau, 4), _ci(ci))
    t.add_row("IRF shift \\[ns]", _fmt(res["irf_shift_ns"], 4), "")
    t.add_row("pooled reduced chi2", _fmt(res["reduced_chi2"]), "")
    t.add_row("intervals", res.get("interval_method") or "–", "")
    return t
