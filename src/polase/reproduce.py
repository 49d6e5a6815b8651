"""`polase reproduce`: the paper end to end, the way a lab would produce it.

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
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataValidationError, OutputExistsError, PolaseError

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
#: Fraction of the detector's full well the brightest spectrum is exposed to. [1]
EXPOSURE_TARGET: float = 0.7
#: Re-expose when the optimal integration time exceeds the configured one by this factor. [1]
EXPOSURE_SLACK: float = 1.5
#: Detector maximum written into raw files for saturated pixels (16-bit). [counts]
DETECTOR_MAX_COUNTS: float = 65535.0

Progress = Callable[[str, float], None]


@dataclass
class PipelineResult:
    """Everything one pass of the pipeline produced.

    Attributes
    ----------
    simulated
        The digital twin's Dataset (ground truth and noisy spectra).
    measurement
        The Dataset assembled back from the raw files.
    results
        `polase.analysis.analyze` output for `measurement`.
    decays
        Decay fits keyed by detection wavelength (``"543"``, ``"533"``), each the
        `fit_decay` output plus ``time_ns``, ``counts``, ``irf``, ``fit`` and
        ``tau_1e_ns`` for the report.
    rows
        Summary table rows.
    timings
        Seconds spent per stage.
    """

    simulated: Any
    measurement: Any
    results: dict[str, Any]
    decays: dict[str, dict[str, Any]]
    rows: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)


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
        the brightest spectrum of the sweep peaks at `EXPOSURE_TARGET` of full scale: the
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
    from . import simulate

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


def exposure_for(ds, target: float | None = None) -> float | None:
    """Integration time that puts the brightest noiseless spectrum at `target` of full scale.

    Parameters
    ----------
    ds : xarray.Dataset
        Simulation with ``spectrum_noiseless`` [counts], ``integration_time`` [s] and the
        spectrometer section in its ``config`` attribute.
    target
        Fraction of the full well (default `EXPOSURE_TARGET`).

    Returns
    -------
    float or None
        Integration time [s], rounded down to 0.1 ms steps; None if it cannot be computed.
    """
    import json

    target = EXPOSURE_TARGET if target is None else target
    try:
        spec = json.loads(ds.attrs["config"])["spectrometer"]
        offset = float(spec.get("electronic_offset_counts", 0.0))
        full = float(spec.get("saturation_counts", DETECTOR_MAX_COUNTS)) - offset
        t_now = float(spec["integration_time_s"])
    except (KeyError, TypeError, ValueError):
        return None
    peak = float(ds["spectrum_noiseless"].max()) - offset
    if not (peak > 0 and full > 0):
        return None
    t = t_now * target * full / peak
    return max(1e-4, np.floor(t * 1e4) / 1e4)


def spin_relaxation_ns(ds) -> float | None:
    """The spin relaxation time the simulation used (``material.tau_s`` in [s]). [ns]

    None if the Dataset carries no simulation config (a measurement).
    """
    import json

    try:
        tau_s = json.loads(ds.attrs["config"])["material"]["tau_s"]
        return float(tau_s) * 1e9
    except (KeyError, TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------- raw files


def _fmt_f(f: float) -> str:
    return f"{f:05.2f}".replace(".", "p")


def write_raw(ds, folder: str | Path, progress: Progress | None = None, dark_seed: int = 0) -> Path:
    """Write a (simulated) measurement as raw instrument files plus ``manifest.csv``.

    Parameters
    ----------
    ds : xarray.Dataset
        Measurement with ``spectrum`` (and optionally ``decay``, ``irf``,
        ``excitation_spectrum``).
    folder
        Output folder (created; must not contain the files already).
    progress
        Called as ``progress(stage, fraction_done)``.
    dark_seed
        Seed of the dark frames' noise (written when the config describes the spectrometer).

    Returns
    -------
    Path
        The manifest file.
    """
    from .io import write_das6, write_manifest, write_oceanview

    folder = Path(folder)
    spec_dir = folder / "spectra"
    spec_dir.mkdir(parents=True, exist_ok=True)
    wl = ds["wavelength"].values.astype(float)
    spec = ds["spectrum"].transpose("fluence", "polarization", "repeat", "wavelength").values
    sat = None
    if "saturated" in ds:
        sat = (
            ds["saturated"]
            .transpose("fluence", "polarization", "repeat", "wavelength")
            .values.astype(bool)
        )
    it = ds["integration_time"] if "integration_time" in ds else None
    acq = (
        ds["acquisition_index"].transpose("fluence", "polarization", "repeat").values
        if "acquisition_index" in ds.coords
        else None
    )
    fl = ds["fluence"].values.astype(float)
    pols = [str(p) for p in ds["polarization"].values]
    n_rep = ds.sizes["repeat"]
    rows: list[dict[str, Any]] = []
    total = spec.shape[0] * spec.shape[1] * spec.shape[2]
    done = 0
    for i, f in enumerate(fl):
        for j, pol in enumerate(pols):
            for r in range(n_rep):
                counts = spec[i, j, r]
                if sat is not None:  # a real export holds the detector maximum, not NaN
                    counts = np.where(sat[i, j, r], DETECTOR_MAX_COUNTS, counts)
                t_int = (
                    float(it.values)
                    if it is not None and it.ndim == 0
                    else float(it.values[i, j, r])
                    if it is not None
                    else 1.0
                )
                name = f"spectra/{_fmt_f(f)}mJ_{pol}_{r:02d}.txt"
                meta = {
                    "Scans to average": 1,
                    "polase fluence (mJ/cm2)": float(f),
                    "polase polarization": pol,
                }
                write_oceanview(folder / name, wl, counts, t_int, metadata=meta)
                row = {"file": name, "fluence_mJ_cm2": float(f), "polarization": pol, "repeat": r}
                if acq is not None:
                    row["acquisition_index"] = int(acq[i, j, r])
                rows.append(row)
                done += 1
                if progress is not None and done % 10 == 0:
                    progress("write raw files", done / total)
    darks = dark_frames(ds, seed=dark_seed)
    if darks is not None and darks.shape[-1] == wl.size:
        for k, dark in enumerate(darks):
            name = f"spectra/dark_{k:02d}.txt"
            t_int = float(np.ravel(it.values)[0]) if it is not None else 1.0
            write_oceanview(folder / name, wl, dark, t_int, metadata={"Scans to average": 1})
            rows.append({"file": name, "kind": "dark"})
    if "decay" in ds and "irf" in ds:
        tc = folder / "tcspc"
        tc.mkdir(exist_ok=True)
        width = float(ds.attrs.get("tcspc_channel_width_ns", np.diff(ds["time"].values).mean()))
        write_das6(tc / "irf.txt", np.rint(ds["irf"].values), width, metadata={"Item name": "IRF"})
        rows.append({"file": "tcspc/irf.txt", "kind": "irf"})
        dec = ds["decay"].transpose("fluence", "polarization", "detection_wavelength", "time")
        det = ds["detection_wavelength"].values.astype(float)
        for i, f in enumerate(fl):
            for j, pol in enumerate(pols):
                for k, w in enumerate(det):
                    h = dec.values[i, j, k]
                    if not np.isfinite(h).all():
                        continue  # no decay recorded at this fluence
                    name = f"tcspc/{_fmt_f(f)}mJ_{pol}_{w:g}nm.txt"
                    write_das6(
                        folder / name, np.rint(h), width, metadata={"Item name": f"Decay {w:g} nm"}
                    )
                    rows.append(
                        {
                            "file": name,
                            "fluence_mJ_cm2": float(f),
                            "polarization": pol,
                            "kind": "decay",
                            "detection_wavelength_nm": float(w),
                        }
                    )
    if "excitation_spectrum" in ds:
        exc = ds["excitation_spectrum"]
        em = exc.attrs.get("emission_wavelength_nm", 533.0)
        path = folder / f"excitation_em{float(em):g}nm.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["wavelength_nm", "counts"])
            for x, y in zip(exc["excitation_wavelength"].values, exc.values):
                w.writerow([repr(float(x)), repr(float(y))])
    manifest = folder / "manifest.csv"
    write_manifest(manifest, rows)
    if progress is not None:
        progress("write raw files", 1.0)
    return manifest


def _read_excitation(folder: Path):
    """The excitation spectrum CSV written by `write_raw`, as a DataArray (or None)."""
    import xarray as xr

    from .io import read_spectrum

    files = sorted(folder.glob("excitation_em*nm.csv"))
    if not files:
        return None
    path = files[0]
    rec = read_spectrum(path)
    em = float(path.stem.removeprefix("excitation_em").removesuffix("nm"))
    return xr.DataArray(
        np.asarray(rec.counts, dtype=float),
        dims="excitation_wavelength",
        coords={
            "excitation_wavelength": (
                "excitation_wavelength",
                np.asarray(rec.wavelength_nm),
                {"units": "nm"},
            )
        },
        attrs={"units": "counts", "emission_wavelength_nm": em},
    )


def dark_frames(ds, n: int = 3, seed: int = 0) -> np.ndarray | None:
    """Dark spectra (shutter closed) from the simulation's spectrometer settings.

    Parameters
    ----------
    ds : xarray.Dataset
        Simulated Dataset whose ``config`` attribute holds the ``spectrometer`` section.
    n
        Number of dark frames.
    seed
        Seed of their noise.

    Returns
    -------
    ndarray or None
        Shape (n, pixels) [counts]; None if the config has no spectrometer section.
    """
    import json

    from .instruments.spectrometer import SpectrometerConfig, measure_spectrum

    try:
        kw = dict(json.loads(ds.attrs["config"])["spectrometer"])
    except (KeyError, TypeError, ValueError):
        return None
    kw["calibration"] = tuple(kw["calibration"])
    cfg = SpectrometerConfig(**kw)
    lam = np.array([100.0, 2000.0])  # no light anywhere: only offset, dark current and noise
    out = measure_spectrum(lam, np.zeros((n, 2)), cfg, rng=np.random.default_rng(seed), noise=True)
    return np.asarray(out["counts"], dtype=float)


# ----------------------------------------------------------------------------- analyze


def analysis_config(n_bootstrap: int | None = None):
    """The analysis choices of the reproduction (reference fluences of the paper).

    Parameters
    ----------
    n_bootstrap
        Bootstrap samples for the intervals; None: the analysis default.
    """
    from .analysis import AnalysisConfig

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


def decay_fit_curve(
    time_ns, irf, fit: Mapping[str, Any], period_ns: float | None = None
) -> np.ndarray | None:
    """Model counts per channel of a reconvolution fit, rebuilt from its parameters.

    Parameters
    ----------
    time_ns : array_like
        Channel times of the fitted histogram. [ns]
    irf : array_like
        The IRF the fit used. [counts]
    fit
        `polase.analysis.fit_decay` output (``tau_ns``, ``amplitudes``, ``irf_shift_ns``,
        ``background``, optional ``scatter``).
    period_ns
        Repetition period given to the fit. [ns]

    Returns
    -------
    ndarray or None
        Model counts [counts]; None for a tail fit (no IRF model) or missing parameters.
    """
    from .fitting import reconvolution_model

    if fit.get("irf_shift_ns") is None or not fit.get("tau_ns"):
        return None
    t = np.asarray(time_ns, dtype=float)
    period = float(period_ns) if period_ns is not None else None
    if period is not None and period < (t[1] - t[0]) * t.size:
        period = None  # as the fit does: a period shorter than the span cannot be modelled
    model = reconvolution_model(np.asarray(irf, dtype=float), t, len(fit["tau_ns"]), period)
    p = {
        "shift_ns": fit["irf_shift_ns"],
        "background": fit.get("background", 0.0),
        "scatter": fit.get("scatter", 0.0),
    }
    for i, (a, tau) in enumerate(zip(fit["amplitudes"], fit["tau_ns"]), start=1):
        p[f"a{i}"], p[f"tau{i}"] = a, tau
    return np.asarray(model(t, np.array([float(p[n]) for n in model.param_names])), dtype=float)


def fit_decay_files(
    decay_file: Path, irf_file: Path, n_components: int, period_ns: float | None = None
) -> dict[str, Any]:
    """Fit one decay file with its IRF file, as ``polase decay`` does, keeping the curves.

    Returns
    -------
    dict
        The `fit_decay` output plus ``time_ns``, ``counts``, ``irf`` and ``fit`` (model
        counts per channel) for plotting, and ``tau_1e_ns``.
    """
    from .analysis import fit_decay
    from .io import read_tcspc
    from .report.summary import one_over_e_time

    dec = read_tcspc(decay_file)
    irf = read_tcspc(irf_file)
    fit = dict(fit_decay(dec.time_ns, dec.counts, irf.counts, n_components, period_ns=period_ns))
    fit["time_ns"] = np.asarray(dec.time_ns)
    fit["counts"] = np.asarray(dec.counts)
    fit["irf"] = np.asarray(irf.counts)
    fit["fit"] = decay_fit_curve(dec.time_ns, irf.counts, fit, period_ns)
    fit["tau_1e_ns"] = one_over_e_time(fit)
    return fit


def _decay_files(
    manifest: Path, fluence: float, polarization: str = "linear"
) -> tuple[Path | None, dict[float, Path]]:
    """IRF file and decay files (by wavelength) at the manifest fluence nearest `fluence`."""
    with manifest.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    irf = next((manifest.parent / r["file"] for r in rows if r.get("kind") == "irf"), None)
    decays = [r for r in rows if r.get("kind") == "decay" and r.get("polarization") == polarization]
    if not decays:
        return irf, {}
    fl = np.array([float(r["fluence_mJ_cm2"]) for r in decays])
    best = fl[np.argmin(np.abs(fl - fluence))]
    out = {
        float(r["detection_wavelength_nm"]): manifest.parent / r["file"]
        for r in decays
        if float(r["fluence_mJ_cm2"]) == best
    }
    return irf, out


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
    results : dict
    decays : dict
    """
    from .analysis import analyze, extract_features, to_jsonable
    from .io import load_measurement

    # as `polase analyze MANIFEST`: load (assemble + validate), features, analysis
    meas = load_measurement(manifest, tcspc_repetition_period_ns=repetition_period_ns)
    exc = _read_excitation(manifest.parent)
    if exc is not None and "excitation_spectrum" not in meas:
        meas = meas.assign(excitation_spectrum=exc)
    if progress is not None:
        progress("analyze spectra", 0.0)
    cfg = analysis_config(n_bootstrap)
    spectra = meas if fit_all_decays else meas.drop_vars(["decay", "irf"], errors="ignore")
    results = to_jsonable(analyze(spectra, cfg, features=extract_features(spectra, cfg)))
    if progress is not None:
        progress("fit decays", 0.0)
    irf, files = _decay_files(manifest, DECAY_FLUENCE)
    decays: dict[str, dict[str, Any]] = {}
    period = meas.attrs.get("tcspc_repetition_period_ns")
    for w in DECAY_WAVELENGTHS:
        path = files.get(w)
        if path is None or irf is None:
            continue
        fit = fit_decay_files(path, irf, DECAY_COMPONENTS[w], period_ns=period)
        fit["fluence_mJ_cm2"] = float(path.name.split("mJ")[0].replace("p", "."))
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
    from .report.summary import summary_rows

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
    rows = summary_rows(results, decays, spin_relaxation_ns=spin_relaxation_ns(sim))
    return PipelineResult(sim, meas, results, decays, rows, timings)


