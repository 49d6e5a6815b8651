"""Report figures, drawn from a measurement Dataset and an analysis result.

Every function returns a `matplotlib.figure.Figure` built without pyplot (no global
state, Agg canvas) or raises `MissingDataError` saying what it needs, so a report built
from a bare results.json can leave the figure out and say why.

The figure names follow the panels of a switching experiment (a study's own captions,
e.g. the paper package's, may be passed to `polase.report.build_report`):

- ``fig1b``: excitation spectrum and the PL spectrum at the PL reference fluence;
- ``fig2a``: emission spectra at increasing fluence;
- ``fig2b``: ASE intensity and FWHM versus fluence with the fitted threshold;
- ``fig2c``: decays at the detection wavelengths with their fits;
- ``fig3``: intensity at the ASE and PL wavelengths of the analysis through the
  linear/circular switching sequence at up to three fluences, with Delta_ASE;
- ``delta``: Delta_ASE and Delta_PL versus fluence with 95 % intervals, optionally with
  reference points.

Wavelengths and fluences come from the analysis result (``windows``) when it is given,
else from the spectra themselves; nothing here assumes a material or a study.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import PolaseError
from .targets import per_fluence_entry, scalar

#: Half width of the band averaged around a detection wavelength. [nm]
BAND_HALF_WIDTH_NM: float = 1.0
#: Number of switching panels drawn by default. [1]
N_SWITCHING_PANELS: int = 3

_LINEAR_COLOR = "#1f5fa8"
_CIRCULAR_COLOR = "#d1495b"
_PL_COLOR = "#2a9d8f"
_EXC_COLOR = "#6a4c93"

#: Publication style: small serif-free fonts, inward ticks, thin lines.
STYLE: dict[str, Any] = {
    "font.size": 8.5,
    "axes.labelsize": 9,
    "axes.titlesize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": False,
    "legend.frameon": False,
    "savefig.dpi": 200,
    "svg.fonttype": "none",
    "svg.hashsalt": "polase",
    "mathtext.default": "regular",
}


class MissingDataError(PolaseError, LookupError):
    """A figure needs data that the analysis or Dataset does not have."""


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """Apply `STYLE` for the figures drawn inside the block."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def _new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    return fig


def _require(ds, *names: str) -> None:
    if ds is None:
        raise MissingDataError("needs the spectra (a measurement or simulated Dataset)")
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise MissingDataError(f"needs variable(s) {', '.join(missing)} in the Dataset")


def _linear_label(ds) -> str:
    labels = [str(p) for p in ds["polarization"].values]
    if "linear" in labels:
        return "linear"
    raise MissingDataError("needs spectra under linear pumping (polarization 'linear')")


def band_intensity(spectrum, center_nm: float, half_width_nm: float = BAND_HALF_WIDTH_NM):
    """Mean of `spectrum` over ``center ± half_width`` along ``wavelength``, NaN-aware.

    `polase.analysis.spectra.window_mean` (with ``skipna``) on a DataArray.

    Parameters
    ----------
    spectrum : xarray.DataArray
        Spectra with a ``wavelength`` dimension. [counts] or [counts/s]
    center_nm
        Band centre. [nm]
    half_width_nm
        Band half width; at least the nearest pixel is used. [nm]

    Returns
    -------
    xarray.DataArray
        Band-averaged intensity, ``wavelength`` reduced away.
    """
    import xarray as xr

    from ..analysis.spectra import window_mean

    return xr.apply_ufunc(
        window_mean,
        spectrum["wavelength"],
        spectrum,
        kwargs={"center_nm": center_nm, "half_width_nm": half_width_nm, "skipna": True},
        input_core_dims=[["wavelength"], ["wavelength"]],
    )


def mean_spectrum(ds, fluence: float, polarization: str = "linear"):
    """Repeat-averaged spectrum at the fluence nearest `fluence`, and that fluence."""
    sel = ds["spectrum"].sel(polarization=polarization).sel(fluence=fluence, method="nearest")
    f = float(sel["fluence"])
    if "repeat" in sel.dims:
        sel = sel.mean("repeat", skipna=True)
    return sel, f


