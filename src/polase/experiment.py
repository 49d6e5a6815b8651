"""The simulated experiment: configuration -> measurement Dataset (docs/data-model.md).

`forward` runs the physics only (noiseless emission at the detector, model grids) and is
what global fits call many times; `simulate` adds the pump sweep order and laser drift,
the spectrometer, the TCSPC and the excitation spectrum, and assembles the Dataset.
`spin_populations` and `simulate_helicity_pair` are the twin below threshold: the spin
populations and the helicity-resolved TCSPC pair they emit (docs/polarization.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from ._version import __version__
from .config import SimulationConfig, load_config, model_wavelengths
from .constants import HC_EV_NM
from .errors import ConfigError, PolaseError
from .optics.jones import pump_polarization
from .optics.pump import spot_profile
from .physics import ase as _ase
from .physics import ensemble as _ensemble
from .physics.gain import escape_fraction, gain_cross_section, lineshape_per_nm, urbach_absorption
from .physics.generation import initial_density, multiphoton_coefficient
from .physics.kinetics import initial_spin_densities, pulse_spin_survival, recombination_only
from .physics.mechanisms import parse_mechanism


def _as_config(config) -> SimulationConfig:
    return config if isinstance(config, SimulationConfig) else load_config(config)


def emission_center_ev(material: dict) -> float:
    """Centre of the intrinsic spontaneous lineshape. [eV]"""
    return material["pl_center_ev"]


def absorption_per_cm(wavelength_nm, material: dict):
    """Absorption coefficient of the material (Urbach model). [1/cm] (wavelength in [nm])."""
    return urbach_absorption(
        wavelength_nm,
        material["alpha0_per_cm"],
        material["edge_energy_ev"],
        material["urbach_energy_ev"],
    )


def ensemble_members(config) -> tuple[np.ndarray, np.ndarray]:
    """Band-gap offsets and weights of the rods simulated for the ensemble average.

    The sample is many solution-grown microrods whose band gaps scatter (size, strain and
    composition): a Gaussian distribution of standard deviation ``sample.bandgap_spread_ev``
    about the nominal edge. With ``numerics.ensemble = "convolution"`` (default) one nominal
    rod is simulated and its spectra are convolved in energy (`polase.physics.ensemble`): a
    single member. With "quadrature" each of ``numerics.ensemble_nodes`` Gauss-Hermite nodes
    (exact for polynomials of degree 2n - 1 in the offset) is a rod simulated on its own;
    only their light adds.

    Returns
    -------
    offset_ev : ndarray, shape (K,)
        Band-gap offset of each simulated rod (edge, emission and gain bands shift
        together). [eV]
    weight : ndarray, shape (K,)
        Quadrature weights, summing to 1. [1]
    """
    cfg = _as_config(config)
    spread = float(cfg["sample"]["bandgap_spread_ev"])
    k = int(cfg["numerics"]["ensemble_nodes"])
    if spread <= 0.0 or k == 1 or ensemble_method(cfg) == "convolution":
        return np.zeros(1), np.ones(1)
    x, w = np.polynomial.hermite_e.hermegauss(k)
    return spread * x, w / w.sum()


def ensemble_method(config) -> str:
    """``numerics.ensemble``: "convolution" or "quadrature" (see `ensemble_members`)."""
    method = str(_as_config(config)["numerics"]["ensemble"])
    if method not in ("convolution", "quadrature"):
        raise ConfigError(
            "numerics.ensemble", f"must be 'convolution' or 'quadrature', got {method!r}"
        )
    return method


def _convolution_detection(cfg, model) -> tuple[object, np.ndarray]:
    """Model recording the nominal rod at the ensemble's detection nodes, and the weights.

    Nodes outside the model grid (far wings, weight < 1e-3) are dropped and the remaining
    weights of that detection wavelength rescaled to keep their sum.
    """
    lam = model.wavelength_nm
    det = np.asarray(model.detection_nm, dtype=float)
    lam_k, w_k = _ensemble.detection_nodes(
        det, float(cfg["sample"]["bandgap_spread_ev"]), int(cfg["numerics"]["ensemble_nodes"])
    )
    inside = (lam_k >= lam[0]) & (lam_k <= lam[-1])
    w_in = np.where(inside, w_k, 0.0)
    w_in *= w_k.sum(axis=1, keepdims=True) / w_in.sum(axis=1, keepdims=True)
    # a dropped node records the detection wavelength itself, with zero weight
    nodes = np.where(inside, lam_k, det[:, None])
    return dataclasses.replace(model, detection_nm=nodes.ravel()), w_in


def _shifted(material: dict, offset_ev: float) -> dict:
    """Material parameters of a rod whose band gap is offset by `offset_ev`. [eV]"""
    if offset_ev == 0.0:
        return material
    out = dict(material)
    out["pl_center_ev"] = material["pl_center_ev"] + offset_ev
    out["edge_energy_ev"] = material["edge_energy_ev"] + offset_ev
    return out


def build_model(config, bandgap_offset_ev: float = 0.0) -> tuple[_ase.ModelArrays, np.ndarray]:
    """Model arrays of a configuration and the cell centres along the rod. [um]

    `bandgap_offset_ev` shifts the absorption edge and the emission and gain bands of the
    rod together (one member of the ensemble, see `ensemble_members`). [eV]
    """
    cfg = _as_config(config)
    mat, smp, num, mech = cfg["material"], cfg["sample"], cfg["numerics"], cfg["mechanism"]
    mat = _shifted(mat, bandgap_offset_ev)
    active = parse_mechanism(mech["name"])
    lam = model_wavelengths(cfg)
    lsh = lineshape_per_nm(lam, emission_center_ev(mat), mat["pl_fwhm_ev"], mat["pl_red_tail_ev"])
    # stimulated emission: Fuchtbauer-Ladenburg with the gain band, red of the spontaneous band
    lsh_gain = lineshape_per_nm(
        lam, emission_center_ev(mat) - mat["gain_shift_ev"], mat["gain_fwhm_ev"]
    )
    sigma = gain_cross_section(
        lam, lsh_gain, mat["k_rad"], mat["refractive_index"], mat["gain_scale"]
    )
    alpha_abs = absorption_per_cm(lam, mat)
    thickness_cm = smp["rod_thickness_um"] * 1e-4
    n_x = int(num["n_cells"])
    length_um = smp["rod_length_um"]
    x_um = (np.arange(n_x) - 0.5 * (n_x - 1)) * (length_um / n_x)  # exactly mirror-symmetric
    oo = mech["orbit_orbit"]
    band = mat["gain_model"] == "band_filling"
    # band filling: the band-edge absorption is part of the (signed) gain; the guided mode's
    # background loss is the scattering loss only
    background = smp["internal_loss_per_cm"] + (0.0 if band else alpha_abs)
    m = _ase.ModelArrays(
        wavelength_nm=lam,
        sigma_cm2=sigma,
        alpha_per_cm=np.broadcast_to(background, lam.shape).astype(float),
        lineshape_nm=lsh,
        escape=escape_fraction(alpha_abs, thickness_cm),
        dx_cm=length_um * 1e-4 / n_x,
        confinement=smp["confinement"],
        area_cm2=smp["rod_width_um"] * smp["rod_thickness_um"] * 1e-8,
        beta_sp=smp["beta_sp"],
        k_rad=mat["k_rad"],
        k_nr=mat["k_nr"],
        k2=mat["k2"],
        k3=mat["k3"],
        tau_s=mat["tau_s"],
        kappa=oo["kappa"] if "orbit_orbit" in active and not band else 0.0,
        n_c=max(oo["coherence_density_cm3"], 1.0),
        n_channels=2 if "spin_channel" in active else 1,
        selectivity=mech["spin_channel"]["selectivity"],
        collect_pl=smp["collection_pl"],
        collect_ase=smp["collection_ase"],
        detection_nm=np.asarray(cfg["sweep"]["detection_wavelength"], dtype=float),
        t_end_s=num["t_end_ns"] * 1e-9,
        dt_bin_s=num["time_bin_ns"] * 1e-9,
        rtol=num["rtol"],
        atol_rel=num["atol_rel"],
        max_step_s=num["max_step_ns"] * 1e-9,
        gain_model=mat["gain_model"],
        alpha0_per_cm=mat["alpha0_per_cm"],
        edge_ev=mat["edge_energy_ev"],
        urbach_ev=mat["urbach_energy_ev"],
        mass_e=mat["effective_mass_e"],
        mass_h=mat["effective_mass_h"],
        temperature_k=mat["carrier_temperature_k"],
        exciton_binding_ev=mat["exciton_binding_ev"],
        exchange_fraction=oo["exchange_fraction"] if band and "orbit_orbit" in active else 0.0,
        pband_density_cm3=mat["pband_density_cm3"] if band else 0.0,
        pband_binding_fraction=mat["pband_binding_fraction"],
        # the unpumped rod beyond the modelled length reabsorbs the guided light on its way
        # to the end facets (self-absorption: the out-coupled ASE is red of the gain peak)
        end_transmission=np.exp(
            -(alpha_abs + smp["internal_loss_per_cm"]) * smp["rod_end_distance_um"] * 1e-4
        )
        if band
        else None,
    )
    return m, x_um


def initial_densities(config, fluence, qwp_angle):
    """Initial spin densities in every cell for every (fluence, plate angle).

    Returns
    -------
    n_up, n_down : ndarray, shape (F, A, X)
        [cm^-3]
    docp : ndarray, shape (A,)
        [1]
    intensity : ndarray, shape (A,)
        Relative pump intensity after the plate. [1]
    """
    cfg = _as_config(config)
    f = np.atleast_1d(np.asarray(fluence, dtype=float))
    if f.ndim != 1 or np.any(~np.isfinite(f)) or np.any(f <= 0):
        raise ConfigError(
            "sweep.fluence", f"must be finite and > 0 [mJ/cm2], got {np.asarray(fluence).tolist()}"
        )
    pol, mat, pump = cfg["polarization"], cfg["material"], cfg["pump"]
    intensity, docp = pump_polarization(
        qwp_angle,
        pol["polarizer_angle_deg"],
        pol["retardance_deg"],
        pol["retardance_error_deg"],
        pol["diattenuation"],
    )
    _, x_um = build_model(cfg)
    prof = spot_profile(x_um, pump["spot_diameter_um"], pump["profile"])
    m_order = float(mat["multiphoton_order"])
    beta_si = mat["beta"] * (1e-9) ** (m_order - 1.0)  # cm/GW -> cm/W (m = 2), general m
    active = parse_mechanism(cfg["mechanism"]["name"])
    dich = cfg["mechanism"]["dichroism"]
    delta = dich["delta"] if "dichroism" in active else 0.0
    beta = multiphoton_coefficient(beta_si, docp, delta, dich["form"])  # (A,)
    local_f = f[:, None, None] * intensity[None, :, None] * prof[None, None, :]
    n0 = initial_density(
        local_f,
        beta[None, :, None],
        m_order,
        pump["pulse_fwhm_fs"],
        pump["wavelength_nm"],
        cfg["sample"]["rod_thickness_um"] * 1e-4,
        pump["depletion"],
    )
    # orientation lost to spin relaxation while the pulse creates the carriers; without a
    # spin mechanism the populations are taken as unpolarized (the tau_s -> 0 limit), so
    # that "none" and "dichroism" carry no spin physics
    spin = bool(active & {"orbit_orbit", "spin_channel"})
    eta = (
        spin
        * mat["orientation_efficiency"]
        * pulse_spin_survival(mat["tau_s"], pump["pulse_fwhm_fs"], m_order)
    )
    n_up, n_down = initial_spin_densities(n0, docp[None, :, None], eta)
    return n_up, n_down, docp, intensity


def gain_check(config, fluence=None, qwp_angle=None) -> dict:
    """Peak modal gain of every run against the full-inversion bound Gamma alpha0.

    Gain replaces absorption, so no physical gain model can exceed the modal gain of a fully
    inverted band edge, Gamma alpha0 (`polase.physics.ase.full_inversion_modal_gain`). The
    peak gain of a run is the gain of its initial spin densities (`initial_densities`,
    evaluated by `polase.physics.ase.peak_modal_gain` with the configuration's
    ``material.gain_model``). A ratio above 1 means the gain model is phenomenological
    there: it amplifies more than the carriers it holds could.

    Parameters
    ----------
    config
        Anything `load_config` accepts.
    fluence : array_like, shape (F,), optional
        Peak pump fluences [mJ/cm2]; default: ``sweep.fluence``.
    qwp_angle : array_like, shape (A,), optional
        Quarter-wave-plate angles [deg]; default: ``sweep.qwp_angle`` (linear and circular).

    Returns
    -------
    dict
        ``gain_model``; ``fluence`` (F,) [mJ/cm2]; ``polarization`` (A,) labels;
        ``peak_modal_gain_per_cm`` (F, A) [1/cm]; ``bound_per_cm`` Gamma alpha0 [1/cm];
        ``ratio`` (F, A) [1]; ``max_ratio`` [1] with ``max_fluence`` [mJ/cm2] and
        ``max_polarization`` where it is reached. Plain lists and floats (JSON-ready).
    """
    cfg = _as_config(config)
    f = np.asarray(cfg["sweep"]["fluence"] if fluence is None else fluence, dtype=float)
    f = np.atleast_1d(f)
    a = np.atleast_1d(
        np.asarray(cfg["sweep"]["qwp_angle"] if qwp_angle is None else qwp_angle, dtype=float)
    )
    model, _ = build_model(cfg)
    n_up, n_down, _, _ = initial_densities(cfg, f, a)
    peak = _ase.peak_modal_gain(n_up, n_down, model)  # (F, A)
    bound = _ase.full_inversion_modal_gain(model)
    if not bound > 0.0:
        raise ConfigError(
            "material.alpha0_per_cm", f"must be > 0 for the gain bound, got {model.alpha0_per_cm}"
        )
    ratio = peak / bound
    i, j = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    labels = polarization_labels(a)
    return {
        "gain_model": str(model.gain_model),
        "fluence": f.tolist(),
        "polarization": labels,
        "peak_modal_gain_per_cm": peak.tolist(),
        "bound_per_cm": bound,
        "ratio": ratio.tolist(),
        "max_ratio": float(ratio[i, j]),
        "max_fluence": float(f[i]),
        "max_polarization": labels[j],
    }


def spin_populations(config, fluence, qwp_angle, time_ns) -> dict:
    """Spin-resolved populations N_up(t), N_down(t) below the ASE threshold.

    Without stimulated emission the losses k1 + k2 N + k3 N^2 act on both spin channels in
    proportion to their share, so N(t) follows the recombination kinetics alone and the
    polarization relaxes as P(t) = P0 exp(-t / tau_s) exactly (physics/kinetics.py):
    N_up,down = N (1 +- P) / 2, cell by cell, summed over the model's (equal) cells.
    Above threshold stimulated emission also changes P; this function does not model it.

    Parameters
    ----------
    config
        Anything `load_config` accepts.
    fluence : array_like, shape (F,)
        Peak pump fluences. [mJ/cm2]
    qwp_angle : array_like, shape (A,)
        Pump quarter-wave-plate angles. [deg]
    time_ns : array_like, shape (T,)
        Times after the pump pulse, increasing from 0. [ns]

    Returns
    -------
    dict
        ``time`` (T,) [ns]; ``n_up``, ``n_down`` (F, A, T) summed over cells [cm^-3];
        ``docp`` (A,) pump DOCP [1]; ``k_rad`` [1/s]; ``tau_s_ns`` [ns].
    """
    cfg = _as_config(config)
    t = np.asarray(time_ns, dtype=float)
    if t.ndim != 1 or t.size < 2 or t[0] < 0 or np.any(np.diff(t) <= 0):
        raise ConfigError("time_ns", "must be increasing from >= 0 with at least 2 times [ns]")
    n_up0, n_down0, docp, _ = initial_densities(cfg, fluence, qwp_angle)
    mat = cfg["material"]
    n0 = n_up0 + n_down0
    with np.errstate(divide="ignore", invalid="ignore"):
        p0 = np.where(n0 > 0, (n_up0 - n_down0) / n0, 0.0)
    n_t = recombination_only(t * 1e-9, n0, mat["k_rad"] + mat["k_nr"], mat["k2"], mat["k3"])
    p_t = p0[None] * np.exp(-t / (mat["tau_s"] * 1e9))[:, None, None, None]
    up = np.moveaxis(0.5 * n_t * (1.0 + p_t), 0, -1).sum(axis=-2)
    down = np.moveaxis(0.5 * n_t * (1.0 - p_t), 0, -1).sum(axis=-2)
    return {
        "time": t,
        "n_up": up,
        "n_down": down,
        "docp": docp,
        "k_rad": float(mat["k_rad"]),
        "tau_s_ns": float(mat["tau_s"]) * 1e9,
    }


def simulate_helicity_pair(
    config=None,
    fluence: float = 8.0,
    *,
    qwp_angle: float = 45.0,
    eps: float = 1.0,
    retardance_error_deg: float = 0.0,
    tcspc: dict | None = None,
    seed: int = 12,
    noise: bool = True,
) -> dict:
    """Simulate a helicity-resolved TCSPC pair below the ASE threshold with the twin.

    The spin populations N_up(t), N_down(t) come from `spin_populations`
    (recombination kinetics and spin relaxation, no stimulated emission: valid below
    threshold); they emit I_+- = k_rad [(1 +- eps) N_up + (1 -+ eps) N_down] / 2, pass a
    circular analyzer and are recorded as a pair with one scale (`measure_helicity_decays`).

    Parameters
    ----------
    config
        Anything `polase.config.load_config` accepts (tau_s, kinetics, pump, TCSPC).
    fluence
        Peak pump fluence (keep it below the ASE threshold). [mJ/cm2]
    qwp_angle
        Pump quarter-wave-plate angle (45: circular). [deg]
    eps
        Helicity of one spin state's emission. [1]
    retardance_error_deg
        Retardance error of the detection plate. [deg]
    tcspc
        Overrides of the config's TCSPC settings (`TCSPCConfig` fields).
    seed
        Random seed of the counting noise.
    noise
        False: expected counts.

    Returns
    -------
    dict
        ``time`` (M,) [ns], ``sigma_plus``, ``sigma_minus``, ``irf`` (M,) [counts],
        ``truth``: {``tau_s_ns``, ``dcp0`` (eta x DOCP x eps x analyzer contrast),
        ``fluence``}.
    """
    from .instruments.analyzer import circular_analyzer_matrix
    from .instruments.tcspc import TCSPCConfig, measure_helicity_decays

    cfg = load_config(config)
    tc = dict(cfg["tcspc"])
    tc.update(tcspc or {})
    tc_cfg = TCSPCConfig(**tc)
    t_model = np.linspace(0.0, 1.2 * tc_cfg.window_ns, 4001)
    pops = spin_populations(cfg, [fluence], [qwp_angle], t_model)
    up, down = pops["n_up"][0, 0], pops["n_down"][0, 0]
    dec = measure_helicity_decays(
        t_model,
        up,
        down,
        tc_cfg,
        k_rad=pops["k_rad"],
        eps=eps,
        retardance_error_deg=retardance_error_deg,
        rng=np.random.default_rng(seed),
        noise=noise,
    )
    w = circular_analyzer_matrix(retardance_error_deg)
    p0 = float((up[0] - down[0]) / (up[0] + down[0]))
    return {
        "time": dec["time"],
        "sigma_plus": dec["counts"]["sigma_plus"],
        "sigma_minus": dec["counts"]["sigma_minus"],
        "irf": dec["irf"],
        "truth": {
            "tau_s_ns": pops["tau_s_ns"],
            "dcp0": p0 * eps * float(w[0, 0] - w[0, 1]),
            "fluence": float(fluence),
        },
    }


def forward(
    config,
    fluence,
    qwp_angle,
    solver: str | None = None,
    progress: Callable | None = None,
    decay_min_fluence: float | None = None,
) -> dict:
    """Noiseless emission at the detector for every (fluence, plate angle); no instruments.

    Parameters
    ----------
    config
        Anything `load_config` accepts.
    fluence : array_like, shape (F,)
        Peak pump fluences. [mJ/cm2]
    qwp_angle : array_like, shape (A,)
        Quarter-wave-plate angles. [deg]
    solver
        "fast" or "reference"; default from ``config["numerics"]["solver"]``.
    progress
        Optional callable(done, total) called after each chunk of fluences.
    decay_min_fluence
        Fluences below this want no decay shapes: their runs take longer steps
        (`polase.physics.ase.solve`'s ``spectra_only``), so their ``emission_t`` keeps
        its time integral but not its shape within a step. None: every run's decays
        are resolved. [mJ/cm2]

    Returns
    -------
    dict
        wavelength (W,) [nm]; emission (F, A, W) detected photons per pulse per nm;
        spontaneous, ase (F, A, W) its two parts [photons/nm]; time (T,) [ns];
        detection_wavelength (D,) [nm]; emission_t (F, A, D, T) detected emission rate at the
        detection wavelengths [photons/nm/ns]; docp (A,); intensity (A,); n0_peak (F, A)
        [cm^-3]; excitations, spontaneous_photons, ase_photons, n_steps (F, A).
    """
    cfg = _as_config(config)
    solver = solver or cfg["numerics"]["solver"]
    offsets, weights = ensemble_members(cfg)
    model, _ = build_model(cfg)
    spread = float(cfg["sample"]["bandgap_spread_ev"])
    convolve = spread > 0.0 and ensemble_method(cfg) == "convolution"
    nominal = model
    if convolve:
        model, det_weights = _convolution_detection(cfg, model)
    n_up, n_down, docp, intensity = initial_densities(cfg, fluence, qwp_angle)
    n_f, n_a, n_x = n_up.shape
    spectra_only = None
    if decay_min_fluence is not None:
        f_col = np.atleast_1d(np.asarray(fluence, dtype=float))[:, None]
        spectra_only = np.broadcast_to(f_col < float(decay_min_fluence), (n_f, n_a))
    # progress in about four chunks: every chunk is one parallel batch, and small batches
    # leave threads idle (chunks of 4 fluences made the default sweep ~1.5x slower)
    chunk = n_f if progress is None else max(1, -(-n_f // 4))
    parts = []
    for start in range(0, n_f, chunk):
        sl = slice(start, start + chunk)
        k = n_up[sl].shape[0]
        acc = None
        # the ensemble average: every member sees the same pump (the two-photon pump is far
        # above every member's gap), only the spectra shift with the member's band gap
        for off, wgt in zip(offsets, weights):
            m_k = model if off == 0.0 else build_model(cfg, float(off))[0]
            r = _ase.solve(
                n_up[sl].reshape(-1, n_x),
                n_down[sl].reshape(-1, n_x),
                m_k,
                solver,
                spectra_only=None if spectra_only is None else spectra_only[sl].ravel(),
            )
            if acc is None:
                acc = {key: (v if key == "time_ns" else wgt * v) for key, v in r.items()}
            else:
                for key, v in r.items():
                    if key != "time_ns":
                        acc[key] = acc[key] + wgt * v
        parts.append(acc)
        if progress is not None:
            progress(start + k, n_f)
    res = {key: np.concatenate([p[key] for p in parts]) for key in parts[0] if key != "time_ns"}
    if convolve:
        # the ensemble: spectra convolved in energy, traces summed over the shifted nodes
        kmat = _ensemble.broadening_matrix(model.wavelength_nm, spread)
        res["pl"] = res["pl"] @ kmat.T
        res["ase"] = res["ase"] @ kmat.T
        d = res["decay"]
        d = d.reshape(d.shape[0], *det_weights.shape, d.shape[-1])
        res["decay"] = np.einsum("rdkt,dk->rdt", d, det_weights)
        model = nominal
    bad = ~np.isfinite(res["ase"]).all(axis=1).reshape(n_f, n_a).all(axis=1)
    if np.any(bad):
        f_bad = np.atleast_1d(np.asarray(fluence, dtype=float))[bad]
        raise PolaseError(
            f"the simulated emission is not finite at fluence {f_bad.tolist()} mJ/cm2; check the "
            "material and mechanism parameters (e.g. a negative or non-finite rate)"
        )
    shape = (n_f, n_a)
    out = {
        "wavelength": model.wavelength_nm.copy(),
        "spontaneous": res["pl"].reshape(*shape, -1),
        "ase": res["ase"].reshape(*shape, -1),
        "time": parts[0]["time_ns"],
        "detection_wavelength": model.detection_nm.copy(),
        "emission_t": res["decay"].reshape(*shape, *res["decay"].shape[1:]),
        "docp": docp + 0.0,
        "intensity": intensity,
        "n0_peak": (n_up + n_down).max(axis=2),
    }
    out["emission"] = out["spontaneous"] + out["ase"]
    for key in ("excitations", "spontaneous_photons", "ase_photons", "n_steps"):
        out[key] = res[key].reshape(shape)
    return out


def polarization_labels(qwp_angle) -> list[str]:
    """ "linear" (0 deg), "circular" (45 deg), else "qwp_<angle>deg"."""
    out = []
    for a in np.atleast_1d(qwp_angle):
        a = float(a)
        if a == 0.0:
            out.append("linear")
        elif a == 45.0:
            out.append("circular")
        else:
            out.append(f"qwp_{a:g}deg")
    if len(set(out)) != len(out):
        raise ConfigError(
            "sweep.qwp_angle", f"angles must be distinct, got {list(np.atleast_1d(qwp_angle))}"
        )
    return out


def acquisition_order(n_f: int, n_a: int, n_r: int, switching: str = "alternating") -> np.ndarray:
    """Acquisition index of each (fluence, polarization, repeat) spectrum.

    "alternating": at each fluence, repeat r is taken for every polarization in turn
    (L, C, L, C, ...); "blocked": all repeats of one polarization, then the next.
    """
    f, a, r = np.meshgrid(np.arange(n_f), np.arange(n_a), np.arange(n_r), indexing="ij")
    if switching == "alternating":
        return (f * n_r + r) * n_a + a
    if switching == "blocked":
        return (f * n_a + a) * n_r + r
    raise ConfigError("sweep.switching", f"must be 'alternating' or 'blocked', got {switching!r}")


def _at_fluence(values, fluence, target, order: float):
    """Interpolate a (F, A, ...) positive array in log-log to fluences target (F, A, R)."""
    lf = np.log(fluence)
    lv = np.log(np.maximum(values, 1e-300))
    out = np.empty(target.shape + values.shape[2:])
    for i in range(target.shape[0]):
        for a in range(target.shape[1]):
            for r in range(target.shape[2]):
                lt = np.log(target[i, a, r])
                if fluence.size == 1:
                    out[i, a, r] = values[i, a] * (target[i, a, r] / fluence[0]) ** order
                    continue
                j = int(np.clip(np.searchsorted(lf, lt) - 1, 0, lf.size - 2))
                w = (lt - lf[j]) / (lf[j + 1] - lf[j])
                out[i, a, r] = np.exp((1 - w) * lv[j, a] + w * lv[j + 1, a])
    return out


def simulate(config=None, progress: Callable | None = None, **overrides):
    """Simulate the polarization-switched experiment as a measurement Dataset.

    Parameters
    ----------
    config
        None (defaults), a nested dict, a TOML path or a `SimulationConfig`.
    progress
        Optional callable(done, total) reporting the physics sweep.
    **overrides
        Shortcuts such as ``fluence=[...]`` [mJ/cm2], ``qwp_angle=[0, 45]`` [deg],
        ``mechanism="spin_channel"``, ``repeats=5``, ``seed=1``, ``noise=False``,
        ``solver="reference"``, ``switching="alternating"``, ``decays=True``, or dotted keys.

    Returns
    -------
    xarray.Dataset
        Schema of docs/data-model.md with ``source="simulation"``.
    """
    import xarray as xr

    from .instruments.excitation import excitation_spectrum
    from .instruments.spectrometer import measure_spectrum
    from .instruments.tcspc import measure_decay

    cfg = load_config(config, **overrides)
    sw = cfg["sweep"]
    fluence = np.asarray(sw["fluence"], dtype=float)
    angles = np.asarray(sw["qwp_angle"], dtype=float)
    labels = polarization_labels(angles)
    n_r = int(sw["repeats"])
    # decays are recorded at and above sweep.decay_min_fluence only: the other runs need
    # the spectra, which longer steps leave as accurate
    decay_min = float(sw["decay_min_fluence"]) if sw["decays"] else math.inf
    fwd = forward(cfg, fluence, angles, progress=progress, decay_min_fluence=decay_min)
    rng = np.random.default_rng(int(sw["seed"]))
    rep_rate = cfg["pump"]["repetition_rate_hz"]

    spec_cfg = cfg.spectrometer
    lam = fwd["wavelength"]
    rate = fwd["emission"] * rep_rate  # photons/nm/s
    noiseless = measure_spectrum(lam, rate, spec_cfg, noise=False)

    order = acquisition_order(fluence.size, angles.size, n_r, sw["switching"])
    hours = order * sw["seconds_per_acquisition"] / 3600.0
    actual = fluence[:, None, None] * (1.0 + sw["drift_per_hour"] * hours)
    rate_rep = _at_fluence(rate, fluence, actual, cfg["material"]["multiphoton_order"])
    meas = measure_spectrum(lam, rate_rep, spec_cfg, rng=rng, noise=sw["noise"])
    counts = np.where(meas["saturated"], np.nan, meas["counts"])

    coords = {
        "fluence": ("fluence", fluence, {"units": "mJ/cm**2", "long_name": "peak pump fluence"}),
        "polarization": ("polarization", labels),
        "qwp_angle": ("polarization", angles, {"units": "deg"}),
        "docp": ("polarization", fwd["docp"], {"units": "1"}),
        "repeat": ("repeat", np.arange(n_r)),
        "wavelength": ("wavelength", meas["wavelength"], {"units": "nm"}),
        "acquisition_index": (("fluence", "polarization", "repeat"), order),
    }
    data_vars = {
        "spectrum": (
            ("fluence", "polarization", "repeat", "wavelength"),
            counts,
            {"units": "counts"},
        ),
        "saturated": (("fluence", "polarization", "repeat", "wavelength"), meas["saturated"]),
        "spectrum_noiseless": (
            ("fluence", "polarization", "wavelength"),
            noiseless["expected"],
            {"units": "counts"},
        ),
        "integration_time": (
            ("fluence", "polarization", "repeat"),
            np.full(order.shape, spec_cfg.integration_time_s),
            {"units": "s"},
        ),
        "pump_fluence_actual": (
            ("fluence", "polarization", "repeat"),
            actual,
            {"units": "mJ/cm**2", "long_name": "fluence delivered including laser drift"},
        ),
    }
    attrs = {}
    if sw["decays"]:
        tc_cfg = cfg.tcspc
        sel = fluence >= sw["decay_min_fluence"]
        det = fwd["detection_wavelength"]
        decay = np.full((fluence.size, angles.size, det.size, tc_cfg.n_channels), np.nan)
        if np.any(sel):
            dec = measure_decay(
                fwd["time"], fwd["emission_t"][sel], tc_cfg, rng=rng, noise=sw["noise"]
            )
        else:
            dec = measure_decay(
                fwd["time"], fwd["emission_t"][:1], tc_cfg, rng=rng, noise=sw["noise"]
            )
        if np.any(sel):
            decay[sel] = dec["counts"]
        coords["detection_wavelength"] = ("detection_wavelength", det, {"units": "nm"})
        coords["time"] = ("time", dec["time"], {"units": "ns"})
        data_vars["decay"] = (
            ("fluence", "polarization", "detection_wavelength", "time"),
            decay,
            {"units": "counts"},
        )
        data_vars["irf"] = (("time",), dec["irf"], {"units": "counts"})
        attrs["tcspc_channel_width_ns"] = float(tc_cfg.channel_width_ns)
        attrs["tcspc_repetition_period_ns"] = float(tc_cfg.repetition_period_ns)

    exc_cfg = cfg.excitation.instrument
    exc_wl = cfg.excitation.wavelength
    mat = cfg["material"]
    model, _ = build_model(cfg)
    yield_ = float(
        mat["k_rad"]
        / (mat["k_rad"] + mat["k_nr"])
        * np.sum(model.lineshape_nm * model.escape)
        * model.dlam
    )
    ex = excitation_spectrum(
        exc_wl,
        lambda w: absorption_per_cm(w, mat),
        cfg["sample"]["rod_thickness_um"] * 1e-4,
        min(max(yield_, 0.0), 1.0),
        exc_cfg,
        rng=rng,
        noise=sw["noise"],
    )
    coords["excitation_wavelength"] = ("excitation_wavelength", exc_wl, {"units": "nm"})
    data_vars["excitation_spectrum"] = (
        ("excitation_wavelength",),
        ex["counts"],
        {"units": "counts", "emission_wavelength_nm": float(exc_cfg.emission_wavelength_nm)},
    )
    attrs.update(
        {
            "polase_version": __version__,
            "source": "simulation",
            "config": cfg.to_json(),
            "emission_center_nm": float(HC_EV_NM / emission_center_ev(mat)),
        }
    )
    return xr.Dataset(data_vars=data_vars, coords=coords, attrs=attrs)
