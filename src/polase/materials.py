"""Named material parameter sets.

Each parameter carries its unit, meaning and source. Parameters whose source is
"calibrated" take their value from the package data file written by
`polase.paper.photonics2022.calibration.calibrate` (src/polase/data/<name>_calibrated.toml); the value typed here
for them is only the starting point and the bounds of that calibration.
"""

from __future__ import annotations

import copy
import functools
import tomllib
from dataclasses import dataclass, replace
from importlib import resources


@dataclass(frozen=True)
class Parameter:
    """One physical parameter."""

    value: float
    unit: str
    meaning: str
    source: str
    #: literature range (min, max) in `unit`: the bounds of a calibration that fits it
    bounds: tuple[float, float] | None = None


_CSPBBR3: dict[str, Parameter] = {
    "multiphoton_order": Parameter(
        2.0,
        "1",
        "photons absorbed per exciton (m)",
        "1030 nm pump: 2 x 1.204 eV above the 2.36 eV gap",
    ),
    "beta": Parameter(
        1.0,
        "cm/GW (m=2); cm^(2m-3)/GW^(m-1) in general",
        "m-photon absorption coefficient for a linearly polarized pump",
        "reported CsPbBr3 two-photon coefficients span 0.1-10 cm/GW (films, nanocrystals and"
        " single crystals at 800-1064 nm)",
        (0.1, 10.0),
    ),
    "refractive_index": Parameter(
        2.2,
        "1",
        "refractive index near 540 nm",
        "n = 2.23 at 540 nm, Brennan et al. MRS Commun. 2024",
    ),
    "edge_energy_ev": Parameter(
        2.37,
        "eV",
        "absorption edge E_g of the Urbach model (where the tail reaches alpha0)",
        "Urbach fit to 4 pi k / lambda at 530-540 nm of the measured n,k (Brennan 2024): E_g = 2.369 eV",
    ),
    "urbach_energy_ev": Parameter(
        0.0145,
        "eV",
        "Urbach energy E_U of the absorption tail",
        "Urbach fit to the measured n,k (Brennan 2024): alpha(530 nm) / alpha(540 nm) = 20 gives 14.4 meV",
    ),
    "alpha0_per_cm": Parameter(
        6.0e4,
        "1/cm",
        "absorption coefficient at and above the edge",
        "4 pi k / lambda near 515-520 nm from the measured n,k (Brennan 2024, Ermolaev 2023): 6e4-1e5 /cm",
    ),
    "pl_center_ev": Parameter(
        2.36,
        "eV",
        "centre of the spontaneous (intrinsic, before reabsorption) emission band",
        "intrinsic emission at the 2.37 eV edge (free-exciton line minus the Stokes shift)",
        (2.32, 2.40),
    ),
    "pl_fwhm_ev": Parameter(
        0.115,
        "eV",
        "FWHM of the Gaussian spontaneous lineshape (in energy) of one rod",
        "room-temperature PL width of single CsPbBr3 rods and crystals 40-120 meV (homogeneous,"
        " before the rod-to-rod spread)",
        (0.04, 0.12),
    ),
    "pl_red_tail_ev": Parameter(
        0.0512,
        "eV",
        "decay energy of the low-energy exponential tail of the spontaneous band",
        "phonon and defect red tail, tens of meV; held at the version-1 calibrated value in the"
        " band-filling calibration",
        (0.0, 0.06),
    ),
    "gain_shift_ev": Parameter(
        0.07,
        "eV",
        "cross_section model only: red shift of the stimulated-emission (gain) band below the"
        " spontaneous band (phenomenological P-band-like transition)",
        "version-1 calibration; not used by band_filling (its P band follows from E_b)",
        (0.0, 0.12),
    ),
    "gain_fwhm_ev": Parameter(
        0.10,
        "eV",
        "cross_section model only: FWHM of the gain band (in energy)",
        "version-1 calibration; not used by band_filling",
        (0.025, 0.15),
    ),
    "effective_mass_e": Parameter(
        0.22,
        "m0",
        "electron effective mass (band filling)",
        "CsPbBr3: reduced mass 0.126 m0 from magneto-absorption (Yang et al., ACS Energy Lett."
        " 2017); m_e ~ m_h ~ 0.2-0.25 m0 (DFT and the measured reduced mass)",
        (0.20, 0.25),
    ),
    "effective_mass_h": Parameter(
        0.24,
        "m0",
        "hole effective mass (band filling)",
        "as effective_mass_e: m_e m_h / (m_e + m_h) = 0.115-0.126 m0",
        (0.20, 0.25),
    ),
    "carrier_temperature_k": Parameter(
        295.0,
        "K",
        "temperature of the carrier distributions during the ASE (quasi-Fermi levels)",
        "room temperature; hot carriers cool within ~1 ps in CsPbBr3",
    ),
    "exciton_binding_ev": Parameter(
        0.033,
        "eV",
        "exciton binding energy E_b (excitonic Rydberg of the band-gap renormalization)",
        "33 meV from magneto-absorption (Yang et al., ACS Energy Lett. 2017); reports 30-40 meV",
        (0.030, 0.040),
    ),
    "pband_density_cm3": Parameter(
        2.0e18,
        "cm^-3",
        "density scale N_P of the exciton-exciton scattering (P band) gain of the band-filling"
        " model: the pair factor z / (1 + z), z = N_s [(1 + x) N_s + (1 - x) N_s'] / N_P^2,"
        " reaches 1/2 at N_s ~ N_P / sqrt(2) (unpolarized); 0 switches the P band off",
        "5e17-1e19: the Mott density of CsPbBr3 excitons (n_M^(1/3) a_B ~ 0.25 with"
        " a_B = 3.2 nm gives 5e17; screening of E_b = 33 meV at RT ~ 1e18-1e19), above which"
        " excitons, and with them the P band, give way to the plasma (Klingshirn,"
        " Semiconductor Optics, ch. 20)",
        (5e17, 1e19),
    ),
    "pband_binding_fraction": Parameter(
        0.889,
        "1",
        "share b = 1 - 1/n^2 of E_b that the scattered exciton takes (P_n band at"
        " E_g - Delta - b E_b, minus the kinetic energy)",
        "0.75 (P_2) to 1 (P_inf, scattering into the continuum); default n = 3; P_2 dominates"
        " at low T, P_inf at room temperature (Klingshirn, Semiconductor Optics, ch. 20)",
        (0.75, 1.0),
    ),
    "k_rad": Parameter(
        1.0e8, "1/s", "radiative rate of excitons", "assumed: 10 ns radiative lifetime"
    ),
    "k_nr": Parameter(
        1.5e8,
        "1/s",
        "non-radiative monomolecular rate",
        "assumed: 4 ns low-density PL lifetime, 40 % quantum yield",
    ),
    "k2": Parameter(
        1.5e-10,
        "cm^3/s",
        "exciton-exciton annihilation coefficient",
        "second-order recombination and annihilation in CsPbBr3 ~1e-10 (1e-11-1e-9) cm^3/s",
        (1e-11, 1e-9),
    ),
    "k3": Parameter(
        1.0e-28,
        "cm^6/s",
        "three-body (Auger-like) coefficient",
        "typical lead-halide perovskite value",
    ),
    "tau_s": Parameter(
        8.0e-9,
        "s",
        "spin (orbital magnetic dipole) relaxation time",
        "ps at room temperature (Zhao et al., Nat. Commun. 2020) to ns at cryogenic temperature"
        " (Belykh et al., Nat. Commun. 2019); the paper reads ~8 ns (Photonics 2022, 9, 353)",
        (1e-13, 1e-8),
    ),
    "orientation_efficiency": Parameter(
        0.5,
        "1",
        "optical orientation efficiency eta: P0 = eta * DOCP",
        "optical orientation 0-1 (1: every circularly pumped exciton in the pumped spin state)",
        (0.05, 1.0),
    ),
    "gain_scale": Parameter(
        30.0,
        "1",
        "cross_section model only: gain cross-section over its Fuchtbauer-Ladenburg value",
        "version-1 calibration (73, far from the Fuchtbauer-Ladenburg value 1); not used by"
        " band_filling",
        (1.0, 150.0),
    ),
}

