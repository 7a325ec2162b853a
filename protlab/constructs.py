"""Expression tags in a sequence, and how the bundled labels differ with them.

DeepSol's proteins were expressed from the constructs of many labs, and a construct leaves its mark at the
sequence ends: a run of histidines (a His tag) near the N- or C-terminus. In the bundled data the tag's end
goes with very different soluble shares, so a model learns it; the Predict page says so when a sequence
carries one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from protlab.errors import DataFormatError

HIS_RUN = 6  # histidines in a row that make a His tag
TAG_WINDOW = 25  # residues at each end in which a tag is looked for
ENDS = ("N", "C", "none")  # where a sequence's His tag sits
_RUN = re.compile(f"H{{{HIS_RUN},}}")


@dataclass(frozen=True)
class HisTag:
    """A His tag found near one end of a sequence."""

    end: str  # "N" or "C"
    first: int  # 1-based position of its first histidine
    last: int  # 1-based position of its last histidine


def find_his_tag(sequence: str) -> HisTag | None:
    """The His tag within TAG_WINDOW residues of the N-terminus, else of the C-terminus, else None."""
    sequence = sequence.upper()
    n = len(sequence)
    for end in ("N", "C"):
        for run in _RUN.finditer(sequence):
            near = run.start() < TAG_WINDOW if end == "N" else run.end() > n - TAG_WINDOW
            if near:
                return HisTag(end, run.start() + 1, run.end())
    return None


def tag_end(sequence: str) -> str:
    """Where the sequence's His tag sits: "N", "C" or "none"."""
    tag = find_his_tag(sequence)
    return "none" if tag is None else tag.end


@dataclass(frozen=True)
class TagShare:
    """How many labelled proteins have their His tag at one end, and how many of them are soluble."""

    end: str  # "N", "C" or "none"
    proteins: int  # proteins with the tag there
    soluble: int  # of which labelled soluble

    @property
    def share(self) -> float:
        """Fraction of them soluble (NaN when there are none)."""
        return self.soluble / self.proteins if self.proteins else float("nan")


def tag_shares(sequences: Sequence[str], labels: Sequence[int] | np.ndarray) -> dict[str, TagShare]:
    """Soluble share of labelled proteins by where their His tag sits (N, C or none)."""
    labels = np.asarray(labels)
    if len(labels) != len(sequences):
        n, got = len(sequences), len(labels)
        raise DataFormatError(f"labels must have one entry per sequence ({n}); got {got}.")
    ends = np.array([tag_end(s) for s in sequences])
    counts = {end: ((ends == end).sum(), ((ends == end) & (labels == 1)).sum()) for end in ENDS}
    return {end: TagShare(end, int(n), int(soluble)) for end, (n, soluble) in counts.items()}
