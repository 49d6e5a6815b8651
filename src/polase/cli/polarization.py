"""`polase anisotropy` (VV/VH joint fit) and `polase spin` (sigma+/sigma- joint fit, tau_s)."""

from __future__ import annotations

from pathlib import Path

import click

from .._files import check_writable
from .._json import write_json_atomic
from ..errors import PolaseError
from ._options import INPUT_FILE as _FILE
from ._options import option, output_option, overwrite_option, quiet_option


def _read(paths: dict[str, Path], irf: Path | None):
    """Read DAS6 files, check they share one grid; return time, counts, IRF, files."""
    from ..analysis.polarization import check_pair
    from ..io import read_das6

    files = {name: read_das6(p) for name, p in paths.items()}
    irf_file = read_das6(irf) if irf is not None else None
    labels = {name: f"{name} ({paths[name]})" for name in files}
    counts = {labels[n]: f.counts for n, f in files.items()}
    widths = {labels[n]: f.channel_width_ns for n, f in files.items()}
    if irf_file is not None:
        counts[f"IRF ({irf})"] = irf_file.counts
        widths[f"IRF ({irf})"] = irf_file.channel_width_ns
    checked, _ = check_pair(counts, widths)
    by_name = {n: checked[labels[n]] for n in files}
    irf_counts = checked[f"IRF ({irf})"] if irf_file is not None else None
    first = next(iter(files.values()))
    return first.time_ns, by_name, irf_counts, files


def _pileup(files, repetition_rate_hz, allow_pileup):
    from ..analysis.polarization import check_pileup

    out = {}
    for name, f in files.items():
        frac = check_pileup(
            f"{name} ({f.path})",
            float(f.counts.sum()),
            f.acquisition_time_s,
            repetition_rate_hz,
            0.05,
            allow_pileup,
        )
        out[name] = frac
    return out


def _write(output: Path, result: dict, overwrite: bool) -> None:
    write_json_atomic(output, result, overwrite)


def _read_checked(paths: dict[str, Path], irf: Path | None, common: dict):
    """`_read` and the pile-up check (`_pileup`) with the `_common` options."""
    t, counts, irf_counts, files = _read(paths, irf)
    pile = _pileup(files, common["repetition_rate_hz"], common["allow_pileup"])
    return t, counts, irf_counts, pile


def _fit_options(common: dict) -> dict:
    """Keyword arguments of the joint fits from the `_common` options."""
    return {
        "n_components": common["components"],
        "separate_shift": common["separate_shift"],
        "tail_start_ns": common["tail_start_ns"],
    }


def _finish(res: dict, paths: dict[str, Path], irf: Path | None, pile: dict, common: dict):
    """Add the input files and the pile-up fractions to the result and write it to OUTPUT."""
    res["files"] = {k: str(p) for k, p in paths.items()} | ({"IRF": str(irf)} if irf else {})
    res["pileup_fraction"] = pile
    _write(common["output"], res, common["overwrite"])


def _common(f):
    """The options both commands share; the command receives them as ``**common``."""
    f = quiet_option("No summary.")(f)
    f = overwrite_option("OUTPUT if it exists")(f)
    f = output_option("JSON file to write.", required=True)(f)
    f = click.option(
        "--allow-pileup", is_flag=True, help="Warn instead of failing on pile-up > 5 %."
    )(f)
    f = option(
        "--repetition-rate",
        "repetition_rate_hz",
        type=float,
        aliases=("--repetition-rate-hz",),
        help="Excitation repetition rate [Hz]; with the files' 'Real time' it enables the "
        "pile-up check.",
    )(f)
    f = option(
        "--tail-start",
        "tail_start_ns",
        type=float,
        aliases=("--tail-start-ns",),
        help="Without --irf: start of the tail fit [ns] (default: peak + rise time).",
    )(f)
    f = click.option("--separate-shift", is_flag=True, help="Separate IRF shift per channel.")(f)
    f = click.option(
        "--components",
        type=click.IntRange(1, 2),
        default=1,
        show_default=True,
        help="Exponentials of the population decay.",
    )(f)
    return f


