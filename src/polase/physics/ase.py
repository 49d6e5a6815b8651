"""1-D spectrally resolved ASE along the rod, coupled to the spin-resolved kinetics.

The rod axis x is cut into cells of length dx. Photon transit over the rod (< 1 ps) is much
shorter than every carrier time, so at each instant the guided photon flux Phi(x, lambda)
[photons/s/nm] is the steady solution of dPhi/dx = g Phi + S for the present densities,
forward and backward. In a cell of constant gain g and source S the exact solution is

    Phi_out = Phi_in e^{g dx} + S dx phi1(g dx),        phi1(u) = (e^u - 1)/u,

and the cell-averaged flux is Phi_bar = Phi_in phi1 + S dx phi2, phi2(u) = (phi1(u) - 1)/u.
Stimulated emission removes Gamma sigma G Phi_bar / A excitons per volume and second from
the gain density G of each cell, exactly the photons the mode gains in the cell, so the
photon budget closes. The densities are then integrated in time: `solver="fast"` with an
embedded Runge-Kutta 2(3) (Bogacki-Shampine) compiled with numba over the batch of runs,
`solver="reference"` with `scipy.integrate.solve_ivp` (LSODA) and a separate numpy
implementation of the same right-hand side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import HC_EV_NM, KB_EV_K
from ..errors import ConfigError
from . import _fast
from . import bandfilling as _bf
from .kinetics import spin_relaxation, total_loss_rate
from .mechanisms import channel_densities, cooperative_density

#: Largest natural log of the guided flux [ln(photons/s/nm)]. Far above threshold (circular
#: pump, orbit-orbit gain ~ N^2) the gain-length product of the instantaneously created
#: population can pass 700, where exp overflows; a cell's amplification is then cut so that
#: the flux stays below e^600 ~ 4e260. Such a flux empties the population above transparency
#: in far less than any time resolved here, so the emitted photons do not depend on the cut;
#: below it (every fluence of the default sweep) nothing changes.
LOG_FLUX_MAX = _fast.LOG_FLUX_MAX


@dataclass(frozen=True)
class ModelArrays:
    """Everything the time integration needs, in canonical units (cm, s, nm)."""

    wavelength_nm: np.ndarray  #: model wavelength grid, uniform. [nm]
    sigma_cm2: np.ndarray  #: stimulated-emission cross-section. [cm^2]
    alpha_per_cm: np.ndarray  #: absorption + internal loss of the guided mode. [1/cm]
    lineshape_nm: np.ndarray  #: spontaneous lineshape. [1/nm]
    escape: np.ndarray  #: fraction of spontaneous light escaping towards the detector. [1]
    dx_cm: float  #: cell length. [cm]
    confinement: float  #: Gamma, mode overlap with the active medium. [1]
    area_cm2: float  #: active cross-section of the rod. [cm^2]
    beta_sp: float  #: spontaneous-emission fraction coupled into the guided mode. [1]
    k_rad: float  #: radiative rate. [1/s]
    k_nr: float  #: non-radiative monomolecular rate. [1/s]
    k2: float  #: annihilation coefficient. [cm^3/s]
    k3: float  #: three-body coefficient. [cm^6/s]
    tau_s: float  #: spin relaxation time. [s]
    kappa: float  #: orbit-orbit coupling strength (0 = off). [1]
    n_c: float  #: coherence density per spin channel. [cm^-3]
    n_channels: int  #: 1, or 2 for spin-channel separation
    selectivity: float  #: spin-channel selectivity. [1]
    collect_pl: float  #: collection efficiency of escaping spontaneous light. [1]
    collect_ase: float  #: collection efficiency of light leaving the rod ends. [1]
    detection_nm: np.ndarray  #: decay detection wavelengths. [nm]
    t_end_s: float  #: end of the integration. [s]
    dt_bin_s: float  #: width of the output time bins. [s]
    rtol: float  #: relative tolerance
    atol_rel: float  #: absolute tolerance relative to the peak initial density
    max_step_s: float  #: largest time step. [s]
    #: "cross_section" (version 1: gain Gamma sigma N_eff, unbounded) or "band_filling"
    #: (`polase.physics.bandfilling`: inversion-limited, signed); with band filling
    #: ``alpha_per_cm`` is the background loss of the guided mode only (scattering), the
    #: band-edge absorption being part of the gain, and ``sigma_cm2``, ``kappa``, ``n_c``
    #: are unused.
    gain_model: str = "cross_section"
    alpha0_per_cm: float = 0.0  #: absorption at and above the edge (band filling). [1/cm]
    edge_ev: float = 0.0  #: unexcited absorption edge E_g (band filling). [eV]
    urbach_ev: float = 1.0  #: Urbach energy (band filling). [eV]
    mass_e: float = 1.0  #: electron effective mass (band filling). [m0]
    mass_h: float = 1.0  #: hole effective mass (band filling). [m0]
    temperature_k: float = 300.0  #: carrier temperature (band filling). [K]
    exciton_binding_ev: float = 0.0  #: exciton binding energy (renormalization). [eV]
    exchange_fraction: float = 0.0  #: like-spin share of the renormalization and P band. [1]
    #: density scale N_P of the exciton-exciton scattering (P band) gain; 0: none. [cm^-3]
    pband_density_cm3: float = 0.0
    #: share b = 1 - 1/n^2 of E_b taken by the scattered partner (P_n band). [1]
    pband_binding_fraction: float = 1.0
    #: transmission of the guided light through the unpumped rod between the modelled
    #: (pumped) length and the end facets, exp(-(alpha + alpha_i) L_end); None: 1. [1]
    end_transmission: np.ndarray | None = None

    def end_transmission_or_one(self) -> np.ndarray:
        """`end_transmission`, or ones when unset. [1]"""
        if self.end_transmission is None:
            return np.ones(self.wavelength_nm.size)
        return np.asarray(self.end_transmission, dtype=float)

    @property
    def n_bins(self) -> int:
        return round(self.t_end_s / self.dt_bin_s)

    @property
    def dlam(self) -> float:
        return float(self.wavelength_nm[1] - self.wavelength_nm[0])

    def detection_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Left index and linear-interpolation weight of each detection wavelength."""
        lam = self.wavelength_nm
        det = np.asarray(self.detection_nm, dtype=float)
        if np.any(det < lam[0]) or np.any(det > lam[-1]):
            raise ConfigError(
                "sweep.detection_wavelength",
                f"must lie inside the model wavelength grid {lam[0]:g}-{lam[-1]:g} nm, got {det.tolist()}",
            )
        idx = np.clip(np.searchsorted(lam, det, side="right") - 1, 0, lam.size - 2)
        w = (det - lam[idx]) / (lam[idx + 1] - lam[idx])
        return idx.astype(np.int64), w


