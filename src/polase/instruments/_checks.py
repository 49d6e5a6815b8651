"""Input checks and random-generator handling shared by the instrument models."""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError, DataValidationError


def as_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """Return a `numpy.random.Generator` from None (fresh entropy), a seed or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.default_rng(rng)
    raise DataValidationError(
        f"rng must be None, an integer seed or a numpy.random.Generator, got {type(rng).__name__}"
    )


def check_number(
    key: str,
    value,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    integer: bool = False,
    below: float | None = None,
) -> None:
    """Raise `ConfigError(key, ...)` unless `value` is a finite real number with the given sign."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(key, f"must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ConfigError(key, f"must be finite, got {value!r}")
    if integer and float(value) != int(value):
        raise ConfigError(key, f"must be an integer, got {value!r}")
    if positive and not value > 0:
        raise ConfigError(key, f"must be > 0, got {value!r}")
    if nonnegative and not value >= 0:
        raise ConfigError(key, f"must be >= 0, got {value!r}")
    if below is not None and not value < below:
        raise ConfigError(key, f"must be < {below}, got {value!r}")


def check_axis(name: str, values, *, min_points: int = 2) -> np.ndarray:
    """Return `values` as a 1-D float array; it must be finite and strictly increasing."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise DataValidationError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size < min_points:
        raise DataValidationError(f"{name} needs at least {min_points} points, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise DataValidationError(f"{name} contains NaN or infinite values")
    if np.any(np.diff(arr) <= 0):
        bad = int(np.argmax(np.diff(arr) <= 0))
        raise DataValidationError(
            f"{name} must be strictly increasing; it is not between index {bad} and {bad + 1} "
            f"({arr[bad]!r} -> {arr[bad + 1]!r})"
        )
    return arr


def check_batch(name: str, values, n_last: int, axis_name: str) -> np.ndarray:
    """Return `values` as a float array of shape (..., n_last), finite and >= 0."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] != n_last:
        raise DataValidationError(
            f"{name} must have shape (..., {n_last}) to match {axis_name}, got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise DataValidationError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        raise DataValidationError(f"{name} must be >= 0 everywhere (min {arr.min()!r})")
    return arr


def as_tuple(arr) -> tuple[float, ...]:
    """Return the values as a tuple of floats: configs stay frozen, hashable and comparable."""
    return tuple(float(v) for v in np.asarray(arr, dtype=float).ravel())


def check_table(
    key: str, table, axis_name: str, value_name: str, *, min_points: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Return a config table ``(axis, values)`` as two float arrays of the same shape.

    The axis must pass `check_axis`; any fault is a `ConfigError(key, ...)` whose message
    names the pair as ``(axis_name, value_name)``. The values are only converted: the
    caller checks their range.
    """
    try:
        axis, values = table
    except (TypeError, ValueError):
        raise ConfigError(
            key, f"must be a pair ({axis_name}, {value_name}) of 1-D arrays"
        ) from None
    try:
        axis = check_axis(f"{key} {axis_name}", axis, min_points=min_points)
    except DataValidationError as exc:
        raise ConfigError(key, str(exc)) from None
    values = np.asarray(values, dtype=float)
    if values.shape != axis.shape:
        raise ConfigError(
            key, f"{axis_name} and {value_name} differ in shape: {axis.shape} vs {values.shape}"
        )
    return axis, values
