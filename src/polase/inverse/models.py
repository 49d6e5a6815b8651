"""Forward models for the inverse problem: the digital twin and an analytic toy.

A forward model maps parameter values and a design (fluences, plate angles) to predicted
band intensities, shape (band, fluence, angle), up to one unknown detection scale per band
(the fit profiles those scales out). Each model knows, for every mechanism name, which
parameters are free, their starting values and bounds (`parameters(mechanism)`).

Mechanism names are those of `polase.physics.mechanisms`: "orbit_orbit", "spin_channel",
"dichroism", "+"-joined combinations, and "none".
"""

from __future__ import annotations

import abc
import copy
import math
import time
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from ..constants import HC_EV_NM
from ..errors import ConfigError
from ..instruments.spectrometer import pixel_signal, pixel_wavelengths
from ..materials import literature_range
from ..physics.mechanisms import MECHANISMS, parse_mechanism
from .observables import DEFAULT_BANDS, Observations, band_intensity, observations_from_samples
from .parameters import Parameter, Parameters

#: Candidates compared by default: "none", each mechanism, and each pair.
DEFAULT_CANDIDATES: tuple[str, ...] = (
    "none",
    "orbit_orbit",
    "spin_channel",
    "dichroism",
    "orbit_orbit+dichroism",
    "spin_channel+dichroism",
    "orbit_orbit+spin_channel",
)


def mechanism_set(name: str) -> frozenset[str]:
    """Set of active mechanisms of a name like "orbit_orbit+dichroism" (or "none")."""
    return parse_mechanism(name)


def canonical_name(name: str) -> str:
    """Mechanism name with its parts in the order of `MECHANISMS` ("none" if empty)."""
    s = mechanism_set(name)
    return "+".join(m for m in MECHANISMS if m in s) or "none"


class ForwardModel(abc.ABC):
    """Base class: counts forward evaluations and their wall time.

    Subclasses set `bands` and implement `_predict` and `parameters`.
    """

    bands: tuple[str, ...] = ("pl", "ase")

    def __init__(self):
        self.n_calls = 0
        self.n_runs = 0
        self.seconds = 0.0

    @abc.abstractmethod
    def parameters(self, mechanism: str) -> Parameters:
        """The fit parameters (values, bounds, vary) of `mechanism`."""

    def extra_starts(self, mechanism: str) -> list[dict]:
        """Further starting points (values by name) for multimodal fits; none by default."""
        return []

    @abc.abstractmethod
    def _predict(self, mechanism: str, values: dict, fluence, qwp_angle, docp) -> np.ndarray:
        """Band intensities (band, fluence, angle) for parameter `values`."""

    def predict(self, mechanism: str, values: dict, fluence, qwp_angle, docp=None) -> np.ndarray:
        """Predicted band intensities, shape (band, fluence, angle), up to a scale per band.

        Parameters
        ----------
        mechanism
            Mechanism name.
        values
            Parameter values by name (all parameters of `parameters(mechanism)`).
        fluence : array_like, shape (F,)
            [mJ/cm2]
        qwp_angle : array_like, shape (A,)
            [deg]
        docp : array_like, shape (A,), optional
            Degree of circular polarization [1]; default sin(2 angle) (ideal plate). The
            twin computes its own from the configured plate.
        """
        f = np.atleast_1d(np.asarray(fluence, dtype=float))
        a = np.atleast_1d(np.asarray(qwp_angle, dtype=float))
        d = (
            np.sin(np.deg2rad(2 * a))
            if docp is None
            else np.atleast_1d(np.asarray(docp, dtype=float))
        )
        t0 = time.perf_counter()
        out = self._predict(canonical_name(mechanism), values, f, a, d)
        self.seconds += time.perf_counter() - t0
        self.n_calls += 1
        self.n_runs += f.size * a.size
        return out


