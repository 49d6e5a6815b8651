"""polase NetCDF store (NetCDF4 via h5netcdf) and the one-call loader for any measurement input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from .._deprecation import deprecated_alias
from .._files import write_netcdf_atomic
from .._version import __version__
from ..errors import DataValidationError, InputFileError
from .assemble import assemble_measurement
from .detect import detect_format, is_netcdf
from .validate import validate_measurement


def _attr(value):
    """NetCDF-storable attribute: bool -> int, dict/list/None -> JSON string."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, dict | list | tuple) or value is None:
        return json.dumps(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_netcdf(ds: xr.Dataset, path: str | Path, overwrite: bool = False) -> Path:
    """Write a Dataset as NetCDF4 (h5netcdf engine), atomically.

    Attributes that NetCDF cannot hold are converted (bool -> 0/1, dict/list -> JSON);
    ``polase_version`` is added if absent. The caller's Dataset is not modified.

    Parameters
    ----------
    ds
        Dataset to write.
    path
        Output ``.nc`` file.
    overwrite
        Replace an existing file.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputExistsError
        `path` exists and not `overwrite`.
    DataValidationError
        `ds` is not an xarray Dataset.
    """
    if not isinstance(ds, xr.Dataset):
        raise DataValidationError(f"write_netcdf needs an xarray.Dataset, got {type(ds).__name__}")
    out = ds.copy(deep=False)
    out.attrs = {k: _attr(v) for k, v in ds.attrs.items()}
    out.attrs.setdefault("polase_version", __version__)
    for name, var in out.variables.items():
        var.attrs = {k: _attr(v) for k, v in var.attrs.items()}
        if var.dtype == object:
            out[name] = var.astype(str)
    return write_netcdf_atomic(out, path, overwrite=overwrite)


def read_netcdf(path: str | Path) -> xr.Dataset:
    """Load a NetCDF file fully into memory and close it (the file is not held open)."""
    p = Path(path)
    try:
        with xr.open_dataset(p, engine="h5netcdf") as ds:
            loaded = ds.load()
    except (OSError, ValueError) as exc:
        raise InputFileError(p, f"not a readable NetCDF4 file: {exc}") from None
    return loaded


def read_measurement(path: str | Path, *, validate: bool = True, **assemble_kwargs) -> xr.Dataset:
    """Load a measurement from a polase NetCDF file, a folder or a manifest CSV.

    Parameters
    ----------
    path
        ``.nc`` file written by `write_netcdf` (simulated or assembled); a folder with a
        ``manifest.csv`` (or with ``pattern=...``); or a manifest CSV.
    validate
        Run `validate_measurement` on the result.
    **assemble_kwargs
        Passed to `assemble_measurement` for folders and manifests (``pattern``,
        ``manifest``, ``decays``, ``saturation_level`` ...).

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    InputFileError
        Missing or unreadable input.
    DataValidationError
        The Dataset violates docs/data-model.md.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(p, "not found; expected a .nc file, a folder or a manifest CSV")
    if p.is_dir():
        ds = assemble_measurement(p, **assemble_kwargs)
    elif is_netcdf(p):
        if assemble_kwargs:
            raise InputFileError(
                p,
                f"is a NetCDF file; options {sorted(assemble_kwargs)} apply to folders and manifests only",
            )
        ds = read_netcdf(p)
        for name in ("saturated", "nan_in_file"):
            if name in ds and ds[name].dtype != bool and ds[name].dtype.kind in "iu":
                ds[name] = ds[name].astype(bool)
    else:
        _refuse_single_file(p)
        ds = assemble_measurement(p, **assemble_kwargs)
    return validate_measurement(ds) if validate else ds


def _refuse_single_file(p: Path) -> None:
    """A single instrument file is not a measurement: point to its reader."""
    try:
        fmt = detect_format(p)
    except InputFileError:
        return  # not a known data format: read it as a manifest (which reports its problems)
    readers = {
        "das6": "read_das6",
        "oceanview": "read_spectrum",
        "spectrasuite": "read_spectrum",
        "fluoressence": "read_fluoressence",
        "refractiveindex": "read_refractive_index",
    }
    if fmt == "csv":
        head = p.read_text(encoding="utf-8-sig", errors="replace").split("\n", 1)[0]
        if "file" in [c.strip() for c in head.split(",")]:
            return
        readers["csv"] = "read_spectrum"
    if fmt in readers:
        raise InputFileError(
            p,
            f"is a single {fmt} file, not a measurement; read it with polase.io.{readers[fmt]} "
            "(read_measurement takes a .nc file, a folder or a manifest CSV)",
        )


#: Deprecated names of `write_netcdf`, `read_netcdf` and `read_measurement`.
save_dataset = deprecated_alias(write_netcdf, "save_dataset")
open_netcdf = deprecated_alias(read_netcdf, "open_netcdf")
load_measurement = deprecated_alias(read_measurement, "load_measurement")
