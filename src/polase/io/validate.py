"""Check a measurement Dataset against docs/data-model.md before any analysis."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import DataValidationError

#: Expected dims of each data variable.
DIMS = {
    "spectrum": ("fluence", "polarization", "repeat", "wavelength"),
    "saturated": ("fluence", "polarization", "repeat", "wavelength"),
    "nan_in_file": ("fluence", "polarization", "repeat", "wavelength"),
    "fluence_measured": ("fluence", "polarization", "repeat"),
    "spectrum_noiseless": ("fluence", "polarization", "wavelength"),
    "decay": ("fluence", "polarization", "detection_wavelength", "time"),
    "irf": ("time",),
    "excitation_spectrum": ("excitation_wavelength",),
}
#: Allowed units (pint-style) of numeric coordinates and data variables.
UNITS = {
    "fluence": ("mJ/cm**2",),
    "wavelength": ("nm",),
    "detection_wavelength": ("nm",),
    "excitation_wavelength": ("nm",),
    "time": ("ns",),
    "qwp_angle": ("deg",),
    "docp": ("1",),
    "spectrum": ("counts", "counts/s"),
    "spectrum_noiseless": ("counts", "counts/s"),
    "integration_time": ("s",),
    "fluence_measured": ("mJ/cm**2",),
    "decay": ("counts",),
    "irf": ("counts",),
    "excitation_spectrum": ("counts", "counts/s"),
}
#: Coordinates that must be finite and strictly increasing.
INCREASING = ("fluence", "wavelength", "detection_wavelength", "time", "excitation_wavelength")
_INT_COORDS = ("repeat", "acquisition_index")


def _norm_unit(u: str) -> str:
    return str(u).replace(" ", "").replace("^", "**").replace("mJ/cm2", "mJ/cm**2")


def validate_measurement(ds: xr.Dataset) -> xr.Dataset:
    """Check dims, coordinates, units and dtypes of a measurement (simulated or measured).

    Parameters
    ----------
    ds
        The Dataset (docs/data-model.md).

    Returns
    -------
    xarray.Dataset
        `ds` itself, unchanged, so calls can be chained.

    Raises
    ------
    DataValidationError
        Listing every problem found, each naming the variable and what is wrong: no
        ``spectrum`` or ``decay``; wrong dims or dim order; a dim without coordinate;
        non-finite or non-increasing ``fluence``/``wavelength``/``time``/...; negative
        fluence or non-positive wavelength; duplicate polarization labels or repeats;
        ``docp`` outside [-1, 1]; missing or wrong ``units``; non-numeric data;
        non-bool ``saturated``; non-positive integration time; a ``fluence_measured``
        off the (fluence, polarization, repeat) grid or <= 0; a ``source`` attribute
        other than simulation/measurement.
    """
    if not isinstance(ds, xr.Dataset):
        raise DataValidationError(f"expected an xarray.Dataset, got {type(ds).__name__}")
    errs: list[str] = []
    if "spectrum" not in ds.data_vars and "decay" not in ds.data_vars:
        errs.append("dataset: has neither a 'spectrum' nor a 'decay' variable")
    for name, dims in DIMS.items():
        if name not in ds.variables:
            continue
        have = ds[name].dims
        if have != dims:
            if set(have) == set(dims):
                errs.append(
                    f"variable '{name}': dims {have} in the wrong order; use ds.transpose{dims}"
                )
            else:
                errs.append(f"variable '{name}': dims {have}, expected {dims}")
        for d in have:
            if d not in ds.coords:
                errs.append(f"variable '{name}': dimension '{d}' has no coordinate")
    if "integration_time" in ds.variables:
        it = ds["integration_time"]
        allowed = ("fluence", "polarization", "repeat")
        if any(d not in allowed for d in it.dims):
            errs.append(
                f"variable 'integration_time': dims {it.dims}, expected a subset of {allowed}"
            )
        v = np.asarray(it.values, dtype=float) if it.dtype.kind in "fiu" else None
        if v is None:
            errs.append(f"variable 'integration_time': dtype {it.dtype}, expected numeric")
        elif np.any(v[np.isfinite(v)] <= 0):
            errs.append("variable 'integration_time': values must be > 0 [s]")
    if "fluence_measured" in ds.variables:
        fm = ds["fluence_measured"]
        if fm.dtype.kind not in "fiu":
            errs.append(f"variable 'fluence_measured': dtype {fm.dtype}, expected numeric")
        else:
            v = np.asarray(fm.values, dtype=float)
            if np.any(np.isinf(v)) or np.any(v[np.isfinite(v)] <= 0):
                errs.append(
                    "variable 'fluence_measured': values must be finite and > 0 [mJ/cm**2] "
                    "(NaN only where a spectrum is missing)"
                )
    if "acquisition_index" in ds.variables:
        ai = ds["acquisition_index"]
        if ai.dims != ("fluence", "polarization", "repeat"):
            errs.append(
                f"coordinate 'acquisition_index': dims {ai.dims}, expected ('fluence', 'polarization', 'repeat')"
            )

    for name in INCREASING:
        if name not in ds.coords:
            continue
        c = ds[name]
        if c.ndim != 1 or c.dims != (name,):
            errs.append(f"coordinate '{name}': must be 1-D along dimension '{name}'")
            continue
        if c.dtype.kind not in "fiu":
            errs.append(f"coordinate '{name}': dtype {c.dtype}, expected numeric")
            continue
        v = np.asarray(c.values, dtype=float)
        if not np.all(np.isfinite(v)):
            errs.append(f"coordinate '{name}': has non-finite values")
        elif v.size > 1 and not np.all(np.diff(v) > 0):
            errs.append(f"coordinate '{name}': must be strictly increasing")
        if name == "fluence" and np.any(v < 0):
            errs.append("coordinate 'fluence': must be >= 0 [mJ/cm**2]")
        if name.endswith("wavelength") and np.any(v <= 0):
            errs.append(f"coordinate '{name}': must be > 0 [nm]")
    if "polarization" in ds.coords:
        labels = [str(x) for x in np.asarray(ds["polarization"].values).ravel()]
        if len(set(labels)) != len(labels):
            errs.append(f"coordinate 'polarization': duplicate labels {labels}")
    if "docp" in ds.coords:
        dv = np.asarray(ds["docp"].values, dtype=float)
        if np.any(np.abs(dv[np.isfinite(dv)]) > 1 + 1e-12):
            errs.append("coordinate 'docp': must lie in [-1, 1] (or NaN if unknown)")
    for name in _INT_COORDS:
        if name in ds.coords and ds[name].dtype.kind not in "iu":
            errs.append(f"coordinate '{name}': dtype {ds[name].dtype}, expected integer")
    if "repeat" in ds.coords:
        rv = np.asarray(ds["repeat"].values)
        if np.unique(rv).size != rv.size:
            errs.append("coordinate 'repeat': duplicate values")

    for name, allowed in UNITS.items():
        if name not in ds.variables:
            continue
        units = ds[name].attrs.get("units")
        if units is None:
            errs.append(
                f"variable '{name}': no 'units' attribute (expected {' or '.join(allowed)})"
            )
        elif _norm_unit(units) not in allowed:
            errs.append(f"variable '{name}': units {units!r}, expected {' or '.join(allowed)}")
    for name in ("spectrum", "spectrum_noiseless", "decay", "irf", "excitation_spectrum"):
        if name in ds.data_vars and ds[name].dtype.kind not in "fiu":
            errs.append(f"variable '{name}': dtype {ds[name].dtype}, expected numeric")
    for name in ("saturated", "nan_in_file"):
        if name in ds.data_vars and ds[name].dtype != bool:
            errs.append(f"variable '{name}': dtype {ds[name].dtype}, expected bool")
    if "spectrum" in ds.data_vars and ds["spectrum"].dtype.kind == "f" and ds["spectrum"].size:
        if not np.any(np.isfinite(ds["spectrum"].values)):
            errs.append("variable 'spectrum': no finite values")
    src = ds.attrs.get("source")
    if src is not None and src not in ("simulation", "measurement"):
        errs.append(f"attribute 'source': {src!r}, expected 'simulation' or 'measurement'")
    if errs:
        raise DataValidationError("invalid measurement Dataset:\n  " + "\n  ".join(errs))
    return ds
