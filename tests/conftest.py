"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

#: ../shared/external beside the repository (CI and developers have it; a user's clone may not).
EXTERNAL_DIR = Path(
    os.environ.get("POLASE_EXTERNAL", Path(__file__).resolve().parents[2] / "shared" / "external")
)


@pytest.fixture(scope="session")
def external_dir() -> Path:
    """Folder of real reference data; the test skips when it is absent."""
    if not EXTERNAL_DIR.is_dir():
        pytest.skip(f"external reference data not found at {EXTERNAL_DIR}")
    return EXTERNAL_DIR


@pytest.fixture
def rng():
    """A seeded random generator (tests are reproducible)."""
    import numpy as np

    return np.random.default_rng(20221124)
