"""Padded and unresolved residues never count: change their labels and neither loss nor metrics move."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from protlab.data import IGNORE_INDEX, make_batch, pad_batch
from protlab.structure import ResidueCNN, ResidueCNNConfig, ResidueData, predict_residues, tokenize_structure
from protlab.training import Stepper, TrainConfig
from tests.conftest import random_proteins

SMALL = ResidueCNNConfig(embed_dim=8, channels=12, kernel_size=3, dilations=[1, 2], dropout=0.0)


def _data(seed: int = 0) -> ResidueData:
    """Six proteins of different lengths with random states and about a quarter of residues unresolved."""
    rng = np.random.default_rng(seed)
    seqs = random_proteins(6, (8, 40), seed=seed)
    ss3 = ["".join(rng.choice(list("HEC"), size=len(s))) for s in seqs]
    resolved = ["".join(np.where(rng.random(len(s)) < 0.25, "0", "1")) for s in seqs]
    resolved = [r[:-1] + "1" for r in resolved]  # every protein keeps at least one scored residue
    return ResidueData([f"p{i}" for i in range(6)], seqs, ss3, resolved)


def _relabel(data: ResidueData, where: str) -> ResidueData:
    """A copy whose ss3 letter changes at every unresolved ('0') or every resolved ('1') residue."""
    shift = {"H": "E", "E": "C", "C": "H"}
    ss3 = [
        "".join(shift[s] if r == where else s for s, r in zip(states, res))
        for states, res in zip(data.ss3, data.resolved)
    ]
    return ResidueData(data.ids, data.sequences, ss3, data.resolved)


def _stepper(model: torch.nn.Module) -> Stepper:
    config = TrainConfig(cpu_bf16=False, device="cpu")
    return Stepper(model, config, torch.device("cpu"), np.zeros(3, dtype=np.int64))


def test_unresolved_labels_never_count_in_the_training_loss_or_the_metrics():
    torch.manual_seed(0)
    model = ResidueCNN(SMALL).eval()
    data = _data()
    original, unresolved_changed = tokenize_structure(data), tokenize_structure(_relabel(data, "0"))
    rows = np.arange(len(data))
    stepper = _stepper(model)
    loss = stepper.loss(make_batch(original, rows)).item()
    assert stepper.loss(make_batch(unresolved_changed, rows)).item() == loss
    a, b = predict_residues(model, original), predict_residues(model, unresolved_changed)
    assert a.loss == b.loss and a.metrics() == b.metrics()
    # the same change at resolved residues does move both: the check can fail
    resolved_changed = tokenize_structure(_relabel(data, "1"))
    assert stepper.loss(make_batch(resolved_changed, rows)).item() != pytest.approx(loss)
    assert predict_residues(model, resolved_changed).metrics()["q3"] != a.metrics()["q3"]


def test_padding_never_counts_the_batch_loss_equals_the_unpadded_per_residue_mean():
    torch.manual_seed(1)
    model = ResidueCNN(SMALL).eval()
    data = _data(seed=3)
    tokens = tokenize_structure(data)
    batch = make_batch(tokens, np.arange(len(data)))
    assert (batch.mask == 0).any()  # the batch really is padded
    losses = []
    for i, seq in enumerate(data.sequences):  # each protein alone, no padding, labels from the file
        alone, _ = pad_batch([seq])
        logits = model(alone, None)[0]  # (L_i, 3)
        for j, (state, seen) in enumerate(zip(data.ss3[i], data.resolved[i])):
            if seen == "1":
                losses.append(F.cross_entropy(logits[j][None], torch.tensor(["HEC".index(state)])))
    reference = torch.stack(losses).mean().item()
    assert _stepper(model).loss(batch).item() == pytest.approx(reference, rel=1e-5)
    assert predict_residues(model, tokens).loss == pytest.approx(reference, rel=1e-5)


def test_predictions_come_back_per_protein_in_row_order():
    torch.manual_seed(2)
    model = ResidueCNN(SMALL).eval()
    data = _data(seed=4)
    result = predict_residues(model, tokenize_structure(data), batch_size=2)
    assert [p.shape for p in result.probs] == [(len(s), 3) for s in data.sequences]
    for seq, probs in zip(data.sequences, result.probs):
        alone, _ = pad_batch([seq])
        expected = torch.softmax(model(alone, None)[0], dim=-1).detach().numpy()
        np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    assert result.labels.size == sum(len(s) for s in data.sequences)
    assert (result.labels == IGNORE_INDEX).sum() == sum(r.count("0") for r in data.resolved)
