"""Tests for protlab.training.loop against torch references, on small real DeepSol samples.

Settings are tested in test_train_config.py, the optimizer step in test_stepper.py.
"""

from __future__ import annotations

import re
import threading

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import log_loss, roc_auc_score

from protlab.alphabet import AMINO_ACIDS, NOTES_VOCAB_SIZE
from protlab.data import TokenizedSet, make_batch
from protlab.errors import TrainingDivergedError
from protlab.models import build_model
from protlab.training import (
    BatchEvent,
    EpochEvent,
    TrainConfig,
    evaluate,
    overfit_one_batch,
    train_model,
    warmup_lr,
)

TINY = {"embed_dim": 8, "hidden_dim": 16}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = pd.read_csv("assets/data/deepsol.csv")
    df = df[df["sequence"].str.len() <= 250]  # shorter proteins keep the tests fast on two shared cores
    return df.sample(1000, random_state=7).reset_index(drop=True)


def _set(df: pd.DataFrame) -> TokenizedSet:
    return TokenizedSet.from_sequences(
        df["sequence"].tolist(), df["label"].to_numpy(), vocab_size=NOTES_VOCAB_SIZE
    )


class TinyBag(nn.Module):
    """A dropout-free embedding-bag classifier, so gradients are deterministic for reference checks."""

    uses_features = False

    def __init__(self, poison: bool = False):
        super().__init__()
        self.embedding = nn.Embedding(NOTES_VOCAB_SIZE, 4, padding_idx=0)
        self.fc = nn.Linear(4, 2)
        self.poison = poison  # when True the output is NaN (to test divergence handling)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = (self.embedding(tokens) * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True)  # (B, 4)
        out = self.fc(x)  # (B, 2)
        return out * float("nan") if self.poison else out


def test_training_on_real_sequences_learns_a_known_signal(frame) -> None:
    # Real proteins, labelled by a rule a CNN can find: positive net charge (more K+R than D+E). Solubility
    # itself is too weak a signal to prove learning on a few hundred proteins (logistic regression on the
    # composition of this sample reaches only AUC 0.58), so it would not show a broken engine.
    charged = frame.copy()
    charged["label"] = [
        int(sum(s.count(a) for a in "KR") > sum(s.count(a) for a in "DE")) for s in frame["sequence"]
    ]
    frame = charged
    train, val, test = _set(frame[:700]), _set(frame[700:850]), _set(frame[850:])
    torch.manual_seed(0)
    model = build_model("cnn", {**TINY, "dropout": 0.0})
    events: list[EpochEvent] = []
    cfg = TrainConfig(epochs=4, lr=3e-3, batch_size=32, patience=0, device="cpu")
    result = train_model(
        model, train, val, cfg, callback=lambda e: events.append(e) if isinstance(e, EpochEvent) else None
    )
    assert [e.epoch for e in events] == [1, 2, 3, 4] and result.stopped_reason == "finished"
    assert events[-1].train_loss < events[0].train_loss
    test_loss, probs, labels = evaluate(model, test, "cpu")
    # Learned the rule: far better than chance (three null standard errors, Hanley-McNeil, is about 0.64 here)
    # and a lower held-out cross-entropy than always answering the training set's class frequency.
    n1, n0 = int(labels.sum()), int(len(labels) - labels.sum())
    null_se = np.sqrt((n1 + n0 + 1) / (12 * n1 * n0))
    assert roc_auc_score(labels, probs) > 0.5 + 3 * null_se
    prior = float(frame["label"][:700].mean())
    prior_loss = -np.mean(labels * np.log(prior) + (1 - labels) * np.log(1 - prior))
    assert test_loss < prior_loss
    best = min(events, key=lambda e: e.val_loss)
    assert result.best_epoch == best.epoch and result.best_val_loss == pytest.approx(best.val_loss)
    val_loss, _, _ = evaluate(model, val, "cpu")
    assert val_loss == pytest.approx(best.val_loss, rel=1e-5)  # best weights restored at the end
    assert set(result.history_rows()[0]) >= {
        "epoch",
        "train_loss",
        "val_loss",
        "val_auc",
        "lr",
        "seqs_per_sec",
    }


