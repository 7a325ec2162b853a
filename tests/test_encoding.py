"""Encoding against the course notes' own code (worked example, Dataset, collate, Exercise 1)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from Bio.Data.IUPACData import protein_letters  # independent source of the 20 one-letter codes

from protlab.alphabet import AMBIGUOUS_LETTERS, NOTES_VOCAB_SIZE, PAD_INDEX, UNKNOWN_INDEX, VOCAB_SIZE
from protlab.data import TraceStep, encode, encode_each, encode_numpy, encode_trace, one_hot, pad_batch
from protlab.errors import ConfigError, InvalidSequenceError

NOTES_AA_TO_IDX = {aa: i + 1 for i, aa in enumerate(protein_letters)}  # the notes' dict comprehension


def notes_one_hot(sequence: str) -> torch.Tensor:
    """The notes' step 2, loop and all."""
    indices = [NOTES_AA_TO_IDX[aa] for aa in sequence]
    out = torch.zeros(len(sequence), 20)
    for i, idx in enumerate(indices):
        out[i, idx - 1] = 1.0
    return out


def notes_collate(sequences: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The notes' Dataset (.get(aa, 0)) followed by their per-batch collate function."""
    encoded = [torch.tensor([NOTES_AA_TO_IDX.get(aa, 0) for aa in s], dtype=torch.long) for s in sequences]
    max_len = max(len(e) for e in encoded)
    tokens = torch.zeros(len(encoded), max_len, dtype=torch.long)
    masks = torch.zeros(len(encoded), max_len)
    for i, e in enumerate(encoded):
        tokens[i, : len(e)] = e
        masks[i, : len(e)] = 1.0
    return tokens, masks


def test_worked_example_mvlspad() -> None:
    tokens = encode("MVLSPAD")
    assert tokens.shape == (7,) and tokens.dtype == torch.int64
    assert tokens.tolist() == [NOTES_AA_TO_IDX[aa] for aa in "MVLSPAD"]
    assert tokens.tolist() == [
        11,
        18,
        10,
        16,
        13,
        1,
        3,
    ]  # the code's output (the printed text has an erratum)
    hot = one_hot("MVLSPAD")
    assert hot.shape == (7, 20) and hot.dtype == torch.float32
    torch.testing.assert_close(hot, notes_one_hot("MVLSPAD"))
    assert hot.sum(dim=1).tolist() == [1.0] * 7
    assert hot.argmax(dim=1).tolist() == [i - 1 for i in tokens.tolist()]
    assert hot.unsqueeze(0).shape == (1, 7, 20)


def test_every_letter_matches_notes_table() -> None:
    assert encode(protein_letters).tolist() == list(range(1, 21))
    torch.testing.assert_close(one_hot(protein_letters), torch.eye(20))


def test_unknown_letters() -> None:
    seq = "M" + AMBIGUOUS_LETTERS + "A"
    assert encode(seq).tolist() == [11] + [UNKNOWN_INDEX] * 6 + [1]
    assert encode(seq, vocab_size=NOTES_VOCAB_SIZE).tolist() == [11] + [0] * 6 + [1]
    assert encode_numpy(seq).dtype == np.uint8
    assert encode_numpy(seq).tolist() == encode(seq).tolist()
    rows = one_hot(seq).sum(dim=1).tolist()
    assert rows == [1.0] + [0.0] * 6 + [1.0]


def test_encode_numpy_matches_notes_dataset_for_vocab_21() -> None:
    seq = "MKTXAYB"
    expected = [NOTES_AA_TO_IDX.get(aa, 0) for aa in seq]
    assert encode_numpy(seq, vocab_size=21).tolist() == expected


def test_exercise_1_batch_of_five() -> None:
    batch = ["MVLSPAD", "MKT", "GAVLIPFWMSTCYNQDEKRH", "ACXD", "M"]
    tokens, mask = pad_batch(batch)
    assert tokens.shape == (5, 20) and tokens.dtype == torch.int64
    assert mask.shape == (5, 20) and mask.dtype == torch.float32
    lengths = [len(s) for s in batch]
    for i, length in enumerate(lengths):
        assert mask[i, :length].eq(1).all() and mask[i, length:].eq(0).all()
        assert tokens[i, length:].eq(0).all()
        assert tokens[i, :length].tolist() == encode(batch[i]).tolist()
    assert (tokens == 0).logical_and(mask == 1).sum() == 0  # vocab 22: no real residue is token 0


def test_pad_batch_matches_notes_collate_for_vocab_21() -> None:
    batch = ["MVLSPAD", "MXT", "GAVLIPFWMST"]
    tokens, mask = pad_batch(batch, vocab_size=21)
    ref_tokens, ref_mask = notes_collate(batch)
    assert torch.equal(tokens, ref_tokens)
    assert torch.equal(mask, ref_mask)


def test_encode_trace_steps() -> None:
    steps = encode_trace("MVLSPAD")
    assert [type(s) for s in steps] == [TraceStep] * 3
    assert [s.shape for s in steps] == [(7,), (7, 20), (1, 7, 20)]
    assert [tuple(s.tensor.shape) for s in steps] == [(7,), (7, 20), (1, 7, 20)]
    assert steps[0].tensor.tolist() == [NOTES_AA_TO_IDX[aa] for aa in "MVLSPAD"]
    torch.testing.assert_close(steps[2].tensor[0], notes_one_hot("MVLSPAD"))
    assert all(s.title and s.explanation for s in steps)


@pytest.mark.parametrize(
    ("sequence", "message"),
    [
        ("MvL", "has 'v' at position 2"),
        ("MK T", "has ' ' at position 3"),
        ("MK\u00e9", "has '\u00e9' (U+00E9 LATIN SMALL LETTER E WITH ACUTE) at position 3"),
        ("MK*", "has '*' at position 3"),
    ],
)
def test_uncleaned_input_is_rejected(sequence: str, message: str) -> None:
    with pytest.raises(InvalidSequenceError, match=re.escape(message)):
        encode(sequence)
    with pytest.raises(InvalidSequenceError):
        one_hot(sequence)


def test_pad_batch_names_the_bad_sequence() -> None:
    with pytest.raises(InvalidSequenceError, match="number 2 in the batch has '1' at position 2"):
        pad_batch(["MKT", "M1"])
    with pytest.raises(InvalidSequenceError, match="non-empty list"):
        pad_batch([])


def test_bad_vocab_size() -> None:
    with pytest.raises(ConfigError, match="vocab_size must be 22 .* or 21 .*; got 20"):
        encode("MKT", vocab_size=20)
    # the two allowed vocabularies differ only in where an ambiguous letter goes
    assert encode("MXK", vocab_size=VOCAB_SIZE)[1].item() == UNKNOWN_INDEX
    assert encode("MXK", vocab_size=NOTES_VOCAB_SIZE)[1].item() == PAD_INDEX


def test_long_batch_is_consistent() -> None:
    rng = np.random.default_rng(0)
    letters = np.array(list(protein_letters + AMBIGUOUS_LETTERS))
    batch = ["".join(rng.choice(letters, size=n)) for n in rng.integers(1, 300, size=64)]
    tokens, mask = pad_batch(batch)
    for i, seq in enumerate(batch):
        expected = [NOTES_AA_TO_IDX.get(aa, UNKNOWN_INDEX) for aa in seq]
        assert tokens[i, : len(seq)].tolist() == expected
    assert mask.sum().item() == sum(len(s) for s in batch)


def _old_pad_batch(sequences: list[str], vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A frozen copy of the padder pad_batch used before it called make_batch (a boolean-mask fill)."""
    flat = np.concatenate([encode_numpy(s, vocab_size=vocab_size) for s in sequences]).astype(np.int64)
    lengths = np.array([len(s) for s in sequences])
    real = np.arange(int(lengths.max()))[None, :] < lengths[:, None]  # (B, Lmax) bool
    tokens = np.zeros(real.shape, dtype=np.int64)
    tokens[real] = flat
    return torch.from_numpy(tokens), torch.from_numpy(real.astype(np.float32))


@pytest.mark.parametrize("vocab_size", [VOCAB_SIZE, NOTES_VOCAB_SIZE])
def test_pad_batch_equals_the_previous_padder(vocab_size: int) -> None:
    rng = np.random.default_rng(7)
    letters = np.array(list(protein_letters + AMBIGUOUS_LETTERS))
    batch = ["".join(rng.choice(letters, size=n)) for n in rng.integers(0, 120, size=40)] + ["M"]
    tokens, mask = pad_batch(batch, vocab_size=vocab_size)
    ref_tokens, ref_mask = _old_pad_batch(batch, vocab_size)
    assert torch.equal(tokens, ref_tokens) and torch.equal(mask, ref_mask)
    assert tokens.dtype == torch.int64 and mask.dtype == torch.float32


def test_encode_each_matches_encode_and_names_the_first_bad_sequence() -> None:
    sequences = ["MKV", "ACDEFGHIKLMNPQRSTVWY"]
    for got, seq in zip(encode_each(sequences), sequences):
        assert got.tolist() == encode(seq).tolist()
    with pytest.raises(InvalidSequenceError, match="Sequence 3") as info:
        encode_each(["MKV", "WWW", "MK1V"])
    assert info.value.position == 3 and info.value.character == "1"
    with pytest.raises(InvalidSequenceError, match="Sequence 2 must be a non-empty"):
        encode_each(["MKV", ""])
    with pytest.raises(InvalidSequenceError, match="single string"):
        encode_each("MKV")
