"""Open the real bench described by a devices TOML file (``polase acquire --devices``).

Example (the hardware the drivers were written for, see docs/acquisition.md)::

    [spectrometer]
    driver = "seabreeze"          # Ocean Optics FLAME-S via python-seabreeze
    serial = "FLMS12345"          # optional: first spectrometer found
    backend = "auto"              # "cseabreeze", "pyseabreeze"

    [qwp]
    driver = "kinesis"            # Thorlabs K10CR1 via pylablib
    serial = "55000001"
    scale = "K10CR1"
    tolerance_deg = 0.05

    [attenuator]
    driver = "kinesis-hwp"        # half-wave plate on a second K10CR1 before a polarizer
    serial = "55000002"
    angle_max_deg = 0.0           # plate angle of maximum transmission

    [power_meter]
    driver = "visa"               # Thorlabs PM100D via pyvisa
    resource = "USB0::0x1313::0x8078::P0012345::INSTR"
    backend = ""                  # "" system VISA, "@py" pyvisa-py

    [shutter]
    driver = "attenuator"         # block the beam with the attenuator (T = 0)

The device file is not part of the protocol: a run may be resumed on a replaced device
(its serial number then shows in the log's "resume" event).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._files import read_toml
from .devices import Instruments
from .errors import ProtocolError

ROLES = ("spectrometer", "qwp", "attenuator", "power_meter", "shutter", "tcspc")
DRIVERS = {
    "spectrometer": ("seabreeze",),
    "qwp": ("kinesis",),
    "attenuator": ("kinesis-hwp",),
    "power_meter": ("visa",),
    "shutter": ("attenuator",),
    "tcspc": (),
}


def _pop(sec: dict[str, Any], role: str, key: str, default: Any = None, required: bool = False):
    if key in sec:
        return sec.pop(key)
    if required:
        raise ProtocolError(f"{role}.{key}", "missing")
    return default


def open_bench(path: str | Path) -> Instruments:
    """Open every device of a devices TOML file.

    Raises
    ------
    ProtocolError
        Unknown roles, drivers or keys.
    DeviceError
        A device cannot be opened (missing library, not connected).
    """
    p = Path(path)
    data = read_toml(p, "the devices file")
    for role in data:
        if role not in ROLES:
            raise ProtocolError(role, f"unknown device role in {p}; allowed: {', '.join(ROLES)}")
    for role in ("spectrometer", "qwp", "attenuator", "power_meter"):
        if role not in data:
            raise ProtocolError(role, f"{p} has no [{role}] section")
    if "tcspc" in data:
        raise ProtocolError("tcspc", "no real TCSPC driver yet; record decays separately")
    opened: list[Any] = []
    try:
        devs: dict[str, Any] = {}
        for role in ("spectrometer", "qwp", "attenuator", "power_meter", "shutter"):
            sec = dict(data.get(role, {"driver": "attenuator"}))
            driver = _pop(sec, role, "driver", required=True)
            if driver not in DRIVERS[role]:
                raise ProtocolError(
                    f"{role}.driver", f"{driver!r}; allowed: {', '.join(DRIVERS[role])}"
                )
            dev = _open(role, driver, sec, devs)
            if sec:
                raise ProtocolError(f"{role}.{next(iter(sec))}", f"unknown key for driver {driver}")
            devs[role] = dev
            opened.append(dev)
        return Instruments(**devs)
    except BaseException:
        for dev in reversed(opened):
            try:
                dev.close()
            except Exception:  # the original error matters, not this one
                pass
        raise


def _open(role: str, driver: str, sec: dict[str, Any], devs: dict[str, Any]):
    if driver == "seabreeze":
        from .seabreeze import SeaBreezeSpectrometer

        return SeaBreezeSpectrometer(
            _pop(sec, role, "serial"), backend=_pop(sec, role, "backend", "auto")
        )
    if driver in ("kinesis", "kinesis-hwp"):
        from .kinesis import KinesisRotationMount

        mount = KinesisRotationMount(
            str(_pop(sec, role, "serial", required=True)),
            scale=_pop(sec, role, "scale", "K10CR1"),
            tolerance_deg=float(_pop(sec, role, "tolerance_deg", 0.05)),
            name="qwp mount" if role == "qwp" else "attenuator mount",
        )
        if driver == "kinesis":
            return mount
        from .composite import HalfWavePlateAttenuator

        return HalfWavePlateAttenuator(mount, float(_pop(sec, role, "angle_max_deg", 0.0)))
    if driver == "visa":
        from .visa import VisaPowerMeter

        return VisaPowerMeter(
            str(_pop(sec, role, "resource", required=True)),
            backend=str(_pop(sec, role, "backend", "")),
            timeout_s=float(_pop(sec, role, "timeout_s", 5.0)),
        )
    if driver == "attenuator":
        from .composite import AttenuatorShutter

        return AttenuatorShutter(devs["attenuator"])
    raise ProtocolError(f"{role}.driver", f"unknown driver {driver!r}")  # pragma: no cover
