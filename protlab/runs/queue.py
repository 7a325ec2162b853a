"""The class's first-in-first-out queue of runs, kept as files so that any process can read and claim from it.

    <root>/_queue/<created ns>-<run_id>    a queued run; names sort in submission order (FIFO across owners)
    <root>/_running/<run_id>               a claimed run (starting or training); its mtime is the heartbeat

A run moves from _queue to _running by os.rename, which succeeds for exactly one caller: two servers (or two
RunManagers in one process) on the same root can never launch the same run twice. Cancelling a queued run is
os.unlink of its queue entry, which likewise fails when a dispatcher claimed it first. Whoever launched a run
touches its marker every few seconds while it lives (the server for its own processes, the worker itself),
so a marker nobody touched for STALE_SECONDS belongs to a run whose process is gone.
"""

from __future__ import annotations

import heapq
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from protlab.files import atomic_write

__all__ = ["HOST", "STALE_SECONDS", "QueueEntry", "RunQueue", "estimate_waits", "pid_alive"]

HOST = socket.gethostname()  # markers name the machine of the server and of the worker
STALE_SECONDS = 60.0  # a marker untouched this long: nobody is running that run any more
_LAST_NS, _CLOCK_LOCK = 0, threading.Lock()  # the last queue time handed out by this process


@dataclass(frozen=True)
class QueueEntry:
    """One queued run: its file name gives the order, its content the owner and the epochs asked for."""

    name: str  # '<created ns>-<run_id>'
    run_id: str  # the run
    owner: str  # who submitted it
    epochs: int  # epochs requested (for the wait estimate)


class RunQueue:
    """The _queue and _running folders of a runs root."""

    def __init__(self, root: Path) -> None:
        self.queue_dir, self.running_dir = root / "_queue", root / "_running"
        self.queue_dir.mkdir(parents=True, exist_ok=True)
        self.running_dir.mkdir(parents=True, exist_ok=True)
        self._infos: dict[str, QueueEntry] = {}  # entry name -> entry (entries never change while queued)

    # ------------------------------------------------------------------ queued runs
    def enqueue(self, run_id: str, owner: str, epochs: int) -> None:
        """Append a run to the queue."""
        global _LAST_NS
        with _CLOCK_LOCK:  # strictly increasing within this process, even on a coarse clock
            _LAST_NS = max(time.time_ns(), _LAST_NS + 1)
            name = f"{_LAST_NS:020d}-{run_id}"
        atomic_write(self.queue_dir / name, json.dumps({"owner": owner, "epochs": epochs}))

    def entries(self) -> list[QueueEntry]:
        """Queued runs, first submitted first."""
        names = sorted(n for n in _listdir(self.queue_dir) if not n.startswith("."))
        entries = [e for e in (self._entry(n) for n in names) if e is not None]
        self._infos = {e.name: e for e in entries}  # forget entries that left the queue
        return entries

    def _entry(self, name: str) -> QueueEntry | None:
        """The entry of a queue file (cached), or None if it vanished or is unreadable."""
        cached = self._infos.get(name)
        if cached is not None:
            return cached
        info = _read_json(self.queue_dir / name)
        if info is None:
            return None
        run_id = name.split("-", 1)[1]
        entry = QueueEntry(name, run_id, str(info.get("owner", "")), int(info.get("epochs", 1)))
        self._infos[name] = entry
        return entry

    def cancel(self, run_id: str) -> bool:
        """Take a queued run out of the queue; False when it is not queued (already claimed or ended)."""
        for name in _listdir(self.queue_dir):
            if name.endswith(f"-{run_id}"):
                try:
                    os.unlink(self.queue_dir / name)
                    return True
                except FileNotFoundError:
                    return False
        return False

    # ------------------------------------------------------------------ claimed runs
    def claim(self, entry: QueueEntry, info: dict) -> bool:
        """Move a queued run to _running (atomic; True for exactly one caller) and record who claimed it."""
        marker = self.running_dir / entry.run_id
        try:
            os.rename(self.queue_dir / entry.name, marker)
        except FileNotFoundError:
            return False
        atomic_write(marker, json.dumps({"owner": entry.owner, "epochs": entry.epochs, **info}))
        return True

    def running(self) -> list[tuple[str, dict, float]]:
        """Claimed runs as (run_id, marker content, seconds since its last heartbeat)."""
        now, out = time.time(), []
        for name in _listdir(self.running_dir):
            if name.startswith("."):
                continue
            path = self.running_dir / name
            try:
                age = now - path.stat().st_mtime
            except FileNotFoundError:
                continue
            out.append((name, _read_json(path) or {}, age))
        return out

    def update(self, run_id: str, **fields: object) -> None:
        """Add fields to a claimed run's marker (the worker's host and pid)."""
        path = self.running_dir / run_id
        info = _read_json(path)
        if info is not None:
            atomic_write(path, json.dumps({**info, **fields}))

    def heartbeat(self, run_id: str) -> None:
        """Mark a claimed run as alive now."""
        try:
            os.utime(self.running_dir / run_id)
        except FileNotFoundError:
            pass

    def release(self, run_id: str) -> None:
        """Forget a claimed run (it has ended)."""
        (self.running_dir / run_id).unlink(missing_ok=True)

    def where(self, run_id: str) -> str | None:
        """'queued', 'running' (claimed) or None when the run is in neither folder."""
        # the queue first: a claim moves a run from the queue to _running, never back
        if any(n.endswith(f"-{run_id}") for n in _listdir(self.queue_dir)):
            return "queued"
        if (self.running_dir / run_id).exists():
            return "running"
        return None

    def active_owners(self) -> dict[str, str]:
        """owner -> run id of every queued or claimed run."""
        owners = {e.owner: e.run_id for e in self.entries()}
        owners.update({str(info.get("owner")): run_id for run_id, info, _ in self.running()})
        return owners