def propagate(gain_per_cm, source, dx_cm: float):
    """Forward and backward guided flux through cells of constant gain (numpy version).

    Parameters
    ----------
    gain_per_cm : ndarray, shape (X, W)
        Net modal gain per cell. [1/cm]
    source : ndarray, shape (X, W)
        Spontaneous emission coupled into the mode per direction. [photons/s/nm/cm]
    dx_cm
        Cell length. [cm]

    Returns
    -------
    phibar : ndarray, shape (X, W)
        Cell-averaged flux, both directions summed. [photons/s/nm]
    out : ndarray, shape (W,)
        Flux leaving both rod ends. [photons/s/nm]

    Notes
    -----
    A cell's amplification is cut so that the flux stays below exp(`LOG_FLUX_MAX`); its
    contribution to ``phibar`` (which sets the stimulated emission drawn from the cell) is
    scaled by the same factor, so that photons are still conserved.
    """
    n_x = gain_per_cm.shape[0]
    u = gain_per_cm * dx_cm
    e, phi1, phi2 = _amplification(u)
    sdx = source * dx_cm
    phibar = np.zeros_like(gain_per_cm)
    out = np.zeros(gain_per_cm.shape[1])
    for order in (range(n_x), range(n_x - 1, -1, -1)):
        flux = np.zeros(gain_per_cm.shape[1])
        for i in order:
            e_i, p1_i, p2_i = e[i], phi1[i], phi2[i]
            room = LOG_FLUX_MAX - np.log(np.maximum(np.maximum(flux, sdx[i]), 1.0))
            cut = u[i] > room
            keep = 1.0
            if cut.any():
                u_cut = np.where(cut, np.maximum(room, 0.0), u[i])
                e_i, p1_i, p2_i = _amplification(u_cut)
                # the stimulated emission drawn from the cell shrinks with its gain
                keep = np.where(cut, u_cut / np.where(cut, u[i], 1.0), 1.0)
            phibar[i] += (flux * p1_i + sdx[i] * p2_i) * keep
            flux = flux * e_i + sdx[i] * p1_i
        out += flux
    return phibar, out