_SAMPLE: dict[str, Parameter] = {
    "rod_length_um": Parameter(
        100.0,
        "um",
        "modelled (pumped) length of the rod, centred on the spot",
        "spot diameter; rods are longer",
    ),
    "rod_end_distance_um": Parameter(
        20.0,
        "um",
        "unpumped rod between the modelled (pumped) length and each end facet, crossed by the"
        " guided light before it is scattered out (self-absorption)",
        "rods 10-200 um long, pump spot 100 um: 0-100 um",
        (0.0, 100.0),
    ),
    "rod_width_um": Parameter(2.0, "um", "rod width", "typical solution-grown microrod"),
    "rod_thickness_um": Parameter(
        0.5,
        "um",
        "rod thickness (path of the detected spontaneous light)",
        "typical solution-grown microrod",
    ),
    "confinement": Parameter(
        0.8, "1", "overlap Gamma of the guided mode with the rod", "micron-size rod, n = 2.2 in air"
    ),
    "beta_sp": Parameter(
        0.005,
        "1",
        "fraction of spontaneous emission coupled into the guided mode (both directions)",
        "end escape cones of a rod, 1 - sqrt(1 - 1/n^2) = 0.109 at n = 2.2 at most"
        " (polase.physics.geometry)",
        (1e-3, 0.109),
    ),
    "bandgap_spread_ev": Parameter(
        0.0,
        "eV",
        "standard deviation of the rod-to-rod band gap across the microrods in the pump spot"
        " (edge, emission and gain bands shift together; inhomogeneous broadening of the ensemble;"
        " single CsPbBr3 microrods and nanowires differ in PL peak by ~10-30 meV)",
        "single-rod PL peaks scatter by 10-30 meV",
        (0.0, 0.03),
    ),
    "internal_loss_per_cm": Parameter(
        20.0, "1/cm", "scattering loss alpha_i of the guided mode", "assumed"
    ),
    "collection_pl": Parameter(
        0.02,
        "1",
        "collection efficiency of the spontaneous emission leaving the top face",
        "assumed geometry",
    ),
    "collection_ase": Parameter(
        0.006,
        "1",
        "collection efficiency of light guided out of the rod ends (scattered into the objective)",
        "end-facet light scattered into an NA 0.4-0.9 objective: 1e-3-0.3",
        (1e-3, 0.3),
    ),
}

