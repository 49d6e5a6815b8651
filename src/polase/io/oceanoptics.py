"""Ocean Optics exports: OceanView "ASCII with header" and SpectraSuite ``.txt`` files.

OceanView: header ``Key: value`` lines, integration time ``Integration Time (sec)``,
``true``/``false`` flags, then ``>>>>>Begin Spectral Data<<<<<`` and tab-separated
``wavelength<TAB>value`` rows to the end of the file (no end marker); decimal separator
comma or dot, as the exporting computer's locale had it.

SpectraSuite: first line ``SpectraSuite Data File``, integration time
``Integration Time (usec)``, ``Yes``/``No`` flags, data between
``>>>>>Begin Processed Spectral Data<<<<<`` and ``>>>>>End Processed Spectral Data<<<<<``.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import numpy as np

from .._deprecation import deprecated_alias
from .._files import write_text_atomic
from ..errors import InputFileError
from ._text import (
    add_meta,
    check_meta_key,
    convert_value,
    format_float,
    format_meta,
    format_sci,
    header_key_value,
    read_text_lines,
)
from .records import FileFormatWarning, SpectrumFile

BEGIN_RE = re.compile(r"^\s*>>>>>\s*Begin\b.*Data\s*<<<<<\s*$", re.IGNORECASE)
END_RE = re.compile(r"^\s*>>>>>\s*End\b.*Data\s*<<<<<\s*$", re.IGNORECASE)
_IT_KEY = re.compile(r"^Integration Time\s*\((sec|s|msec|ms|usec|us|µs|μs)\)$", re.IGNORECASE)
# divide (not multiply by 1e-6): 100000 usec must give exactly 0.1 s
_IT_DIVISOR = {"sec": 1.0, "s": 1.0, "msec": 1e3, "ms": 1e3, "usec": 1e6, "us": 1e6}
_PIXELS_KEY = re.compile(r"^Number of Pixels", re.IGNORECASE)

#: Header written by `write_oceanoptics`, in the order of a real OceanView 2.x export.
OCEANVIEW_BEGIN = ">>>>>Begin Spectral Data<<<<<"


def read_oceanoptics(path: str | Path) -> SpectrumFile:
    """Read an OceanView "ASCII with header" or a SpectraSuite ``.txt`` export.

    Parameters
    ----------
    path
        The export file.

    Returns
    -------
    SpectrumFile
        Wavelengths in [nm] (reversed to increasing order if the file is decreasing),
        values as stored, integration time converted to [s], all header lines as
        metadata. A ``Number of Pixels ...`` line that disagrees with the data rows
        counted gives a `FileFormatWarning` and a ``pixel_count_mismatch`` metadata entry.

    Raises
    ------
    InputFileError
        Missing begin marker, SpectraSuite file without its end marker, a data row that
        is not two numbers, mixed decimal separators, a non-monotonic wavelength axis,
        an x axis other than wavelengths, or an unparsable integration time; the message
        names the file and line.
    """
    p = Path(path)
    lines = read_text_lines(p)
    begin = next((i for i, s in enumerate(lines) if BEGIN_RE.match(s)), None)
    if begin is None:
        raise InputFileError(
            p,
            "no '>>>>>Begin Spectral Data<<<<<' (or '>>>>>Begin Processed Spectral Data<<<<<') "
            "marker: not an OceanView/SpectraSuite 'ASCII with header' export",
        )
    fmt = "spectrasuite" if lines and lines[0].strip() == "SpectraSuite Data File" else "oceanview"

    metadata: dict = {}
    integration_time_s = None
    pixels_line: tuple[int, float] | None = None
    for i, line in enumerate(lines[:begin]):
        s = line.strip()
        if not s or set(s) <= {"+"}:
            continue
        kv = header_key_value(s)
        if kv is None:
            add_meta(metadata, "title" if i == 0 else f"line {i + 1}", s)
            continue
        key, raw = kv
        value = convert_value(raw)
        add_meta(metadata, key, value)
        m = _IT_KEY.match(key)
        if m:
            unit = m.group(1).lower().replace("µ", "u").replace("μ", "u")
            if isinstance(value, bool) or not isinstance(value, float) or not value > 0:
                raise InputFileError(
                    p, f"integration time {raw!r} is not a positive number ({key})", i + 1
                )
            integration_time_s = value / _IT_DIVISOR[unit]
        elif _PIXELS_KEY.match(key) and isinstance(value, float):
            pixels_line = (i + 1, value)

    xmode = metadata.get("XAxis mode")
    if isinstance(xmode, str) and xmode.strip().lower() not in ("wavelengths", "wavelength"):
        raise InputFileError(
            p,
            f"x axis mode is {xmode!r}; polase reads wavelength axes ('XAxis mode: Wavelengths') only",
        )

    end = next((i for i in range(begin + 1, len(lines)) if END_RE.match(lines[i])), None)
    if fmt == "spectrasuite" and end is None:
        raise InputFileError(
            p,
            "expected the end marker '>>>>>End Processed Spectral Data<<<<<' that SpectraSuite "
            "files end with; the file looks truncated",
            len(lines),
        )
    if end is not None:
        for j in range(end + 1, len(lines)):
            if lines[j].strip():
                raise InputFileError(p, "unexpected content after the end-of-data marker", j + 1)
    stop = end if end is not None else len(lines)
    wl, val = _parse_rows(p, lines, begin + 1, stop)

    if pixels_line is not None and int(pixels_line[1]) != wl.size:
        note = f"header line {pixels_line[0]} says {int(pixels_line[1])} pixels, file has {wl.size} data rows"
        metadata["pixel_count_mismatch"] = note
        warnings.warn(
            f"{p}: {note}; using the {wl.size} rows read", FileFormatWarning, stacklevel=2
        )
    return SpectrumFile(
        wavelength_nm=wl,
        counts=val,
        integration_time_s=integration_time_s,
        metadata=metadata,
        format=fmt,
        path=p,
    )


def _parse_rows(p: Path, lines: list[str], start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``x<TAB>y`` rows lines[start:stop]; decimal separator decided by the first row."""
    xs: list[float] = []
    ys: list[float] = []
    rows: list[int] = []
    decimal = None
    for i in range(start, stop):
        s = lines[i].strip()
        if not s:
            continue
        parts = s.split("\t") if "\t" in s else s.split()
        if len(parts) != 2:
            raise InputFileError(
                p,
                f"expected two tab-separated numbers 'wavelength<TAB>value', found {len(parts)} "
                f"field(s): {s[:60]!r}",
                i + 1,
            )
        if decimal is None and ("," in s or "." in s):
            # decided by the first row with a separator (integer rows have none)
            decimal = "," if "," in s else "."
        a, b = parts
        if decimal == ",":
            a, b = (None, None) if "." in s else (a.replace(",", "."), b.replace(",", "."))
        try:
            x, y = float(a), float(b)
        except (TypeError, ValueError):
            other = "." if decimal == "," else ","
            why = (
                f"mixed decimal separators ('{decimal}' earlier, '{other}' here)"
                if other in s
                else "not a number"
            )
            raise InputFileError(
                p, f"expected 'wavelength<TAB>value' as two numbers, {why}: {s[:60]!r}", i + 1
            ) from None
        xs.append(x)
        ys.append(y)
        rows.append(i + 1)
    if not xs:
        raise InputFileError(p, "no data rows after the begin-of-data marker", start)
    wl = np.asarray(xs, dtype=np.float64)
    val = np.asarray(ys, dtype=np.float64)
    return check_axis(p, wl, val, rows)