def _emission_span(spec, pad_nm: float = 10.0, level: float = 0.02) -> tuple[float, float]:
    """Wavelength span where a (mean) spectrum exceeds `level` of its maximum, padded. [nm]"""
    wl = spec["wavelength"].values.astype(float)
    y = np.asarray(spec.values, dtype=float)
    top = np.nanmax(y) if np.isfinite(y).any() else np.nan
    if not (np.isfinite(top) and top > 0):
        return float(wl.min()), float(wl.max())
    above = wl[np.nan_to_num(y, nan=-np.inf) > level * top]
    return max(float(wl.min()), float(above.min()) - pad_nm), min(
        float(wl.max()), float(above.max()) + pad_nm
    )


def _peak_nm(spec) -> float:
    """Peak wavelength of a (mean) spectrum (`polase.analysis.spectra.peak_and_fwhm`). [nm]"""
    from ..analysis.spectra import peak_and_fwhm

    wl = spec["wavelength"].values.astype(float)
    y = np.asarray(spec.values, dtype=float)
    peak = float(peak_and_fwhm(wl, y)["peak_nm"])
    return peak if np.isfinite(peak) else float(wl[int(np.nanargmax(y))])


def channel_wavelengths(ds, results: Mapping[str, Any] | None = None) -> tuple[float, float]:
    """ASE and PL detection wavelengths: the analysis's Delta wavelengths, else the peaks.

    Parameters
    ----------
    ds : xarray.Dataset
        Measurement with ``spectrum``.
    results
        Analysis results; ``windows.delta_ase_wavelength_nm`` and
        ``windows.delta_pl_wavelength_nm`` are used when present.

    Returns
    -------
    (float, float)
        ASE and PL wavelengths [nm]; without results, the peak of the linear mean spectrum
        at the highest and at the lowest fluence.
    """
    win = (results or {}).get("windows") or {}
    ase, pl = win.get("delta_ase_wavelength_nm"), win.get("delta_pl_wavelength_nm")
    if ase is None or pl is None:
        lin = _linear_label(ds)
        fl = ds["fluence"].values.astype(float)
        ase = ase if ase is not None else _peak_nm(mean_spectrum(ds, fl.max(), lin)[0])
        pl = pl if pl is not None else _peak_nm(mean_spectrum(ds, fl.min(), lin)[0])
    return float(ase), float(pl)


def switching_fluences(results: Mapping[str, Any] | None, ds=None) -> list[float]:
    """Fluences of the switching panels: the first `N_SWITCHING_PANELS` at or above the
    L-L threshold of the analysis (the highest ones without a threshold). [mJ/cm2]"""
    fl = None
    if results and results.get("per_fluence"):
        fl = sorted(float(e["fluence_mJ_cm2"]) for e in results["per_fluence"])
    elif ds is not None:
        fl = sorted(float(f) for f in ds["fluence"].values)
    if not fl:
        return []
    th, _ = scalar((results or {}).get("threshold_mJ_cm2"))
    above = [f for f in fl if th is not None and f >= th]
    return above[:N_SWITCHING_PANELS] if above else fl[-N_SWITCHING_PANELS:]


def _normalise(y: np.ndarray) -> np.ndarray:
    peak = np.nanmax(y)
    return y / peak if np.isfinite(peak) and peak > 0 else y


