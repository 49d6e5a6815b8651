"""`polase simulate` (digital twin -> NetCDF) and `polase calibrate` (refit default parameters)."""

from __future__ import annotations

import re

import click
import numpy as np

from ._options import (
    option,
    output_option,
    overwrite_option,
    quiet_option,
    seed_option,
    values_option,
)
from ._progress import Counter, stderr_console

_FLUENCE_TOKEN = re.compile(r"^[-+.\deE:,]+$")


def parse_fluence_range(text: str) -> list[float]:
    """Parse "START:STOP:STEP" (inclusive stop), a comma list "4,8.2,15" or one number. [mJ/cm2]

    Raises
    ------
    click.BadParameter
        The text is not of that form, or START > STOP, or STEP <= 0.
    """
    if ":" in text:
        try:
            start, stop, step = (float(p) for p in text.split(":"))
        except ValueError:
            raise click.BadParameter(
                f"expected START:STOP:STEP (three numbers), got {text!r}"
            ) from None
        if not np.isfinite([start, stop, step]).all() or not step > 0 or stop < start:
            raise click.BadParameter(f"need START <= STOP and STEP > 0, got {text!r}")
        n = int(np.floor((stop - start) / step + 1e-9)) + 1
        return [round(start + i * step, 10) for i in range(n)]
    try:
        values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise click.BadParameter(
            f"expected numbers, a comma list or START:STOP:STEP, got {text!r}"
        ) from None
    if not values or not np.isfinite(values).all():
        raise click.BadParameter(f"expected finite numbers, got {text!r}")
    return values


def _fluences(ctx, param, values):
    out: list[float] = []
    for text in values:
        out.extend(parse_fluence_range(text))
    return out or None


def parse_assignment(text: str) -> tuple[str, object]:
    """Parse ``KEY=VALUE`` with a dotted KEY and a TOML VALUE (``1e-9``, ``true``, ``[1, 2]``).

    A VALUE that is not valid TOML is taken as a string (``mechanism.name=spin_channel``).
    """
    import tomllib

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise click.BadParameter(f"expected KEY=VALUE, e.g. material.k2=1e-9, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def _assignments(ctx, param, values):
    return dict(parse_assignment(v) for v in values)


def set_option():
    """``--set KEY=VALUE``: a dotted configuration override, repeatable."""
    return option(
        "--set",
        "assignments",
        multiple=True,
        metavar="KEY=VALUE",
        greedy=lambda t: "=" in t and not t.startswith("-"),
        callback=_assignments,
        help="Override one configuration key, e.g. --set material.k2=1e-9 sample.confinement=0.5"
        " (keys as in --print-config; repeatable).",
    )


@click.command("simulate")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="TOML configuration file."
)
@option(
    "--fluence",
    multiple=True,
    greedy=lambda t: bool(_FLUENCE_TOKEN.match(t)) and not t.startswith("-"),
    callback=_fluences,
    help="Peak pump fluences [mJ/cm2]: START:STOP:STEP (inclusive), numbers, or comma lists.",
)
@values_option("--qwp-angle", "Quarter-wave-plate angles [deg], e.g. --qwp-angle 0 22.5 45.")
@click.option(
    "--mechanism",
    help="Delta_ASE mechanism: orbit_orbit, spin_channel, dichroism, '+'-combinations, or none.",
)
@click.option("--repeats", type=click.IntRange(min=1), help="Spectra per (fluence, polarization).")
@seed_option()
@click.option("--no-noise", is_flag=True, help="Noiseless spectra and decays.")
@click.option("--solver", type=click.Choice(["fast", "reference"]), help="Time integrator.")
@set_option()
@click.option("--print-config", is_flag=True, help="Print the full configuration as TOML and exit.")
@output_option("NetCDF file to write.")
@overwrite_option("OUTPUT if it exists")
@quiet_option("No progress bar and no closing line.")
def simulate_cmd(
    config_path,
    fluence,
    qwp_angle,
    mechanism,
    repeats,
    seed,
    no_noise,
    solver,
    assignments,
    print_config,
    output,
    overwrite,
    quiet,
):
    """Simulate the polarization-switched up-conversion ASE experiment and write NetCDF."""
    from .._files import check_writable, write_netcdf_atomic
    from ..config import load_config

    console = stderr_console(quiet)
    overrides = {
        "fluence": fluence,
        "qwp_angle": list(qwp_angle) if qwp_angle else None,
        "mechanism": mechanism,
        "repeats": repeats,
        "seed": seed,
        "noise": False if no_noise else None,
        "solver": solver,
        **assignments,
    }
    cfg = load_config(config_path, **overrides)
    if print_config:
        click.echo(cfg.to_toml(), nl=False)
        return
    if not output:
        raise click.UsageError("give -o OUTPUT.nc (or --print-config)")
    check_writable(output, overwrite)
    from ..experiment import simulate

    with Counter(
        "simulating",
        quiet=quiet,
        console=console,
        unit="fluences",
        transient=True,
        total=len(cfg["sweep"]["fluence"]),
    ) as bar:
        ds = simulate(cfg, progress=lambda done, total: bar.update(done))
    write_netcdf_atomic(ds, output, overwrite)
    console.print(
        f"wrote {output}: {ds.sizes['fluence']} fluences x {ds.sizes['polarization']} polarizations"
        f" x {ds.sizes['repeat']} repeats, mechanism {cfg['mechanism']['name']}"
    )


@click.command("calibrate")
@output_option(
    "Where to write the calibrated TOML (the package data file is never replaced).", required=True
)
@overwrite_option("OUTPUT if it exists")
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
@option(
    "--max-nfev",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    aliases=("--maxiter",),
    help="Model evaluations allowed.",
)
@quiet_option("No progress messages.")
def calibrate_cmd(output, overwrite, mechanism, gain_model, max_nfev, quiet):
    """Fit a mechanism's parameters to the paper's observables; report the conflicts."""
    from ..paper.photonics2022.calibration import calibrate, conflict_table

    console = stderr_console(quiet)
    result = calibrate(
        output,
        mechanism,
        config={"material": {"gain_model": gain_model}},
        overwrite=overwrite,
        max_nfev=max_nfev,
        log=console.print,
    )
    console.print(f"wrote {result['path']}")
    console.print(conflict_table(result))


__all__ = ["calibrate_cmd", "parse_assignment", "parse_fluence_range", "simulate_cmd"]
