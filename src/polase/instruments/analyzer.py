"""Detection analyzers: which polarization of the emission a channel records.

Circular analyzer (helicity-resolved detection): a quarter-wave plate at +-45 deg followed
by a linear polarizer along x maps sigma+ (or sigma-) light onto the polarizer axis. With a
plate of retardance 90 deg + error delta_err the sigma+ channel transmits
(1 + cos(delta_err)) / 2 of sigma+ light and (1 - cos(delta_err)) / 2 of sigma- light, so
the measured degree of circular polarization is cos(delta_err) times the true one (the
time dependence, hence tau_s, is unchanged). The transmissions are computed with the
Jones matrices of `polase.optics.jones`, not from this formula.

Linear analyzer (fluorescence anisotropy, L-format): excitation polarizer V or H, emission
analyzer V or H. For vertical excitation the emission parallel and perpendicular to it are
I_par = F (1 + 2 r) / 3 and I_perp = F (1 - r) / 3; for horizontal excitation both detected
components are I_perp. The detection sensitivities S_V, S_H of the emission path differ;
G = S_V / S_H = I_HV / I_HH. With S_V = 1: VV = I_par, VH = I_perp / G, HV = I_perp,
HH = I_perp / G, so r = (VV - G VH) / (VV + 2 G VH).

Emission helicity from the spin populations (bright-exciton selection rules):
I_+-(t) = k_rad [(1 +- eps) N_up + (1 -+ eps) N_down] / 2. eps is the degree of circular
polarization of the light emitted by one spin state: 1 for an ideal J = +-1 exciton
emitting along the quantization axis, smaller for an orientation-averaged ensemble of
nanocrystals or rods (for isotropic dipole orientations and collection along one axis the
average is about 0.5-0.75; default 1, i.e. the detector sees the spin polarization).

Hanle effect: a transverse magnetic field B precesses the oriented spins; the steady
(time-integrated) polarization falls as a Lorentzian,
DCP(B) = DCP0 / [1 + (g mu_B B T_s / hbar)^2], with the spin lifetime
1 / T_s = 1 / tau + 1 / tau_s (tau: emission lifetime, tau_s: spin relaxation). CsPbBr3 carrier g factors (literature,
room temperature, order of magnitude): electron g_e ~ +1.7, hole g_h ~ +0.8.

Units: time [ns], field [T], angles [deg].
"""

from __future__ import annotations

import numpy as np

from ..constants import HBAR_J_S, MU_B_J_T
from ..errors import ConfigError, DataValidationError
from ..optics.jones import polarizer, retarder

__all__ = [
    "G_ELECTRON_CSPBBR3",
    "G_HOLE_CSPBBR3",
    "MU_B_J_T",
    "anisotropy_channels",
    "circular_analyzer_matrix",
    "hanle_dcp",
    "helicity_emission",
]

#: Electron g factor of CsPbBr3, +1.69 measured by spin-flip Raman / Kerr rotation in bulk
#: crystals (Belykh et al., Nat. Commun. 10, 673 (2019)); the default of the Hanle functions,
#: pass your own for another material. [1]
G_ELECTRON_CSPBBR3: float = 1.7
#: Hole g factor of CsPbBr3 (same source, about +0.8). [1]
G_HOLE_CSPBBR3: float = 0.8

_SIGMA = {"+": np.array([1.0, -1.0j]) / np.sqrt(2.0), "-": np.array([1.0, 1.0j]) / np.sqrt(2.0)}


def circular_analyzer_matrix(
    retardance_error_deg: float = 0.0, extinction: float = 0.0
) -> np.ndarray:
    """Transmissions of a sigma+ / sigma- analyzer pair (QWP at +-45 deg, polarizer at 0).

    Parameters
    ----------
    retardance_error_deg
        Deviation of the detection plate from 90 deg retardance. [deg]
    extinction
        Amplitude extinction ratio of the polarizer (0 = ideal). [1]

    Returns
    -------
    ndarray, shape (2, 2)
        ``W[i, j]``: fraction of unit-intensity input helicity j (0: sigma+, 1: sigma-) that
        reaches detection channel i (0: sigma+, 1: sigma-). [1]
    """
    if not np.isfinite(retardance_error_deg) or abs(retardance_error_deg) >= 90.0:
        raise ConfigError(
            "retardance_error_deg", f"must be finite and in (-90, 90), got {retardance_error_deg}"
        )
    pol = polarizer(0.0, extinction)
    w = np.empty((2, 2))
    # the sigma+ channel: the plate angle that maps sigma+ onto the polarizer axis
    for i, angle in enumerate((-45.0, 45.0)):
        m = pol @ retarder(angle, 90.0, retardance_error_deg)
        for j, key in enumerate("+-"):
            out = m @ _SIGMA[key]
            w[i, j] = float(np.sum(np.abs(out) ** 2))
    if w[0, 0] < w[0, 1]:  # sign convention of the plate: swap so channel 0 is sigma+
        w = w[::-1].copy()
    return w


