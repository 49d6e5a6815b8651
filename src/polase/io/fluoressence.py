"""Horiba FluorEssence ASCII exports (tab-separated, one X column per signal or shared).

Two layouts occur:

* single scan: three header rows (short name, long name, units), then data; columns
  come as X, Y pairs, e.g. ``Wavelength | S1c / R1c | Wavelength | S1 | ...``;
* multi-scan: a first column of row labels (``Short Name``, ``Long Name``, ``Units``,
  ``SourceName``, ``CycleNumber``, ``TimeStamp``; data rows numbered 1, 2, ...), then one
  X column followed by the Y columns that share it.

In both, a column is an X column when its long name is an axis name (Wavelength, Time,
...) or its unit is an axis unit (nm, s, ...); every other column is a signal that uses
the nearest X column to its left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputFileError
from ._text import parse_float, read_text_lines

_AXIS_NAMES = {
    "wavelength",
    "time",
    "temperature",
    "excitation",
    "emission",
    "wavenumber",
    "energy",
}
_AXIS_UNITS = {"nm", "s", "ms", "us", "µs", "ns", "min", "h", "°c", "k", "ev", "cm-1"}


@dataclass
class FluorEssenceTrace:
    """One signal of a FluorEssence export.

    Attributes
    ----------
    x : ndarray
        Axis values (unit in `x_units`; for spectra a wavelength in [nm]).
    y : ndarray
        Signal (unit in `y_units`, e.g. ``"CPS / MicroAmps"``).
    label : str
        Long name; for multi-scan files ``"<SourceName> cycle <CycleNumber>"``.
    x_label, x_units, y_units : str
        Long name and unit of the X column, unit of the signal.
    metadata : dict
        Every header row for this column (``Short Name``, ``TimeStamp`` ...).

    A trace unpacks as ``x, y, label = trace``.
    """

    x: np.ndarray
    y: np.ndarray
    label: str
    x_label: str = ""
    x_units: str = ""
    y_units: str = ""
    metadata: dict = field(default_factory=dict)

    def __iter__(self):
        """Unpack as ``x, y, label`` (so the result reads like a list of tuples)."""
        return iter((self.x, self.y, self.label))


def _is_axis(long_name: str, unit: str) -> bool:
    return long_name.strip().lower() in _AXIS_NAMES or unit.strip().lower() in _AXIS_UNITS


def read_fluoressence(path: str | Path) -> list[FluorEssenceTrace]:
    """Read a Horiba FluorEssence ASCII export (single- or multi-scan layout).

    Parameters
    ----------
    path
        The export file.

    Returns
    -------
    list of FluorEssenceTrace
        One trace per signal column, in file order, each with its own X array (rows
        where either X or Y is empty are dropped, so ragged columns are fine).

    Raises
    ------
    InputFileError
        Fewer than three header rows, a signal column with no X column to its left,
        a cell that is not a number (file, line and column named), or no data rows.
    """
    p = Path(path)
    rows = [s.split("\t") for s in read_text_lines(p)]
    multi = bool(rows) and rows[0][0].strip().lower() == "short name"
    if multi:
        n_head = next(
            (i for i, r in enumerate(rows) if parse_float(r[0], ".") is not None), len(rows)
        )
        head = {r[0].strip(): [c.strip() for c in r[1:]] for r in rows[:n_head]}
        first_col = 1
        names = ["Short Name", "Long Name", "Units"]
        missing = [k for k in names if k not in head]
        if missing:
            raise InputFileError(p, f"multi-scan header lacks row(s) {missing}", 1)
    else:
        n_head = 3
        if len(rows) < 4:
            raise InputFileError(
                p, "expected three header rows (short name, long name, units) and data", len(rows)
            )
        head = {
            k: [c.strip() for c in rows[i]]
            for i, k in enumerate(("Short Name", "Long Name", "Units"))
        }
        first_col = 0
        for i in range(3):
            if all(parse_float(c, ".") is not None for c in rows[i] if c.strip()):
                raise InputFileError(
                    p,
                    "expected a header row of names/units, found numbers (not a FluorEssence export?)",
                    i + 1,
                )
    ncol = max(len(v) for v in head.values())
    for v in head.values():
        v.extend([""] * (ncol - len(v)))

    data = np.full((len(rows) - n_head, ncol), np.nan)
    for j, r in enumerate(rows[n_head:]):
        cells = r[first_col:]
        if not any(c.strip() for c in r):
            continue
        if len(cells) > ncol:
            raise InputFileError(
                p, f"expected at most {ncol} columns, found {len(cells)}", n_head + j + 1
            )
        for k, c in enumerate(cells):
            if not c.strip():
                continue
            v = parse_float(c, ".")
            if v is None:
                raise InputFileError(
                    p,
                    f"column {k + first_col + 1}: expected a number, got {c.strip()[:30]!r}",
                    n_head + j + 1,
                )
            data[j, k] = v

    traces: list[FluorEssenceTrace] = []
    xcol = None
    for k in range(ncol):
        long_name, unit = head["Long Name"][k], head["Units"][k]
        if not (long_name or unit or head["Short Name"][k]):
            continue
        if _is_axis(long_name, unit):
            xcol = k
            continue
        if xcol is None:
            raise InputFileError(
                p,
                f"column {k + first_col + 1} ({long_name!r}) has no X column (e.g. 'Wavelength') to its left",
                2,
            )
        ok = np.isfinite(data[:, xcol]) & np.isfinite(data[:, k])
        meta = {name: vals[k] for name, vals in head.items()}
        label = long_name
        if multi and meta.get("SourceName") and meta.get("CycleNumber"):
            label = f"{meta['SourceName']} cycle {meta['CycleNumber']}"
        traces.append(
            FluorEssenceTrace(
                x=data[ok, xcol],
                y=data[ok, k],
                label=label,
                x_label=head["Long Name"][xcol],
                x_units=head["Units"][xcol],
                y_units=unit,
                metadata=meta,
            )
        )
    if not traces or all(t.x.size == 0 for t in traces):
        raise InputFileError(p, "no signal columns with data found")
    return traces
