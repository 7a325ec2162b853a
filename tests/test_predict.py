"""Predictor: batched prediction equals one-at-a-time model calls; attribution equals autograd by hand."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from protlab import predict as predict_module
from protlab.alphabet import AMINO_ACIDS
from protlab.data import encode, features_frame, parse_sequences
from protlab.errors import CheckpointError, ConfigError, InvalidSequenceError
from protlab.models import EnsembleModel, build_model, model_config_dict, save_checkpoint
from protlab.models.ensemble import stacked_cnn_logits
from protlab.predict import Predictor


def _random_sequences(n: int, low: int = 5, high: int = 60, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list(AMINO_ACIDS))
    return ["".join(rng.choice(letters, int(rng.integers(low, high)))) for _ in range(n)]


def _model(kind: str = "cnn", config: dict | None = None, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(kind, config if config is not None else {"hidden_dim": 16, "embed_dim": 8}).eval()


def _one_at_a_time(model: torch.nn.Module, sequences: list[str], vocab_size: int) -> np.ndarray:
    with torch.no_grad():
        return np.array(
            [F.softmax(model(encode(s, vocab_size=vocab_size)[None]), -1)[0, 1].item() for s in sequences]
        )


def test_batched_prediction_equals_single_calls_in_input_order() -> None:
    model = _model()
    sequences = _random_sequences(150)  # more than one batch, many lengths
    p = Predictor(model, {"vocab_size": 21}).predict(sequences)
    assert p.shape == (150,) and p.dtype == np.float64
    np.testing.assert_allclose(p, _one_at_a_time(model, sequences, 21), rtol=1e-5, atol=1e-6)


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path: Path) -> None:
    model = _model("cnn", {"vocab_size": 22, "hidden_dim": 16})
    path = save_checkpoint(tmp_path / "m.pt", model, kind="cnn", model_config=model_config_dict(model))
    sequences = _random_sequences(20, seed=1) + ["MKXXVLA"]
    before = Predictor(model).predict(sequences)
    after = Predictor.from_checkpoint(path).predict(sequences)
    np.testing.assert_array_equal(before, after)
    assert Predictor.from_checkpoint(path).vocab_size == 22


def test_checkpoint_vocab_decides_encoding(tmp_path: Path) -> None:
    model = _model()  # vocab 21: unknown letters read as padding, as in the notes
    predictor = Predictor.from_checkpoint(
        save_checkpoint(tmp_path / "m.pt", model, kind="cnn", model_config=model_config_dict(model))
    )
    np.testing.assert_allclose(predictor.predict(["MKVXB"]), _one_at_a_time(model, ["MKVXB"], 21), rtol=1e-6)


def test_dual_model_gets_its_features() -> None:
    model = _model("dual", {"hidden_dim": 8, "embed_dim": 4})
    model.set_feature_stats([20_000.0, 7.0, 0.0, 40.0, 50.0], [5_000.0, 2.0, 1.0, 10.0, 20.0])
    sequences = _random_sequences(7, seed=2)
    frame = features_frame(sequences)[model.feature_names]
    expected = []
    with torch.no_grad():
        for i, s in enumerate(sequences):
            features = torch.tensor(frame.iloc[[i]].to_numpy(), dtype=torch.float32)
            expected.append(F.softmax(model(encode(s, vocab_size=21)[None], features), -1)[0, 1].item())
    np.testing.assert_allclose(Predictor(model).predict(sequences), expected, rtol=1e-5)


def test_predict_table_columns_and_threshold() -> None:
    model = _model()
    records = parse_sequences(">a\nMKTAYIAKQR\n>b\nMVLSPADKTNVKAAW\n")
    predictor = Predictor(model)
    table = predictor.predict_table(records, threshold=0.5)
    assert list(table.columns) == ["id", "sequence", "length", "p_soluble", "prediction"]
    assert list(table["id"]) == ["a", "b"] and list(table["length"]) == [10, 15]
    expected = np.where(table["p_soluble"] >= 0.5, "soluble", "insoluble")
    assert list(table["prediction"]) == list(expected)
    assert set(predictor.predict_table(records, threshold=0.0)["prediction"]) == {"soluble"}
    with pytest.raises(ConfigError, match="threshold"):
        predictor.predict_table(records, threshold=2)
    assert isinstance(table, pd.DataFrame)


@pytest.mark.parametrize(
    "bad, match",
    [(["MKV", "mkv"], "Sequence 2"), (["MK1"], "Sequence 1"), ([""], "non-empty"), ("MKV", "single string")],
)
def test_invalid_sequences_raise(bad, match: str) -> None:
    with pytest.raises(InvalidSequenceError, match=match):
        Predictor(_model()).predict(bad)


def test_empty_list_gives_empty_result() -> None:
    assert Predictor(_model()).predict([]).shape == (0,)


def _reference_attribution(model, sequence: str) -> np.ndarray:
    """Gradient x input written out by hand with torch.autograd on the notes' layer order."""
    tokens = encode(sequence, vocab_size=21)[None]
    emb = model.embedding(tokens).detach().requires_grad_(True)  # (1, L, E)
    x = F.relu(model.conv1(emb.transpose(1, 2)))
    x = F.relu(model.conv2(x)).mean(dim=2)
    logits = model.fc(x)
    (logits[0, 1] - logits[0, 0]).backward()
    return (emb.grad * emb).sum(-1)[0].detach().numpy()


