"""Helpers shared by the text-format readers and writers (decoding, numbers, header values)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputFileError
from .records import MetaValue

# Exports from Windows instrument software are often cp1252; try UTF-8 first.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
_TRAILING_PAREN = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*$")


def read_text_lines(path: str | Path, max_bytes: int | None = None) -> list[str]:
    """Return the lines of a text file (without line ends); raise InputFileError if unreadable.

    With `max_bytes`, only the start of the file is read (the last, maybe partial, line
    is dropped unless the whole file fitted).
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "file not found")
    if not p.is_file():
        raise InputFileError(p, "not a regular file")
    with p.open("rb") as fh:
        raw = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    partial = max_bytes is not None and len(raw) > max_bytes
    if partial:
        raw = raw[:max_bytes]
    if b"\x00" in raw[:4096]:
        raise InputFileError(p, "binary content; expected a text export")
    for enc in _ENCODINGS:
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    lines = text.splitlines()
    return lines[:-1] if partial and len(lines) > 1 else lines


def parse_float(text: str, decimal: str | None = None) -> float | None:
    """Parse one number; return None if `text` is not a number.

    Parameters
    ----------
    text
        The field, e.g. ``"1,000000E-1"`` or ``"178.699"``.
    decimal
        ``"."`` or ``","``; None accepts either when unambiguous (a single comma and
        no dot is a decimal comma).
    """
    s = text.strip()
    if not s:
        return None
    if decimal == ",":
        if "." in s:
            return None
        s = s.replace(",", ".")
    elif decimal is None and "," in s:
        if "." in s or s.count(",") != 1:
            return None
        s = s.replace(",", ".")
    elif "," in s:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def convert_value(text: str) -> MetaValue:
    """Convert a header value: true/false/yes/no -> bool, numbers -> float, else the string.

    A trailing parenthesised spectrometer name (SpectraSuite: ``"No (QEB1523)"``) is
    dropped when what remains is a bool or a number.
    """
    s = text.strip()
    low = s.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    num = parse_float(s)
    if num is not None:
        return num
    m = _TRAILING_PAREN.match(s)
    if m and m.group(1):
        head = convert_value(m.group(1))
        if not isinstance(head, str):
            return head
    return s


def format_float(x: float, decimal: str = ".") -> str:
    """Shortest text that parses back to the same float64 (``"181.53"``, ``"0"``, ``"1e-05"``)."""
    s = repr(float(x))
    if s.endswith(".0"):
        s = s[:-2]
    return s.replace(".", decimal) if decimal != "." else s


def format_sci(x: float, decimal: str = ".", exp_digits: int = 1) -> str:
    """Scientific notation as in Java-written exports (``1,000000E-1``), exact round trip."""
    s = np.format_float_scientific(float(x), unique=True, min_digits=6, exp_digits=exp_digits)
    s = s.upper()
    return s.replace(".", decimal) if decimal != "." else s


def format_meta(
    value: MetaValue, decimal: str = ".", bool_words: tuple[str, str] = ("true", "false")
) -> str:
    """Header text for a metadata value (bool -> `bool_words`, float -> shortest repr)."""
    if isinstance(value, bool | np.bool_):
        return bool_words[0] if value else bool_words[1]
    if isinstance(value, int | float | np.integer | np.floating):
        return format_float(float(value), decimal)
    return str(value)


def check_meta_key(key: str, value: object, path: Path) -> None:
    """Reject metadata that would break the header layout when written."""
    if not isinstance(key, str) or not key.strip() or ":" in key or "\n" in key or "\r" in key:
        raise ValueError(
            f"{path}: metadata key {key!r} must be a non-empty string without ':' or line breaks"
        )
    if "\n" in str(value) or "\r" in str(value):
        raise ValueError(f"{path}: metadata value for {key!r} must not contain line breaks")
    if str(value).lstrip().startswith(">>>>>"):
        raise ValueError(f"{path}: metadata value for {key!r} must not start with '>>>>>'")


def header_key_value(line: str) -> tuple[str, str] | None:
    """Split ``"Key: value"`` at the first colon; None if the line has no colon."""
    if ":" not in line:
        return None
    key, value = line.split(":", 1)
    key = key.strip()
    if not key:
        return None
    return key, value.strip()


def add_meta(meta: dict[str, MetaValue], key: str, value: MetaValue) -> None:
    """Insert `key`, suffixing `` (2)``, `` (3)`` ... when a header repeats a key."""
    if key not in meta:
        meta[key] = value
        return
    n = 2
    while f"{key} ({n})" in meta:
        n += 1
    meta[f"{key} ({n})"] = value
