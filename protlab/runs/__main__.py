"""`python -m protlab.runs <run folder>`: train one stored run here (how worker processes start)."""

from __future__ import annotations

import sys

from protlab.runs.worker import main

sys.exit(main())
