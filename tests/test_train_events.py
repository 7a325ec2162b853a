"""Tests for protlab.training.events: flat history rows and the best epoch's metrics."""

from __future__ import annotations

import dataclasses
import math

import torch

from protlab.training import BatchEvent, EpochEvent, TrainResult


def _event(epoch: int, val_loss: float, auc: float) -> EpochEvent:
    return EpochEvent(
        epoch=epoch,
        epochs=3,
        train_loss=0.7,
        val_loss=val_loss,
        val_metrics={"auc": auc, "tp": 4},
        lr=1e-3,
        seconds=2.0,
        seqs_per_sec=100.0,
        is_best=False,
        eta_seconds=4.0,
    )


def test_to_row_flattens_metrics_with_a_val_prefix() -> None:
    event = _event(2, 0.6, 0.75)
    row = event.to_row()
    expected = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name != "val_metrics"}
    expected.update(val_auc=0.75, val_tp=4.0)
    assert row == expected and isinstance(row["val_tp"], float) and "val_metrics" not in row


def test_best_metrics_and_history_rows() -> None:
    history = [_event(1, 0.69, 0.6), _event(2, 0.61, 0.7), _event(3, 0.65, 0.72)]
    result = TrainResult(
        history,
        best_epoch=2,
        best_val_loss=0.61,
        best_state={"w": torch.zeros(1)},
        stopped_reason="finished",
        seconds=1.0,
        device="cpu",
    )
    assert result.best_metrics == {"auc": 0.7, "tp": 4}
    result.best_metrics["auc"] = 0.0  # a copy: the history is not changed through it
    assert history[1].val_metrics["auc"] == 0.7
    assert [row["epoch"] for row in result.history_rows()] == [1, 2, 3]
    assert result.config == {}


def test_no_finished_epoch_means_no_metrics() -> None:
    empty = TrainResult([], 0, math.inf, None, "stopped", 0.1, "cpu")
    assert empty.best_metrics == {} and empty.history_rows() == []


def test_batch_event_fields() -> None:
    event = BatchEvent(epoch=1, batch=3, n_batches=10, loss=0.5, seqs_done=48, lr=1e-3)
    assert dataclasses.astuple(event) == (1, 3, 10, 0.5, 48, 1e-3)