@click.command("anisotropy")
@click.argument("vv", type=_FILE)
@click.argument("vh", type=_FILE)
@click.option(
    "--g-files",
    nargs=2,
    type=_FILE,
    metavar="HV HH",
    help="Horizontally excited pair for the G factor.",
)
@click.option("--g-factor", type=float, help="G = S_V / S_H, instead of --g-files.")
@click.option("--irf", type=_FILE, help="IRF histogram (same channels); default: tail fit.")
@click.option(
    "--model",
    type=click.Choice(["one", "hindered", "two"]),
    default="one",
    show_default=True,
    help="r(t): one rotation, hindered rotation (r_inf), two rotations.",
)
@_common
def anisotropy_cmd(
    vv,
    vh,
    g_files,
    g_factor,
    irf,
    model,
    **common,
):
    """Joint fit of VV and VH decays: G, r0, rotation times (DAS6 text files)."""
    from ..analysis.polarization import (
        fit_anisotropy,
        fit_anisotropy_division,
        g_factor_from_hv_hh,
    )

    output = common["output"]
    try:
        check_writable(output, common["overwrite"])
        if not g_files and g_factor is None:
            raise click.UsageError(
                "no G factor: give --g-files HV HH (the horizontally excited pair) or --g-factor"
            )
        paths = {"VV": vv, "VH": vh}
        if g_files:
            paths.update({"HV": g_files[0], "HH": g_files[1]})
        t, c, g_irf, pile = _read_checked(paths, irf, common)
        if g_files:
            g_factor, g_ci = g_factor_from_hv_hh(c["HV"], c["HH"])
        else:
            g_ci = [g_factor, g_factor]
        fit = fit_anisotropy(
            t,
            c["VV"],
            c["VH"],
            g_irf,
            g_factor=g_factor,
            model=model,
            **_fit_options(common),
        )
        res = dict(fit.summary)
        res["g_factor_ci95"] = g_ci
        t0 = float(t[int(g_irf.argmax())]) if g_irf is not None else None
        res["division"] = fit_anisotropy_division(
            t, c["VV"], c["VH"], g_factor, model=model, t0_ns=t0
        )
        _finish(res, paths, irf, pile, common)
    except PolaseError as exc:
        raise click.ClickException(str(exc)) from None
    if not common["quiet"]:
        click.echo(
            f"G = {res['g_factor']:.4g}  r0 = {res['r0']:.4g} {_ci(res['r0_ci95'])}  "
            f"tau_r = {', '.join(f'{v:.4g}' for v in res['tau_r_ns'])} ns  "
            f"r_inf = {res['r_inf']:.3g}  tau = {', '.join(f'{v:.4g}' for v in res['tau_ns'])} ns  "
            f"reduced chi2 = {res['reduced_chi2']:.3g}  -> {output}"
        )


def _ci(ci) -> str:
    return "[" + ", ".join("open" if v is None else f"{v:.4g}" for v in ci) + "]"


@click.command("spin")
@click.argument("sigma_plus", type=_FILE)
@click.argument("sigma_minus", type=_FILE)
@click.option("--irf", type=_FILE, help="IRF histogram (same channels); default: tail fit.")
@_common
def spin_cmd(
    sigma_plus,
    sigma_minus,
    irf,
    **common,
):
    """Joint fit of sigma+ and sigma- decays: spin relaxation time tau_s (DAS6 text files)."""
    from ..analysis.polarization import fit_helicity_pair

    output = common["output"]
    try:
        check_writable(output, common["overwrite"])
        paths = {"sigma_plus": sigma_plus, "sigma_minus": sigma_minus}
        t, c, g_irf, pile = _read_checked(paths, irf, common)
        fit = fit_helicity_pair(t, c["sigma_plus"], c["sigma_minus"], g_irf, **_fit_options(common))
        res = dict(fit.summary)
        _finish(res, paths, irf, pile, common)
    except PolaseError as exc:
        raise click.ClickException(str(exc)) from None
    if not common["quiet"]:
        if res["resolved"]:
            ts = f"tau_s = {res['tau_s_ns']:.4g} ns {_ci(res['tau_s_ci95_ns'])}"
        elif res["bound"] == "upper":
            ts = f"tau_s < {res['tau_s_ci95_ns'][1]:.4g} ns (not resolved)"
        elif res["bound"] == "lower":
            ts = f"tau_s > {res['tau_s_ci95_ns'][0]:.4g} ns (no decay of the DCP seen)"
        else:
            ts = "tau_s not determined"
        click.echo(
            f"{ts}  DCP0 = {res['dcp0']:.3g}  tau = {', '.join(f'{v:.4g}' for v in res['tau_ns'])}"
            f" ns  reduced chi2 = {res['reduced_chi2']:.3g}  -> {output}"
        )
