"""Tests for protlab.data.batching: one-time tokenising, bucketed batches, padding efficiency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from protlab.alphabet import AMINO_ACIDS, NOTES_VOCAB_SIZE, VOCAB_SIZE
from protlab.data import (
    Batch,
    TokenizedSet,
    batch_indices,
    fixed_padding_efficiency,
    length_bucketed_batches,
    make_batch,
    padding_efficiency,
    sorted_batch_indices,
)
from protlab.errors import ConfigError, DataFormatError, InvalidSequenceError

DATA = "assets/data/deepsol.csv"


def _notes_encode(seq: str) -> list[int]:
    """The notes' own per-residue dictionary encoding (unknown letters -> 0)."""
    table = {aa: i + 1 for i, aa in enumerate(AMINO_ACIDS)}
    return [table.get(aa, 0) for aa in seq]


def _reference_pad(seqs: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The notes' collate_proteins: pad each batch to its own longest sequence."""
    width = max(len(s) for s in seqs)
    tokens = torch.zeros(len(seqs), width, dtype=torch.long)
    mask = torch.zeros(len(seqs), width)
    for i, s in enumerate(seqs):
        tokens[i, : len(s)] = torch.tensor(_notes_encode(s))
        mask[i, : len(s)] = 1.0
    return tokens, mask


@pytest.fixture(scope="module")
def sample() -> tuple[list[str], np.ndarray]:
    df = pd.read_csv(DATA, nrows=300)
    return df["sequence"].tolist(), df["label"].to_numpy()


def test_mvlspad_follows_the_alphabet_code() -> None:
    data = TokenizedSet.from_sequences(["MVLSPAD"])
    batch = make_batch(data, np.array([0]))
    assert batch.tokens.tolist() == [[11, 18, 10, 16, 13, 1, 3]]


def test_batches_match_the_notes_collate(sample) -> None:
    seqs, labels = sample
    data = TokenizedSet.from_sequences(seqs, labels, vocab_size=NOTES_VOCAB_SIZE)
    seen = []
    for batch in length_bucketed_batches(data, batch_size=16, shuffle=True, seed=3):
        idx = batch.index.tolist()
        ref_tokens, ref_mask = _reference_pad([seqs[i] for i in idx])
        assert torch.equal(batch.tokens, ref_tokens)
        assert torch.equal(batch.mask, ref_mask)
        assert batch.tokens.dtype == torch.int64 and batch.mask.dtype == torch.float32
        assert batch.labels.tolist() == [int(labels[i]) for i in idx]
        seen.extend(idx)
    assert sorted(seen) == list(range(len(seqs)))


def test_unknown_letters_by_vocabulary() -> None:
    assert make_batch(TokenizedSet.from_sequences(["AXc"]), np.array([0])).tokens.tolist() == [[1, 21, 2]]
    notes = TokenizedSet.from_sequences(["AXC"], vocab_size=NOTES_VOCAB_SIZE)
    assert make_batch(notes, np.array([0])).tokens.tolist() == [[1, 0, 2]]


def test_agrees_with_encoding_pad_batch(sample) -> None:
    from protlab.data import encoding

    seqs = sample[0][:20]
    tokens, mask = encoding.pad_batch(seqs, vocab_size=VOCAB_SIZE)
    batch = make_batch(TokenizedSet.from_sequences(seqs), np.arange(20))
    assert torch.equal(batch.tokens, tokens) and torch.equal(batch.mask, mask)


def test_too_long_is_refused_never_truncated() -> None:
    with pytest.raises(InvalidSequenceError, match="max_length=5"):
        TokenizedSet.from_sequences(["ACDEFG"], max_length=5)
    data = TokenizedSet.from_sequences(["ACDEF"], max_length=5)
    assert make_batch(data, np.array([0])).tokens.shape == (1, 5)


@pytest.mark.parametrize("bad", ["AC1D", "AC D", "ACDé"])
def test_bad_characters_are_refused(bad: str) -> None:
    with pytest.raises(InvalidSequenceError):
        TokenizedSet.from_sequences([bad])


def test_bad_labels_features_and_sizes() -> None:
    with pytest.raises(DataFormatError):
        TokenizedSet.from_sequences(["AC", "DE"], [0, 2])
    with pytest.raises(DataFormatError):
        TokenizedSet.from_sequences(["AC", "DE"], [0])
    with pytest.raises(DataFormatError):
        TokenizedSet.from_sequences(["AC", "DE"], [0, 1], features=np.ones((3, 2)))
    with pytest.raises(DataFormatError):
        TokenizedSet.from_sequences([])
    with pytest.raises(InvalidSequenceError):
        TokenizedSet.from_sequences(["AC", ""])
    with pytest.raises(ConfigError, match="batch_size"):
        batch_indices(TokenizedSet.from_sequences(["AC"]), batch_size=0, shuffle=False)


def test_features_travel_with_rows() -> None:
    feats = np.arange(8, dtype=np.float32).reshape(4, 2)
    data = TokenizedSet.from_sequences(["A", "CC", "DDD", "EEEE"], [0, 1, 0, 1], features=feats)
    for batch in length_bucketed_batches(data, batch_size=3, shuffle=True, seed=0):
        assert torch.equal(batch.features, torch.from_numpy(feats[batch.index.numpy()]))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(alphabet=AMINO_ACIDS, min_size=1, max_size=30), min_size=1, max_size=25),
    st.lists(st.integers(0, 24), max_size=10),
)
def test_subset_equals_tokenising_the_subset(seqs: list[str], picks: list[int]) -> None:
    picks = [p % len(seqs) for p in picks] or [0]
    full = TokenizedSet.from_sequences(seqs).subset(picks)
    direct = TokenizedSet.from_sequences([seqs[p] for p in picks])
    assert np.array_equal(full.flat, direct.flat)
    assert np.array_equal(full.offsets, direct.offsets) and np.array_equal(full.lengths, direct.lengths)


