"""Spin-resolved exciton kinetics: recombination and spin (orbital-moment) relaxation.

The state is the pair of spin-channel densities (N_up, N_down), N = N_up + N_down. Every
loss that depends on the total density (k2 annihilation, k3 Auger-like) removes the two
channels in proportion to their share, so it leaves the polarization P = (N_up - N_down)/N
unchanged; only spin relaxation (1/tau_s) and stimulated emission act on P.
"""

from __future__ import annotations

import numpy as np


def initial_spin_densities(n0, docp, orientation_efficiency: float):
    """Split an initial density into spin channels, P0 = eta * DOCP.

    Parameters
    ----------
    n0
        Total initial density. [cm^-3]
    docp
        Degree of circular polarization of the pump. [1]
    orientation_efficiency
        Optical orientation efficiency eta (P0 for fully circular pump). [1]

    Returns
    -------
    n_up, n_down : ndarray
        Spin-channel densities. [cm^-3]
    """
    p0 = orientation_efficiency * np.asarray(docp, dtype=float)
    n0 = np.asarray(n0, dtype=float)
    return 0.5 * n0 * (1.0 + p0), 0.5 * n0 * (1.0 - p0)


def pulse_spin_survival(tau_s: float, pulse_fwhm_fs: float, m: float = 2.0) -> float:
    """Share of the optical orientation left when the pulse's carriers are placed at t = 0.

    The model starts from all carriers at the pulse centre. An m-photon pump creates them at
    the rate g(t)^m, a Gaussian of standard deviation sigma_m = tau_p / (2 sqrt(2 ln 2) sqrt(m));
    a carrier created a time |t| from the centre has kept the fraction exp(-|t| / tau_s) of its
    spin orientation by the time it is counted (relaxation during the pulse, before or after
    the centre). The generation-weighted mean is

        E[exp(-|t| / tau_s)] = erfcx(sigma_m / (sqrt(2) tau_s)),

    1 - O(sigma_m / tau_s) for tau_s >> sigma_m and sqrt(2 / pi) tau_s / sigma_m -> 0 for
    tau_s -> 0, so that no orientation survives an instantaneous spin relaxation.

    Parameters
    ----------
    tau_s
        Spin relaxation time. [s]
    pulse_fwhm_fs
        Pump pulse intensity FWHM. [fs]
    m
        Photon order of the absorption. [1]

    Returns
    -------
    float
        Survival factor in (0, 1]. [1]
    """
    from scipy.special import erfcx

    sigma_m = pulse_fwhm_fs * 1e-15 / (2.0 * np.sqrt(2.0 * np.log(2.0)) * np.sqrt(m))
    if tau_s <= 0.0:
        return 0.0
    return float(erfcx(sigma_m / (np.sqrt(2.0) * tau_s)))


def total_loss_rate(n_total, k1: float, k2: float, k3: float):
    """Per-exciton recombination rate k1 + k2 N + k3 N^2. [1/s]

    Parameters
    ----------
    n_total
        Total density. [cm^-3]
    k1
        Monomolecular rate (radiative + non-radiative). [1/s]
    k2
        Exciton-exciton annihilation coefficient. [cm^3/s]
    k3
        Three-body (Auger-like) coefficient. [cm^6/s]
    """
    n = np.asarray(n_total, dtype=float)
    return k1 + k2 * n + k3 * n * n


def spin_relaxation(n_up, n_down, tau_s: float):
    """Spin-flip exchange between the channels: returns (dN_up/dt, dN_down/dt). [cm^-3/s]

    d(N_up - N_down)/dt = -(N_up - N_down)/tau_s, total conserved.

    Parameters
    ----------
    n_up, n_down
        Spin-channel densities. [cm^-3]
    tau_s
        Spin (orbital-moment) relaxation time. [s]
    """
    flow = (np.asarray(n_up) - np.asarray(n_down)) / (2.0 * tau_s)
    return -flow, flow


def recombination_only(t_s, n0, k1: float, k2: float, k3: float, n_steps: int = 4000):
    """Total density N(t) without stimulated emission (for tests and calibration starts).

    Integrates dN/dt = -(k1 + k2 N + k3 N^2) N on the given times with a 4th-order
    Runge-Kutta on a log-spaced internal grid.

    Parameters
    ----------
    t_s
        Times, increasing from 0. [s]
    n0
        Initial densities, any shape. [cm^-3]
    k1, k2, k3
        See `total_loss_rate`.

    Returns
    -------
    ndarray, shape t_s.shape + n0.shape
        N(t). [cm^-3]
    """
    t_s = np.asarray(t_s, dtype=float)
    n = np.asarray(n0, dtype=float).copy()
    grid = np.concatenate([[0.0], np.geomspace(1e-15, max(t_s.max(), 1e-14), n_steps)])
    out_grid = [n.copy()]

    def f(v):
        return -total_loss_rate(v, k1, k2, k3) * v

    for h in np.diff(grid):
        a = f(n)
        b = f(n + 0.5 * h * a)
        c = f(n + 0.5 * h * b)
        d = f(n + h * c)
        n = n + h / 6.0 * (a + 2 * b + 2 * c + d)
        out_grid.append(n.copy())
    arr = np.array(out_grid)
    flat = arr.reshape(arr.shape[0], -1)
    res = np.stack([np.interp(t_s, grid, flat[:, j]) for j in range(flat.shape[1])], axis=-1)
    return res.reshape(t_s.shape + np.shape(n0))
