"""Pump optics: Jones calculus of the polarization optics and the Gaussian pump pulse and spot."""

from .jones import docp, polarizer, pump_polarization, retarder, stokes
from .pump import (
    fluence_from_average_power,
    fluence_from_pulse_energy,
    gaussian_pulse,
    peak_intensity,
    spot_profile,
)

__all__ = [
    "docp",
    "fluence_from_average_power",
    "fluence_from_pulse_energy",
    "gaussian_pulse",
    "peak_intensity",
    "polarizer",
    "pump_polarization",
    "retarder",
    "spot_profile",
    "stokes",
]
