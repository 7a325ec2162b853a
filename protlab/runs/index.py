"""Indexes beside the run folders, so listing a student's runs or the class's shared runs reads only those.

    <root>/_owners/<owner>/<run_id>    an empty file for every run of an owner
    <root>/_shared/<run_id>            {"display_name": ...} for every run its owner shares with the class

Owner tokens and run ids are checked against strict patterns before they reach a path (store.OWNER, RUN_ID).
A root written before these indexes existed is indexed once, from its run.json files, on first use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from protlab.files import atomic_write
from protlab.runs.store import OWNER, RUN_ID, RUN_JSON

__all__ = ["RunIndex"]


class RunIndex:
    """Which runs belong to which owner, and which runs are shared."""

    def __init__(self, root: Path) -> None:
        self.owners_dir, self.shared_dir = root / "_owners", root / "_shared"
        if not self.owners_dir.exists():
            self._index_existing(root)
        self.shared_dir.mkdir(parents=True, exist_ok=True)

    def add(self, owner: str, run_id: str) -> None:
        """Record that owner has run_id."""
        folder = self.owners_dir / owner
        folder.mkdir(parents=True, exist_ok=True)
        (folder / run_id).touch()

    def remove(self, owner: str, run_id: str) -> None:
        """Forget run_id (deleted)."""
        (self.owners_dir / owner / run_id).unlink(missing_ok=True)
        self.unshare(run_id)

    def runs_of(self, owner: str) -> list[str]:
        """owner's run ids by id, newest first (ids resolve seconds; RunManager sorts by submission time)."""
        return sorted((n for n in _listdir(self.owners_dir / owner) if RUN_ID.match(n)), reverse=True)

    def share(self, run_id: str, display_name: str) -> None:
        """Share a run with the class under display_name."""
        atomic_write(self.shared_dir / run_id, json.dumps({"display_name": display_name}))

    def unshare(self, run_id: str) -> None:
        """Stop sharing a run."""
        (self.shared_dir / run_id).unlink(missing_ok=True)

    def display_name(self, run_id: str) -> str | None:
        """The name a shared run is shown under; None when the run is not shared."""
        try:
            return str(json.loads((self.shared_dir / run_id).read_text(encoding="utf-8"))["display_name"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def shared_ids(self) -> list[str]:
        """Every shared run id by id, newest first."""
        return sorted((n for n in _listdir(self.shared_dir) if RUN_ID.match(n)), reverse=True)

    def _index_existing(self, root: Path) -> None:
        """Index the runs of a root made before the indexes existed (once)."""
        tmp = root / "_owners.building"
        for name in _listdir(root):
            if not RUN_ID.match(name):
                continue
            try:
                owner = json.loads((root / name / RUN_JSON).read_text(encoding="utf-8")).get("owner")
            except (OSError, ValueError, AttributeError):
                continue
            if isinstance(owner, str) and OWNER.match(owner):
                (tmp / owner).mkdir(parents=True, exist_ok=True)
                (tmp / owner / name).touch()
        tmp.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(tmp, self.owners_dir)
        except OSError:  # another process indexed it at the same moment
            pass


def _listdir(folder: Path) -> list[str]:
    """Names in a folder (empty when it does not exist)."""
    try:
        return os.listdir(folder)
    except FileNotFoundError:
        return []
