"""Recipes trained: threshold, training end to end, reused members, the model card, the shipped model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, matthews_corrcoef, roc_auc_score

from protlab.data import (
    LabelledData,
    TokenizedSet,
    leak_check,
    load_bundled,
    make_batch,
)
from protlab.errors import ConfigError
from protlab.models import EnsembleModel, build_model, load_checkpoint
from protlab.predict import Predictor
from protlab.recipe_book import get_recipe, recipe_split, run_specs
from protlab.recipes import mcc_threshold, rescore_checkpoint, train_recipe
from protlab.runs import prepare_run
from protlab.training import TrainConfig, train_model

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PT = ROOT / "assets" / "models" / "default.pt"
DEFAULT_CARD = ROOT / "assets" / "models" / "default.json"


def test_mcc_threshold_matches_a_brute_force_search_with_sklearn() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    probs = np.clip(0.35 + 0.3 * labels + rng.normal(0, 0.2, 300), 0, 1)
    grid = np.round(np.arange(0.2, 0.801, 0.01), 2)
    best = max(grid, key=lambda t: (matthews_corrcoef(labels, probs >= t), -t))
    assert mcc_threshold(labels, probs) == pytest.approx(best)


def _tiny_data() -> LabelledData:
    """60 short bundled sequences (both classes) so training takes seconds."""
    data, _ = load_bundled()
    short = [i for i, s in enumerate(data.sequences) if len(s) < 120]
    rows = [i for i in short if data.labels[i] == 1][:30] + [i for i in short if data.labels[i] == 0][:30]
    return LabelledData([data.sequences[i] for i in rows], data.labels[rows], [data.ids[i] for i in rows])


@pytest.mark.parametrize("name", ["default", "notes-cnn", "solubility-net"])
def test_recipe_trains_end_to_end_and_writes_a_loadable_checkpoint(tmp_path, name: str) -> None:
    messages: list[str] = []
    out = tmp_path / f"{name}.pt"
    overrides = {"train": {"epochs": 2, "batch_size": 16}, "seeds": [1, 2]}
    small = {"solubility_net": {"channels": 4, "kernel_sizes": [3]}, "cnn": {"embed_dim": 8, "hidden_dim": 8}}
    overrides["model_config"] = small[get_recipe(name).kind]
    metrics = train_recipe(
        name, _tiny_data(), out, progress=messages.append, test_fraction=0.2, seed=5, overrides=overrides
    )
    assert {"auc", "accuracy", "mcc", "f1", "precision", "recall"} <= set(metrics["test"])
    loaded = load_checkpoint(out)
    assert loaded.kind == "ensemble"
    assert len(loaded.extra["held_out_rows"]) == metrics["test"]["n"]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["metrics"]["test"]["auc"] == pytest.approx(metrics["test"]["auc"])
    assert card["split"]["held_out_rows"] == loaded.extra["held_out_rows"]
    probs = Predictor.from_checkpoint(out).predict(["MKTAYIAKQRQISFVKSHFSRQ", "GSHMLEDPVDAFQ"])
    assert probs.shape == (2,) and np.all((probs > 0) & (probs < 1))
    assert any("Held-out test" in m for m in messages)


def _former_recipe_ensemble(
    recipe_name: str, data: LabelledData, overrides: dict, test_fraction: float, split_seed: int
) -> tuple[torch.nn.Module, np.ndarray]:
    """Members trained as train_recipe did before it used prepare_run (frozen here); (ensemble, test rows)."""
    recipe = replace(get_recipe(recipe_name), test_fraction=test_fraction, split_seed=split_seed)
    split = recipe_split(recipe, data)  # the same rows train_recipe gives every member
    val, test = split.val, split.test
    full = TokenizedSet.from_sequences(data.sequences, data.labels, max_length=max(map(len, data.sequences)))
    train_rows = np.setdiff1d(np.arange(len(data)), np.concatenate([val, test]))
    train, val_set = full.subset(train_rows), full.subset(val)
    members = []
    for seed in overrides["seeds"]:
        torch.manual_seed(seed)
        model = build_model(recipe.kind, {**recipe.model_config, **overrides["model_config"]})
        everything = make_batch(train, np.arange(len(train)))
        model.fit_standardizer(everything.tokens, everything.mask)
        config = TrainConfig(**{**recipe.train, **overrides["train"], "seed": seed})
        train_model(model, train, val_set, config)
        members.append(model.cpu().eval())
    return EnsembleModel(members), test


def test_recipe_members_train_exactly_as_the_former_recipe_code(tmp_path) -> None:
    overrides = {
        "train": {"epochs": 2, "batch_size": 16},
        "seeds": [1, 2],
        "model_config": {"channels": 4, "kernel_sizes": [3]},
    }
    data = _tiny_data()
    train_recipe(
        "solubility-net",
        data,
        tmp_path / "m.pt",
        progress=lambda _: None,
        test_fraction=0.2,
        seed=5,
        overrides=overrides,
    )
    loaded = load_checkpoint(tmp_path / "m.pt")
    reference, test = _former_recipe_ensemble("solubility-net", data, overrides, 0.2, 5)
    assert loaded.extra["held_out_rows"] == test.tolist()
    tokens = make_batch(TokenizedSet.from_sequences([data.sequences[i] for i in test]), np.arange(len(test)))
    with torch.no_grad():
        expected = torch.softmax(reference(tokens.tokens, tokens.mask), dim=1)[:, 1]
        got = torch.softmax(loaded.model(tokens.tokens, tokens.mask), dim=1)[:, 1]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_bad_override_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError):
        train_recipe("default", _tiny_data(), tmp_path / "x.pt", overrides={"train": {"lr": -1.0}})


def test_shipped_default_model_loads_safely_and_ranks_held_out_rows() -> None:
    assert DEFAULT_PT.stat().st_size < 5 * 1024 * 1024
    raw = torch.load(DEFAULT_PT, weights_only=True, map_location="cpu")
    card = json.loads(DEFAULT_CARD.read_text())
    assert raw["extra"]["held_out_rows"] == card["split"]["held_out_rows"]
    data, _ = load_bundled()
    held_out = np.array(card["split"]["held_out_rows"])
    rows = np.random.default_rng(0).choice(held_out, 300, replace=False)
    probs = Predictor.from_checkpoint(DEFAULT_PT).predict([data.sequences[i] for i in rows])
    assert np.all((probs > 0) & (probs < 1))
    assert roc_auc_score(data.labels[rows], probs) > 0.6
    assert 0.0 < card["threshold"] < 1.0 and raw["extra"]["threshold"] == card["threshold"]


def test_shipped_held_out_rows_are_rebuilt_by_the_recorded_split() -> None:
    card = json.loads(DEFAULT_CARD.read_text())
    data, _ = load_bundled()
    recipe = get_recipe("default")
    recipe = replace(recipe, test_fraction=card["data"]["test_fraction"], split_seed=card["split"]["seed"])
    spec = run_specs(recipe, data)[0]
    split = prepare_run(spec, data).split  # the split every member of the recipe trains on
    assert split.test.tolist() == card["split"]["held_out_rows"]
    assert recipe.split == card["split"]["method"] == "mmseqs"
    assert split.clustering == card["split"]["clustering"] == "mmseqs2"
    assert (split.identity, split.coverage) == (card["split"]["identity"], card["split"]["coverage"])
    assert (split.identity, split.coverage) == (0.3, 0.8)
    assert split.n_clusters == card["data"]["n_clusters"] == card["split"]["n_clusters"]
    assert split.largest_cluster == card["split"]["largest_cluster"]
    clusters = split.clusters
    for part in (split.val, split.test):  # whole clusters only
        assert not set(clusters[part].tolist()) & set(clusters[split.train].tolist())
    found = leak_check(
        [data.sequences[i] for i in split.train], [data.sequences[i] for i in split.test], identity=0.3
    )  # an independent MMseqs2 search of test against train
    assert found.method == "mmseqs2" and found.n_leaked == 0
    assert card["split"]["leak_check"]["test"]["n_leaked"] == 0


def test_card_carries_intervals_calibration_and_leak_check_and_rescoring_reproduces_it(tmp_path) -> None:
    out = tmp_path / "m.pt"
    overrides = {"train": {"epochs": 1, "batch_size": 16}, "seeds": [1], "model_config": {"channels": 4}}
    data = _tiny_data()
    train_recipe("solubility-net", data, out, progress=lambda _: None, overrides=overrides)
    card = json.loads(out.with_suffix(".json").read_text())
    rows = np.array(card["split"]["held_out_rows"])
    probs = Predictor.from_checkpoint(out).predict([data.sequences[i] for i in rows])
    labels = data.labels[rows]
    observed, mean_p = calibration_curve(labels, probs, n_bins=10, strategy="uniform")
    bins = card["calibration"]["bins"]
    np.testing.assert_allclose([b["observed"] for b in bins], observed, atol=1e-5)
    np.testing.assert_allclose([b["mean_p"] for b in bins], mean_p, atol=1e-5)
    assert sum(b["count"] for b in bins) == len(rows)
    assert card["calibration"]["brier"] == pytest.approx(brier_score_loss(labels, probs), abs=1e-5)
    ci = card["metrics"]["test_ci"]
    assert ci["auc"]["value"] == pytest.approx(roc_auc_score(labels, probs), abs=1e-5)
    assert card["split"]["leak_check"]["test"]["n_leaked"] == 0 and card["split"]["clustering"] == "mmseqs2"
    again = rescore_checkpoint("solubility-net", data, out, tmp_path / "again.pt", progress=lambda _: None)
    for name, interval in card["metrics"]["test_ci"].items():
        assert again["test_ci"][name] == pytest.approx(interval)
    with pytest.raises(ConfigError, match="held-out rows differ"):
        rescore_checkpoint("solubility-net", _tiny_data_other(), out, tmp_path / "x.pt", progress=print)


def _tiny_data_other() -> LabelledData:
    """Other short bundled sequences than _tiny_data's."""
    data, _ = load_bundled()
    short = [i for i, s in enumerate(data.sequences) if len(s) < 150]
    rows = [i for i in short if data.labels[i] == 1][40:65] + [i for i in short if data.labels[i] == 0][40:65]
    return LabelledData([data.sequences[i] for i in rows], data.labels[rows], [data.ids[i] for i in rows])


def test_reused_members_are_kept_and_only_the_rest_are_trained(tmp_path) -> None:
    overrides = {
        "train": {"epochs": 1, "batch_size": 16},
        "model_config": {"channels": 4, "kernel_sizes": [3]},
    }
    data, quiet = _tiny_data(), (lambda _: None)
    first = tmp_path / "first.pt"
    train_recipe("solubility-net", data, first, progress=quiet, overrides={**overrides, "seeds": [1]})
    out = tmp_path / "both.pt"
    train_recipe(
        "solubility-net", data, out, progress=quiet, overrides={**overrides, "seeds": [1, 2]}, reuse=first
    )
    kept = load_checkpoint(first).model.state_dict()
    both = load_checkpoint(out).model.members
    assert len(both) == 2
    for name, value in both[0].state_dict().items():
        torch.testing.assert_close(value, kept[name])
    assert not torch.equal(both[1].head.weight, both[0].head.weight)  # the second member was trained anew
    with pytest.raises(ConfigError, match="reuse"):
        train_recipe(
            "solubility-net",
            data,
            tmp_path / "x.pt",
            progress=quiet,
            overrides={**overrides, "seeds": [1, 2], "model_config": {"channels": 8, "kernel_sizes": [3]}},
            reuse=first,
        )
