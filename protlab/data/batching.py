"""Tokenise a data set once, then cut it into length-bucketed, padded batches
without Python loops per residue.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from protlab.alphabet import BYTE_TO_INDEX, NOTES_VOCAB_SIZE, PAD_INDEX, UNKNOWN_INDEX, VOCAB_SIZE
from protlab.checks import Choice, IntRange
from protlab.errors import DataFormatError, InvalidSequenceError

# batches per shuffled chunk that is sorted by length (more = less padding, less randomness); 100 keeps
# 96% of a DeepSol epoch's padded positions real (50: 93%, one sorted chunk: 99%)
BUCKET_CHUNK_BATCHES = 100
IGNORE_INDEX = -100  # per-residue label no loss or metric counts (padding, unresolved); torch's default


@dataclass
class Batch:
    """One padded mini-batch, ready for `model_forward`."""

    tokens: torch.Tensor  # (B, L) int64 token indices, PAD_INDEX after each sequence's end
    mask: torch.Tensor  # (B, L) float32, 1.0 on real residues and 0.0 on padding
    labels: torch.Tensor  # (B,) int64 class labels (0 insoluble, 1 soluble); -1 when the set is unlabelled;
    # (B, L) int64 per-residue classes when the set has residue_labels (IGNORE_INDEX: padding, not scored)
    features: torch.Tensor | None  # (B, F) float32 per-sequence features, or None
    index: torch.Tensor  # (B,) int64 positions of these rows in the TokenizedSet

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """Return a copy of this batch on `device` (index stays on the CPU for bookkeeping)."""
        features = None if self.features is None else self.features.to(device, non_blocking=non_blocking)
        return Batch(
            tokens=self.tokens.to(device, non_blocking=non_blocking),
            mask=self.mask.to(device, non_blocking=non_blocking),
            labels=self.labels.to(device, non_blocking=non_blocking),
            features=features,
            index=self.index,
        )

    def pin_memory(self) -> Batch:
        """Return a copy in page-locked memory so a CUDA copy can overlap with compute."""
        features = None if self.features is None else self.features.pin_memory()
        return Batch(
            self.tokens.pin_memory(), self.mask.pin_memory(), self.labels.pin_memory(), features, self.index
        )

    def __len__(self) -> int:
        return int(self.tokens.shape[0])


NOT_A_RESIDUE = 255  # marks bytes that are not residue letters in the uint8 lookup tables below


def _byte_table(vocab_size: int) -> bytes:
    """A 256-byte table for bytes.translate: letter (either case) -> token, anything else -> NOT_A_RESIDUE."""
    table = np.where(BYTE_TO_INDEX < 0, NOT_A_RESIDUE, BYTE_TO_INDEX)  # (256,) int64
    lower = np.arange(ord("a"), ord("z") + 1)
    table[lower] = table[lower - (ord("a") - ord("A"))]  # lowercase reads as uppercase
    if vocab_size == NOTES_VOCAB_SIZE:
        table[table == UNKNOWN_INDEX] = PAD_INDEX  # the notes' 21-token vocabulary reads unknown as padding
    return bytes(table.astype(np.uint8))


_BYTE_TABLES = {vocab: _byte_table(vocab) for vocab in (VOCAB_SIZE, NOTES_VOCAB_SIZE)}


def _encode_joined(sequences: Sequence[str], vocab_size: int) -> np.ndarray:
    """Encode all sequences, concatenated, in one table lookup; returns (T,) uint8.

    bytes.translate keeps every intermediate at one byte per residue (no int64 index array), which
    matters at 100k sequences: about 3.7x less peak memory and 3.7x faster than an int64 gather.
    """
    joined = "".join(sequences)
    try:
        raw = joined.encode("ascii")
    except UnicodeEncodeError as err:
        bad = joined[err.start]
        raise InvalidSequenceError(
            f"Sequences may contain only amino-acid letters; found the non-ASCII character {bad!r}. "
            "Clean the sequences (protlab.sequences.clean_sequence) before tokenising them.",
            character=bad,
        ) from None
    codes = np.frombuffer(raw.translate(_BYTE_TABLES[vocab_size]), dtype=np.uint8)  # (T,) uint8
    del raw
    if codes.size and codes.max() == NOT_A_RESIDUE:
        bad = joined[int(np.argmax(codes == NOT_A_RESIDUE))]
        raise InvalidSequenceError(
            f"Sequences may contain only amino-acid letters; found {bad!r}. "
            "Clean the sequences (protlab.sequences.clean_sequence) before tokenising them.",
            character=bad,
        )
    return codes


@dataclass
class TokenizedSet:
    """A whole data set tokenised once: one flat token array plus offsets, lengths, labels and features."""

    flat: (
        np.ndarray
    )  # (T + 1,) uint8 all sequences back to back, plus one trailing PAD used as a gather sentinel
    offsets: np.ndarray  # (N,) int64 start of each sequence in `flat`
    lengths: np.ndarray  # (N,) int64 residues per sequence
    labels: np.ndarray  # (N,) int64 class labels, -1 where unknown
    features: np.ndarray | None  # (N, F) float32 per-sequence features, or None
    vocab_size: int  # 22 (ProtLab: unknown -> 21) or 21 (the notes: unknown -> 0)
    # (T + 1,) int8 one class per residue, aligned with `flat` (IGNORE_INDEX where not scored), or None
    residue_labels: np.ndarray | None = None

    @classmethod
    def from_sequences(
        cls,
        sequences: Sequence[str],
        labels: Sequence[int] | np.ndarray | None = None,
        *,
        vocab_size: int = VOCAB_SIZE,
        max_length: int = 2000,
        features: np.ndarray | None = None,
        residue_labels: np.ndarray | None = None,
    ) -> TokenizedSet:
        """Tokenise `sequences` once (vectorised); sequences longer than `max_length` are refused, never cut.

        residue_labels: (T,) class of every residue, sequences back to back (IGNORE_INDEX: not scored).
        """
        Choice((VOCAB_SIZE, NOTES_VOCAB_SIZE)).check(vocab_size, "vocab_size")
        IntRange(1).check(max_length, "max_length")
        n = len(sequences)
        if n == 0:
            raise DataFormatError("There are no sequences to tokenise; give at least one sequence.")
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=n)  # (N,)
        _check_lengths(lengths, max_length)
        codes = _encode_joined(sequences, vocab_size)  # (T,) uint8
        return cls.from_codes(
            codes, lengths, labels, vocab_size=vocab_size, features=features, residue_labels=residue_labels
        )

    @classmethod
    def from_codes(
        cls,
        codes: np.ndarray,
        lengths: np.ndarray,
        labels: Sequence[int] | np.ndarray | None = None,
        *,
        vocab_size: int = VOCAB_SIZE,
        features: np.ndarray | None = None,
        residue_labels: np.ndarray | None = None,
    ) -> TokenizedSet:
        """A set from tokens encoded for `vocab_size`, back to back (T,) uint8, and each sequence's length."""
        lengths = np.asarray(lengths, dtype=np.int64)  # (N,)
        n = lengths.shape[0]
        offsets = np.zeros(n, dtype=np.int64)  # (N,)
        np.cumsum(lengths[:-1], out=offsets[1:])
        flat = np.empty(codes.size + 1, dtype=np.uint8)  # (T + 1,) uint8
        flat[:-1] = codes
        flat[-1] = PAD_INDEX  # gather sentinel
        return cls(
            flat,
            offsets,
            lengths,
            _labels_array(labels, n),
            _features_array(features, n),
            vocab_size,
            _residue_labels_array(residue_labels, codes.size),
        )

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def n_tokens(self) -> int:
        """Number of real residues in the set."""
        return int(self.lengths.sum())

    @property
    def has_labels(self) -> bool:
        """True when every row has a 0/1 label (per-residue sets: when at least one residue is scored)."""
        if self.residue_labels is not None:
            return bool((self.residue_labels >= 0).any())
        return bool(len(self) and (self.labels >= 0).all())

    def subset(self, indices: Sequence[int] | np.ndarray) -> TokenizedSet:
        """Return the rows at `indices` as a new set (tokens copied by one vectorised gather)."""
        idx = np.asarray(indices, dtype=np.int64)  # (M,)
        if idx.size == 0:
            raise DataFormatError("A subset needs at least one row; this split is empty. Use more data.")
        lengths = self.lengths[idx]  # (M,)
        offsets = np.zeros(idx.size, dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        total = int(lengths.sum())
        # position of every output token in the old flat array: old start + (new position - new start)
        shift = np.repeat(self.offsets[idx] - offsets, lengths)  # (T',)
        flat = np.concatenate([self.flat[shift + np.arange(total)], np.zeros(1, dtype=np.uint8)])
        features = None if self.features is None else self.features[idx]
        residue = None
        if self.residue_labels is not None:
            residue = self.residue_labels[shift + np.arange(total)]  # (T',) int8
            residue = np.append(residue, np.int8(IGNORE_INDEX))  # (T' + 1,) with the sentinel
        return TokenizedSet(flat, offsets, lengths, self.labels[idx], features, self.vocab_size, residue)


def _check_lengths(lengths: np.ndarray, max_length: int) -> None:
    """Refuse empty sequences and sequences longer than `max_length` (the data layer drops them first)."""
    if (lengths == 0).any():
        row = int(np.flatnonzero(lengths == 0)[0])
        raise InvalidSequenceError(
            f"Sequence number {row + 1} is empty; remove empty sequences before training."
        )
    if (lengths > max_length).any():
        row = int(np.flatnonzero(lengths > max_length)[0])
        raise InvalidSequenceError(
            f"Sequence number {row + 1} has {int(lengths[row])} residues, more than max_length={max_length}. "
            "Drop longer sequences when loading the data or raise max_length; ProtLab never truncates."
        )


def _labels_array(labels: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray:
    """Validate labels as a (N,) int64 array of 0/1, or all -1 when there are none."""
    if labels is None:
        return np.full(n, -1, dtype=np.int64)
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise DataFormatError(f"labels must have one entry per sequence ({n}); got shape {arr.shape}.")
    if not np.isin(arr, (0, 1)).all():
        raise DataFormatError("labels must be 0 (insoluble) or 1 (soluble); found other values.")
    return arr.astype(np.int64)


def _residue_labels_array(residue_labels: np.ndarray | None, n_tokens: int) -> np.ndarray | None:
    """Validate per-residue classes (T,) and append the IGNORE_INDEX sentinel -> (T + 1,) int8, or None."""
    if residue_labels is None:
        return None
    arr = np.asarray(residue_labels)
    if arr.shape != (n_tokens,):
        raise DataFormatError(
            f"residue_labels must have one entry per residue ({n_tokens}); got shape {arr.shape}."
        )
    allowed = (arr == IGNORE_INDEX) | ((arr >= 0) & (arr < 100)) if arr.dtype.kind in "iu" else None
    if arr.size and (allowed is None or not allowed.all()):
        raise DataFormatError(
            f"residue_labels must be class numbers from 0 to 99 or {IGNORE_INDEX} (not scored)."
        )
    return np.append(arr.astype(np.int8), np.int8(IGNORE_INDEX))


def _features_array(features: np.ndarray | None, n: int) -> np.ndarray | None:
    """Validate features as a finite (N, F) float32 matrix."""
    if features is None:
        return None
    arr = np.asarray(features, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise DataFormatError(
            f"features must be a matrix with one row per sequence ({n}); got shape {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise DataFormatError("features contain NaN or infinite values; fix or drop those rows first.")
    return arr


def make_batch(data: TokenizedSet, indices: np.ndarray) -> Batch:
    """Build one padded batch from rows `indices` with a single fancy-indexing gather (the one padder)."""
    idx = np.asarray(indices, dtype=np.int64)  # (B,)
    lengths = data.lengths[idx]  # (B,)
    width = int(lengths.max())
    cols = np.arange(width, dtype=np.int64)  # (L,)
    valid = cols[None, :] < lengths[:, None]  # (B, L) bool
    sentinel = data.flat.shape[0] - 1  # index of the trailing PAD
    positions = np.where(valid, data.offsets[idx][:, None] + cols[None, :], sentinel)  # (B, L)
    tokens = torch.from_numpy(data.flat[positions].astype(np.int64))  # (B, L) int64
    mask = torch.from_numpy(valid.astype(np.float32))  # (B, L) float32
    if data.residue_labels is None:
        labels = torch.from_numpy(data.labels[idx])  # (B,) int64
    else:
        labels = torch.from_numpy(data.residue_labels[positions].astype(np.int64))  # (B, L); pad: sentinel
    features = None if data.features is None else torch.from_numpy(data.features[idx])  # (B, F) float32
    return Batch(tokens, mask, labels, features, torch.from_numpy(idx))


def batch_indices(
    data: TokenizedSet, *, batch_size: int, shuffle: bool, seed: int = 0, epoch: int = 0
) -> list[np.ndarray]:
    """Group row indices into batches of similar length; the order depends only on (seed, epoch)."""
    IntRange(1, 4096).check(batch_size, "batch_size")
    n = len(data)
    if not shuffle:
        return sorted_batch_indices(data.lengths, batch_size=batch_size)  # deterministic: shortest first
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(n)  # (N,)
    chunk = batch_size * BUCKET_CHUNK_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, n, chunk):
        part = perm[start : start + chunk]
        part = part[np.argsort(data.lengths[part], kind="stable")]  # sort this random chunk by length
        batches.extend(part[i : i + batch_size] for i in range(0, part.size, batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def sorted_batch_indices(
    lengths: np.ndarray, *, batch_size: int, token_budget: int | None = None
) -> list[np.ndarray]:
    """Row indices shortest first (stable), in batches within batch_size rows and token_budget padded tokens.

    Padded tokens are rows x longest length; a batch keeps at least one row. The budget bounds memory for long
    sequences; None means no budget.
    """
    order = np.argsort(lengths, kind="stable")  # (N,)
    if token_budget is None:
        return [order[i : i + batch_size] for i in range(0, order.size, batch_size)]
    ordered = lengths[order]  # (N,) ascending, so the last row of a batch is its longest
    batches, start = [], 0
    for stop in range(1, order.size + 1):
        rows = stop - start
        if rows > batch_size or (rows > 1 and rows * int(ordered[stop - 1]) > token_budget):
            batches.append(order[start : stop - 1])
            start = stop - 1
    if start < order.size:
        batches.append(order[start:])
    return batches


def length_bucketed_batches(
    data: TokenizedSet, *, batch_size: int, shuffle: bool, seed: int = 0, epoch: int = 0
) -> Iterator[Batch]:
    """Yield padded batches of similar-length sequences;
    shuffled reproducibly per (seed, epoch) when asked.
    """
    for idx in batch_indices(data, batch_size=batch_size, shuffle=shuffle, seed=seed, epoch=epoch):
        yield make_batch(data, idx)


def padding_efficiency(
    data: TokenizedSet, *, batch_size: int, shuffle: bool = True, seed: int = 0, epoch: int = 0
) -> float:
    """Real residues divided by padded positions over one epoch of batches (1.0 = no padding at all)."""
    groups = batch_indices(data, batch_size=batch_size, shuffle=shuffle, seed=seed, epoch=epoch)
    padded = sum(int(data.lengths[g].max()) * len(g) for g in groups)
    return data.n_tokens / padded


def fixed_padding_efficiency(data: TokenizedSet, pad_to: int) -> float:
    """Real residues per position when every sequence is padded (or truncated) to `pad_to`,
    as in the notes.
    """
    return float(np.minimum(data.lengths, pad_to).sum()) / (len(data) * pad_to)
