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


# ---------------------------------------------------------------- the check as a background job


def _spec(kind: str = "cnn", steps: int = 40, lr: float = 1e-2):  # -> SanitySpec
    from protlab.lessons.sanity_jobs import sanity_spec

    data = deepsol_sample(80, max_length=400, seed=3)
    config = {"embed_dim": 4, "hidden_dim": 8, "num_layers": 1, "dropout": 0.3}
    return sanity_spec(data, kind, config, batch_size=32, seed=7, steps=steps, lr=lr)


def test_the_check_runs_as_a_job_and_its_result_is_kept_per_check(tmp_path) -> None:
    from protlab.lessons.sanity_jobs import MAX_BATCH, MAX_LENGTH, build_check, request_sanity, submit_sanity
    from protlab.runs import job_status, run_folder

    root = tmp_path / "runs"
    root.mkdir()
    spec = _spec()
    assert len(spec.sequences) == MAX_BATCH and sorted(spec.labels) == [0] * 8 + [1] * 8  # balanced
    assert max(len(s) for s in spec.sequences) <= MAX_LENGTH
    assert request_sanity(root, spec).state == "missing"  # nothing runs before it is asked for
    assert submit_sanity(root, spec).state == "queued"
    assert submit_sanity(root, spec).state == "queued"  # asked twice: still one job
    jobs = [p for p in root.iterdir() if (p / "job.json").is_file()]
    assert len(jobs) == 1
    assert run_folder(jobs[0]) == "finished"  # what a worker process does with the claimed folder
    assert job_status(root, jobs[0].name).progress == 1.0
    request = request_sanity(root, spec)
    assert request.state == "ready" and request.result.n_proteins == MAX_BATCH
    losses = request.result.losses
    model, batch = build_check(spec)  # the same seeded model and batch, checked with plain torch
    model.eval()
    with torch.no_grad():
        first = F.cross_entropy(model(batch.tokens, batch.mask), batch.labels).item()
    assert losses[0] == pytest.approx(first, rel=1e-5)
    assert 1 <= len(losses) <= spec.steps and losses[-1] < losses[0]
    again = _spec()  # the same check asked for again (a reload): the kept result, no second job
    assert submit_sanity(root, again).result.losses == losses
    assert len([p for p in root.iterdir() if (p / "job.json").is_file()]) == 1
    assert request_sanity(root, _spec(lr=1e-3)).state == "missing"  # another setting: another check


def test_a_failed_check_says_why(tmp_path) -> None:
    from protlab.lessons.sanity_jobs import request_sanity, submit_sanity
    from protlab.runs import run_folder

    root = tmp_path / "runs"
    root.mkdir()
    spec = _spec(steps=MAX_OVERFIT_STEPS + 1)  # refused by overfit_one_batch, in the worker
    submit_sanity(root, spec)
    job = next(p for p in root.iterdir() if (p / "job.json").is_file())
    assert run_folder(job) == "failed"
    request = request_sanity(root, spec)
    assert request.state == "failed" and "steps" in request.error and request.result is None
