"""Physicochemical features against Biopython's ProteinAnalysis and an independent count."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from Bio.Data.IUPACData import protein_letters
from Bio.SeqUtils.ProtParam import ProteinAnalysis

from protlab.data import (
    FEATURE_COLUMNS,
    FEATURE_LABELS,
    NOTES_GLOBAL_FEATURES,
    compute_features,
    features_frame,
)
from protlab.errors import InvalidSequenceError

SEQUENCES = [
    "MVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHF",
    "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQFEVVHSLAKWKRQTLGQHDFSAGEGLYTHMKALRPDEDRLSPLHSVYVDQWDWERVMGDGERQFSTLKSTVEAIWAGIKATEAAVSEEFGLAPFLPDQIHFVHSQELLSRYPDLDAKGRERAIAKDLGAVFLVGIGGKLSDGHRHDVRAPDYDDWUAXB",
    "W",
    "DDDDEEEKKR",
]


def reference(sequence: str) -> dict[str, float]:
    """ProtParam directly on the standard letters, plus composition by counting."""
    standard = "".join(ch for ch in sequence if ch in protein_letters)
    analysis = ProteinAnalysis(standard)
    counts = Counter(standard)
    values = {
        "length": float(len(sequence)),
        "molecular_weight": analysis.molecular_weight(),
        "isoelectric_point": analysis.isoelectric_point(),
        "gravy": analysis.gravy(),
        "instability_index": analysis.instability_index(),
        "aromaticity": analysis.aromaticity(),
        "net_charge_ph7": analysis.charge_at_pH(7.0),
    }
    values.update({f"comp_{aa}": counts[aa] / len(standard) for aa in protein_letters})
    return values


def test_columns() -> None:
    assert FEATURE_COLUMNS[:7] == [
        "length",
        "molecular_weight",
        "isoelectric_point",
        "gravy",
        "instability_index",
        "aromaticity",
        "net_charge_ph7",
    ]
    assert FEATURE_COLUMNS[7:] == [f"comp_{aa}" for aa in protein_letters]
    assert NOTES_GLOBAL_FEATURES == [
        "molecular_weight",
        "isoelectric_point",
        "gravy",
        "instability_index",
        "length",
    ]
    assert set(NOTES_GLOBAL_FEATURES) <= set(FEATURE_COLUMNS)
    assert set(FEATURE_LABELS) == set(FEATURE_COLUMNS)
    assert FEATURE_LABELS["molecular_weight"] == "Molecular weight (Da)"


@pytest.mark.parametrize("sequence", SEQUENCES)
def test_matches_protparam(sequence: str) -> None:
    got = compute_features(sequence)
    expected = reference(sequence)
    assert list(got) == FEATURE_COLUMNS
    for column in FEATURE_COLUMNS:
        assert got[column] == pytest.approx(expected[column], rel=1e-9, abs=1e-12), column


def test_ambiguous_letters_count_in_length_only() -> None:
    got = compute_features("MKXXT")
    assert got["length"] == 5.0
    assert got["molecular_weight"] == pytest.approx(ProteinAnalysis("MKT").molecular_weight())
    assert sum(got[f"comp_{aa}"] for aa in protein_letters) == pytest.approx(1.0)


def test_only_ambiguous_letters_is_an_error() -> None:
    with pytest.raises(InvalidSequenceError, match="has no standard amino-acid letters"):
        compute_features("XXB")


def test_uncleaned_sequence_is_an_error() -> None:
    with pytest.raises(InvalidSequenceError, match="at position 2"):
        compute_features("M1K")


def test_features_frame_and_exercise_1_tensor() -> None:
    batch = SEQUENCES[:2] + ["MKT", "GAVLIPFWMSTC", "ACDEY"]
    frame = features_frame(batch, ids=["a", "b", "c", "d", "e"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["id"] + FEATURE_COLUMNS
    assert frame["id"].tolist() == ["a", "b", "c", "d", "e"]
    for i, sequence in enumerate(batch):
        expected = reference(sequence)
        np.testing.assert_allclose(
            frame.loc[i, FEATURE_COLUMNS].to_numpy(float), [expected[c] for c in FEATURE_COLUMNS], rtol=1e-9
        )
    notes_tensor = frame[NOTES_GLOBAL_FEATURES].to_numpy(np.float32)  # the notes' (5, 5) extension
    assert notes_tensor.shape == (5, 5)
    assert notes_tensor[:, 4].tolist() == [float(len(s)) for s in batch]


def test_features_frame_default_ids_and_errors() -> None:
    frame = features_frame(["MKT", "AAA"])
    assert frame["id"].tolist() == ["seq1", "seq2"]
    with pytest.raises(InvalidSequenceError, match="2 sequences but 1 ids"):
        features_frame(["MKT", "AAA"], ids=["x"])
    with pytest.raises(InvalidSequenceError, match="^Sequence 'bad': "):
        features_frame(["MKT", "XX"], ids=["ok", "bad"])
    assert list(features_frame([]).columns) == ["id"] + FEATURE_COLUMNS
