"""Where ProtLab keeps its state on this machine: $PROTLAB_HOME, or ~/.protlab without it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def protlab_home(environ: Mapping[str, str] | None = None) -> Path:
    """$PROTLAB_HOME (read from `environ`, os.environ by default), or ~/.protlab."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("PROTLAB_HOME") or Path.home() / ".protlab")
