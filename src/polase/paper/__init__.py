"""Study packages: one sub-package per paper, holding everything specific to it.

A study package holds the paper's targets as one data table (``targets.toml``, graded by
`polase.report.targets`), its figure captions and its end-to-end reproduction. Generic
code (physics, io, analysis, report) never imports from here.

- `photonics2022`: Photonics 2022, 9, 353 (CsPbBr3 microrods), ``polase reproduce``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import InputFileError
from ..report.targets import TargetSet, read_targets

#: Study packages that ship a target set, by the name ``polase report --targets`` takes.
STUDIES: tuple[str, ...] = ("photonics2022",)


def load_target_set(spec: str | Path) -> TargetSet:
    """A target set by study name (one of `STUDIES`) or from a TOML file.

    Parameters
    ----------
    spec
        ``"photonics2022"`` or the path of a target-set TOML file (see
        `polase.report.targets`).

    Raises
    ------
    InputFileError
        `spec` is neither a known study nor a readable target file.
    """
    name = str(spec)
    if name in STUDIES:
        return importlib.import_module(f"{__name__}.{name}").TARGETS
    path = Path(spec)
    if path.is_file():
        return read_targets(path)
    raise InputFileError(path, f"neither a study ({', '.join(STUDIES)}) nor a target-set TOML file")


__all__ = ["STUDIES", "load_target_set"]
