"""Plain two-column text spectra: CSV, TSV, semicolon- or whitespace-separated.

Optional ``#`` comment lines and one optional header row. The wavelength unit comes from
the header (``wavelength (nm)``, ``lambda [um]``, ``wl_A`` ...) or the `wavelength_unit`
argument; without either, values within 150-1800 are read as nm (the range of UV-NIR
grating spectrometers, where micrometres and angstroms cannot fall) and anything else is
an error: the unit is never guessed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputFileError
from ._text import parse_float, read_text_lines
from .oceanoptics import check_axis
from .records import SpectrumFile

#: Accepted wavelength units and their factor to nm.
WAVELENGTH_UNITS: dict[str, float] = {
    "nm": 1.0,
    "um": 1e3,
    "µm": 1e3,
    "μm": 1e3,
    "micron": 1e3,
    "microns": 1e3,
    "angstrom": 0.1,
    "å": 0.1,
    "a": 0.1,
}
#: Range [nm] in which an axis without a named unit is accepted as nm.
NM_RANGE = (150.0, 1800.0)

_TOKEN = re.compile(r"[a-zµμå0-9^*+-]+", re.IGNORECASE)
_ENERGY_WORDS = {"ev", "mev", "cm-1", "cm^-1", "cm**-1", "wavenumber", "wavenumbers", "raman"}


def header_unit(name: str) -> str | None:
    """Wavelength unit named in a column header, e.g. ``"Wavelength (nm)"`` -> ``"nm"``.

    Raises ValueError for energy or wavenumber axes, which this reader does not convert.
    """
    tokens = [t.lower() for t in _TOKEN.findall(name.replace("_", " "))]
    if any(t in _ENERGY_WORDS for t in tokens) or "1/cm" in name.lower():
        raise ValueError(f"column {name!r} is an energy/wavenumber axis")
    for t in tokens:
        if t in WAVELENGTH_UNITS and (t != "a" or len(tokens) > 1):
            return t
    return None


def _split(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    return [f.strip() for f in line.split(delim)]


def _detect_delimiter(line: str) -> tuple[str | None, str | None]:
    """(delimiter, decimal) from the first data row."""
    # with tab or ';' between columns each field may use ',' or '.' (None: either)
    if "\t" in line:
        return "\t", None
    if ";" in line:
        return ";", None
    if "," in line:
        return ",", "."
    return None, "."


def read_delimited(path: str | Path, *, wavelength_unit: str | None = None) -> SpectrumFile:
    """Read a two-column (wavelength, value) CSV/TSV spectrum.

    Parameters
    ----------
    path
        The text file.
    wavelength_unit
        Unit of the first column (``"nm"``, ``"um"``, ``"angstrom"``); overrides the
        header. Required when neither the header names one nor the values lie in
        150-1800 (then taken as nm).

    Returns
    -------
    SpectrumFile
        ``format="csv"``, ``integration_time_s=None``; metadata records the header,
        delimiter and how the wavelength unit was determined.

    Raises
    ------
    InputFileError
        Rows that are not two numbers (file and line named), fewer than two rows, an
        energy/wavenumber axis, or a unit that cannot be determined.
    """
    p = Path(path)
    lines = read_text_lines(p)
    header: list[str] | None = None
    header_line = None
    delim: str | None = None
    decimal: str | None = "."
    xs: list[float] = []
    ys: list[float] = []
    rows: list[int] = []
    for i, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not xs and delim is None:
            d, dec = _detect_delimiter(s)
            parts = _split(s, d)
            nums = [parse_float(f, dec) for f in parts]
            if len(parts) == 2 and all(v is not None for v in nums):
                delim, decimal = d, dec
            elif header is None:
                header, header_line = [f.strip().strip('"') for f in parts], i + 1
                continue
            else:
                raise InputFileError(
                    p,
                    f"expected two numbers 'wavelength,value' after the header row: {s[:60]!r}",
                    i + 1,
                )
        parts = _split(s, delim)
        if len(parts) != 2:
            raise InputFileError(
                p,
                f"expected 2 columns (wavelength, value) separated by {delim or 'whitespace'!r}, "
                f"found {len(parts)}: {s[:60]!r}",
                i + 1,
            )
        x, y = parse_float(parts[0], decimal), parse_float(parts[1], decimal)
        if x is None or y is None:
            raise InputFileError(p, f"expected two numbers 'wavelength,value': {s[:60]!r}", i + 1)
        xs.append(x)
        ys.append(y)
        rows.append(i + 1)
    if len(xs) < 2:
        raise InputFileError(p, "expected at least two data rows (wavelength, value)")

    metadata: dict = {
        "delimiter": {None: "whitespace", "\t": "tab"}.get(delim, delim),
    }
    if header is not None:
        metadata["header"] = ",".join(header)
    wl = np.asarray(xs)
    unit, how = wavelength_unit, "argument"
    if unit is None and header:
        try:
            unit = header_unit(header[0])
        except ValueError as exc:
            raise InputFileError(
                p, f"{exc}; polase reads wavelength axes in nm, um or angstrom", header_line
            ) from None
        how = f"header {header[0]!r}"
    if unit is None:
        lo, hi = float(np.nanmin(wl)), float(np.nanmax(wl))
        if not (NM_RANGE[0] <= lo and hi <= NM_RANGE[1]):
            raise InputFileError(
                p,
                f"cannot tell the wavelength unit: no unit in a header and values {lo:g}-{hi:g} are "
                f"outside {NM_RANGE[0]:g}-{NM_RANGE[1]:g} (nm); name it in the header, e.g. "
                "'wavelength (nm)', or pass wavelength_unit",
            )
        unit, how = "nm", f"values within {NM_RANGE[0]:g}-{NM_RANGE[1]:g} read as nm"
    key = unit.strip().lower()
    if key not in WAVELENGTH_UNITS:
        raise InputFileError(
            p, f"unknown wavelength unit {unit!r}; allowed: {', '.join(sorted(WAVELENGTH_UNITS))}"
        )
    metadata["wavelength_unit"] = f"{unit} ({how})"
    wl = wl * WAVELENGTH_UNITS[key]
    wl, val = check_axis(p, wl, np.asarray(ys), rows)
    return SpectrumFile(wl, val, None, metadata, "csv", p)