_MECHANISM: dict[str, Parameter] = {
    "orbit_orbit.kappa": Parameter(
        0.03,
        "1",
        "cross_section model only: orbit-orbit coupling strength kappa",
        "version-1 calibration (27.9, next to its bound); not used by band_filling",
        (1e-3, 30.0),
    ),
    "orbit_orbit.coherence_density_cm3": Parameter(
        5e17,
        "cm^-3",
        "cross_section model only: coherence density n_c per spin channel",
        "version-1 calibration; not used by band_filling",
        (1e16, 3e18),
    ),
    "orbit_orbit.exchange_fraction": Parameter(
        0.3,
        "1",
        "like-spin (exchange) share x of the band-gap renormalization (band-filling orbit-orbit"
        " coupling, in [0, 1])",
        "a share in [0, 1]: the exchange part of the renormalization of an electron-hole plasma"
        " is of the order of its correlation part",
        (0.0, 1.0),
    ),
    "spin_channel.selectivity": Parameter(
        1.0, "1", "spin selectivity s of the sigma+/sigma- gain", "assumed: fully selective"
    ),
    "dichroism.delta": Parameter(
        0.05,
        "1",
        "two-photon dichroism beta_circ / beta_lin - 1",
        "circular/linear two-photon absorption ratio 1-1.5 in lead-halide perovskites"
        " (Saouma et al., J. Phys. Chem. Lett. 2017)",
        (0.0, 0.5),
    ),
}