def fig1b(ds, results: Mapping[str, Any] | None = None) -> Figure:
    """Excitation spectrum and up-conversion PL spectrum at the PL reference fluence.

    Parameters
    ----------
    ds : xarray.Dataset
        Measurement with ``excitation_spectrum`` and ``spectrum``.
    results
        Analysis results; ``windows.pl_reference_fluence_mJ_cm2`` picks the PL spectrum
        (default: the lowest fluence).
    """
    _require(ds, "excitation_spectrum", "spectrum")
    lin = _linear_label(ds)
    exc = ds["excitation_spectrum"]
    em_nm = exc.attrs.get("emission_wavelength_nm", ds.attrs.get("emission_wavelength_nm"))
    f_ref = ((results or {}).get("windows") or {}).get("pl_reference_fluence_mJ_cm2")
    f_ref = float(ds["fluence"].values.min()) if f_ref is None else float(f_ref)
    pl, f = mean_spectrum(ds, f_ref, lin)
    fig = _new_figure(3.5, 2.6)
    ax = fig.add_subplot()
    x_exc = exc["excitation_wavelength"].values
    ax.plot(
        x_exc,
        _normalise(exc.values.astype(float)),
        color=_EXC_COLOR,
        label="excitation" if em_nm is None else f"excitation (em. {float(em_nm):g} nm)",
    )
    ax.plot(
        pl["wavelength"].values,
        _normalise(pl.values.astype(float)),
        color=_PL_COLOR,
        label=f"up-conversion PL, {f:g} mJ/cm$^2$",
    )
    span = _emission_span(pl)
    ax.set_xlim(float(min(np.nanmin(x_exc), span[0])), span[1])
    ax.set_ylim(0, 1.12)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("normalized intensity (a.u.)")
    ax.legend(loc="upper left")
    return fig


def _display_fluences(fluences: np.ndarray, n: int = 7) -> list[float]:
    """Up to `n` fluences spread over the sweep, always including the highest."""
    fl = np.unique(fluences)
    if fl.size <= n:
        return [float(x) for x in fl]
    idx = np.unique(np.round(np.linspace(0, fl.size - 1, n)).astype(int))
    return [float(fl[i]) for i in idx]


def fig2a(ds, fluences: Sequence[float] | None = None) -> Figure:
    """Emission spectra at increasing fluence (linear pumping, repeat-averaged).

    Parameters
    ----------
    ds : xarray.Dataset
        Measurement with ``spectrum``.
    fluences
        Fluences to show [mJ/cm2]; default: up to seven spread over the upper half of the
        sweep (the whole sweep when it has fewer than three points there).
    """
    _require(ds, "spectrum")
    lin = _linear_label(ds)
    all_f = ds["fluence"].values.astype(float)
    if fluences is None:
        upper = all_f[all_f >= 0.5 * all_f.max()]
        fluences = _display_fluences(upper if upper.size >= 3 else all_f)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    fig = _new_figure(3.5, 2.7)
    ax = fig.add_subplot()
    n = len(fluences)
    units = ds["spectrum"].attrs.get("units", "counts")
    for i, fl in enumerate(sorted(fluences)):
        spec, f = mean_spectrum(ds, fl, lin)
        ax.plot(
            spec["wavelength"].values,
            spec.values,
            color=cmap(0.9 * i / max(n - 1, 1)),
            label=f"{f:g}",
        )
    ax.set_xlim(*_emission_span(mean_spectrum(ds, max(fluences), lin)[0], pad_nm=5.0))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel(f"intensity ({_unit_text(units)})")
    ax.legend(title="mJ/cm$^2$", loc="upper right", ncol=1, title_fontsize=7.5)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
    return fig


def _unit_text(units: str) -> str:
    return {"counts/s": "counts/s", "counts": "counts", "1": "a.u."}.get(units, units)


def _per_fluence_arrays(results: Mapping[str, Any], *keys: str) -> dict[str, np.ndarray]:
    rows = results.get("per_fluence") or []
    if not rows:
        raise MissingDataError("needs per-fluence results (per_fluence)")
    out = {"fluence": np.array([float(r.get("fluence_mJ_cm2", np.nan)) for r in rows])}
    for k in keys:
        vals = []
        for r in rows:
            v = r.get(k)
            vals.append(np.nan if v is None else v)
        out[k] = np.array(vals, dtype=float) if keys else None
    order = np.argsort(out["fluence"])
    return {k: v[order] for k, v in out.items()}


