"""VISA power meters through pyvisa (``pip install polase[visa]``).

Written for a Thorlabs PM100D console (firmware 2.x, USB-TMC, VISA resource
``USB0::0x1313::0x8078::P00xxxxx::INSTR``) with an S401C thermal sensor; the same SCPI
subset is understood by the PM100USB, PM101 and PM400. Commands used (Thorlabs PM100D
SCPI reference)::

    *IDN?                          -> Thorlabs,PM100D,P0012345,2.4.0
    SYST:SENS:IDN?                 -> sensor name, serial, ...
    SENS:CORR:WAV <nm>             wavelength correction
    SENS:AVER:COUN <n>             samples per reading (~3 ms each)
    SENS:POW:RANG:AUTO ON          auto range
    CONF:POW                       measure power
    READ?                          one reading in W

Tests run it against pyvisa-sim (``tests/acquire/pm100d.yaml``), a real VISA stack
with a simulated instrument.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import DeviceError, DeviceTimeoutError


def _is_timeout(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return isinstance(exc, TimeoutError) or "timeout" in text or "tmo" in text


class VisaPowerMeter:
    """A `PowerMeter` on a Thorlabs PM100D-compatible SCPI instrument.

    Parameters
    ----------
    resource
        VISA resource name.
    backend
        pyvisa backend (``""``: the system's VISA, ``"@py"``: pyvisa-py, ``"path@sim"``:
        pyvisa-sim with that definition file).
    timeout_s
        VISA I/O timeout. [s]
    """

    name = "power meter"

    def __init__(self, resource: str, backend: str = "", timeout_s: float = 5.0):
        try:
            import pyvisa
        except ImportError:
            raise DeviceError(
                self.name, "pyvisa is not installed: pip install 'polase[visa]'"
            ) from None
        try:
            self._rm = pyvisa.ResourceManager(backend)
            self._inst = self._rm.open_resource(resource)
        except Exception as exc:
            raise DeviceError(self.name, f"cannot open {resource}: {exc}") from exc
        self._inst.timeout = int(timeout_s * 1000)
        self._inst.read_termination = "\n"
        self._inst.write_termination = "\n"
        self.resource = resource
        self.idn = self._query("*IDN?")
        parts = [p.strip() for p in self.idn.split(",")]
        if len(parts) < 2 or not parts[0].lower().startswith("thorlabs"):
            raise DeviceError(self.name, f"{resource} is not a Thorlabs power meter: {self.idn!r}")
        self.model = parts[1]
        self.serial = parts[2] if len(parts) > 2 else ""
        self.firmware = parts[3] if len(parts) > 3 else ""
        self.sensor = self._query("SYST:SENS:IDN?")
        self._write("SENS:POW:RANG:AUTO ON")
        self._write("CONF:POW")
        self._averages: int | None = None

    def _error(self, exc: BaseException, doing: str) -> DeviceError:
        cls = DeviceTimeoutError if _is_timeout(exc) else DeviceError
        return cls(self.name, f"{doing}: {type(exc).__name__}: {exc}")

    def _query(self, cmd: str) -> str:
        try:
            return str(self._inst.query(cmd)).strip()
        except Exception as exc:
            raise self._error(exc, cmd) from exc

    def _write(self, cmd: str) -> None:
        try:
            self._inst.write(cmd)
        except Exception as exc:
            raise self._error(exc, cmd) from exc
        err = self._query("SYST:ERR?")
        if not err.startswith(("0", "+0")):
            raise DeviceError(self.name, f"{cmd!r} refused: {err}")

    def set_wavelength(self, wavelength_nm: float) -> None:
        self._write(f"SENS:CORR:WAV {float(wavelength_nm):g}")
        got = float(self._query("SENS:CORR:WAV?"))
        if not math.isclose(got, wavelength_nm, rel_tol=1e-6, abs_tol=0.5):
            raise DeviceError(self.name, f"wavelength {got} nm set, {wavelength_nm} nm asked")

    def read_power(self, averages: int = 1) -> float:
        if averages != self._averages:
            self._write(f"SENS:AVER:COUN {int(averages)}")
            self._averages = int(averages)
        text = self._query("READ?")
        try:
            value = float(text)
        except ValueError:
            raise DeviceError(self.name, f"READ? answered {text!r}, not a number") from None
        if not math.isfinite(value) or value > 1e30:  # 9.9E37: over range
            raise DeviceError(self.name, f"READ? answered {text!r} (over range)")
        return value

    def describe(self) -> dict[str, Any]:
        return {
            "driver": "pyvisa SCPI (Thorlabs PM100D command set)",
            "resource": self.resource,
            "idn": self.idn,
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "sensor": self.sensor,
        }

    def close(self) -> None:
        if getattr(self, "_inst", None) is not None:
            try:
                self._inst.close()
                self._rm.close()
            finally:
                self._inst = None