def _amplification(u):
    """exp(u), (exp(u) - 1) / u and (phi1 - 1) / u, with series near u = 0."""
    small = np.abs(u) < 1e-4
    us = np.where(small, 1.0, u)
    with np.errstate(over="ignore"):
        e = np.exp(u)
        phi1 = np.where(small, 1.0 + u / 2 + u * u / 6, np.expm1(us) / us)
    phi2 = np.where(small, 0.5 + u / 6 + u * u / 24, (phi1 - 1.0) / us)
    return e, phi1, phi2


def rhs_reference(y, m: ModelArrays):
    """Right-hand side of the kinetics (numpy, one run): returns (dy/dt, pl_rate, ase_rate).

    y = (N_up[X], N_down[X]) [cm^-3]; pl_rate: escaping spontaneous spectrum before collection
    [photons/s/nm]; ase_rate: flux leaving the rod ends before collection [photons/s/nm].
    """
    n_x = y.size // 2
    nu = np.maximum(y[:n_x], 0.0)
    nd = np.maximum(y[n_x:], 0.0)
    if m.gain_model == "band_filling":
        r_up, r_down, ase = _stimulated_band_filling(nu, nd, m)
    else:
        r_up, r_down, ase = _stimulated_cross_section(nu, nd, m)
    n = nu + nd
    loss = total_loss_rate(n, m.k_rad + m.k_nr, m.k2, m.k3)
    su, sd = spin_relaxation(nu, nd, m.tau_s)
    dy = np.concatenate([-loss * nu + su - r_up, -loss * nd + sd - r_down])
    spont = m.k_rad * n.sum() * m.area_cm2 * m.dx_cm
    pl = (1.0 - m.beta_sp) * spont * m.lineshape_nm * m.escape
    return dy, pl, ase, spont


def _guided(gain_modal, spont_density, m: ModelArrays):
    """Propagate one guided channel: cell-averaged flux and the flux leaving both ends."""
    src = 0.5 * m.beta_sp * m.k_rad * m.area_cm2 * spont_density[:, None] * m.lineshape_nm[None, :]
    phibar, out = propagate(gain_modal - m.alpha_per_cm[None, :], src, m.dx_cm)
    return phibar, out * m.end_transmission_or_one()


def _stimulated_cross_section(nu, nd, m: ModelArrays):
    """Version-1 stimulated rates (cross-section gain of the orbit-orbit density)."""
    n_x = nu.size
    neu = cooperative_density(nu, m.kappa, m.n_c)
    ned = cooperative_density(nd, m.kappa, m.n_c)
    gdens, spdens = channel_densities(neu, ned, nu, nd, m.selectivity, m.n_channels)
    q = np.empty((m.n_channels, n_x))
    ase = np.zeros(m.wavelength_nm.size)
    for c in range(m.n_channels):
        g = m.confinement * m.sigma_cm2[None, :] * gdens[c][:, None]
        phibar, out = _guided(g, spdens[c], m)
        q[c] = m.confinement / m.area_cm2 * (phibar @ m.sigma_cm2) * m.dlam
        ase += out
    if m.n_channels == 1:
        return neu * q[0], ned * q[0], ase
    s = m.selectivity
    r_up = neu * ((1 + s) * q[0] + (1 - s) * q[1])
    r_down = ned * ((1 + s) * q[1] + (1 - s) * q[0])
    return r_up, r_down, ase


