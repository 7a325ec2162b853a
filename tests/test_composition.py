"""CompositionNet: statistics equal a plain-Python reference, weights_only checkpoints load, it trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from protlab.alphabet import AMINO_ACIDS
from protlab.data.batching import TokenizedSet, make_batch
from protlab.errors import ConfigError
from protlab.models import build_model, load_checkpoint, model_config_dict, save_checkpoint
from protlab.models.composition import CONJOINT_TRIAD_GROUPS, CompositionNet, stat_dim

SEQUENCES = ["MKTAYIAKQRQISFVKSHFSRQLEHHHHHH", "GSHMLEDPVDAFQ", "MC", "ACDEFGHIKLMNPQRSTVWYXACDW"]


def _fractions(items: list, keys: list) -> list[float]:
    """Fraction of each key among the items that are keys (0 when none are)."""
    counted = [i for i in items if i in keys]
    return [counted.count(k) / len(counted) if counted else 0.0 for k in keys]


def _reference(seq: str, window: int, p: int, groups: tuple[str, ...], use_groups: bool, dipeptides: bool):
    """The statistics written out residue by residue, in the model's column order."""
    aa = list(AMINO_ACIDS)
    row = _fractions(list(seq), aa) + _fractions(list(seq[:window]), aa) + _fractions(list(seq[-window:]), aa)
    for positions in (range(p), range(-1, -p - 1, -1)):
        for i in positions:
            inside = -len(seq) <= i < len(seq)
            row += [1.0 if inside and seq[i] == a else 0.0 for a in aa]
    row.append(np.log(len(seq)))
    if use_groups:
        cls = [next((g for g, s in enumerate(groups) if c in s), None) for c in seq]
        row += _fractions(cls, list(range(len(groups))))
        pairs = [(a, b) for a, b in zip(cls, cls[1:]) if a is not None and b is not None]
        row += _fractions(pairs, [(a, b) for a in range(len(groups)) for b in range(len(groups))])
    if dipeptides:
        pairs = [(a, b) for a, b in zip(seq, seq[1:]) if a in aa and b in aa]
        row += _fractions(pairs, [(a, b) for a in aa for b in aa])
    return np.array(row)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"terminal_window": 3, "terminal_positions": 4, "use_groups": True, "use_dipeptides": True},
        {"terminal_positions": 0, "use_groups": True, "groups": ["KR", "DE"]},
    ],
)
def test_statistics_match_a_plain_python_reference(settings: dict) -> None:
    model = build_model("composition", settings)
    c = model.config
    batch = make_batch(TokenizedSet.from_sequences(SEQUENCES), np.arange(len(SEQUENCES)))
    got = model.stats(batch.tokens, batch.mask).double().numpy()  # (B, S)
    expected = np.stack(
        [
            _reference(s, c.terminal_window, c.terminal_positions, c.groups, c.use_groups, c.use_dipeptides)
            for s in SEQUENCES
        ]
    )
    assert got.shape == (len(SEQUENCES), stat_dim(c))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_padding_does_not_change_a_prediction() -> None:
    torch.manual_seed(0)
    model = build_model("composition", {"use_groups": True}).eval()
    alone = make_batch(TokenizedSet.from_sequences(SEQUENCES[1:2]), np.arange(1))
    padded = make_batch(TokenizedSet.from_sequences(SEQUENCES), np.arange(len(SEQUENCES)))
    with torch.no_grad():
        torch.testing.assert_close(model(alone.tokens, alone.mask)[0], model(padded.tokens, padded.mask)[1])


def test_bad_groups_are_refused() -> None:
    with pytest.raises(ConfigError, match="groups"):
        build_model("composition", {"groups": ["AG", "GV"]})
    with pytest.raises(ConfigError, match="groups"):
        build_model("composition", {"groups": ["AB"]})


def test_fitted_standardiser_and_weights_survive_a_weights_only_checkpoint(tmp_path) -> None:
    model = build_model("composition", {"hidden_dim": 8})
    model.fit_training_rows(TokenizedSet.from_sequences(SEQUENCES, np.array([0, 1, 0, 1])))
    stats = make_batch(TokenizedSet.from_sequences(SEQUENCES), np.arange(len(SEQUENCES)))
    raw = model.stats(stats.tokens, stats.mask)
    torch.testing.assert_close(model.stat_mean, raw.mean(0))
    path = save_checkpoint(
        tmp_path / "c.pt", model, kind="composition", model_config=model_config_dict(model)
    )
    assert torch.load(path, weights_only=True)["kind"] == "composition"
    loaded = load_checkpoint(path)
    assert isinstance(loaded.model, CompositionNet) and loaded.model.config.groups == CONJOINT_TRIAD_GROUPS
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.model(stats.tokens, stats.mask), model.eval()(stats.tokens, stats.mask)
        )


def test_logistic_regression_learns_a_composition_rule() -> None:
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list(AMINO_ACIDS), 40)) for _ in range(200)]
    labels = np.array([int(s.count("K") + s.count("R") > s.count("D") + s.count("E")) for s in seqs])
    data = TokenizedSet.from_sequences(seqs, labels)
    torch.manual_seed(0)
    model = build_model("composition", {"terminal_positions": 0})
    model.fit_training_rows(data)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    batch = make_batch(data, np.arange(len(seqs)))
    for _ in range(200):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(batch.tokens, batch.mask), torch.as_tensor(labels))
        loss.backward()
        optimizer.step()
    accuracy = (model(batch.tokens, batch.mask).argmax(1).numpy() == labels).mean()
    assert accuracy > 0.9
