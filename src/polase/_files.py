"""Atomic, non-destructive output: nothing the user has is overwritten unless asked."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputFileError, OutputExistsError, PolaseError


def read_toml(path: str | Path, what: str = "") -> dict:
    """The table of a TOML file; `InputFileError` when it cannot be read or is not TOML.

    `what` names the file in the read error ("cannot read the protocol: ...").
    """
    import tomllib

    p = Path(path)
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        where = f" {what}" if what else ""
        raise InputFileError(p, f"cannot read{where}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(p, f"not valid TOML: {exc}") from None


def check_writable(path: str | Path, overwrite: bool = False) -> Path:
    """Return `path` as a Path; raise `OutputExistsError` if it exists and not `overwrite`."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(p)
    return p


@contextlib.contextmanager
def atomic_path(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`.

    On any exception the temporary file is removed and `path` is untouched.
    """
    target = check_writable(path, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file user-only (0600); give it the permissions a plain open() would
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        if target.exists() and not overwrite:  # appeared meanwhile
            raise OutputExistsError(target)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | Path, text: str, overwrite: bool = False) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_path(path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes, overwrite: bool = False) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_path(path, overwrite) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_netcdf_atomic(ds, path: str | Path, overwrite: bool = False) -> Path:
    """Write an xarray Dataset as NetCDF4 (h5netcdf engine) atomically."""
    with atomic_path(path, overwrite) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return Path(path)


@contextlib.contextmanager
def staged_folder(target: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside `target`; on success move it onto `target`.

    An existing `target` is refused unless `overwrite`; then it is renamed aside, the new
    folder renamed into place, and the old one deleted, so `target` is never half
    written. On any error the temporary folder is removed and `target` is untouched.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise OutputExistsError(target)
    if target.exists() and not target.is_dir():  # never replace a user's file by a folder
        raise PolaseError(f"{target} exists and is not a folder; remove it or choose another -o")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        _publish(tmp)
        if target.exists():
            if not overwrite:  # appeared meanwhile
                raise OutputExistsError(target)
            old = Path(
                tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)
            )
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _publish(folder: Path) -> None:
    """Give the staged tree ordinary permissions (temp files are created 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o777 & ~umask)
        for f in files:
            os.chmod(os.path.join(root, f), 0o666 & ~umask)
    os.chmod(folder, 0o777 & ~umask)