def subsystem_gain(nu, nd, m: ModelArrays):
    """Material gain of the up and down subsystems in every cell, shape (2, ..., X, W) for
    densities of shape (..., X). [1/cm]"""
    n = nu + nd
    kw = dict(
        alpha0_per_cm=m.alpha0_per_cm,
        edge_ev=m.edge_ev,
        urbach_ev=m.urbach_ev,
        mass_e=m.mass_e,
        mass_h=m.mass_h,
        temperature_k=m.temperature_k,
        exciton_binding_ev=m.exciton_binding_ev,
        exchange_fraction=m.exchange_fraction,
        pband_density_cm3=m.pband_density_cm3,
        pband_binding_fraction=m.pband_binding_fraction,
    )
    return np.stack(
        [
            _bf.material_gain(m.wavelength_nm, nu, n, **kw),
            _bf.material_gain(m.wavelength_nm, nd, n, **kw),
        ]
    )


def channel_weights(n_channels: int, selectivity: float) -> np.ndarray:
    """Coupling (channel, subsystem) of the guided channels to the spin subsystems. [1]

    One channel (linear polarization): 1/2 to each. Two (sigma+, sigma-): (1 + s)/2 to the
    same subsystem and (1 - s)/2 to the other.
    """
    if n_channels == 1:
        return np.array([[0.5, 0.5]])
    a, b = 0.5 * (1 + selectivity), 0.5 * (1 - selectivity)
    return np.array([[a, b], [b, a]])


def _stimulated_band_filling(nu, nd, m: ModelArrays):
    """Signed stimulated rates of the two subsystems with the inversion-limited gain."""
    gs = subsystem_gain(nu, nd, m)  # (2, X, W)
    wts = channel_weights(m.n_channels, m.selectivity)
    r = np.zeros((2, nu.size))
    ase = np.zeros(m.wavelength_nm.size)
    for c in range(m.n_channels):
        g_mat = wts[c, 0] * gs[0] + wts[c, 1] * gs[1]
        spd = wts[c, 0] * nu + wts[c, 1] * nd if m.n_channels == 2 else nu + nd
        phibar, out = _guided(m.confinement * g_mat, spd, m)
        for s in range(2):
            r[s] += wts[c, s] * m.confinement / m.area_cm2 * (gs[s] * phibar).sum(axis=1) * m.dlam
        ase += out
    return r[0], r[1], ase


