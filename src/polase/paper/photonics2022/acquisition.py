"""The paper's measurement (Photonics 2022, 9, 353) run through the simulated bench.

`acquire_paper` is what ``polase reproduce --acquire`` calls: it runs the protocol of
``examples/paper.toml`` (shipped as ``polase/paper/photonics2022/acquisition.toml``) on the
digital twin and returns the manifest that the reproduction's analysis reads.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from ...acquire.protocol import AcquisitionProtocol, read_protocol
from ...acquire.runner import StepEvent, run_simulated


def paper_protocol_path() -> Path:
    """The shipped copy of examples/paper.toml."""
    return Path(str(resources.files(__package__) / "acquisition.toml"))


def paper_protocol(repeats: int | None = None) -> AcquisitionProtocol:
    """The paper's protocol, optionally with another number of repeats."""
    p = read_protocol(paper_protocol_path())
    return p if repeats is None else p.replace(repeats=int(repeats))


def acquire_paper(
    folder: str | Path,
    seed: int = 353,
    repeats: int | None = None,
    time_scale: float = 0.0,
    resume: bool = False,
    on_step: Callable[[StepEvent], None] | None = None,
    config=None,
    **bench_options,
) -> Path:
    """Acquire the paper's sweep on the simulated bench into `folder`.

    Parameters
    ----------
    folder
        Run folder (absent or empty, unless `resume`).
    seed
        Seed of the orders and of all simulated noise.
    repeats
        Spectra per fluence and polarization (None: the protocol's 5).
    time_scale
        Factor on the simulated device times (0: as fast as the computer goes). [1]
    resume
        Continue an interrupted run in `folder`.
    on_step
        Called after each step (progress bar, live view).
    config
        Twin configuration (None: the calibrated default).
    **bench_options
        Noise of the simulated table (`SimulatedBench`): ``calibration_error`` (1 %),
        ``laser_rms`` (0.5 % step-to-step pulse-energy jitter), ``power_meter_rms`` (0.3 %).

    Returns
    -------
    Path
        ``folder/manifest.csv``, readable by ``polase analyze`` and
        `polase.io.read_measurement`.
    """
    return run_simulated(
        paper_protocol(repeats),
        folder,
        seed,
        resume=resume,
        on_step=on_step,
        time_scale=time_scale,
        config=config,
        **bench_options,
    )
