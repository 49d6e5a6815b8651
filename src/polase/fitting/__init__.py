"""polase.fitting: batched Levenberg-Marquardt (least squares and Poisson MLE) for many small fits.

Typical use::

    from polase.fitting import curve_fit_batch, guess
    p0 = guess("gaussian_offset", wavelength, spectra)            # (N, 4)
    res = curve_fit_batch("gaussian_offset", wavelength, spectra, p0)
    res.params, res.stderr, res.status

A model of your own, written for one point, runs at compiled speed::

    def peak(x, a, c, s, o):
        return a * math.exp(-0.5 * ((x - c) / s) ** 2) + o

    res = curve_fit_batch(peak, wavelength, spectra, p0)   # or compile_model(peak)

See docs/fitting.md for the algorithm, objectives, statuses and models.
"""

from .core import curve_fit_batch
from .guess import guess
from .models import (
    MODEL_NAMES,
    Model,
    band_sum_model,
    channel_irf,
    fwhm_from_params,
    get_model,
    reconvolution_model,
    voigt_fwhm,
)
from .result import BatchFitResult, FitStatus
from .usermodel import compile_model

__all__ = [
    "MODEL_NAMES",
    "BatchFitResult",
    "FitStatus",
    "Model",
    "band_sum_model",
    "channel_irf",
    "compile_model",
    "curve_fit_batch",
    "fwhm_from_params",
    "get_model",
    "guess",
    "reconvolution_model",
    "voigt_fwhm",
]
