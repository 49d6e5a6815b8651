"""The complete decays of a measurement Dataset as rows, for `decay` and `global_decay`."""

from __future__ import annotations

import numpy as np

from ..errors import DataValidationError


def dataset_decay_rows(ds):
    """Time grid, IRF, usable repetition period and the complete decays of a Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        With ``decay`` (fluence, polarization, detection_wavelength, time) [counts], ``irf``
        (time) [counts] and optionally attribute ``tcspc_repetition_period_ns``.

    Returns
    -------
    t : ndarray, shape (M,)
        Channel centres. [ns]
    irf : ndarray, shape (M,)
        Instrument response. [counts]
    period : float or None
        Repetition period; None without one or when shorter than the histogram span (the
        model needs period >= span; a shorter one cannot be modelled). [ns]
    keys : list of (float, str, float)
        (fluence [mJ/cm2], polarization, detection wavelength [nm]) of each row.
    rows : list of ndarray, shape (M,)
        The decays that are not all NaN (fluences without a TCSPC measurement are skipped).
        [counts]

    Raises
    ------
    DataValidationError
        No ``irf`` variable, or a decay with some (not all) NaN channels.
    """
    if "irf" not in ds:
        raise DataValidationError("Dataset has 'decay' but no 'irf' variable to reconvolve with")
    dec = ds["decay"].transpose("fluence", "polarization", "detection_wavelength", "time")
    t = np.asarray(ds["time"].values, dtype=float)
    vals = np.asarray(dec.values, dtype=float)
    period = ds.attrs.get("tcspc_repetition_period_ns")
    period = float(period) if period is not None and np.isfinite(float(period)) else None
    if period is not None and period < (t[1] - t[0]) * t.size:
        period = None
    keys, rows = [], []
    for i, f in enumerate(ds["fluence"].values):
        for j, p in enumerate(ds["polarization"].values):
            for k, w in enumerate(ds["detection_wavelength"].values):
                row = vals[i, j, k]
                if np.all(np.isnan(row)):
                    continue
                if np.any(np.isnan(row)):
                    raise DataValidationError(
                        f"decay at fluence {f} mJ/cm2, {p}, {w} nm has NaN channels; "
                        "a decay must be complete or all NaN"
                    )
                keys.append((float(f), str(p), float(w)))
                rows.append(row)
    return t, np.asarray(ds["irf"].values, float), period, keys, rows
