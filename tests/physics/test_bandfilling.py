"""Inversion-limited gain (polase.physics.bandfilling): statistics, limits and bounds."""

from __future__ import annotations

import numpy as np
import pytest

from polase.constants import HC_EV_NM
from polase.physics import bandfilling as bf

MAT = dict(
    alpha0_per_cm=6e4,
    edge_ev=2.37,
    urbach_ev=0.0145,
    mass_e=0.22,
    mass_h=0.24,
    temperature_k=295.0,
    exciton_binding_ev=0.033,
)
LAM = np.arange(490.0, 601.0, 1.0)


def test_effective_dos_of_the_free_electron_mass():
    # textbook: 2.51e19 cm^-3 at 300 K for m* = m0, scaling as (m* T)^(3/2)
    assert bf.effective_dos_cm3(1.0, 300.0) == pytest.approx(2.51e19, rel=5e-3)
    assert bf.effective_dos_cm3(0.25, 600.0) == pytest.approx(2.51e19 * 0.5**1.5, rel=5e-3)


@pytest.mark.parametrize("eta", [-8.0, -2.0, 0.0, 1.0, 3.0, 10.0, 30.0])
def test_nilsson_inverse_matches_the_fermi_integral(eta):
    u = float(bf.fermi_half(eta))
    # Nilsson (1973): F_1/2 of the approximate eta within 0.5 % of u
    assert float(bf.fermi_half(bf.inverse_fermi_half(u))) == pytest.approx(u, rel=5e-3)
    assert float(bf.inverse_fermi_half(u)) == pytest.approx(eta, abs=0.02 + 0.005 * abs(eta))


def test_no_renormalization_below_the_exciton_line_then_a_growing_shift():
    a_b = bf.exciton_bohr_radius_cm(0.033, 0.22, 0.24)
    assert a_b * 1e7 == pytest.approx(3.17, abs=0.05)  # nm
    n = np.geomspace(1e14, 1e21, 50)
    d = bf.bandgap_renormalization(n, n / 2, 0.033, a_b)
    assert np.all(d[n < 1e17] == 0.0)
    assert np.all(np.diff(d) >= 0.0) and d[-1] > 0.1


def test_exchange_shift_follows_the_own_spin_density():
    a_b = bf.exciton_bohr_radius_cm(0.033, 0.22, 0.24)
    n = 4e18
    lin = bf.bandgap_renormalization(n, n / 2, 0.033, a_b, exchange_fraction=0.5)
    # unpolarized: x changes nothing; polarized: the majority subsystem shifts more
    assert lin == pytest.approx(bf.bandgap_renormalization(n, n / 2, 0.033, a_b))
    up = bf.bandgap_renormalization(n, 0.75 * n, 0.033, a_b, exchange_fraction=0.5)
    down = bf.bandgap_renormalization(n, 0.25 * n, 0.033, a_b, exchange_fraction=0.5)
    assert up > lin > down


def test_gain_is_bounded_by_the_absorption_it_replaces():
    n = np.geomspace(1e12, 1e21, 60)
    for x in (0.0, 1.0):
        for share in (0.5, 0.8, 1.0):
            g = bf.material_gain(LAM, share * n, n, **MAT, exchange_fraction=x)
            assert np.all(g <= MAT["alpha0_per_cm"] * (1 + 1e-12))
            assert np.all(g >= -MAT["alpha0_per_cm"] * (1 + 1e-12))
    # no carriers: the unexcited Urbach absorption, with the sign of a loss
    g0 = bf.material_gain(LAM, 0.0, 0.0, **MAT)
    alpha = MAT["alpha0_per_cm"] * np.exp(np.minimum(HC_EV_NM / LAM - 2.37, 0.0) / 0.0145)
    np.testing.assert_allclose(g0, -alpha, rtol=1e-9)


@pytest.mark.parametrize("wl", [533.0, 543.0, 555.0])
def test_gain_changes_sign_at_the_transparency_density(wl):
    e = HC_EV_NM / wl
    kw = {k: MAT[k] for k in ("edge_ev", "mass_e", "mass_h", "temperature_k", "exciton_binding_ev")}
    n_tr = bf.transparency_density(e, **kw)
    assert 1e16 < n_tr < 1e19
    below = bf.material_gain([wl], 0.49 * n_tr, 0.98 * n_tr, **MAT)[0]
    above = bf.material_gain([wl], 0.51 * n_tr, 1.02 * n_tr, **MAT)[0]
    assert below < 0.0 < above


def test_gain_rises_with_density_at_fixed_wavelength():
    n = np.geomspace(1e16, 1e20, 40)
    g = bf.material_gain([543.0], n / 2, n, **MAT)[:, 0]
    assert np.all(np.diff(g) > 0)


