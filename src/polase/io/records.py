"""In-memory records of single instrument files, returned by the readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Header metadata value types kept as provenance.
MetaValue = str | float | bool


class FileFormatWarning(UserWarning):
    """A file was read, but something in it is inconsistent (e.g. pixel count line)."""


@dataclass
class SpectrumFile:
    """One spectrum as read from an instrument export.

    Attributes
    ----------
    wavelength_nm : ndarray
        Pixel wavelengths, strictly increasing. [nm]
    counts : ndarray
        Values as stored in the file (raw detector counts for a scope-mode export),
        same length as `wavelength_nm`; NaN where the file held NaN. [counts]
    integration_time_s : float or None
        Integration time from the header, or None when the format has none. [s]
    metadata : dict
        Header lines ``key: value`` as str, float or bool (``true``/``Yes`` -> True).
    format : str
        ``"oceanview"``, ``"spectrasuite"`` or ``"csv"``.
    path : Path
        File read.
    """

    wavelength_nm: np.ndarray
    counts: np.ndarray
    integration_time_s: float | None
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    format: str = ""
    path: Path = field(default_factory=Path)


@dataclass
class DecayFile:
    """One TCSPC histogram as read from a Horiba DAS6 / DataStation text export.

    Attributes
    ----------
    time_ns : ndarray
        Channel centre times. Channel ``c`` (1-based, as numbered in the file) covers
        ``[(c - 1) w, c w)``, so its centre is ``(c - 0.5) w`` with ``w`` the channel width:
        t = 0 is the leading edge of channel 1. [ns]
    counts : ndarray
        Counts per channel (float64, integer valued). [counts]
    channel_width_ns : float
        Channel width from ``Time calibration: <w>ns/ch``. [ns]
    metadata : dict
        Header lines ``key: value`` (``Item name``, ``Real time`` ...).
    format : str
        ``"das6"``.
    path : Path
        File read.
    """

    time_ns: np.ndarray
    counts: np.ndarray
    channel_width_ns: float
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    format: str = "das6"
    path: Path = field(default_factory=Path)

    @property
    def channel(self) -> np.ndarray:
        """1-based channel numbers as in the file."""
        return np.rint(self.time_ns / self.channel_width_ns + 0.5).astype(np.int64)
