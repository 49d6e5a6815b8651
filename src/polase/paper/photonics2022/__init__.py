"""Photonics 2022, 9, 353: up-conversion ASE through spin alignment in CsPbBr3 microrods.

Everything specific to this paper lives here:

- `TARGETS`: the paper's observables as one table (``targets.toml``: key, label, paper
  value, tolerance, unit, figure, how each is measured from an analysis result);
- `summary_rows`: that table graded against an analysis;
- `CAPTIONS`: the report figures under the paper's figure numbers;
- `reproduce` / `run_pipeline`: ``polase reproduce``, the paper end to end (twin -> raw
  files -> analysis -> report).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

from ...report.targets import TargetSet, grade, parse_targets


def _load() -> TargetSet:
    import tomllib

    text = resources.files(__name__).joinpath("targets.toml").read_text(encoding="utf-8")
    return parse_targets(tomllib.loads(text), "polase/paper/photonics2022/targets.toml")


#: The paper's targets (read from the package's ``targets.toml``).
TARGETS: TargetSet = _load()

#: The report figures under the paper's figure numbers (``[captions]`` of targets.toml).
CAPTIONS: dict[str, str] = dict(TARGETS.captions)


def summary_rows(
    results: Mapping[str, Any],
    decays: Mapping[Any, Mapping[str, Any]] | None = None,
    spin_relaxation_ns: float | None = None,
    spin_relaxation: Mapping[str, Any] | None = None,
    gain_check: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The "paper vs polase" rows: `TARGETS` graded against an analysis.

    Parameters
    ----------
    results
        Analysis results (results.json content, docs/results.md).
    decays
        Decay fits keyed by detection wavelength [nm] (``tau_ns``, ``tau_ci95_ns``,
        ``amplitudes``); None if the analysis has no decays.
    spin_relaxation_ns
        Spin relaxation time used by the model, for the input row. [ns]; None for a
        measurement (the row then says it is not measured).
    spin_relaxation
        tau_s measured from a sigma+ / sigma- pair (``tau_s_ns``, ``tau_s_ci95_ns``,
        ``resolved``, ``bound``, ``input_tau_s_ns``; see
        `polase.paper.photonics2022.reproduce.measure_spin_relaxation`); None: the tau_s
        row says it is not measured.
    gain_check
        The twin's peak modal gain against the full-inversion bound
        (`polase.experiment.gain_check` of the twin's configuration); None (a measurement,
        or a twin whose configuration is unknown): the gain row has no value.

    Returns
    -------
    list of dict
        One row per target (`polase.report.targets.make_row`).
    """
    context = {
        "spin_relaxation_ns": spin_relaxation_ns,
        "spin_relaxation": spin_relaxation,
        "gain_check": gain_check,
    }
    return grade(TARGETS, results, decays, context)


__all__ = ["CAPTIONS", "TARGETS", "summary_rows"]