class ToyModel(ForwardModel):
    """Analytic stand-in for the twin with the mechanisms' qualitative signatures.

    Density n = x (1 + delta DOCP^2) / (1 + x / n_sat) with x = (F / 10 mJ/cm2)^2 (two-photon
    generation, sub-linear at high density); spin channels n_up,down = n (1 +- eta DOCP) / 2.
    Gain density per spin channel N_s + kappa max(N_s - n_c, 0)^2 / n_c (orbit-orbit); with
    spin-channel separation two guided channels draw on 2 N_up and 2 N_down separately.
    ASE band: mean over channels of softplus(g (G - n_th)) / g plus 0.3 n of spontaneous
    light; PL band: n. Signatures: orbit-orbit makes Delta_ASE grow with fluence above n_c,
    spin-channel makes it fall above threshold (the exponential saturates), dichroism gives
    Delta_PL > 0 and only it changes the PL.
    """

    bands = ("pl", "ase")
    TRUTH: ClassVar[dict[str, float]] = {
        "gain": 3.0,
        "n_th": 2.0,
        "n_sat": 8.0,
        "kappa": 0.5,
        "n_c": 0.6,
        "eta": 0.5,
        "delta": 0.05,
    }

    def parameters(self, mechanism: str) -> Parameters:
        s = mechanism_set(mechanism)
        t = self.TRUTH
        p = [
            Parameter("gain", 2.0, 0.2, 20.0),
            Parameter("n_th", 1.8, 0.5, 5.0),
            Parameter("n_sat", t["n_sat"], 1.0, 100.0, vary=False),
            Parameter(
                "kappa", 0.3 if "orbit_orbit" in s else 0.0, 0.0, 5.0, vary="orbit_orbit" in s
            ),
            Parameter("n_c", 0.5, 0.05, 3.0, vary="orbit_orbit" in s),
            Parameter("eta", t["eta"], 0.0, 1.0, vary="spin_channel" in s),
            Parameter("delta", 0.03 if "dichroism" in s else 0.0, 0.0, 0.5, vary="dichroism" in s),
        ]
        return Parameters(p)

    def _predict(self, mechanism, values, fluence, qwp_angle, docp):
        s = mechanism_set(mechanism)
        v = values
        dc = docp[None, :]
        x = (fluence[:, None] / 10.0) ** 2
        delta = v["delta"] if "dichroism" in s else 0.0
        n = x * (1.0 + delta * dc**2) / (1.0 + x / v["n_sat"])
        pol = v["eta"] * dc
        nu, nd = 0.5 * n * (1 + pol), 0.5 * n * (1 - pol)
        if "orbit_orbit" in s:
            nu = nu + v["kappa"] * np.maximum(nu - v["n_c"], 0.0) ** 2 / v["n_c"]
            nd = nd + v["kappa"] * np.maximum(nd - v["n_c"], 0.0) ** 2 / v["n_c"]
        g = v["gain"]
        channels = [2 * nu, 2 * nd] if "spin_channel" in s else [nu + nd]
        ase = np.mean([np.logaddexp(0.0, g * (c - v["n_th"])) / g for c in channels], axis=0)
        return np.stack([n, ase + 0.3 * n])

    def simulate(
        self,
        mechanism: str,
        fluence,
        qwp_angle,
        repeats: int = 5,
        seed: int = 0,
        rel_noise: float = 0.01,
        abs_noise: float = 0.002,
        values: dict | None = None,
        scale=(1.0e4, 3.0e3),
    ) -> Observations:
        """Noisy synthetic band intensities from this model (for tests and demos).

        Per acquisition: Gaussian noise of standard deviation
        sqrt((abs_noise * scale)^2 + (rel_noise * I)^2) (read plus multiplicative noise).
        """
        rng = np.random.default_rng(seed)
        vals = dict(self.TRUTH)
        if values:
            vals.update(values)
        mu = self.predict(mechanism, vals, fluence, qwp_angle) * np.asarray(scale)[:, None, None]
        sd = np.sqrt((abs_noise * np.asarray(scale)[:, None, None]) ** 2 + (rel_noise * mu) ** 2)
        samples = mu[..., None] + sd[..., None] * rng.standard_normal((*mu.shape, repeats))
        a = np.asarray(qwp_angle, dtype=float)
        return observations_from_samples(fluence, a, np.sin(np.deg2rad(2 * a)), samples, self.bands)


# --- the digital twin ---------------------------------------------------------------------

