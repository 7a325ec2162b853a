"""The training engine: forward, loss, backward, clip, step; validation, scheduling, early stopping;
UI via callbacks.

Settings live in protlab.training.config, the optimizer step in protlab.training.step and the
reported events in protlab.training.events; their public names are importable from here too.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn as nn

from protlab.data.batching import TokenizedSet, batch_indices, make_batch
from protlab.errors import DataFormatError, TrainingDivergedError
from protlab.structure.inference import evaluate_residues
from protlab.training.config import TrainConfig
from protlab.training.device import resolve_device
from protlab.training.distributed import (
    any_rank,
    broadcast_from_main,
    global_mean,
    is_main,
    local_device,
    rank,
    shard_batches,
    sync_gradients,
    world_size,
    wrap_model,
)
from protlab.training.events import BatchEvent, EpochEvent, TrainResult
from protlab.training.inference import predict_probabilities
from protlab.training.metrics import compute_metrics
from protlab.training.step import Stepper, total_optimizer_steps

__all__ = ["train_model", "evaluate", "set_seed"]

EXPLODED_LOSS = 1e4  # a mean cross-entropy above this means training has blown up, even if still finite
EXPLODED_FACTOR = 100  # a validation loss this many times the best one (and above 10) has blown up too


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so a run can be repeated exactly on the CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of the model's weights."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _diverged_message(what: str, epoch: int, batch: int, lr: float) -> str:
    """Explain a divergence in one sentence, with the likely cure."""
    where = f"at epoch {epoch}, batch {batch}" if batch else f"at the end of epoch {epoch}"
    if lr > 1e-2:
        return f"{what} {where}: the learning rate {lr:g} is probably too high; try 1e-3."
    return (
        f"{what} {where} even though the learning rate is {lr:g}; try a lower learning rate "
        "(for example 1e-4) or turn gradient clipping on (grad_clip 1.0)."
    )


def evaluate(
    model: nn.Module, data: TokenizedSet, device: torch.device | str | None = None, batch_size: int = 64
) -> tuple[float, np.ndarray, np.ndarray]:
    """Return (mean cross-entropy, NaN if unlabelled; P(soluble) (N,); labels (N,)) in the set's row order."""
    result = predict_probabilities(model, data, device=device, batch_size=batch_size)
    return (float("nan") if result.loss is None else result.loss), result.probs, data.labels.copy()


def _validate(
    model: nn.Module, val: TokenizedSet, device: torch.device, batch_size: int
) -> tuple[float, dict[str, float]]:
    """Validation loss and metrics: compute_metrics per protein, or Q3 and per-class scores per residue."""
    if val.residue_labels is not None:
        return evaluate_residues(model, val, device, batch_size)
    val_loss, probs, labels = evaluate(model, val, device, batch_size)
    return val_loss, compute_metrics(labels, probs)


