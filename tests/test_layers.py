"""No module of src/polase imports a higher layer (the table of docs/architecture.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "polase"
DOC = ROOT / "docs" / "architecture.md"


def layer_table(text: str) -> dict[str, int]:
    """Module prefix -> layer number, from the table between the layers markers."""
    m = re.search(r"<!-- layers:start -->(.*?)<!-- layers:end -->", text, re.S)
    assert m, "docs/architecture.md lacks the <!-- layers:start/end --> table"
    table: dict[str, int] = {}
    for row in m.group(1).strip().splitlines()[2:]:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        for name in re.findall(r"`([\w.]+)`", cells[2]):
            assert name not in table, f"{name} is in two layers"
            table[name] = int(cells[0])
    return table


def layer_of(module: str, table: dict[str, int]) -> int | None:
    """The layer of the longest table prefix of `module` (None: not in the table)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in table:
            return table[".".join(parts[:n])]
    return None


def module_name(path: Path, src: Path) -> str:
    rel = path.relative_to(src.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_statements(source: str, package: str):
    """(target, imported names, line) of every import in `source`, in functions too:
    ``import a.b`` gives ("a.b", [], line); ``from ..x import y`` resolves the relative
    target against `package`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target, [a.name for a in node.names], node.lineno


def imports(source: str, module: str, is_package: bool, src: Path) -> list[tuple[str, int]]:
    """(imported polase module, line) of every import in `source`, in functions too.

    ``from polase import __version__`` counts as ``polase._version``; ``from pkg import x``
    as ``pkg.x`` when x is a module of pkg.
    """
    package = module if is_package else module.rsplit(".", 1)[0]
    out = []
    for target, names, line in import_statements(source, package):
        if target.split(".")[0] != "polase":
            continue
        if not names:
            out.append((target, line))
            continue
        folder = src.parent.joinpath(*target.split("."))
        for name in names:
            if target == "polase" and name == "__version__":
                out.append(("polase._version", line))
            elif (folder / f"{name}.py").exists() or (folder / name).is_dir():
                out.append((f"{target}.{name}", line))
            else:
                out.append((target, line))
    return out


def violations(src: Path, table: dict[str, int]) -> tuple[list[str], list[str]]:
    """(upward imports, modules the table does not place) of the package at `src`."""
    upward, unplaced = [], []
    for path in sorted(src.rglob("*.py")):
        mod = module_name(path, src)
        own = layer_of(mod, table)
        if own is None:
            unplaced.append(mod)
            continue
        for target, line in imports(
            path.read_text(encoding="utf-8"), mod, path.name == "__init__.py", src
        ):
            lt = layer_of(target, table)
            if lt is not None and lt > own:
                upward.append(
                    f"{path.relative_to(src.parent)}:{line}: {mod} (layer {own}) imports"
                    f" {target} (layer {lt})"
                )
    return upward, unplaced


def test_no_module_imports_a_higher_layer():
    table = layer_table(DOC.read_text(encoding="utf-8"))
    upward, unplaced = violations(SRC, table)
    assert not unplaced, f"modules not in the docs/architecture.md layer table: {unplaced}"
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_the_table_names_only_existing_modules():
    table = layer_table(DOC.read_text(encoding="utf-8"))
    for name in table:
        path = SRC.parent.joinpath(*name.split("."))
        exists = path.with_suffix(".py").exists() or path.is_dir()
        assert exists, f"{name} in the table but not in src/"


def test_analysis_does_not_simulate():
    """analysis/ turns a measurement into results: it never imports the twin (experiment).

    What simulates and then fits (e.g. `measure_twin_tau_s`) composes the two layers and
    lives above both, in paper/.
    """
    found = []
    for path in sorted((SRC / "analysis").rglob("*.py")):
        mod = module_name(path, SRC)
        for target, line in imports(
            path.read_text(encoding="utf-8"), mod, path.name == "__init__.py", SRC
        ):
            if target == "polase.experiment" or target.startswith("polase.experiment."):
                found.append(f"{path.relative_to(SRC.parent)}:{line}: imports {target}")
    assert not found, "analysis imports the twin:\n" + "\n".join(found)


def test_the_checker_finds_an_upward_import(tmp_path):
    pkg = tmp_path / "polase"
    (pkg / "physics").mkdir(parents=True)
    (pkg / "analysis").mkdir()
    (pkg / "__init__.py").write_text("from ._version import __version__\n")
    (pkg / "_version.py").write_text("__version__ = '0'\n")
    (pkg / "physics" / "__init__.py").write_text("")
    (pkg / "analysis" / "__init__.py").write_text("from ..physics import gain\n")
    (pkg / "physics" / "gain.py").write_text(
        "from .. import __version__\n\ndef f():\n    from ..analysis import spectra\n"
    )
    (pkg / "analysis" / "spectra.py").write_text("")
    table = {"polase._version": 0, "polase.physics": 2, "polase.analysis": 6, "polase": 7}
    upward, unplaced = violations(pkg, table)
    assert unplaced == []
    assert (
        len(upward) == 1
        and "polase.physics.gain (layer 2) imports polase.analysis.spectra" in upward[0]
    )
    with pytest.raises(AssertionError):
        layer_table("no table here")


#: All that report/ takes from the analysis layer: the result types it reads, and small
#: helpers to place and label what it draws (a band mean, a peak, a 1/e time, a weighted
#: mean). Never a computation of results such as phasors or fits: the report's callers
#: (paper/, cli/) compute those with analysis/ and hand them over (issue #10, "one house").
REPORT_USES_FROM_ANALYSIS = {
    "polase.analysis.result": {"AnalysisResult"},
    "polase.analysis.polarization": {"PolarizationFit"},
    "polase.analysis.spectra": {"window_mean", "peak_and_fwhm"},
    "polase.analysis.decay": {"one_over_e_time"},
    "polase.analysis.statistics": {"weighted_mean_ci"},
}


def analysis_names_imported(path: Path, src: Path) -> list[tuple[str, str, int]]:
    """(analysis module, name, line) of every ``from ...analysis... import name`` in `path`;
    ``import polase.analysis...`` and ``from polase import analysis`` as name ``*``."""
    mod = module_name(path, src)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = []
    for target, names, line in import_statements(path.read_text(encoding="utf-8"), package):
        if not names:
            if target.startswith("polase.analysis"):
                out.append((target, "*", line))
            continue
        for name in names:
            if target == "polase" and name == "analysis":
                out.append(("polase.analysis", "*", line))
            elif target == "polase.analysis" or target.startswith("polase.analysis."):
                out.append((target, name, line))
    return out


def test_report_draws_results_it_does_not_compute_them():
    """report/ renders given results: from analysis/ it imports only the listed types and
    drawing helpers; in particular not `polase.analysis.phasor` (the phasors of a report
    are computed by its caller, `decay_phasors`, and stored in summary.json)."""
    found = []
    for path in sorted((SRC / "report").rglob("*.py")):
        for target, name, line in analysis_names_imported(path, SRC):
            if name not in REPORT_USES_FROM_ANALYSIS.get(target, set()):
                found.append(f"{path.relative_to(SRC.parent)}:{line}: {target}.{name}")
    assert not found, "report/ imports analysis computations:\n" + "\n".join(found)


def test_the_report_rule_sees_a_phasor_import(tmp_path):
    pkg = tmp_path / "polase" / "report"
    pkg.mkdir(parents=True)
    (pkg / "x.py").write_text(
        "def f():\n    from ..analysis.phasor import analyze_phasors\n"
        "    from ..analysis.spectra import window_mean\n"
    )
    got = analysis_names_imported(pkg / "x.py", tmp_path / "polase")
    assert got == [
        ("polase.analysis.phasor", "analyze_phasors", 2),
        ("polase.analysis.spectra", "window_mean", 3),
    ]
