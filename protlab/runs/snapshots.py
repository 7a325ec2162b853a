"""Per-epoch weights of small CNN runs, kept so a lesson can draw the training path across the loss landscape.

    <run folder>/epochs/0000.pt    the weights before training (epoch 0)
    <run folder>/epochs/0003.pt    the weights after epoch 3, ...

Bounded: only solubility runs of the 'cnn' kind, at most MAX_SNAPSHOTS files and MAX_SNAPSHOT_BYTES in all
(a long run keeps every k-th epoch and its last); a bigger model keeps none.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn as nn

from protlab.files import atomic_write_with

__all__ = ["EpochSnapshots", "MAX_SNAPSHOTS", "MAX_SNAPSHOT_BYTES", "SNAPSHOT_KINDS", "read_snapshots"]

SNAPSHOT_KINDS = ("cnn",)  # model kinds whose runs keep per-epoch weights
MAX_SNAPSHOTS = 21  # most weight files one run keeps (the start included)
MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024  # most bytes of weights one run keeps
MIN_SNAPSHOTS = 3  # a model too big for this many snapshots keeps none
FOLDER = "epochs"
_NAME = re.compile(r"^(\d{4})\.pt$")


class EpochSnapshots:
    """Training callback: saves the model's parameters at the start and after chosen epochs."""

    def __init__(self, folder: Path, model: nn.Module, task: str, model_kind: str, epochs: int) -> None:
        self.folder, self.model, self.epochs = Path(folder) / FOLDER, model, int(epochs)
        size = sum(p.numel() * p.element_size() for p in model.parameters())
        budget = min(MAX_SNAPSHOTS, MAX_SNAPSHOT_BYTES // max(size, 1))
        self.enabled = task == "solubility" and model_kind in SNAPSHOT_KINDS and budget >= MIN_SNAPSHOTS
        # the start and the last epoch always; every `every`-th epoch between them
        self.every = max(1, math.ceil(self.epochs / max(1, budget - 2)))
        if self.enabled:
            self.save(0)

    def __call__(self, event: object) -> None:
        from protlab.training.events import EpochEvent

        if self.enabled and isinstance(event, EpochEvent):
            if event.epoch % self.every == 0 or event.epoch == self.epochs:
                self.save(event.epoch)

    def save(self, epoch: int) -> None:
        """Write the parameters (on the CPU) after this epoch."""
        self.folder.mkdir(exist_ok=True)
        weights = {name: p.detach().to("cpu", copy=True) for name, p in self.model.named_parameters()}
        atomic_write_with(self.folder / f"{epoch:04d}.pt", lambda tmp: torch.save(weights, tmp))


def read_snapshots(folder: Path) -> list[tuple[int, dict[str, torch.Tensor]]]:
    """(epoch, parameters) of every kept snapshot of a run folder, in epoch order (empty when none)."""
    path = Path(folder) / FOLDER
    if not path.is_dir():
        return []
    found = sorted((int(m.group(1)), p) for p in path.iterdir() if (m := _NAME.match(p.name)))
    out = []
    for epoch, file in found:
        weights = torch.load(file, map_location="cpu", weights_only=True)
        if isinstance(weights, dict) and all(isinstance(v, torch.Tensor) for v in weights.values()):
            out.append((epoch, weights))
    return out
