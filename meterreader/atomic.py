"""Atomic file writes: a temp file beside the target, flushed, fsynced and renamed over it.

A crash (or an exception from the writer) in the middle of an export never leaves a half file
under the final name: either the old file (or none) or the complete new one is there.

Modes: a replaced file keeps its mode; a new file gets what ``open(path, "w")`` would give,
0666 less the process umask (the kernel applies the umask when the temp file is created, so
it is never read or changed here: ``os.umask`` is process-wide and not thread-safe).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str = ".part") -> Iterator[Path]:
    """Yield a temporary path in the target's directory; on success rename it over ``target``,
    on any exception delete it. For writers that want a file name (openpyxl, QPdfWriter).
    The file gets the replaced file's mode, or 0666 less the umask when it is new (see the
    module docstring); secrets files set their own."""
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(final, suffix)
    try:
        mode = os.stat(final).st_mode
    except OSError:
        pass  # a new file: the umask applied at creation stands
    else:
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode & 0o777)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(final.parent)


def _create_temp(final: Path, suffix: str) -> Path:
    """Create an empty, unique temp file beside ``final`` with mode 0666 less the umask
    (O_EXCL: never an existing file or a planted symlink)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = final.parent / f".{final.name}.{secrets.token_hex(6)}{suffix}"
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name beside {final}")


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
