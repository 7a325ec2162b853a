"""StructurePredictor: a 3-state string and a P(H/E/C) table per residue; wrong kinds of model refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from protlab.data import pad_batch
from protlab.errors import CheckpointError, InvalidSequenceError
from protlab.models import build_model, model_config_dict, save_checkpoint
from protlab.predict import Predictor
from protlab.structure import StructurePredictor

TINY = {"embed_dim": 4, "channels": 8, "kernel_size": 3, "dilations": [1, 2], "dropout": 0.0}


@pytest.fixture(scope="module")
def predictor() -> StructurePredictor:
    torch.manual_seed(0)
    return StructurePredictor(build_model("residue_cnn", TINY))


def test_predictions_match_the_model_residue_by_residue(predictor):
    seqs = ["MKTAYIAKQRQISFVKSH", "GWX", "MKVLAAGIVGLLLAAP"]
    results = predictor.predict(seqs, ids=["a", "b", "c"])
    assert [r.id for r in results] == ["a", "b", "c"]
    for seq, result in zip(seqs, results):
        tokens, _ = pad_batch([seq])
        expected = torch.softmax(predictor.model(tokens, None)[0], dim=-1).detach().numpy()  # (L, 3)
        np.testing.assert_allclose(result.probs, expected, rtol=1e-5, atol=1e-6)
        assert result.ss3 == "".join("HEC"[i] for i in expected.argmax(axis=1))


def test_the_table_has_one_row_per_residue_with_probabilities(predictor):
    result = predictor.predict_one("MKTAYIAKQR")
    table = result.table()
    assert table.columns.tolist() == ["position", "residue", "ss3", "P(H)", "P(E)", "P(C)"]
    assert table["position"].tolist() == list(range(1, 11)) and "".join(table["residue"]) == "MKTAYIAKQR"
    assert "".join(table["ss3"]) == result.ss3
    np.testing.assert_allclose(table[["P(H)", "P(E)", "P(C)"]].sum(axis=1), 1.0, atol=2e-4)


def test_bad_sequences_are_named(predictor):
    with pytest.raises(InvalidSequenceError, match="Sequence 2"):
        predictor.predict(["MKT", "MK1"])
    with pytest.raises(InvalidSequenceError, match="Sequence 1 must be a non-empty"):
        predictor.predict([""])
    with pytest.raises(InvalidSequenceError, match="Wrap it"):
        predictor.predict("MKT")


def test_each_predictor_refuses_the_other_kind_of_model(tmp_path):
    per_protein = build_model("cnn", {"embed_dim": 4, "hidden_dim": 4})
    path = save_checkpoint(
        tmp_path / "sol.pt", per_protein, kind="cnn", model_config=model_config_dict(per_protein)
    )
    with pytest.raises(CheckpointError, match="per-residue model"):
        StructurePredictor.from_checkpoint(path)
    per_residue = build_model("residue_cnn", TINY)
    path = save_checkpoint(
        tmp_path / "ss.pt", per_residue, kind="residue_cnn", model_config=model_config_dict(per_residue)
    )
    with pytest.raises(CheckpointError, match="residue by residue"):
        Predictor.from_checkpoint(path)


def test_the_aligned_text_puts_every_state_under_its_residue(predictor):
    sequence = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ" * 3  # 99 residues: two blocks of 60 and 39
    result = predictor.predict_one(sequence)
    blocks = result.aligned(width=60, group=10).split("\n\n")
    assert len(blocks) == 2
    rebuilt_sequence, rebuilt_states = "", ""
    for block, start in zip(blocks, (1, 61)):
        top, bottom = block.split("\n")
        assert top.split()[0] == str(start) and len(top) == len(bottom)
        for residue, state in zip(top[3:], bottom[3:]):  # column by column, after the position
            assert (residue == " ") == (state == " ")
        rebuilt_sequence += top[3:].replace(" ", "")
        rebuilt_states += bottom[3:].replace(" ", "")
    assert rebuilt_sequence == sequence and rebuilt_states == result.ss3