#: Parameters fitted for every mechanism (threshold and sub-linearity), per gain model
#: (``material.gain_model``). gain model -> name -> (min, max)
TWIN_COMMON: dict[str, dict[str, tuple[float, float]]] = {
    "cross_section": {
        "material.gain_scale": (0.3, 150.0),
        "material.k2": (1e-11, 3e-9),
    },
    # the inversion-limited model has no gain scale: the threshold moves with the
    # two-photon coefficient (literature ranges of polase.materials)
    "band_filling": {key: literature_range(key)[:2] for key in ("material.beta", "material.k2")},
}
#: Parameters fitted when a mechanism is active. gain model -> mechanism -> name -> (min, max)
TWIN_MECHANISM: dict[str, dict[str, dict[str, tuple[float, float]]]] = {
    "cross_section": {
        "orbit_orbit": {
            "mechanism.orbit_orbit.kappa": (0.0, 60.0),
            "mechanism.orbit_orbit.coherence_density_cm3": (1e16, 3e18),
        },
        "spin_channel": {"material.orientation_efficiency": (0.0, 1.0)},
        "dichroism": {"mechanism.dichroism.delta": (0.0, 0.5)},
    },
    "band_filling": {
        # the like-spin share sets the strength; the spin memory (tau_s, fitted in log10
        # over 1 ps to 10 ns) sets how much of the pumped orientation survives to the ASE.
        # Below ~0.2 ps the explicit solver's steps follow the spin flips and a forward run
        # costs 20-100x more; a fit that wants less spin memory than 1 ps ends at that bound
        # (reported in at_bound), and "none"/"dichroism" are the candidates without any.
        "orbit_orbit": {
            "mechanism.orbit_orbit.exchange_fraction": (0.0, 1.0),
            "material.tau_s": (1e-12, 1e-8),
        },
        "spin_channel": {
            "material.orientation_efficiency": (0.0, 1.0),
            "material.tau_s": (1e-12, 1e-8),
        },
        "dichroism": {"mechanism.dichroism.delta": (0.0, 0.5)},
    },
}
#: The strength of each mechanism: reported as 0 when the mechanism is not active.
_STRENGTH = (
    "mechanism.orbit_orbit.kappa",
    "mechanism.orbit_orbit.exchange_fraction",
    "mechanism.dichroism.delta",
)
_UNITS = {
    "material.gain_scale": "1",
    "material.beta": "cm/GW",
    "material.k2": "cm^3/s",
    "material.tau_s": "s",
    "mechanism.orbit_orbit.kappa": "1",
    "mechanism.orbit_orbit.coherence_density_cm3": "cm^-3",
    "mechanism.orbit_orbit.exchange_fraction": "1",
    "material.orientation_efficiency": "1",
    "mechanism.dichroism.delta": "1",
}


#: Parameters that act only through the pump's circular component or the spin polarization.
#: A run whose two spin subsystems start equal (a linearly polarized pump) stays unpolarized,
#: and its emission does not depend on them, bitwise (tests/inverse/test_models.py): the
#: twin reuses such runs across fits that differ only in these (the Jacobian columns).
UNPOLARIZED_INVARIANT = frozenset(
    {
        "material.tau_s",
        "material.orientation_efficiency",
        "mechanism.dichroism.delta",
        "mechanism.orbit_orbit.exchange_fraction",
    }
)


def _get_dotted(cfg: dict, key: str):
    node = cfg
    for part in key.split("."):
        node = node[part]
    return node


def _set_dotted(cfg: dict, key: str, value) -> None:
    parts = key.split(".")
    node = cfg
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


