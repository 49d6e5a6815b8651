"""Measurement manifests (CSV) and file-name patterns: which file is which acquisition.

Manifest columns: ``file, fluence_mJ_cm2, polarization, repeat`` and optionally ``kind``
(``spectrum`` (default), ``dark``, ``decay``, ``irf``), ``acquisition_index``,
``detection_wavelength_nm`` (decays), ``integration_time_s`` (for files whose format has
none, e.g. CSV), ``detector_channel`` (decay/IRF rows of PicoQuant PTU/PHU or B&H SDT files
that hold several channels: the 0-based input / data block), and for polarization-resolved
decays ``excitation_polarizer`` (``V``, ``H``) and ``emission_analyzer`` (``V``, ``H``,
``sigma+``, ``sigma-``), and the power-meter columns of `MEASURED_COLUMNS`
(``fluence_measured_mJ_cm2``, ``pulse_energy_uJ``, ``power_before_mW``, ``power_after_mW``, as
``polase acquire`` writes them). File paths are relative to the manifest's folder.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

from .._files import write_text_atomic
from ..errors import ConfigError, InputFileError

#: Column order written by `write_manifest` (then any other columns, first seen first).
MANIFEST_COLUMNS = (
    "file",
    "fluence_mJ_cm2",
    "polarization",
    "repeat",
    "kind",
    "acquisition_index",
    "detection_wavelength_nm",
    "integration_time_s",
    "detector_channel",
    "excitation_polarizer",
    "emission_analyzer",
)
#: Polarizer / analyzer states of polarization-tagged decays, with accepted spellings.
ANALYZER_STATES = ("V", "H", "sigma+", "sigma-")
_ANALYZER_ALIASES = {
    "v": "V",
    "vertical": "V",
    "h": "H",
    "horizontal": "H",
    "sigma+": "sigma+",
    "sigma_plus": "sigma+",
    "s+": "sigma+",
    "+": "sigma+",
    "rcp": "sigma+",
    "sigma-": "sigma-",
    "sigma_minus": "sigma-",
    "s-": "sigma-",
    "-": "sigma-",
    "lcp": "sigma-",
}
#: Optional power-meter columns (written by ``polase acquire``) and the bound on their values:
#: the measured peak fluence [mJ/cm2] and pulse energy [uJ] must be > 0, the average powers
#: just before and after the acquisition [mW] >= 0.
MEASURED_COLUMNS = {
    "fluence_measured_mJ_cm2": "positive",
    "pulse_energy_uJ": "positive",
    "power_before_mW": "non-negative",
    "power_after_mW": "non-negative",
}
KINDS = ("spectrum", "dark", "decay", "irf")
_KIND_ALIASES = {"": "spectrum", "sample": "spectrum", "signal": "spectrum", "background": "dark"}


def write_manifest(path: str | Path, rows: list[dict], overwrite: bool = False) -> Path:
    """Write a manifest CSV.

    Parameters
    ----------
    path
        Output CSV; written atomically.
    rows
        One dict per file with at least ``file``; spectrum rows also ``fluence_mJ_cm2``
        [mJ/cm2] and ``polarization``; ``repeat``, ``kind``, ``acquisition_index``,
        ``detection_wavelength_nm`` [nm], ``integration_time_s`` [s] optional. Missing
        values are written as empty cells.
    overwrite
        Replace an existing file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        A row without ``file``, or an unknown ``kind``.
    OutputExistsError
        `path` exists and not `overwrite`.
    """
    if not rows:
        raise ValueError("write_manifest: rows is empty")
    columns = list(MANIFEST_COLUMNS[:4])
    for key in MANIFEST_COLUMNS[4:]:
        if any(key in r for r in rows):
            columns.append(key)
    for r in rows:
        for key in r:
            if key not in columns:
                columns.append(key)
    for i, r in enumerate(rows):
        if not str(r.get("file", "")).strip():
            raise ValueError(f"write_manifest: row {i} has no 'file'")
        kind = str(r.get("kind", "") or "").strip().lower()
        if _KIND_ALIASES.get(kind, kind) not in KINDS:
            raise ValueError(
                f"write_manifest: row {i} kind {r.get('kind')!r}; allowed: {', '.join(KINDS)}"
            )
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return write_text_atomic(path, buf.getvalue(), overwrite=overwrite)


def normalize_analyzer(text: str | None) -> str | None:
    """Map a polarizer / analyzer label to ``V``, ``H``, ``sigma+``, ``sigma-`` (None if empty).

    Raises
    ------
    ValueError
        An unknown label.
    """
    s = ("" if text is None else str(text)).strip()
    if not s:
        return None
    v = _ANALYZER_ALIASES.get(s.lower())
    if v is None:
        raise ValueError(f"unknown polarizer / analyzer state {s!r}; allowed: {ANALYZER_STATES}")
    return v


def _num(p: Path, line: int, col: str, text: str, *, integer: bool = False) -> float | int | None:
    s = text.strip()
    if not s:
        return None
    try:
        v = float(s)
    except ValueError:
        raise InputFileError(p, f"column '{col}': expected a number, got {s!r}", line) from None
    if not math.isfinite(v):
        raise InputFileError(p, f"column '{col}': expected a finite number, got {s!r}", line)
    if integer:
        if v != int(v):
            raise InputFileError(p, f"column '{col}': expected an integer, got {s!r}", line)
        return int(v)
    return v


def read_manifest(path: str | Path, base: str | Path | None = None) -> list[dict]:
    """Read and check a manifest CSV.

    Parameters
    ----------
    path
        The manifest CSV.
    base
        Folder that relative ``file`` entries are resolved against; default the
        manifest's own folder.

    Returns
    -------
    list of dict
        Per row: ``file`` (Path, resolved against the manifest folder), ``kind``,
        ``fluence_mJ_cm2`` [mJ/cm2], ``polarization`` (raw text), ``repeat`` (int, default 0),
        ``acquisition_index``, ``detection_wavelength_nm`` [nm], ``integration_time_s`` [s],
        ``detector_channel`` (None where empty), ``excitation_polarizer`` and
        ``emission_analyzer`` (normalised by `normalize_analyzer`; None where empty),
        the power-meter values ``fluence_measured_mJ_cm2`` [mJ/cm2], ``pulse_energy_uJ``
        [uJ], ``power_before_mW``, ``power_after_mW`` [mW] (None where empty or the column
        is absent) and ``line`` (1-based line in the CSV).

    Raises
    ------
    InputFileError
        Missing columns, bad numbers (NaN and infinities included), unknown kinds, missing
        values that the row's kind requires, a measured fluence or pulse energy <= 0 or a
        negative power, naming the file and the line.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "manifest not found")
    text = p.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputFileError(p, "empty manifest; expected a header row", 1) from None
    missing = [c for c in ("file", "fluence_mJ_cm2", "polarization") if c not in header]
    if missing:
        raise InputFileError(
            p,
            f"header lacks column(s) {missing}; required: file,fluence_mJ_cm2,polarization[,repeat]",
            1,
        )
    rows: list[dict] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise InputFileError(p, f"expected {len(header)} columns, found {len(cells)}", line)
        rec = dict(zip(header, [c.strip() for c in cells] + [""] * (len(header) - len(cells))))
        kind = rec.get("kind", "").lower()
        kind = _KIND_ALIASES.get(kind, kind)
        if kind not in KINDS:
            raise InputFileError(p, f"kind {rec.get('kind')!r}; allowed: {', '.join(KINDS)}", line)
        if not rec["file"]:
            raise InputFileError(p, "empty 'file' cell", line)
        row = {
            "file": (Path(base) if base is not None else p.parent) / rec["file"],
            "kind": kind,
            "fluence_mJ_cm2": _num(p, line, "fluence_mJ_cm2", rec["fluence_mJ_cm2"]),
            "polarization": rec["polarization"] or None,
            "repeat": _num(p, line, "repeat", rec.get("repeat", ""), integer=True),
            "acquisition_index": _num(
                p, line, "acquisition_index", rec.get("acquisition_index", ""), integer=True
            ),
            "detection_wavelength_nm": _num(
                p, line, "detection_wavelength_nm", rec.get("detection_wavelength_nm", "")
            ),
            "integration_time_s": _num(
                p, line, "integration_time_s", rec.get("integration_time_s", "")
            ),
            "detector_channel": _num(
                p, line, "detector_channel", rec.get("detector_channel", ""), integer=True
            ),
            "line": line,
        }
        for col in ("excitation_polarizer", "emission_analyzer"):
            try:
                row[col] = normalize_analyzer(rec.get(col, ""))
            except ValueError as exc:
                raise InputFileError(p, f"column '{col}': {exc}", line) from None
        for col, bound in MEASURED_COLUMNS.items():
            v = _num(p, line, col, rec.get(col, ""))
            if v is not None and (v <= 0 if bound == "positive" else v < 0):
                rel = ">" if bound == "positive" else ">="
                raise InputFileError(p, f"column '{col}' must be {rel} 0, got {v:g}", line)
            row[col] = v
        need = {
            "spectrum": ("fluence_mJ_cm2", "polarization"),
            "decay": ("fluence_mJ_cm2", "polarization", "detection_wavelength_nm"),
        }
        for col in need.get(kind, ()):
            if row[col] is None:
                raise InputFileError(p, f"a '{kind}' row needs a value in column '{col}'", line)
        if row["fluence_mJ_cm2"] is not None and row["fluence_mJ_cm2"] < 0:
            raise InputFileError(p, "fluence_mJ_cm2 must be >= 0", line)
        if row["integration_time_s"] is not None and row["integration_time_s"] <= 0:
            raise InputFileError(p, "integration_time_s must be > 0", line)
        if row["repeat"] is None:
            row["repeat"] = 0
        rows.append(row)
    if not rows:
        raise InputFileError(p, "manifest has no rows")
    return rows


