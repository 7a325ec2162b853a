"""Tests for protlab.runs.prep: a spec becomes split, tokenised data and a model;
a result becomes a checkpoint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import deepsol_sample
from sklearn.metrics import accuracy_score, roc_auc_score

from protlab.alphabet import AMINO_ACIDS
from protlab.data import LabelledData, encode, features_frame, make_batch, stratified_split
from protlab.models import build_model, load_checkpoint
from protlab.runs import RunSpec, evaluate_and_save, prepare_run
from protlab.training import TrainConfig, evaluate, train_model

TINY = {"embed_dim": 8, "hidden_dim": 8}


@pytest.fixture(scope="module")
def data() -> LabelledData:
    return deepsol_sample(100, max_length=150, seed=11)


def _spec(data: LabelledData, **changes) -> RunSpec:
    settings = {
        "model_config": TINY,
        "train_config": TrainConfig(epochs=1, batch_size=16, seed=9, device="cpu"),
    }
    return RunSpec(data=data, **{**settings, **changes})


def test_split_is_seeded_by_the_training_seed_and_tokens_match_encode(data) -> None:
    prepared = prepare_run(_spec(data))
    reference = stratified_split(data.labels, seed=9)
    for part in ("train", "val", "test"):
        assert np.array_equal(getattr(prepared.split, part), getattr(reference, part))
        assert np.array_equal(prepared.sets[part].labels, data.labels[getattr(reference, part)])
    test_rows = prepared.split.test
    batch = make_batch(prepared.sets["test"], np.arange(3))
    for i in range(3):
        expected = encode(
            data.sequences[test_rows[batch.index[i]]], vocab_size=prepared.model.config.vocab_size
        )
        assert torch.equal(batch.tokens[i, : len(expected)], expected)
    explicit = prepare_run(_spec(data, split_params={"seed": 1}))
    assert np.array_equal(explicit.split.test, stratified_split(data.labels, seed=1).test)


def test_data_is_read_from_a_path_when_not_given(data, tmp_path) -> None:
    path = tmp_path / "mine.csv"
    pd.DataFrame({"sequence": data.sequences, "label": data.labels}).to_csv(path, index=False)
    prepared = prepare_run(RunSpec(data_path=str(path), model_config=TINY, train_config=TrainConfig(seed=9)))
    assert len(prepared.data) == len(data) and sorted(prepared.data.sequences) == sorted(data.sequences)


def test_dual_model_is_standardised_with_training_rows_only(data) -> None:
    prepared = prepare_run(
        _spec(data, model_kind="dual", model_config={"embed_dim": 8, "hidden_dim": 8, "global_dim": 4})
    )
    names = list(prepared.model.feature_names)
    rows = features_frame([data.sequences[i] for i in prepared.split.train])[names].to_numpy(np.float64)
    assert np.allclose(prepared.model.feature_mean.numpy(), rows.mean(axis=0), rtol=1e-5)
    assert prepared.sets["train"].features.shape == (len(prepared.split.train), len(names))


def test_solubility_net_is_standardised_with_training_rows_like_the_recipes(data) -> None:
    prepared = prepare_run(
        _spec(data, model_kind="solubility_net", model_config={"channels": 4, "kernel_sizes": [3]})
    )
    train = prepared.sets["train"]
    reference = build_model("solubility_net", {"channels": 4, "kernel_sizes": [3]})
    everything = make_batch(train, np.arange(len(train)))  # the recipes' fit: every training row at once
    reference.fit_standardizer(everything.tokens, everything.mask)
    torch.testing.assert_close(prepared.model.stat_mean, reference.stat_mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(prepared.model.stat_std, reference.stat_std, rtol=1e-5, atol=1e-6)
    seqs = [data.sequences[i] for i in prepared.split.train]
    composition = np.array([[s.count(a) / len(s) for a in AMINO_ACIDS] for s in seqs])  # (N, 20) by hand
    np.testing.assert_allclose(prepared.model.stat_mean[1:21].numpy(), composition.mean(axis=0), atol=1e-6)


def test_evaluate_and_save_scores_the_test_split_and_writes_a_loadable_checkpoint(data, tmp_path) -> None:
    spec = _spec(data)
    prepared = prepare_run(spec)
    result = train_model(prepared.model, prepared.sets["train"], prepared.sets["val"], spec.train_config)
    saved = evaluate_and_save(prepared, result, spec, tmp_path / "model.pt", {"run_id": "r1"})
    table = saved["predictions"]
    assert list(table["id"]) == [data.ids[i] for i in prepared.split.test]
    assert saved["test_metrics"]["auc"] == pytest.approx(roc_auc_score(table["label"], table["p_soluble"]))
    assert saved["test_metrics"]["accuracy"] == pytest.approx(
        accuracy_score(table["label"], table["p_soluble"] >= 0.5)
    )
    majority = int(np.bincount(data.labels[prepared.split.train], minlength=2).argmax())
    assert saved["baseline"]["accuracy"] == pytest.approx(np.mean(table["label"] == majority))
    assert saved["best_epoch"] == result.best_epoch and saved["data_summary"]["n_test"] == len(table)
    loaded = load_checkpoint(saved["checkpoint"])
    _, probs, _ = evaluate(loaded.model, prepared.sets["test"], "cpu")
    assert np.allclose(probs, table["p_soluble"], atol=1e-6) and loaded.extra == {"run_id": "r1"}


def test_a_failing_leak_check_leaves_the_run_saved(data, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import protlab.runs.prep as prep_module

    def broken(*args, **kwargs):
        raise RuntimeError("mmseqs crashed")

    monkeypatch.setattr(prep_module, "leak_check", broken)
    spec = _spec(data)
    prepared = prepare_run(spec)
    result = train_model(prepared.model, prepared.sets["train"], prepared.sets["val"], spec.train_config)
    saved = evaluate_and_save(prepared, result, spec, tmp_path / "m.pt")
    assert saved["data_summary"]["leak_check"] is None and (tmp_path / "m.pt").exists()
    assert saved["data_summary"]["clustering"] is None  # a stratified split has no clusters


def test_the_leak_check_is_kept_per_split_for_the_next_run(data, tmp_path, monkeypatch) -> None:
    import protlab.runs.prep as prep_module
    from protlab.data import leak_check

    def run(spec: RunSpec, name: str) -> dict:
        prepared = prepare_run(spec)
        prepared.leak_cache = tmp_path / "leaks"  # as the worker sets it: <runs root>/_leaks
        result = train_model(prepared.model, prepared.sets["train"], prepared.sets["val"], spec.train_config)
        summary = evaluate_and_save(prepared, result, spec, tmp_path / name)["data_summary"]
        return prepared.split, summary["leak_check"]

    spec = _spec(data)
    split, found = run(spec, "first.pt")
    train = [data.sequences[i] for i in split.train]
    test = [data.sequences[i] for i in split.test]
    expected = leak_check(train, test, identity=0.3).as_dict()  # the same check, called directly
    assert found == expected and expected["method"] == "mmseqs2"
    assert len(list((tmp_path / "leaks").iterdir())) == 1
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("searched again")

    monkeypatch.setattr(prep_module, "leak_check", counted)
    assert run(spec, "again.pt")[1] == expected and calls == []  # the same split: the kept check
    assert run(_spec(data, split_params={"seed": 3}), "other.pt")[1] is None and len(calls) == 1  # checked
