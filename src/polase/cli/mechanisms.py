"""`polase mechanisms`: fit the twin with each Delta_ASE mechanism and rank them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ConfigError, PolaseError


def _load(input_path: Path):
    from ..io import load_measurement

    return load_measurement(input_path)


def base_config(ds, config_path: Path | None):
    """Twin configuration for fitting: --config, else the simulation's own, else defaults."""
    from ..config import load_config

    if config_path is not None:
        return load_config(config_path)
    raw = ds.attrs.get("config")
    if ds.attrs.get("source") == "simulation" and isinstance(raw, str) and raw:
        try:
            return load_config(json.loads(raw))
        except (json.JSONDecodeError, ConfigError) as exc:
            raise ConfigError(
                "config", f"the input's 'config' attribute is not a usable configuration: {exc}"
            ) from None
    return load_config()


@click.command("mechanisms")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder for mechanisms.json, mechanisms.html, PNGs and best_fit.nc.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
@click.option(
    "--mechanisms",
    "candidates",
    default=None,
    help="Comma-separated candidates, e.g. 'orbit_orbit,spin_channel,dichroism,orbit_orbit+dichroism'."
    " Default: none, each mechanism and each pair.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TOML configuration of the experiment (material, sample, pump); default: the input's own"
    " (simulations) or the built-in defaults.",
)
@click.option(
    "--max-nfev",
    default=120,
    show_default=True,
    type=click.IntRange(5, 10000),
    help="Forward simulations allowed per fit.",
)
@click.option(
    "--full-numerics",
    is_flag=True,
    help="Use the configuration's numerics instead of the faster fit grid.",
)
@click.option(
    "--model-error",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 0.5),
    help="Relative model-error floor added in quadrature to the standard errors (e.g. 0.01 for real data).",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    help="Fit the candidates on a local dask cluster of this many workers.",
)
@click.option(
    "--scheduler",
    help='Fit the candidates on a running dask scheduler, e.g. "tcp://host:8786".',
)
@click.option("-q", "--quiet", is_flag=True, help="No terminal output.")
def mechanisms_cmd(
    input_path,
    output,
    overwrite,
    candidates,
    config_path,
    max_nfev,
    full_numerics,
    model_error,
    workers,
    scheduler,
    quiet,
):
    """Fit the digital twin to INPUT with each Delta_ASE mechanism and say which one the data support.

    INPUT is a measurement NetCDF file or a folder (read with polase.io.load_measurement).
    """
    from rich.console import Console

    from .._files import check_writable, write_netcdf_atomic
    from ..inverse import (
        DEFAULT_CANDIDATES,
        TwinModel,
        compare_mechanisms,
        recommend_measurement,
        reduce_measurement,
        write_report,
    )

    console = Console(stderr=True, quiet=quiet)
    try:
        names = (
            DEFAULT_CANDIDATES
            if candidates is None
            else [c.strip() for c in candidates.split(",") if c.strip()]
        )
        for f in ("mechanisms.json", "mechanisms.html", "best_fit.nc"):
            check_writable(output / f, overwrite)
        ds = _load(input_path)
        obs = reduce_measurement(ds)
        if model_error > 0:
            obs = obs.with_model_error(model_error)
        model = TwinModel(base_config(ds, config_path), windows=obs.windows, fast=not full_numerics)
        with console.status("fitting") as status:
            cmp = compare_mechanisms(
                model,
                obs,
                names,
                max_nfev=max_nfev,
                progress=lambda n, i, k: status.update(f"fitting {n} ({i + 1}/{k})"),
                workers=workers,
                scheduler=scheduler,
            )
            status.update("recommending the next measurement")
            rec = recommend_measurement(model, obs, cmp)
        report = write_report(cmp, rec, obs, output, overwrite)
        write_netcdf_atomic(cmp.best.to_dataset(obs), output / "best_fit.nc", overwrite)
    except PolaseError as exc:
        raise click.ClickException(str(exc)) from None
    if not quiet:
        from rich.table import Table

        table = Table(title="mechanisms ranked by BIC", title_justify="left")
        for col in ("mechanism", "ln L", "BIC", "Delta_BIC", "chi2/dof"):
            table.add_column(col, justify="left" if col == "mechanism" else "right")
        for r in report["ranking"]:
            table.add_row(
                r["mechanism"],
                f"{r['log_likelihood']:.1f}",
                f"{r['bic']:.1f}",
                f"{r['delta_bic']:.1f}",
                f"{r['reduced_chi2']:.2f}",
            )
        out = Console()
        out.print(table)
        out.print(report["message"])
        rr = report["recommendation"]
        out.print(
            f"next measurement: {rr['fluence_mJ_cm2']:.2f} mJ/cm2, plate {rr['qwp_angle_deg']:g} deg,"
            f" {rr['repeats']} repeats (expected separation {rr['expected_separation_sigma'] or 0:.1f} sigma)"
        )
        out.print(
            f"{cmp.n_forward} forward simulations in {cmp.forward_seconds:.1f} s"
            f" ({cmp.n_forward / max(cmp.forward_seconds, 1e-9):.2f}/s); wrote {output}"
        )
