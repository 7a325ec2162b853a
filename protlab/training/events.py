"""What training reports: per-epoch and per-batch events for the callback, and the final result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

__all__ = ["EpochEvent", "BatchEvent", "TrainResult"]


@dataclass
class EpochEvent:
    """What one finished epoch looked like; sent to the callback and kept in TrainResult.history."""

    epoch: int  # 1-based epoch number
    epochs: int  # epochs planned (config.epochs)
    train_loss: float  # mean training loss per sequence over the epoch
    val_loss: float  # mean validation cross-entropy per sequence
    val_metrics: dict[str, float]  # compute_metrics on the validation set (threshold 0.5)
    lr: float  # learning rate at the end of the epoch
    seconds: float  # wall time of the epoch, training plus validation
    seqs_per_sec: float  # training throughput (sequences per second of the training phase)
    is_best: bool  # lowest validation loss so far
    eta_seconds: float  # estimated seconds until the planned epochs are done

    def to_row(self) -> dict[str, float]:
        """Flatten to one CSV/table row (validation metrics get a 'val_' prefix)."""
        row = {k: v for k, v in asdict(self).items() if k != "val_metrics"}
        row.update({f"val_{k}": float(v) for k, v in self.val_metrics.items()})
        return row


@dataclass
class BatchEvent:
    """Progress inside an epoch (every batch when config.batch_events, else every few batches)."""

    epoch: int  # 1-based epoch number
    batch: int  # 1-based batch number within the epoch
    n_batches: int  # batches in this epoch
    loss: float  # this batch's training loss
    seqs_done: int  # training sequences processed so far in this epoch
    lr: float  # learning rate used for this batch


@dataclass
class TrainResult:
    """The outcome of train_model: history, best epoch and the best weights
    (already loaded into the model).
    """

    history: list[EpochEvent]  # one event per finished epoch
    best_epoch: int  # epoch with the lowest validation loss (0: no epoch finished)
    best_val_loss: float  # that loss (inf when no epoch finished)
    best_state: dict[str, torch.Tensor] | None  # CPU copy of the best weights; None if none are usable
    stopped_reason: str  # 'finished', 'early_stopped', 'stopped' (stop flag), 'diverged'; 'fitted': no steps
    seconds: float  # total wall time
    device: str  # where training ran, e.g. 'cpu' or 'cuda:0'
    config: dict = field(default_factory=dict)  # TrainConfig.to_dict() used

    @property
    def best_metrics(self) -> dict[str, float]:
        """Validation metrics of the best epoch (empty if no epoch finished)."""
        for event in self.history:
            if event.epoch == self.best_epoch:
                return dict(event.val_metrics)
        return {}

    def history_rows(self) -> list[dict[str, float]]:
        """The history as flat rows for a table or CSV."""
        return [event.to_row() for event in self.history]