class TwinModel(ForwardModel):
    """The digital twin (`polase.experiment.forward`) reduced to band intensities.

    Parameters
    ----------
    config
        Base configuration (anything `polase.config.load_config` accepts): material,
        sample, pump and plate of the measured experiment. Fitted parameters override it.
    windows : dict, optional
        Band name -> (low, high) window [nm]; default `DEFAULT_BANDS`.
    fast : bool
        Coarser numerics for fitting: the model wavelength grid only around the bands
        (1 nm steps), fewer rod cells, looser tolerance. Band intensities change by well under
        the measurement noise (see docs/inverse.md) and each call is several times faster.
    start : dict, optional
        Starting values of fitted parameters by name (default: the base configuration's
        values); parameters a mechanism does not fit keep the configuration's values.
    """

    def __init__(
        self, config=None, windows: dict | None = None, fast: bool = True, start: dict | None = None
    ):
        super().__init__()
        from ..config import load_config

        self.windows = dict(windows or DEFAULT_BANDS)
        self.bands = tuple(self.windows)
        loaded = load_config(config)
        # band intensities are taken from the spectra the configured spectrometer records
        # (slit, pixels, response), as `reduce_measurement` takes them from a measurement
        self.spectrometer = loaded.spectrometer
        base = loaded.to_dict()
        if fast:
            spread = float(base["sample"].get("bandgap_spread_ev", 0.0))
            base["numerics"].update(fit_numerics(self.windows, base["numerics"], spread))
            centres = [0.5 * (w[0] + w[1]) for w in self.windows.values()]
            base["sweep"]["detection_wavelength"] = centres
        self.base = base
        self.start = dict(start or {})
        # band intensities of unpolarized runs, keyed by everything else they depend on
        self._unpolarized: dict = {}
        self.n_reused = 0

    def parameters(self, mechanism: str) -> Parameters:
        s = mechanism_set(mechanism)
        model = str(self.base["material"].get("gain_model", "band_filling"))
        common, per_mechanism = TWIN_COMMON[model], TWIN_MECHANISM[model]
        out = []
        table = dict(common)
        for m in MECHANISMS:
            for k, b in per_mechanism[m].items():
                table.setdefault(k, b)
        active = set(common)
        for m in s:
            active |= set(per_mechanism[m])
        for k, (lo, hi) in table.items():
            # start values apply to fitted parameters only; fixed ones keep the configuration's
            v = float(
                self.start.get(k, _get_dotted(self.base, k))
                if k in active
                else _get_dotted(self.base, k)
            )
            if k not in active and k in _STRENGTH:
                v = 0.0  # an inactive mechanism's strength is irrelevant; report it as 0
            out.append(
                Parameter(
                    k, float(np.clip(v, lo, hi)), lo, hi, vary=k in active, unit=_UNITS.get(k, "1")
                )
            )
        return Parameters(out)

    def extra_starts(self, mechanism: str) -> list[dict]:
        """Orbit-orbit of the cross-section model: also start at 3x the coherence density.

        kappa and n_c trade off along a curved valley with a second, shallower minimum at low
        n_c; a start above the first one reaches the other side.
        """
        if "orbit_orbit" not in mechanism_set(mechanism):
            return []
        if self.base["material"].get("gain_model", "band_filling") != "cross_section":
            return []  # the band-filling orbit-orbit share has no such second minimum
        p = self.parameters(mechanism)["mechanism.orbit_orbit.coherence_density_cm3"]
        return [{p.name: float(min(3.0 * p.value, p.max))}]

    def config_for(self, mechanism: str, values: dict) -> dict:
        """The full configuration dict of `mechanism` with parameter `values` applied."""
        cfg = copy.deepcopy(self.base)
        cfg["mechanism"]["name"] = canonical_name(mechanism)
        for k, v in values.items():
            _set_dotted(cfg, k, float(v))
        return cfg

    def _predict(self, mechanism, values, fluence, qwp_angle, docp):
        from ..experiment import initial_densities

        cfg = self.config_for(mechanism, values)
        n_up, n_down, _, _ = initial_densities(cfg, fluence, qwp_angle)
        # plate angles whose runs start (and so stay) unpolarized at every fluence: they do
        # not depend on the UNPOLARIZED_INVARIANT parameters, so a finite-difference step
        # in one of those reuses them
        unpol = np.all(n_up == n_down, axis=(0, 2))
        key = None
        if unpol.any():
            # everything else the runs depend on: the configuration without those parameters
            rest = copy.deepcopy(cfg)
            for k in UNPOLARIZED_INVARIANT:
                _set_dotted(rest, k, None)
            start = n_up[:, unpol]
            key = (repr(rest), start.shape, start.tobytes())
        cached = self._unpolarized.get(key) if key is not None else None
        if cached is None:
            out = self._bands(cfg, fluence, qwp_angle)
            if key is not None:
                if len(self._unpolarized) >= 16:
                    self._unpolarized.pop(next(iter(self._unpolarized)))  # the oldest
                self._unpolarized[key] = out[:, :, unpol].copy()
            return out
        self.n_reused += int(unpol.sum()) * fluence.size
        out = np.empty((len(self.bands), fluence.size, qwp_angle.size))
        out[:, :, unpol] = cached
        if not unpol.all():
            out[:, :, ~unpol] = self._bands(cfg, fluence, qwp_angle[~unpol])
        return out

    def _bands(self, cfg: dict, fluence, qwp_angle) -> np.ndarray:
        """Band intensities (band, fluence, angle) of one forward run of `cfg`."""
        from ..experiment import forward

        # band intensities need the spectra only: no decay shapes, longer steps
        out = forward(cfg, fluence, qwp_angle, decay_min_fluence=math.inf)
        px = pixel_signal(out["wavelength"], out["emission"], self.spectrometer)
        lam = pixel_wavelengths(self.spectrometer)
        return np.stack([band_intensity(lam, px, self.windows[b]) for b in self.bands])


