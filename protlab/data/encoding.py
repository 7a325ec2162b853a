"""Encode cleaned protein sequences as integer tokens, one-hot tensors and padded batches.

Token indices: 0 padding, 1-20 the residues in AMINO_ACIDS order, 21 unknown
(X, B, Z, J, U, O). With vocab_size=21 (the course notes' models) unknown
letters map to 0, as the notes' Dataset does with `aa_to_idx.get(aa, 0)`.
Encoding is vectorised: the ASCII bytes of the sequence index BYTE_TO_INDEX.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from protlab.alphabet import (
    AMINO_ACIDS,
    BYTE_TO_INDEX,
    NOTES_VOCAB_SIZE,
    PAD_INDEX,
    UNKNOWN_INDEX,
    VOCAB_SIZE,
)
from protlab.data.batching import TokenizedSet, make_batch
from protlab.data.sequences import describe_character
from protlab.errors import ConfigError, InvalidSequenceError

N_RESIDUES = len(AMINO_ACIDS)  # 20 one-hot columns


@dataclass(frozen=True)
class TraceStep:
    """One stage of the notes' worked encoding example, for the Encode page."""

    title: str  # short heading, e.g. "Step 1: integer indices"
    tensor: torch.Tensor  # the tensor produced at this stage
    shape: tuple[int, ...]  # tensor.shape as a plain tuple, e.g. (7, 20)
    explanation: str  # one or two sentences for students


def _check_vocab(vocab_size: int) -> int:
    """Accept only the two supported vocabularies (22 tokens, or the notes' 21)."""
    if vocab_size not in (VOCAB_SIZE, NOTES_VOCAB_SIZE) or isinstance(vocab_size, bool):
        raise ConfigError(
            f"vocab_size must be {VOCAB_SIZE} (padding, 20 residues, unknown) or {NOTES_VOCAB_SIZE} "
            f"(the course notes: unknown letters become padding 0); got {vocab_size!r}."
        )
    return vocab_size


def _not_clean_error(char: str, position: int, which: str = "") -> InvalidSequenceError:
    """The error for a character that a cleaned sequence cannot contain."""
    return InvalidSequenceError(
        f"The sequence{which} has {describe_character(char)} at position {position}, which is not an "
        "uppercase one-letter amino-acid code. Encoding expects a cleaned sequence: clean the text "
        "with protlab.sequences.clean_sequence first.",
        character=char,
        position=position,
    )


def _indices(sequence: str, which: str = "") -> np.ndarray:
    """Map a cleaned sequence to token indices with unknown = 21.  # (L,) int64"""
    if not isinstance(sequence, str):
        raise InvalidSequenceError(
            f"A sequence must be a str; got a value of type {type(sequence).__name__}."
        )
    try:
        raw = sequence.encode("ascii")
    except UnicodeEncodeError as error:
        raise _not_clean_error(sequence[error.start], error.start + 1, which) from None
    index = BYTE_TO_INDEX[np.frombuffer(raw, dtype=np.uint8)]  # (L,) int64, -1 = not allowed
    bad = np.flatnonzero(index < 0)
    if bad.size:
        raise _not_clean_error(sequence[bad[0]], int(bad[0]) + 1, which)
    return index


def _apply_vocab(index: np.ndarray, vocab_size: int) -> np.ndarray:
    """Map unknown tokens to padding for the notes' 21-token vocabulary."""
    if _check_vocab(vocab_size) == NOTES_VOCAB_SIZE:
        index = np.where(index == UNKNOWN_INDEX, PAD_INDEX, index)
    return index


def encode_numpy(sequence: str, *, vocab_size: int = VOCAB_SIZE) -> np.ndarray:
    """Encode a cleaned sequence as token indices.  # (L,) uint8"""
    return _apply_vocab(_indices(sequence), vocab_size).astype(np.uint8)


def encode(sequence: str, *, vocab_size: int = VOCAB_SIZE) -> torch.Tensor:
    """Encode a cleaned sequence as a token tensor.  # (L,) int64"""
    return torch.from_numpy(_apply_vocab(_indices(sequence), vocab_size).astype(np.int64))


