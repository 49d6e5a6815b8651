"""`polase reproduce`: Photonics 2022, 9, 353 end to end, the way a lab would produce it.

1. The digital twin simulates the experiment (noisy instrument, fluence sweep under
   linear and circular pumping in an alternating L, C, L, C sequence, decays at 533 and
   543 nm, excitation spectrum).
2. The simulated measurement is written as raw instrument files: one OceanView text
   file per spectrum plus ``manifest.csv``, DAS6 TCSPC exports plus an IRF file, and
   the excitation spectrum as a two-column CSV.
3. Those files are read back with `polase.io` and analysed by the functions behind
   ``polase analyze`` (`polase.analysis.analyze`) and ``polase decay``
   (`polase.analysis.fit_decay`), exactly as measured files would be.
4. The summary table, the figures and the HTML report are written into the output
   folder, which is assembled in a temporary folder beside it and moved into place at
   the end (an existing folder is only replaced with ``overwrite=True``).

With ``acquire=True`` (``polase reproduce --acquire``) steps 1-2 are instead the
paper's acquisition protocol run on the simulated bench (`polase.paper.photonics2022.acquisition`):
motors, attenuator, power meter and spectrometer driven by the twin, with the table's
noise (attenuator calibration error, pulse-energy jitter, power-meter noise), into the
run folder ``raw/`` that ``polase acquire`` writes. Steps 3-4 are the same; such a run
has no excitation spectrum and no ``simulated.nc`` (the twin's configuration is in
``raw/provenance.json``), and the report says what it leaves out.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..._files import staged_folder
from ...analysis.decay import fit_decay_files
from ...analysis.result import AnalysisResult
from ...errors import DataValidationError, OutputExistsError
from ...instruments.acquisition import exposure_for
from ...io.raw import decay_files, read_excitation_csv, write_raw
from . import TARGETS, summary_rows

#: Seed of the default run (the one whose summary rows must all pass).
DEFAULT_SEED: int = 353
#: Repeats per fluence and polarization in the default run.
DEFAULT_REPEATS: int = 5
#: Fluence of the decays shown in Fig. 2c and used for the decay ratio. [mJ/cm2]
DECAY_FLUENCE: float = 17.0
#: Detection wavelengths of the decays (ASE and PL). [nm]
DECAY_WAVELENGTHS: tuple[float, float] = (543.0, 533.0)
#: Exponential components fitted to each decay (as ``polase decay --components``).
DECAY_COMPONENTS: dict[float, int] = {543.0: 2, 533.0: 2}
#: Fluences whose spectra define the PL and ASE reference peaks. [mJ/cm2]
PL_REFERENCE_FLUENCE: float = 8.2
ASE_REFERENCE_FLUENCE: float = 17.0
#: Half width of the window around 543 nm whose intensity gives the L-L threshold. [nm]
ASE_BAND_HALF_WIDTH_NM: float = 1.0
#: Re-expose when the optimal integration time exceeds the configured one by this factor. [1]
EXPOSURE_SLACK: float = 1.5
#: Fluence of the helicity-resolved (sigma+ / sigma-) decay pair, below threshold. [mJ/cm2]
SPIN_FLUENCE: float = 8.0
#: Population exponentials of the joint sigma+ / sigma- fit.
SPIN_COMPONENTS: int = 2
#: Subfolder of ``raw/`` holding the helicity-resolved pair, its IRF and its manifest.
SPIN_FOLDER: str = "tcspc_helicity"

Progress = Callable[[str, float], None]


@dataclass
class PipelineResult:
    """Everything one pass of the pipeline produced.

    Attributes
    ----------
    simulated
        The digital twin's Dataset (ground truth and noisy spectra); None for an
        acquired run (the twin ran inside the simulated bench).
    measurement
        The Dataset assembled back from the raw files.
    results
        `polase.analysis.analyze` output for `measurement` (an `AnalysisResult`).
    decays
        Decay fits keyed by detection wavelength (``"543"``, ``"533"``), each the
        `fit_decay` output plus ``time_ns``, ``counts``, ``irf``, ``fit`` and
        ``tau_1e_ns`` for the report.
    rows
        Summary table rows.
    timings
        Seconds spent per stage.
    spin
        tau_s measured from the helicity-resolved pair (`measure_spin_relaxation`), or None.
    polarization
        The joint sigma+ / sigma- fit (`PolarizationFit`) behind `spin`, or None.
    provenance
        An acquired run's ``provenance.json`` (protocol, devices, the twin's configuration
        under ``simulation.config``); None for the direct simulation.
    gain
        The twin's peak modal gain against the full-inversion bound (`twin_gain_check`),
        or None.
    """

    simulated: Any
    measurement: Any
    results: AnalysisResult
    decays: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    spin: dict[str, Any] | None = None
    polarization: Any = None
    provenance: dict[str, Any] | None = None
    gain: dict[str, Any] | None = None


# ----------------------------------------------------------------------------- simulate


def simulate_experiment(
    seed: int = DEFAULT_SEED,
    repeats: int = DEFAULT_REPEATS,
    integration_time_s: float | None = None,
    progress: Progress | None = None,
    **overrides,
):
    """Simulate the paper's experiment with a noisy instrument.

    Parameters
    ----------
    seed
        Seed of the instrument noise.
    repeats
        Acquisitions per fluence and polarization, taken as L, C, L, C, ...
    integration_time_s
        Spectrometer integration time. [s] None: set as an experimenter would, so that
        the brightest spectrum of the sweep peaks at
        `polase.instruments.acquisition.EXPOSURE_TARGET` of full scale: the
        sweep is simulated with the config's time and, if that saturates or leaves the
        detector under-exposed by more than `EXPOSURE_SLACK`, simulated again with the
        adjusted time.
    progress
        Called as ``progress("simulate", fraction_done)`` during the physics sweep.
    **overrides
        Further `polase.simulate` overrides.

    Returns
    -------
    xarray.Dataset
        Simulated measurement (docs/data-model.md).
    """
    from ... import simulate

    if int(repeats) < 2:
        raise DataValidationError(f"repeats must be >= 2 to give 95 % intervals, got {repeats}")
    kw = {
        "seed": int(seed),
        "repeats": int(repeats),
        "noise": True,
        "switching": "alternating",
        **overrides,
    }
    if integration_time_s is not None:
        kw["spectrometer.integration_time_s"] = float(integration_time_s)
    sweep = (
        None
        if progress is None
        else (lambda done, total: progress("simulate", done / max(total, 1)))
    )
    ds = simulate(progress=sweep, **kw)
    if integration_time_s is None:
        t_new = exposure_for(ds)
        t_now = (
            float(np.ravel(ds["integration_time"].values)[0]) if "integration_time" in ds else None
        )
        saturated = "saturated" in ds and bool(ds["saturated"].any())
        if t_new is not None and t_now and (saturated or t_new > EXPOSURE_SLACK * t_now):
            kw["spectrometer.integration_time_s"] = t_new
            ds = simulate(progress=sweep, **kw)
    return ds


def spin_relaxation_ns(ds) -> float | None:
    """The spin relaxation time the simulation used (``material.tau_s`` in [s]). [ns]

    None if the Dataset carries no simulation config (a measurement).
    """
    try:
        tau_s = json.loads(ds.attrs["config"])["material"]["tau_s"]
        return float(tau_s) * 1e9
    except (KeyError, TypeError, ValueError):
        return None


def twin_gain_check(config: Mapping[str, Any] | str | None) -> dict[str, Any] | None:
    """Peak modal gain of the twin over its sweep against the full-inversion bound.

    `polase.experiment.gain_check` of the twin's configuration (the ``config`` attribute of
    a simulated Dataset, as JSON text or a mapping; for an acquired run
    `acquired_twin_config`), over its ``sweep.fluence`` and ``sweep.qwp_angle``.

    Returns
    -------
    dict or None
        The `gain_check` dict; None when there is no configuration (a measurement).
    """
    from ...experiment import gain_check

    if config is None:
        return None
    cfg = json.loads(config) if isinstance(config, str) else dict(config)
    return gain_check(cfg)


def measure_spin_relaxation(
    sim, raw_folder: str | Path, seed: int = DEFAULT_SEED, fluence: float = SPIN_FLUENCE
) -> tuple[dict[str, Any], Any]:
    """tau_s the way a lab would measure it: a sigma+ / sigma- TCSPC pair, files, joint fit.

    The twin (with the config of `sim`, so the same tau_s and kinetics) simulates a
    helicity-resolved pair below threshold (`polase.experiment.simulate_helicity_pair`:
    circular pump, circular analyzer in detection, one scale for both channels); the two
    channels and their IRF are written as DAS6 exports with a manifest tagged
    ``emission_analyzer`` sigma+ / sigma- (`polase.io.raw.write_polarized_decays`, into
    ``raw_folder/tcspc_helicity/``); they are read back and fitted jointly
    (`polase.analysis.polarization.fit_helicity_manifest`), as ``polase spin`` does.

    Parameters
    ----------
    sim : xarray.Dataset
        The simulated measurement (its ``config`` attribute is the twin's config).
    raw_folder
        The reproduction's ``raw/`` folder.
    seed
        Counting-noise seed of the pair.
    fluence
        Pump fluence of the pair. [mJ/cm2]

    Returns
    -------
    spin : dict
        ``tau_s_ns`` (None unless resolved), ``tau_s_ci95_ns``, ``resolved``, ``bound``,
        ``tau_s_mle_ns``, ``dcp0``, ``tau_ns``, ``reduced_chi2``, ``input_tau_s_ns`` (the
        twin's value), ``fluence_mJ_cm2``, ``seed``, ``manifest`` (relative to
        `raw_folder`'s parent). [ns]
    fit : PolarizationFit
        The joint fit (for the report's figures).
    """
    import json

    from ...analysis.polarization import fit_helicity_manifest
    from ...experiment import simulate_helicity_pair
    from ...io.raw import write_polarized_decays

    cfg = json.loads(sim.attrs["config"]) if "config" in sim.attrs else None
    pair = simulate_helicity_pair(cfg, fluence, seed=int(seed))
    width = float(np.mean(np.diff(pair["time"])))
    manifest = write_polarized_decays(
        Path(raw_folder) / SPIN_FOLDER,
        {"sigma+": pair["sigma_plus"], "sigma-": pair["sigma_minus"]},
        pair["irf"],
        width,
        fluence_mJ_cm2=fluence,
        polarization="circular",
        detection_wavelength_nm=DECAY_WAVELENGTHS[1],
    )
    fit = fit_helicity_manifest(manifest, n_components=SPIN_COMPONENTS)
    s = fit.summary
    spin = {
        key: s.get(key)
        for key in (
            "tau_s_ns",
            "tau_s_ci95_ns",
            "resolved",
            "bound",
            "tau_s_mle_ns",
            "dcp0",
            "tau_ns",
            "reduced_chi2",
        )
    }
    spin.update(
        {
            "input_tau_s_ns": pair["truth"]["tau_s_ns"],
            "fluence_mJ_cm2": float(fluence),
            "seed": int(seed),
            "manifest": f"{Path(raw_folder).name}/{SPIN_FOLDER}/manifest.csv",
        }
    )
    return spin, fit


def measure_twin_tau_s(
    config=None, fluence: float = 8.0, *, seed: int = 12, n_components: int = 2, **kwargs
) -> dict[str, Any]:
    """tau_s as an experiment would measure it from the twin: simulate, then fit in memory.

    `polase.experiment.simulate_helicity_pair` (below threshold) followed by
    `polase.analysis.polarization.fit_helicity_pair` with `n_components` population
    exponentials (2: the annihilation-shaped decay); `measure_spin_relaxation` is the same
    measurement through files. It composes the experiment and analysis layers, so it lives
    here, above both.

    Parameters
    ----------
    config
        Simulation config (anything `load_config` accepts).
    fluence
        Peak pump fluence, below the ASE threshold. [mJ/cm2]
    seed
        Counting-noise seed.
    n_components
        Population exponentials of the fit.
    **kwargs
        Passed to `polase.experiment.simulate_helicity_pair` (``eps``,
        ``retardance_error_deg``, ``tcspc``).

    Returns
    -------
    dict
        ``tau_s_ns`` (None unless resolved), ``tau_s_ci95_ns``, ``resolved``, ``bound``,
        ``tau_s_mle_ns``, ``dcp0``, ``reduced_chi2``, ``input_tau_s_ns`` (the config's value)
        [ns], ``fluence_mJ_cm2``, ``seed``.
    """
    from ...analysis.polarization import fit_helicity_pair
    from ...experiment import simulate_helicity_pair

    sim = simulate_helicity_pair(config, fluence, seed=seed, **kwargs)
    s = fit_helicity_pair(
        sim["time"], sim["sigma_plus"], sim["sigma_minus"], sim["irf"], n_components=n_components
    ).summary
    return {
        "tau_s_ns": s["tau_s_ns"],
        "tau_s_ci95_ns": s["tau_s_ci95_ns"],
        "resolved": s["resolved"],
        "bound": s["bound"],
        "tau_s_mle_ns": s["tau_s_mle_ns"],
        "dcp0": s["dcp0"],
        "reduced_chi2": s["reduced_chi2"],
        "input_tau_s_ns": sim["truth"]["tau_s_ns"],
        "fluence_mJ_cm2": float(fluence),
        "seed": int(seed),
    }


# ----------------------------------------------------------------------------- analyze


def analysis_config(n_bootstrap: int | None = None):
    """The analysis choices of the reproduction (reference fluences of the paper).

    Parameters
    ----------
    n_bootstrap
        Bootstrap samples for the intervals; None: the analysis default.
    """
    from ...analysis import AnalysisConfig

    extra = {} if n_bootstrap is None else {"n_bootstrap": int(n_bootstrap)}

    # As the paper defines them: Delta at 543 nm (ASE) and 533 nm (PL), and the L-L
    # threshold from the intensity at the ASE wavelength (543 +- 1 nm), not from a band
    # that reaches into the PL, whose depletion above threshold softens the kink.
    ase = DECAY_WAVELENGTHS[0]
    return AnalysisConfig(
        pl_reference_fluence=PL_REFERENCE_FLUENCE,
        ase_reference_fluence=ASE_REFERENCE_FLUENCE,
        pl_wavelength_nm=DECAY_WAVELENGTHS[1],
        ase_wavelength_nm=ase,
        ase_band_nm=(ase - ASE_BAND_HALF_WIDTH_NM, ase + ASE_BAND_HALF_WIDTH_NM),
        **extra,
    )


def analyze_raw(
    manifest: Path,
    progress: Progress | None = None,
    repetition_period_ns: float | None = None,
    n_bootstrap: int | None = None,
    fit_all_decays: bool = True,
):
    """Read the raw files back and analyse them (the ``polase analyze``/``decay`` path).

    Parameters
    ----------
    manifest
        The manifest written by `write_raw`.
    progress
        Called as ``progress(stage, fraction_done)``.
    repetition_period_ns
        Laser repetition period, known to the experimenter (not in the files). [ns]
    n_bootstrap
        Bootstrap samples of the analysis (None: its default).
    fit_all_decays
        Let the analysis fit every recorded decay (as ``polase analyze`` does, listed in
        ``results["decays"]``). The summary uses only the two decays fitted the
        ``polase decay`` way, so many-seed checks may skip the rest.

    Returns
    -------
    measurement : xarray.Dataset
    results : AnalysisResult
    decays : dict
    """
    from ...analysis import analyze, extract_features
    from ...io import read_measurement

    # as `polase analyze MANIFEST`: load (assemble + validate), features, analysis
    meas = read_measurement(manifest, tcspc_repetition_period_ns=repetition_period_ns)
    exc = read_excitation_csv(manifest.parent)
    if exc is not None and "excitation_spectrum" not in meas:
        meas = meas.assign(excitation_spectrum=exc)
    if progress is not None:
        progress("analyze spectra", 0.0)
    cfg = analysis_config(n_bootstrap)
    spectra = meas if fit_all_decays else meas.drop_vars(["decay", "irf"], errors="ignore")
    results = analyze(spectra, cfg, features=extract_features(spectra, cfg))
    if progress is not None:
        progress("fit decays", 0.0)
    irf, files, decay_fluence = decay_files(manifest, DECAY_FLUENCE)
    decays: dict[str, dict[str, Any]] = {}
    period = meas.attrs.get("tcspc_repetition_period_ns")
    for w in DECAY_WAVELENGTHS:
        path = files.get(w)
        if path is None or irf is None:
            continue
        fit = fit_decay_files(path, irf, DECAY_COMPONENTS[w], period_ns=period)
        fit["fluence_mJ_cm2"] = decay_fluence
        if period is not None:
            fit["repetition_period_ns"] = float(period)
        decays[f"{w:g}"] = fit
    return meas, results, decays


def run_pipeline(
    seed: int = DEFAULT_SEED,
    repeats: int = DEFAULT_REPEATS,
    workdir: str | Path | None = None,
    progress: Progress | None = None,
    integration_time_s: float | None = None,
    n_bootstrap: int | None = None,
    fit_all_decays: bool = True,
) -> PipelineResult:
    """Simulate, write raw files, read them back, analyse, and build the summary rows.

    Parameters
    ----------
    seed, repeats, integration_time_s
        See `simulate_experiment`.
    n_bootstrap
        Bootstrap samples of the analysis (None: its default). Point estimates, and so
        pass/fail, do not depend on it; only the intervals do.
    fit_all_decays
        See `analyze_raw`.
    workdir
        Folder for ``raw/``; a temporary folder (deleted afterwards) if None.
    progress
        Called as ``progress(stage, fraction_done)``.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if progress is not None:
        progress("simulate", 0.0)
    sim = simulate_experiment(seed, repeats, integration_time_s, progress=progress)
    timings["simulate"] = time.perf_counter() - t0
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="polase-reproduce-"))
        t = time.perf_counter()
        manifest = write_raw(sim, Path(workdir) / "raw", progress, dark_seed=seed + 1)
        timings["write_raw"] = time.perf_counter() - t
        t = time.perf_counter()
        period = sim.attrs.get("tcspc_repetition_period_ns")
        meas, results, decays = analyze_raw(manifest, progress, period, n_bootstrap, fit_all_decays)
        timings["analyze"] = time.perf_counter() - t
        if progress is not None:
            progress("fit sigma+/sigma- pair", 0.0)
        t = time.perf_counter()
        spin, pol_fit = measure_spin_relaxation(sim, manifest.parent, seed)
        timings["spin"] = time.perf_counter() - t
    gain = twin_gain_check(sim.attrs.get("config"))
    rows = summary_rows(
        results,
        decays,
        spin_relaxation_ns=spin_relaxation_ns(sim),
        spin_relaxation=spin,
        gain_check=gain,
    )
    return PipelineResult(sim, meas, results, decays, rows, timings, spin, pol_fit, gain=gain)


def acquired_twin_config(provenance: Mapping[str, Any]) -> dict[str, Any] | None:
    """The twin's configuration of an acquired run (``simulation.config`` of its provenance).

    None for a run on real devices (no ``simulation`` entry).
    """
    sim = provenance.get("simulation") or {}
    cfg = sim.get("config")
    return dict(cfg) if isinstance(cfg, Mapping) else None


def acquired_spin_relaxation_ns(provenance: Mapping[str, Any]) -> float | None:
    """The spin relaxation time of an acquired run's twin (``material.tau_s``). [ns]

    None for a run on real devices.
    """
    tau_s = ((acquired_twin_config(provenance) or {}).get("material") or {}).get("tau_s")
    return float(tau_s) * 1e9 if tau_s is not None else None


def acquired_repetition_period_ns(provenance: Mapping[str, Any]) -> float | None:
    """Laser repetition period of an acquired run, from its protocol. [ns]"""
    rate = (provenance.get("protocol") or {}).get("repetition_rate_hz")
    return 1e9 / float(rate) if rate else None


def run_acquired_pipeline(
    seed: int = DEFAULT_SEED,
    repeats: int = DEFAULT_REPEATS,
    workdir: str | Path | None = None,
    progress: Progress | None = None,
    n_bootstrap: int | None = None,
    fit_all_decays: bool = True,
    **bench_options,
) -> PipelineResult:
    """Acquire the paper's sweep on the simulated bench, analyse it, build the summary rows.

    Parameters
    ----------
    seed
        Seed of the protocol's orders and of all simulated noise.
    repeats
        Spectra per fluence and polarization (the protocol's sweep otherwise).
    workdir
        Folder that receives the run folder ``raw/`` (absent or empty there); a
        temporary folder (deleted afterwards) if None.
    progress
        Called as ``progress(stage, fraction_done)``; the acquisition reports as
        ``"acquire"`` (spectra and decays done / planned).
    n_bootstrap, fit_all_decays
        See `analyze_raw`.
    **bench_options
        Noise of the simulated table, passed to `polase.paper.photonics2022.acquisition.acquire_paper`
        (``calibration_error``, ``laser_rms``, ``power_meter_rms``; default: the bench's
        realistic values).

    Returns
    -------
    PipelineResult
        ``simulated`` is None and ``provenance`` holds the run's ``provenance.json``; the
        spin-relaxation row takes ``material.tau_s`` of the twin's configuration.
    """
    from .acquisition import acquire_paper

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if progress is not None:
        progress("acquire", 0.0)

    def on_step(ev) -> None:
        if progress is not None:
            progress("acquire", ev.done / max(ev.total, 1))

    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="polase-reproduce-"))
        manifest = acquire_paper(
            Path(workdir) / "raw", seed=seed, repeats=repeats, on_step=on_step, **bench_options
        )
        timings["acquire"] = time.perf_counter() - t0
        prov = json.loads((manifest.parent / "provenance.json").read_text(encoding="utf-8"))
        t = time.perf_counter()
        meas, results, decays = analyze_raw(
            manifest, progress, acquired_repetition_period_ns(prov), n_bootstrap, fit_all_decays
        )
        timings["analyze"] = time.perf_counter() - t
    gain = twin_gain_check(acquired_twin_config(prov))
    rows = summary_rows(
        results, decays, spin_relaxation_ns=acquired_spin_relaxation_ns(prov), gain_check=gain
    )
    return PipelineResult(None, meas, results, decays, rows, timings, provenance=prov, gain=gain)


