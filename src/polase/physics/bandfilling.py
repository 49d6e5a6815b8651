"""Inversion-limited gain of a photo-excited semiconductor: band filling and renormalization.

The optical gain at photon energy E replaces the absorption of the unexcited crystal
(Bernard-Duraffourg; e.g. Chuang, *Physics of Photonic Devices*, ch. 9):

    g(E, N) = alpha(E; E_g'(N)) [f_e(E) + f_h(E) - 1],

with alpha the band-edge absorption (Urbach tail below the edge, alpha0 at and above it)
at the renormalized gap E_g'(N) = E_g - Delta_BGR(N), and f_e, f_h the electron and hole
occupations of the states that the transition at E connects, from quasi-Fermi levels at the
carrier density. Since 0 <= f <= 1, -alpha <= g <= alpha: the gain can never exceed the
absorption it replaces ("full inversion"), and at low density g = -alpha (the crystal
absorbs its own light; stimulated absorption creates carriers). g > 0 exactly where
E < E_g' + mu_e + mu_h, the quasi-Fermi-level separation.

Spin: the pump creates electron-hole pairs in two spin subsystems (J_z = +-1/2 conduction and
valence states coupled by sigma+ or sigma- light). Each subsystem holds the density N_s with
half of the band's density of states, so it has its own quasi-Fermi levels; sigma+ light
sees the gain of the "up" subsystem, sigma- that of "down", light of linear polarization
their average.

The transition at E (E - E_g' split between the bands in proportion to the reduced mass,
k-conservation) puts the electron at (E - E_g') m_r / m_e above the conduction-band edge and
the hole at (E - E_g') m_r / m_h below the valence-band edge. Below the renormalized edge
(the Urbach tail) the same split gives negative energies: tail states are occupied by the
same quasi-Fermi distributions.

All energies [eV], densities [cm^-3].
"""

from __future__ import annotations

import math

import numpy as np

from ..constants import HC_EV_NM, KB_EV_K

#: Effective density of states of a parabolic band of the free-electron mass at 300 K,
#: 2 (m0 k T / (2 pi hbar^2))^(3/2), both spins. [cm^-3]
_NC300 = (
    2.0
    * (9.1093837015e-31 * 1.380649e-23 * 300.0 / (2 * math.pi * 1.054571817e-34**2)) ** 1.5
    * 1e-6
)


def effective_dos_cm3(mass_ratio: float, temperature_k: float) -> float:
    """Effective density of states of one parabolic band, both spins. [cm^-3]

    N = 2 (m* k T / (2 pi hbar^2))^(3/2).

    Parameters
    ----------
    mass_ratio
        Effective mass over the free-electron mass m*/m0. [1]
    temperature_k
        Carrier temperature. [K]
    """
    return _NC300 * (mass_ratio * temperature_k / 300.0) ** 1.5


def fermi_half(eta):
    """Normalized Fermi-Dirac integral F_1/2(eta) = 2/sqrt(pi) int_0^inf sqrt(x)/(1+e^(x-eta)) dx.

    Evaluated by Gauss-Laguerre-free adaptive quadrature (scipy.integrate.quad); for tests and
    tables, not for the time integration. [1]
    """
    from scipy.integrate import quad

    def one(e):
        f = lambda x: math.sqrt(x) / (1.0 + math.exp(min(x - e, 700.0)))  # noqa: E731
        upper = max(e, 0.0) + 60.0
        return 2.0 / math.sqrt(math.pi) * quad(f, 0.0, upper, limit=200)[0]

    return np.vectorize(one, otypes=[float])(np.asarray(eta, dtype=float))


def inverse_fermi_half(u):
    """Reduced quasi-Fermi level eta from the occupancy u = N / N_c (Nilsson's approximation).

    eta = ln(u) / (1 - u^2) + v / (1 + (0.24 + 1.08 v)^-2),  v = (3 sqrt(pi) u / 4)^(2/3),

    N. G. Nilsson, Phys. Status Solidi A 19, K75 (1973); relative error of F_1/2(eta) below
    ~0.5 % for all u (test: against `fermi_half`). Non-degenerate limit ln(u), degenerate
    limit (3 sqrt(pi) u / 4)^(2/3).

    Parameters
    ----------
    u
        Density over the effective density of states, > 0. [1]

    Returns
    -------
    ndarray
        (mu - E_edge) / kT. [1]
    """
    u = np.asarray(u, dtype=float)
    v = (0.75 * math.sqrt(math.pi) * u) ** (2.0 / 3.0)
    near1 = np.abs(u - 1.0) < 1e-6
    us = np.where(near1, 2.0, u)
    first = np.where(near1, -0.5, np.log(us) / (1.0 - us * us))
    return first + v / (1.0 + (0.24 + 1.08 * v) ** -2)


