"""Instrument models: spectrometer, TCSPC and excitation spectrum (docs/instruments.md)."""

from .excitation import ExcitationConfig, absorbed_fraction, excitation_spectrum, lamp_photon_flux
from .spectrometer import (
    SpectrometerConfig,
    measure_spectrum,
    pixel_edges,
    pixel_gain,
    pixel_wavelengths,
    response_matrix,
    slit_function,
)
from .tcspc import TCSPCConfig, channel_times, gaussian_irf, measure_decay

__all__ = [
    "ExcitationConfig",
    "SpectrometerConfig",
    "TCSPCConfig",
    "absorbed_fraction",
    "channel_times",
    "excitation_spectrum",
    "gaussian_irf",
    "lamp_photon_flux",
    "measure_decay",
    "measure_spectrum",
    "pixel_edges",
    "pixel_gain",
    "pixel_wavelengths",
    "response_matrix",
    "slit_function",
]
