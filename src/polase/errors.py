"""Exception hierarchy: every error polase raises on purpose derives from `PolaseError`.

Messages say what is wrong, where (key, file and line, variable), and what is allowed.
"""

from __future__ import annotations

from pathlib import Path


class PolaseError(Exception):
    """Base class of all polase errors."""


class ConfigError(PolaseError, ValueError):
    """A configuration key or value is unknown, out of range or inconsistent.

    Parameters
    ----------
    key
        Dotted name of the offending key, e.g. ``"pump.fluence"``.
    message
        What is wrong and what is allowed.
    """

    def __init__(self, key: str, message: str):
        self.key = key
        self.message = message
        super().__init__(f"config key '{key}': {message}")


class InputFileError(PolaseError, ValueError):
    """A file could not be read: malformed, wrong format or unsupported content.

    Parameters
    ----------
    path
        File that failed.
    message
        What was expected.
    line
        1-based line number where the problem was found, if known.
    """

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        super().__init__(f"{where}: {message}")


class DataValidationError(PolaseError, ValueError):
    """Data (arrays, Datasets) violate the schema: bad shape, units, NaN, axes."""


class FitError(PolaseError, RuntimeError):
    """A fit could not be set up (not: a single fit in a batch that failed)."""


class OutputExistsError(PolaseError, FileExistsError):
    """An output path exists and overwriting was not requested."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        super().__init__(f"{self.path} exists; pass --overwrite (overwrite=True) to replace it")
