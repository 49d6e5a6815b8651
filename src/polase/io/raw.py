"""A measurement as the raw files a lab would have: instrument exports plus a manifest.

`write_raw` writes a (simulated) measurement Dataset as one OceanView text file per
spectrum, DAS6 TCSPC exports with their IRF, dark frames, the excitation spectrum as a
two-column CSV and ``manifest.csv``; `write_polarized_decays` writes one
polarization-resolved TCSPC set (analyzer-tagged decays and their own IRF) into a folder
of its own with its own manifest; `read_excitation_csv` and `decay_files` find the
pieces the manifest reader (`polase.io.read_measurement`) does not assemble.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..instruments.acquisition import DETECTOR_MAX_COUNTS, dark_frames
from .das6 import write_das6
from .detect import read_spectrum
from .manifest import write_manifest
from .oceanoptics import write_oceanoptics

Progress = Callable[[str, float], None]


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
                write_oceanoptics(folder / name, wl, counts, t_int, metadata=meta)
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
            write_oceanoptics(folder / name, wl, dark, t_int, metadata={"Scans to average": 1})
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
        em = exc.attrs.get("emission_wavelength_nm")
        path = folder / ("excitation.csv" if em is None else f"excitation_em{float(em):g}nm.csv")
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


def write_polarized_decays(
    folder: str | Path,
    channels: dict[str, Any],
    irf,
    channel_width_ns: float,
    *,
    fluence_mJ_cm2: float,
    polarization: str,
    detection_wavelength_nm: float,
    excitation_polarizer: str | None = None,
) -> Path:
    """Write one polarization-resolved TCSPC set as DAS6 exports plus ``manifest.csv``.

    The set has its own IRF (recorded with it), so it goes into a folder of its own: the
    measurement's manifest holds one IRF. The manifest rows carry the analyzer state
    (``emission_analyzer``) that `polase.analysis.polarization.polarization_channels`
    reads.

    Parameters
    ----------
    folder
        Output folder (created; the files must not exist yet).
    channels
        Analyzer state (``"sigma+"``, ``"sigma-"``, ``"V"``, ``"H"``) -> histogram (M,).
        [counts]
    irf : array_like, shape (M,)
        Instrument response recorded with the set. [counts]
    channel_width_ns
        TCSPC channel width. [ns]
    fluence_mJ_cm2
        Peak pump fluence of the set. [mJ/cm2]
    polarization
        Pump polarization label (``"circular"``, ``"linear"``, a plate angle).
    detection_wavelength_nm
        Detection wavelength. [nm]
    excitation_polarizer
        ``"V"`` or ``"H"`` for linear (anisotropy) sets; None for helicity sets.

    Returns
    -------
    Path
        The manifest file.
    """
    from .manifest import normalize_analyzer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = {"sigma+": "sigma_plus", "sigma-": "sigma_minus"}
    write_das6(folder / "irf.txt", np.rint(irf), channel_width_ns, metadata={"Item name": "IRF"})
    rows: list[dict[str, Any]] = [{"file": "irf.txt", "kind": "irf"}]
    for state, counts in channels.items():
        ana = normalize_analyzer(state)
        exc = normalize_analyzer(excitation_polarizer)
        tag = names.get(ana, f"{exc or ''}{ana}")
        name = f"{_fmt_f(fluence_mJ_cm2)}mJ_{polarization}_{detection_wavelength_nm:g}nm_{tag}.txt"
        write_das6(
            folder / name,
            np.rint(counts),
            channel_width_ns,
            metadata={"Item name": f"Decay {detection_wavelength_nm:g} nm, analyzer {ana}"},
        )
        rows.append(
            {
                "file": name,
                "fluence_mJ_cm2": float(fluence_mJ_cm2),
                "polarization": polarization,
                "kind": "decay",
                "detection_wavelength_nm": float(detection_wavelength_nm),
                "excitation_polarizer": exc,
                "emission_analyzer": ana,
            }
        )
    manifest = folder / "manifest.csv"
    write_manifest(manifest, rows)
    return manifest


def read_excitation_csv(folder: str | Path):
    """The excitation spectrum CSV written by `write_raw` in `folder`, as a DataArray.

    Parameters
    ----------
    folder
        Raw-data folder holding ``excitation_em<WAVELENGTH>nm.csv``.

    Returns
    -------
    xarray.DataArray or None
        Counts [counts] over ``excitation_wavelength`` [nm] with the emission wavelength
        [nm] as attribute; None if the folder has no such file.
    """
    import xarray as xr

    folder = Path(folder)

    files = sorted(folder.glob("excitation_em*nm.csv")) or sorted(folder.glob("excitation.csv"))
    if not files:
        return None
    path = files[0]
    rec = read_spectrum(path)
    em = (
        float(path.stem.removeprefix("excitation_em").removesuffix("nm"))
        if path.stem.startswith("excitation_em")
        else None
    )
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
        attrs={"units": "counts"}
        if em is None
        else {"units": "counts", "emission_wavelength_nm": em},
    )


def decay_files(
    manifest: str | Path, fluence: float, polarization: str = "linear"
) -> tuple[Path | None, dict[float, Path], float | None]:
    """IRF file and decay files at the manifest's fluence nearest `fluence`.

    Parameters
    ----------
    manifest
        A manifest written by `write_raw` (rows with ``kind`` irf / decay), read and checked
        by `polase.io.read_manifest`.
    fluence
        Wanted fluence. [mJ/cm2]
    polarization
        Polarization label of the decays.

    Returns
    -------
    irf : Path or None
        The IRF file.
    decays : dict
        Decay files keyed by detection wavelength [nm].
    fluence : float or None
        The manifest's fluence of those decays (None without decays). [mJ/cm2]
    """
    from .manifest import read_manifest

    rows = read_manifest(manifest)
    irf = next((r["file"] for r in rows if r["kind"] == "irf"), None)
    decays = [r for r in rows if r["kind"] == "decay" and r["polarization"] == polarization]
    if not decays:
        return irf, {}, None
    fl = np.array([float(r["fluence_mJ_cm2"]) for r in decays])
    best = float(fl[np.argmin(np.abs(fl - fluence))])
    out = {
        float(r["detection_wavelength_nm"]): r["file"]
        for r in decays
        if float(r["fluence_mJ_cm2"]) == best
    }
    return irf, out, best