def is_abandoned(info: dict, age: float, watched_here: bool) -> bool:
    """Whether a claimed run's process is gone (judged by a server that did not launch it)."""
    if watched_here:  # another RunManager of this process launched it and watches its process
        return False
    if age > STALE_SECONDS:
        return True
    server_pid, worker_pid = info.get("server_pid"), info.get("worker_pid")
    if info.get("host") == HOST and server_pid != os.getpid() and pid_alive(server_pid):
        return False  # the server that launched it is alive and will report how it ended
    if info.get("worker_host") == HOST and worker_pid:
        return not pid_alive(worker_pid)
    return False  # starting, or on another machine: wait for the heartbeat to go stale


def pid_alive(pid: object) -> bool:
    """Whether a process with this id exists on this machine."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a zombie (ended, not yet collected by its parent) is not alive
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def estimate_waits(
    entries: list[QueueEntry], remaining: list[float], workers: int, seconds_per_epoch: float | None
) -> dict[str, float]:
    """Seconds until each queued run starts: queued runs go, in order, to the first worker that frees up.

    remaining holds the seconds left of each run that is training now; a queued run takes
    seconds_per_epoch x its epochs (None: no estimate yet, empty result).
    """
    if seconds_per_epoch is None or workers < 1:  # no estimate yet, or no worker a run could start on
        return {}
    free = sorted(remaining)[:workers] + [0.0] * max(0, workers - len(remaining))
    heapq.heapify(free)
    waits = {}
    for entry in entries:
        start = heapq.heappop(free)
        waits[entry.run_id] = start
        heapq.heappush(free, start + seconds_per_epoch * entry.epochs)
    return waits


def _listdir(folder: Path) -> list[str]:
    """Names in a folder (empty when it does not exist)."""
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []


def _read_json(path: Path) -> dict | None:
    """A small JSON file, or None when it is missing or unreadable."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