def solve_reference(n0_up, n0_down, m: ModelArrays, rtol: float = 1e-7):
    """Integrate a batch of runs with scipy.integrate.solve_ivp (LSODA), one run at a time.

    Same inputs and outputs as `solve`.
    """
    from scipy.integrate import solve_ivp

    n0_up = np.atleast_2d(np.asarray(n0_up, dtype=float))
    n0_down = np.atleast_2d(np.asarray(n0_down, dtype=float))
    n_runs = n0_up.shape[0]
    n_w = m.wavelength_nm.size
    idx, wt = m.detection_weights()
    edges = np.arange(m.n_bins + 1) * m.dt_bin_s
    pl = np.zeros((n_runs, n_w))
    ase = np.zeros((n_runs, n_w))
    decay = np.zeros((n_runs, idx.size, m.n_bins))
    stats = np.zeros((n_runs, 4))
    for r in range(n_runs):
        y0 = np.concatenate([n0_up[r], n0_down[r]])
        scale = max(y0.max(), 1.0)
        if y0.max() <= 0:
            continue
        sol = solve_ivp(
            lambda _t, y: rhs_reference(y, m)[0],
            (0.0, m.t_end_s),
            y0,
            method="LSODA",
            rtol=rtol,
            atol=1e-9 * scale,
            dense_output=True,
        )
        if not sol.success:
            raise RuntimeError(f"reference solver failed: {sol.message}")
        # Emission rates on the solver's own steps, each refined 8x through the dense output
        # so the sub-ps ASE burst is integrated accurately (Simpson-like via fine trapezoid).
        ts = sol.t
        frac = np.linspace(0.0, 1.0, 9)[:-1]
        tt = np.concatenate([ts[:-1, None] + np.diff(ts)[:, None] * frac[None, :]], axis=None)
        tt = np.concatenate([tt.ravel(), [ts[-1]]])
        ys = sol.sol(tt)
        pls = np.empty((tt.size, n_w))
        ases = np.empty((tt.size, n_w))
        sps = np.empty(tt.size)
        for j in range(tt.size):
            _, pls[j], ases[j], sps[j] = rhs_reference(ys[:, j], m)
        pl[r] = np.trapezoid(pls, tt, axis=0)
        ase[r] = np.trapezoid(ases, tt, axis=0)
        det = m.collect_pl * pls + m.collect_ase * ases
        det_d = det[:, idx] * (1 - wt) + det[:, idx + 1] * wt  # (T, D)
        cum = np.concatenate(
            [
                np.zeros((1, idx.size)),
                np.cumsum(0.5 * (det_d[1:] + det_d[:-1]) * np.diff(tt)[:, None], axis=0),
            ]
        )
        cum_edges = np.stack([np.interp(edges, tt, cum[:, d]) for d in range(idx.size)])
        decay[r] = np.diff(cum_edges, axis=1)
        stats[r] = [
            ts.size,
            (y0.sum()) * m.area_cm2 * m.dx_cm,
            np.trapezoid(sps, tt),
            np.trapezoid(ases.sum(axis=1) * m.dlam, tt),
        ]
    return _package(pl, ase, decay, stats, m)


def _package(pl, ase, decay, stats, m: ModelArrays) -> dict:
    dt_ns = m.dt_bin_s * 1e9
    return {
        "pl": pl * m.collect_pl,
        "ase": ase * m.collect_ase,
        "decay": decay / dt_ns,
        "time_ns": (np.arange(m.n_bins) + 0.5) * dt_ns,
        "n_steps": stats[:, 0],
        "excitations": stats[:, 1],
        "spontaneous_photons": stats[:, 2],
        "ase_photons": stats[:, 3],
    }


def _band_constants(m: ModelArrays) -> tuple:
    """The band-filling constants (`_fast._band_gain`) and the end transmission (prm[33])."""
    lam = m.wavelength_nm
    band = m.gain_model == "band_filling"
    if band:
        urb = _bf.urbach_factor(lam, m.edge_ev, m.urbach_ev)
        occ_e, occ_h = _bf.occupation_factors(lam, m.edge_ev, m.mass_e, m.mass_h, m.temperature_k)
    else:
        urb = occ_e = occ_h = np.zeros(lam.size)
    kt = KB_EV_K * m.temperature_k
    photon_ev = np.ascontiguousarray(HC_EV_NM / lam - m.edge_ev, dtype=float)
    return (
        band,
        np.ascontiguousarray(urb, dtype=float),
        np.ascontiguousarray(occ_e, dtype=float),
        np.ascontiguousarray(occ_h, dtype=float),
        float(m.alpha0_per_cm),
        1.0 / m.urbach_ev,
        0.5 * _bf.effective_dos_cm3(m.mass_e, m.temperature_k),
        0.5 * _bf.effective_dos_cm3(m.mass_h, m.temperature_k),
        m.mass_h / (m.mass_e + m.mass_h) / kt,
        m.mass_e / (m.mass_e + m.mass_h) / kt,
        float(m.exciton_binding_ev),
        _bf.exciton_bohr_radius_cm(m.exciton_binding_ev, m.mass_e, m.mass_h) if band else 1.0,
        float(m.exchange_fraction),
        np.ascontiguousarray(m.end_transmission_or_one(), dtype=float),
        # the P band (prm[34:39]): E - E_g on the grid, 1 / N_P^2, b E_b, 1 / kT, and
        # exp((E - E_g) / kT), the lineshape's energy factor
        photon_ev,
        1.0 / m.pband_density_cm3**2 if band and m.pband_density_cm3 > 0.0 else 0.0,
        float(m.pband_binding_fraction * m.exciton_binding_ev),
        1.0 / kt,
        # (used below the P-band onset only, E - E_g < 0: the clip never acts there)
        np.exp(np.minimum(photon_ev / kt, 700.0)),
    )


