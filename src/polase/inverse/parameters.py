"""Named fit parameters: value, bounds, free or fixed (an lmfit-like `Parameters`).

The optimizer works on internal coordinates: a parameter whose bounds are both positive
and span more than two decades (e.g. a density from 1e16 to 3e18 cm^-3) is fitted in
log10, all others linearly. Uncertainties are reported in the parameter's own units.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np

from ..errors import FitError


@dataclass(frozen=True)
class Parameter:
    """One model parameter.

    Parameters
    ----------
    name
        Name understood by the forward model, e.g. ``"mechanism.orbit_orbit.kappa"``.
    value
        Starting value (or the fixed value when ``vary`` is False). [parameter unit]
    min, max
        Bounds; ``-inf``/``inf`` for none. [parameter unit]
    vary
        Free (True) or fixed (False).
    log
        Fit in log10 (None: automatic, when ``0 < min`` and ``max / min > 100``).
    unit
        Unit string, for reports.
    """

    name: str
    value: float
    min: float = -math.inf
    max: float = math.inf
    vary: bool = True
    log: bool | None = None
    unit: str = "1"

    def __post_init__(self):
        if not self.min <= self.max:
            raise FitError(f"parameter {self.name!r}: min {self.min} > max {self.max}")
        if not math.isfinite(self.value):
            raise FitError(f"parameter {self.name!r}: value must be finite, got {self.value}")
        if not self.min <= self.value <= self.max:
            raise FitError(
                f"parameter {self.name!r}: value {self.value} outside its bounds [{self.min}, {self.max}]"
            )

    @property
    def is_log(self) -> bool:
        """Whether the optimizer sees log10 of this parameter."""
        if self.log is not None:
            return bool(self.log)
        return self.min > 0 and math.isfinite(self.max) and self.max / self.min > 100.0

    def to_internal(self, v: float) -> float:
        return math.log10(v) if self.is_log else float(v)

    def from_internal(self, u: float) -> float:
        u = float(u)
        if not self.is_log:
            return u
        # a 95 % interval of a parameter the data do not constrain can reach past 1e308
        return math.inf if u > 308.0 else 10.0**u

    def internal_bounds(self) -> tuple[float, float]:
        return (self.to_internal(self.min), self.to_internal(self.max))


class Parameters(Mapping[str, Parameter]):
    """An ordered collection of `Parameter` by name.

    Examples
    --------
    >>> p = Parameters([Parameter("a", 1.0, 0.0, 5.0), Parameter("b", 2.0, vary=False)])
    >>> p.free_names
    ['a']
    >>> p.set("b", value=3.0).values()["b"]
    3.0
    """

    def __init__(self, params=()):
        self._p: dict[str, Parameter] = {}
        for p in params:
            if p.name in self._p:
                raise FitError(f"parameter {p.name!r} given twice")
            self._p[p.name] = p

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._p[name]
        except KeyError:
            raise FitError(f"unknown parameter {name!r}; known: {list(self._p)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._p)

    def __len__(self) -> int:
        return len(self._p)

    def __repr__(self) -> str:
        rows = ", ".join(
            f"{p.name}={p.value:g}{'' if p.vary else ' (fixed)'}" for p in self._p.values()
        )
        return f"Parameters({rows})"

    def set(self, name: str, **changes) -> Parameters:
        """A copy with `name` changed (value, min, max, vary, log, unit)."""
        new = dict(self._p)
        new[name] = replace(self[name], **changes)
        return Parameters(new.values())

    def add(self, param: Parameter) -> Parameters:
        """A copy with `param` added (or replacing the one of the same name)."""
        new = dict(self._p)
        new[param.name] = param
        return Parameters(new.values())

    @property
    def free_names(self) -> list[str]:
        return [n for n, p in self._p.items() if p.vary]

    def values(self) -> dict[str, float]:  # type: ignore[override]
        """All current values by name."""
        return {n: float(p.value) for n, p in self._p.items()}

    # -- internal coordinates of the free parameters --------------------------------------
    def to_internal(self) -> np.ndarray:
        return np.array([self._p[n].to_internal(self._p[n].value) for n in self.free_names])

    def internal_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        b = [self._p[n].internal_bounds() for n in self.free_names]
        if not b:
            return np.zeros(0), np.zeros(0)
        lo, hi = zip(*b)
        return np.array(lo, dtype=float), np.array(hi, dtype=float)

    def from_internal(self, u) -> dict[str, float]:
        """Values of all parameters with the free ones taken from internal vector `u`."""
        out = self.values()
        for n, ui in zip(self.free_names, np.asarray(u, dtype=float)):
            p = self._p[n]
            lo, hi = p.internal_bounds()
            out[n] = float(np.clip(p.from_internal(float(np.clip(ui, lo, hi))), p.min, p.max))
        return out

    def with_values(self, values: Mapping[str, float]) -> Parameters:
        """A copy whose values are replaced from `values` (clipped into the bounds)."""
        new = []
        for n, p in self._p.items():
            v = float(values.get(n, p.value))
            new.append(replace(p, value=float(np.clip(v, p.min, p.max))))
        return Parameters(new)
