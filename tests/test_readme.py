"""Every ```bash and ```python block of README.md runs as written (see test_docs.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# test_docs.py by path: the suite imports test modules without putting tests/ on sys.path
_spec = importlib.util.spec_from_file_location(
    "_polase_test_docs", Path(__file__).with_name("test_docs.py")
)
_docs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_docs)


@pytest.mark.slow
def test_readme_blocks_run_as_written(tmp_path, monkeypatch):
    _docs.run_page(_docs.ROOT / "README.md", tmp_path, monkeypatch)
