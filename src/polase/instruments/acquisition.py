"""Acquisition helpers an experimenter applies to a spectrometer: exposure and dark frames.

Both read the spectrometer section that `polase.simulate` records in a Dataset's
``config`` attribute, so they work on any simulated sweep, not only the paper's.
"""

from __future__ import annotations

import json

import numpy as np

#: Fraction of the detector's full well the brightest spectrum is exposed to. [1]
EXPOSURE_TARGET: float = 0.7
#: Detector maximum assumed when the config gives no saturation level (16-bit). [counts]
DETECTOR_MAX_COUNTS: float = 65535.0


def exposure_for(ds, target: float | None = None) -> float | None:
    """Integration time that puts the brightest noiseless spectrum at `target` of full scale.

    Parameters
    ----------
    ds : xarray.Dataset
        Simulation with ``spectrum_noiseless`` [counts], ``integration_time`` [s] and the
        spectrometer section in its ``config`` attribute.
    target
        Fraction of the full well (default `EXPOSURE_TARGET`). [1]

    Returns
    -------
    float or None
        Integration time [s], rounded down to 0.1 ms steps; None if it cannot be computed.
    """
    target = EXPOSURE_TARGET if target is None else target
    try:
        spec = json.loads(ds.attrs["config"])["spectrometer"]
        offset = float(spec.get("electronic_offset_counts", 0.0))
        full = float(spec.get("saturation_counts", DETECTOR_MAX_COUNTS)) - offset
        t_now = float(spec["integration_time_s"])
    except (KeyError, TypeError, ValueError):
        return None
    peak = float(ds["spectrum_noiseless"].max()) - offset
    if not (peak > 0 and full > 0):
        return None
    t = t_now * target * full / peak
    return max(1e-4, np.floor(t * 1e4) / 1e4)


def dark_frames(ds, n: int = 3, seed: int = 0) -> np.ndarray | None:
    """Dark spectra (shutter closed) from the simulation's spectrometer settings.

    Parameters
    ----------
    ds : xarray.Dataset
        Simulated Dataset whose ``config`` attribute holds the ``spectrometer`` section.
    n
        Number of dark frames.
    seed
        Seed of their noise.

    Returns
    -------
    ndarray or None
        Shape (n, pixels) [counts]; None if the config has no spectrometer section.
    """
    from .spectrometer import SpectrometerConfig, measure_spectrum

    try:
        kw = dict(json.loads(ds.attrs["config"])["spectrometer"])
    except (KeyError, TypeError, ValueError):
        return None
    kw["calibration"] = tuple(kw["calibration"])
    cfg = SpectrometerConfig(**kw)
    lam = np.array([100.0, 2000.0])  # no light anywhere: only offset, dark current and noise
    out = measure_spectrum(lam, np.zeros((n, 2)), cfg, rng=np.random.default_rng(seed), noise=True)
    return np.asarray(out["counts"], dtype=float)
