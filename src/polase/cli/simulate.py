"""`polase simulate` (digital twin -> NetCDF) and `polase calibrate` (refit default parameters)."""

from __future__ import annotations

import sys

import click
import numpy as np

from ..errors import ConfigError, PolaseError


def parse_fluence_range(text: str) -> list[float]:
    """Parse "START:STOP:STEP" (inclusive stop) or a comma list "4,8.2,15". [mJ/cm2]"""
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if not step > 0 or not np.isfinite([start, stop, step]).all() or stop < start:
                raise ConfigError("--fluence", f"need START <= STOP and STEP > 0, got {text!r}")
            n = int(np.floor((stop - start) / step + 1e-9)) + 1
            return [round(start + i * step, 10) for i in range(n)]
        return [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ConfigError(
            "--fluence", f"expected START:STOP:STEP or a comma list of numbers, got {text!r}"
        ) from None


@click.command("simulate")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="TOML configuration file."
)
@click.option("--fluence", help="Fluence sweep START:STOP:STEP or comma list [mJ/cm2].")
@click.option(
    "--qwp-angle",
    "qwp_angle",
    type=float,
    multiple=True,
    help="Quarter-wave-plate angle [deg]; repeat for several.",
)
@click.option(
    "--mechanism",
    help="Delta_ASE mechanism: orbit_orbit, spin_channel, dichroism, '+'-combinations, or none.",
)
@click.option("--repeats", type=int, help="Spectra per (fluence, polarization).")
@click.option("--seed", type=int, help="Random seed of the noise.")
@click.option("--no-noise", is_flag=True, help="Noiseless spectra and decays.")
@click.option("--solver", type=click.Choice(["fast", "reference"]), help="Time integrator.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@click.option("--print-config", is_flag=True, help="Print the full configuration as TOML and exit.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Output NetCDF file.")
def simulate_cmd(
    config_path,
    fluence,
    qwp_angle,
    mechanism,
    repeats,
    seed,
    no_noise,
    solver,
    overwrite,
    print_config,
    output,
):
    """Simulate the polarization-switched up-conversion ASE experiment and write NetCDF."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .._files import check_writable, write_netcdf_atomic
    from ..config import config_to_toml, load_config

    console = Console(stderr=True)
    try:
        overrides = {
            "fluence": parse_fluence_range(fluence) if fluence else None,
            "qwp_angle": list(qwp_angle) if qwp_angle else None,
            "mechanism": mechanism,
            "repeats": repeats,
            "seed": seed,
            "noise": False if no_noise else None,
            "solver": solver,
        }
        cfg = load_config(config_path, **overrides)
        if print_config:
            click.echo(config_to_toml(cfg), nl=False)
            return
        if not output:
            raise click.UsageError("give -o OUT.nc (or --print-config)")
        check_writable(output, overwrite)
        from ..experiment import simulate

        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} fluences"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("sweep", total=len(cfg["sweep"]["fluence"]))
            ds = simulate(cfg, progress=lambda done, total: bar.update(task, completed=done))
        write_netcdf_atomic(ds, output, overwrite)
        console.print(
            f"wrote {output}: {ds.sizes['fluence']} fluences x {ds.sizes['polarization']} polarizations"
            f" x {ds.sizes['repeat']} repeats, mechanism {cfg['mechanism']['name']}"
        )
    except PolaseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)


@click.command("calibrate")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    required=True,
    help="Where to write the calibrated TOML (required; the package data are never replaced).",
)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option(
    "--mechanism", default="spin_channel", show_default=True, help="Mechanism to calibrate."
)
@click.option(
    "--gain-model",
    type=click.Choice(["band_filling", "cross_section"]),
    default="band_filling",
    show_default=True,
    help="Gain model of the twin.",
)
@click.option(
    "--max-nfev", type=int, default=60, show_default=True, help="Model evaluations allowed."
)
def calibrate_cmd(output, overwrite, mechanism, gain_model, max_nfev):
    """Fit a mechanism's parameters to the paper's observables; report the conflicts."""
    from rich.console import Console

    from ..calibration import calibrate, conflict_table

    console = Console(stderr=True)
    try:
        result = calibrate(
            output,
            mechanism,
            config={"material": {"gain_model": gain_model}},
            overwrite=overwrite,
            max_nfev=max_nfev,
            log=console.print,
        )
    except PolaseError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    console.print(f"wrote {result['path']}")
    console.print(conflict_table(result))