def test_evaluate_matches_direct_forward_and_sklearn(frame) -> None:
    data = _set(frame[:40])
    model = build_model("cnn", TINY).eval()
    loss, probs, labels = evaluate(model, data, "cpu", batch_size=7)
    with torch.no_grad():
        direct = [
            torch.softmax(model(make_batch(data, np.array([i])).tokens), 1)[0, 1].item() for i in range(40)
        ]
    assert np.allclose(probs, direct, atol=1e-5)
    assert np.array_equal(labels, frame["label"].to_numpy()[:40])
    assert loss == pytest.approx(log_loss(labels, probs, labels=[0, 1]), rel=1e-4)


def test_same_seed_gives_identical_history(frame) -> None:
    train, val = _set(frame[:150]), _set(frame[150:200])
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        model = build_model("cnn", TINY)
        result = train_model(model, train, val, TrainConfig(epochs=2, seed=5, device="cpu"))
        histories.append([(e.train_loss, e.val_loss) for e in result.history])
    assert histories[0] == histories[1]


def test_stop_flag_is_honoured_within_one_batch(frame) -> None:
    train, val = _set(frame[:200]), _set(frame[200:250])
    stop = threading.Event()
    seen: list[BatchEvent] = []

    def callback(event):
        if isinstance(event, BatchEvent):
            seen.append(event)
            if event.batch == 2:
                stop.set()

    cfg = TrainConfig(epochs=5, batch_size=16, batch_events=True, device="cpu")
    model = build_model("cnn", TINY)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    result = train_model(model, train, val, cfg, callback=callback, stop=stop)
    assert result.stopped_reason == "stopped" and result.history == []
    assert [(e.epoch, e.batch) for e in seen] == [(1, 1), (1, 2)]  # no batch started after Stop
    assert result.best_state is not None
    assert any(
        not torch.equal(initial[k], v) for k, v in result.best_state.items()
    )  # the two steps were kept
    stop_first = threading.Event()
    stop_first.set()
    untrained = train_model(build_model("cnn", TINY), train, val, cfg, stop=stop_first)
    assert (
        untrained.stopped_reason == "stopped" and untrained.best_state is None
    )  # nothing learned, nothing kept


DIVERGED = re.compile(
    r"The (loss became (NaN|infinite)|loss exploded to \S+|gradients became infinite) "
    r"at epoch \d+, batch \d+: the learning rate 1e\+06 is probably too high; try 1e-3\."
)


@pytest.mark.parametrize("optimizer,grad_clip", [("adam", 1.0), ("sgd", 0.0)])
def test_huge_learning_rate_diverges_with_clear_message(frame, optimizer: str, grad_clip: float) -> None:
    train, val = _set(frame[:200]), _set(frame[200:250])
    config = TrainConfig(
        lr=1e6, optimizer=optimizer, grad_clip=grad_clip, epochs=2, scheduler="none", device="cpu"
    )
    with pytest.raises(TrainingDivergedError) as info:
        train_model(build_model("cnn", TINY), train, val, config)
    assert DIVERGED.fullmatch(str(info.value)), str(info.value)
    assert info.value.partial_result.stopped_reason == "diverged"


def test_divergence_keeps_the_best_weights_so_far(frame) -> None:
    train, val = _set(frame[:64]), _set(frame[64:96])
    model = TinyBag()
    after_epoch_1 = {}

    def callback(event):
        if isinstance(event, EpochEvent) and event.epoch == 1:
            after_epoch_1.update({k: v.clone() for k, v in model.state_dict().items()})
            model.poison = True

    with pytest.raises(TrainingDivergedError, match="NaN at epoch 2, batch 1") as info:
        train_model(model, train, val, TrainConfig(epochs=3, lr=1e-3, device="cpu"), callback=callback)
    partial = info.value.partial_result
    assert partial.stopped_reason == "diverged" and partial.best_epoch == 1 and len(partial.history) == 1
    for key, value in after_epoch_1.items():
        assert torch.equal(partial.best_state[key], value) and torch.equal(model.state_dict()[key], value)


@pytest.mark.parametrize("accum,batch_size", [(2, 4), (4, 2), (1, 8)])
def test_gradient_accumulation_equals_one_big_batch(accum: int, batch_size: int) -> None:
    rng = np.random.default_rng(0)
    letters = np.array(list(AMINO_ACIDS))
    seqs = ["".join(rng.choice(letters, 12)) for _ in range(8)]  # equal lengths: padding plays no part
    labels = np.array([0, 1] * 4)
    data = TokenizedSet.from_sequences(seqs, labels, vocab_size=NOTES_VOCAB_SIZE)
    torch.manual_seed(1)
    model = TinyBag()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    # reference: the mean cross-entropy gradient over all 8 sequences, computed directly with autograd
    ref = TinyBag()
    ref.load_state_dict(start)
    batch = make_batch(data, np.arange(8))
    F.cross_entropy(ref(batch.tokens, batch.mask), batch.labels).backward()
    lr = 0.5
    cfg = TrainConfig(
        optimizer="sgd",
        lr=lr,
        batch_size=batch_size,
        grad_accum_steps=accum,
        epochs=1,
        grad_clip=0.0,
        scheduler="none",
        device="cpu",
        cpu_bf16=False,
    )
    train_model(model, data, data, cfg)
    for name, param in ref.named_parameters():
        expected = start[name] - lr * param.grad
        assert torch.allclose(model.state_dict()[name], expected, atol=1e-6), name


