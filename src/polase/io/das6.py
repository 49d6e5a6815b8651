"""Horiba DAS6 / DataStation TCSPC text exports (``Time calibration: <w>ns/ch``, ``Chan<TAB>Data``).

Layout of a real export::

    Item name: Decay

    Real time: 32.533
    Live time: 0
    Time calibration: 2.743484E-02ns/ch

    Comment:


    Chan	Data
    1	0
    2	0
    ...
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .._deprecation import deprecated_alias
from .._files import write_text_atomic
from ..errors import DataValidationError, InputFileError
from ._text import (
    add_meta,
    check_meta_key,
    convert_value,
    format_meta,
    format_sci,
    header_key_value,
    parse_float,
    read_text_lines,
)
from .records import DecayFile

_CHAN_RE = re.compile(r"^\s*Chan\s+Data\s*$", re.IGNORECASE)
_CAL_RE = re.compile(
    r"^\s*([-+0-9.,eE]+)\s*(ns|ps|us|µs|μs)\s*/\s*ch(an(nel)?)?\s*$", re.IGNORECASE
)
_TO_NS = {"ns": (1.0, 1.0), "ps": (1.0, 1e3), "us": (1e3, 1.0), "µs": (1e3, 1.0), "μs": (1e3, 1.0)}


def read_das6(path: str | Path) -> DecayFile:
    """Read a Horiba DAS6 / DataStation TCSPC text export.

    Parameters
    ----------
    path
        The export file.

    Returns
    -------
    DecayFile
        Channel-centre times ``(c - 0.5) * w`` for channel ``c`` (t = 0 at the leading
        edge of channel 1) [ns], counts [counts], channel width ``w`` [ns], the header
        as metadata, and the ``Real time`` header as ``acquisition_time_s`` [s] (with
        ``count_rate_hz`` = counts / real time [1/s]; None when the header is 0 or absent).
        DAS6 exports hold no laser period (``repetition_period_ns`` None).

    Raises
    ------
    InputFileError
        No ``Time calibration`` line or an unparsable one, no ``Chan<TAB>Data`` line,
        a row that is not two numbers, non-consecutive channels, or negative counts
        (file and line named).
    """
    p = Path(path)
    lines = read_text_lines(p)
    start = next((i for i, s in enumerate(lines) if _CHAN_RE.match(s)), None)
    if start is None:
        raise InputFileError(p, "no 'Chan<TAB>Data' line: not a DAS6/DataStation TCSPC text export")
    metadata: dict = {}
    width_ns = None
    for i, line in enumerate(lines[:start]):
        kv = header_key_value(line)
        if kv is None:
            if line.strip():
                add_meta(metadata, f"line {i + 1}", line.strip())
            continue
        key, raw = kv
        if key.lower() == "time calibration":
            m = _CAL_RE.match(raw)
            w = parse_float(m.group(1)) if m else None
            if w is None or not np.isfinite(w) or w <= 0:
                raise InputFileError(
                    p,
                    f"expected 'Time calibration: <width>ns/ch' with width > 0, got {raw!r}",
                    i + 1,
                )
            mul, div = _TO_NS[m.group(2).lower()]
            width_ns = w * mul / div
            add_meta(metadata, key, raw)
        else:
            add_meta(metadata, key, convert_value(raw))
    if width_ns is None:
        raise InputFileError(p, "no 'Time calibration: <width>ns/ch' header line")

    chans: list[float] = []
    counts: list[float] = []
    rows: list[int] = []
    for i in range(start + 1, len(lines)):
        s = lines[i].strip()
        if not s:
            continue
        parts = s.split()
        try:
            c, v = (float(parts[0]), float(parts[1])) if len(parts) == 2 else (None, None)
        except ValueError:
            c = None
        if c is None:
            raise InputFileError(
                p, f"expected 'channel<TAB>counts' as two numbers: {s[:60]!r}", i + 1
            )
        chans.append(c)
        counts.append(v)
        rows.append(i + 1)
    if not chans:
        raise InputFileError(p, "no data rows after the 'Chan<TAB>Data' line", start + 1)
    ch = np.asarray(chans)
    y = np.asarray(counts, dtype=np.float64)
    # checks vectorized; the first offending row is reported
    expected = ch[0] + np.arange(ch.size)
    bad = np.flatnonzero((ch != expected) | (ch != np.rint(ch)))
    if bad.size:
        k = int(bad[0])
        what = f"channel {expected[k]:g}" if k > 0 else "an integer channel number"
        raise InputFileError(p, f"expected {what}, got {lines[rows[k] - 1].split()[0]!r}", rows[k])
    bad = np.flatnonzero(~(np.isfinite(y) & (y >= 0)))
    if bad.size:
        k = int(bad[0])
        raise InputFileError(
            p, f"counts must be finite and >= 0, got {lines[rows[k] - 1].split()[1]!r}", rows[k]
        )
    ch = np.asarray(chans)
    # 'Real time' is the collection time in seconds; exports written without one hold 0
    real = metadata.get("Real time")
    acq_s = float(real) if isinstance(real, int | float) and real > 0 else None
    return DecayFile(
        time_ns=(ch - 0.5) * width_ns,
        counts=y,
        channel_width_ns=float(width_ns),
        metadata=metadata,
        format="das6",
        path=p,
        acquisition_time_s=acq_s,
        count_rate_hz=float(y.sum()) / acq_s if acq_s is not None else None,
    )


def write_das6(
    path: str | Path,
    counts,
    channel_width_ns: float,
    *,
    metadata: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a TCSPC histogram as a Horiba DAS6 text export (channels numbered from 1).

    Parameters
    ----------
    path
        Output file; written atomically.
    counts : array_like
        Counts per channel, non-negative integers (integer-valued floats accepted). [counts]
    channel_width_ns
        Channel width, > 0; written with the shortest text that reads back exactly. [ns]
    metadata
        Header values: ``Item name`` (default ``"Decay"``), ``Real time``, ``Live time``
        (default 0), ``Comment`` (default empty); other keys are added after
        ``Live time``. Keys may not contain ``:``.
    overwrite
        Replace an existing file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    DataValidationError
        Counts not 1-D non-negative integers.
    ValueError
        Bad channel width or metadata.
    OutputExistsError
        `path` exists and not `overwrite`.
    """
    p = Path(path)
    y = np.asarray(counts, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise DataValidationError(f"{p}: counts must be a non-empty 1-D array, got shape {y.shape}")
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y != np.rint(y)):
        raise DataValidationError(f"{p}: TCSPC counts must be finite non-negative integers")
    w = float(channel_width_ns)
    if not (np.isfinite(w) and w > 0):
        raise ValueError(f"channel_width_ns must be finite and > 0 [ns], got {channel_width_ns!r}")
    meta = {"Item name": "Decay", "Real time": 0, "Live time": 0, "Comment": ""}
    extra: dict = {}
    for key, value in (metadata or {}).items():
        check_meta_key(key, value, p)
        if key.lower() == "time calibration":
            continue  # fixed by channel_width_ns
        (meta if key in meta else extra)[key] = value
    out = [f"Item name: {format_meta(meta['Item name'])}", ""]
    out.append(f"Real time: {format_meta(meta['Real time'])}")
    out.append(f"Live time: {format_meta(meta['Live time'])}")
    out.extend(f"{k}: {format_meta(v)}" for k, v in extra.items())
    out.append(f"Time calibration: {format_sci(w, exp_digits=2)}ns/ch")
    out += ["", f"Comment: {format_meta(meta['Comment'])}", "", "", "Chan\tData"]
    out.extend(f"{i}\t{int(v)}" for i, v in enumerate(y, start=1))
    return write_text_atomic(p, "\n".join(out) + "\n", overwrite=overwrite)


#: Deprecated name of `read_das6` (it reads the DAS6 format; `write_das6` writes it).
read_tcspc = deprecated_alias(read_das6, "read_tcspc")
