"""Every ```bash and ```python block of README.md and docs/ runs as written.

The blocks of one page run in order in one temporary folder (so a later block can read
what an earlier one wrote); python blocks of a page share one namespace. Bash blocks run
with ``set -e`` and the venv's ``polase`` first on PATH. The folder holds links to the
repository's ``benchmarks``, ``examples`` and a ``.venv`` pointing at the running interpreter's
environment, so commands written for the repository root work. The environment has
``POLASE_DOCS_FAST=1`` (honoured by the benchmarks: their smallest sizes) and
``POLASE_MECHANISMS_MAX_NFEV`` and ``POLASE_MECHANISMS_MECHANISMS`` (click's environment
defaults of ``polase mechanisms --max-nfev`` and ``--mechanisms``: fewer fits where the
command line does not say); otherwise the commands run exactly as written.

Blocks that are not runnable (output listings, schemas) use another fence (```text,
```jsonc). The README's quick start (``bash dev.sh run`` / ``bash dev.sh test``) is the one
exception: it is what runs this suite, so it is checked to be exactly the documented
commands instead of being run again from inside the suite.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
RUN = ("bash", "python")
QUICK_START = "bash dev.sh run\nbash dev.sh test"

#: Pages whose blocks simulate, fit or reproduce (seconds to minutes).
SLOW = {
    "README.md",
    "inverse.md",
    "io.md",
    "analysis.md",
    "fitting.md",
    "acquisition.md",
    "polarization.md",
}

#: PYTHONPATH with relative entries made absolute (the blocks run in a temporary folder).
PYTHONPATH = os.pathsep.join(
    str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p
)

ENV = {
    "POLASE_DOCS_FAST": "1",
    "POLASE_MECHANISMS_MAX_NFEV": "5",
    "POLASE_MECHANISMS_MECHANISMS": "orbit_orbit spin_channel",
    "MPLBACKEND": "Agg",
}


def blocks(page: Path) -> list[tuple[str, str, int]]:
    """(language, code, line) of every fenced block of `page`."""
    text = page.read_text(encoding="utf-8")
    return [
        (m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)
    ]


def _runnable(page: Path):
    return [b for b in blocks(page) if b[0] in RUN]


def _workdir(tmp_path: Path) -> Path:
    """A stand-in for the repository root: links to what the commands read, and a
    ``../shared`` beside it when the repository has one (the external reference data)."""
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("benchmarks", "examples"):
        (work / name).symlink_to(ROOT / name)
    (work / ".venv").symlink_to(Path(sys.prefix))
    if SHARED.exists():
        (tmp_path / "shared").symlink_to(SHARED.resolve())
    return work


def _run_bash(code: str, cwd: Path, where: str) -> None:
    env = os.environ | ENV
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if PYTHONPATH:
        env["PYTHONPATH"] = PYTHONPATH
    res = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert res.returncode == 0, f"{where} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"


def _run_python(code: str, namespace: dict, cwd: Path, where: str, monkeypatch) -> None:
    monkeypatch.chdir(cwd)
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    exec(compile(code, where, "exec"), namespace)


def test_every_page_has_only_known_fences():
    """A typo in a fence language would silently exclude a block from this test."""
    known = {*RUN, "text", "json", "jsonc", "toml", "csv", "console", ""}
    for page in PAGES:
        for lang, _, line in blocks(page):
            assert lang in known, f"{page.name}:{line}: fence language {lang!r}"
            assert lang != "", (
                f"{page.name}:{line}: give the block a language (```text if not code)"
            )


def test_quick_start_is_the_documented_commands():
    readme = [b for b in _runnable(ROOT / "README.md") if "dev.sh" in b[1]]
    assert [b[1].strip() for b in readme] == [QUICK_START]
    script = (ROOT / "dev.sh").read_text()
    assert "reproduce -o polase-reproduce --overwrite" in script and "pytest" in script


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(
            p, id=str(p.relative_to(ROOT)), marks=[pytest.mark.slow] if p.name in SLOW else []
        )
        for p in PAGES
        # README.md runs in test_readme.py: its own file, so that `--dist loadfile` gives
        # the longest page a worker of its own
        if _runnable(p) and p.name != "README.md"
    ],
)
def test_page_blocks_run_as_written(page, tmp_path, monkeypatch):
    run_page(page, tmp_path, monkeypatch)


def run_page(page: Path, tmp_path: Path, monkeypatch) -> None:
    """Run every bash and python block of `page`, in order, in a scratch repository."""
    if any("../shared/" in code for _, code, _ in _runnable(page)) and not SHARED.exists():
        pytest.skip("the page's examples read ../shared/external (absent)")
    cwd = _workdir(tmp_path)
    if any("polase-reproduce/" in code for _, code, _ in _runnable(page)):
        # the page's commands read what the quick start's `bash dev.sh run` writes
        _run_bash("polase reproduce -o polase-reproduce -q", cwd, f"{page.name}: quick start")
    namespace: dict = {"__name__": "__main__"}
    for lang, code, line in _runnable(page):
        if code.strip() == QUICK_START:
            continue  # runs this suite; see test_quick_start_is_the_documented_commands
        where = f"{page.relative_to(ROOT)}:{line}"
        if lang == "bash":
            _run_bash(code, cwd, where)
        else:
            _run_python(code, namespace, cwd, where, monkeypatch)


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path):
    """`mkdocs build --strict`: a broken link or a docstring mkdocstrings cannot read fails."""
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        pytest.skip("mkdocs not installed (pip install polase[test])")
    res = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "site" / "api" / "io" / "index.html").read_text().count("read_das6") > 0


def test_model_parameter_tables_are_generated_from_the_materials():
    """docs/model.md section 10's parameter tables are scripts/parameter_tables.py's output."""
    spec = importlib.util.spec_from_file_location(
        "_polase_parameter_tables", ROOT / "scripts" / "parameter_tables.py"
    )
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert gen.tables() in text, "re-run: python scripts/parameter_tables.py (docs/model.md §10)"
