"""One submit at a time per run root: a thread lock, plus a file lock across processes where fcntl exists."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def submit_lock(root: Path, lock: threading.Lock) -> Iterator[None]:
    """Serialise submit's check-then-enqueue in this process (lock) and across processes (a file lock)."""
    with lock:
        try:
            import fcntl
        except ImportError:  # Windows: one server process per root
            yield
            return
        with open(root / ".submit.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
