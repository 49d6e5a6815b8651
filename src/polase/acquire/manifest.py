"""An append-only manifest: one CSV row per acquisition, flushed and fsynced as it is taken.

`polase.io.write_manifest` writes a whole manifest at once (atomically); an acquisition
needs to add one row at a time so that a crash loses nothing already measured. This
module writes the same format (the columns of `polase.io.manifest.MANIFEST_COLUMNS`
first, so `polase.io.read_manifest` and ``polase analyze`` read it unchanged) plus the
acquisition's own columns:

``step``
    Position of the row in the run (every file is one step). [1]
``qwp_angle_deg``
    Plate angle reported by the mount after the move. [deg]
``power_before_mW``, ``power_after_mW``
    Average power measured just before and just after the spectrum. [mW]
``pulse_energy_uJ``
    Their mean divided by the repetition rate. [uJ]
``fluence_measured_mJ_cm2``
    The peak fluence that pulse energy gives on the protocol's spot. [mJ/cm2]

A crash can only leave the last line incomplete (the row is written in one ``write``
of a few hundred bytes, then fsynced); `read_acquisition_manifest` with ``repair=True``
cuts such a tail off.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from .._files import write_text_atomic
from ..io.manifest import MANIFEST_COLUMNS
from .errors import ResumeError

#: Columns of an acquisition manifest, in order.
ACQUISITION_COLUMNS: tuple[str, ...] = (
    *MANIFEST_COLUMNS,
    "step",
    "qwp_angle_deg",
    "power_before_mW",
    "power_after_mW",
    "pulse_energy_uJ",
    "fluence_measured_mJ_cm2",
)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


def format_row(row: dict[str, Any], columns: tuple[str, ...] = ACQUISITION_COLUMNS) -> str:
    """One manifest line (with its newline) for `row`; unknown keys are an error."""
    extra = set(row) - set(columns)
    if extra:
        raise ValueError(f"manifest row has unknown column(s) {sorted(extra)}")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


class AppendingManifest:
    """A manifest CSV that grows by one durable row per `append`.

    Parameters
    ----------
    path
        The CSV. Created with its header (atomically) if it does not exist.
    columns
        Column order.
    """

    def __init__(self, path: str | Path, columns: tuple[str, ...] = ACQUISITION_COLUMNS):
        self.path = Path(path)
        self.columns = columns
        if not self.path.exists():
            write_text_atomic(self.path, ",".join(columns) + "\n")
            _fsync_dir(self.path.parent)

    def append(self, row: dict[str, Any]) -> None:
        """Append `row` and fsync, so it survives a crash or power loss right after."""
        line = format_row(row, self.columns).encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def read_acquisition_manifest(path: str | Path, repair: bool = False) -> list[dict[str, str]]:
    """Rows of an acquisition manifest as dicts of text cells.

    Parameters
    ----------
    path
        The CSV written by `AppendingManifest`.
    repair
        Cut off an incomplete last line (a row interrupted by a crash) in place.

    Raises
    ------
    ResumeError
        Another header, or an incomplete last line and not `repair`.
    """
    p = Path(path)
    data = p.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        if not repair:
            raise ResumeError(f"{p}: the last line is incomplete (interrupted write)")
        if cut == 0:
            raise ResumeError(f"{p}: the header line is incomplete")
        with p.open("r+b") as fh:
            fh.truncate(cut)
            fh.flush()
            os.fsync(fh.fileno())
        data = data[:cut]
    text = data.decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    try:
        header = tuple(next(reader))
    except StopIteration:
        raise ResumeError(f"{p}: empty manifest (no header)") from None
    if header != ACQUISITION_COLUMNS:
        raise ResumeError(f"{p}: not an acquisition manifest (header {','.join(header)})")
    rows = []
    for cells in reader:
        if len(cells) != len(header):
            raise ResumeError(
                f"{p}, line {reader.line_num}: {len(cells)} cells, expected {len(header)}"
            )
        rows.append(dict(zip(header, cells)))
    return rows
