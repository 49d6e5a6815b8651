"""Inhomogeneous broadening of the rod ensemble (polase.physics.ensemble)."""

from __future__ import annotations

import numpy as np
import pytest

from polase.constants import HC_EV_NM
from polase.physics.ensemble import broaden, broadening_matrix, detection_nodes

LAM = np.arange(480.0, 620.0 + 1e-9, 0.25)


def _line(center_nm, width_nm=0.5):
    return np.exp(-0.5 * ((LAM - center_nm) / width_nm) ** 2)


def _fwhm_ev(lam, y):
    e = HC_EV_NM / lam
    above = e[y >= 0.5 * y.max()]
    return above.max() - above.min()


def test_zero_spread_is_the_identity():
    y = _line(540.0)
    assert np.array_equal(broaden(LAM, y, 0.0), y)
    assert np.array_equal(broadening_matrix(LAM, 0.0), np.eye(LAM.size))


def test_photons_are_conserved_on_the_grid():
    y = np.stack([_line(500.0), _line(540.0), _line(615.0)])  # the last one at the edge
    out = broaden(LAM, y, 0.02)
    # exact for the pixel sum; the trapezoid of the interior lines agrees too
    assert np.trapezoid(out[:2], LAM) == pytest.approx(np.trapezoid(y[:2], LAM), rel=1e-6)
    dl = np.gradient(LAM)
    assert (out * dl).sum(-1) == pytest.approx((y * dl).sum(-1), rel=1e-12)


@pytest.mark.parametrize("sigma", [0.01, 0.02, 0.03])
def test_a_narrow_line_becomes_the_gaussian_of_the_spread_in_energy(sigma):
    y = _line(540.0, 0.05)
    out = broaden(LAM, y, sigma)
    # the energy FWHM of a Gaussian is 2 sqrt(2 ln 2) sigma (grid step 0.25 nm ~ 1 meV)
    assert _fwhm_ev(LAM, out) == pytest.approx(2.0 * np.sqrt(2.0 * np.log(2.0)) * sigma, rel=0.03)
    # centred on the line's photon energy
    e = HC_EV_NM / LAM
    mean_e = np.sum(out * np.gradient(LAM) * e) / np.sum(out * np.gradient(LAM))
    assert mean_e == pytest.approx(HC_EV_NM / 540.0, abs=2e-4)


def test_widths_add_in_quadrature():
    y = np.exp(-0.5 * ((HC_EV_NM / LAM - 2.3) / 0.03) ** 2) * (HC_EV_NM / LAM**2)
    out = broaden(LAM, y, 0.04)
    assert _fwhm_ev(LAM, out) == pytest.approx(2.3548 * 0.05, rel=0.02)


def test_detection_nodes_reproduce_the_convolution_at_a_wavelength():
    # a trace proportional to the spectrum: the node sum at 543 nm is the convolved value
    y = _line(540.0, 3.0)
    lam_k, w_k = detection_nodes([543.0], 0.02, 15)
    direct = np.interp(543.0, LAM, broaden(LAM, y, 0.02))
    nodes = np.sum(w_k * np.interp(lam_k, LAM, y))
    assert nodes == pytest.approx(direct, rel=5e-3)


def test_detection_nodes_without_spread_are_the_wavelengths():
    lam_k, w_k = detection_nodes([533.0, 543.0], 0.0, 7)
    assert lam_k.shape == (2, 1) and np.all(w_k == 1.0)
    assert lam_k[:, 0].tolist() == [533.0, 543.0]
