"""Tests for protlab.training.step against torch: optimizers, warmup, accumulation, clipping, weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.utils.class_weight import compute_class_weight
from torch import nn

from protlab.alphabet import AMINO_ACIDS, NOTES_VOCAB_SIZE
from protlab.data import TokenizedSet, batch_indices, make_batch
from protlab.errors import ConfigError
from protlab.training import (
    OPTIMIZERS,
    Stepper,
    TrainConfig,
    build_optimizer,
    cpu_bf16_available,
    make_optimizer,
    optimizer_code,
    optimizer_recipe,
    total_optimizer_steps,
    train_model,
    warmup_length,
    warmup_lr,
)
from protlab.training.events import BatchEvent

CPU = torch.device("cpu")


class Bag(nn.Module):
    """A dropout-free embedding-bag classifier with deterministic gradients."""

    uses_features = False

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(NOTES_VOCAB_SIZE, 4, padding_idx=0)
        self.fc = nn.Linear(4, 2)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = (self.embedding(tokens) * mask.unsqueeze(2)).sum(1) / mask.sum(1, keepdim=True)  # (B, 4)
        return self.fc(x)  # (B, 2)


def _data(n: int = 8, seed: int = 0) -> TokenizedSet:
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(np.array(list(AMINO_ACIDS)), 10)) for _ in range(n)]
    return TokenizedSet.from_sequences(seqs, np.array([0, 1] * (n // 2)), vocab_size=NOTES_VOCAB_SIZE)


def _config(**overrides) -> TrainConfig:
    return TrainConfig(
        **{
            "optimizer": "sgd",
            "lr": 0.5,
            "grad_clip": 0.0,
            "scheduler": "none",
            "device": "cpu",
            "cpu_bf16": False,
            **overrides,
        }
    )


def test_warmup_matches_torch_linear_lr() -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1e-3)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1e-4, end_factor=1.0, total_iters=10)
    for step in range(14):
        assert warmup_lr(step, 1e-3, 10) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9)
        opt.step()
        sched.step()
    assert warmup_lr(0, 1e-3, 1000) == pytest.approx(1e-7)


def _settings(optimizer: torch.optim.Optimizer) -> list[dict]:
    """Every parameter group's hyper-parameters (the tensors left out)."""
    return [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]


TORCH_REFERENCE = {  # each optimizer written out by hand with torch.optim, lr 0.01, weight decay 0.01
    "sgd": lambda params: torch.optim.SGD(params, lr=0.01, weight_decay=0.01),
    "sgd_momentum": lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.8, weight_decay=0.01),
    "adam": lambda params: torch.optim.Adam(params, lr=0.01, weight_decay=0.01),
    "adamw": lambda params: torch.optim.AdamW(params, lr=0.01, weight_decay=0.01),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_build_optimizer_matches_torch(name: str) -> None:
    model = Bag()
    opt = build_optimizer(model, TrainConfig(optimizer=name, lr=0.01, weight_decay=0.01, momentum=0.8))
    ref = TORCH_REFERENCE[name](list(model.parameters()))
    ours, theirs = _settings(opt), _settings(ref)
    assert ours[0].pop("fused") is True and theirs[0].pop("fused") is None  # float32 CPU weights: one kernel
    assert type(opt) is type(ref) and ours == theirs
    assert [p for g in opt.param_groups for p in g["params"]] == list(model.parameters())


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_generated_optimizer_code_builds_the_same_optimizer(name: str) -> None:
    params = list(Bag().parameters())
    settings = {"lr": 0.01, "weight_decay": 0.01, "momentum": 0.8}
    code = optimizer_code("params", name, **settings)
    generated = eval(code, {"torch": torch, "params": params})
    ref = TORCH_REFERENCE[name](params)
    assert type(generated) is type(ref) and _settings(generated) == _settings(ref)
    assert _settings(make_optimizer(params, name, **settings)) == _settings(ref)


