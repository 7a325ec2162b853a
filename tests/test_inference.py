"""predict_probabilities: one row at a time through the model (torch reference) gives the same answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from protlab.alphabet import AMINO_ACIDS
from protlab.data import TokenizedSet, encode, features_frame
from protlab.models import build_model, model_vocab_size
from protlab.training import predict_probabilities


def _sequences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list(AMINO_ACIDS))
    return ["".join(rng.choice(letters, int(rng.integers(3, 90)))) for _ in range(n)]


def _reference(model: torch.nn.Module, sequences: list[str], labels: np.ndarray, features=None):
    """Each sequence alone, unpadded, no mask: (P(soluble) (N,), mean cross-entropy)."""
    model.eval()
    logits = []
    with torch.no_grad():
        for i, seq in enumerate(sequences):
            tokens = encode(seq, vocab_size=model_vocab_size(model))[None]  # (1, L)
            if features is None:
                logits.append(model(tokens, None))
            else:
                logits.append(model(tokens, torch.tensor(features[i : i + 1]), None))
    stacked = torch.cat(logits).float()  # (N, 2)
    loss = F.cross_entropy(stacked, torch.as_tensor(labels)).item()
    return torch.softmax(stacked, dim=1)[:, 1].numpy(), loss


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("cnn", {"embed_dim": 8, "hidden_dim": 8}),
        ("solubility_net", {"channels": 4, "kernel_sizes": [3, 5]}),
        ("mlp", {}),
    ],
)
def test_matches_one_row_at_a_time_in_input_order(kind: str, config: dict) -> None:
    torch.manual_seed(0)
    model = build_model(kind, config)
    seqs = _sequences(70)
    labels = np.random.default_rng(1).integers(0, 2, len(seqs))
    data = TokenizedSet.from_sequences(seqs, labels, vocab_size=model_vocab_size(model))
    model.train()
    result = predict_probabilities(model, data, batch_size=16)
    assert model.training  # the caller's mode is restored
    probs, loss = _reference(model, seqs, labels)
    assert result.probs.shape == (70,) and result.probs.dtype == np.float64
    np.testing.assert_allclose(result.probs, probs, rtol=1e-5, atol=1e-6)
    assert result.loss == pytest.approx(loss, rel=1e-5)
    budgeted = predict_probabilities(model, data, batch_size=64, token_budget=200)
    np.testing.assert_allclose(budgeted.probs, probs, rtol=1e-5, atol=1e-6)


def test_feature_model_and_unlabelled_rows() -> None:
    torch.manual_seed(3)
    model = build_model("dual", {"embed_dim": 4, "hidden_dim": 8, "global_dim": 4})
    seqs = _sequences(25, seed=5)
    features = features_frame(seqs)[model.feature_names].to_numpy(np.float32)  # (N, F)
    model.set_feature_stats(features.mean(axis=0), features.std(axis=0))
    data = TokenizedSet.from_sequences(seqs, vocab_size=model.vocab_size, features=features)
    result = predict_probabilities(model, data, batch_size=7)
    assert result.loss is None  # no labels, no loss
    probs, _ = _reference(model, seqs, np.zeros(len(seqs), dtype=np.int64), features)
    np.testing.assert_allclose(result.probs, probs, rtol=1e-5, atol=1e-6)