def exciton_bohr_radius_cm(exciton_binding_ev: float, mass_e: float, mass_h: float) -> float:
    """Hydrogenic exciton Bohr radius a_B = hbar / sqrt(2 m_r E_b). [cm]

    CsPbBr3 (E_b = 33 meV, m_r = 0.115 m0): 3.2 nm, as the ~7 nm Bohr diameter reported for
    its nanocrystals.
    """
    m_r = mass_e * mass_h / (mass_e + mass_h) * 9.1093837015e-31
    return 1.054571817e-34 / math.sqrt(2.0 * m_r * exciton_binding_ev * 1.602176634e-19) * 100.0


def exchange_correlation_energy(n, exciton_binding_ev: float, bohr_radius_cm: float):
    """Exchange-correlation energy per pair of an electron-hole plasma (Vashishta-Kalia). [eV]

    E_xc = -Ry (4.8316 + 5.0879 r_s) / (0.0152 + 3.0426 r_s + r_s^2),
    r_s = (3 / (4 pi N))^(1/3) / a_B, in excitonic units (Ry = E_b): P. Vashishta and
    R. K. Kalia, Phys. Rev. B 25, 6492 (1982), "universal" for electron-hole plasmas.

    Parameters
    ----------
    n
        Pair density. [cm^-3]
    exciton_binding_ev
        Exciton binding energy (the excitonic Rydberg). [eV]
    bohr_radius_cm
        Exciton Bohr radius. [cm]
    """
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    rs = np.cbrt(3.0 / (4.0 * math.pi * n)) / bohr_radius_cm
    return -exciton_binding_ev * (4.8316 + 5.0879 * rs) / (0.0152 + 3.0426 * rs + rs * rs)


def bandgap_renormalization(
    n_total,
    n_same,
    exciton_binding_ev: float,
    bohr_radius_cm: float,
    exchange_fraction: float = 0.0,
):
    """Red shift of the absorption edge seen by one spin subsystem. [eV] (>= 0)

    The unexcited edge is excitonic, E_b below the continuum. The plasma's continuum edge lies
    at E_g + E_b + E_xc(N); the edge moves once it falls below the exciton line
    (|E_xc| > E_b, N above ~1e17 cm^-3 in CsPbBr3; below that the exciton line stays put,
    its binding screened as fast as the continuum drops):

        Delta = max(0, -(E_b + (1 - x) E_xc(N) + x E_xc(2 N_s))).

    A fraction x of the exchange-correlation energy is carried by the like-spin (exchange)
    interaction, which acts only among carriers of the same spin and so follows twice the
    subsystem's own density (= N for an unpolarized population); x = 0: spin-blind.

    Parameters
    ----------
    n_total
        Total pair density N. [cm^-3]
    n_same
        Density of the subsystem N_s. [cm^-3]
    exciton_binding_ev
        E_b. [eV]
    bohr_radius_cm
        a_B. [cm]
    exchange_fraction
        x, in [0, 1]. [1]
    """
    x = exchange_fraction
    e = exchange_correlation_energy(n_total, exciton_binding_ev, bohr_radius_cm)
    if x != 0.0:
        # E + x (E_s - E) rather than (1 - x) E + x E_s: exactly E for an unpolarized
        # population (2 N_s = N), whatever x (no rounding-level dependence on x)
        e_same = exchange_correlation_energy(
            2.0 * np.asarray(n_same, dtype=float), exciton_binding_ev, bohr_radius_cm
        )
        e = e + x * (e_same - e)
    return np.maximum(-(exciton_binding_ev + e), 0.0)


def urbach_factor(wavelength_nm, edge_ev: float, urbach_ev: float):
    """exp((E - E_g) / E_U) on the wavelength grid (the unrenormalized Urbach tail / alpha0). [1]"""
    e = HC_EV_NM / np.asarray(wavelength_nm, dtype=float)
    return np.exp((e - edge_ev) / urbach_ev)


