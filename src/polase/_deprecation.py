"""Old public names kept working for a while, with a `DeprecationWarning` naming the new one."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable


def deprecated_alias(func: Callable, old_name: str, since: str = "0.2.0") -> Callable:
    """A wrapper of `func` under its old name that warns once per call site.

    Parameters
    ----------
    func
        The function under its current name.
    old_name
        The name it used to have.
    since
        Version in which `old_name` was deprecated.
    """

    @functools.wraps(func)
    def alias(*args, **kwargs):
        warnings.warn(
            f"{old_name} is deprecated since polase {since}; use {func.__name__}",
            DeprecationWarning,
            stacklevel=2,
        )
        return func(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old_name
    alias.__doc__ = f"Deprecated alias of `{func.__name__}` (since polase {since})."
    return alias
