"""What ProtLab remembers for each student between visits: small settings and one file per upload slot.

Layout under the root (by default $PROTLAB_HOME/students):
    <owner>/values/<key>.json              one JSON value per key (settings, pasted text)
    <owner>/uploads/<slot>.bin + .json     an uploaded file's bytes and its meta (name, size, SHA-256)
Owners, keys and slots are checked against strict patterns before they touch a path; a file's own name is kept
only inside the meta JSON. Every write goes to a temporary file that is renamed into place, so a reader sees
the old content or the new one, never half of it. Unreadable or damaged entries read as missing.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from protlab.errors import ProtlabError
from protlab.files import atomic_write

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_VALUE_BYTES",
    "StoredUpload",
    "StudentStore",
    "StudentStoreError",
    "clean_file_name",
]

OWNER = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # the run system's owner ids
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # value keys and upload slots, chosen by the app (never by users)
MAX_VALUE_BYTES = 1_000_000  # one saved value as JSON: room for a long pasted FASTA
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # one uploaded file: the server's upload limit (.streamlit/config.toml)
MAX_NAME_CHARS = 120  # an uploaded file's display name is cut to this length


class StudentStoreError(ProtlabError, ValueError):
    """A value or file that cannot be remembered (bad owner/key, too large, not JSON)."""


@dataclass(frozen=True)
class StoredUpload:
    """An uploaded file as the student gave it."""

    name: str  # the file's name as uploaded (display only, never a path)
    data: bytes  # its content

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


def clean_file_name(name: object) -> str:
    """A printable display name for an uploaded file: its last path part, no control characters, bounded."""
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C").strip()
    return text[:MAX_NAME_CHARS] or "uploaded file"


class StudentStore:
    """Per-student JSON values and uploaded files on disk."""

    def __init__(self, root: Path | str, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.root = Path(root)
        self.max_upload_bytes = max_upload_bytes  # largest file save_upload accepts

    def save(self, owner: str, key: str, value: Any) -> None:
        """Remember a JSON-serialisable value under key for owner."""
        try:
            text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as err:
            raise StudentStoreError(f"The value for {key!r} cannot be saved as JSON ({err}).") from None
        data = text.encode("utf-8")
        if len(data) > MAX_VALUE_BYTES:
            raise StudentStoreError(
                f"The value for {key!r} is {len(data):,} bytes; at most "
                f"{MAX_VALUE_BYTES:,} bytes are remembered."
            )
        path = self._folder(owner) / "values" / f"{_check(key, 'key')}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)

    def load(self, owner: str, key: str, default: Any = None) -> Any:
        """The value saved under key for owner, or default if there is none (or it cannot be read)."""
        path = self._folder(owner) / "values" / f"{_check(key, 'key')}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return default

    def forget(self, owner: str, key: str) -> None:
        """Remove the value saved under key (nothing happens if there is none)."""
        (self._folder(owner) / "values" / f"{_check(key, 'key')}.json").unlink(missing_ok=True)

    def save_upload(self, owner: str, slot: str, name: str, data: bytes) -> StoredUpload:
        """Remember an uploaded file in slot (replacing the one before); returns what was stored."""
        if not isinstance(data, (bytes, bytearray)):
            raise StudentStoreError(f"An upload must be bytes; got {type(data).__name__}.")
        if len(data) > self.max_upload_bytes:
            raise StudentStoreError(
                f"The file is {len(data) / 1e6:.1f} MB; files up to "
                f"{self.max_upload_bytes / 1e6:.0f} MB are kept."
            )
        upload = StoredUpload(clean_file_name(name), bytes(data))
        folder = self._folder(owner) / "uploads"
        slot = _check(slot, "slot")
        meta = {"name": upload.name, "size": upload.size, "sha256": hashlib.sha256(upload.data).hexdigest()}
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / f"{slot}.bin", upload.data)  # the meta (written last) vouches for these bytes
        atomic_write(folder / f"{slot}.json", json.dumps(meta))
        return upload

    def load_upload(self, owner: str, slot: str) -> StoredUpload | None:
        """The file remembered in slot, or None if there is none or it does not match its meta."""
        folder = self._folder(owner) / "uploads"
        slot = _check(slot, "slot")
        try:
            meta = json.loads((folder / f"{slot}.json").read_text(encoding="utf-8"))
            data = (folder / f"{slot}.bin").read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(data).hexdigest():
            return None  # a newer file is being written, or the files were damaged
        return StoredUpload(clean_file_name(meta.get("name")), data)

    def clear_upload(self, owner: str, slot: str) -> None:
        """Forget the file in slot (nothing happens if there is none)."""
        folder = self._folder(owner) / "uploads"
        slot = _check(slot, "slot")
        (folder / f"{slot}.json").unlink(missing_ok=True)
        (folder / f"{slot}.bin").unlink(missing_ok=True)

    def delete_student(self, owner: str) -> None:
        """Forget everything remembered for owner."""
        shutil.rmtree(self._folder(owner), ignore_errors=True)

    def _folder(self, owner: str) -> Path:
        """<root>/<owner>, after checking owner."""
        if not isinstance(owner, str) or not OWNER.match(owner):
            raise StudentStoreError(f"owner must be 16 to 64 letters, digits, '-' or '_'; got {owner!r}.")
        return self.root / owner


def _check(name: object, what: str) -> str:
    """Return name if it is a valid key or slot; raise StudentStoreError otherwise."""
    if not isinstance(name, str) or not KEY.match(name):
        raise StudentStoreError(
            f"{what} must be 1 to 64 lowercase letters, digits or '_' starting with a letter; got {name!r}."
        )
    return name
