"""The one JSON module: numpy-aware conversion to JSON-ready Python and atomic JSON writing.

Every results, summary and report file polase writes goes through `to_jsonable` and
`dumps_json`, so NaN, numpy scalars and arrays, tuples, paths and dataclasses are turned
into JSON the same way everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any, Literal

import numpy as np

from ._files import write_text_atomic

NonFinite = Literal["null", "str", "keep"]


def to_jsonable(obj: Any, nonfinite: NonFinite = "null") -> Any:
    """Recursively convert `obj` to plain Python that `json` (or a TOML writer) accepts.

    Mappings become dicts with string keys, sequences and arrays lists, numpy scalars
    Python numbers, paths strings; objects with a ``to_dict`` method and dataclasses are
    converted through it.

    Parameters
    ----------
    obj
        Anything built from the types above.
    nonfinite
        What NaN and +-inf become: ``"null"`` (None; JSON has no NaN), ``"str"``
        (``"nan"``, ``"inf"``: kept readable in provenance) or ``"keep"`` (the float,
        for TOML, which has nan and inf).

    Returns
    -------
    Any
        JSON-ready value.
    """
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        return to_jsonable(obj.to_dict(), nonfinite)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj), nonfinite)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, nonfinite) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, nonfinite) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), nonfinite)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        if math.isfinite(v) or nonfinite == "keep":
            return v
        return None if nonfinite == "null" else str(v)
    return obj


def dumps_json(obj: Any, indent: int | None = 2) -> str:
    """JSON text of `obj` (via `to_jsonable`; NaN and inf as null), newline-terminated."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False) + "\n"


def write_json_atomic(
    path: str | Path, obj: Any, overwrite: bool = False, indent: int | None = 2
) -> Path:
    """Write `obj` as JSON to `path` atomically (never overwriting unless `overwrite`)."""
    return write_text_atomic(path, dumps_json(obj, indent), overwrite)
