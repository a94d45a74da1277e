"""Atomic file writes: a temp file beside the target, flushed, fsynced and renamed over it.

A crash (or an exception from the writer) in the middle of an export never leaves a half file
under the final name: either the old file (or none) or the complete new one is there.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success rename it over ``target``,
    on any exception delete it. For writers that want a file name (openpyxl, QPdfWriter).
    The file gets mode 0644 (or the replaced file's mode); secrets files set their own."""
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    # mkstemp makes the file 0600; a report is an ordinary file (keep an existing file's mode).
    with contextlib.suppress(OSError):
        os.chmod(tmp, final.stat().st_mode & 0o777 if final.exists() else 0o644)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(final.parent)


@contextlib.contextmanager
def _open(target: str | os.PathLike[str], mode: str, **kwargs: Any) -> Iterator[IO[Any]]:
    with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as f:
        yield f


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically; returns the final path."""
    with _open(target, "wb") as f:
        f.write(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8",
                      newline: str | None = None) -> Path:
    """Write ``text`` to ``target`` atomically; returns the final path."""
    with _open(target, "w", encoding=encoding, newline=newline) as f:
        f.write(text)
    return Path(target)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
