"""`polase analyze` (spectra sweep -> results.json) and `polase decay` (one TCSPC fit)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .._files import check_writable, write_netcdf_atomic, write_text_atomic
from ..errors import InputFileError
from ._options import option, output_option, overwrite_option, quiet_option


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


def decay_table(fit: dict):
    """Rich table of one decay fit."""
    from rich.table import Table

    t = Table(
        title=f"decay fit ({fit['method']}, {fit['components']} component(s))",
        title_justify="left",
        header_style="bold",
    )
    for name in ("quantity", "value", "95 % interval"):
        t.add_column(name, justify="right" if name != "quantity" else "left")
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
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV: file,fluence_mJ_cm2,polarization,repeat[,kind].",
)
@click.option(
    "--pattern", help='File-name pattern, e.g. "{fluence}mJ_{polarization}_{repeat}.txt".'
)
@output_option("results.json to write.", required=True)
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
@click.option("--no-band-fits", is_flag=True, help="Skip the Gaussian and two-band fits (faster).")
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
    no_band_fits,
    overwrite,
    quiet,
):
    """Analyze a fluence sweep: thresholds, power law, peaks/widths, Delta_ASE/PL, decays.

    INPUT is a polase NetCDF file, a folder of spectra (with --manifest or --pattern, or a
    manifest.csv inside), or a manifest CSV.
    """
    from rich.console import Console

    from ..analysis import AnalysisConfig, analyze, extract_features, to_jsonable

    if manifest is not None and pattern is not None:
        raise click.UsageError("give --manifest or --pattern, not both")
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
    cfg = AnalysisConfig(
        pl_reference_fluence=pl_fluence,
        ase_reference_fluence=ase_fluence,
        decay_components=components,
        band_fits=not no_band_fits,
    )
    feats = extract_features(ds, cfg)
    results = to_jsonable(analyze(ds, cfg, features=feats))
    results["input"] = str(input_path)
    write_text_atomic(output, json.dumps(results, indent=2, allow_nan=False) + "\n", overwrite)
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


@click.command("decay")
@click.argument("decay_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--irf",
    "irf_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="IRF histogram (same channels).",
)
@click.option(
    "--components",
    type=click.IntRange(1, 3),
    default=1,
    show_default=True,
    help="Number of exponentials (one file: the simplest model first).",
)
@option(
    "--period",
    type=float,
    aliases=("--period-ns",),
    help="Laser repetition period [ns] (incomplete decay).",
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
@output_option("JSON file to write.", required=True)
@overwrite_option("OUTPUT if it exists")
@quiet_option("No summary table.")
def decay_cmd(
    decay_file,
    irf_file,
    components,
    period,
    fit_range,
    tail,
    tail_start,
    output,
    overwrite,
    quiet,
):
    """Fit a TCSPC decay with IRF reconvolution (Poisson maximum likelihood)."""
    from rich.console import Console

    from ..analysis import fit_decay, to_jsonable
    from ..io import read_das6

    check_writable(output, overwrite)
    dec = read_das6(decay_file)
    irf = read_das6(irf_file)
    if (
        dec.counts.shape != irf.counts.shape
        or abs(dec.channel_width_ns - irf.channel_width_ns) > 1e-9 * dec.channel_width_ns
    ):
        raise InputFileError(
            irf_file,
            f"{irf_file.name} has {irf.counts.size} channels of {irf.channel_width_ns:g} ns; the decay "
            f"{decay_file} has {dec.counts.size} of {dec.channel_width_ns:g} ns: they must match",
        )
    fit = fit_decay(
        dec.time_ns,
        dec.counts,
        irf.counts,
        components,
        period,
        fit_range_ns=tuple(fit_range) if fit_range else None,
        method="tail" if tail else "reconvolution",
        tail_start_ns=tail_start,
    )
    fit = to_jsonable(fit)
    fit["decay_file"] = str(decay_file)
    fit["irf_file"] = str(irf_file)
    write_text_atomic(output, json.dumps(fit, indent=2, allow_nan=False) + "\n", overwrite)
    if not quiet:
        Console().print(decay_table(fit))
