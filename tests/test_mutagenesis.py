"""Saturation mutagenesis equals predicting every mutant one by one; mutations are applied and checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from protlab.alphabet import AMINO_ACIDS
from protlab.cli import main
from protlab.data import TokenizedSet, pad_batch
from protlab.errors import ConfigError, InvalidSequenceError
from protlab.models import EnsembleModel, build_model, model_config_dict, save_checkpoint
from protlab.mutagenesis import MutationTable, apply_mutations, saturation_mutagenesis
from protlab.mutation_scan import scanner_for
from protlab.predict import Predictor
from tests.conftest import random_proteins


def _model(kind: str, config: dict, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(kind, config)
    if kind == "composition":  # standardised statistics and a strong head, so every input matters
        model.fit_training_rows(TokenizedSet.from_sequences(random_proteins(40, (20, 80), seed=seed)))
        with torch.no_grad():
            model.head.weight.mul_(5.0)
    if kind == "boosted_trees":  # trees grown on labels that depend on the composition
        proteins = random_proteins(200, (20, 80), seed=seed)
        labels = [int(p.count("K") + p.count("E") > len(p) / 10) for p in proteins]
        model.fit_training_rows(TokenizedSet.from_sequences(proteins, labels))
    if kind == "solubility_net":  # a fitted standardiser, so the statistics branch matters
        tokens, mask = pad_batch(random_proteins(40, (20, 80), seed=seed))
        model.fit_standardizer(tokens, mask)
        with torch.no_grad():
            model.head.weight.mul_(5.0)
    return model.eval()


TREES = {"n_trees": 20, "max_leaf_nodes": 5, "min_samples_leaf": 5, "learning_rate": 0.3}
MODELS = {
    "cnn": lambda: _model("cnn", {"vocab_size": 22, "embed_dim": 8, "hidden_dim": 12, "num_layers": 3}),
    "cnn_notes_vocab": lambda: _model("cnn", {"embed_dim": 6, "hidden_dim": 8, "kernel_size": 7}),
    "solubility_net": lambda: _model("solubility_net", {"embed_dim": 8, "channels": 6, "terminal_window": 5}),
    "net_mixing": lambda: _model("solubility_net", {"embed_dim": 4, "channels": 4, "mix_channels": 4}),
    "mlp": lambda: _model("mlp", {}),
    "composition": lambda: _model("composition", {"terminal_window": 4, "terminal_positions": 3}),
    "boosted_trees": lambda: _model("boosted_trees", TREES),
    "weighted_ensemble_with_trees": lambda: EnsembleModel(
        [
            _model("cnn", {"vocab_size": 22, "embed_dim": 8, "hidden_dim": 8}, seed=1),
            _model("composition", {"terminal_window": 4, "terminal_positions": 3}, seed=4),
            _model("boosted_trees", TREES, seed=5),
        ],
        weights=[1.0, 1.0, 4.0],
    ).eval(),
    "ensemble": lambda: EnsembleModel(
        [
            _model("cnn", {"vocab_size": 22, "embed_dim": 8, "hidden_dim": 8}, seed=1),
            _model("solubility_net", {"embed_dim": 8, "channels": 4, "kernel_sizes": [1, 7]}, seed=2),
            _model("solubility_net", {"embed_dim": 8, "channels": 4, "kernel_sizes": [1, 7]}, seed=3),
            _model("composition", {"terminal_window": 4, "terminal_positions": 3}, seed=4),
        ]
    ).eval(),
}


def _every_mutant(sequence: str) -> tuple[list[tuple[int, str]], list[str]]:
    """(0-based position, letter) and the mutant sequence for every single substitution, by hand."""
    pairs, mutants = [], []
    for i, wild in enumerate(sequence):
        for aa in AMINO_ACIDS:
            if aa != wild:
                pairs.append((i, aa))
                mutants.append(sequence[:i] + aa + sequence[i + 1 :])
    return pairs, mutants


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_delta_equals_a_direct_prediction_of_the_mutant(name: str) -> None:
    predictor = Predictor(MODELS[name]())
    sequence = random_proteins(1, 23, seed=5)[0][:10] + "X" + random_proteins(1, 12, seed=6)[0]
    table = saturation_mutagenesis(predictor, sequence, batch_size=37)
    pairs, mutants = _every_mutant(sequence)
    direct = np.array([predictor.predict([m])[0] for m in mutants[::7]])  # one at a time
    wild = predictor.predict([sequence])[0]
    got = np.array([table.p_soluble[i, AMINO_ACIDS.index(aa)] for i, aa in pairs[::7]])
    np.testing.assert_allclose(got, direct, atol=2e-6)
    np.testing.assert_allclose(table.wild_type_p, wild, atol=1e-7)
    batched = predictor.predict(mutants)  # every mutant through the ordinary batched path
    frame = table.frame()
    np.testing.assert_allclose(frame["p_soluble"], batched, atol=2e-6)
    np.testing.assert_allclose(frame["delta"], batched - wild, atol=2e-6)


def test_local_scan_is_used_for_the_layers_it_knows() -> None:
    tokens = torch.ones(8, dtype=torch.int64)
    assert scanner_for(MODELS["ensemble"](), tokens) is not None
    assert scanner_for(MODELS["cnn"](), tokens) is not None
    assert scanner_for(MODELS["composition"](), tokens) is not None
    assert scanner_for(MODELS["weighted_ensemble_with_trees"](), tokens) is not None
    assert scanner_for(MODELS["net_mixing"](), tokens) is None  # runs every full mutant instead
    assert scanner_for(MODELS["cnn"]().train(), tokens) is None  # dropout would make it random


def test_frame_has_19_rows_per_residue_with_1_based_positions() -> None:
    sequence = "MKVLAX"
    table = saturation_mutagenesis(Predictor(MODELS["cnn"]()), sequence)
    frame = table.frame()
    assert list(frame.columns) == ["position", "wild_type", "mutant", "p_soluble", "delta"]
    assert len(frame) == 19 * 5 + 20  # the unknown residue X can become any of the 20
    assert frame["position"].min() == 1 and frame["position"].max() == len(sequence)
    first = frame[frame["position"] == 1]
    assert set(first["wild_type"]) == {"M"} and "M" not in set(first["mutant"])
    assert set(frame[frame["position"] == 6]["mutant"]) == set(AMINO_ACIDS)


def test_summary_matches_the_table_grouped_by_position() -> None:
    table = saturation_mutagenesis(Predictor(MODELS["solubility_net"]()), random_proteins(1, 30, seed=2)[0])
    frame = table.frame()
    summary = table.summary()
    grouped = frame.groupby("position")
    np.testing.assert_allclose(summary["mean_delta"], grouped["delta"].mean().to_numpy())
    np.testing.assert_allclose(summary["best_delta"], grouped["delta"].max().to_numpy())
    best = frame.loc[grouped["delta"].idxmax(), "mutant"].to_list()
    assert summary["best_mutant"].to_list() == best


def test_progress_reaches_the_total_and_batch_size_is_checked() -> None:
    calls: list[tuple[int, int]] = []
    saturation_mutagenesis(
        Predictor(MODELS["cnn"]()), "MKVLAW", batch_size=50, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(50, 114), (100, 114), (114, 114)]
    with pytest.raises(ConfigError, match="batch_size must be an integer from 1 to 4096; got 0"):
        saturation_mutagenesis(Predictor(MODELS["cnn"]()), "MKV", batch_size=0)
    with pytest.raises(InvalidSequenceError):
        saturation_mutagenesis(Predictor(MODELS["cnn"]()), "MK1V")


def test_apply_mutations_stacks_in_order() -> None:
    assert apply_mutations("MKVLA", ["K2G", "a5w"]) == "MGVLW"
    assert apply_mutations("MKVLA", ["K2G", "G2S"]) == "MSVLA"  # the second sees the first's result
    assert apply_mutations("MKVLA", []) == "MKVLA"


@pytest.mark.parametrize(
    ("mutation", "fragment"),
    [
        ("K9G", "Mutation K9G: position 9 is outside the protein; positions run from 1 to 5"),
        ("V2G", "Mutation V2G: residue 2 is K, not V; write it as K2G"),
        ("K2B", "Mutation K2B: the new residue must be one of the 20 standard amino acids"),
        ("K2K", "Mutation K2K changes nothing"),
        ("2G", "e.g. 'A23G'; got '2G'"),
        ("K0G", "Mutation K0G: position 0 is outside the protein"),
    ],
)
def test_apply_mutations_names_the_bad_mutation(mutation: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        apply_mutations("MKVLA", ["M1A", mutation] if mutation != "V2G" else [mutation])


def test_mutation_table_delta_is_mutant_minus_wild_type() -> None:
    p = np.random.default_rng(0).random((3, 20))
    table = MutationTable("MKV", 0.25, p)
    np.testing.assert_allclose(table.delta, p - 0.25)


def test_cli_mutate_writes_one_row_per_substitution(tmp_path: Path, capsys) -> None:
    model = MODELS["cnn"]()
    checkpoint = save_checkpoint(tmp_path / "m.pt", model, kind="cnn", model_config=model_config_dict(model))
    sequence = "MKTAYIAKQRQISFVKSH"
    out = tmp_path / "table.csv"
    assert main(["mutate", sequence, "--model", str(checkpoint), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["position", "wild_type", "mutant", "p_soluble", "delta"]
    assert len(table) == 19 * len(sequence)
    assert table["position"].between(1, len(sequence)).all()
    assert (table["wild_type"] == [sequence[p - 1] for p in table["position"]]).all()
    predictor = Predictor(model)
    row = table.iloc[100]
    mutant = apply_mutations(sequence, [f"{row.wild_type}{row.position}{row.mutant}"])
    np.testing.assert_allclose(row.p_soluble, predictor.predict([mutant])[0], atol=1e-6)
    np.testing.assert_allclose(row.delta, row.p_soluble - predictor.predict([sequence])[0], atol=1e-6)
    fasta = tmp_path / "two.fa"
    fasta.write_text(">a\nMKVLAAGIVGE\n>b\nMKWLAAGIVGE\n")
    assert main(["mutate", str(fasta), "--model", str(checkpoint), "--out", str(tmp_path / "x.csv")]) == 2
    assert "mutate takes one protein" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
