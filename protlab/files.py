"""Atomic file writes: write a temporary file beside the target, fsync it, then os.replace it over the target.

A reader (another browser tab, a crashed server restarting) therefore sees either the old file or the
complete new one, never half a file. If writing fails, the old file is left as it was and the temporary
file is removed.

    atomic_write(path, "text")                           # str is written as UTF-8, no newline translation
    atomic_write(path, b"bytes")
    atomic_write_with(path, lambda tmp: torch.save(obj, tmp))   # anything that writes to a path
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "atomic_write_with"]


def atomic_write_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call write(temporary path) in path's folder, fsync the result and rename it over path; return path."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _mode_for(path))  # mkstemp makes 0600 files; the result gets an ordinary file's mode
    finally:
        os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def atomic_write(path: str | Path, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write text (encoded with `encoding`) or bytes to path atomically; return path."""
    if isinstance(data, str):
        data = data.encode(encoding)
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"atomic_write writes str or bytes; got {type(data).__name__}.")
    return atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def _mode_for(path: Path) -> int:
    """The permission bits the written file gets: the replaced file's, else rw-r--r--."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o644


def _fsync(path: Path) -> None:
    """Flush a written file's contents to the disk."""
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Flush the folder entry of a renamed file (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
