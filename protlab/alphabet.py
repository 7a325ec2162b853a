"""The one amino-acid alphabet of ProtLab and its index tables."""

from __future__ import annotations

import numpy as np

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"  # the 20 standard residues, in the course notes' order
AMBIGUOUS_LETTERS = "XBZJUO"  # ambiguous or rare codes, all read as one 'unknown' token
PAD_INDEX = 0  # index of the padding token
UNKNOWN_INDEX = len(AMINO_ACIDS) + 1  # 21: index of the unknown-residue token
VOCAB_SIZE = len(AMINO_ACIDS) + 2  # 22: padding + 20 residues + unknown
NOTES_VOCAB_SIZE = len(AMINO_ACIDS) + 1  # 21: the notes' models (padding + 20); unknown -> padding

AA_TO_INDEX: dict[str, int] = {aa: i + 1 for i, aa in enumerate(AMINO_ACIDS)}
INDEX_TO_TOKEN: dict[int, str] = {
    PAD_INDEX: "<pad>",
    UNKNOWN_INDEX: "X",
    **{i: aa for aa, i in AA_TO_INDEX.items()},
}


def _byte_table() -> np.ndarray:
    """Map every byte value to its token index; -1 marks bytes that are not residue letters."""
    table = np.full(256, -1, dtype=np.int64)
    for aa, index in AA_TO_INDEX.items():
        table[ord(aa)] = index
    for letter in AMBIGUOUS_LETTERS:
        table[ord(letter)] = UNKNOWN_INDEX
    return table


BYTE_TO_INDEX: np.ndarray = _byte_table()  # (256,) int64 lookup used for vectorised encoding
