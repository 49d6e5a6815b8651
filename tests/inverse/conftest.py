"""Small twin simulations shared by the twin and CLI tests (fit numerics)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from polase.inverse.models import twin_numerics
from polase.inverse.observables import DEFAULT_BANDS

#: Fluence sweep and plate-angle scan of the twin tests. [mJ/cm2], [deg]
TWIN_FLUENCE = [10.0, 13.0, 15.0, 16.0, 17.0, 19.0]
TWIN_ANGLES = [0.0, 22.5, 45.0]

#: The inference tests run on the version-1 (cross-section) set, the package default: the
#: machinery they test is the same for either gain model, and its forward runs are 3-5x
#: cheaper than band filling's (tests/inverse/test_twin.py has one band-filling
#: identification on top).
VERSION_1_SET = str(Path(__file__).parents[1] / "data" / "version1_cross_section.toml")
#: The calibrated physical (band-filling) set.
BAND_FILLING_SET = str(Path(__file__).parents[2] / "examples" / "CsPbBr3_band_filling.toml")

#: Mechanism strengths of the synthetic data (fixed here, independent of the twin's
#: calibrated values): each gives a Delta_ASE of several per cent above threshold.
TWIN_TRUTH = {
    "mechanism.orbit_orbit.kappa": 0.3,
    "mechanism.orbit_orbit.coherence_density_cm3": 5e17,
    "material.orientation_efficiency": 0.5,
    "mechanism.dichroism.delta": 0.05,
}

#: Starting values of the fits, away from the truth (gain_scale and k2 start at 0.8 x and
#: 1.5 x the configuration's values).
TWIN_START = {
    "mechanism.orbit_orbit.kappa": 0.15,
    "mechanism.orbit_orbit.coherence_density_cm3": 3e17,
    "material.orientation_efficiency": 0.3,
    "mechanism.dichroism.delta": 0.02,
}


def simulate_for_fit(
    mechanism: str, seed: int, fluence=TWIN_FLUENCE, angles=TWIN_ANGLES, repeats: int = 5
):
    """Noisy twin data computed with the numerics the fit uses (inference tested in isolation)."""
    import polase

    num = twin_numerics(VERSION_1_SET, DEFAULT_BANDS)
    return polase.simulate(
        VERSION_1_SET,
        mechanism=mechanism,
        fluence=list(fluence),
        qwp_angle=list(angles),
        repeats=repeats,
        seed=seed,
        decays=False,
        **num,
        **TWIN_TRUTH,
    )


def twin_model_for(ds):
    """A `TwinModel` on the data's configuration, started away from the truth."""
    from polase.inverse import TwinModel

    cfg = json.loads(ds.attrs["config"])
    start = dict(TWIN_START)
    start["material.gain_scale"] = 0.8 * cfg["material"]["gain_scale"]
    start["material.k2"] = 1.5 * cfg["material"]["k2"]
    return TwinModel(cfg, windows=DEFAULT_BANDS, start=start), cfg


@pytest.fixture(scope="session")
def twin_spin_channel_nc(tmp_path_factory):
    """A small spin-channel measurement written as NetCDF."""
    from polase.io import save_dataset

    ds = simulate_for_fit(
        "spin_channel",
        seed=5,
        fluence=[10.0, 13.0, 15.0, 17.0, 19.0],
        angles=[0.0, 45.0, 90.0],
        repeats=4,
    )
    path = tmp_path_factory.mktemp("twin") / "spin.nc"
    save_dataset(ds, path)
    assert np.isfinite(ds["spectrum"]).any()
    return path
