"""A protein's name or a sentence is told apart from a protein, checked on every protein ProtLab ships."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from protlab.data.words import as_typed, looks_like_a_name, looks_like_a_word, sentence_letters

ASSETS = Path(__file__).resolve().parents[1] / "assets"
REAL_PROTEINS = [  # every protein sequence shipped with the app, from three independent sources
    ASSETS / "data" / "deepsol.csv",
    ASSETS / "data" / "known_proteins.csv",
    ASSETS / "structure" / "cb513.csv",
    ASSETS / "structure" / "ts115.csv",
]


@pytest.mark.parametrize("path", REAL_PROTEINS, ids=lambda p: p.name)
def test_no_real_protein_is_taken_for_a_word(path: Path) -> None:
    sequences = pd.read_csv(path, dtype=str, keep_default_na=False)["sequence"].str.upper()
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)["sequence"]  # as written, and in lower case
    taken = [s[:30] for s in sequences if looks_like_a_word(s)]
    named = [s[:30] for s in [*raw, *raw.str.lower()] if looks_like_a_name(s)]
    assert len(sequences) > 0 and taken == [] and named == []


@pytest.mark.parametrize(
    "text",
    ["GFP", "MBP", "insulin", "lysozyme", "ubiquitin", "hemoglobin", "albumin", "thioredoxin", "interleukin"],
)
def test_protein_names_are_words(text: str) -> None:
    assert looks_like_a_word(text.upper())


def test_sentences_are_words_at_any_length_and_sequence_typos_are_not_sentences() -> None:
    sentence = "Could you tell me whether this protein would be soluble when produced in bacteria? " * 3
    letters = sentence_letters(sentence)
    assert len(letters) > 150 and looks_like_a_word(letters)
    assert (
        sentence_letters("MKT 1AY") == "" and sentence_letters("mvlspadktn") == ""
    )  # one word, or no lower case
    assert as_typed("Is   my\nenzyme soluble?") == "Is my enzyme soluble?"
    assert as_typed("x" * 60) == "x" * 37 + "..."


def test_lower_case_words_with_a_protein_names_ending_are_names_and_capitals_are_not() -> None:
    for name in ("transferrin", "Streptavidin", "transaminase", "Kallikrein"):
        assert looks_like_a_name(name) and not looks_like_a_word(name.upper()), name  # only its form tells
    for text in (
        "MKVLAAGIVGIN",
        "streptavidin is soluble",
        "mvlspadktnvkaawgkvgahageygaealermflsfpttktyfphfdl",
    ):
        assert not looks_like_a_name(text), text  # capitals, a sentence, or a protein's length
