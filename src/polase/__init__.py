"""polase: polarization-switched, multi-photon-pumped ASE spectroscopy.

A physics-based digital twin of the experiment, an analysis pipeline for measured
files, a batched fitting engine, and reports that put model and measurement side by side.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("polase")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

from .errors import (
    ConfigError,
    DataValidationError,
    FitError,
    InputFileError,
    OutputExistsError,
    PolaseError,
)


def simulate(config=None, **overrides):
    """Run the digital twin; see `polase.experiment.simulate`."""
    from .experiment import simulate as _simulate

    return _simulate(config, **overrides)


__all__ = [
    "ConfigError",
    "DataValidationError",
    "FitError",
    "InputFileError",
    "OutputExistsError",
    "PolaseError",
    "__version__",
    "simulate",
]
