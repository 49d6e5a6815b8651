"""Optional readers' dependencies (the ``lifetime`` extra), imported on first use."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_lifetime_extra(module: str, purpose: str) -> ModuleType:
    """Import `module` of the ``lifetime`` extra; without it, an ImportError that says what
    needs it (`purpose`) and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"{purpose} needs {module}: pip install 'polase[lifetime]'") from exc
