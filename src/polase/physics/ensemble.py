"""Inhomogeneous broadening: the rod ensemble as a rigid energy shift of one rod.

The pump spot covers many microrods whose band gaps scatter by a Gaussian offset delta of
standard deviation sigma (``sample.bandgap_spread_ev``). A rod with offset delta has its
absorption edge, emission and gain bands shifted by delta; the two-photon pump lies far above
every gap, so its excitation and kinetics are those of the nominal rod. If the rod's response
is a rigid shift in photon energy, its emitted spectrum per unit energy is the nominal one at
E - delta, and the ensemble average is the nominal spectrum convolved in energy with the
Gaussian of delta:

    S_E,ens(E) = integral S_E(E - delta) g(delta) d delta,   g = N(0, sigma^2)

This neglects the slow wavelength dependence of the gain cross-section's prefactor
(lambda^4 in Fuchtbauer-Ladenburg: ~3 % over +-1 sigma of 20 meV), i.e. a spread of the rods'
thresholds of a few percent; `polase.experiment.forward` can evaluate the ensemble exactly by
Gauss-Hermite quadrature over separately simulated rods instead (``numerics.ensemble =
"quadrature"``), which costs one simulation per node and, with few nodes, leaves a comb of
narrow ASE lines.

All spectra here are per unit wavelength [photons/nm] on the model grid [nm]; the Jacobian
|dE/d lambda| = hc / lambda^2 converts between the per-energy and per-wavelength densities.
"""

from __future__ import annotations

import numpy as np

from ..constants import HC_EV_NM


def broadening_matrix(wavelength_nm, sigma_ev: float) -> np.ndarray:
    """Linear map of a spectrum per nm onto its energy-convolved version.

    ``broadened = spectrum @ K.T`` with ``K[i, j] = dlam_j g(E_i - E_j) hc / lambda_i^2``,
    the discretized convolution, each column rescaled so that it conserves the photons of
    its source pixel exactly on the grid (sum_i K[i, j] dlam_i = dlam_j; the kernel's tails
    past the grid ends are folded back rather than lost).

    Parameters
    ----------
    wavelength_nm : array_like, shape (W,)
        Model wavelengths, strictly increasing. [nm]
    sigma_ev : float
        Standard deviation of the Gaussian energy shift. [eV]

    Returns
    -------
    ndarray, shape (W, W)
        The map; the identity when `sigma_ev` is 0.
    """
    lam = np.asarray(wavelength_nm, dtype=float)
    if sigma_ev <= 0.0 or lam.size < 2:
        return np.eye(lam.size)
    dlam = np.gradient(lam)
    e = HC_EV_NM / lam
    g = np.exp(-0.5 * ((e[:, None] - e[None, :]) / sigma_ev) ** 2) / (
        sigma_ev * np.sqrt(2.0 * np.pi)
    )
    k = g * (HC_EV_NM / lam**2)[:, None] * dlam[None, :]
    # photon conservation per source pixel: sum_i K_ij dlam_i = dlam_j
    k *= dlam[None, :] / (k * dlam[:, None]).sum(axis=0, keepdims=True)
    return k


def broaden(wavelength_nm, spectra, sigma_ev: float) -> np.ndarray:
    """Convolve spectra per nm (..., W) in photon energy with a Gaussian of `sigma_ev`.

    Parameters
    ----------
    wavelength_nm : array_like, shape (W,)
        Model wavelengths. [nm]
    spectra : array_like, shape (..., W)
        Spectra per unit wavelength. [photons/nm]
    sigma_ev : float
        Standard deviation of the band-gap offset. [eV]

    Returns
    -------
    ndarray, shape (..., W)
        Ensemble spectra [photons/nm]; the same photon number on the grid.
    """
    s = np.asarray(spectra, dtype=float)
    if sigma_ev <= 0.0:
        return s.copy()
    return s @ broadening_matrix(wavelength_nm, sigma_ev).T


def detection_nodes(detection_nm, sigma_ev: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths and weights that turn one rod's traces into the ensemble's.

    The ensemble's time-resolved emission per nm at lambda_d is the Gauss-Hermite sum over
    offsets delta_k of the nominal rod's emission at lambda_k = hc / (E_d - delta_k), times
    the Jacobian lambda_k^2 / lambda_d^2 (per-nm densities at different wavelengths).

    Parameters
    ----------
    detection_nm : array_like, shape (D,)
        Detection wavelengths. [nm]
    sigma_ev : float
        Standard deviation of the band-gap offset. [eV]
    nodes : int
        Gauss-Hermite nodes (1, or a zero spread: the detection wavelengths themselves).

    Returns
    -------
    wavelength : ndarray, shape (D, K)
        Wavelengths at which to record the nominal rod's emission. [nm]
    weight : ndarray, shape (D, K)
        Weights (quadrature weight times Jacobian); the ensemble trace at lambda_d is
        ``sum_k weight[d, k] * trace(wavelength[d, k])``. [1]
    """
    det = np.atleast_1d(np.asarray(detection_nm, dtype=float))
    if sigma_ev <= 0.0 or nodes <= 1:
        return det[:, None].copy(), np.ones((det.size, 1))
    x, w = np.polynomial.hermite_e.hermegauss(int(nodes))
    w = w / w.sum()
    e_d = HC_EV_NM / det
    lam_k = HC_EV_NM / (e_d[:, None] - sigma_ev * x[None, :])
    return lam_k, w[None, :] * lam_k**2 / det[:, None] ** 2