# --- exciton-exciton scattering (P band) -------------------------------------------------

PBAND = dict(pband_density_cm3=3e18, pband_binding_fraction=0.889)


def test_pband_lineshape_is_maxwell_boltzmann_with_unit_peak():
    u = np.linspace(-2.0, 12.0, 14001)
    lam = bf.pband_lineshape(u)
    assert np.all(lam[u <= 0] == 0.0) and np.all(lam >= 0.0)
    assert lam.max() == pytest.approx(1.0, rel=1e-6)
    assert u[np.argmax(lam)] == pytest.approx(0.5, abs=1e-3)
    # mean kinetic energy of the scattered pair: 3/2 kT
    assert np.trapezoid(u * lam, u) / np.trapezoid(lam, u) == pytest.approx(1.5, rel=2e-3)


def test_pband_pair_factor_saturates_and_is_spin_blind_for_unpolarized_pairs():
    n = np.geomspace(1e15, 1e21, 50)
    for x in (0.0, 0.4, 1.0):
        p = bf.pband_pair_factor(n / 2, n / 2, 3e18, x)
        np.testing.assert_allclose(p, (n**2 / 18e36) / (1 + n**2 / 18e36), rtol=1e-12)
    assert np.all(np.diff(bf.pband_pair_factor(n / 2, n / 2, 3e18)) > 0)
    assert bf.pband_pair_factor(1e30, 1e30, 3e18) == pytest.approx(1.0)
    assert np.all(bf.pband_pair_factor(n, n, 0.0) == 0.0)
    # like-spin coupling: a fully oriented population scatters (1 + x) times as often
    z = bf.pband_pair_factor(1e16, 0.0, 3e18, 1.0) / bf.pband_pair_factor(1e16, 0.0, 3e18, 0.0)
    assert z == pytest.approx(2.0, rel=1e-3)


def test_pband_gain_stays_below_full_inversion_and_sits_below_the_exciton_line():
    n = np.geomspace(1e12, 1e21, 60)
    for x in (0.0, 1.0):
        for share in (0.5, 0.8, 1.0):
            g = bf.material_gain(LAM, share * n, n, **MAT, **PBAND, exchange_fraction=x)
            assert np.all(g <= MAT["alpha0_per_cm"] * (1 + 1e-12))
            assert np.all(g >= -MAT["alpha0_per_cm"] * (1 + 1e-12))
    # without carriers the P band is empty: the Urbach loss as before
    np.testing.assert_allclose(
        bf.material_gain(LAM, 0.0, 0.0, **MAT, **PBAND), bf.material_gain(LAM, 0.0, 0.0, **MAT)
    )
    # at 2e18 cm^-3 (below the band-filling transparency at 533 nm, 1.4e18 per the docs is
    # the unpolarized value) the P band adds gain only below E_P0 = E_g - Delta - b E_b
    n = 2e18
    extra = bf.material_gain(LAM, n / 2, n, **MAT, **PBAND) - bf.material_gain(LAM, n / 2, n, **MAT)
    a_b = bf.exciton_bohr_radius_cm(0.033, 0.22, 0.24)
    e_p0 = 2.37 - float(bf.bandgap_renormalization(n, n / 2, 0.033, a_b)) - 0.889 * 0.033
    e = HC_EV_NM / LAM
    assert np.all(extra[e >= e_p0] == 0.0) and np.all(extra[e < e_p0 - 1e-3] > 0.0)
    # its peak lies kT/2 below E_P0 (to within the 1 nm grid and the alpha0 - alpha share)
    kt = 295.0 * 8.617333e-5
    assert HC_EV_NM / LAM[np.argmax(extra)] == pytest.approx(e_p0 - kt / 2, abs=0.006)


def test_fast_kernel_gain_matches_the_reference_with_the_pband():
    import dataclasses

    from polase.config import load_config
    from polase.experiment import build_model
    from polase.physics import _fast
    from polase.physics.ase import _band_constants, subsystem_gain

    cfg = load_config(
        {"material": {"gain_model": "band_filling"}, "mechanism": {"name": "orbit_orbit"}}
    )
    m, _ = build_model(cfg)
    m = dataclasses.replace(m, exchange_fraction=0.6, pband_density_cm3=2.5e18)
    nx = 5
    nu, nd = np.geomspace(1e17, 2e19, nx), np.geomspace(5e16, 4e18, nx)
    want = subsystem_gain(nu, nd, m)
    prm = (nx,) + (0.0,) * 20 + _band_constants(m)[1:]
    gs = np.zeros((2, nx, m.wavelength_nm.size))
    _fast._band_gain(np.concatenate([nu, nd]), prm, gs)
    np.testing.assert_allclose(gs, want, rtol=1e-9, atol=1e-9 * m.alpha0_per_cm)