def solve(n0_up, n0_down, m: ModelArrays, solver: str = "fast", spectra_only=None) -> dict:
    """Time-integrate the coupled kinetics and ASE for a batch of runs.

    Parameters
    ----------
    n0_up, n0_down : ndarray, shape (R, X)
        Initial spin-channel densities in every cell for every run. [cm^-3]
    m
        Model arrays and parameters.
    solver
        "fast" (numba RK23) or "reference" (scipy solve_ivp, LSODA).
    spectra_only : array_like of bool, shape (R,), optional
        Runs whose decays are not wanted: the fast solver lifts the step limit
        ``m.max_step_s`` (which only keeps the decay histograms' in-step shape accurate;
        the steps stay error-controlled, and the spectra and the decays' time integrals
        keep their accuracy) to a tenth of the integration span. Ignored by "reference".

    Returns
    -------
    dict
        pl (R, W): detected spontaneous spectrum per pulse [photons/nm];
        ase (R, W): detected guided (ASE) spectrum per pulse [photons/nm];
        decay (R, D, T): detected emission rate at the detection wavelengths, averaged over
        each time bin [photons/nm/ns]; time_ns (T,): bin centres [ns];
        excitations (R,): created excitons; spontaneous_photons (R,): all spontaneous photons
        emitted; ase_photons (R,): photons leaving the rod ends (both uncollected); n_steps (R,).
    """
    if solver == "reference":
        return solve_reference(n0_up, n0_down, m)
    if solver != "fast":
        raise ConfigError("numerics.solver", f"must be 'fast' or 'reference', got {solver!r}")
    n0_up = np.ascontiguousarray(np.atleast_2d(n0_up), dtype=float)
    n0_down = np.ascontiguousarray(np.atleast_2d(n0_down), dtype=float)
    idx, wt = m.detection_weights()
    # mirror-symmetric initial densities stay symmetric: propagate one direction only
    symmetric = bool(
        np.array_equal(n0_up, n0_up[:, ::-1]) and np.array_equal(n0_down, n0_down[:, ::-1])
    )
    # the model constants, in the order `_fast._rhs` unpacks them
    prm = (
        n0_up.shape[1],
        np.ascontiguousarray(m.sigma_cm2, dtype=float),
        np.ascontiguousarray(m.alpha_per_cm, dtype=float),
        np.ascontiguousarray(m.lineshape_nm, dtype=float),
        np.ascontiguousarray(m.escape, dtype=float),
        m.dlam,
        m.dx_cm,
        m.confinement,
        m.area_cm2,
        m.beta_sp,
        m.k_rad,
        m.k_nr,
        m.k2,
        m.k3,
        0.5 / m.tau_s,
        m.kappa,
        m.n_c,
        int(m.n_channels),
        m.selectivity,
        symmetric,
        *_band_constants(m),
    )
    import numba

    n_runs = n0_up.shape[0]
    order = _run_order((n0_up + n0_down).sum(axis=1), max(numba.get_num_threads(), 1))
    back = np.argsort(order)
    pl, ase, decay, stats = _fast.solve_batch(
        np.ascontiguousarray(n0_up[order]),
        np.ascontiguousarray(n0_down[order]),
        prm,
        m.tau_s,
        m.collect_pl,
        m.collect_ase,
        idx,
        np.ascontiguousarray(wt, dtype=float),
        m.dt_bin_s,
        m.n_bins,
        m.t_end_s,
        m.rtol,
        m.atol_rel,
        _max_steps(n_runs, m, spectra_only)[order],
    )
    pl, ase, decay, stats = pl[back], ase[back], decay[back], stats[back]
    return _package(pl, ase, decay, stats, m)


