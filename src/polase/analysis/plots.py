"""Diagnostic figures of an analysis (matplotlib, Agg backend, PNG)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from .._files import atomic_path

#: Files written by `diagnostic_plots`.
PLOT_NAMES = ("spectra.png", "threshold.png", "fwhm.png", "delta.png")


def _save(fig, path: Path, overwrite: bool) -> Path:
    with atomic_path(path, overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return path


def _finish(fig, path: Path, overwrite: bool) -> Path:
    """Lay the figure out, save it as `path` (`_save`) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    _save(fig, path, overwrite)
    plt.close(fig)
    return path


def diagnostic_plots(
    ds: xr.Dataset, features: xr.Dataset, results: dict, folder: str | Path, overwrite: bool = False
) -> list[Path]:
    """Write spectra.png, threshold.png, fwhm.png and delta.png into `folder`.

    Parameters
    ----------
    ds : xarray.Dataset
        The measurement analyzed.
    features : xarray.Dataset
        Its per-spectrum features (`extract_features`).
    results : dict
        Its results (`analyze`).
    folder : str or Path
        Output folder (created if needed).
    overwrite : bool
        Replace existing PNGs of the same names.

    Returns
    -------
    list of Path
        Files written.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for n in PLOT_NAMES:  # refuse before drawing anything
        if (out / n).exists() and not overwrite:
            from ..errors import OutputExistsError

            raise OutputExistsError(out / n)
    ref_pol = features.attrs["reference_polarization"]
    f = np.asarray(features["fluence"].values, float)
    wl = np.asarray(ds["wavelength"].values, float)
    written = []

    fig, ax = plt.subplots(figsize=(6, 4))
    spec = ds["spectrum"].sel(polarization=ref_pol).mean("repeat") - features["baseline"].sel(
        polarization=ref_pol
    ).mean("repeat")
    lo, hi = json.loads(features.attrs["analysis_region_nm"])
    sel = (wl >= lo) & (wl <= hi)
    cmap = plt.get_cmap("viridis")
    for k in range(f.size):
        ax.plot(
            wl[sel],
            spec.values[k, sel],
            color=cmap(k / max(f.size - 1, 1)),
            lw=1,
            label=f"{f[k]:g}",
        )
    for key, color in (("pl_band_nm", "C0"), ("ase_band_nm", "C3")):
        a, b = results["windows"][key]
        ax.axvspan(a, b, color=color, alpha=0.1)
    ax.set_xlabel("wavelength [nm]")
    ax.set_ylabel(f"mean spectrum ({ref_pol}) [{ds['spectrum'].attrs.get('units', '')}]")
    ax.legend(title="mJ/cm2", fontsize=6, ncol=2)
    written.append(_finish(fig, out / "spectra.png", overwrite))

    fig, ax = plt.subplots(figsize=(5, 4))
    i_ase = features["intensity_ase"].sel(polarization=ref_pol)
    i_pl = features["intensity_pl"].sel(polarization=ref_pol)
    ax.loglog(f, i_ase.mean("repeat"), "o", color="C3", label="ASE band")
    ax.loglog(f, i_pl.mean("repeat"), "s", color="C0", label="PL band")
    thr = results["threshold_mJ_cm2"]
    if thr.get("value"):
        ax.axvline(thr["value"], color="k", ls="--", lw=1, label=f"threshold {thr['value']:.2f}")
        if thr.get("ci95"):
            ax.axvspan(*thr["ci95"], color="k", alpha=0.1)
    ax.set_xlabel("fluence [mJ/cm2]")
    ax.set_ylabel(f"band intensity [{i_ase.attrs.get('units', '')}]")
    ax.legend(fontsize=7)
    written.append(_finish(fig, out / "threshold.png", overwrite))

    fig, ax = plt.subplots(figsize=(5, 4))
    w = features["fwhm_nm"].sel(polarization=ref_pol)
    ax.errorbar(f, w.mean("repeat"), yerr=w.std("repeat"), fmt="o", label="half maximum")
    if "fwhm_fit_nm" in features:
        ax.plot(
            f,
            features["fwhm_fit_nm"].sel(polarization=ref_pol).mean("repeat"),
            "x",
            label="Gaussian fit",
        )
    wt = results["threshold_fwhm_mJ_cm2"]
    if wt.get("value"):
        ax.axvline(wt["value"], color="k", ls="--", lw=1, label=f"narrowing {wt['value']:.2f}")
    ax.set_xlabel("fluence [mJ/cm2]")
    ax.set_ylabel("FWHM [nm]")
    ax.legend(fontsize=7)
    written.append(_finish(fig, out / "fwhm.png", overwrite))

    fig, ax = plt.subplots(figsize=(5, 4))
    for key, color, label in (("delta_ase", "C3", "Delta ASE"), ("delta_pl", "C0", "Delta PL")):
        v = np.array([np.nan if e[key] is None else e[key] for e in results["per_fluence"]], float)
        ci = np.array(
            [
                [np.nan, np.nan] if e[f"{key}_ci95"] is None else e[f"{key}_ci95"]
                for e in results["per_fluence"]
            ]
        )
        ax.errorbar(
            f, 100 * v, yerr=100 * np.abs(ci.T - v), fmt="o", color=color, label=label, capsize=2
        )
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("fluence [mJ/cm2]")
    ax.set_ylabel("(I_circ - I_lin) / I_lin [%]")
    ax.legend(fontsize=7)
    written.append(_finish(fig, out / "delta.png", overwrite))
    return written
