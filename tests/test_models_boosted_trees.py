"""BoostedTrees: walks its trees exactly as scikit-learn does, fits on training rows, saves and trains."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.ensemble import HistGradientBoostingClassifier

from protlab.alphabet import AMINO_ACIDS
from protlab.data.batching import TokenizedSet, make_batch
from protlab.errors import ConfigError
from protlab.models import build_model, load_checkpoint, model_config_dict, save_checkpoint
from protlab.models.composition import CompositionNet
from protlab.training import TrainConfig, train_model
from protlab.training.inference import predict_probabilities
from protlab.training.metrics import compute_metrics

SMALL = {"n_trees": 30, "max_leaf_nodes": 7, "min_samples_leaf": 5, "learning_rate": 0.2}


def _proteins(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Random proteins whose label depends on how they start and on their lysine share (plus noise)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list(AMINO_ACIDS))
    sequences, labels = [], []
    for _ in range(n):
        body = "".join(rng.choice(letters, size=int(rng.integers(20, 120))))
        tagged = rng.random() < 0.5
        sequence = ("MGSDKIHHHHHH" if tagged else "M") + body
        score = (-1.0 if tagged else 0.5) + 8 * (sequence.count("K") / len(sequence) - 0.05)
        sequences.append(sequence)
        labels.append(int(score + rng.normal(0, 0.5) > 0))
    return sequences, np.array(labels)


def _fitted(seed: int = 0, n: int = 300, **settings) -> tuple[torch.nn.Module, TokenizedSet]:
    """A BoostedTrees fitted on n random labelled proteins, and those proteins."""
    sequences, labels = _proteins(n, seed)
    train = TokenizedSet.from_sequences(sequences, labels)
    model = build_model("boosted_trees", {**SMALL, **settings})
    model.fit_training_rows(train)
    return model.eval(), train


def _stats(model: torch.nn.Module, data: TokenizedSet) -> torch.Tensor:
    """The model's statistics of every protein of data, in row order.  # (N, S) float64"""
    batch = make_batch(data, np.arange(len(data)))
    return model.stats(batch.tokens, batch.mask)


def test_the_statistics_are_the_composition_nets() -> None:
    model, train = _fitted()
    composition = CompositionNet(model.config.stat_config())
    batch = make_batch(train, np.arange(20))
    expected = composition.stats(batch.tokens, batch.mask).double()  # (20, S) float32 -> float64
    np.testing.assert_allclose(model.stats(batch.tokens, batch.mask).numpy(), expected.numpy(), atol=1e-6)


def test_fitting_grows_what_scikit_learn_grows_and_the_walk_gives_its_log_odds() -> None:
    model, train = _fitted()
    stats = _stats(model, train).numpy()  # (N, S)
    c = model.config
    reference = HistGradientBoostingClassifier(
        max_iter=c.n_trees,
        learning_rate=c.learning_rate,
        max_leaf_nodes=c.max_leaf_nodes,
        min_samples_leaf=c.min_samples_leaf,
        l2_regularization=c.l2_regularization,
        early_stopping=False,
    ).fit(stats, train.labels)
    held_out, _ = _proteins(200, seed=1)
    test = TokenizedSet.from_sequences(held_out)
    test_stats = _stats(model, test)
    np.testing.assert_allclose(
        model.log_odds(test_stats).numpy(), reference.decision_function(test_stats.numpy()), atol=1e-9
    )
    p = predict_probabilities(model, test, device="cpu", batch_size=16).probs  # padded, length-sorted batches
    np.testing.assert_allclose(p, reference.predict_proba(test_stats.numpy())[:, 1], atol=1e-6)
    assert model.levels.item() >= 2  # the trees split more than once, so the walk is really tested


def test_a_protein_gets_the_same_probability_alone_and_in_a_padded_batch() -> None:
    model, _ = _fitted()
    sequences, _ = _proteins(12, seed=2)
    data = TokenizedSet.from_sequences(sequences)
    together = predict_probabilities(model, data, device="cpu", batch_size=12).probs
    singles = [TokenizedSet.from_sequences([s]) for s in sequences]
    alone = [predict_probabilities(model, one, device="cpu").probs[0] for one in singles]
    np.testing.assert_array_equal(together, alone)


def test_a_weights_only_checkpoint_brings_the_trees_back(tmp_path) -> None:
    model, train = _fitted()
    path = save_checkpoint(
        tmp_path / "trees.pt", model, kind="boosted_trees", model_config=model_config_dict(model)
    )
    loaded = load_checkpoint(path).model.eval()
    batch = make_batch(train, np.arange(40))
    torch.testing.assert_close(loaded(batch.tokens, batch.mask), model(batch.tokens, batch.mask))


def test_training_scores_the_fitted_trees_without_a_step() -> None:
    model, train = _fitted()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sequences, labels = _proteins(80, seed=3)
    val = TokenizedSet.from_sequences(sequences, labels)
    events = []
    result = train_model(model, train, val, TrainConfig(epochs=5), callback=events.append)
    assert result.stopped_reason == "fitted" and result.best_epoch == 1 and events == result.history
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    probs = predict_probabilities(model, val, device="cpu").probs
    expected = compute_metrics(labels, probs)
    assert result.history[0].val_metrics == pytest.approx(expected)
    assert result.history[0].epochs == 1


@pytest.mark.parametrize("labels", [[1] * 30, None], ids=["one class", "unlabelled"])
def test_rows_without_both_labels_are_refused(labels: list[int] | None) -> None:
    sequences, _ = _proteins(30, seed=4)
    model = build_model("boosted_trees", SMALL)
    with pytest.raises(ConfigError, match="labelled 0 and 1"):
        model.fit_training_rows(TokenizedSet.from_sequences(sequences, labels))


def test_a_booster_of_another_shape_is_refused() -> None:
    model, train = _fitted()
    other = HistGradientBoostingClassifier(max_iter=5, early_stopping=False)
    other.fit(_stats(model, train).numpy(), train.labels)
    with pytest.raises(ConfigError, match="5 trees"):
        model.load_booster(other)


@pytest.mark.parametrize("setting, value", [("n_trees", 0), ("learning_rate", 0.0), ("max_leaf_nodes", 1)])
def test_settings_outside_their_range_name_the_setting(setting: str, value: float) -> None:
    with pytest.raises(ConfigError, match=setting):
        build_model("boosted_trees", {setting: value})
