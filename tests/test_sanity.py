"""protlab.training.sanity: a working CNN learns one batch by heart; a broken or frozen one cannot."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import log_loss
from torch import nn

from protlab.data import TokenizedSet, make_batch
from protlab.errors import ConfigError
from protlab.models import build_model
from protlab.training import MAX_OVERFIT_STEPS, NEAR_ZERO_LOSS, overfit_one_batch, overfit_passed
from tests.conftest import deepsol_sample

TINY = {"embed_dim": 8, "hidden_dim": 16, "num_layers": 2, "dropout": 0.3}  # the check turns dropout off


def _batch(n: int = 8):  # -> Batch
    data = deepsol_sample(n, max_length=150, seed=4)
    return make_batch(TokenizedSet.from_sequences(data.sequences, data.labels, vocab_size=21), np.arange(n))


def _floor(labels: torch.Tensor) -> float:
    """The lowest loss of a model giving every protein the same P(soluble): the labels' entropy."""
    y = labels.numpy()
    return log_loss(y, np.full(y.size, y.mean()), labels=[0, 1])


class BatchPooled(nn.Module):
    """A classic bug: averaging over the batch axis, so every protein gets the same logits."""

    uses_features = False

    def __init__(self) -> None:
        super().__init__()
        self.cnn = build_model("cnn", TINY)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = self.cnn(tokens, mask)  # (B, 2)
        return logits.mean(dim=0, keepdim=True).expand_as(logits)  # (B, 2) the same row for everyone


def test_the_cnn_learns_one_batch_by_heart() -> None:
    batch = _batch()
    torch.manual_seed(0)
    model = build_model("cnn", TINY)
    model.eval()
    first = F.cross_entropy(model(batch.tokens, batch.mask), batch.labels).item()  # before any step
    losses = overfit_one_batch(model, batch, steps=300, lr=1e-2, stop_below=NEAR_ZERO_LOSS / 2)
    assert losses[0] == pytest.approx(first, rel=1e-5)  # dropout was off: the same loss as in eval mode
    assert losses[-1] < first / 20 and overfit_passed(losses)


@pytest.mark.parametrize("broken", ["batch pooling", "frozen layers"])
def test_a_broken_or_frozen_model_cannot(broken: str) -> None:
    batch = _batch()
    torch.manual_seed(0)
    if broken == "batch pooling":
        model = BatchPooled()
    else:
        model = build_model("cnn", TINY)
        for name, param in model.named_parameters():
            param.requires_grad = name == "fc.bias"  # every layer frozen but the output bias
    losses = overfit_one_batch(model, batch, steps=150, lr=1e-2)
    assert min(losses) > _floor(batch.labels) - 1e-3  # never below a constant guess
    assert not overfit_passed(losses)


def test_the_check_stops_early_and_is_bounded() -> None:
    batch = _batch()
    torch.manual_seed(0)
    losses = overfit_one_batch(build_model("cnn", TINY), batch, steps=300, lr=1e-2, stop_below=0.2)
    assert losses[-1] < 0.2 <= min(losses[:-1]) and len(losses) < 300
    for steps in (0, MAX_OVERFIT_STEPS + 1):
        with pytest.raises(ConfigError, match="steps"):
            overfit_one_batch(build_model("cnn", TINY), batch, steps=steps)
    assert not overfit_passed([]) and overfit_passed([0.7, NEAR_ZERO_LOSS / 2])