def occupation_factors(
    wavelength_nm, edge_ev: float, mass_e: float, mass_h: float, temperature_k: float
):
    """exp(c (E - E_g) / kT) of electrons and holes (c = m_r / m), on the wavelength grid. [1]"""
    e = HC_EV_NM / np.asarray(wavelength_nm, dtype=float)
    kt = KB_EV_K * temperature_k
    c_e = mass_h / (mass_e + mass_h)
    c_h = mass_e / (mass_e + mass_h)
    return np.exp(c_e * (e - edge_ev) / kt), np.exp(c_h * (e - edge_ev) / kt)


def pband_lineshape(eps_over_kt):
    """Peak-normalized P-band lineshape in the final-state kinetic energy. [1]

    The photon of an exciton-exciton scattering event X + X -> X* + photon carries
    E = E_P0 - epsilon, where epsilon is the kinetic energy the pair hands to the scattered
    partner; for a thermal (Maxwell-Boltzmann) exciton gas the rate goes as
    sqrt(epsilon) exp(-epsilon / kT) (C. Klingshirn, *Semiconductor Optics*, ch. 20; the P_n
    bands of ZnO, CdS, GaN). Normalized to 1 at its peak epsilon = kT / 2:

        Lambda(epsilon) = sqrt(2 epsilon / kT) exp(1/2 - epsilon / kT),  epsilon >= 0,

    and 0 for epsilon < 0 (no photon above E_P0).

    Parameters
    ----------
    eps_over_kt : array_like
        epsilon / kT. [1]
    """
    u = np.asarray(eps_over_kt, dtype=float)
    up = np.maximum(u, 0.0)
    return np.where(u > 0.0, np.sqrt(2.0 * up) * np.exp(0.5 - up), 0.0)


def pband_pair_factor(n_same, n_other, pband_density_cm3: float, exchange_fraction: float = 0.0):
    """Scattering-pair occupancy z / (1 + z) of the P band seen by one spin subsystem. [1]

    z_s = N_s [(1 + x) N_s + (1 - x) N_s'] / N_P^2: the rate of X + X scattering events
    whose radiating exciton has spin s, per partner of either spin; the like-spin share x
    (orbit-orbit coupling; 0: spin-blind) weights partners of the same spin (1 + x) and of
    the other spin (1 - x), so an unpolarized population gives z = N^2 / (2 N_P^2) for every
    x. z / (1 + z) saturates at the density scale N_P, where the pairs stop being excitons
    (Mott transition, ~5e17-5e18 cm^-3 for a_B = 3.2 nm): the P band borrows at most the
    oscillator strength the band transition leaves free (see `material_gain`).

    Parameters
    ----------
    n_same, n_other : array_like
        Pair densities of the subsystem and of the other one. [cm^-3]
    pband_density_cm3
        N_P; 0 switches the P band off. [cm^-3]
    exchange_fraction
        x, in [0, 1]. [1]
    """
    ns = np.maximum(np.asarray(n_same, dtype=float), 0.0)
    no = np.maximum(np.asarray(n_other, dtype=float), 0.0)
    if pband_density_cm3 <= 0.0:
        return np.zeros(np.broadcast(ns, no).shape)
    # ns (ns + no) + x ns (ns - no): independent of x, bitwise, when ns = no
    z = ns * (ns + no) + exchange_fraction * ns * (ns - no)
    z = z / pband_density_cm3**2
    return z / (1.0 + z)


