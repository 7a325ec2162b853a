"""`python -m protlab ...`: the command line (see protlab.cli)."""

from __future__ import annotations

import sys

from protlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