def test_attribution_matches_autograd_by_hand_and_leaves_no_trace() -> None:
    model = _model("cnn", {})
    sequence = _random_sequences(1, 30, 31, seed=4)[0]
    predictor = Predictor(model)
    scores = predictor.attribution(sequence)
    assert scores.shape == (30,)
    assert all(p.grad is None for p in model.parameters())
    assert not model.embedding._forward_hooks
    np.testing.assert_allclose(scores, _reference_attribution(model, sequence), rtol=1e-4, atol=1e-6)
    with torch.inference_mode():  # also works when called inside an inference-mode block
        np.testing.assert_allclose(predictor.attribution(sequence), scores, rtol=1e-5, atol=1e-7)


def test_attribution_ignores_other_sessions_running_the_shared_model_meanwhile(monkeypatch) -> None:
    model = _model("cnn", {})
    sequence, other = _random_sequences(2, 30, 31, seed=5)
    predictor = Predictor(model)  # one cached model, shared by every session of a server
    expected = predictor.attribution(sequence)
    real_logits = Predictor._logits
    seen = []

    def logits_with_a_neighbour(self, tokens, mask, features):
        if not seen:  # during the attribution's forward pass (its hooks are on), another session predicts
            seen.append(1)
            neighbour = threading.Thread(target=lambda: seen.append(self.predict([other])[0]))
            neighbour.start()
            neighbour.join()
        return real_logits(self, tokens, mask, features)

    monkeypatch.setattr(Predictor, "_logits", logits_with_a_neighbour)
    np.testing.assert_allclose(predictor.attribution(sequence), expected, rtol=1e-6, atol=1e-8)
    assert len(seen) == 2 and seen[1] == pytest.approx(float(Predictor(model).predict([other])[0]), abs=1e-6)
    assert not model.embedding._forward_hooks


def test_attribution_of_one_member_ensemble_equals_the_member() -> None:
    member = _model("cnn", {})
    sequence = "MKTAYIAKQRQISFVKSHFSRQ"
    single = Predictor(member).attribution(sequence)
    np.testing.assert_allclose(
        Predictor(EnsembleModel([member]).eval()).attribution(sequence), single, rtol=1e-4, atol=1e-6
    )
    pair = EnsembleModel([member, _model("cnn", {}, seed=1)]).eval()
    assert Predictor(pair).attribution(sequence).shape == (len(sequence),)


def test_attribution_needs_an_embedding() -> None:
    with pytest.raises(ConfigError, match="no embedding"):
        Predictor(_model("mlp", {})).attribution("MKTAYIAK")


def test_attribution_share_counts_the_weights_of_members_with_an_embedding() -> None:
    assert Predictor(_model("cnn", {})).attribution_share() == (1.0, [])
    assert Predictor(_model("mlp", {})).attribution_share() == (0.0, ["mlp"])
    members = [_model("cnn", {"vocab_size": 22}), _model("composition", {}), _model("mlp", {})]
    mixed = EnsembleModel(members, weights=[2, 1, 1])
    assert Predictor(mixed.eval()).attribution_share() == (pytest.approx(0.5), ["composition", "mlp"])
    config = model_config_dict(Predictor.default().model)  # the shipped default, from its own description
    with_embedding = {"cnn", "solubility_net"}
    weights = np.asarray(config["weights"], dtype=float)
    seen = sum(w for w, m in zip(weights, config["members"]) if m["kind"] in with_embedding) / weights.sum()
    share, others = Predictor.default().attribution_share()
    assert share == pytest.approx(seen)
    assert set(others) == {m["kind"] for m in config["members"]} - with_embedding