def material_gain(
    wavelength_nm,
    n_same,
    n_total,
    *,
    alpha0_per_cm: float,
    edge_ev: float,
    urbach_ev: float,
    mass_e: float,
    mass_h: float,
    temperature_k: float,
    exciton_binding_ev: float,
    exchange_fraction: float = 0.0,
    pband_density_cm3: float = 0.0,
    pband_binding_fraction: float = 1.0,
):
    """Material gain of one spin subsystem for light of its circular polarization. [1/cm]

    g(E) = alpha(E) [f_e + f_h - 1] + (alpha0 - alpha(E)) Lambda_P(E) z_s / (1 + z_s),
    alpha(E) = alpha0 min(exp((E - E_g + Delta) / E_U), 1), with the shift Delta of
    `bandgap_renormalization` (see the module docstring). The second term is the
    exciton-exciton scattering (P band) gain: photons at E = E_P0 - epsilon below
    E_P0 = E_g - Delta - b E_b (the partner scattered into its n-th state,
    b = 1 - 1/n^2, or into the continuum, b = 1), lineshape `pband_lineshape`, pair factor
    `pband_pair_factor`. Its final state (a photon, an exciton in the ground state and the
    partner's kinetic and internal energy, which relax in ~100 fs) is empty, so it has no
    absorption of its own and each of its photons costs one pair; it uses at most the share
    alpha0 - alpha(E) of the edge's oscillator strength that the band transition at E does
    not, so -alpha <= g <= alpha0.

    Parameters
    ----------
    wavelength_nm : array_like, shape (W,)
        Vacuum wavelength. [nm]
    n_same : array_like, shape (...)
        Pair density of the subsystem N_s. [cm^-3]
    n_total : array_like, shape (...)
        Total pair density N (for the renormalization). [cm^-3]
    alpha0_per_cm
        Absorption at and above the edge. [1/cm]
    edge_ev
        Unexcited absorption edge E_g. [eV]
    urbach_ev
        Urbach energy. [eV]
    mass_e, mass_h
        Electron and hole effective masses. [m0]
    temperature_k
        Carrier temperature. [K]
    exciton_binding_ev
        Exciton binding energy (sets the renormalization). [eV]
    exchange_fraction
        Like-spin share x of the renormalization and of the P-band scattering partners. [1]
    pband_density_cm3
        Density scale N_P of the P-band pair factor; 0: no P band. [cm^-3]
    pband_binding_fraction
        b = 1 - 1/n^2, the share of E_b the scattered partner takes (0.75 for n = 2, 1 for
        the continuum). [1]

    Returns
    -------
    ndarray, shape (..., W)
        g; -alpha <= g <= alpha0. [1/cm]
    """
    lam = np.asarray(wavelength_nm, dtype=float)
    ns = np.maximum(np.asarray(n_same, dtype=float), 0.0)[..., None]
    n = np.asarray(n_total, dtype=float)[..., None]
    a_b = exciton_bohr_radius_cm(exciton_binding_ev, mass_e, mass_h)
    shrink = bandgap_renormalization(n, ns, exciton_binding_ev, a_b, exchange_fraction)
    kt = KB_EV_K * temperature_k
    e = HC_EV_NM / lam
    gap = edge_ev - shrink
    alpha = alpha0_per_cm * np.exp(np.minimum(e - gap, 0.0) / urbach_ev)
    nc_s = 0.5 * effective_dos_cm3(mass_e, temperature_k)
    nv_s = 0.5 * effective_dos_cm3(mass_h, temperature_k)
    tiny = 1e-30
    eta_e = inverse_fermi_half(np.maximum(ns / nc_s, tiny))
    eta_h = inverse_fermi_half(np.maximum(ns / nv_s, tiny))
    c_e = mass_h / (mass_e + mass_h)
    c_h = mass_e / (mass_e + mass_h)
    f_e = 1.0 / (1.0 + np.exp(c_e * (e - gap) / kt - eta_e))
    f_h = 1.0 / (1.0 + np.exp(c_h * (e - gap) / kt - eta_h))
    g = alpha * (f_e + f_h - 1.0)
    if pband_density_cm3 > 0.0:
        pair = pband_pair_factor(ns, n - ns, pband_density_cm3, exchange_fraction)
        eps = (gap - pband_binding_fraction * exciton_binding_ev - e) / kt
        g = g + (alpha0_per_cm - alpha) * pband_lineshape(eps) * pair
    return g


def transparency_density(
    photon_ev: float,
    *,
    edge_ev: float,
    mass_e: float,
    mass_h: float,
    temperature_k: float,
    exciton_binding_ev: float,
) -> float:
    """Unpolarized pair density N at which photons of energy E see neither gain nor loss. [cm^-3]

    The root of E = E_g' + mu_e + mu_h (the quasi-Fermi-level separation) with N_s = N / 2,
    found by bisection in log N between 1e12 and 1e22 cm^-3.
    """
    kt = KB_EV_K * temperature_k
    nc_s = 0.5 * effective_dos_cm3(mass_e, temperature_k)
    nv_s = 0.5 * effective_dos_cm3(mass_h, temperature_k)
    a_b = exciton_bohr_radius_cm(exciton_binding_ev, mass_e, mass_h)

    def separation(n):
        gap = edge_ev - float(bandgap_renormalization(n, 0.5 * n, exciton_binding_ev, a_b))
        return gap + kt * (
            float(inverse_fermi_half(0.5 * n / nc_s)) + float(inverse_fermi_half(0.5 * n / nv_s))
        )

    lo, hi = 12.0, 22.0
    if separation(10**lo) > photon_ev:
        return 10**lo
    if separation(10**hi) < photon_ev:
        return 10**hi
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if separation(10**mid) < photon_ev:
            lo = mid
        else:
            hi = mid
    return 10 ** (0.5 * (lo + hi))