def fig2b(results: Mapping[str, Any]) -> Figure:
    """ASE intensity and FWHM versus fluence with the fitted threshold(s) marked.

    Parameters
    ----------
    results
        Analysis results with ``per_fluence`` (``intensity_ase``, ``fwhm_nm``) and
        ``threshold_mJ_cm2``.
    """
    a = _per_fluence_arrays(results, "intensity_ase", "fwhm_nm")
    if not np.isfinite(a["intensity_ase"]).any():
        raise MissingDataError("needs per-fluence ASE intensities (intensity_ase)")
    fig = _new_figure(3.5, 2.7)
    ax = fig.add_subplot()
    ax.plot(
        a["fluence"],
        a["intensity_ase"],
        "o",
        color=_LINEAR_COLOR,
        mfc="white",
        label="ASE intensity",
    )
    ax.set_xlabel("pump fluence (mJ/cm$^2$)")
    ax.set_ylabel("ASE-band intensity (a.u.)", color=_LINEAR_COLOR)
    ax.tick_params(axis="y", colors=_LINEAR_COLOR)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
    ax.set_ylim(bottom=0)
    handles = ax.get_lines()[:]
    th, th_ci = scalar(results.get("threshold_mJ_cm2"))
    if th is not None:
        if th_ci is not None:
            ax.axvspan(th_ci[0], th_ci[1], color="0.85", lw=0, zorder=0)
        line = ax.axvline(th, color="0.25", ls="--", lw=1.0, label=f"threshold {th:.2f} mJ/cm$^2$")
        handles.append(line)
    if np.isfinite(a["fwhm_nm"]).any():
        ax2 = ax.twinx()
        ax2.plot(a["fluence"], a["fwhm_nm"], "s", color=_CIRCULAR_COLOR, ms=3.5, label="FWHM")
        ax2.set_ylabel("FWHM (nm)", color=_CIRCULAR_COLOR)
        ax2.tick_params(axis="y", colors=_CIRCULAR_COLOR, direction="in")
        fw = a["fwhm_nm"][np.isfinite(a["fwhm_nm"])]
        ax2.set_ylim(max(0.0, fw.min() - 3.0), fw.max() + 3.0)
        handles.append(ax2.get_lines()[0])
        tn, _ = scalar(results.get("threshold_fwhm_mJ_cm2"))
        if tn is not None:
            handles.append(
                ax.axvline(tn, color="0.45", ls=":", lw=1.0, label=f"narrowing {tn:.2f} mJ/cm$^2$")
            )
    labels = [h.get_label() for h in handles]
    fig.legend(handles=handles, labels=labels, loc="outside upper center", ncols=2)
    return fig