def test_held_out_figures_at_the_threshold_are_sklearns_on_the_held_out_rows() -> None:
    import sklearn.metrics as skm

    from protlab.data import load_bundled

    predictor = Predictor.default()
    data, _ = load_bundled()
    rows = predictor.meta["extra"]["held_out_rows"]
    labels = data.labels[rows]
    calls = (predictor.predict([data.sequences[i] for i in rows]) >= predictor.stored_threshold).astype(int)
    figures = predictor.held_out_at_threshold
    assert figures["n"] == len(rows)
    assert figures["accuracy"] == pytest.approx(skm.accuracy_score(labels, calls), abs=2e-3)
    assert figures["recall"] == pytest.approx(skm.recall_score(labels, calls), abs=2e-3)
    assert figures["precision"] == pytest.approx(skm.precision_score(labels, calls), abs=2e-3)
    assert Predictor(_model("cnn", {})).held_out_at_threshold is None  # nothing recorded


def test_occlusion_equals_predicting_with_each_residue_hidden() -> None:
    predictor = Predictor(_model("cnn", {"vocab_size": 22, "hidden_dim": 16}))
    sequence = "MKTAYIAKQRQISF"
    hidden = [sequence[:i] + "X" + sequence[i + 1 :] for i in range(len(sequence))]
    expected = predictor.predict([sequence])[0] - predictor.predict(hidden)
    np.testing.assert_allclose(predictor.occlusion(sequence), expected, rtol=1e-5, atol=1e-7)
    assert predictor.occlusion(sequence, window=3).shape == (len(sequence),)
    with pytest.raises(ConfigError, match="window"):
        predictor.occlusion(sequence, window=0)


def test_default_model_missing_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(predict_module, "DEFAULT_MODEL_PATH", tmp_path / "default.pt")
    with pytest.raises(CheckpointError, match="default model"):
        Predictor.default()
    model = _model()
    save_checkpoint(tmp_path / "default.pt", model, kind="cnn", model_config=model_config_dict(model))
    first = Predictor.default()
    assert Predictor.default() is first
    assert first.meta["kind"] == "cnn"


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"extra": {"threshold": 0.37}}, 0.37),
        ({"metrics": {"threshold": 0.6}}, 0.6),
        ({"extra": {"threshold": 1.5}}, None),
        ({"extra": {"recipe": "x"}}, None),
        ({}, None),
    ],
)
def test_stored_threshold_comes_from_the_checkpoint(meta: dict, expected: float | None) -> None:
    assert Predictor(_model(), meta).stored_threshold == expected


def test_cli_uses_the_saved_threshold_by_default(tmp_path: Path, capsys) -> None:
    from protlab.cli import main

    model = _model()
    path = save_checkpoint(
        tmp_path / "m.pt", model, kind="cnn", model_config=model_config_dict(model), extra={"threshold": 0.25}
    )
    code = main(["predict", "MVLSPADKTNVKAAW", "--model", str(path)])
    assert code in (0, None)
    assert "(threshold 0.25)" in capsys.readouterr().out


def _bayes_from_counts(soluble: np.ndarray, insoluble: np.ndarray, new_soluble: int, new_insoluble: int):
    """P(soluble | score bin) in a new set with the same per-class score distributions, from counts."""
    like_soluble = soluble / soluble.sum()  # P(bin | soluble)
    like_insoluble = insoluble / insoluble.sum()  # P(bin | insoluble)
    return like_soluble * new_soluble / (like_soluble * new_soluble + like_insoluble * new_insoluble)


def test_prior_adjustment_equals_bayes_from_counts() -> None:
    from protlab.predict import adjust_for_prior

    rng = np.random.default_rng(0)
    soluble, insoluble = rng.integers(1, 400, 12), rng.integers(1, 400, 12)  # training counts per score bin
    p_train = soluble / (soluble + insoluble)  # a perfectly calibrated model's P(soluble) per bin
    train_prior = soluble.sum() / (soluble.sum() + insoluble.sum())
    for new_soluble, new_insoluble in ((800, 200), (50, 950), (500, 500)):
        expected = _bayes_from_counts(soluble, insoluble, new_soluble, new_insoluble)
        adjusted = adjust_for_prior(p_train, train_prior, new_soluble / (new_soluble + new_insoluble))
        np.testing.assert_allclose(adjusted, expected, rtol=1e-12)
    np.testing.assert_allclose(adjust_for_prior(p_train, train_prior, train_prior), p_train, rtol=1e-12)
    assert adjust_for_prior(0.0, 0.4, 0.9) == 0.0 and adjust_for_prior(1.0, 0.4, 0.1) == 1.0


