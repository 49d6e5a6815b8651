"""The `polase` command. Each subcommand lives in its own module in this package."""

from __future__ import annotations

import importlib

import click

from .._version import __version__
from ._options import handle_errors

# (module, attribute) of each subcommand; imported lazily so `polase --help` stays fast
# and one broken subcommand cannot take the others down.
_COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("polase.cli.simulate", "simulate_cmd"),
    "analyze": ("polase.cli.analyze", "analyze_cmd"),
    "decay": ("polase.cli.analyze", "decay_cmd"),
    "reproduce": ("polase.cli.reproduce", "reproduce_cmd"),
    "report": ("polase.cli.reproduce", "report_cmd"),
    "mechanisms": ("polase.cli.mechanisms", "mechanisms_cmd"),
    "calibrate": ("polase.cli.simulate", "calibrate_cmd"),
    "acquire": ("polase.cli.acquire", "acquire_cmd"),
    "phasor": ("polase.cli.phasor", "phasor_cmd"),
    "anisotropy": ("polase.cli.polarization", "anisotropy_cmd"),
    "spin": ("polase.cli.polarization", "spin_cmd"),
}


class _LazyGroup(click.Group):
    """Subcommands imported on first use; library errors become exit status 1 (one handler)."""

    def invoke(self, ctx):
        return handle_errors(lambda: super(_LazyGroup, self).invoke(ctx))

    def list_commands(self, ctx):
        return sorted(name for name in _COMMANDS if self._load(name) is not None)

    def get_command(self, ctx, cmd_name):
        return self._load(cmd_name)

    @staticmethod
    def _load(name):
        if name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            if importlib.util.find_spec(module) is not None:
                raise  # the module exists but is broken: show the real error
            return None


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "POLASE"},
)
@click.version_option(__version__, prog_name="polase")
def main() -> None:
    """polase: polarization-switched multi-photon-pumped ASE spectroscopy.

    Every option can also be set by an environment variable POLASE_<COMMAND>_<OPTION>,
    e.g. POLASE_MECHANISMS_MAX_NFEV=50; the command line wins.
    """


__all__ = ["main"]