def test_settings_an_optimizer_does_not_use_are_left_out_and_missing_ones_take_torch_defaults() -> None:
    assert optimizer_recipe("sgd", lr=0.1, momentum=0.5, betas=(0.8, 0.9)) == ("SGD", {"lr": 0.1})
    assert optimizer_recipe("sgd_momentum", lr=0.1) == ("SGD", {"lr": 0.1, "momentum": 0.9})
    adam = optimizer_recipe("adam", lr=0.1, momentum=0.5, betas=(0.8, 0.9))
    assert adam == ("Adam", {"lr": 0.1, "betas": (0.8, 0.9)})
    params = [nn.Parameter(torch.zeros(2))]
    for name in OPTIMIZERS:
        class_name, _ = optimizer_recipe(name, lr=0.1)
        default = _settings(getattr(torch.optim, class_name)(params, lr=0.1))[0]
        built = _settings(make_optimizer(params, name, lr=0.1))[0]
        assert built == default | ({"momentum": 0.9} if name == "sgd_momentum" else {})
    assert optimizer_code("m.parameters()", "adamw", lr=np.float64(0.5), betas=(np.float32(0.5), 0.9)) == (
        "torch.optim.AdamW(m.parameters(), lr=0.5, betas=(0.5, 0.9))"
    )


def test_an_unknown_optimizer_name_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        optimizer_recipe("rmsprop", lr=0.1)
    assert str(info.value) == (
        "optimizer must be one of 'adam', 'adamw', 'sgd' or 'sgd_momentum'; got 'rmsprop'."
    )


def test_a_model_without_trainable_parameters_is_refused() -> None:
    model = Bag().requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        build_optimizer(model, TrainConfig())


def test_accumulated_micro_batches_step_like_one_big_batch() -> None:
    data = _data()
    torch.manual_seed(0)
    model, ref = Bag(), Bag()
    ref.load_state_dict(model.state_dict())
    full = make_batch(data, np.arange(8))
    F.cross_entropy(ref(full.tokens, full.mask), full.labels).backward()  # autograd reference on all 8
    stepper = Stepper(model, _config(), CPU, data.labels)
    for half in (np.arange(4), np.arange(4, 8)):
        stepper.backward(stepper.loss(make_batch(data, half)), group_size=2)
    stepper.step()
    for name, param in ref.named_parameters():
        expected = ref.state_dict()[name] - 0.5 * param.grad
        assert torch.allclose(model.state_dict()[name], expected, atol=1e-6), name
    assert stepper.steps == 1 and all(p.grad is None for p in model.parameters())


def test_step_clips_and_reports_the_norm_torch_computes() -> None:
    data = _data()
    torch.manual_seed(1)
    model, ref = Bag(), Bag()
    ref.load_state_dict(model.state_dict())
    batch = make_batch(data, np.arange(8))
    F.cross_entropy(ref(batch.tokens, batch.mask), batch.labels).backward()
    expected = float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in ref.parameters()])))
    stepper = Stepper(model, _config(grad_clip=1e-3), CPU, data.labels)
    stepper.backward(stepper.loss(batch), group_size=1)
    assert stepper.step() == pytest.approx(expected, rel=1e-5)
    assert math.isnan(Stepper(Bag(), _config(), CPU, data.labels).step())  # clipping off: no norm


def test_warmup_sets_the_lr_before_each_step() -> None:
    data = _data()
    stepper = Stepper(Bag(), _config(scheduler="warmup", warmup_steps=3, lr=1e-2), CPU, data.labels)
    seen = []
    for _ in range(5):
        stepper.backward(stepper.loss(make_batch(data, np.arange(8))), group_size=1)
        stepper.step()
        seen.append(stepper.lr)
    assert seen == pytest.approx([warmup_lr(s, 1e-2, 3) for s in range(5)])


@pytest.mark.parametrize("n_rows,batch_size,accum,epochs", [(400, 32, 1, 1), (150, 8, 3, 4), (7, 16, 2, 3)])
def test_total_steps_count_the_runs_accumulated_batches(n_rows, batch_size, accum, epochs) -> None:
    data = _data(n_rows + n_rows % 2)
    data = data.subset(np.arange(n_rows))
    config = _config(batch_size=batch_size, grad_accum_steps=accum, epochs=epochs)
    per_epoch = [
        len(batch_indices(data, batch_size=batch_size, shuffle=True, epoch=e)) for e in range(epochs)
    ]
    assert total_optimizer_steps(n_rows, config) == sum(math.ceil(n / accum) for n in per_epoch)


