"""The calls against a file's own labels: how a model does on the student's proteins, honestly.

A model card's held-out figures come from its own test proteins. A student's labelled set can tell another
story (another definition of soluble, other organisms), and a set drawn from the bundled DeepSol data tells
an optimistic one: the default model learned from those proteins. `check_labels` gives the figures with
95% bootstrap intervals, counts the proteins the bundled data holds, and reads an AUC near or below chance.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_COMPARED = 10  # labelled proteins (of both classes) before figures on them are worth giving
CHANCE_BAND = 0.1  # an AUC within this of 0.5 is read as no better than chance


@functools.cache
def _bundled_sequences() -> frozenset[str]:
    """The sequences of the bundled DeepSol data (read once per process)."""
    from protlab.data import load_bundled

    data, _ = load_bundled()
    return frozenset(data.sequences)


def seen_in_bundled(sequences: Sequence[str]) -> int:
    """How many of the sequences are in the bundled DeepSol data, which the default model learned from."""
    bundled = _bundled_sequences()
    return sum(s in bundled for s in sequences)


@dataclass(frozen=True)
class LabelCheck:
    """The calls of one model against the labels of a file, at one threshold."""

    n: int  # labelled proteins compared
    soluble: int  # of them labelled 1
    threshold: float  # P(soluble) at or above it is called soluble
    metrics: dict  # compute_metrics: accuracy, auc, mcc, tp, tn, fp, fn, ... (empty when not computed)
    intervals: dict  # bootstrap_intervals: {metric: {value, low, high}} (empty when not computed)
    seen: int  # labelled proteins that are in the bundled DeepSol data
    why_not: str = ""  # why no figures were computed (too few proteins, one class), else ""

    def interval(self, name: str) -> str:
        """'0.71 to 0.83': a metric's 95% interval, written so that a negative bound reads clearly."""
        bounds = self.intervals[name]
        return f"{bounds['low']:.2f} to {bounds['high']:.2f}"

    def reading(self) -> str:
        """What the AUC says when it is near or below chance (empty otherwise)."""
        auc = self.metrics.get("auc", float("nan"))
        if not np.isfinite(auc) or auc >= 0.5 + CHANCE_BAND:
            return ""
        if auc <= 0.5 - CHANCE_BAND:
            return (
                f"An AUC of {auc:.2f} is worse than chance: the model ranks your soluble proteins below your "
                "insoluble ones. Check that 1 means soluble in your file; labels the other way round give "
                "exactly this."
            )
        return (
            f"An AUC of {auc:.2f} is no better than chance (0.5): on these proteins the model's scores do "
            "not tell your two classes apart."
        )

    def seen_warning(self) -> str:
        """A warning when labelled proteins are in the bundled DeepSol data (empty otherwise)."""
        if not self.seen:
            return ""
        return (
            f"{self.seen:,} of your {self.n:,} labelled proteins are in the bundled DeepSol data, which the "
            "default model (and any run on the bundled data) learned from or was tuned on: on those, the "
            "figures are optimistic. Leave them out to measure the model on proteins it has not seen."
        )

    def lines(self) -> list[str]:
        """The check as plain sentences (the command line prints them)."""
        if self.why_not:
            return [self.why_not]
        m = self.metrics
        figures = ", ".join(
            f"{title} {m[key]:.3f} (95% interval {self.interval(key)})"
            for key, title in (("auc", "AUC"), ("accuracy", "accuracy"), ("mcc", "MCC"))
        )
        head = f"Against the file's labels ({self.n:,} proteins, threshold {self.threshold:.2f}): {figures}."
        return [line for line in (head, self.reading(), self.seen_warning()) if line]


def check_labels(
    p_soluble: Sequence[float], labels: Sequence[int], sequences: Sequence[str], threshold: float
) -> LabelCheck:
    """The calls (P(soluble) at threshold) against labels 1, 0 or -1 (none), per protein in one order."""
    from protlab.training import bootstrap_intervals, compute_metrics

    y_all = np.asarray(labels, dtype=np.int64)  # (N,) 1, 0 or -1
    known = y_all >= 0
    y, p = y_all[known], np.asarray(p_soluble, dtype=np.float64)[known]  # (n,) the labelled proteins
    seen = seen_in_bundled([s for s, k in zip(sequences, known) if k])
    soluble = int(y.sum())
    base = {"n": int(y.size), "soluble": soluble, "threshold": float(threshold), "seen": seen}
    if y.size < MIN_COMPARED or soluble in (0, y.size):
        one = "soluble" if soluble else "insoluble"
        why = (
            f"All {y.size:,} labels are {one}: AUC and MCC need proteins of both classes; the calls agree "
            f"with {int(((p >= threshold) == (y == 1)).sum()):,} of them."
            if y.size >= MIN_COMPARED
            else f"The file labels {y.size:,} proteins ({soluble:,} soluble): figures need at least "
            f"{MIN_COMPARED} labelled proteins, some of each class."
        )
        return LabelCheck(metrics={}, intervals={}, why_not=why, **base)
    metrics = compute_metrics(y, p, threshold=threshold)
    return LabelCheck(metrics=metrics, intervals=bootstrap_intervals(y, p, threshold=threshold), **base)
