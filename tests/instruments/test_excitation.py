"""Excitation-spectrum model: absorbed fraction limits, spectrum shape, noise, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from polase.constants import photon_energy_ev
from polase.errors import ConfigError, DataValidationError
from polase.instruments.excitation import (
    ExcitationConfig,
    absorbed_fraction,
    excitation_spectrum,
    lamp_photon_flux,
)


def _urbach(wl_nm, alpha0=2.0e5, gap_ev=2.36, urbach_ev=0.02):
    """Absorption edge: saturates at alpha0 above the gap, exponential tail below."""
    e = photon_energy_ev(np.asarray(wl_nm, dtype=float))
    return alpha0 * np.exp(np.minimum(e - gap_ev, 0.0) / urbach_ev)


@pytest.mark.parametrize("reflectance", [0.0, 0.14])
def test_absorbed_fraction_limits(reflectance):
    x = np.array([1e-8, 1e-6, 1e-4])  # alpha d
    thin = absorbed_fraction(x, 1.0, reflectance)
    # Thin slab: A -> alpha d (front-face loss cancels the back-face return to first order).
    np.testing.assert_allclose(thin, x, rtol=2 * x.max())
    thick = absorbed_fraction(np.array([50.0, 1e3]), 1.0, reflectance)
    np.testing.assert_allclose(thick, 1.0 - reflectance, rtol=1e-15)
    mid = absorbed_fraction(1.0e4, 1.0e-4, reflectance)  # alpha d = 1
    t = np.exp(-1.0)
    assert mid == pytest.approx((1 - reflectance) * (1 - t) / (1 - reflectance * t), rel=1e-14)
    a = absorbed_fraction(np.linspace(0, 20, 1001), 1.0, reflectance)
    assert np.all(np.diff(a) > 0)


def test_flat_above_gap_and_drop_below_edge():
    config = ExcitationConfig(refractive_index=2.2)
    wl = np.linspace(400.0, 600.0, 201)
    d = 1.0e-3  # 10 um: alpha d = 200 above the gap
    res = excitation_spectrum(wl, _urbach, d, 0.2, config, noise=False)
    dark = config.dark_counts_per_s * config.integration_time_s
    sig = res["expected"] - dark
    r = config.reflectance
    above = wl < 480.0
    expect_flat = config.photon_flux_per_s * (1 - r) * 0.2 * config.detection_efficiency
    np.testing.assert_allclose(sig[above], expect_flat * config.integration_time_s, rtol=1e-12)
    # Far below the edge the sample is thin: signal proportional to alpha.
    below = wl > 580.0
    ratio = sig[below] / _urbach(wl[below])
    # Deviation from proportionality is second order: 1 - exp(-x) = x (1 - x/2 + ...).
    assert np.ptp(ratio) < _urbach(wl[below]).max() * d * ratio.mean()
    assert sig[-1] < 1e-3 * sig[0]


def test_array_and_callable_absorption_agree_and_batch():
    wl = np.linspace(450.0, 560.0, 56)
    a = excitation_spectrum(wl, _urbach, 1e-4, 0.5, noise=False)
    alpha = np.stack([_urbach(wl), _urbach(wl, gap_ev=2.30)])
    b = excitation_spectrum(wl, alpha, np.array([1e-4, 2e-4]), np.array([0.5, 0.1]), noise=False)
    np.testing.assert_allclose(a["expected"], b["expected"][0], rtol=1e-15)
    assert b["expected"].shape == (2, 56) and b["counts"].shape == (2, 56)


def test_poisson_noise(rng):
    wl = np.linspace(450.0, 560.0, 12)
    alpha = np.broadcast_to(_urbach(wl), (5000, 12))
    res = excitation_spectrum(wl, alpha, 1e-4, 0.01, rng=rng)
    c, mu = res["counts"], res["expected"][0]
    assert np.all(c == np.rint(c))
    np.testing.assert_allclose(c.mean(axis=0), mu, atol=0, rtol=5 * np.sqrt(1 / (mu * 5000)).max())
    np.testing.assert_allclose(c.var(axis=0), mu, rtol=5 * np.sqrt(2 / 5000))


def test_lamp_table_and_correction():
    lamp = (np.array([300.0, 450.0, 700.0]), np.array([0.2, 1.0, 0.5]))
    wl = np.linspace(400.0, 500.0, 11)
    raw = ExcitationConfig(lamp_table=lamp, corrected=False, dark_counts_per_s=0.0)
    cor = ExcitationConfig(lamp_table=lamp, corrected=True, dark_counts_per_s=0.0)
    flat = ExcitationConfig(dark_counts_per_s=0.0)
    flux = lamp_photon_flux(wl, raw)
    assert flux.max() == pytest.approx(raw.photon_flux_per_s)
    r = excitation_spectrum(wl, _urbach, 1e-4, 0.5, raw, noise=False)["expected"]
    c = excitation_spectrum(wl, _urbach, 1e-4, 0.5, cor, noise=False)["expected"]
    f = excitation_spectrum(wl, _urbach, 1e-4, 0.5, flat, noise=False)["expected"]
    np.testing.assert_allclose(r, f * flux / raw.photon_flux_per_s, rtol=1e-12)
    np.testing.assert_allclose(c, f, rtol=1e-12)


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"detection_efficiency": 0.0}, "detection_efficiency"),
        ({"detection_efficiency": 2.0}, "detection_efficiency"),
        ({"refractive_index": 0.5}, "refractive_index"),
        ({"photon_flux_per_s": -1.0}, "photon_flux_per_s"),
        ({"integration_time_s": float("inf")}, "integration_time_s"),
        ({"corrected": "yes"}, "corrected"),
        ({"lamp_table": ([1.0, 2.0], [1.0])}, "lamp_table"),
        ({"lamp_table": ([1.0, 2.0], [0.0, 0.0])}, "lamp_table"),
    ],
)
def test_bad_config_names_the_key(kw, key):
    with pytest.raises(ConfigError) as err:
        ExcitationConfig(**kw)
    assert err.value.key == key


def test_bad_inputs():
    wl = np.linspace(450.0, 560.0, 5)
    with pytest.raises(DataValidationError, match="emission_yield"):
        excitation_spectrum(wl, _urbach, 1e-4, 1.5)
    with pytest.raises(DataValidationError, match="thickness_cm"):
        excitation_spectrum(wl, _urbach, -1e-4, 0.5)
    with pytest.raises(DataValidationError, match="absorption_coefficient_per_cm"):
        excitation_spectrum(wl, np.ones(4), 1e-4, 0.5)
    with pytest.raises(DataValidationError, match="absorption_coefficient_per_cm"):
        excitation_spectrum(wl, -np.ones(5), 1e-4, 0.5)
    with pytest.raises(DataValidationError, match="strictly increasing"):
        excitation_spectrum(wl[::-1], _urbach, 1e-4, 0.5)
