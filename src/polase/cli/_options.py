"""Options shared by every `polase` command, and the one error handler of the group.

Conventions (docs/architecture.md, "Command line"):

- ``-o/--output`` names what a command writes, ``--overwrite`` allows replacing it,
  ``-q/--quiet`` silences progress and tables, ``--seed`` seeds the noise;
- units are never part of an option name; the help text gives them in brackets, e.g.
  ``--period FLOAT  Laser repetition period [ns]``;
- options taking several values accept them space-separated after one flag
  (``--qwp-angle 0 22.5 45``), repeated (``--qwp-angle 0 --qwp-angle 45``) or both;
- exit status 0 on success, 2 for a usage error (unknown option, bad option value),
  1 for a data or configuration error (malformed file, bad config key, existing output).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import click

from ..errors import OutputExistsError, PolaseError

#: `polase.analysis.AnalysisConfig.fluence_axis` choices (kept here so that the command line
#: starts without importing the analysis; tests/cli checks they agree with FLUENCE_AXES).
FLUENCE_AXES = ("auto", "nominal", "fluence_measured", "pump_fluence_actual")

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def is_number(token: str) -> bool:
    """Whether a command-line token is a plain number (so ``-1`` is a value, not an option)."""
    return bool(_NUMBER.match(token))


def is_name(token: str) -> bool:
    """Whether a token looks like a name value (letters, digits, ``_``, ``+``, ``,``)."""
    return bool(re.match(r"^[A-Za-z_][A-Za-z0-9_+,]*$", token))


class PolaseOption(click.Option):
    """A click option with space-separated multiple values and hidden old spellings.

    Parameters
    ----------
    greedy
        For ``multiple=True`` options: predicate on the following tokens; each token it
        accepts is taken as a further value of the option (``--qwp-angle 0 22.5 45``).
    aliases
        Old option names still accepted (not shown in ``--help``).
    """

    def __init__(self, *args, greedy: Callable[[str], bool] | None = None, aliases=(), **kw):
        self.greedy = greedy
        self.aliases = tuple(aliases)
        super().__init__(*args, **kw)

    def add_to_parser(self, parser, ctx) -> None:
        super().add_to_parser(parser, ctx)
        name = self.opts[-1]
        table = parser._long_opt if name in parser._long_opt else parser._short_opt
        popt = table[name]
        for alias in self.aliases:
            parser._long_opt[alias] = popt
            popt._long_opts.append(alias)
        if self.greedy is None:
            return
        accept = self.greedy
        plain = popt.process

        def process(value, state):
            plain(value, state)
            while state.rargs and accept(state.rargs[0]):
                plain(state.rargs.pop(0), state)

        popt.process = process


#: An existing file (not a folder) named on the command line.
INPUT_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def input_files_argument(name: str, metavar: str):
    """One or more existing files as the positional arguments of a command (``FILE...``)."""
    return click.argument(name, metavar=metavar, nargs=-1, required=True, type=INPUT_FILE)


def option(*names: str, **kw):
    """`click.option` with `PolaseOption` (``greedy``, ``aliases``)."""
    return click.option(*names, cls=PolaseOption, **kw)


def output_option(help: str, *, required: bool = False, folder: bool | None = False, default=None):
    """``-o/--output PATH``: the file (or folder, ``folder=True``; either, ``folder=None``)
    a command writes."""
    kw = {"default": default, "show_default": True} if default is not None else {}
    # (an explicit default=None would satisfy required=True in click >= 8.2)
    return click.option(
        "-o",
        "--output",
        "output",
        required=required,
        type=click.Path(file_okay=folder is not True, dir_okay=folder is not False, path_type=Path),
        help=help,
        **kw,
    )


def overwrite_option(what: str = "existing output files"):
    """``--overwrite``: replace existing outputs (never done without it)."""
    return click.option("--overwrite", is_flag=True, help=f"Replace {what}.")


def workers_option(what: str):
    """``--workers N``: run on a local dask cluster of N workers (`polase.parallel`)."""
    return click.option(
        "--workers", type=click.IntRange(1), help=f"{what} on a local dask cluster of N workers."
    )


def scheduler_option(what: str):
    """``--scheduler ADDRESS``: run on a running dask scheduler (`polase.parallel`)."""
    return click.option(
        "--scheduler",
        metavar="ADDRESS",
        help=f'{what} on a running dask scheduler, e.g. "tcp://host:8786".',
    )


def cluster_options(what: str):
    """``--workers N`` and ``--scheduler ADDRESS`` (`workers_option`, `scheduler_option`)."""

    def apply(f):
        return workers_option(what)(scheduler_option(what)(f))

    return apply


def quiet_option(what: str = "No progress display and no summary table."):
    """``-q/--quiet``."""
    return click.option("-q", "--quiet", is_flag=True, help=what)


def fluence_axis_option():
    """``--fluence-axis``: the fluences the threshold and power-law fits use
    (`polase.analysis.AnalysisConfig.fluence_axis`)."""
    return click.option(
        "--fluence-axis",
        type=click.Choice(FLUENCE_AXES),
        default="auto",
        show_default=True,
        help="Fluences of the threshold and power-law fits [mJ/cm2]: the power meter's "
        "(fluence_measured, a manifest's fluence_measured_mJ_cm2 column), the simulation's "
        "(pump_fluence_actual) or the set points (nominal); auto: the first of the two "
        "variables the data have, else nominal.",
    )


def seed_option(default: int | None = None):
    """``--seed INTEGER``: seed of the random instrument noise (>= 0)."""
    kw = {"default": default, "show_default": True} if default is not None else {}
    return click.option(
        "--seed", type=click.IntRange(min=0), help="Seed of the instrument noise (>= 0).", **kw
    )


def values_option(name: str, help: str, *, type=float, accept=is_number, **kw):
    """A multi-value option: ``NAME v1 v2 ...`` and/or repeated ``NAME v``."""
    return option(name, multiple=True, type=type, greedy=accept, help=help, **kw)


def user_message(exc: BaseException) -> str:
    """The message the command line shows for an error raised by the library."""
    if isinstance(exc, OutputExistsError):
        return f"{exc.path} exists; pass --overwrite to replace it"
    if isinstance(exc, OSError) and not isinstance(exc, PolaseError):
        where = f" {exc.filename}" if exc.filename else ""
        return f"cannot access{where}: {exc.strerror or exc}"
    return str(exc)


class DataError(click.ClickException):
    """A data, file or configuration error: shown without traceback, exit status 1."""

    exit_code = 1


def handle_errors(invoke: Callable):
    """Run ``invoke()`` and turn library errors into `DataError` (exit 1, no traceback).

    Click's own usage errors (exit 2) pass through unchanged.
    """
    try:
        return invoke()
    except click.ClickException:
        raise
    except (PolaseError, OSError) as exc:
        raise DataError(user_message(exc)) from None


__all__ = [
    "INPUT_FILE",
    "DataError",
    "PolaseOption",
    "cluster_options",
    "handle_errors",
    "input_files_argument",
    "is_name",
    "is_number",
    "option",
    "output_option",
    "overwrite_option",
    "quiet_option",
    "seed_option",
    "user_message",
    "values_option",
]
