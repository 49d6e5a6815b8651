"""refractiveindex.info database YAML files (tabulated n, k, or nk) -> xarray Dataset.

Only the subset of YAML these files use is parsed (top-level ``KEY: |`` blocks,
``CONDITIONS:`` mappings and a ``DATA:`` list of ``type:``/``data: |`` items), so no YAML
library is needed. Formula entries (``type: formula N``) are reported as unsupported.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import InputFileError
from ._text import read_text_lines

_TOP = re.compile(r"^([A-Za-z_]+):\s*(\|)?\s*(.*)$")
_ITEM = re.compile(r"^\s*-\s*type:\s*(.+?)\s*$")
_KEY = re.compile(r"^\s+([A-Za-z_]+):\s*(\|)?\s*(.*)$")
_TYPES = {"tabulated nk": ("n", "k"), "tabulated n": ("n",), "tabulated k": ("k",)}


def _indent(s: str) -> int:
    return len(s) - len(s.lstrip(" "))


def read_refractive_index(path: str | Path) -> xr.Dataset:
    """Read a refractiveindex.info YAML file with tabulated optical constants.

    Parameters
    ----------
    path
        The ``.yml`` file (wavelengths in the file are in micrometres).

    Returns
    -------
    xarray.Dataset
        Coordinate ``wavelength`` [nm] (strictly increasing), variables ``n`` and ``k``
        [1]. Separate ``tabulated n`` and ``tabulated k`` entries on different grids are
        linearly interpolated onto the union grid (NaN outside each entry's range); a
        file without k gives k = NaN. Attributes: ``references``, ``comments``,
        ``conditions`` (JSON), ``source_file``.

    Raises
    ------
    InputFileError
        No ``DATA:`` section, an unsupported entry type (formulas), a data row with the
        wrong number of values or a non-number, or a non-increasing wavelength (file and
        line named).
    """
    p = Path(path)
    lines = read_text_lines(p)
    attrs: dict[str, str] = {}
    conditions: dict[str, str] = {}
    entries: list[tuple[str, int, list[tuple[int, str]]]] = []
    i = 0
    n_lines = len(lines)
    while i < n_lines:
        s = lines[i]
        if not s.strip() or s.lstrip().startswith("#"):
            i += 1
            continue
        m = _TOP.match(s)
        if not m:
            raise InputFileError(
                p, f"expected a top-level 'KEY:' line, got {s.strip()[:60]!r}", i + 1
            )
        key, block, rest = m.group(1).upper(), m.group(2), m.group(3)
        i += 1
        body: list[tuple[int, str]] = []
        while i < n_lines and (
            not lines[i].strip() or _indent(lines[i]) > 0 or lines[i].lstrip().startswith("-")
        ):
            body.append((i + 1, lines[i]))
            i += 1
        if key == "DATA":
            entries.extend(_data_entries(p, body))
        elif key == "CONDITIONS":
            for _ln, b in body:
                km = _KEY.match(b)
                if km:
                    conditions[km.group(1)] = km.group(3).strip()
        elif block:
            attrs[key.lower()] = "\n".join(b.strip() for _, b in body).strip()
        else:
            attrs[key.lower()] = rest.strip()
    if not entries:
        raise InputFileError(p, "no 'DATA:' section with tabulated n/k entries")

    grids: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for typ, line_no, rows in entries:
        if typ not in _TYPES:
            raise InputFileError(
                p, f"entry type {typ!r} is not supported; allowed: {', '.join(_TYPES)}", line_no
            )
        cols = _TYPES[typ]
        vals = []
        for ln, text in rows:
            parts = text.split()
            try:
                nums = [float(x) for x in parts]
            except ValueError:
                nums = []
            if len(nums) != len(cols) + 1:
                raise InputFileError(
                    p,
                    f"expected {len(cols) + 1} numbers (wavelength [um], {', '.join(cols)}), got {text.strip()[:60]!r}",
                    ln,
                )
            vals.append(nums)
        if not vals:
            raise InputFileError(p, f"'{typ}' entry has no data rows", line_no)
        arr = np.asarray(vals)
        wl = np.round(arr[:, 0] * 1e3, 9)  # um -> nm; rounding removes float noise of *1000
        d = np.diff(wl)
        if np.any(d <= 0):
            k = int(np.flatnonzero(d <= 0)[0]) + 1
            raise InputFileError(p, f"wavelength {arr[k, 0]:g} um does not increase", rows[k][0])
        for c, name in enumerate(cols):
            if name in grids:
                raise InputFileError(p, f"more than one tabulated '{name}' entry", line_no)
            grids[name] = (wl, arr[:, c + 1])

    wl_all = np.unique(np.concatenate([g[0] for g in grids.values()]))
    out = {}
    for name in ("n", "k"):
        if name in grids:
            gx, gy = grids[name]
            y = np.interp(wl_all, gx, gy, left=np.nan, right=np.nan)
        else:
            y = np.full(wl_all.shape, np.nan)
        out[name] = xr.DataArray(y, dims="wavelength", attrs={"units": "1"})
    out["n"].attrs["long_name"] = "refractive index (real part)"
    out["k"].attrs["long_name"] = "extinction coefficient (imaginary part)"
    ds = xr.Dataset(out, coords={"wavelength": ("wavelength", wl_all, {"units": "nm"})})
    ds.attrs.update(attrs)
    ds.attrs["conditions"] = json.dumps(conditions)
    ds.attrs["source_file"] = str(p)
    return ds


def _data_entries(
    p: Path, body: list[tuple[int, str]]
) -> list[tuple[str, int, list[tuple[int, str]]]]:
    """Split the DATA list into (type, line, data rows) entries."""
    entries: list[tuple[str, int, list[tuple[int, str]]]] = []
    j = 0
    while j < len(body):
        ln, s = body[j]
        m = _ITEM.match(s)
        if not m:
            if s.strip():
                if entries and _KEY.match(s):
                    j += 1  # another key of the current item (e.g. wavelength_range)
                    continue
                raise InputFileError(
                    p, f"expected '- type: ...' in DATA, got {s.strip()[:60]!r}", ln
                )
            j += 1
            continue
        typ = m.group(1).strip().strip("'\"")
        rows: list[tuple[int, str]] = []
        item_indent = _indent(s)
        j += 1
        while j < len(body) and not _ITEM.match(body[j][1]):
            s2 = body[j][1]
            km = _KEY.match(s2)
            if km and km.group(1) == "data":
                key_indent = _indent(s2)
                j += 1
                while j < len(body) and (
                    not body[j][1].strip() or _indent(body[j][1]) > key_indent
                ):
                    if body[j][1].strip():
                        rows.append(body[j])
                    j += 1
                continue
            if s2.strip() and _indent(s2) <= item_indent:
                break
            j += 1
        entries.append((typ, ln, rows))
    return entries
