"""Thorlabs rotation mounts through pylablib's Kinesis driver (``pip install polase[thorlabs]``).

Written for a Thorlabs K10CR1/M motorized rotation mount (stepper, 1/136533 deg per
microstep, 10 deg/s maximum, USB, FTDI serial number 55xxxxxx) holding the zero-order
quarter-wave plate, and for a second K10CR1 holding the half-wave plate of the
attenuator. It uses ``pylablib.devices.Thorlabs.KinesisMotor(serial, scale="K10CR1")``,
so positions are in degrees; other Kinesis rotation stages work with their own
``scale`` (e.g. ``"DDR25"``, ``"PRM1-Z8"``).

pylablib talks to the controller over the FTDI virtual serial port (pyft232 on Linux,
the FTD2XX driver on Windows); the Kinesis software must not hold the device.
"""

from __future__ import annotations

import math
from typing import Any

from .devices import VendorHandle
from .errors import DeviceError, DeviceTimeoutError, check_reached


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or "timeout" in type(exc).__name__.lower()


class KinesisRotationMount(VendorHandle):
    """A `RotationMount` on a pylablib ``KinesisMotor``.

    Parameters
    ----------
    serial
        The controller's serial number (e.g. ``"55000001"``).
    scale
        pylablib stage scale; ``"K10CR1"`` gives degrees.
    tolerance_deg
        Largest accepted difference between commanded and reached angle. [deg]
    home
        Home the stage on open if it is not homed yet.
    device
        An already opened ``KinesisMotor`` (tests pass a fake here).
    name
        Device name in messages.
    """

    def __init__(
        self,
        serial: str | None = None,
        scale: str = "K10CR1",
        tolerance_deg: float = 0.05,
        home: bool = True,
        device: Any = None,
        name: str = "qwp mount",
    ):
        self.name = name
        self.tolerance_deg = float(tolerance_deg)
        if device is None:
            try:
                from pylablib.devices import Thorlabs
            except ImportError:
                raise DeviceError(
                    name, "pylablib is not installed: pip install 'polase[thorlabs]'"
                ) from None
            try:
                device = Thorlabs.KinesisMotor(serial, scale=scale)
            except Exception as exc:
                raise DeviceError(name, f"cannot open Kinesis device {serial}: {exc}") from exc
        self._dev = device
        self.serial = serial
        self.scale = scale
        if home and not device.is_homed():
            try:
                device.home(sync=True, force=False, timeout=120.0)
            except Exception as exc:
                raise self._error(exc, "homing") from exc

    def _error(self, exc: BaseException, doing: str) -> DeviceError:
        if _is_timeout(exc):
            return DeviceTimeoutError(self.name, f"{doing} timed out: {exc}")
        return DeviceError(self.name, f"{doing}: {type(exc).__name__}: {exc}")

    def move_to(self, angle_deg: float, timeout_s: float = 30.0) -> float:
        if not math.isfinite(angle_deg):
            raise DeviceError(self.name, f"angle must be finite, got {angle_deg}")
        try:
            self._dev.move_to(float(angle_deg))
            self._dev.wait_move(timeout=timeout_s)
            reached = float(self._dev.get_position())
        except Exception as exc:
            raise self._error(exc, f"moving to {angle_deg} deg") from exc
        check_reached(self.name, reached, angle_deg, self.tolerance_deg)
        return reached

    def position(self) -> float:
        try:
            return float(self._dev.get_position())
        except Exception as exc:
            raise self._error(exc, "reading the position") from exc

    def describe(self) -> dict[str, Any]:
        info: dict[str, Any] = {"driver": "pylablib KinesisMotor", "scale": self.scale}
        try:
            d = self._dev.get_device_info()
            info.update(
                {
                    "serial": str(getattr(d, "serial_no", self.serial)),
                    "model": str(getattr(d, "model_no", "")),
                    "firmware": str(getattr(d, "fw_ver", "")),
                }
            )
        except Exception:  # a device that cannot report stays described by its serial
            info["serial"] = str(self.serial)
        info["tolerance_deg"] = self.tolerance_deg
        return info