# ----------------------------------------------------------------------------- output folder


@contextlib.contextmanager
def staged_folder(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside `target`; on success move it onto `target`.

    An existing `target` is refused unless `overwrite`; then it is renamed aside, the new
    folder renamed into place, and the old one deleted, so `target` is never half
    written. On any error the temporary folder is removed and `target` is untouched.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise OutputExistsError(target)
    if target.exists() and not target.is_dir():  # never replace a user's file by a folder
        raise PolaseError(f"{target} exists and is not a folder; remove it or choose another -o")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        _publish(tmp)
        if target.exists():
            if not overwrite:  # appeared meanwhile
                raise OutputExistsError(target)
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _publish(folder: Path) -> None:
    """Give the staged tree ordinary permissions (temp files are created 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o777 & ~umask)
        for f in files:
            os.chmod(os.path.join(root, f), 0o666 & ~umask)
    os.chmod(folder, 0o777 & ~umask)


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
) -> dict[str, Any]:
    """Run the whole reproduction and write the results folder.

    Parameters
    ----------
    out_dir
        Results folder: ``report.html``, ``figures/*.png|svg``, ``summary.json``,
        ``results.json``, ``raw/`` and ``simulated.nc``.
    seed
        Instrument-noise seed.
    repeats
        Acquisitions per fluence and polarization (L, C, L, C, ...).
    overwrite
        Replace an existing `out_dir`.
    progress
        Called as ``progress(stage, fraction_done)``.

    Returns
    -------
    dict
        The summary.json content (``rows``, ``results``, ``decays``, ...).

    Raises
    ------
    OutputExistsError
        `out_dir` exists and not `overwrite` (checked before any work).
    """
    from . import __version__
    from ._files import write_netcdf_atomic
    from .report import build_report, dumps_json, write_figures
    from .report.summary import pass_fraction

    target = Path(out_dir)
    if target.exists() and not overwrite:
        raise OutputExistsError(target)
    t_start = time.perf_counter()
    with staged_folder(target, overwrite) as tmp:
        res = run_pipeline(seed, repeats, workdir=tmp, progress=progress)
        t = time.perf_counter()
        write_netcdf_atomic(res.simulated, tmp / "simulated.nc")
        res.timings["write_netcdf"] = time.perf_counter() - t
        facts = [
            ("source", "polase digital twin → raw files → polase analysis"),
            ("seed", str(seed)),
            ("repeats", f"{repeats} per fluence and polarization (L, C, L, C, …)"),
            ("polase", __version__),
        ]
        spin = spin_relaxation_ns(res.simulated)
        n_fig = 0

        def on_figure(name: str) -> None:
            nonlocal n_fig
            n_fig += 1
            if progress is not None:
                progress("figures", n_fig / 6)

        t = time.perf_counter()
        report = build_report(
            res.results,
            ds=res.measurement,
            decays=res.decays,
            rows=res.rows,
            facts=facts,
            details={"config": res.simulated.attrs.get("config"), "raw": "raw/manifest.csv"},
            on_figure=on_figure,
        )
        write_figures(report, tmp / "figures")
        (tmp / "report.html").write_text(report.html, encoding="utf-8")
        res.timings["report"] = time.perf_counter() - t
        summary = {
            "schema": "polase.summary/1",
            "seed": int(seed),
            "repeats": int(repeats),
            "polase_version": __version__,
            "pass_fraction": pass_fraction(res.rows),
            "rows": res.rows,
            "spin_relaxation_ns": spin,
            "facts": facts,
            "figures": [f.name for f in report.figures],
            "figures_omitted": [{"name": n, "reason": r} for n, _, r in report.omitted],
            "results": res.results,
            "decays": _decay_summary(res.decays, curves=True),
            "timings_s": res.timings,
        }
        res.timings["total"] = time.perf_counter() - t_start
        (tmp / "summary.json").write_text(dumps_json(summary), encoding="utf-8")
        (tmp / "results.json").write_text(dumps_json(res.results), encoding="utf-8")
    return summary
