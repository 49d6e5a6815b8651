"""ASE propagation and the coupled solvers: analytic limits, photon budget, fast vs reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from polase.config import load_config
from polase.experiment import build_model, forward, initial_densities
from polase.physics.ase import LOG_FLUX_MAX, propagate, rhs_reference, solve


def test_uniform_rod_matches_closed_form():
    g, s, length = 150.0, 2.0, 0.01
    for n_cells in (1, 7, 50):
        gain = np.full((n_cells, 1), g)
        src = np.full((n_cells, 1), s)
        _, out = propagate(gain, src, length / n_cells)
        # both ends: 2 * S/g (e^{gL} - 1)
        assert out[0] == pytest.approx(2 * s / g * np.expm1(g * length), rel=1e-12)


def test_cell_average_flux_is_consistent_with_gain():
    rng = np.random.default_rng(0)
    gain = rng.uniform(-300, 500, size=(12, 3))
    src = rng.uniform(0, 5, size=(12, 3))
    dx = 1e-3
    phibar, out = propagate(gain, src, dx)
    # photon balance per wavelength: out = sum over cells of (g * phibar + 2 S) dx
    np.testing.assert_allclose(out, np.sum(gain * phibar + 2 * src, axis=0) * dx, rtol=1e-10)


@pytest.fixture(scope="module")
def small_config():
    return load_config(
        {
            "numerics": {
                "n_cells": 10,
                "wavelength_min_nm": 500.0,
                "wavelength_max_nm": 580.0,
                "wavelength_step_nm": 2.0,
                "t_end_ns": 20.0,
                "time_bin_ns": 0.05,
            }
        }
    )


def test_fast_solver_matches_reference(small_config):
    fl, ang = [10.0, 18.0], [0.0, 45.0]
    fast = forward(small_config, fl, ang, solver="fast")
    ref = forward(small_config, fl, ang, solver="reference")
    np.testing.assert_allclose(
        fast["emission"], ref["emission"], rtol=0.01, atol=1e-3 * ref["emission"].max()
    )
    np.testing.assert_allclose(fast["ase_photons"], ref["ase_photons"], rtol=0.01)
    tot_f = fast["emission_t"].sum(axis=-1)
    tot_r = ref["emission_t"].sum(axis=-1)
    np.testing.assert_allclose(tot_f, tot_r, rtol=0.01)


def test_photon_budget(small_config):
    # every emitted photon needs an exciton: spontaneous + guided-out photons <= excitons,
    # which are the absorbed pump photons divided by m
    res = forward(small_config, [5.0, 14.0, 20.0, 30.0], [0.0, 45.0])
    emitted = res["spontaneous_photons"] + res["ase_photons"]
    assert np.all(emitted <= res["excitations"] * (1 + 1e-9))
    assert np.all(res["ase_photons"] > 0)


def test_far_above_threshold_the_flux_is_cut_below_overflow_and_photons_are_kept(small_config):
    # gain-length products of ~10^3 (60 mJ/cm2, circular): exp would overflow without the cut
    res = forward(small_config, [30.0, 45.0, 60.0], [0.0, 45.0])
    assert np.all(np.isfinite(res["emission"]))
    emitted = res["spontaneous_photons"] + res["ase_photons"]
    assert np.all(emitted <= res["excitations"] * (1 + 1e-9))
    # more pump, more ASE, for both plate angles
    assert np.all(np.diff(res["ase_photons"], axis=0) > 0)


def test_cut_propagation_still_balances_photons():
    rng = np.random.default_rng(1)
    gain = rng.uniform(1e5, 2e6, size=(12, 3))  # u = g dx up to 2000 per cell
    src = rng.uniform(0, 5, size=(12, 3))
    dx = 1e-3
    phibar, out = propagate(gain, src, dx)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(phibar))
    assert np.all(np.log(out / 2) <= LOG_FLUX_MAX + 1e-9)
    # the stimulated emission drawn (gain * phibar) equals the photons that leave
    np.testing.assert_allclose(out, np.sum(gain * phibar + 2 * src, axis=0) * dx, rtol=1e-9)


def test_no_emission_without_excitation(small_config):
    m, _ = build_model(small_config)
    out = solve(np.zeros((1, 10)), np.zeros((1, 10)), m)
    assert np.all(out["pl"] == 0) and np.all(out["ase"] == 0)


def test_density_proportional_to_fluence_to_the_m():
    cfg = load_config({"material": {"multiphoton_order": 3.0, "beta": 1e-3}})
    up, down, _, _ = initial_densities(cfg, [1.0, 2.0], [0.0])
    n = up + down
    np.testing.assert_allclose(n[1] / n[0], 2.0**3, rtol=1e-12)


def test_low_density_emission_scales_as_fluence_squared():
    # at low density (no annihilation, no ASE) time-integrated PL is proportional to N0 ~ F^2
    cfg = load_config({"material": {"k2": 0.0, "k3": 0.0}, "numerics": {"n_cells": 8}})
    res = forward(cfg, [0.1, 0.2], [0.0])
    ratio = res["spontaneous"][1, 0].sum() / res["spontaneous"][0, 0].sum()
    assert ratio == pytest.approx(4.0, rel=1e-3)


def test_no_mechanism_means_no_polarization_dependence(small_config):
    cfg = load_config(small_config.to_dict() | {"mechanism": {"name": "none"}})
    res = forward(cfg, [12.0, 20.0], [0.0, 22.5, 45.0])
    e = res["emission"]
    # identical physics; only the adaptive step sequence differs (tolerance 1e-4)
    np.testing.assert_allclose(e[:, 1], e[:, 0], rtol=2e-3)
    np.testing.assert_allclose(e[:, 2], e[:, 0], rtol=2e-3)


def test_gain_saturation_never_raises_output(small_config):
    # stimulated emission removes excitons: the detected spontaneous PL per exciton can only
    # fall as the ASE grows, and total emitted photons never exceed the created excitons
    res = forward(small_config, np.linspace(8, 30, 6), [0.0])
    spont_per_exc = res["spontaneous_photons"][:, 0] / res["excitations"][:, 0]
    assert np.all(np.diff(spont_per_exc) < 0)


def test_rhs_reference_conserves_photons_and_excitons(small_config):
    m, _ = build_model(small_config)
    # lossless: no non-radiative channels, no background absorption, no absorbing unpumped
    # rod ends (they would take photons the balance below counts as leaving)
    m = dataclasses.replace(
        m,
        k_nr=0.0,
        k2=0.0,
        k3=0.0,
        alpha_per_cm=np.zeros_like(m.alpha_per_cm),
        end_transmission=None,
    )
    y = np.concatenate([np.full(10, 1.5e18), np.full(10, 0.5e18)])
    dy, _pl, ase, spont = rhs_reference(y, m)
    # lossless medium: excitons lost per second = spontaneous photons + guided photons out
    lost = -dy.sum() * m.area_cm2 * m.dx_cm
    # (the guided share beta_sp of the spontaneous photons leaves through the ends)
    assert lost == pytest.approx((1 - m.beta_sp) * spont + ase.sum() * m.dlam, rel=1e-9)


@pytest.mark.parametrize("mechanism", ["orbit_orbit+dichroism", "spin_channel"])
def test_mirror_symmetric_shortcut_matches_the_full_rod(mechanism):
    # a mirror-symmetric rod computes one half's gain and propagation factors and mirrors
    # them; breaking the symmetry by 1e-13 of one cell takes the full two-direction path
    cfg = load_config({"mechanism": {"name": mechanism}, "numerics": {"n_cells": 9}})
    m, _ = build_model(cfg)
    up, down, _, _ = initial_densities(cfg, [8.0, 17.0, 30.0], [0.0, 45.0])
    up, down = up.reshape(-1, 9), down.reshape(-1, 9)
    assert np.array_equal(up, up[:, ::-1])
    sym = solve(up, down, m)
    up2 = up.copy()
    up2[:, 0] *= 1.0 + 1e-13
    full = solve(up2, down, m)
    for key in ("pl", "ase", "decay", "ase_photons"):
        np.testing.assert_allclose(sym[key], full[key], rtol=1e-8, atol=1e-12 * full[key].max())


@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_run_order_gives_every_thread_a_like_share_of_costly_runs(n_threads):
    from polase.physics.ase import _run_order

    # a sweep: 34 fluences x (linear, circular) with like carriers, rising with fluence
    carriers = np.repeat(np.arange(1.0, 35.0) ** 2, 2)
    order = _run_order(carriers, n_threads)
    assert sorted(order.tolist()) == list(range(carriers.size))
    # prange's blocks: contiguous, as equal in size as they can be
    blocks = np.array_split(order, n_threads)
    load = np.array([carriers[b].sum() for b in blocks])
    assert load.max() - load.min() <= carriers.max()
    # and each block mixes linear (even index) and circular (odd) runs
    for b in blocks:
        assert abs(np.sum(b % 2 == 0) - np.sum(b % 2 == 1)) <= 1