def check_axis(
    p: Path, wl: np.ndarray, val: np.ndarray, rows: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Require a finite, strictly monotonic wavelength axis; return it increasing."""
    bad = np.flatnonzero(~np.isfinite(wl))
    if bad.size:
        raise InputFileError(p, "wavelength is not a finite number", rows[bad[0]])
    if wl.size > 1:
        d = np.diff(wl)
        if np.all(d < 0):
            return wl[::-1].copy(), val[::-1].copy()
        nonpos = np.flatnonzero(d <= 0)
        if nonpos.size:
            k = nonpos[0] + 1
            raise InputFileError(
                p,
                f"wavelength {wl[k]:g} nm does not increase (previous row {wl[k - 1]:g} nm); "
                "expected a strictly monotonic wavelength axis",
                rows[k],
            )
    return wl, val


def write_oceanoptics(
    path: str | Path,
    wavelength_nm,
    counts,
    integration_time_s: float,
    *,
    metadata: dict | None = None,
    decimal: str = ".",
    overwrite: bool = False,
) -> Path:
    """Write a spectrum as an OceanView 2.x "ASCII with header" export.

    The header has the same lines, in the same order, as a real OceanView export
    (``Data from ... Node``, ``Date``, ``User``, ``Spectrometer``, ``Trigger mode``,
    ``Integration Time (sec)``, ``Scans to average``, ``Nonlinearity correction enabled``,
    ``Boxcar width``, ``Storing dark spectrum``, ``XAxis mode``, ``Number of Pixels in
    Spectrum``), then ``>>>>>Begin Spectral Data<<<<<`` and tab-separated rows, no end
    marker. Numbers are written with the shortest text that reads back to the same
    float64, so `read_spectrum` returns exactly the arrays given.

    Parameters
    ----------
    path
        Output file; written atomically.
    wavelength_nm : array_like
        Pixel wavelengths, finite and strictly monotonic. [nm]
    counts : array_like
        Values per pixel (NaN allowed, written as ``nan``). [counts]
    integration_time_s
        Integration time, > 0. [s]
    metadata
        Header values overriding the defaults (e.g. ``{"Spectrometer": "FLMS12345",
        "Scans to average": 5, "Date": "..."}``); other keys are added as extra
        ``key: value`` lines before ``XAxis mode``. Keys may not contain ``:``.
    decimal
        Decimal separator, ``"."`` or ``","``.
    overwrite
        Replace an existing file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputExistsError
        `path` exists and not `overwrite`.
    ValueError
        Bad arrays, integration time, decimal or metadata.
    """
    p = Path(path)
    if decimal not in (".", ","):
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    wl = np.asarray(wavelength_nm, dtype=np.float64)
    y = np.asarray(counts, dtype=np.float64)
    if wl.ndim != 1 or y.shape != wl.shape or wl.size == 0:
        raise ValueError(
            f"wavelength_nm and counts must be 1-D of equal non-zero length, got shapes "
            f"{wl.shape} and {y.shape}"
        )
    if not np.all(np.isfinite(wl)):
        raise ValueError("wavelength_nm must be finite")
    d = np.diff(wl)
    if wl.size > 1 and not (np.all(d > 0) or np.all(d < 0)):
        raise ValueError("wavelength_nm must be strictly monotonic")
    it = float(integration_time_s)
    if not (np.isfinite(it) and it > 0):
        raise ValueError(
            f"integration_time_s must be finite and > 0 [s], got {integration_time_s!r}"
        )

    header: dict = {
        "Date": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()),
        "User": "polase",
        "Spectrometer": "polase",
        "Trigger mode": 0,
        "Scans to average": 1,
        "Nonlinearity correction enabled": False,
        "Boxcar width": 0,
        "Storing dark spectrum": False,
    }
    extra: dict = {}
    for key, value in (metadata or {}).items():
        check_meta_key(key, value, p)
        if _IT_KEY.match(key) or _PIXELS_KEY.match(key) or key in ("XAxis mode", "title"):
            continue  # fixed by the data written
        (header if key in header else extra)[key] = value
    title = (metadata or {}).get("title", f"Data from {p.name} Node")
    if "\n" in str(title) or "\r" in str(title) or ":" in str(title):
        raise ValueError(f"{p}: title must be one line without ':'")

    out = [str(title), ""]
    for key in ("Date", "User", "Spectrometer", "Trigger mode"):
        out.append(f"{key}: {format_meta(header[key], decimal)}")
    out.append(f"Integration Time (sec): {format_sci(it, decimal)}")
    for key in (
        "Scans to average",
        "Nonlinearity correction enabled",
        "Boxcar width",
        "Storing dark spectrum",
    ):
        out.append(f"{key}: {format_meta(header[key], decimal)}")
    for key, value in extra.items():
        out.append(f"{key}: {format_meta(value, decimal)}")
    out.append("XAxis mode: Wavelengths")
    out.append(f"Number of Pixels in Spectrum: {wl.size}")
    out.append(OCEANVIEW_BEGIN)
    out.extend(f"{format_float(a, decimal)}\t{format_float(b, decimal)}" for a, b in zip(wl, y))
    return write_text_atomic(p, "\n".join(out) + "\n", overwrite=overwrite)


#: Deprecated name of `write_oceanoptics`.
write_oceanview = deprecated_alias(write_oceanoptics, "write_oceanview")
