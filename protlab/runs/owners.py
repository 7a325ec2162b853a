"""Who a run belongs to and how the class sees it: owner tokens, run ids given as rows, shared names."""

from __future__ import annotations

import unicodedata

from protlab.errors import RunError
from protlab.runs.store import OWNER

DISPLAY_NAME_CHARS = 40  # longest name a shared run is shown under


def run_id_of(run: object) -> object:
    """Accept a run id or a row from list_runs (its 'run_id')."""
    return run.get("run_id") if isinstance(run, dict) else run


def check_owner(owner: object) -> None:
    """Owners are opaque tokens of 1-64 letters, digits, '_' or '-' (safe in file names)."""
    if not isinstance(owner, str) or not OWNER.match(owner):
        raise RunError(
            f"owner must be a session token of 1 to 64 letters, digits, '_' or '-'; got {owner!r}."
        )


def shared_name(text: object) -> str:
    """The name a shared run is shown under: one line of at most DISPLAY_NAME_CHARS characters."""
    if not isinstance(text, str):
        raise RunError(f"display_name must be text; got {text!r}.")
    name = " ".join(text.split())
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in name):
        raise RunError("display_name may only contain visible characters and spaces; remove the hidden ones.")
    if len(name) > DISPLAY_NAME_CHARS:
        raise RunError(f"display_name must be at most {DISPLAY_NAME_CHARS} characters; got {len(name)}.")
    return name or "Anonymous"
