"""Render the report as one self-contained HTML file (inline CSS, figures as base64 PNG).

The page loads nothing from anywhere: no scripts, no fonts, no external images, so it
opens the same offline, from an e-mail attachment or from a CI artifact.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .summary import format_ci, format_value, pass_fraction, verdict
from .targets import SCORED_KINDS


@dataclass
class ReportFigure:
    """A rendered figure: name, caption and PNG bytes (SVG optional, saved beside)."""

    name: str
    caption: str
    png: bytes
    svg: bytes | None = None


@dataclass
class ReportContent:
    """Everything the HTML page shows.

    Parameters
    ----------
    title
        Page title.
    rows
        Table rows (`polase.report.describe_rows` or `polase.report.grade`).
    figures
        Rendered figures, in display order.
    omitted
        ``(figure name, caption, reason)`` for figures that could not be drawn.
    facts
        ``(label, value)`` pairs describing the run (source, seed, version, ...).
    decays
        Decay-fit summaries keyed by detection wavelength [nm].
    details
        Extra JSON-able provenance shown collapsed at the end (config, file list).
    citation
        Source of the target set the rows were graded against (e.g. a paper); empty when
        the rows are reported without targets (then no verdict is shown).
    description
        One line on what the target set is about.
    """

    title: str
    rows: Sequence[Mapping[str, Any]]
    figures: Sequence[ReportFigure] = field(default_factory=list)
    omitted: Sequence[tuple[str, str, str]] = field(default_factory=list)
    facts: Sequence[tuple[str, str]] = field(default_factory=list)
    decays: Mapping[Any, Mapping[str, Any]] | None = None
    details: Mapping[str, Any] | None = None
    citation: str = ""
    description: str = ""


_CSS = """
:root { --ok: #1b7f3b; --bad: #b3261e; --muted: #666; --line: #ddd; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #1d1d1f; background: #fafafa; line-height: 1.45; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 1.55em; margin: 0 0 4px; }
h2 { font-size: 1.2em; margin: 32px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; font-size: 0.9em; margin: 8px 0 0; padding: 0; list-style: none; }
.facts b { color: var(--muted); font-weight: 600; }
.verdict { display: inline-block; padding: 3px 10px; border-radius: 12px; font-weight: 600; }
.verdict.all { background: #e3f3e7; color: var(--ok); }
.verdict.some { background: #fdecea; color: var(--bad); }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f2f2f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.ci { color: var(--muted); font-size: 0.9em; white-space: nowrap; }
td.note { color: var(--muted); font-size: 0.85em; }
.pass { color: var(--ok); font-weight: 600; }
.FAIL { color: var(--bad); font-weight: 700; }
.input, .na { color: var(--muted); font-style: italic; }
figure { margin: 18px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure.wide img { width: 100%; }
figcaption { font-size: 0.9em; color: #333; margin-top: 4px; max-width: 760px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 0 24px; }
.omitted li { color: var(--muted); }
details { margin-top: 12px; }
pre { background: #f6f6f8; padding: 10px; overflow-x: auto; font-size: 0.8em; }
footer { color: var(--muted); font-size: 0.8em; margin-top: 36px; }
"""


#: Figures drawn two columns wide.
_WIDE = frozenset({"fig3"})


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _summary_table(rows: Sequence[Mapping[str, Any]], ref_name: str = "reference") -> str:
    out = [
        '<table id="summary-table">',
        f"<thead><tr><th>observable</th><th>{_esc(ref_name)}</th><th>polase</th><th>95 % interval</th>"
        "<th>tolerance</th><th>unit</th><th>result</th><th>note</th></tr></thead><tbody>",
    ]
    for r in rows:
        v = verdict(r)
        cls = {"n/a": "na"}.get(v, v)
        out.append(
            f'<tr class="summary-row" data-pass="{_esc(r.get("pass"))}">'
            f"<td>{_esc(r['observable'])}</td>"
            f'<td class="num">{_esc(r.get("paper_text") or format_value(r.get("paper")))}</td>'
            f'<td class="num">{_esc(format_value(r.get("value")))}</td>'
            f'<td class="ci">{_esc(format_ci(r.get("ci95")))}</td>'
            f"<td>{_esc(r.get('tolerance', ''))}</td>"
            f"<td>{_esc(r.get('unit', ''))}</td>"
            f'<td class="{cls}">{_esc(v)}</td>'
            f'<td class="note">{_esc(r.get("note", ""))}</td></tr>'
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def _figure_html(f: ReportFigure) -> str:
    b64 = base64.b64encode(f.png).decode("ascii")
    wide = ' class="wide"' if f.name in _WIDE else ""
    return (
        f'<figure id="{_esc(f.name)}"{wide}><img alt="{_esc(f.caption)}" '
        f'src="data:image/png;base64,{b64}"><figcaption>{_esc(f.caption)}</figcaption></figure>'
    )


def _decay_table(decays: Mapping[Any, Mapping[str, Any]]) -> str:
    out = [
        '<table id="decay-table"><thead><tr><th>detection (nm)</th><th>fluence (mJ/cm²)</th>'
        "<th>components</th><th>τ (ns)</th><th>95 % intervals (ns)</th><th>τ<sub>1/e</sub> (ns)</th>"
        "<th>reduced χ²</th></tr></thead><tbody>"
    ]
    for key in sorted(decays, key=lambda k: float(k)):
        d = decays[key]
        taus = d.get("tau_ns") or []
        cis = d.get("tau_ci95_ns") or []
        out.append(
            "<tr>"
            f'<td class="num">{_esc(format_value(float(key)))}</td>'
            f'<td class="num">{_esc(format_value(d.get("fluence_mJ_cm2")))}</td>'
            f'<td class="num">{_esc(d.get("components", len(taus)))}</td>'
            f'<td class="num">{_esc(", ".join(format_value(t) for t in taus))}</td>'
            f'<td class="ci">{_esc("; ".join(format_ci(c) for c in cis))}</td>'
            f'<td class="num">{_esc(format_value(d.get("tau_1e_ns")))}</td>'
            f'<td class="num">{_esc(format_value(d.get("reduced_chi2")))}</td>'
            "</tr>"
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def render_html(content: ReportContent) -> str:
    """The report page as a string (UTF-8 HTML5, self-contained).

    Parameters
    ----------
    content
        What to show.

    Returns
    -------
    str
        The HTML document.
    """
    rows = content.rows
    measured = [r for r in rows if r.get("kind", "measured") in SCORED_KINDS]
    n_pass = sum(1 for r in measured if r.get("pass") is True)
    frac = pass_fraction(rows)
    cls = "all" if measured and n_pass == len(measured) else "some"
    verdict_txt = f"{n_pass} of {len(measured)} observables within tolerance"
    if measured:
        verdict_txt += f" ({100 * frac:.0f} %)"
    graded = bool(measured)
    if content.citation:
        what = f" ({content.description})" if content.description else ""
        sub = (
            f"Targets of {_esc(content.citation)}{_esc(what)}: the reported observations "
            "next to what polase extracts."
        )
    elif graded:
        sub = "The observables polase extracts next to their targets."
    else:
        sub = (
            "The observables polase extracts from this analysis, with 95 % intervals. "
            "No target set was given, so nothing is graded."
        )
    head = "Targets vs polase" if graded else "Observables"
    facts = "".join(f"<li><b>{_esc(k)}</b> {_esc(v)}</li>" for k, v in content.facts)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{_esc(content.title)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{_esc(content.title)}</h1>",
        f'<p class="sub">{sub}</p>',
        f'<p><span id="verdict" class="verdict {cls}">{_esc(verdict_txt)}</span></p>'
        if graded
        else "",
        f'<ul class="facts">{facts}</ul>',
        f'<h2 id="summary">{head}</h2>',
        _summary_table(rows, "reference" if content.citation else "target"),
        '<p class="sub" style="margin-top:6px">Values are polase\'s estimates with 95 % intervals '
        "(bootstrap or profile, as the analysis reports them); a row passes when the estimate lies "
        "within the tolerance. Rows marked <i>input</i> are model parameters, not measurements.</p>",
    ]
    if content.figures:
        parts.append('<h2 id="figures">Figures</h2>')
        # Report order; single-column figures two per row, wide ones on their own.
        group: list[ReportFigure] = []
        for f in [*content.figures, None]:
            if f is not None and f.name not in _WIDE:
                group.append(f)
                continue
            if group:
                parts.append(
                    '<div class="grid">' + "".join(_figure_html(g) for g in group) + "</div>"
                )
                group = []
            if f is not None:
                parts.append(_figure_html(f))
    if content.omitted:
        parts.append('<h2 id="omitted">Figures not shown</h2><ul class="omitted">')
        for name, caption, reason in content.omitted:
            parts.append(f"<li><b>{_esc(name)}</b> ({_esc(caption)}): {_esc(reason)}.</li>")
        parts.append("</ul>")
    if content.decays:
        parts.append('<h2 id="decays">Decay fits</h2>')
        parts.append(_decay_table(content.decays))
    if content.details:
        parts.append("<details><summary>Provenance (configuration, files)</summary><pre>")
        parts.append(_esc(json.dumps(content.details, indent=2, default=str)))
        parts.append("</pre></details>")
    parts.append(
        "<footer>Generated by polase. Self-contained: figures are embedded; PNG and SVG "
        "copies sit beside this file when written by <code>polase reproduce</code>.</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)