def test_adjusted_calls_equal_raw_scores_against_the_moved_threshold() -> None:
    from protlab.predict import adjust_for_prior, score_threshold

    p = np.linspace(0.001, 0.999, 500)
    for threshold, new_prior in ((0.5, 0.8), (0.51, 0.1), (0.3, 0.6)):
        cut = score_threshold(threshold, 0.417, new_prior)
        assert adjust_for_prior(cut, 0.417, new_prior) == pytest.approx(threshold, abs=1e-12)
        adjusted_calls = adjust_for_prior(p, 0.417, new_prior) >= threshold
        np.testing.assert_array_equal(adjusted_calls, p >= cut - 1e-12)


@pytest.mark.parametrize("bad", [0, 1, 0.0, 1.5, -0.2, float("nan"), float("inf"), True, "0.5", None])
def test_prior_must_be_a_fraction_strictly_between_0_and_1(bad) -> None:
    from protlab.predict import adjust_for_prior

    with pytest.raises(ConfigError, match=r"^prior must be a number above 0 and below 1"):
        adjust_for_prior(0.5, 0.4, bad)
    with pytest.raises(ConfigError, match=r"^train_prior must be"):
        adjust_for_prior(0.5, bad, 0.4)
    if bad is not None:  # predict_table reads None as "no adjustment"
        with pytest.raises(ConfigError, match=r"^prior must be"):
            Predictor(_model()).predict_table(parse_sequences("MKTAYIAK"), prior=bad)


def test_training_prior_comes_from_the_checkpoint() -> None:
    from protlab.predict import BUNDLED_PRIOR, training_prior_of

    assert training_prior_of({"data_summary": {"class_counts": [30, 10]}})[0] == 0.25
    both = {"data_summary": {"class_counts": [30, 10], "train_class_counts": [20, 20]}}
    assert training_prior_of(both)[0] == 0.5  # the training rows' balance wins over all rows'
    balanced = {"train_config": {"class_weighting": "balanced"}, "data_summary": {"class_counts": [30, 10]}}
    assert training_prior_of(balanced)[0] == 0.5
    prior, origin = training_prior_of({"data_summary": {"class_counts": [0, True]}})
    assert prior == BUNDLED_PRIOR and "not recorded" in origin
    assert Predictor(_model(), {"data_summary": {"class_counts": [3, 1]}}).training_prior == 0.25


def test_bundled_prior_is_the_bundled_datas_soluble_share() -> None:
    from protlab.data import load_bundled
    from protlab.predict import BUNDLED_PRIOR

    data, _ = load_bundled()
    assert BUNDLED_PRIOR == pytest.approx(float(np.mean(data.labels)), abs=1e-12)


def test_predict_table_with_a_prior_adjusts_p_and_keeps_the_model_score() -> None:
    from protlab.predict import adjust_for_prior

    predictor = Predictor(_model(), {"data_summary": {"class_counts": [60, 40]}})
    records = parse_sequences(">a\nMKTAYIAKQR\n>b\nMVLSPADKTNVKAAW\n>c\nGSHMWWLLKK\n")
    plain = predictor.predict_table(records, threshold=0.5)
    table = predictor.predict_table(records, threshold=0.5, prior=0.9)
    np.testing.assert_allclose(table["model_score"], plain["p_soluble"])
    np.testing.assert_allclose(table["p_soluble"], adjust_for_prior(plain["p_soluble"], 0.4, 0.9))
    assert (table["p_soluble"] > plain["p_soluble"]).all()
    assert list(table["prediction"]) == list(np.where(table["p_soluble"] >= 0.5, "soluble", "insoluble"))


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        ({"test": {"auc": 0.71}, "validation": {"auc": 0.9}}, 0.71),  # a run's checkpoint
        ({"auc": 0.66}, 0.66),
        ({"test": {"auc": float("nan")}}, None),
        ({}, None),
    ],
)
def test_test_auc_is_read_where_runs_and_recipes_keep_it(metrics: dict, expected) -> None:
    assert Predictor(_model(), {"metrics": metrics}).test_auc == expected