def _train_epoch(
    stepper: Stepper, train: TokenizedSet, epoch: int, *, callback, stop, diverged: Callable[..., None]
) -> tuple[float, int, bool]:
    """One pass over the training set; returns (mean loss, sequences seen, stopped?)."""
    config, model = stepper.config, stepper.model
    model.train()
    groups = batch_indices(train, batch_size=config.batch_size, shuffle=True, seed=config.seed, epoch=epoch)
    groups = shard_batches(groups)  # this rank's share when distributed (same count on every rank)
    n_batches, accum = len(groups), config.grad_accum_steps
    loss_sum, seen = 0.0, 0
    stepper.optimizer.zero_grad(set_to_none=True)
    for i, idx in enumerate(groups):
        if stop is not None and any_rank(stop.is_set()):
            stepper.optimizer.zero_grad(set_to_none=True)
            return loss_sum / max(seen, 1), seen, True
        batch = make_batch(train, idx)
        if stepper.device.type == "cuda":
            batch = batch.pin_memory()  # page-locked, so the copy below can overlap with GPU work
        batch = batch.to(stepper.device, non_blocking=True)
        group_start = (i // accum) * accum
        group_size = min(accum, n_batches - group_start)  # the last group may be shorter
        with sync_gradients(model, sync=i + 1 - group_start == group_size):  # all-reduce once per group
            loss = stepper.loss(batch)
            value, rows = global_mean(loss, len(idx))  # the one host sync per batch: NaN check + bookkeeping
            if not math.isfinite(value) or value > EXPLODED_LOSS:
                what = (
                    "The loss became NaN"
                    if math.isnan(value)
                    else (
                        "The loss became infinite"
                        if math.isinf(value)
                        else f"The loss exploded to {value:.3g}"
                    )
                )
                diverged(_diverged_message(what, epoch, i + 1, config.lr))
            stepper.backward(loss, group_size)
        loss_sum += value * rows
        seen += rows
        if i + 1 - group_start == group_size:
            norm = stepper.step()
            if config.grad_clip > 0 and not stepper.scaler.is_enabled() and not math.isfinite(norm):
                diverged(_diverged_message("The gradients became infinite", epoch, i + 1, config.lr))
        if callback is not None and (
            config.batch_events or (i + 1) % config.batch_event_every == 0 or i + 1 == n_batches
        ):
            callback(BatchEvent(epoch, i + 1, n_batches, value, seen, stepper.lr))
    return loss_sum / max(seen, 1), seen, False


def _check_sets(train: TokenizedSet, val: TokenizedSet) -> None:
    """Both sets must be labelled, non-empty and tokenised with the same vocabulary."""
    for name, data in (("train", train), ("val", val)):
        if len(data) == 0 or not data.has_labels:
            raise DataFormatError(
                f"The {name} set must contain labelled sequences (labels 0 or 1); it has none."
            )
    if train.vocab_size != val.vocab_size:
        raise DataFormatError(
            "train and val were tokenised with different vocabularies; tokenise both the same way."
        )


def train_model(
    model: nn.Module,
    train: TokenizedSet,
    val: TokenizedSet,
    config: TrainConfig,
    *,
    callback: Callable[[EpochEvent | BatchEvent], None] | None = None,
    stop: threading.Event | None = None,
) -> TrainResult:
    """Train `model` on `train`, validate on `val` each epoch,
    keep and restore the best weights by val loss.
    """
    config.validate()
    _check_sets(train, val)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    set_seed(config.seed + rank())  # under torchrun each rank draws its own dropout masks
    device = local_device(resolve_device(config.device))  # cuda:LOCAL_RANK under torchrun
    model.to(device)
    callback = callback if is_main() else None  # rank 0 alone reports progress
    if getattr(model, "gradient_free", False):  # learned in fit_training_rows (boosted trees)
        return _fitted_result(model, train, val, config, device, callback)
    with _flush_denormal(config.flush_denormal):
        return _fit(model, train, val, config, device, callback, stop)


@contextlib.contextmanager
def _flush_denormal(enabled: bool) -> Iterator[None]:
    """Flush subnormal floats to zero on this CPU thread while training; undone afterwards."""
    active = enabled and torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if active:
            torch.set_flush_denormal(False)


def _fitted_result(
    model: nn.Module,
    train: TokenizedSet,
    val: TokenizedSet,
    config: TrainConfig,
    device: torch.device,
    callback: Callable | None,
) -> TrainResult:
    """The result for a model already fitted on the training rows: one reported "epoch" that only scores."""
    started = time.perf_counter()
    train_loss, _, _ = evaluate(model, train, device, config.eval_batch_size)
    val_loss, val_metrics = _validate(model, val, device, config.eval_batch_size)
    seconds = time.perf_counter() - started
    rate = len(train) / max(seconds, 1e-9)  # proteins scored per second
    event = EpochEvent(1, 1, train_loss, val_loss, val_metrics, 0.0, seconds, rate, True, 0.0)
    if callback is not None:
        callback(event)
    state = _state_copy(model)
    return TrainResult([event], 1, val_loss, state, "fitted", seconds, str(device), config.to_dict())


def _fit(
    model: nn.Module,
    train: TokenizedSet,
    val: TokenizedSet,
    config: TrainConfig,
    device: torch.device,
    callback: Callable | None,
    stop: threading.Event | None,
) -> TrainResult:
    """The epoch loop of train_model (arguments already validated)."""
    labels = train.labels if train.residue_labels is None else train.residue_labels  # per protein / residue
    steps = total_optimizer_steps(len(train), config, world_size())  # the warm-up may be a share of them
    model_ = wrap_model(model, device)  # DDP if distributed
    stepper = Stepper(model_, config, device, labels.astype(np.int64), steps)
    history: list[EpochEvent] = []
    best = {"epoch": 0, "loss": math.inf, "state": None}
    started = time.perf_counter()

    def result(reason: str) -> TrainResult:
        if best["state"] is not None:
            model.load_state_dict(best["state"])
        return TrainResult(
            history,
            best["epoch"],
            best["loss"],
            best["state"],
            reason,
            time.perf_counter() - started,
            str(device),
            config.to_dict(),
        )

    def diverged(message: str) -> None:
        err = TrainingDivergedError(message)
        err.partial_result = result("diverged")
        raise err

    reason, waited = "finished", 0
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        train_loss, seen, stopped = _train_epoch(
            stepper, train, epoch, callback=callback, stop=stop, diverged=diverged
        )
        if stopped:
            if best["state"] is None and seen:
                best["state"] = _state_copy(model)  # nothing validated yet: keep what was learned so far
            return result("stopped")
        t_train = time.perf_counter() - t0
        val_loss, val_metrics = _validate(model, val, device, config.eval_batch_size)
        val_loss = broadcast_from_main(
            val_loss
        )  # every rank takes the same best/plateau/early-stop decisions
        if not math.isfinite(val_loss):
            diverged(_diverged_message("The validation loss became non-finite", epoch, 0, config.lr))
        if val_loss > EXPLODED_LOSS or val_loss > EXPLODED_FACTOR * max(best["loss"], 0.1):  # one bad epoch
            what = f"The validation loss exploded to {val_loss:.3g}"
            diverged(_diverged_message(what, epoch, 0, config.lr))
        stepper.end_epoch(val_loss)
        is_best = val_loss < best["loss"]
        if is_best:
            best.update(epoch=epoch, loss=val_loss, state=_state_copy(model))
        waited = 0 if is_best else waited + 1
        seconds = time.perf_counter() - t0
        event = EpochEvent(
            epoch,
            config.epochs,
            train_loss,
            val_loss,
            val_metrics,
            stepper.lr,
            seconds,
            seen / max(t_train, 1e-9),
            is_best,
            (time.perf_counter() - started) / epoch * (config.epochs - epoch),
        )
        history.append(event)
        if callback is not None:
            callback(event)
        if config.patience and waited >= config.patience:
            reason = "early_stopped"
            break
    return result(reason)