# ----------------------------------------------------------------------------- output folder


def _decay_summary(decays: Mapping[str, Mapping[str, Any]], curves: bool) -> dict[str, Any]:
    """Decay fits for summary.json; with `curves`, the histograms and fit curves too."""
    out = {}
    for k, d in decays.items():
        e = {
            key: v
            for key, v in d.items()
            if key not in ("time_ns", "counts", "irf", "fit", "model", "residuals")
        }
        if curves:
            for key in ("time_ns", "counts", "irf", "fit"):
                if d.get(key) is not None:
                    e[key] = [float(f"{x:.6g}") for x in np.asarray(d[key], dtype=float)]
        out[k] = e
    return out


def reproduce(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    repeats: int = DEFAULT_REPEATS,
    overwrite: bool = False,
    progress: Progress | None = None,
    acquire: bool = False,
    bench_options: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Run the whole reproduction and write the results folder.

    Parameters
    ----------
    out_dir
        Results folder: ``report.html``, ``figures/*.png|svg``, ``summary.json``,
        ``results.json``, ``raw/`` and (not with `acquire`) ``simulated.nc``.
    seed
        Instrument-noise seed.
    repeats
        Acquisitions per fluence and polarization (L, C, L, C, ...).
    overwrite
        Replace an existing `out_dir`.
    progress
        Called as ``progress(stage, fraction_done)``.
    acquire
        Acquire through the simulated bench (`run_acquired_pipeline`): ``raw/`` is the
        ``polase acquire`` run folder (manifest with the measured fluences, provenance,
        log), there is no ``simulated.nc`` and no excitation spectrum.
    bench_options
        With `acquire`: the simulated table's noise (`run_acquired_pipeline`); None: the
        bench's realistic defaults.

    Returns
    -------
    dict
        The summary.json content (``rows``, ``results``, ``decays``, ``phasors`` (the
        decays' phasors, `polase.analysis.phasor.decay_phasors`, or None), ``source``
        (``"simulation"`` or ``"acquisition"``), ...).

    Raises
    ------
    OutputExistsError
        `out_dir` exists and not `overwrite` (checked before any work).
    """
    from ... import __version__
    from ..._files import write_netcdf_atomic
    from ...analysis.phasor import decay_phasors
    from ...report import build_report, dumps_json, write_figures
    from ...report.figures import FIGURES
    from ...report.polarization import fit_to_dict
    from ...report.summary import pass_fraction

    target = Path(out_dir)
    if target.exists() and not overwrite:
        raise OutputExistsError(target)
    t_start = time.perf_counter()
    with staged_folder(target, overwrite) as tmp:
        if acquire:
            res = run_acquired_pipeline(
                seed, repeats, workdir=tmp, progress=progress, **dict(bench_options or {})
            )
            assert res.provenance is not None
            # the analysis read DIR/raw/manifest.csv: recorded (relative to DIR) so that
            # `polase report DIR` reloads the spectra for the figures (there is no .nc)
            res.results.input = "raw/manifest.csv"
            sim = res.provenance.get("simulation") or {}
            twin_config = acquired_twin_config(res.provenance)
            config_text = None if twin_config is None else json.dumps(twin_config, indent=1)
            spin = acquired_spin_relaxation_ns(res.provenance)
            facts = [
                (
                    "source",
                    "polase digital twin → simulated bench (polase acquire, "
                    "examples/paper.toml) → raw files → polase analysis",
                ),
                (
                    "bench noise",
                    f"attenuator calibration error {100 * sim.get('calibration_error', 0):.2g} %, "
                    f"pulse-energy jitter {100 * sim.get('laser_rms', 0):.2g} % RMS, "
                    f"power meter {100 * sim.get('power_meter_rms', 0):.2g} % RMS",
                ),
                ("fluence axis", str(res.results.fluence_axis)),
                ("seed", str(seed)),
                ("repeats", f"{repeats} per fluence and polarization (L, C, L, C, …)"),
                ("polase", __version__),
            ]
        else:
            res = run_pipeline(seed, repeats, workdir=tmp, progress=progress)
            t = time.perf_counter()
            write_netcdf_atomic(res.simulated, tmp / "simulated.nc")
            res.timings["write_netcdf"] = time.perf_counter() - t
            config_text = res.simulated.attrs.get("config")
            spin = spin_relaxation_ns(res.simulated)
            facts = [
                ("source", "polase digital twin → raw files → polase analysis"),
                ("seed", str(seed)),
                ("repeats", f"{repeats} per fluence and polarization (L, C, L, C, …)"),
                ("polase", __version__),
            ]
        n_fig = 0

        def on_figure(name: str) -> None:
            nonlocal n_fig
            n_fig += 1
            if progress is not None:
                progress("figures", n_fig / len(FIGURES))

        t = time.perf_counter()
        # the report draws the decays' phasors; the analysis computes them (None, with the
        # reason in figures_omitted, when the decays lack histograms, IRF or period)
        try:
            phasors: dict[str, Any] | str = decay_phasors(res.decays)
        except (DataValidationError, ImportError) as exc:
            phasors = str(exc)
        report = build_report(
            res.results,
            ds=res.measurement,
            decays=res.decays,
            rows=res.rows,
            targets=TARGETS,
            facts=facts,
            details={"config": config_text, "raw": "raw/manifest.csv"},
            on_figure=on_figure,
            polarization=res.polarization,
            spin_relaxation=res.spin,
            phasors=phasors,
        )
        write_figures(report, tmp / "figures")
        (tmp / "report.html").write_text(report.html, encoding="utf-8")
        res.timings["report"] = time.perf_counter() - t
        summary = {
            "schema": "polase.summary/1",
            "source": "acquisition" if acquire else "simulation",
            "seed": int(seed),
            "repeats": int(repeats),
            "polase_version": __version__,
            "targets": TARGETS.name,
            "citation": TARGETS.citation,
            "pass_fraction": pass_fraction(res.rows),
            "rows": res.rows,
            "spin_relaxation_ns": spin,
            "spin_relaxation": res.spin,
            "gain_check": res.gain,
            "polarization": fit_to_dict(res.polarization) if res.polarization is not None else None,
            "phasors": phasors if isinstance(phasors, dict) else None,
            "facts": facts,
            "figures": [f.name for f in report.figures],
            "figures_omitted": [{"name": n, "reason": r} for n, _, r in report.omitted],
            "results": res.results.to_dict(),
            "decays": _decay_summary(res.decays, curves=True),
            "timings_s": res.timings,
        }
        res.timings["total"] = time.perf_counter() - t_start
        (tmp / "summary.json").write_text(dumps_json(summary), encoding="utf-8")
        (tmp / "results.json").write_text(dumps_json(res.results), encoding="utf-8")
    return summary