def test_shuffle_is_reproducible_and_changes_by_epoch(sample) -> None:
    data = TokenizedSet.from_sequences(sample[0], sample[1])
    a = [b.tolist() for b in batch_indices(data, batch_size=8, shuffle=True, seed=1, epoch=0)]
    b = [b.tolist() for b in batch_indices(data, batch_size=8, shuffle=True, seed=1, epoch=0)]
    c = [b.tolist() for b in batch_indices(data, batch_size=8, shuffle=True, seed=1, epoch=1)]
    assert a == b and a != c
    assert all(len(g) <= 8 for g in a)


def test_bucketing_pads_far_less_than_random_batches(sample) -> None:
    data = TokenizedSet.from_sequences(sample[0], sample[1])
    bucketed = padding_efficiency(data, batch_size=16, shuffle=True)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(data))
    padded = sum(
        int(data.lengths[perm[i : i + 16]].max()) * len(perm[i : i + 16]) for i in range(0, len(data), 16)
    )
    assert bucketed > 0.85
    assert bucketed > data.n_tokens / padded
    assert fixed_padding_efficiency(data, 512) == pytest.approx(
        np.minimum(data.lengths, 512).sum() / (len(data) * 512)
    )


def test_batch_to_device_keeps_values() -> None:
    batch = make_batch(TokenizedSet.from_sequences(["ACD", "E"], [1, 0]), np.array([0, 1]))
    moved = batch.to("cpu")
    assert isinstance(moved, Batch) and torch.equal(moved.tokens, batch.tokens) and len(moved) == 2


def _old_length_batches(lengths: np.ndarray, max_batch: int, budget: int) -> list[np.ndarray]:
    """A frozen copy of the Predictor's former batching: sorted by length, within max_batch and budget."""
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    for stop in range(1, len(order) + 1):
        longest = int(lengths[order[stop - 1]])
        if stop - start > max_batch or (stop - start) * longest > budget and stop - 1 > start:
            batches.append(order[start : stop - 1])
            start = stop - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


@pytest.mark.parametrize(("max_batch", "budget"), [(64, 64 * 1024), (5, 300), (3, 10), (100, 1)])
def test_sorted_batch_indices_equal_the_previous_prediction_batches(max_batch: int, budget: int) -> None:
    lengths = np.random.default_rng(4).integers(1, 400, size=257)
    got = sorted_batch_indices(lengths, batch_size=max_batch, token_budget=budget)
    want = _old_length_batches(lengths, max_batch, budget)
    assert len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want))
    assert all(len(g) == 1 or (len(g) <= max_batch and len(g) * lengths[g].max() <= budget) for g in got)
    unbounded = sorted_batch_indices(lengths, batch_size=max_batch)
    assert np.array_equal(np.concatenate(unbounded), np.argsort(lengths, kind="stable"))
    assert all(len(g) == max_batch for g in unbounded[:-1])


def test_from_codes_equals_from_sequences(sample) -> None:
    seqs, labels = sample
    data = TokenizedSet.from_sequences(seqs[:50], labels[:50], vocab_size=NOTES_VOCAB_SIZE)
    codes = np.concatenate([_notes_encode(s) for s in seqs[:50]]).astype(np.uint8)
    lengths = [len(s) for s in seqs[:50]]
    again = TokenizedSet.from_codes(codes, lengths, labels[:50], vocab_size=NOTES_VOCAB_SIZE)
    for name in ("flat", "offsets", "lengths", "labels"):
        assert np.array_equal(getattr(again, name), getattr(data, name))
