"""Small twin simulations shared by the twin and CLI tests (fit numerics, cached per session)."""

from __future__ import annotations

import numpy as np
import pytest

from polase.inverse.models import fit_numerics
from polase.inverse.observables import DEFAULT_BANDS

#: Fluence sweep and plate-angle scan of the twin tests. [mJ/cm2], [deg]
TWIN_FLUENCE = [8.0, 11.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0]
TWIN_ANGLES = [0.0, 22.5, 45.0, 90.0]


def simulate_for_fit(
    mechanism: str, seed: int, fluence=TWIN_FLUENCE, angles=TWIN_ANGLES, repeats: int = 5
):
    """Noisy twin data computed with the numerics the fit uses (inference tested in isolation)."""
    import polase

    num = {f"numerics.{k}": v for k, v in fit_numerics(DEFAULT_BANDS).items()}
    return polase.simulate(
        mechanism=mechanism,
        fluence=list(fluence),
        qwp_angle=list(angles),
        repeats=repeats,
        seed=seed,
        decays=False,
        **num,
    )


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
