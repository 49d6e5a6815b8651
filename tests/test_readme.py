"""Every ```bash and ```python block of README.md runs as written (see test_docs.py)."""

from __future__ import annotations

import pytest

from test_docs import ROOT, run_page


@pytest.mark.slow
def test_readme_blocks_run_as_written(tmp_path, monkeypatch):
    run_page(ROOT / "README.md", tmp_path, monkeypatch)