def fig2c(decays: Mapping[Any, Mapping[str, Any]]) -> Figure:
    """TCSPC decays at their detection wavelengths with the reconvolution fits (log scale).

    The longest wavelength is labelled ASE and the shortest PL when there are two.

    Parameters
    ----------
    decays
        Keyed by detection wavelength [nm]; each mapping holds ``time_ns`` [ns],
        ``counts`` [counts], optional ``fit`` (model counts on the same channels),
        optional ``irf`` [counts] and ``tau_ns`` [ns].
    """
    if not decays:
        raise MissingDataError("needs TCSPC decays (fits with their histograms)")
    usable = {
        k: v
        for k, v in decays.items()
        if v.get("time_ns") is not None and v.get("counts") is not None
    }
    if not usable:
        raise MissingDataError("needs the decay histograms (time_ns, counts), not only lifetimes")
    fig = _new_figure(3.5, 2.7)
    ax = fig.add_subplot()
    wls = sorted(round(float(k)) for k in usable)
    colors = {wls[-1]: _CIRCULAR_COLOR, wls[0]: _PL_COLOR} if len(wls) > 1 else {}
    names = {wls[-1]: "ASE", wls[0]: "PL"} if len(wls) == 2 else {}
    irf_drawn = False
    for key in sorted(usable, key=lambda k: -float(k)):
        d = usable[key]
        wl = round(float(key))
        t = np.asarray(d["time_ns"], dtype=float)
        c = np.asarray(d["counts"], dtype=float)
        color = colors.get(wl, "0.3")
        what = names.get(wl, "")
        ax.plot(
            t,
            np.where(c > 0, c, np.nan),
            ".",
            ms=1.6,
            color=color,
            alpha=0.45,
            rasterized=True,  # thousands of points: keep the SVG small
            label=f"{wl} nm {what}".strip(),
        )
        if d.get("fit") is not None:
            taus = d.get("tau_ns") or []
            tau_txt = ", ".join(f"{x:.2g}" for x in np.atleast_1d(taus))
            ax.plot(t, d["fit"], "-", color=color, lw=1.1, label=f"fit, τ = {tau_txt} ns")
        if not irf_drawn and d.get("irf") is not None:
            irf = np.asarray(d["irf"], dtype=float)
            if np.nanmax(irf) > 0:
                scale = np.nanmax(c) / np.nanmax(irf)
                # only the IRF's peak region: its noise floor would clutter the log axis
                ax.plot(
                    t,
                    np.where(irf > 1e-3 * np.nanmax(irf), irf * scale, np.nan),
                    color="0.6",
                    lw=0.8,
                    label="IRF (scaled)",
                )
                irf_drawn = True
    ax.set_yscale("log")
    cmax = max(np.nanmax(np.asarray(d["counts"], dtype=float)) for d in usable.values())
    ax.set_ylim(max(0.5, cmax * 1e-4), cmax * 2.0)
    t_all = np.asarray(next(iter(usable.values()))["time_ns"], dtype=float)
    c0 = np.asarray(next(iter(usable.values()))["counts"], dtype=float)
    t_peak = float(t_all[int(np.nanargmax(c0))])
    t1e = [d.get("tau_1e_ns") for d in usable.values()]
    t1e = [float(x) for x in t1e if x is not None and np.isfinite(x)]
    lo = max(float(t_all.min()), t_peak - 5.0)
    hi = min(float(t_all.max()), t_peak + 12.0 * max(t1e)) if t1e else float(t_all.max())
    ax.set_xlim(lo, hi)  # the decays, not the empty rest of the TAC range
    ax.set_xlabel("time (ns)")
    ax.set_ylabel("counts")
    ax.legend(loc="upper right")
    return fig


def switching_sequence(
    ds, fluence: float, wavelengths_nm: tuple[float, float] | None = None
) -> dict[str, np.ndarray]:
    """Intensities at the ASE and PL wavelengths in acquisition order at one fluence.

    Parameters
    ----------
    ds : xarray.Dataset
        Measurement with ``spectrum`` and (ideally) the ``acquisition_index`` coordinate.
    fluence
        Fluence [mJ/cm2]; the nearest one in the Dataset is used.
    wavelengths_nm
        ASE and PL wavelengths [nm]; default `channel_wavelengths` of the spectra.

    Returns
    -------
    dict
        ``fluence`` (the one used), ``order`` (acquisition index), ``circular`` (bool),
        ``ase`` and ``pl`` (band intensities in that order).
    """
    _require(ds, "spectrum")
    pols = [str(p) for p in ds["polarization"].values]
    if not {"linear", "circular"} <= set(pols):
        raise MissingDataError("needs spectra under both linear and circular pumping")
    lam_ase, lam_pl = wavelengths_nm or channel_wavelengths(ds)
    sub = ds.sel(fluence=fluence, method="nearest").sel(polarization=["linear", "circular"])
    f = float(sub["fluence"])
    ase = band_intensity(sub["spectrum"], lam_ase).transpose("polarization", "repeat").values
    pl = band_intensity(sub["spectrum"], lam_pl).transpose("polarization", "repeat").values
    if "acquisition_index" in sub.coords or "acquisition_index" in sub.variables:
        order = sub["acquisition_index"].transpose("polarization", "repeat").values.astype(float)
    else:  # no record of the order: assume the nominal L, C, L, C alternation
        r = sub.sizes["repeat"]
        order = np.vstack([2 * np.arange(r), 2 * np.arange(r) + 1]).astype(float)
    circ = np.vstack([np.zeros(ase.shape[1], bool), np.ones(ase.shape[1], bool)])
    flat = np.argsort(order.ravel(), kind="stable")
    return {
        "fluence": f,
        "order": order.ravel()[flat],
        "circular": circ.ravel()[flat],
        "ase": ase.ravel()[flat],
        "pl": pl.ravel()[flat],
        "wavelengths_nm": (float(lam_ase), float(lam_pl)),
    }


