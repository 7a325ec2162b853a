"""`python -m protlab.runs <run folder>` trains one stored run; `--serve`: the local pool's worker loop."""

from __future__ import annotations

from protlab.runs.worker import exit_now, main

if __name__ == "__main__":
    exit_now(main())
