"""Errors of the acquisition layer: every device failure is a `DeviceError`.

They derive from `polase.errors.PolaseError`, so ``polase acquire`` reports them as one
clear line (which device, which step, what was expected) instead of a traceback.
"""

from __future__ import annotations

from ..errors import ConfigError, PolaseError


class DeviceError(PolaseError, RuntimeError):
    """A device failed or answered something unusable.

    Parameters
    ----------
    device
        Name of the device (e.g. ``"spectrometer"``, ``"qwp mount"``).
    message
        What went wrong and what was expected.
    """

    def __init__(self, device: str, message: str):
        self.device = device
        super().__init__(f"{device}: {message}")


class DeviceTimeoutError(DeviceError, TimeoutError):
    """A device did not answer (or finish a move/acquisition) within its timeout."""


class SaturatedSpectrumError(DeviceError):
    """The spectrum stays saturated at the shortest allowed integration time."""


class MountPositionError(DeviceError):
    """A rotation mount did not reach the commanded angle within its tolerance."""


def check_reached(
    device: str, reached: float, commanded: float, tolerance_deg: float, decimals: int = 4
) -> None:
    """Raise `MountPositionError` if a mount stopped more than `tolerance_deg` off `commanded`.

    The message gives both angles with `decimals` decimals. [deg]
    """
    if abs(reached - commanded) > tolerance_deg:
        raise MountPositionError(
            device,
            f"stopped at {reached:.{decimals}f} deg, commanded {commanded:.{decimals}f} deg "
            f"(tolerance {tolerance_deg} deg)",
        )


class ProtocolError(ConfigError):
    """A protocol file (TOML) has an unknown, missing or inconsistent key."""


class ResumeError(PolaseError, RuntimeError):
    """A run folder cannot be resumed (different protocol or seed, corrupt manifest)."""


__all__ = [
    "DeviceError",
    "DeviceTimeoutError",
    "MountPositionError",
    "ProtocolError",
    "ResumeError",
    "SaturatedSpectrumError",
]