def fit_numerics(windows: dict, numerics: dict | None = None, spread_ev: float = 0.0) -> dict:
    """Numerics of the twin used for fitting (`TwinModel(fast=True)`): a ``numerics`` section.

    Model wavelengths from 10 nm below the bluest band to 12 nm above the reddest, each
    widened by 1.5 standard deviations of the rod ensemble's band-gap spread `spread_ev`
    [eV] (light from there is convolved into the bands; 3 instead changes band intensities
    by < 3e-5), in 1 nm steps, one ensemble node for the decays (band intensities need
    none), the configured rod cells, relative tolerance at least 3e-3, integration to 30 ns
    (7 low-density lifetimes) with steps up to 1 ns. On the default sweep, for every default
    candidate mechanism, the band intensities stay within 0.04 % (PL) and 0.08 % (ASE) of
    the configured numerics after a scale per band (0.04 % and 0.12 % at a tolerance of
    1e-3: the wavelength grid dominates, and 3e-3 takes 1.3-1.5x fewer steps). Simulate
    synthetic data with these numerics to test the inference in isolation from the
    discretization.
    """
    num = dict(numerics or {})
    lo = min(w[0] for w in windows.values())
    hi = max(w[1] for w in windows.values())
    lo -= 10.0 + 1.5 * spread_ev * lo**2 / HC_EV_NM
    hi += 12.0 + 1.5 * spread_ev * hi**2 / HC_EV_NM
    return {
        "wavelength_nm": [],
        "wavelength_min_nm": float(np.floor(lo)),
        "wavelength_max_nm": float(np.ceil(hi)),
        "wavelength_step_nm": 1.0,
        "ensemble_nodes": 1,
        # the rod cells stay: with 12 instead of 24 the ASE at 20 mJ/cm2 is off by ~20 %
        "n_cells": int(num.get("n_cells", 24)),
        "rtol": max(float(num.get("rtol", 1e-3)), 3e-3),
        "t_end_ns": min(float(num.get("t_end_ns", 30.0)), 30.0),
        "max_step_ns": max(float(num.get("max_step_ns", 1.0)), 1.0),
    }


def twin_numerics(config=None, windows: dict | None = None) -> dict:
    """The numerics `TwinModel(config, windows)` fits with, as dotted overrides.

    ``{"numerics.<key>": value}`` for `polase.simulate`: synthetic data simulated with these
    test the inference in isolation from the discretization. They follow from the
    configuration (the rod ensemble's band-gap spread widens the wavelength grid), so data
    simulated with `fit_numerics` of another spread miss light the twin convolves into the
    bands (a 1 % fluence trend of the default set's bands, against 0.1-0.2 % noise).
    """
    model = TwinModel(config, windows=windows)
    return {f"numerics.{k}": v for k, v in model.base["numerics"].items()}


def design_grid(fluence: Sequence[float], qwp_angle: Sequence[float]):
    """Arrays (fluence (F,), qwp_angle (A,)) as float, checked. [mJ/cm2], [deg]"""
    f = np.asarray(fluence, dtype=float)
    a = np.asarray(qwp_angle, dtype=float)
    if f.ndim != 1 or f.size == 0 or np.any(f <= 0):
        raise ConfigError(
            "fluence", f"must be a non-empty list of positive fluences [mJ/cm2], got {f}"
        )
    if a.ndim != 1 or a.size == 0:
        raise ConfigError("qwp_angle", f"must be a non-empty list of angles [deg], got {a}")
    return f, a
