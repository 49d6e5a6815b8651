"""Ocean Optics spectrometers through python-seabreeze (``pip install polase[seabreeze]``).

Written for an Ocean Optics FLAME-S-VIS-NIR (FLMS, 2048-pixel Sony ILX511B, 16-bit,
integration time 1 ms to 65 s) on USB, and it works with any spectrometer seabreeze
supports (USB2000+, USB4000, HR4000, QE Pro: the driver reads the pixel count, the
integration-time limits and the detector maximum from the device).

Backend: the compiled ``cseabreeze`` if it imports, else the pure-Python
``pyseabreeze`` (needs pyusb and a libusb on the system); choose with ``backend=``.
On Linux the udev rules of ``seabreeze_os_setup`` must be installed once.

Behaviour chosen for this experiment: raw counts (no electric-dark or nonlinearity
correction: darks are measured with the shutter closed and subtracted by the analysis),
one scan discarded after every change of the integration time (in the default free-running
trigger mode the first scan after a change was still integrating with the old setting),
a pixel at or above ``max_intensity`` counts as saturated.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .devices import Spectrum, VendorHandle
from .errors import DeviceError, DeviceTimeoutError


def _open_seabreeze(serial: str | None, backend: str):
    try:
        import seabreeze
    except ImportError:
        raise DeviceError(
            "spectrometer", "python-seabreeze is not installed: pip install 'polase[seabreeze]'"
        ) from None
    if backend == "auto":
        try:
            import seabreeze.cseabreeze

            backend = "cseabreeze"
        except ImportError:
            backend = "pyseabreeze"
    seabreeze.use(backend)
    from seabreeze.spectrometers import Spectrometer

    try:
        dev = (
            Spectrometer.from_first_available()
            if serial is None
            else Spectrometer.from_serial_number(serial)
        )
    except Exception as exc:
        raise DeviceError(
            "spectrometer", f"cannot open {serial or 'any spectrometer'}: {exc}"
        ) from exc
    return dev, backend


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "timeout" in f"{type(exc).__name__} {exc}".lower()


class SeaBreezeSpectrometer(VendorHandle):
    """A `Spectrometer` on a seabreeze ``Spectrometer`` object.

    Parameters
    ----------
    serial
        Serial number (e.g. ``"FLMS12345"``); None: the first one found.
    backend
        ``"auto"``, ``"cseabreeze"`` or ``"pyseabreeze"``.
    device
        An already opened seabreeze ``Spectrometer`` (then `serial` and `backend` are
        not used; tests pass a mock here).
    discard_after_change
        Discard one scan after each integration-time change.
    """

    name = "spectrometer"

    def __init__(
        self,
        serial: str | None = None,
        backend: str = "auto",
        device: Any = None,
        discard_after_change: bool = True,
    ):
        if device is None:
            device, backend = _open_seabreeze(serial, backend)
        else:
            backend = "caller-supplied device"
        self._dev = device
        self.backend = backend
        self.discard_after_change = discard_after_change
        self.max_counts = float(device.max_intensity)
        lo, hi = device.integration_time_micros_limits
        self.integration_time_limits_s = (lo * 1e-6, hi * 1e-6)
        self._wl = np.asarray(device.wavelengths(), dtype=float)
        self._t: float | None = None
        self._stale = False

    def set_integration_time(self, seconds: float) -> None:
        lo, hi = self.integration_time_limits_s
        if not lo <= seconds <= hi:
            raise DeviceError(self.name, f"integration time {seconds} s outside [{lo}, {hi}] s")
        if self._t is not None and abs(seconds - self._t) < 1e-7:
            return
        try:
            self._dev.integration_time_micros(round(seconds * 1e6))
        except Exception as exc:
            raise self._error(exc, "setting the integration time") from exc
        self._stale = self._t is not None and self.discard_after_change
        self._t = float(seconds)

    def _error(self, exc: BaseException, doing: str) -> DeviceError:
        cls = DeviceTimeoutError if _is_timeout(exc) else DeviceError
        return cls(self.name, f"{doing}: {type(exc).__name__}: {exc}")

    def _read(self) -> np.ndarray:
        try:
            y = self._dev.intensities(correct_dark_counts=False, correct_nonlinearity=False)
        except Exception as exc:
            raise self._error(exc, "reading a spectrum") from exc
        y = np.asarray(y, dtype=float)
        if y.shape != self._wl.shape:
            raise DeviceError(self.name, f"{y.size} intensities for {self._wl.size} pixels")
        return y

    def acquire(self, averages: int = 1) -> Spectrum:
        if self._t is None:
            raise DeviceError(self.name, "set_integration_time() before acquire()")
        if self._stale:
            self._read()
            self._stale = False
        total = np.zeros_like(self._wl)
        saturated = np.zeros(self._wl.shape, dtype=bool)
        for _ in range(int(averages)):
            y = self._read()
            saturated |= y >= self.max_counts
            total += y
        return Spectrum(self._wl.copy(), total / int(averages), self._t, int(averages), saturated)

    def describe(self) -> dict[str, Any]:
        try:
            import seabreeze

            version = seabreeze.__version__
        except ImportError:  # a mock device without seabreeze installed
            version = None
        return {
            "driver": "python-seabreeze",
            "seabreeze_version": version,
            "backend": self.backend,
            "model": str(self._dev.model),
            "serial": str(self._dev.serial_number),
            "pixels": int(self._wl.size),
            "max_counts": self.max_counts,
            "integration_time_limits_s": list(self.integration_time_limits_s),
            "wavelength_range_nm": [float(self._wl[0]), float(self._wl[-1])],
        }
