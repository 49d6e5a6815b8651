"""Physical constants in polase's canonical units, taken from scipy.constants (CODATA)."""

from __future__ import annotations

from scipy import constants as _c

#: Planck constant times speed of light. [eV nm]
HC_EV_NM: float = _c.h * _c.c / _c.e * 1e9
#: Reduced Planck constant. [J s]
HBAR_J_S: float = _c.hbar
#: Planck constant. [J s]
H_J_S: float = _c.h
#: Elementary charge (J per eV). [J/eV]
EV_J: float = _c.e
#: Speed of light in vacuum. [cm/s]
C_CM_S: float = _c.c * 100.0
#: Boltzmann constant. [eV/K]
KB_EV_K: float = _c.k / _c.e
#: Bohr magneton. [J/T]
MU_B_J_T: float = _c.physical_constants["Bohr magneton"][0]


def photon_energy_ev(wavelength_nm):
    """Photon energy of light of the given vacuum wavelength.

    Parameters
    ----------
    wavelength_nm : float or array_like
        Vacuum wavelength. [nm]

    Returns
    -------
    float or ndarray
        Photon energy. [eV]
    """
    return HC_EV_NM / wavelength_nm


def wavelength_nm(photon_energy_ev):
    """Vacuum wavelength of a photon of the given energy. [nm] (energy in [eV])."""
    return HC_EV_NM / photon_energy_ev