MATERIALS: dict[str, dict[str, Parameter]] = {"CsPbBr3": _CSPBBR3}
SAMPLES: dict[str, dict[str, Parameter]] = {"CsPbBr3": _SAMPLE}
MECHANISM_PARAMETERS: dict[str, dict[str, Parameter]] = {"CsPbBr3": _MECHANISM}


def literature_range(key: str, material: str = "CsPbBr3") -> tuple[float, float, str, str]:
    """(min, max, unit, source) of the parameter at dotted `key` ("material.beta", ...).

    Raises KeyError naming the key when the parameter is unknown or has no range.
    """
    section, _, name = key.partition(".")
    tables = {
        "material": MATERIALS[material],
        "sample": SAMPLES[material],
        "mechanism": MECHANISM_PARAMETERS[material],
    }
    p = tables.get(section, {}).get(name)
    if p is None or p.bounds is None:
        raise KeyError(f"{key}: no literature range for {material}")
    return (float(p.bounds[0]), float(p.bounds[1]), p.unit, p.source)


def calibrated_file(material: str = "CsPbBr3"):
    """Path-like of the package data file holding the calibrated values of `material`."""
    return resources.files("polase") / "data" / f"{material}_calibrated.toml"


@functools.lru_cache(maxsize=8)
def _parse_toml(text: str) -> dict:
    # every load_config parses the calibrated set (~2 ms, 4 % of a fit's forward run);
    # keyed on the text, so a rewritten file is parsed again
    return tomllib.loads(text)


def _read_calibrated(material: str) -> dict:
    f = calibrated_file(material)
    if not f.is_file():
        return {}
    return copy.deepcopy(_parse_toml(f.read_text(encoding="utf-8")))


def load_calibrated(material: str = "CsPbBr3") -> dict:
    """Calibrated values {"material": {...}, "sample": {...}, "mechanism": {...}}; {} if none."""
    data = _read_calibrated(material)
    return {k: data.get(k, {}) for k in ("material", "sample", "mechanism")}


def calibrated_provenance(material: str = "CsPbBr3") -> dict:
    """The ``[provenance]`` table of the calibrated set of `material` ({} if none).

    Written by the calibration: its method, date, the targets it was fitted to, the model's
    values of them and ``conflicts``, the targets the set does not meet.
    """
    return dict(_read_calibrated(material).get("provenance", {}))


def calibrated_model(material: str = "CsPbBr3") -> dict[str, str]:
    """The gain model and mechanism the calibrated set of `material` was fitted with.

    ``{"gain_model": ..., "mechanism": ...}`` from ``material.gain_model`` and
    ``mechanism.name`` of the data file; "cross_section" and "orbit_orbit" (the version-1
    set) where it has none.
    """
    cal = load_calibrated(material)
    return {
        "gain_model": str(cal.get("material", {}).get("gain_model", "cross_section")),
        "mechanism": str(cal.get("mechanism", {}).get("name", "orbit_orbit")),
    }


def parameter_table(material: str = "CsPbBr3") -> dict[str, dict[str, Parameter]]:
    """All parameters of `material` with calibrated values filled in from the data file."""
    cal = load_calibrated(material)
    out = {}
    for section, table in (
        ("material", MATERIALS[material]),
        ("sample", SAMPLES[material]),
        ("mechanism", MECHANISM_PARAMETERS[material]),
    ):
        vals = cal.get(section, {})
        flat = _flatten(vals)
        out[section] = {
            k: replace(p, value=float(flat[k])) if k in flat else p for k, p in table.items()
        }
    return out


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
