"""Small protocols for the acquisition tests (a few fluences, no waiting)."""

from __future__ import annotations

import pytest

from polase.acquire import AcquisitionProtocol

SMALL = dict(
    fluence_mJ_cm2=(8.0, 15.0, 17.0),
    qwp_angle_deg=(0.0, 45.0),
    repeats=2,
    integration_time_s=0.08,
    min_integration_time_s=0.000625,
    dark_every=4,
    power_averages=2,
    tcspc_fluence_mJ_cm2=(17.0,),
    tcspc_qwp_angle_deg=(0.0,),
    time_scale=0.0,
)


@pytest.fixture
def small_protocol() -> AcquisitionProtocol:
    return AcquisitionProtocol(**SMALL)