def fig3(
    ds, results: Mapping[str, Any] | None = None, fluences: Sequence[float] | None = None
) -> Figure:
    """Intensity at the ASE and PL wavelengths through the L/C switching sequence.

    Intensities are normalised to the mean under linear pumping at each fluence, so the
    step between linear and circular points reads directly as Delta_ASE (or Delta_PL).

    Parameters
    ----------
    ds : xarray.Dataset
        Measurement with ``spectrum`` (both polarizations, several repeats).
    results
        Analysis results; Delta_ASE with its interval is printed in each panel if given.
    fluences
        One panel per fluence [mJ/cm2]; default `switching_fluences`.
    """
    _require(ds, "spectrum")
    if not fluences:
        fluences = switching_fluences(results, ds)
    lam = channel_wavelengths(ds, results)
    fig = _new_figure(7.0, 2.5)
    axes = fig.subplots(1, len(fluences), sharey=True)
    axes = np.atleast_1d(axes)
    for k, (ax, fl) in enumerate(zip(axes, fluences)):
        seq = switching_sequence(ds, fl, lam)
        step = np.arange(seq["order"].size) + 1
        circ = seq["circular"]
        for key, marker, ls, name in (
            ("ase", "o", "-", f"{lam[0]:.4g} nm (ASE)"),
            ("pl", "s", "--", f"{lam[1]:.4g} nm (PL)"),
        ):
            y = seq[key] / np.nanmean(seq[key][~circ])
            ax.plot(step, y, ls, color="0.7", lw=0.7, zorder=1)
            ax.plot(
                step[~circ],
                y[~circ],
                marker,
                color=_LINEAR_COLOR,
                mfc="white" if key == "pl" else _LINEAR_COLOR,
                zorder=2,
                label=f"{name}, linear",
            )
            ax.plot(
                step[circ],
                y[circ],
                marker,
                color=_CIRCULAR_COLOR,
                mfc="white" if key == "pl" else _CIRCULAR_COLOR,
                zorder=2,
                label=f"{name}, circular",
            )
        ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
        ax.set_xlabel("acquisition order")
        ax.set_title(f"({'abc'[k] if k < 3 else k}) {seq['fluence']:g} mJ/cm$^2$", loc="left")
        ax.set_xticks(step)
        ax.set_xticklabels(["L" if not c else "C" for c in circ], fontsize=6.5)
        if results is not None:
            entry = per_fluence_entry(results, seq["fluence"])
            if entry is not None and entry.get("delta_ase") is not None:
                v, ci = scalar(
                    {"value": entry.get("delta_ase"), "ci95": entry.get("delta_ase_ci95")}
                )
                if v is not None:
                    txt = f"Δ$_{{ASE}}$ = {100 * v:+.1f} %"
                    if ci is not None:
                        txt += f"\n[{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}] %"
                    ax.text(
                        0.03, 0.97, txt, transform=ax.transAxes, va="top", ha="left", fontsize=7.5
                    )
    lo, hi = axes[0].get_ylim()
    axes[0].set_ylim(lo, hi + 0.35 * (hi - lo))  # headroom for the Delta_ASE labels
    axes[0].set_ylabel("intensity / mean linear")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=7)
    return fig


