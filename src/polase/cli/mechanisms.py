"""`polase mechanisms`: fit the twin with each Delta_ASE mechanism and rank them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import ConfigError
from ._options import (
    INPUT_FILE,
    cluster_options,
    is_name,
    option,
    output_option,
    overwrite_option,
    quiet_option,
)
from ._progress import Status
from .simulate import set_option


def _load(input_path: Path):
    from ..io import read_measurement

    return read_measurement(input_path)


def base_config(ds, config_path: Path | None, overrides: dict | None = None):
    """Twin configuration for fitting: --config, else the simulation's own, else defaults.

    ``overrides`` (dotted keys from ``--set``) are applied last.
    """
    from ..config import load_config

    overrides = overrides or {}
    if config_path is not None:
        return load_config(config_path, **overrides)
    raw = ds.attrs.get("config")
    if ds.attrs.get("source") == "simulation" and isinstance(raw, str) and raw:
        try:
            base = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                "config", f"the input's 'config' attribute is not valid JSON: {exc}"
            ) from None
        try:
            return load_config(base, **overrides)
        except ConfigError as exc:
            raise ConfigError(
                "config", f"the input's 'config' attribute is not a usable configuration: {exc}"
            ) from None
    return load_config(None, **overrides)


@click.command("mechanisms")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, path_type=Path))
@output_option(
    "Output folder for mechanisms.json, mechanisms.html, PNGs and best_fit.nc.",
    required=True,
    folder=True,
)
@overwrite_option()
@option(
    "--mechanisms",
    "candidates",
    multiple=True,
    greedy=is_name,
    help="Candidates, space- or comma-separated, e.g. --mechanisms orbit_orbit spin_channel"
    " orbit_orbit+dichroism. Default: none, each mechanism and each pair.",
)
@click.option(
    "--config",
    "config_path",
    type=INPUT_FILE,
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
@set_option()
@cluster_options("Fit the candidates")
@quiet_option("No terminal output.")
def mechanisms_cmd(
    input_path,
    output,
    overwrite,
    candidates,
    config_path,
    max_nfev,
    full_numerics,
    model_error,
    assignments,
    workers,
    scheduler,
    quiet,
):
    """Fit the digital twin to INPUT with each Delta_ASE mechanism and say which one the data support.

    INPUT is a measurement NetCDF file or a folder (read with polase.io.read_measurement).
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

    names = [c.strip() for text in candidates for c in text.split(",") if c.strip()]
    names = names or DEFAULT_CANDIDATES
    for f in ("mechanisms.json", "mechanisms.html", "best_fit.nc"):
        check_writable(output / f, overwrite)
    ds = _load(input_path)
    obs = reduce_measurement(ds)
    if model_error > 0:
        obs = obs.with_model_error(model_error)
    model = TwinModel(
        base_config(ds, config_path, assignments), windows=obs.windows, fast=not full_numerics
    )
    with Status("fitting", quiet=quiet) as status:
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