def test_cli_prior_adjusts_p_and_the_call(tmp_path: Path, capsys) -> None:
    from protlab.cli import main
    from protlab.predict import adjust_for_prior

    model = _model()
    path = save_checkpoint(
        tmp_path / "m.pt",
        model,
        kind="cnn",
        model_config=model_config_dict(model),
        data_summary={"class_counts": [70, 30]},
    )
    fasta = tmp_path / "in.fasta"
    fasta.write_text(">a\nMKTAYIAKQR\n>b\nMVLSPADKTNVKAAW\n")
    out = tmp_path / "out.csv"
    assert main(["predict", str(fasta), "--model", str(path), "--prior", "0.8", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    raw = Predictor.from_checkpoint(path).predict(["MKTAYIAKQR", "MVLSPADKTNVKAAW"])
    np.testing.assert_allclose(table["model_score"], raw, rtol=1e-6)
    np.testing.assert_allclose(table["p_soluble"], adjust_for_prior(raw, 0.3, 0.8), rtol=1e-6)
    assert list(table["prediction"]) == list(np.where(table["p_soluble"] >= 0.5, "soluble", "insoluble"))
    capsys.readouterr()
    assert main(["predict", "MKTAYIAKQR", "--model", str(path), "--prior", "0.8"]) == 0
    expected = float(adjust_for_prior(raw[0], 0.3, 0.8))
    assert f"P(soluble) = {expected:.3f}" in capsys.readouterr().out
    for bad in ("0", "1", "1.5", "nan"):
        assert main(["predict", "MKTAYIAKQR", "--model", str(path), "--prior", bad]) == 2
        assert "--prior must be a number above 0 and below 1" in capsys.readouterr().err


def _plain_member_probs(
    members: list[torch.nn.Module], sequences: list[str], weights: list[float] | None = None
) -> np.ndarray:
    """P(soluble) of an ensemble by hand: each member's own forward, one sequence at a time, autograd on,
    then the members' mean with the given shares (None: equal)."""
    with torch.enable_grad():  # every inference shortcut is off while autograd records
        tokens = [encode(s, vocab_size=22)[None] for s in sequences]  # N x (1, L)
        per_member = [[F.softmax(m(t), -1)[0, 1].item() for m in members] for t in tokens]  # N x M
    return np.average(np.array(per_member), axis=1, weights=weights)


def test_ensemble_inference_equals_each_member_run_as_written() -> None:
    cnn = {"vocab_size": 22, "hidden_dim": 12, "embed_dim": 6, "num_layers": 3, "kernel_size": 3}
    net = {"embed_dim": 6, "channels": 4, "kernel_sizes": [3, 5]}
    members = [_model("cnn", cnn, seed=k) for k in range(3)]  # three of one config run stacked
    members += [_model("cnn", {**cnn, "num_layers": 1}, seed=9), _model("solubility_net", net, seed=4)]
    members += [_model("solubility_net", net, seed=k) for k in (5, 6)]  # stacked with the one before
    mixed = {**net, "mix_channels": 3}  # a mixing layer: run one by one
    members += [_model("solubility_net", mixed, seed=k) for k in (7, 8)]
    for member in members[4:]:
        member.stat_mean.normal_()  # standardisers as if fitted, different per member
        member.stat_std.uniform_(0.5, 2.0)
    sequences = _random_sequences(40, seed=3) + ["MKXXVLA"]
    p = Predictor(EnsembleModel(members).eval()).predict(sequences)
    np.testing.assert_allclose(p, _plain_member_probs(members, sequences), rtol=1e-5, atol=1e-6)


def test_stacked_cnns_equal_their_own_forward_with_and_without_a_mask() -> None:
    config = {"vocab_size": 22, "hidden_dim": 10, "embed_dim": 4, "num_layers": 2}
    members = [_model("cnn", config, seed=k) for k in range(3)]
    tokens = torch.randint(1, 22, (4, 17))
    mask = torch.ones(4, 17)
    tokens[1, 9:], mask[1, 9:] = 0, 0.0
    for m in (mask, None):
        with torch.inference_mode():
            got = stacked_cnn_logits(members, tokens, m)  # (G, B, C)
        with torch.enable_grad():
            expected = torch.stack([member(tokens, m) for member in members]).detach()
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_default_model_predictions_equal_its_members_run_as_written() -> None:
    predictor = Predictor.default()
    sequences = _random_sequences(12, low=20, high=400, seed=5)
    expected = _plain_member_probs(list(predictor.model.members), sequences, predictor.model.weights)
    np.testing.assert_allclose(predictor.predict(sequences), expected, rtol=1e-5, atol=1e-6)
