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
    """One TCSPC histogram as read from an instrument file.

    Horiba DAS6 / DataStation text exports, PicoQuant PTU (T2 and T3 records, histogrammed
    per detector channel) and PHU histograms, Becker & Hickl SDT decay blocks.

    Attributes
    ----------
    time_ns : ndarray
        Channel centre times. Channel ``c`` (1-based) covers ``[(c - 1) w, c w)``, so its
        centre is ``(c - 0.5) w`` with ``w`` the channel width: t = 0 is the leading edge of
        channel 1 (for PicoQuant/B&H files: the sync, i.e. delay 0). [ns]
    counts : ndarray
        Counts per channel (float64, integer valued). [counts]
    channel_width_ns : float
        Channel width (DAS6: ``Time calibration: <w>ns/ch``; PTU/PHU: the histogram
        resolution; SDT: TAC range / (TAC gain x ADC resolution)). [ns]
    metadata : dict
        Header values as str, float or bool (DAS6: header lines; PTU/PHU: the PicoQuant
        tags; SDT: the measurement description).
    format : str
        ``"das6"``, ``"ptu-t2"``, ``"ptu-t3"``, ``"phu"`` or ``"sdt"``.
    path : Path
        File read.
    detector_channel : int or None
        Detector input (0-based as in the file: PTU/PHU routing channel, SDT data block)
        the histogram belongs to; None for single-histogram formats.
    repetition_period_ns : float or None
        Laser (sync) period read from the file (PTU/PHU: 1 / sync rate; SDT: from the sync
        rate of the measurement's stop information when recorded); None when the file holds
        none. Never a default. [ns]
    acquisition_time_s : float or None
        Acquisition (collection) time from the file. [s]
    count_rate_hz : float or None
        Mean detected photon rate of this channel: counts / acquisition time, or the rate
        the instrument recorded. [1/s]
    """

    time_ns: np.ndarray
    counts: np.ndarray
    channel_width_ns: float
    metadata: dict[str, MetaValue] = field(default_factory=dict)
    format: str = "das6"
    path: Path = field(default_factory=Path)
    detector_channel: int | None = None
    repetition_period_ns: float | None = None
    acquisition_time_s: float | None = None
    count_rate_hz: float | None = None

    @property
    def channel(self) -> np.ndarray:
        """1-based channel numbers as in the file."""
        return np.rint(self.time_ns / self.channel_width_ns + 0.5).astype(np.int64)