_FIELD = re.compile(r"\{([^{}]*)\}")
_FIELD_RE = {
    "fluence": r"(?P<fluence>[-+]?\d+(?:[.,p]\d+)?(?:[eE][-+]?\d+)?)",
    "polarization": r"(?P<polarization>[^/\\]+?)",
    "repeat": r"(?P<repeat>\d+)",
    "acquisition_index": r"(?P<acquisition_index>\d+)",
    "detection_wavelength": r"(?P<detection_wavelength>\d+(?:[.,p]\d+)?)",
    "*": r"[^/\\]*?",
}


def compile_pattern(pattern: str) -> re.Pattern:
    """Turn ``"{fluence}mJ_{polarization}_{repeat}.txt"`` into an anchored regex.

    Fields: ``{fluence}`` (a number [mJ/cm2]; ``,`` or ``p`` accepted as the decimal
    mark), ``{polarization}`` (any label `normalize_polarization` accepts),
    ``{repeat}``, ``{acquisition_index}`` (integers), ``{*}`` (anything, ignored).

    Raises
    ------
    ConfigError
        Unknown field, a field used twice, or no ``{fluence}``/``{polarization}``.
    """
    parts: list[str] = []
    pos = 0
    seen: set[str] = set()
    for m in _FIELD.finditer(pattern):
        parts.append(re.escape(pattern[pos : m.start()]))
        name = m.group(1).strip()
        if name not in _FIELD_RE:
            raise ConfigError(
                "pattern",
                f"unknown field {{{name}}} in {pattern!r}; allowed: "
                + ", ".join(f"{{{k}}}" for k in _FIELD_RE),
            )
        if name in seen and name != "*":
            raise ConfigError("pattern", f"field {{{name}}} appears twice in {pattern!r}")
        seen.add(name)
        parts.append(_FIELD_RE[name])
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    for req in ("fluence", "polarization"):
        if req not in seen:
            raise ConfigError("pattern", f"{pattern!r} needs a {{{req}}} field")
    return re.compile("".join(parts) + r"\Z")


def match_pattern(folder: Path, pattern: str) -> tuple[list[dict], list[Path]]:
    """Rows (as from `read_manifest`, kind spectrum) for the files in `folder` matching `pattern`.

    Returns the rows (sorted by file name) and the files that did not match.
    """
    rx = compile_pattern(pattern)
    rows: list[dict] = []
    unmatched: list[Path] = []
    for f in sorted(folder.iterdir()):
        if not f.is_file() or f.name.startswith("."):
            continue
        m = rx.match(f.name)
        if not m:
            unmatched.append(f)
            continue
        g = m.groupdict()
        num = g["fluence"].replace(",", ".").replace("p", ".")
        rows.append(
            {
                "file": f,
                "kind": "spectrum",
                "fluence_mJ_cm2": float(num),
                "polarization": g["polarization"],
                "repeat": int(g["repeat"]) if g.get("repeat") is not None else 0,
                "acquisition_index": int(g["acquisition_index"])
                if g.get("acquisition_index") is not None
                else None,
                "detection_wavelength_nm": None,
                "integration_time_s": None,
                "excitation_polarizer": None,
                "emission_analyzer": None,
                "line": None,
            }
        )
    return rows, unmatched
