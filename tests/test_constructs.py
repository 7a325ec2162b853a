"""His tags near the sequence ends, and the bundled labels' soluble shares by where the tag sits."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from protlab.constructs import HIS_RUN, TAG_WINDOW, HisTag, find_his_tag, tag_shares
from protlab.errors import DataFormatError

BODY = "MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLN"  # thioredoxin's start, no tag


def _reference_end(sequence: str) -> str:
    """Where the tag sits, by regular expressions on the two end windows (N first)."""
    run = "H" * HIS_RUN
    if re.search(f"^.{{0,{TAG_WINDOW - 1}}}{run}", sequence):  # a run starting among the first residues
        return "N"
    if re.search(f"{run}.{{0,{TAG_WINDOW - 1}}}$", sequence):  # a run ending among the last residues
        return "C"
    return "none"


@pytest.mark.parametrize(
    "sequence, expected",
    [
        ("MGSDKIHHHHHH" + BODY, HisTag("N", 7, 12)),
        ("MGSSHHHHHHHHSSG" + BODY, HisTag("N", 5, 12)),  # a longer run counts whole
        (BODY + "LEHHHHHH", HisTag("C", len(BODY) + 3, len(BODY) + 8)),
        (BODY + "HHHHH", None),  # five are not a tag
        (BODY[:30] + "HHHHHH" + BODY, None),  # in the middle, far from both ends
        ("mgshhhhhh" + BODY.lower(), HisTag("N", 4, 9)),  # typed in lower case
    ],
)
def test_find_his_tag(sequence: str, expected: HisTag | None) -> None:
    assert find_his_tag(sequence) == expected


def test_the_windows_agree_with_regular_expressions_on_random_sequences() -> None:
    rng = np.random.default_rng(0)
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    for _ in range(300):
        parts = ["".join(rng.choice(letters, size=int(rng.integers(0, 40)))) for _ in range(3)]
        tag = "H" * int(rng.integers(4, 9))
        sequence = parts[0] + tag + parts[1] if rng.random() < 0.5 else parts[1] + tag + parts[2]
        found = find_his_tag(sequence)
        assert ("none" if found is None else found.end) == _reference_end(sequence), sequence


def test_tag_shares_match_a_pandas_count() -> None:
    rng = np.random.default_rng(1)
    sequences = ["MGSDKIHHHHHH" + BODY, BODY + "LEHHHHHH", BODY, BODY + "HHH", "MHHHHHHA" + BODY] * 7
    labels = rng.integers(0, 2, len(sequences))
    frame = pd.DataFrame({"end": [_reference_end(s) for s in sequences], "label": labels})
    shares = tag_shares(sequences, labels)
    for end in ("N", "C", "none"):
        rows = frame[frame["end"] == end]
        assert (shares[end].proteins, shares[end].soluble) == (len(rows), int(rows["label"].sum()))
        assert shares[end].share == pytest.approx(rows["label"].mean())


def test_labels_must_match_the_sequences() -> None:
    with pytest.raises(DataFormatError, match="one entry per sequence"):
        tag_shares([BODY, BODY], [1])