def helicity_emission(n_up, n_down, k_rad: float, eps: float = 1.0):
    """Emission rates in sigma+ and sigma- from the spin populations.

    I_+-(t) = k_rad [(1 +- eps) N_up + (1 -+ eps) N_down] / 2.

    Parameters
    ----------
    n_up, n_down : array_like
        Spin-up and spin-down populations (any common unit, e.g. cm^-3). [arb.]
    k_rad
        Radiative rate (in the unit that makes the rate useful; only ratios matter for
        a TCSPC histogram). [1/s]
    eps
        Helicity of the emission of one spin state, in [0, 1]. [1]

    Returns
    -------
    sigma_plus, sigma_minus : ndarray
        Emission rates. [k_rad x population]
    """
    if not 0.0 <= eps <= 1.0:
        raise ConfigError("eps", f"must be in [0, 1], got {eps}")
    up = np.asarray(n_up, dtype=float)
    down = np.asarray(n_down, dtype=float)
    if up.shape != down.shape:
        raise DataValidationError(f"n_up {up.shape} and n_down {down.shape} differ in shape")
    plus = 0.5 * k_rad * ((1.0 + eps) * up + (1.0 - eps) * down)
    minus = 0.5 * k_rad * ((1.0 - eps) * up + (1.0 + eps) * down)
    return plus, minus


def anisotropy_channels(total_rate, anisotropy, g_factor: float = 1.0) -> dict[str, np.ndarray]:
    """Emission rates of the four L-format channels from F(t) and r(t).

    Parameters
    ----------
    total_rate : array_like, shape (..., T)
        Total emission rate F(t) = I_par + 2 I_perp. [arb./ns]
    anisotropy : array_like, broadcast to total_rate
        Anisotropy r(t), in (-0.5, 1). [1]
    g_factor
        Detection sensitivity ratio S_V / S_H (= I_HV / I_HH). [1]

    Returns
    -------
    dict
        ``VV``, ``VH``, ``HV``, ``HH`` rates (detection sensitivities applied, S_V = 1).
    """
    f = np.asarray(total_rate, dtype=float)
    r = np.broadcast_to(np.asarray(anisotropy, dtype=float), f.shape)
    if not g_factor > 0:
        raise ConfigError("g_factor", f"must be > 0, got {g_factor}")
    if np.any((r <= -0.5) | (r >= 1.0)):
        raise DataValidationError("anisotropy must lie in (-0.5, 1)")
    par = f * (1.0 + 2.0 * r) / 3.0
    perp = f * (1.0 - r) / 3.0
    return {"VV": par, "VH": perp / g_factor, "HV": perp, "HH": perp / g_factor}


def hanle_dcp(field_t, dcp0: float, tau_s_ns: float, g: float = G_ELECTRON_CSPBBR3):
    """Time-integrated DCP in a transverse field (Hanle curve).

    DCP(B) = DCP0 / [1 + (g mu_B B tau_s / hbar)^2].

    Parameters
    ----------
    field_t : array_like
        Transverse magnetic field. [T]
    dcp0
        Zero-field polarization. [1]
    tau_s_ns
        Spin lifetime T_s seen by the steady-state measurement: the spins precess during
        their whole life, so 1 / T_s = 1 / tau + 1 / tau_s (emission lifetime tau, spin
        relaxation tau_s); for tau >> tau_s it is tau_s. [ns]
    g
        g factor of the precessing carrier (CsPbBr3: electron +1.7, hole +0.8). [1]

    Returns
    -------
    ndarray
        DCP(B). [1]
    """
    b = np.asarray(field_t, dtype=float)
    omega_tau = g * MU_B_J_T * b * (tau_s_ns * 1e-9) / HBAR_J_S
    return dcp0 / (1.0 + omega_tau**2)
