"""Spectral functions: lineshape, Urbach tail, Einstein cross-section; measured n,k."""

from __future__ import annotations

import math

import numpy as np
import pytest

from polase.constants import HC_EV_NM
from polase.physics.gain import (
    absorption_from_nk,
    escape_fraction,
    gain_cross_section,
    lineshape_per_nm,
    urbach_absorption,
)


def test_lineshape_has_unit_area_and_peaks_near_centre():
    lam = np.linspace(400, 700, 30001)
    ls = lineshape_per_nm(lam, 2.33, 0.1)
    assert np.trapezoid(ls, lam) == pytest.approx(1.0, rel=1e-6)
    assert 1239.84198 / lam[np.argmax(ls)] == pytest.approx(2.33, abs=0.005)


def test_urbach_tail_slope_and_saturation():
    e_g, e_u, a0 = 2.37, 0.015, 6e4
    lam = HC_EV_NM / np.array([e_g - 0.06, e_g - 0.03, e_g - 1e-12, e_g + 0.05])
    a = urbach_absorption(lam, a0, e_g, e_u)
    assert a[2] == pytest.approx(a0)
    assert a[3] == pytest.approx(a0)
    assert a[1] / a[0] == pytest.approx(math.exp(0.03 / e_u), rel=1e-9)


def test_cross_section_is_einstein_relation_in_energy_form():
    # sigma(E) = c^2 h^3 k_rad L_E(E) / (8 pi n^2 E^2), with L_E per eV
    h = 4.135667696e-15  # eV s
    c = 2.99792458e10
    lam = np.array([520.0, 533.0, 545.0])
    e = 1239.84198 / lam
    e0, w = 2.33, 0.1
    l_e = math.sqrt(4 * math.log(2) / math.pi) / w * np.exp(-4 * math.log(2) * ((e - e0) / w) ** 2)
    expected = c**2 * h**3 * 1e8 * l_e / (8 * math.pi * 2.2**2 * e**2)
    got = gain_cross_section(lam, lineshape_per_nm(lam, e0, w), 1e8, 2.2)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_escape_fraction_limits():
    assert escape_fraction(0.0, 1e-4) == pytest.approx(1.0)
    assert escape_fraction(1e8, 1e-4) == pytest.approx(1e-4, rel=1e-6)
    assert escape_fraction(1e4, 1e-4) == pytest.approx(1 - math.exp(-1.0), rel=1e-12)


def _read_nk(path):
    rows = []
    in_data = False
    for line in path.read_text().splitlines():
        if line.strip().startswith("data:"):
            in_data = True
            continue
        if in_data:
            parts = line.split()
            if len(parts) == 3:
                try:
                    rows.append([float(p) for p in parts])
                except ValueError:
                    break
            elif rows:
                break
    return np.array(rows)


@pytest.mark.parametrize("name", ["CsPbBr3_nk_Brennan.yml", "CsPbBr3_nk_Ermolaev_o.yml"])
def test_default_urbach_tail_matches_measured_absorption_order(external_dir, name):
    from polase.config import load_config

    mat = load_config()["material"]
    data = _read_nk(external_dir / "optical" / name)
    lam_nm = data[:, 0] * 1e3
    alpha_meas = absorption_from_nk(lam_nm, data[:, 2])
    for target in (530.0, 535.0, 540.0):
        meas = np.interp(target, lam_nm, alpha_meas)
        model = urbach_absorption(
            target, mat["alpha0_per_cm"], mat["edge_energy_ev"], mat["urbach_energy_ev"]
        )
        assert 0.1 < model / meas < 10.0, (target, model, meas)


@pytest.mark.parametrize(("k", "sd"), [(3.0, 0.017), (0.5, 0.03), (30.0, 0.01), (0.05, 0.02)])
def test_red_tail_lineshape_is_scipys_exponentially_modified_gaussian(k, sd):
    from scipy.stats import exponnorm

    from polase.physics.gain import _exponnorm_pdf

    x = np.linspace(-1.0, 1.0, 20001)
    want = exponnorm.pdf(x, k, loc=0.0, scale=sd)
    got = _exponnorm_pdf(x, k, sd)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12 * want.max())
