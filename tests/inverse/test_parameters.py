"""Parameters: bounds, log coordinates, free/fixed handling."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from polase.errors import FitError
from polase.inverse import Parameter, Parameters


def test_log_coordinates_round_trip_and_auto_choice():
    dens = Parameter("n_c", 3e17, 1e16, 3e18)
    lin = Parameter("kappa", 0.5, 0.0, 20.0)
    assert dens.is_log and not lin.is_log
    assert dens.to_internal(3e17) == pytest.approx(math.log10(3e17))
    assert dens.from_internal(dens.to_internal(3e17)) == pytest.approx(3e17)
    assert dens.internal_bounds() == pytest.approx((16.0, math.log10(3e18)))
    assert not Parameter("x", 1.0, 1.0, 50.0).is_log  # less than two decades
    assert not Parameter("y", 1.0, 1e-3, 10.0, log=False).is_log
    # an unconstrained interval end maps to infinity, without an overflow warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dens.from_internal(np.float64(400.0)) == math.inf
        assert dens.from_internal(-400.0) == 0.0


def test_free_fixed_and_internal_vector():
    p = Parameters(
        [
            Parameter("a", 2.0, 0.0, 5.0),
            Parameter("b", 1e17, 1e16, 1e19),
            Parameter("c", 7.0, vary=False),
        ]
    )
    assert p.free_names == ["a", "b"]
    u = p.to_internal()
    assert u == pytest.approx([2.0, 17.0])
    v = p.from_internal([9.0, 18.0])  # a clipped into its bounds
    assert v == {"a": 5.0, "b": pytest.approx(1e18), "c": 7.0}
    q = p.set("a", vary=False).with_values({"b": 1e30})
    assert q.free_names == ["b"] and q["b"].value == 1e19
    lo, hi = p.internal_bounds()
    assert np.allclose(lo, [0.0, 16.0]) and np.allclose(hi, [5.0, 19.0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"value": 3.0, "min": 0.0, "max": 1.0}, "outside its bounds"),
        ({"value": 0.5, "min": 1.0, "max": 0.0}, "min 1.0 > max 0.0"),
        ({"value": float("nan")}, "finite"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(FitError, match=match):
        Parameter("p", **kwargs)


def test_unknown_and_duplicate_names():
    p = Parameters([Parameter("a", 1.0)])
    with pytest.raises(FitError, match="unknown parameter 'z'"):
        p["z"]
    with pytest.raises(FitError, match="given twice"):
        Parameters([Parameter("a", 1.0), Parameter("a", 2.0)])
