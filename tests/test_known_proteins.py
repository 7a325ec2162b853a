"""The known-proteins table: exact clean sequences, documented outcomes, calls equal to Predictor's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from protlab.alphabet import AMINO_ACIDS
from protlab.data import load_bundled
from protlab.errors import DataFormatError
from protlab.known_proteins import (
    KNOWN_COLUMNS,
    KNOWN_PROTEINS_PATH,
    disagreement_summary,
    known_protein_calls,
    load_known_proteins,
)
from protlab.models import build_model
from protlab.predict import Predictor


def _predictor(meta: dict | None = None) -> Predictor:
    torch.manual_seed(0)
    return Predictor(build_model("cnn", {"hidden_dim": 8, "embed_dim": 4}).eval(), meta)


def test_table_loads_with_every_column_and_clean_sequences() -> None:
    table = pd.read_csv(KNOWN_PROTEINS_PATH, dtype=str, keep_default_na=False)
    assert list(table.columns) == KNOWN_COLUMNS
    proteins = load_known_proteins()
    assert len(proteins) == len(table) >= 5
    assert {p.ecoli_outcome for p in proteins} == {"soluble", "insoluble"}
    for protein in proteins:
        assert set(protein.sequence) <= set(AMINO_ACIDS), protein.name
        assert protein.uniprot and protein.source and protein.note and protein.residues


def test_known_sequences_are_not_training_proteins() -> None:
    data, _ = load_bundled()
    training = set(data.sequences)
    assert not [p.name for p in load_known_proteins() if p.sequence in training]


def test_residue_ranges_match_the_sequence_lengths() -> None:
    for protein in load_known_proteins():
        first, last = protein.residues.split()[0].split("-")
        assert int(last) - int(first) + 1 == len(protein.sequence), protein.name


def test_calls_match_predictor_predict() -> None:
    predictor = _predictor({"extra": {"threshold": 0.45}})
    proteins = load_known_proteins()
    expected = predictor.predict([p.sequence for p in proteins])
    calls = known_protein_calls(predictor)
    np.testing.assert_allclose(calls["p_soluble"], expected, rtol=1e-12)
    assert list(calls["call"]) == list(np.where(expected >= 0.45, "soluble", "insoluble"))
    assert list(calls["documented"]) == [p.ecoli_outcome for p in proteins]
    assert list(calls["agrees"]) == [c == d for c, d in zip(calls["call"], calls["documented"])]
    at_half = known_protein_calls(_predictor(), threshold=0.5)
    assert list(at_half["call"]) == list(np.where(expected >= 0.5, "soluble", "insoluble"))


def test_summary_names_every_wrong_call() -> None:
    calls = known_protein_calls(_predictor(), threshold=0.0)  # everything called soluble
    text = disagreement_summary(calls)
    insoluble = calls.loc[calls["documented"] == "insoluble", "name"]
    assert f"for {int((calls['documented'] == 'soluble').sum())} of {len(calls)}" in text
    assert all(name in text for name in insoluble)


def test_a_bad_table_is_refused(tmp_path) -> None:
    table = pd.read_csv(KNOWN_PROTEINS_PATH, dtype=str, keep_default_na=False)
    bad = tmp_path / "bad.csv"
    table.assign(ecoli_outcome="maybe").to_csv(bad, index=False)
    with pytest.raises(DataFormatError, match="ecoli_outcome"):
        load_known_proteins(bad)
    table.drop(columns="source").to_csv(bad, index=False)
    with pytest.raises(DataFormatError, match="source"):
        load_known_proteins(bad)


def test_a_known_protein_is_found_by_a_word_of_its_name_or_by_its_exact_sequence() -> None:
    from protlab.known_proteins import known_protein_named, known_protein_with, load_known_proteins

    table = load_known_proteins()
    gfp = next(p for p in table if "(GFP)" in p.name)
    assert known_protein_named("gfp") == gfp and known_protein_named("Green fluorescent") == gfp
    assert known_protein_named("insulin").name == "Proinsulin"  # a word inside the name
    assert known_protein_named("protein") is None  # in several names: none is named
    assert known_protein_named("GF") is None  # too short to name anything
    assert all(known_protein_with(p.sequence) == p for p in table)
    assert known_protein_with(gfp.sequence[1:]) is None
