"""ProtParam's global features of the bundled proteins, shipped precomputed so that no server computes them.

Predict's comparison panel shows where a protein lies among the 6,942 training proteins (length, weight,
pI, GRAVY, instability, aromaticity). Working them out takes 1.5-2.5 CPU-seconds, which a classroom server
would otherwise spend inside its own process on somebody's first prediction, holding every other student's
page up meanwhile. The table ships as assets/data/features/<sha256 of deepsol.csv>.csv: when the bundled
CSV changes, the name no longer matches, the features are computed instead (still correct, only slower) and
the test suite says to rebuild the file with rebuild_shipped().
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from protlab.data.features import GLOBAL_COLUMNS, features_frame
from protlab.data.loading import BUNDLED_DATA_PATH, load_labelled
from protlab.files import atomic_write_with

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "assets" / "data" / "features"  # shipped with ProtLab
FLOAT_FORMAT = "%.9g"  # nine significant digits: far below any difference the panel can show


def shipped_path(data_path: Path = BUNDLED_DATA_PATH) -> Path:
    """Where the features of this exact data file are (or would be) shipped: named by its sha256."""
    digest = hashlib.sha256(Path(data_path).read_bytes()).hexdigest()
    return SHIPPED_DIR / f"{digest}.csv"


def _compute(data_path: Path) -> pd.DataFrame:
    """ProtParam's GLOBAL_COLUMNS of every protein in the file, in file order.  # (N, 7)"""
    data, _ = load_labelled(data_path)
    return features_frame(data.sequences)[GLOBAL_COLUMNS]


def bundled_features(data_path: Path = BUNDLED_DATA_PATH) -> pd.DataFrame:
    """The global features of every bundled protein: the shipped table, else computed.  # (N, 7)"""
    path = shipped_path(data_path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError):  # missing (data changed) or unreadable: compute, as before shipping
        return _compute(data_path)
    if list(frame.columns) != GLOBAL_COLUMNS:  # written by another version of the feature list
        return _compute(data_path)
    return frame.astype("float64")


def rebuild_shipped(data_path: Path = BUNDLED_DATA_PATH) -> Path:
    """Recompute the shipped table for the current data file (a maintainer's command); returns its path."""
    frame = _compute(data_path)
    path = shipped_path(data_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in path.parent.glob("*.csv"):
        if old != path:
            old.unlink()  # the table of an older data file
    atomic_write_with(path, lambda tmp: frame.to_csv(tmp, index=False, float_format=FLOAT_FORMAT))
    return path
