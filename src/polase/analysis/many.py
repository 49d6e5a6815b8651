"""Analysis of many sweeps: one `analyze` per sweep, serially or on dask.distributed.

`find_sweeps(folder)` lists the sweeps of a folder (polase NetCDF files, and run folders
holding a ``manifest.csv``); `analyze_many(sources, workers=N)` analyses each one with
`analyze` through `polase.parallel.map_batches`, on a local cluster of N workers, on a
running scheduler, or (without either) in a plain loop here. The results are those of the
serial path: every sweep is loaded and analysed by the same functions with the same
configuration (the bootstrap seed is the configuration's, per sweep).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InputFileError, PolaseError
from .pipeline import AnalysisConfig, analyze
from .result import AnalysisResult


def find_sweeps(folder: str | Path) -> list[Path]:
    """The sweeps in `folder`, sorted by name.

    Parameters
    ----------
    folder
        A folder holding polase NetCDF files (``*.nc``) and/or run folders, each with a
        ``manifest.csv`` (the layout `polase simulate --raw` and `polase acquire` write).

    Returns
    -------
    list of Path

    Raises
    ------
    InputFileError
        `folder` is not a folder, or holds no sweep.
    """
    from ..io.detect import is_netcdf

    root = Path(folder)
    if not root.is_dir():
        raise InputFileError(root, "is not a folder of sweeps")
    sweeps = [
        p
        for p in sorted(root.iterdir())
        if (p.is_file() and p.suffix.lower() == ".nc" and is_netcdf(p))
        or (p.is_dir() and (p / "manifest.csv").is_file())
    ]
    if not sweeps:
        raise InputFileError(
            root, "holds no sweep: expected polase .nc files or run folders with a manifest.csv"
        )
    return sweeps


def analyze_path(path: str | Path, config: AnalysisConfig | None = None) -> AnalysisResult:
    """Load one sweep (NetCDF file, run folder or manifest CSV) and analyse it.

    Raises
    ------
    InputFileError, DataValidationError
        The sweep cannot be read or analysed; the message names the file.
    """
    from ..io import load_measurement

    p = Path(path)
    try:
        return analyze(load_measurement(p), config)
    except InputFileError:
        raise
    except PolaseError as exc:
        raise InputFileError(p, f"cannot be analysed: {exc}") from exc


def analyze_many(
    sources: str | Path | Iterable[str | Path],
    config: AnalysisConfig | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    processes: bool = True,
) -> list[AnalysisResult]:
    """Analyse many sweeps, each with `analyze`, one task per sweep.

    Parameters
    ----------
    sources
        A folder of sweeps (see `find_sweeps`) or the sweeps' paths.
    config
        Analysis choices, the same for every sweep; default `AnalysisConfig()`.
    workers
        Run on a new local dask cluster of this many workers.
    scheduler
        Run on the running dask scheduler at this address (e.g. "tcp://10.0.0.5:8786").
    client
        Run on this `distributed.Client` (see `polase.parallel.cluster`).
    processes
        With `workers`: local workers are processes (default) or threads.

    Returns
    -------
    list of AnalysisResult
        In the order of the sweeps; identical to ``[analyze(load_measurement(p), config)
        for p in sweeps]``.

    Raises
    ------
    InputFileError, DataValidationError
        A sweep cannot be read or analysed (the first failing one).
    DistributedError
        dask.distributed is missing or the scheduler cannot be reached.
    """
    from ..parallel import map_batches

    if isinstance(sources, (str, Path)):
        paths = find_sweeps(sources)
    else:
        paths = [Path(p) for p in sources]
    # workers load the files themselves: only the paths travel (a shared file system, or the
    # same paths on every machine, for a remote scheduler)
    return map_batches(
        analyze_path,
        [str(p.resolve()) for p in paths],
        workers=workers,
        scheduler=scheduler,
        client=client,
        processes=processes,
        config=config or AnalysisConfig(),
    )
