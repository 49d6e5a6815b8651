"""Run the experiment: device protocols, simulated and real drivers, protocol files, runner.

Layering: above `polase.io` and `polase.experiment` (it writes raw files with the io
writers and simulates with the twin), below analysis/report/cli. Only
`polase.acquire.live` imports `polase.analysis` (for the live Delta_ASE).

Real drivers are optional extras, imported lazily:
`polase.acquire.seabreeze` (Ocean Optics, ``pip install polase[seabreeze]``),
`polase.acquire.kinesis` (Thorlabs K10CR1 via pylablib, ``polase[thorlabs]``),
`polase.acquire.visa` (Thorlabs PM100D via pyvisa, ``polase[visa]``).
"""

from .devices import (
    TCSPC,
    Attenuator,
    Device,
    Histogram,
    Instruments,
    PowerMeter,
    RotationMount,
    Shutter,
    Spectrometer,
    Spectrum,
)
from .errors import (
    DeviceError,
    DeviceTimeoutError,
    MountPositionError,
    ProtocolError,
    ResumeError,
    SaturatedSpectrumError,
)
from .protocol import AcquisitionProtocol, Plan, build_plan, protocol_from_dict, read_protocol
from .runner import Runner, StepEvent, run_protocol, run_simulated

__all__ = [
    "TCSPC",
    "AcquisitionProtocol",
    "Attenuator",
    "Device",
    "DeviceError",
    "DeviceTimeoutError",
    "Histogram",
    "Instruments",
    "MountPositionError",
    "Plan",
    "PowerMeter",
    "ProtocolError",
    "ResumeError",
    "RotationMount",
    "Runner",
    "SaturatedSpectrumError",
    "Shutter",
    "Spectrometer",
    "Spectrum",
    "StepEvent",
    "build_plan",
    "protocol_from_dict",
    "read_protocol",
    "run_protocol",
    "run_simulated",
]