def test_warmup_schedule_is_used_in_training(frame) -> None:
    train, val = _set(frame[:64]), _set(frame[64:80])
    lrs: list[float] = []
    cfg = TrainConfig(
        scheduler="warmup", warmup_steps=3, batch_size=16, epochs=2, batch_events=True, device="cpu"
    )
    train_model(
        TinyBag(), train, val, cfg, callback=lambda e: lrs.append(e.lr) if isinstance(e, BatchEvent) else None
    )
    assert lrs == pytest.approx([warmup_lr(s, 1e-3, 3) for s in range(8)])


def test_early_stopping_when_val_loss_stalls(frame) -> None:
    train, val = _set(frame[:32]), _set(frame[32:48])
    cfg = TrainConfig(optimizer="sgd", lr=1e-30, epochs=20, patience=2, device="cpu")
    result = train_model(TinyBag(), train, val, cfg)
    assert result.stopped_reason == "early_stopped" and len(result.history) == 3 and result.best_epoch == 1


def test_plateau_halves_the_learning_rate(frame) -> None:
    train, val = _set(frame[:32]), _set(frame[32:48])
    cfg = TrainConfig(optimizer="sgd", lr=1e-30, epochs=4, patience=0, plateau_patience=1, device="cpu")
    result = train_model(TinyBag(), train, val, cfg)
    assert [e.lr for e in result.history] == pytest.approx([1e-30, 1e-30, 5e-31, 2.5e-31])


def test_overfit_one_batch_drives_loss_down(frame) -> None:
    batch = make_batch(_set(frame[:8]), np.arange(8))
    torch.manual_seed(0)
    losses = overfit_one_batch(build_model("cnn", {**TINY, "dropout": 0.0}), batch, steps=100, lr=2e-2)
    assert len(losses) == 100 and losses[-1] < 0.1 < losses[0]


def test_cpu_bf16_autocast_tracks_fp32(frame) -> None:
    train, val = _set(frame[:128]), _set(frame[128:192])
    losses = {}
    for bf16 in (False, True):
        torch.manual_seed(0)
        result = train_model(
            build_model("cnn", TINY), train, val, TrainConfig(epochs=2, cpu_bf16=bf16, device="cpu")
        )
        losses[bf16] = [e.val_loss for e in result.history]
    assert losses[True] == pytest.approx(losses[False], rel=0.02)


@pytest.mark.parametrize("weighting,smoothing", [("balanced", 0.0), ("none", 0.1), ("balanced", 0.2)])
def test_class_weighting_and_label_smoothing_match_torch(weighting: str, smoothing: float) -> None:
    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(np.array(list(AMINO_ACIDS)), 10)) for _ in range(8)]
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    data = TokenizedSet.from_sequences(seqs, labels, vocab_size=NOTES_VOCAB_SIZE)
    torch.manual_seed(3)
    model, ref = TinyBag(), TinyBag()
    ref.load_state_dict(model.state_dict())
    start = {k: v.clone() for k, v in model.state_dict().items()}
    batch = make_batch(data, np.arange(8))
    weight = torch.tensor([8 / 12, 8 / 4]) if weighting == "balanced" else None
    F.cross_entropy(
        ref(batch.tokens, batch.mask), batch.labels, weight=weight, label_smoothing=smoothing
    ).backward()
    cfg = TrainConfig(
        optimizer="sgd",
        lr=0.5,
        batch_size=8,
        epochs=1,
        grad_clip=0.0,
        scheduler="none",
        class_weighting=weighting,
        label_smoothing=smoothing,
        device="cpu",
        cpu_bf16=False,
    )
    train_model(model, data, data, cfg)
    for name, param in ref.named_parameters():
        assert torch.allclose(model.state_dict()[name], start[name] - 0.5 * param.grad, atol=1e-6), name
