"""What the first convolution learned: each filter as a motif, DeepBind/Basset style.

A first-layer filter of width k is a learned motif detector: it slides along the protein and scores every
window of k residues (its activation). Its motif is summarised by the windows of real training proteins
that score highest: their position frequency matrix (PFM, k x 20, each row the residue frequencies at one
offset; Alipanahi et al. 2015, Kelley et al. 2016) is drawn as a sequence logo, and the windows themselves
are the filter's top k-mers. The filter's own weights read through the embedding (k x 20: the score each
residue adds at each offset) are kept too.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from protlab.alphabet import AA_TO_INDEX, AMINO_ACIDS
from protlab.checks import IntRange
from protlab.data.encoding import encode_numpy
from protlab.errors import ConfigError

__all__ = ["FilterBank", "FilterMotif", "filter_banks", "filter_motifs", "motif_logos_png"]

TOP = IntRange(1, 10_000)  # windows kept per filter
CHUNK_TOKENS = 1 << 16  # windows scored at once while scanning the proteins
_STANDARD = np.array([AA_TO_INDEX[aa] for aa in AMINO_ACIDS])  # token of each of the 20 residues


@dataclass
class FilterBank:
    """One first-layer convolution and the embedding it reads."""

    label: str  # e.g. "Model 2 (cnn): conv1, width 5"
    embedding: nn.Embedding  # (V, E) residue vectors
    conv: nn.Conv1d  # (F, E, k) filters


@dataclass
class FilterMotif:
    """One filter's motif, from the windows of real proteins that activate it most."""

    bank: str  # the FilterBank's label
    index: int  # filter number within its bank (0-based)
    width: int  # k: residues the filter sees at once
    pfm: np.ndarray  # (k, 20) residue frequencies of the top windows at each offset; rows sum to 1
    weights: np.ndarray  # (k, 20) score each residue adds at each offset (conv weights through the embedding)
    top_kmers: list[str]  # the distinct highest-scoring windows, best first
    top_activations: list[float]  # their activations (bias + weights . window), best first
    kmer_counts: list[int]  # how many of the top windows each k-mer is
    n_windows: (
        int  # windows in the PFM: the `top` best with a positive activation (0: the filter never fires)
    )

    @property
    def max_activation(self) -> float:
        """The highest activation over every window scanned (0.0 if none was)."""
        return self.top_activations[0] if self.top_activations else 0.0


def _bank_list(model: nn.Module, prefix: str) -> list[FilterBank]:
    """First-layer convolutions of one plain model (none for a model without one)."""
    from protlab.models.cnn import SolubilityCNN
    from protlab.models.dual import DualInputModel
    from protlab.models.solubility_net import SolubilityNet
    from protlab.mutation_scan import is_kind

    if is_kind(model, SolubilityCNN):
        conv = model.conv1
        return [FilterBank(f"{prefix}conv1, width {conv.kernel_size[0]}", model.embedding, conv)]
    if is_kind(model, DualInputModel):
        conv = model.conv
        return [FilterBank(f"{prefix}conv, width {conv.kernel_size[0]}", model.embedding, conv)]
    if is_kind(model, SolubilityNet) and model.config.use_motifs:
        return [
            FilterBank(f"{prefix}width-{c.kernel_size[0]} filters", model.embedding, c) for c in model.convs
        ]
    return []


def filter_banks(model: nn.Module) -> list[FilterBank]:
    """Every first-layer convolution of a model (each ensemble member's, labelled by member)."""
    from protlab.models.ensemble import EnsembleModel
    from protlab.mutation_scan import is_kind

    if is_kind(model, EnsembleModel):
        banks = []
        for i, member in enumerate(model.members, start=1):
            kind = type(member).__name__
            banks += _bank_list(member, f"Model {i} ({kind}): ")
        return banks
    return _bank_list(model, "")


def _table(bank: FilterBank) -> torch.Tensor:
    """Score each token adds at each offset, per filter (conv weights through the embedding).  # (k, V, F)"""
    with torch.no_grad():
        return torch.einsum("ve,fek->kvf", bank.embedding.weight.float(), bank.conv.weight.float()).cpu()


def _valid_starts(codes: list[np.ndarray], width: int) -> np.ndarray:
    """Which starts in the joined tokens begin a window of 20-residue letters inside one protein.  # (n,)"""
    tokens = np.concatenate(codes)  # (N,)
    owner = np.repeat(np.arange(len(codes)), [len(c) for c in codes])  # (N,) protein of each token
    odd = np.concatenate([[0], np.cumsum(~np.isin(tokens, _STANDARD))])  # (N + 1,) unknowns so far
    n = len(tokens) - width + 1
    return (odd[width : width + n] == odd[:n]) & (owner[:n] == owner[width - 1 : width - 1 + n])


