"""`python -m protlab.runs <run folder>` trains one stored run; `--serve`: the local pool's worker loop."""

from __future__ import annotations

import sys

from protlab.runs.worker import main

if __name__ == "__main__":
    sys.exit(main())