def _run_order(carriers, n_threads: int) -> np.ndarray:
    """Order of the runs for `_fast.solve_batch`, from each run's carriers [any unit].

    Runs differ in cost by ~10x (the steps grow with the density; circular runs of two
    guided channels cost up to twice linear ones) and prange hands each thread one
    contiguous block. The runs are sorted by carriers, costliest first, and dealt out
    serpentine (threads 0..T-1, then T-1..0), so that every block gets a like share of the
    costly runs and of each pair of linear and circular runs at one fluence: spin_channel
    on the default sweep 0.70 -> 0.57 s on 2 threads. (Numba's dynamic scheduling,
    ``parallel_chunksize(1)``, was 1.6x slower.)
    """
    rank = np.arange(carriers.size)
    lane = np.where(
        (rank // n_threads) % 2 == 0, rank % n_threads, n_threads - 1 - rank % n_threads
    )
    by_cost = np.argsort(-carriers, kind="stable")
    return by_cost[np.argsort(lane, kind="stable")]


def _max_steps(n_runs: int, m: ModelArrays, spectra_only) -> np.ndarray:
    """Largest step of every run [s]: ``m.max_step_s``, or t_end / 10 for spectra only."""
    steps = np.full(n_runs, float(m.max_step_s))
    if spectra_only is not None:
        coarse = np.broadcast_to(np.asarray(spectra_only, dtype=bool), (n_runs,))
        steps[coarse] = max(float(m.max_step_s), 0.1 * float(m.t_end_s))
    return steps


def peak_modal_gain(n_up, n_down, m: ModelArrays) -> np.ndarray:
    """Largest modal gain of the guided channels for given spin densities. [1/cm]

    The gross modal gain (before the background loss ``alpha_per_cm``) the time integration
    uses, maximized over the cells, the wavelength grid and the guided channels:

    - ``gain_model = "cross_section"``: Gamma sigma(E) N_g with N_g the channel's gain
      density built from the orbit-orbit cooperative densities
      (`polase.physics.mechanisms.cooperative_density`, `channel_densities`), as
      `_stimulated_cross_section` does;
    - ``gain_model = "band_filling"``: Gamma sum_s w_cs g_s(E) with g_s the subsystem gains
      (`subsystem_gain`) and w the channel weights (`channel_weights`).

    Evaluated at the initial densities of a run this is the run's peak gain: after the pulse
    the densities only fall (recombination, stimulated emission; stimulated absorption in
    band filling refills only up to transparency, where the gain is zero).

    Parameters
    ----------
    n_up, n_down : array_like, shape (..., X)
        Spin-subsystem densities in every cell. [cm^-3]
    m
        Model arrays (`polase.experiment.build_model`).

    Returns
    -------
    ndarray, shape (...)
        Peak modal gain Gamma g. [1/cm]
    """
    nu = np.maximum(np.asarray(n_up, dtype=float), 0.0)
    nd = np.maximum(np.asarray(n_down, dtype=float), 0.0)
    if m.gain_model == "band_filling":
        gs = subsystem_gain(nu, nd, m)  # (2, ..., X, W)
        wts = channel_weights(m.n_channels, m.selectivity)
        g = np.einsum("cs,s...->c...", wts, gs)
    else:
        neu = cooperative_density(nu, m.kappa, m.n_c)
        ned = cooperative_density(nd, m.kappa, m.n_c)
        gdens, _ = channel_densities(neu, ned, nu, nd, m.selectivity, m.n_channels)
        g = gdens[..., None] * m.sigma_cm2  # (C, ..., X, W)
    return m.confinement * g.max(axis=(0, -2, -1))


def full_inversion_modal_gain(m: ModelArrays) -> float:
    """Gamma alpha0: the modal gain of a fully inverted band edge. [1/cm]

    Gain replaces absorption, g = alpha (f_e + f_h - 1) <= alpha, and alpha reaches its
    largest value alpha0 at and above the edge (``material.alpha0_per_cm``, the same value
    the Urbach absorption of either gain model uses), so no modal gain can exceed
    Gamma alpha0 (`polase.physics.bandfilling`).
    """
    return float(m.confinement * m.alpha0_per_cm)