def fig_delta(
    results: Mapping[str, Any], reference: Sequence[tuple[float, float]] | None = None
) -> Figure:
    """Delta_ASE and Delta_PL versus fluence with 95 % intervals.

    Parameters
    ----------
    results
        Analysis results with ``per_fluence`` entries carrying ``delta_ase``,
        ``delta_ase_ci95``, ``delta_pl`` and ``delta_pl_ci95`` (fractions).
    reference
        ``(fluence [mJ/cm2], Delta_ASE [%])`` points of a reference (e.g. a paper's
        values), drawn as open diamonds.
    """
    win = results.get("windows") or {}
    lam_a, lam_p = win.get("delta_ase_wavelength_nm"), win.get("delta_pl_wavelength_nm")
    at_a = "" if lam_a is None else f" ({float(lam_a):.4g} nm)"
    at_p = "" if lam_p is None else f" ({float(lam_p):.4g} nm)"
    rows = results.get("per_fluence") or []
    pts = []
    for r in rows:
        f = r.get("fluence_mJ_cm2")
        da, da_ci = scalar({"value": r.get("delta_ase"), "ci95": r.get("delta_ase_ci95")})
        dp, dp_ci = scalar({"value": r.get("delta_pl"), "ci95": r.get("delta_pl_ci95")})
        if f is not None:
            pts.append((float(f), da, da_ci, dp, dp_ci))
    if not any(p[1] is not None for p in pts):
        raise MissingDataError("needs per-fluence Δ_ASE (linear and circular spectra)")
    pts.sort()
    fig = _new_figure(3.5, 2.7)
    ax = fig.add_subplot()
    th, _ = scalar(results.get("threshold_mJ_cm2"))
    for idx, color, marker, name in (
        (1, _CIRCULAR_COLOR, "o", "Δ$_{ASE}$" + at_a),
        (3, _PL_COLOR, "s", "Δ$_{PL}$" + at_p),
    ):
        sel = [p for p in pts if p[idx] is not None]
        if not sel:
            continue
        if idx == 1 and th is not None:  # below threshold there is no ASE to compare
            sel = [p for p in sel if p[0] >= th - 0.5] or sel
        x = np.array([p[0] for p in sel])
        y = 100 * np.array([p[idx] for p in sel])
        lo = np.array([100 * p[idx + 1][0] if p[idx + 1] else np.nan for p in sel])
        hi = np.array([100 * p[idx + 1][1] if p[idx + 1] else np.nan for p in sel])
        yerr = np.vstack(
            [np.where(np.isfinite(lo), y - lo, 0), np.where(np.isfinite(hi), hi - y, 0)]
        )
        ax.errorbar(
            x,
            y,
            yerr=np.clip(yerr, 0, None),
            fmt=marker,
            color=color,
            mfc="white" if idx == 3 else color,
            capsize=2,
            elinewidth=0.8,
            label=name,
        )
    if reference:
        ax.plot(
            [float(f) for f, _ in reference],
            [float(v) for _, v in reference],
            "D",
            color="k",
            mfc="none",
            ms=7,
            mew=1.0,
            zorder=5,
            label="reference (Δ$_{ASE}$)",
        )
    ax.axhline(0, color="0.5", lw=0.6)
    if th is not None:
        ax.axvline(th, color="0.25", ls="--", lw=0.9, label="ASE threshold")
    ax.set_xlabel("pump fluence (mJ/cm$^2$)")
    ax.set_ylabel("(I$_{circ}$ − I$_{lin}$) / I$_{lin}$ (%)")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside upper center", ncols=2)
    return fig


