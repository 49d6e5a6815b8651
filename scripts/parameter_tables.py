"""Print docs/model.md section 10's [material], [sample] and [mechanism] tables.

    .venv/bin/python scripts/parameter_tables.py

Every row comes from `polase.materials` (unit, meaning, literature range, source) and the
value from `polase.config.default_config()`; "**calibrated**" marks the values that the
package data file (`polase.materials.calibrated_file`) sets. tests/test_docs.py checks that
docs/model.md holds exactly this output.
"""

from __future__ import annotations

from polase.config import default_config
from polase.materials import _flatten, load_calibrated, parameter_table

HEAD = "| key | value | unit | meaning | range | source |\n|---|---|---|---|---|---|"

_MODEL_ROWS = {
    "material": (
        "gain_model",
        '"band_filling" (section 4, inversion-limited) or "cross_section" (version 1, unbounded)',
    ),
    "mechanism": ("name", "mechanism(s) of Delta_ASE (section 6)"),
}


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def tables(material: str = "CsPbBr3") -> str:
    """The three tables, each under its ``### [section]`` heading."""
    cfg = default_config(material)
    calibrated = {sec: _flatten(vals) for sec, vals in load_calibrated(material).items()}
    out = []
    for section, params in parameter_table(material).items():
        values = _flatten(cfg[section])
        rows = [f"### [{section}]", "", HEAD]
        if section in _MODEL_ROWS:
            key, meaning = _MODEL_ROWS[section]
            rows.append(
                f"| `{key}` | {values[key]} | - | {meaning} | - | model choice, from the"
                " calibrated set |"
            )
        for key, p in params.items():
            rng = "-" if p.bounds is None else f"{p.bounds[0]:g}-{p.bounds[1]:g}"
            source = p.source
            if key in calibrated.get(section, {}):
                source = f"**calibrated**; range: {source}"
            rows.append(
                f"| `{key}` | {values[key]:.4g} | {_cell(p.unit)} | {_cell(p.meaning)} | {rng}"
                f" | {_cell(source)} |"
            )
        out.append("\n".join(rows))
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    print(tables(), end="")
