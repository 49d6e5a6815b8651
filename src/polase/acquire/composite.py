"""Devices built from other devices: a half-wave-plate attenuator, a beam block.

`HalfWavePlateAttenuator` turns a `RotationMount` holding a half-wave plate before a
fixed polarizer into an `Attenuator` (Malus's law: T = cos^2(2 (theta - theta_max))).
`AttenuatorShutter` is a `Shutter` for benches without one: "closed" sets the
attenuator to its extinction (T = 0), "open" restores the previous transmission.
"""

from __future__ import annotations

import math
from typing import Any

from .devices import Attenuator, RotationMount
from .errors import DeviceError


def hwp_angle_for_transmission(fraction: float, angle_max_deg: float) -> float:
    """Half-wave-plate angle that transmits `fraction` through the polarizer. [deg]

    theta = theta_max + arccos(sqrt(T)) / 2, in [theta_max, theta_max + 45] deg.
    """
    if not 0.0 <= fraction <= 1.0:
        raise DeviceError("attenuator", f"transmission must be in [0, 1], got {fraction}")
    return angle_max_deg + math.degrees(math.acos(math.sqrt(fraction))) / 2.0


def hwp_transmission(angle_deg: float, angle_max_deg: float) -> float:
    """Transmission of the half-wave plate at `angle_deg` through the polarizer. [1]"""
    return math.cos(math.radians(2.0 * (angle_deg - angle_max_deg))) ** 2


class HalfWavePlateAttenuator:
    """An `Attenuator` from a rotation mount with a half-wave plate before a polarizer.

    Parameters
    ----------
    mount
        The mount holding the half-wave plate.
    angle_max_deg
        Plate angle of maximum transmission (found once by a power scan). [deg]
    """

    name = "attenuator"

    def __init__(self, mount: RotationMount, angle_max_deg: float = 0.0):
        self.mount = mount
        self.angle_max_deg = float(angle_max_deg)

    def set_transmission(self, fraction: float) -> float:
        reached = self.mount.move_to(hwp_angle_for_transmission(fraction, self.angle_max_deg))
        return hwp_transmission(reached, self.angle_max_deg)

    def transmission(self) -> float:
        return hwp_transmission(self.mount.position(), self.angle_max_deg)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "half-wave plate + polarizer",
            "angle_max_deg": self.angle_max_deg,
            "mount": self.mount.describe(),
        }

    def close(self) -> None:
        self.mount.close()


class AttenuatorShutter:
    """A `Shutter` that blocks the beam by setting the attenuator to extinction."""

    name = "shutter"

    def __init__(self, attenuator: Attenuator):
        self.attenuator = attenuator
        self._open = True
        self._saved = attenuator.transmission()

    def set_open(self, is_open: bool) -> None:
        if bool(is_open) == self._open:
            return
        if is_open:
            self.attenuator.set_transmission(self._saved)
        else:
            self._saved = self.attenuator.transmission()
            self.attenuator.set_transmission(0.0)
        self._open = bool(is_open)

    def is_open(self) -> bool:
        return self._open

    def describe(self) -> dict[str, Any]:
        return {"kind": "attenuator set to extinction (no shutter)"}

    def close(self) -> None:
        pass
