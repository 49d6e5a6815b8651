"""Device protocols: the small, typed interface the runner drives (bluesky/ophyd style).

A real driver (`polase.acquire.seabreeze`, `polase.acquire.kinesis`, `polase.acquire.visa`)
and its simulated twin (`polase.acquire.simulated`) implement the same protocol, so the
runner cannot tell them apart. Every method blocks until the hardware is done and raises
a `polase.acquire.errors.DeviceError` subclass when it is not.

Units: angles [deg], times [s], powers [W], wavelengths [nm], counts [counts].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


class VendorHandle:
    """Base of the real-device drivers: ``close`` releases the vendor library's handle
    ``self._dev`` once (idempotent; the handle is dropped even when its close fails)."""

    _dev: Any = None

    def close(self) -> None:
        if self._dev is not None:
            try:
                self._dev.close()
            finally:
                self._dev = None


@dataclass(frozen=True)
class Spectrum:
    """One spectrometer reading.

    Attributes
    ----------
    wavelength_nm
        Pixel wavelengths. [nm]
    counts
        Raw reading per pixel (mean of `averages` scans). [counts]
    integration_time_s
        Integration time of each scan. [s]
    averages
        Scans averaged. [1]
    saturated
        True where a pixel reached the detector maximum.
    """

    wavelength_nm: np.ndarray
    counts: np.ndarray
    integration_time_s: float
    averages: int
    saturated: np.ndarray


@dataclass(frozen=True)
class Histogram:
    """One TCSPC histogram.

    Attributes
    ----------
    counts
        Photon counts per channel. [counts]
    channel_width_ns
        Channel width. [ns]
    acquisition_time_s
        Collection time. [s]
    """

    counts: np.ndarray
    channel_width_ns: float
    acquisition_time_s: float


@runtime_checkable
class Device(Protocol):
    """What every device has: a name, a description for the provenance, and `close`."""

    name: str

    def describe(self) -> dict[str, Any]:
        """Model, serial number, firmware and settings (JSON-serializable)."""
        ...

    def close(self) -> None:
        """Release the hardware (idempotent)."""
        ...


@runtime_checkable
class Spectrometer(Device, Protocol):
    """An array spectrometer (Ocean Optics FLAME and alike)."""

    max_counts: float
    integration_time_limits_s: tuple[float, float]

    def set_integration_time(self, seconds: float) -> None:
        """Set the integration time. [s]"""
        ...

    def acquire(self, averages: int = 1) -> Spectrum:
        """Take `averages` scans and return their mean."""
        ...


@runtime_checkable
class RotationMount(Device, Protocol):
    """A motorized rotation mount (holds the quarter-wave plate)."""

    def move_to(self, angle_deg: float, timeout_s: float = 30.0) -> float:
        """Move to `angle_deg` and wait; return the angle reached. [deg]

        Raises `MountPositionError` if the reached angle is off by more than the
        mount's tolerance, `DeviceTimeoutError` if the move does not end in time.
        """
        ...

    def position(self) -> float:
        """Current angle. [deg]"""
        ...


@runtime_checkable
class Attenuator(Device, Protocol):
    """A variable attenuator (half-wave plate + polarizer, or a filter wheel)."""

    def set_transmission(self, fraction: float) -> float:
        """Set the transmitted fraction of the laser power; return the value set. [1]"""
        ...

    def transmission(self) -> float:
        """Current transmitted fraction. [1]"""
        ...


@runtime_checkable
class PowerMeter(Device, Protocol):
    """An average-power meter (thermal or photodiode sensor)."""

    def set_wavelength(self, wavelength_nm: float) -> None:
        """Set the sensor's wavelength correction. [nm]"""
        ...

    def read_power(self, averages: int = 1) -> float:
        """Average power, mean of `averages` readings. [W]"""
        ...


@runtime_checkable
class Shutter(Device, Protocol):
    """A beam shutter (closed for dark spectra)."""

    def set_open(self, is_open: bool) -> None:
        """Open (True) or close (False) and wait until done."""
        ...

    def is_open(self) -> bool:
        """Whether the beam passes."""
        ...


@runtime_checkable
class TCSPC(Device, Protocol):
    """A time-correlated single-photon counting unit behind a monochromator."""

    def set_detection_wavelength(self, wavelength_nm: float) -> None:
        """Set the monochromator wavelength. [nm]"""
        ...

    def acquire(self, acquisition_time_s: float) -> Histogram:
        """Collect a decay histogram for `acquisition_time_s`. [s]"""
        ...

    def acquire_irf(self, acquisition_time_s: float) -> Histogram:
        """Collect the instrument response (scatterer in place of the sample)."""
        ...


@dataclass
class Instruments:
    """The bench: one device per role (`tcspc` optional).

    Attributes
    ----------
    begin_step
        Called with the step number before each step (the simulated bench derives its
        noise from it; real benches leave it None).
    """

    spectrometer: Spectrometer
    qwp: RotationMount
    attenuator: Attenuator
    power_meter: PowerMeter
    shutter: Shutter
    tcspc: TCSPC | None = None
    begin_step: Callable[[int], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def devices(self) -> dict[str, Device]:
        """Role -> device, for the provenance."""
        out: dict[str, Device] = {
            "spectrometer": self.spectrometer,
            "qwp": self.qwp,
            "attenuator": self.attenuator,
            "power_meter": self.power_meter,
            "shutter": self.shutter,
        }
        if self.tcspc is not None:
            out["tcspc"] = self.tcspc
        return out

    def describe(self) -> dict[str, dict[str, Any]]:
        """Each device's `describe()`, keyed by role."""
        return {role: dev.describe() for role, dev in self.devices().items()}

    def close(self) -> None:
        """Close every device (errors of one do not keep the others open)."""
        first: Exception | None = None
        for dev in self.devices().values():
            try:
                dev.close()
            except Exception as exc:  # close all, re-raise the first
                first = first or exc
        if first is not None:
            raise first
