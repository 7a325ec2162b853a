"""Per-residue CSVs: labels aligned with sequences, resolved mask, clear refusals, splits, (B, L) labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from protlab.data import IGNORE_INDEX, make_batch
from protlab.errors import ConfigError, DataFormatError
from protlab.structure import (
    RELATED_TEST_IDS,
    STRUCTURE_DATA_DIR,
    load_bundled_structure,
    load_structure_csv,
    residue_labels,
    structure_split,
    tokenize_structure,
)

HEADER = "id,sequence,ss3,ss8,resolved\n"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def test_bundled_cb513_keeps_each_distinct_row_once_and_labels_match_the_file():
    raw = pd.read_csv(STRUCTURE_DATA_DIR / "cb513.csv", dtype=str, keep_default_na=False)
    unique = raw.drop_duplicates(subset=["sequence", "ss3", "resolved"])
    data = load_bundled_structure("cb513")
    assert data.ids == unique["id"].tolist()
    assert data.n_residues == int(unique["sequence"].str.len().sum())
    assert data.notes and str(len(raw) - len(unique)) in data.notes[0]
    # reference labels built character by character from the file
    expected = [
        ("HEC".index(s) if r == "1" else IGNORE_INDEX)
        for ss3, res in zip(unique["ss3"], unique["resolved"])
        for s, r in zip(ss3, res)
    ]
    np.testing.assert_array_equal(residue_labels(data), expected)
    counts = data.class_counts()
    assert sum(counts.values()) == data.n_scored == sum(r.count("1") for r in unique["resolved"])


def test_ts115_leaves_out_the_two_proteins_related_to_cb513():
    full = load_bundled_structure("ts115", drop_related=False)
    test = load_bundled_structure("ts115")
    assert set(RELATED_TEST_IDS) <= set(full.ids)
    assert len(test) == len(full) - len(RELATED_TEST_IDS)
    assert not set(RELATED_TEST_IDS) & set(test.ids)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("p1,MKTAY,HHHC,HHHC,11111", ["p1", "ss3 has 4 characters", "5 residues"]),
        ("p1,MKTAY,HHHCC,HHHCC,1111", ["resolved has 4 characters"]),
        ("p1,MKTAY,HHXCC,HHHCC,11111", ["ss3 contains 'X'", "H, E or C"]),
        ("p1,MKTAY,HHHCC,HHHCC,11211", ["resolved contains '2'", "1 or 0"]),
        ("p1,MK1AY,HHHCC,HHHCC,11111", ["'1'", "amino-acid"]),
        ("p1,MKTAY,HHHCC,HHHCC,00000", ["no resolved residue"]),
        ("p1,,,,", ["empty sequence"]),
    ],
)
def test_misaligned_or_unreadable_rows_are_refused_naming_line_and_id(row, words):
    with pytest.raises(DataFormatError) as err:
        load_structure_csv(_csv("p0,MKV,CEC,CEC,111", row), "mine.csv")
    message = str(err.value)
    assert "mine.csv" in message and "Line 3" in message
    for word in words:
        assert word in message


def test_missing_columns_repeated_ids_and_empty_files_are_refused():
    with pytest.raises(DataFormatError, match=r"lacks the column\(s\) \['resolved'\]"):
        load_structure_csv(b"id,sequence,ss3\np,MKV,CEC\n")
    with pytest.raises(DataFormatError, match="repeats the id 'p'"):
        load_structure_csv(_csv("p,MKV,CEC,CEC,111", "p,MKT,CCC,CCC,111"))
    with pytest.raises(DataFormatError, match="no proteins"):
        load_structure_csv(HEADER.encode())
    with pytest.raises(DataFormatError, match="empty"):
        load_structure_csv(b"")
    with pytest.raises(ConfigError, match="'cb513', 'ts115'"):
        load_bundled_structure("dssp")


def test_batches_carry_per_residue_labels_with_ignore_at_padding_and_unresolved():
    data = load_structure_csv(
        _csv("a,MKVLA,HHHEC,HHHEC,01111", "b,GW,EC,EC,11", "c,MKTAYX,CCCCHH,CCCCHH,111110")
    )
    tokens = tokenize_structure(data)
    batch = make_batch(tokens, np.array([0, 1, 2]))
    ignore = IGNORE_INDEX
    expected = [[ignore, 0, 0, 1, 2, ignore], [1, 2, ignore, ignore, ignore, ignore], [2, 2, 2, 2, 0, ignore]]
    assert batch.labels.tolist() == expected
    assert batch.labels.shape == batch.tokens.shape == (3, 6)
    # a subset keeps each protein's own labels
    sub = make_batch(tokens.subset([2, 0]), np.array([0, 1]))
    assert sub.labels.tolist() == [expected[2], expected[0][:5] + [ignore]]
    assert tokens.has_labels


def test_structure_split_is_disjoint_complete_and_reproducible():
    train, val = structure_split(50, val_fraction=0.2, seed=3)
    assert len(val) == 10 and sorted(np.concatenate([train, val]).tolist()) == list(range(50))
    again, _ = structure_split(50, val_fraction=0.2, seed=3)
    other, _ = structure_split(50, val_fraction=0.2, seed=4)
    np.testing.assert_array_equal(train, again)
    assert not np.array_equal(train, other)
    with pytest.raises(ConfigError, match="val_fraction"):
        structure_split(50, val_fraction=1.5)
    with pytest.raises(ConfigError, match="at least 2 proteins"):
        structure_split(1)