def render(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes (deterministic metadata)."""
    buf = io.BytesIO()
    meta = {"Software": "polase"} if fmt == "png" else {"Creator": "polase", "Date": None}
    with figure_style():  # savefig reads dpi and SVG font handling from rcParams
        fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()


#: (name, caption) of every report figure, in report order.
FIGURES: tuple[tuple[str, str], ...] = (
    (
        "fig1b",
        "Excitation spectrum and up-conversion PL spectrum at the PL reference fluence.",
    ),
    (
        "fig2a",
        "Emission spectra at increasing pump fluence (linear pumping, mean over repeats).",
    ),
    (
        "fig2b",
        "ASE-band intensity and FWHM versus fluence; dashed line: fitted threshold (grey band: 95 % interval); dotted: onset of spectral narrowing.",
    ),
    (
        "fig2c",
        "TCSPC decays at the detection wavelengths with their IRF-reconvolution fits.",
    ),
    (
        "fig3",
        "Intensity at the ASE (filled) and PL (open) wavelengths through the linear/circular switching sequence, normalized to the mean under linear pumping, with Δ_ASE and its 95 % interval.",
    ),
    ("delta", "Δ_ASE and Δ_PL versus fluence with 95 % intervals (diamonds: reference values)."),
    (
        "polarization_fit",
        "Polarization-resolved decays (σ+/σ− or VV/VH, points) with the joint IRF-reconvolution fit (lines) and the weighted residuals.",
    ),
    (
        "polarization_ratio",
        "DCP(t) or r(t) of the data (division) and of the joint fit of both channels.",
    ),
    (
        "phasor",
        "Phasors of the decays, calibrated with the IRF, on the universal semicircle; squares: the fitted lifetimes, joined by their chord.",
    ),
)


def make_figure(
    name: str,
    ds=None,
    results: Mapping[str, Any] | None = None,
    decays=None,
    *,
    switching: Sequence[float] | None = None,
    reference_delta: Sequence[tuple[float, float]] | None = None,
    polarization=None,
    phasors: Mapping[str, Any] | str | None = None,
) -> Figure:
    """Draw the report figure `name` (one of `FIGURES`) from whatever is available.

    Parameters
    ----------
    name
        Figure name.
    ds, results, decays
        Dataset, analysis results and decay fits (each optional).
    switching
        Fluences of the switching panels (``fig3``). [mJ/cm2]
    reference_delta
        Reference Delta_ASE points for ``delta``: ``(fluence [mJ/cm2], value [%])``.
    polarization
        A joint fit of two polarization channels (`PolarizationFit`, or the dict of
        `polase.report.polarization.fit_to_dict`) for ``polarization_fit`` and
        ``polarization_ratio``.
    phasors
        The calibrated phasors of the decays for ``phasor``
        (`polase.analysis.phasor.decay_phasors`, summary.json ``phasors``), or a str: why
        there are none (the reason the figure is left out). The report draws them; it
        does not compute them.

    Raises
    ------
    MissingDataError
        If the inputs lack what this figure needs.
    """
    results = results or {}
    with figure_style():
        if name == "fig1b":
            return fig1b(ds, results)
        if name == "fig2a":
            return fig2a(ds)
        if name == "fig2b":
            return fig2b(results)
        if name == "fig2c":
            return fig2c(decays)
        if name == "fig3":
            return fig3(ds, results, switching)
        if name == "delta":
            return fig_delta(results, reference_delta)
        if name in ("polarization_fit", "polarization_ratio"):
            from . import polarization as pol

            if polarization is None:
                raise MissingDataError(
                    "needs a polarization-resolved decay pair with its joint fit"
                )
            fit = (
                pol.fit_from_dict(polarization)
                if isinstance(polarization, Mapping)
                else polarization
            )
            if name == "polarization_fit":
                return pol.fig_polarization_fit(fit)
            return pol.fig_polarization_ratio(fit)
        if name == "phasor":
            from .phasor import phasor_figure

            if isinstance(phasors, str):
                raise MissingDataError(phasors)
            if phasors is None:
                raise MissingDataError(
                    "needs the phasors of the decays (summary.json 'phasors', computed by "
                    "polase.analysis.phasor.decay_phasors)"
                )
            return phasor_figure(phasors, phasors.get("labels"), fits=phasors.get("fits"))
    raise ValueError(f"unknown figure {name!r}; allowed: {', '.join(n for n, _ in FIGURES)}")
