"""Mechanism-comparison report: JSON, a self-contained HTML section and PNG figures."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from .._files import check_writable, write_bytes_atomic, write_text_atomic
from .._json import to_jsonable, write_json_atomic
from .compare import BIC_DECISIVE, Comparison, measured_delta
from .observables import Observations

FIGURES = ("delta_ase_fluence", "delta_ase_angle", "delta_pl_fluence", "bic", "separation")
_N_CURVES = 4  # candidates drawn in the figures (best first)


def to_json(comparison: Comparison, recommendation: dict, obs: Observations) -> dict:
    """The report as a JSON-ready dict (schema in docs/inverse.md)."""
    rec = {k: v for k, v in recommendation.items() if k != "grid"}
    return to_jsonable(
        {
            "ranking": comparison.ranking(),
            "recommendation": rec,
            "distinguishable": bool(comparison.distinguishable),
            "message": comparison.message,
            "rival": comparison.rival,
            "rival_delta_bic": comparison.rival_delta_bic,
            "decisive_delta_bic": BIC_DECISIVE,
            "evidence_delta_bic": comparison.evidence,
            "predictions": {k: p.to_dict() for k, p in comparison.predictions.items()},
            "data": {
                "fluence_mJ_cm2": obs.fluence,
                "qwp_angle_deg": obs.qwp_angle,
                "docp": obs.docp,
                "bands_nm": obs.windows,
                "n_data": obs.n_data,
                "repeats_max": int(obs.n_repeats.max()) if obs.n_repeats.size else 0,
            },
            "timing": {
                "seconds": comparison.seconds,
                "forward_evaluations": comparison.n_forward,
                "forward_seconds": comparison.forward_seconds,
            },
        }
    )


def _circular_index(obs: Observations) -> int:
    """Polarization with the largest |DOCP| (circular when present)."""
    return int(np.nanargmax(np.abs(obs.docp)))


def _measured(ax, x, delta, err, where: str) -> None:
    """The measured Delta (fractions) with its errors, in %, as black points."""
    ax.errorbar(x, 100 * delta, 100 * err, fmt="o", ms=3, color="k", label=f"measured ({where})")


def make_figures(comparison: Comparison, recommendation: dict, obs: Observations) -> dict:
    """Matplotlib figures by name (see `FIGURES`)."""
    from matplotlib.figure import Figure

    figs = {}
    top = comparison.results[:_N_CURVES]
    ic = _circular_index(obs)
    for band, key in (("ase", "delta_ase_fluence"), ("pl", "delta_pl_fluence")):
        fig = Figure(figsize=(5.2, 3.6), layout="constrained")
        ax = fig.subplots()
        if band in obs.bands:
            d, e = measured_delta(obs, band)
            _measured(ax, obs.fluence, d[:, ic], e[:, ic], f"plate {obs.qwp_angle[ic]:g} deg")
        for r in top:
            p = comparison.predictions.get(r.mechanism)
            if p is not None:
                y = p.delta_ase_fluence if band == "ase" else p.delta_pl_fluence
                ax.plot(p.fluence, 100 * y, label=r.mechanism)
        ax.set_xlabel("fluence (mJ/cm$^2$)")
        ax.set_ylabel(f"$\\Delta_{{{band.upper()}}}$ (%)")
        ax.legend(fontsize=7)
        figs[key] = fig
    fig = Figure(figsize=(5.2, 3.6), layout="constrained")
    ax = fig.subplots()
    if "ase" in obs.bands:
        d, e = measured_delta(obs, "ase")
        order = np.argsort(obs.qwp_angle)
        _measured(
            ax, obs.qwp_angle[order], d[-1, order], e[-1, order], f"{obs.fluence[-1]:g} mJ/cm$^2$"
        )
    for r in top:
        p = comparison.predictions.get(r.mechanism)
        if p is not None:
            ax.plot(p.qwp_angle, 100 * p.delta_ase_angle, label=r.mechanism)
    ax.set_xlabel("quarter-wave-plate angle (deg)")
    ax.set_ylabel("$\\Delta_{ASE}$ (%)")
    ax.legend(fontsize=7)
    figs["delta_ase_angle"] = fig
    fig = Figure(figsize=(5.2, 3.2), layout="constrained")
    ax = fig.subplots()
    names = [r.mechanism for r in comparison.results]
    dbic = [max(comparison.delta_bic(r), 0.0) for r in comparison.results]
    ax.barh(range(len(names)), np.maximum(dbic, 1e-1), color="tab:blue")
    ax.axvline(
        BIC_DECISIVE, color="tab:red", ls="--", lw=1, label=f"$\\Delta$BIC = {BIC_DECISIVE:g}"
    )
    ax.set_xscale("log")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("$\\Delta$BIC to the best (0 plotted as 0.1)")
    ax.legend(fontsize=7)
    figs["bic"] = fig
    g = recommendation.get("grid")
    if g and g["separation_sigma"]:
        fig = Figure(figsize=(5.2, 3.6), layout="constrained")
        ax = fig.subplots()
        s = np.asarray(g["separation_sigma"], dtype=float)
        m = ax.pcolormesh(
            g["qwp_angle_deg"], g["fluence_mJ_cm2"], s, shading="nearest", cmap="viridis"
        )
        fig.colorbar(m, ax=ax, label="separation per repeat ($\\sigma$)")
        ax.plot(recommendation["qwp_angle_deg"], recommendation["fluence_mJ_cm2"], "r*", ms=12)
        ax.set_xlabel("quarter-wave-plate angle (deg)")
        ax.set_ylabel("fluence (mJ/cm$^2$)")
        ax.set_title(" vs ".join(str(x) for x in recommendation["between"]), fontsize=8)
        figs["separation"] = fig
    return figs


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def html_section(report: dict, pngs: dict) -> str:
    """A self-contained HTML ``<section>`` (figures embedded as data URIs)."""
    e = html.escape
    rows = []
    for r in report["ranking"]:
        free = {k: v for k, v in r["parameters"].items() if v.get("vary")}
        ptxt = "; ".join(
            f"{e(k.split('.')[-1])} = {v['value']:.4g}"
            + (f" ± {v['stderr']:.2g}" if v.get("stderr") is not None else "")
            for k, v in free.items()
        )
        rows.append(
            f"<tr><td>{e(r['mechanism'])}</td><td>{r['log_likelihood']:.1f}</td><td>{r['aic']:.1f}</td>"
            f"<td>{r['bic']:.1f}</td><td>{r['delta_bic']:.1f}</td><td>{r['reduced_chi2']:.2f}</td><td>{ptxt}</td></tr>"
        )
    rec = report["recommendation"]
    verdict = "distinguishable" if report["distinguishable"] else "NOT distinguishable"
    imgs = "".join(
        f'<figure><img alt="{e(name)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
        f"<figcaption>{e(name)}</figcaption></figure>"
        for name, data in pngs.items()
    )
    sep = rec.get("expected_separation_sigma")
    sep_txt = f"{sep:.1f}" if sep is not None else "n/a"
    return (
        '<section class="polase-mechanisms">\n<h2>Which mechanism? Fit of the digital twin</h2>\n'
        f"<p><strong>Verdict: {verdict}.</strong> {e(report['message'])}</p>\n"
        "<table><thead><tr><th>mechanism</th><th>ln L</th><th>AIC</th><th>BIC</th><th>&Delta;BIC</th>"
        "<th>&chi;&sup2;/dof</th><th>fitted parameters</th></tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>\n"
        f"<p>Next measurement: {rec['fluence_mJ_cm2']:.2f} mJ/cm&sup2;, plate angle {rec['qwp_angle_deg']:g} deg,"
        f" {rec['repeats']} repeats per polarization: expected separation {sep_txt} &sigma;"
        f" between {e(' and '.join(str(x) for x in rec['between']))}.</p>\n"
        f'<div class="figures">{imgs}</div>\n</section>\n'
    )


def write_report(
    comparison: Comparison, recommendation: dict, obs: Observations, folder, overwrite: bool = False
) -> dict:
    """Write mechanisms.json, mechanisms.html and one PNG per figure into `folder`.

    Nothing is written when any output exists and `overwrite` is False.

    Returns
    -------
    dict
        The JSON report.
    """
    folder = Path(folder)
    report = to_json(comparison, recommendation, obs)
    figs = make_figures(comparison, recommendation, obs)
    targets = [folder / "mechanisms.json", folder / "mechanisms.html"] + [
        folder / f"{n}.png" for n in figs
    ]
    for t in targets:
        check_writable(t, overwrite)
    pngs = {name: _png(f) for name, f in figs.items()}
    for name, data in pngs.items():
        write_bytes_atomic(folder / f"{name}.png", data, overwrite)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>polase mechanisms</title>'
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}figure{display:inline-block;margin:4px}"
        "img{max-width:520px}</style></head><body>\n"
        + html_section(report, pngs)
        + "</body></html>\n"
    )
    write_text_atomic(folder / "mechanisms.html", page, overwrite)
    write_json_atomic(folder / "mechanisms.json", report, overwrite, indent=1)
    return report