def encode_each(sequences: Sequence[str], *, vocab_size: int = VOCAB_SIZE) -> list[np.ndarray]:
    """Encode a list of cleaned sequences for prediction, naming the first bad one.  # list of (L,) uint8"""
    if isinstance(sequences, str):
        raise InvalidSequenceError(
            "predict needs a list of sequences; got a single string. Wrap it: [sequence]."
        )
    encoded = []
    for number, seq in enumerate(sequences, start=1):
        if not isinstance(seq, str) or not seq:
            got = "an empty string" if isinstance(seq, str) else f"a {type(seq).__name__}"
            raise InvalidSequenceError(f"Sequence {number} must be a non-empty protein sequence; got {got}.")
        try:
            encoded.append(encode_numpy(seq, vocab_size=vocab_size))
        except InvalidSequenceError as exc:
            raise InvalidSequenceError(
                f"Sequence {number}: {exc}", character=exc.character, position=exc.position
            ) from None
    return encoded


def _one_hot_from_indices(index: np.ndarray) -> torch.Tensor:
    """One-hot rows for tokens 1..20; padding and unknown rows stay all zero.  # (L, 20) float32"""
    table = np.zeros((UNKNOWN_INDEX + 1, N_RESIDUES), dtype=np.float32)  # (22, 20)
    table[1 : N_RESIDUES + 1] = np.eye(N_RESIDUES, dtype=np.float32)
    return torch.from_numpy(table[index])


def one_hot(sequence: str) -> torch.Tensor:
    """One-hot encode a cleaned sequence; unknown letters give all-zero rows.  # (L, 20) float32"""
    return _one_hot_from_indices(_indices(sequence))


def pad_batch(sequences: Sequence[str], *, vocab_size: int = VOCAB_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch to its longest sequence: tokens (B, Lmax) int64 and mask (B, Lmax) float32."""
    _check_vocab(vocab_size)
    if isinstance(sequences, str) or len(sequences) == 0:
        raise InvalidSequenceError(
            "pad_batch needs a non-empty list of sequences; got "
            f"{'a single string' if isinstance(sequences, str) else 'an empty list'}. "
            "Pass a list such as ['MVLSPAD', 'MKT']."
        )
    try:
        flat = _indices("".join(sequences))  # (sum L,) int64
    except (InvalidSequenceError, TypeError):
        for number, seq in enumerate(sequences, start=1):  # only to name the offending sequence
            _indices(seq, f" number {number} in the batch")
        raise
    codes = _apply_vocab(flat, vocab_size).astype(np.uint8)  # (sum L,) uint8
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))  # (B,)
    data = TokenizedSet.from_codes(codes, lengths, vocab_size=vocab_size)
    batch = make_batch(data, np.arange(len(sequences)))
    return batch.tokens, batch.mask  # (B, Lmax) int64, (B, Lmax) float32


def encode_trace(sequence: str) -> list[TraceStep]:
    """The notes' worked example step by step: indices (L,) -> one-hot (L, 20) -> batch (1, L, 20)."""
    index = _indices(sequence)  # (L,) int64
    tokens = torch.from_numpy(index.astype(np.int64))  # (L,) int64
    hot = _one_hot_from_indices(index)  # (L, 20) float32
    batched = hot.unsqueeze(0)  # (1, L, 20) float32
    n = len(sequence)
    n_unknown = int((index == UNKNOWN_INDEX).sum())
    known = [i for i, k in enumerate(index.tolist()) if k != UNKNOWN_INDEX]
    example = sequence[known[0]] if known else AMINO_ACIDS[0]  # the first standard residue
    example_index = AMINO_ACIDS.index(example) + 1
    unknown_text = (
        f" {n_unknown} letter(s) outside the 20-letter alphabet get the unknown token {UNKNOWN_INDEX}."
        if n_unknown
        else ""
    )
    return [
        TraceStep(
            "Step 1: integer indices",
            tokens,
            tuple(tokens.shape),
            f"Each residue becomes one integer: 1 to 20 in alphabet order ({AMINO_ACIDS[0]} = 1, "
            f"{AMINO_ACIDS[-1]} = 20), with 0 kept for padding. {n} residues give a tensor of "
            f"shape ({n},).{unknown_text}",
        ),
        TraceStep(
            "Step 2: one-hot encoding",
            hot,
            tuple(hot.shape),
            f"Each integer becomes a row of 20 numbers: all zeros except a single 1 in column "
            f"(index − 1), e.g. {example} = {example_index} → column {example_index - 1} counting "
            f"from 0. The result has one row per residue: shape ({n}, 20)."
            + (" Unknown residues give an all-zero row." if n_unknown else ""),
        ),
        TraceStep(
            "Step 3: add a batch dimension",
            batched,
            tuple(batched.shape),
            f"Networks take batches of proteins, so unsqueeze(0) adds a leading batch axis: "
            f"shape (1, {n}, 20) = (batch size, sequence length, features).",
        ),
    ]
