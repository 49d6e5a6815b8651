"""Atomic, non-destructive output."""

from __future__ import annotations

import os
import stat

import pytest

from polase._files import write_text_atomic
from polase.errors import OutputExistsError


def test_refuses_to_overwrite_and_keeps_content(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("user data")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_text_atomic(target, "new")
    assert target.read_text() == "user data"
    write_text_atomic(target, "new", overwrite=True)
    assert target.read_text() == "new"


def test_failure_leaves_no_partial_file(tmp_path):
    from polase._files import atomic_path

    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "x.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