def test_a_warmup_fraction_ends_inside_a_short_run_like_torch_linear_lr() -> None:
    # a 400-row sample for 1 epoch (13 steps): a fixed 1,000-step warm-up would never reach the lr
    config = _config(scheduler="warmup", lr=1e-2, batch_size=32, epochs=1)
    total = total_optimizer_steps(400, config)
    assert config.warmup_steps == 0 and warmup_length(config, total) == max(1, round(0.1 * total))
    assert warmup_length(_config(warmup_steps=7), total) == 7  # steps given: the fraction is ignored
    assert warmup_length(_config(warmup_fraction=1e-6), total) == 1
    data = _data()
    config = _config(scheduler="warmup", warmup_fraction=0.25, lr=1e-2)
    stepper = Stepper(Bag(), config, CPU, data.labels, total_steps=12)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1e-2)
    ref = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1e-4, end_factor=1.0, total_iters=3)
    for _ in range(6):
        stepper.backward(stepper.loss(make_batch(data, np.arange(8))), group_size=1)
        stepper.step()
        assert stepper.lr == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9)
        opt.step()
        ref.step()
    assert stepper.lr == pytest.approx(1e-2)
    with pytest.raises(ConfigError, match="total_steps"):
        Stepper(Bag(), config, CPU, data.labels)


def test_training_warms_up_over_the_fraction_of_its_own_steps() -> None:
    train, val = _data(64, seed=1), _data(16, seed=2)
    config = _config(scheduler="warmup", warmup_fraction=0.25, batch_size=16, epochs=2, batch_events=True)
    lrs: list[float] = []
    train_model(Bag(), train, val, config, callback=lambda e: isinstance(e, BatchEvent) and lrs.append(e.lr))
    assert len(lrs) == total_optimizer_steps(64, config) == 8
    assert lrs == pytest.approx([warmup_lr(s, config.lr, 2) for s in range(8)])


def test_plateau_cuts_the_lr_like_torch() -> None:
    data = _data()
    config = _config(scheduler="plateau", plateau_factor=0.5, plateau_patience=1)
    stepper = Stepper(Bag(), config, CPU, data.labels)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.5)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
    for val_loss in (0.7, 0.7, 0.7, 0.6, 0.6, 0.6):
        stepper.end_epoch(val_loss)
        ref.step(val_loss)
        assert stepper.lr == opt.param_groups[0]["lr"]
    assert stepper.lr < 0.5


def test_balanced_weights_match_sklearn_and_label_smoothing_matches_torch() -> None:
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1])
    rng = np.random.default_rng(2)
    seqs = ["".join(rng.choice(np.array(list(AMINO_ACIDS)), 10)) for _ in range(8)]
    data = TokenizedSet.from_sequences(seqs, labels, vocab_size=NOTES_VOCAB_SIZE)
    model = Bag()
    stepper = Stepper(model, _config(class_weighting="balanced", label_smoothing=0.2), CPU, labels)
    reference = compute_class_weight("balanced", classes=np.array([0, 1]), y=labels)
    assert np.allclose(stepper.weights.numpy(), reference)
    batch = make_batch(data, np.arange(8))
    expected = F.cross_entropy(
        model(batch.tokens, batch.mask),
        batch.labels,
        weight=torch.tensor(reference, dtype=torch.float32),
        label_smoothing=0.2,
    )
    assert stepper.loss(batch).item() == pytest.approx(expected.item(), rel=1e-6)
    assert Stepper(Bag(), _config(), CPU, labels).weights is None


def test_cpu_bf16_is_used_only_when_asked_and_available() -> None:
    assert isinstance(cpu_bf16_available(), bool)
    labels = _data().labels
    assert Stepper(Bag(), _config(cpu_bf16=True), CPU, labels).amp == cpu_bf16_available()
    off = Stepper(Bag(), _config(cpu_bf16=False), CPU, labels)
    assert off.amp is False and off.scaler.is_enabled() is False
