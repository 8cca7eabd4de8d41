"""Atomic file writes: a reader never sees a half-written file under its final name."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from voxcli.errors import VoxError

TEMP_SUFFIX = ".part"


def _read_umask() -> int:
    # Read once, at import (before any thread starts): os.umask can only be read by setting it.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_writer(path: Path, *, durable: bool = True) -> Iterator[BinaryIO]:
    """Open a temp file beside ``path``; on success fsync it and rename it over ``path``.

    On any error the temp file is removed and ``path`` is left as it was. ``durable=False``: no
    fsync (see :func:`atomic_path`).
    """
    with atomic_path(path, durable=durable) as tmp, tmp.open("wb") as handle:
        yield handle


@contextlib.contextmanager
def atomic_path(path: Path, *, durable: bool = True) -> Iterator[Path]:
    """A temp path beside ``path`` (a unique, empty file) for a library to write to; fsynced and
    renamed over ``path`` on success, removed on failure.

    ``durable=False`` leaves out the fsyncs (of the file and of its folder): a crashed or killed
    process still leaves the old file or the whole new one, but after a power cut the new one may
    be gone or empty. For files that can be made again and are checked when read (the audio
    cache), where an fsync per file would cost more than the work it saves.
    """
    path = Path(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise write_error(path, exc) from exc
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
        # mkstemp creates 0600 files; give the result the usual permissions.
        tmp.chmod(0o666 & ~_UMASK)
        tmp.replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_error(path, exc) from exc
        raise
    if durable:
        _fsync_dir(path.parent)


def write_error(path: Path, exc: OSError) -> VoxError:
    """One line for a failed write, with the fix that fits the cause."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "free some disk space, or write somewhere else with -o"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a folder you can write to"
    else:
        fix = "check that the folder exists and is writable"
    return VoxError(f"cannot write {path}: {exc.strerror or exc}", fix)


def make_dirs(folder: Path) -> None:
    """mkdir -p, with a write error the user can act on."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from exc


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files left by a killed run (``.NAME.PID.part``); returns how many."""
    removed = 0
    for stale in folder.glob(f".*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed += 1
    return removed


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (``durable``: see :func:`atomic_path`)."""
    with atomic_writer(path, durable=durable) as handle:
        handle.write(data)


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and harmless to skip there.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_if_changed(path: Path, data: bytes) -> None:
    """Write ``data`` (atomically) unless the file holds it already: a re-run with nothing to do
    leaves the folder exactly as it was, timestamps included."""
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    atomic_write_bytes(path, data)