def _scan(bank: FilterBank, codes: list[np.ndarray], top: int) -> tuple[np.ndarray, np.ndarray]:
    """Highest positive activations per filter and where their windows start in the joined tokens.

    activation(window) = bias + sum over offsets j of table[j, token at start + j], a lookup that equals
    the convolution without running it.  # (F, T) float32, (F, T) int64
    """
    width, n_filters = bank.conv.kernel_size[0], bank.conv.out_channels
    table, bias = _table(bank), bank.conv.bias.detach().float().cpu()  # (k, V, F), (F,)
    tokens = torch.from_numpy(np.concatenate(codes))  # (N,) int64
    n = len(tokens) - width + 1
    best_act = torch.empty((0, n_filters))  # (T, F) running top activations
    best_at = torch.empty((0, n_filters), dtype=torch.int64)  # (T, F) their window starts
    if n <= 0:
        return best_act.T.numpy(), best_at.T.numpy()
    valid = torch.from_numpy(_valid_starts(codes, width))  # (n,)
    for lo in range(0, n, CHUNK_TOKENS):
        hi = min(n, lo + CHUNK_TOKENS)
        act = bias.expand(hi - lo, -1).clone()  # (m, F)
        for j in range(width):
            act += table[j][tokens[lo + j : hi + j]]  # (m, F)
        act[~valid[lo:hi] | (act <= 0).all(dim=1)] = -torch.inf
        values, where = act.topk(min(top, hi - lo), dim=0)  # (t, F)
        merged = torch.cat([best_act, values])  # (T + t, F)
        starts = torch.cat([best_at, where + lo])  # (T + t, F)
        keep = merged.topk(min(top, len(merged)), dim=0).indices  # (T', F)
        best_act, best_at = merged.gather(0, keep), starts.gather(0, keep)
    return best_act.T.numpy(), best_at.T.numpy()


def filter_motifs(
    model: nn.Module, sequences: Sequence[str], top: int = 200, banks: Sequence[int] | None = None
) -> list[FilterMotif]:
    """Every first-layer filter's motif from its `top` highest positive-scoring windows in cleaned sequences.

    banks: which of filter_banks(model) to read (default: all).
    """
    TOP.check(top, "top")
    found = filter_banks(model)
    if not found:
        raise ConfigError(
            f"{type(model).__name__} has no convolutional first layer, so it has no filters to draw; "
            "choose a CNN, SolubilityNet, dual or ensemble model."
        )
    chosen = range(len(found)) if banks is None else banks
    for b in chosen:
        IntRange(0, len(found) - 1).check(b, "bank")
    vocab = int(found[0].embedding.num_embeddings)
    codes = [encode_numpy(s, vocab_size=vocab).astype(np.int64) for s in sequences]  # list of (L,)
    joined = "".join(sequences)
    motifs = []
    for bank in (found[b] for b in chosen):
        width = bank.conv.kernel_size[0]
        acts, starts = _scan(bank, codes, top) if codes else (np.empty((bank.conv.out_channels, 0)),) * 2
        weights = _table(bank)[:, torch.from_numpy(_STANDARD)].permute(2, 0, 1).numpy()  # (F, k, 20)
        for f in range(bank.conv.out_channels):
            keep = np.isfinite(acts[f]) & (acts[f] > 0)
            windows = [joined[int(s) : int(s) + width] for s in starts[f][keep]]
            kmers, counts, best = _distinct(windows, acts[f][keep])
            motifs.append(
                FilterMotif(
                    bank.label,
                    f,
                    width,
                    _pfm(windows, width),
                    weights[f].astype(np.float64),
                    kmers,
                    best,
                    counts,
                    len(windows),
                )
            )
    return motifs


def _distinct(windows: list[str], acts: np.ndarray) -> tuple[list[str], list[int], list[float]]:
    """The distinct windows, best first, with how often each is among the top and its activation."""
    counts: dict[str, int] = {}
    best: dict[str, float] = {}
    for window, act in zip(windows, acts):
        counts[window] = counts.get(window, 0) + 1
        best.setdefault(window, float(act))
    return list(counts), list(counts.values()), list(best.values())


def _pfm(kmers: Sequence[str], width: int) -> np.ndarray:
    """Position frequency matrix of windows made of the 20 residues (uniform if there are none).  # (k, 20)"""
    if not kmers:
        return np.full((width, len(AMINO_ACIDS)), 1.0 / len(AMINO_ACIDS))
    letters = np.frombuffer("".join(kmers).encode(), dtype=np.uint8).reshape(len(kmers), width)  # (N, k)
    alphabet = np.frombuffer(AMINO_ACIDS.encode(), dtype=np.uint8)  # (20,)
    counts = (letters[:, :, None] == alphabet[None, None, :]).sum(axis=0)  # (k, 20)
    return counts / len(kmers)


def motif_logos_png(motifs: Sequence[FilterMotif], columns: int = 3, dpi: int = 100) -> bytes:
    """A grid of information-content sequence logos (logomaker), one per motif, as PNG bytes."""
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    if not motifs:
        raise ConfigError("motif_logos_png needs at least one motif; got none.")
    rows = -(-len(motifs) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.1 * rows), squeeze=False)
    for ax in axes.flat[len(motifs) :]:
        ax.axis("off")
    for ax, motif in zip(axes.flat, motifs):
        frame = pd.DataFrame(motif.pfm, columns=list(AMINO_ACIDS))
        info = logomaker.transform_matrix(frame, from_type="probability", to_type="information")
        with warnings.catch_warnings():  # a filter that never fires has an all-zero logo
            warnings.simplefilter("ignore", UserWarning)
            logomaker.Logo(info, ax=ax, color_scheme="chemistry", font_name="DejaVu Sans")
        ax.set_ylim(0, np.log2(len(AMINO_ACIDS)))
        ax.set_xticks(range(motif.width), [str(i + 1) for i in range(motif.width)], fontsize=10)
        ax.set_ylabel("bits", fontsize=10)
        ax.tick_params(axis="y", labelsize=9)
        ax.set_title(f"Filter {motif.index + 1}  (top score {motif.max_activation:.2f})", fontsize=12)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()
