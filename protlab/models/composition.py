"""CompositionNet: logistic regression (or one hidden layer) over sequence statistics, an ensemble member.

Everything is computed inside forward from the tokens, so prediction needs no feature code:

- residue composition (20 fractions) and log length;
- the residue composition of the first and last ``terminal_window`` residues (2 x 20 fractions);
- which residue sits at each of the first and last ``terminal_positions`` positions (2 x p x 20 one-hot
  columns): expression constructs (His tags, start codons) leave their mark there;
- optionally a reduced alphabet (``groups``, by default the seven physico-chemical classes of the conjoint
  triad: AGV, ILFP, YMTS, HNQW, RK, DE, C) and its 1- and 2-mer spectra (7 + 49 fractions);
- optionally the dipeptide composition of the 20 residues (400 fractions).

The statistics are standardised with buffers (``stat_mean``, ``stat_std``) fitted on the training rows
and saved in the checkpoint, then read by a linear layer (or a small MLP) that outputs (B, 2) logits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from protlab.alphabet import AMINO_ACIDS, PAD_INDEX, VOCAB_SIZE
from protlab.checks import Choice, Flag, FloatRange, IntRange, check_fields, setting
from protlab.errors import ConfigError
from protlab.models.cnn import DROPOUT

if TYPE_CHECKING:
    from protlab.data.batching import TokenizedSet

CONJOINT_TRIAD_GROUPS = ("AGV", "ILFP", "YMTS", "HNQW", "RK", "DE", "C")  # Shen et al. (2007) classes
FIT_TOKEN_BUDGET = 1 << 18  # padded tokens per chunk when fitting the standardiser on the training rows


@dataclass
class CompositionNetConfig:
    """Settings of CompositionNet; plain values so the config can live in a checkpoint."""

    vocab_size: int = setting(VOCAB_SIZE, Choice((VOCAB_SIZE,), note="padding + 20 residues + unknown"))
    terminal_window: int = setting(25, IntRange(1, 1024))  # residues counted as the N- or C-terminus
    terminal_positions: int = setting(5, IntRange(0, 64))  # first/last residues read one position each
    use_groups: bool = setting(False, Flag())  # add the reduced alphabet's 1- and 2-mer spectra
    groups: tuple[str, ...] = CONJOINT_TRIAD_GROUPS  # reduced alphabet: disjoint residue classes
    use_dipeptides: bool = setting(False, Flag())  # add the 400 dipeptide fractions of the 20 residues
    hidden_dim: int = setting(0, IntRange(0, 1024, note="0 is logistic regression"))  # hidden units
    dropout: float = setting(0.0, DROPOUT)  # dropout on the standardised statistics while training
    stat_clip: float = setting(4.0, FloatRange(0, 1e6, note="0 turns clipping off"))  # clamp at +-this SD
    num_classes: int = setting(2, Choice((2,), note="insoluble, soluble"))  # output logits

    def __post_init__(self) -> None:
        """Turn a JSON list into a tuple and check every field."""
        self.groups = tuple(str(g) for g in self.groups)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError for any value outside its allowed range."""
        check_fields(self)
        letters = "".join(self.groups)
        if not self.groups or any(not g for g in self.groups) or len(set(letters)) != len(letters):
            raise ConfigError(
                f"groups must be non-empty, disjoint strings of residue letters; got {list(self.groups)}."
            )
        if not set(letters) <= set(AMINO_ACIDS):
            raise ConfigError(
                f"groups may only hold the 20 standard residues {AMINO_ACIDS}; got {list(self.groups)}."
            )

    def to_dict(self) -> dict:
        """Plain-dict form for checkpoints (tuples become lists)."""
        out = asdict(self)
        out["groups"] = list(self.groups)
        return out


def stat_dim(config: CompositionNetConfig) -> int:
    """Number of statistics the model computes from tokens."""
    g, a = len(config.groups), len(AMINO_ACIDS)
    groups = g + g * g if config.use_groups else 0
    return 3 * a + 2 * config.terminal_positions * a + 1 + groups + (a * a if config.use_dipeptides else 0)


def group_table(config: CompositionNetConfig) -> torch.Tensor:
    """(V, G) float32 one-hot class of every token; padding, unknown and ungrouped residues are all zero."""
    table = torch.zeros(config.vocab_size, len(config.groups))
    for g, letters in enumerate(config.groups):
        for letter in letters:
            table[AMINO_ACIDS.index(letter) + 1, g] = 1.0  # token i + 1 is AMINO_ACIDS[i]
    return table


def _fractions(onehot: torch.Tensor) -> torch.Tensor:
    """(B, L, K) one-hot rows -> (B, K) fractions among the rows that belong to any class."""
    counts = onehot.sum(dim=1)  # (B, K)
    return counts / counts.sum(dim=1, keepdim=True).clamp(min=1.0)


def _pair_fractions(onehot: torch.Tensor) -> torch.Tensor:
    """(B, L, K) one-hot rows -> (B, K*K) fractions of adjacent pairs (i then j) among counted pairs."""
    pairs = torch.bmm(onehot[:, :-1].transpose(1, 2), onehot[:, 1:]).flatten(1)  # (B, K*K)
    return pairs / pairs.sum(dim=1, keepdim=True).clamp(min=1.0)


def sequence_stats(
    tokens: torch.Tensor, mask: torch.Tensor, table: torch.Tensor, config: CompositionNetConfig
) -> torch.Tensor:
    """Composition, terminal composition and residues, log length (and reduced alphabet, dipeptides).
    tokens (B, L) int64 in [0, V), mask (B, L) float32, table (V, G) -> (B, stat_dim) float32."""
    residues = nn.functional.one_hot(tokens, config.vocab_size).to(mask.dtype) * mask.unsqueeze(
        -1
    )  # (B, L, V)
    residues = residues[:, :, 1 : len(AMINO_ACIDS) + 1]  # (B, L, 20) the standard residues only
    length = mask.sum(dim=1, keepdim=True).clamp(min=1.0)  # (B, 1)
    pos = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0)  # (1, L)
    w = config.terminal_window
    n_win = ((pos < w).to(mask.dtype) * mask).unsqueeze(-1)  # (B, L, 1) first w residues
    c_win = ((pos >= length - w).to(mask.dtype) * mask).unsqueeze(-1)  # (B, L, 1) last w residues
    parts = [_fractions(residues), _fractions(residues * n_win), _fractions(residues * c_win)]  # 3 x (B, 20)
    p = config.terminal_positions
    if p:
        padded = nn.functional.pad(residues, (0, 0, 0, p))  # (B, L + p, 20) short sequences read zeros
        last = (length.long() - 1 - torch.arange(p, device=mask.device)).clamp(min=-1)  # (B, p) from the end
        rows = torch.arange(residues.shape[0], device=mask.device).unsqueeze(1)  # (B, 1)
        parts += [padded[:, :p].flatten(1), padded[rows, last].flatten(1)]  # 2 x (B, p*20)
    parts.append(torch.log(length))  # (B, 1)
    if config.use_groups:
        classes = residues @ table[1 : len(AMINO_ACIDS) + 1]  # (B, L, G)
        parts += [_fractions(classes), _pair_fractions(classes)]  # (B, G), (B, G*G)
    if config.use_dipeptides:
        parts.append(_pair_fractions(residues))  # (B, 400)
    return torch.cat(parts, dim=1)  # (B, stat_dim)


def token_stats(
    tokens: torch.Tensor, mask: torch.Tensor | None, table: torch.Tensor, config: CompositionNetConfig, dtype
) -> torch.Tensor:
    """sequence_stats of tokens (B, L) int64 with mask (B, L) (None: every non-padding token), computed on
    table's device in dtype; stray token indices are clamped into the vocabulary.  # (B, S)"""
    tokens = tokens.to(table.device)
    mask = (tokens != PAD_INDEX) if mask is None else mask.to(table.device)
    mask = mask.to(dtype)
    tokens = tokens.clamp(0, config.vocab_size - 1)  # (B, L) stray indices never pass the table
    return sequence_stats(tokens, mask, table.to(dtype), config)


def training_row_stats(stats: Callable, train: TokenizedSet) -> tuple[np.ndarray, torch.Tensor]:
    """stats(tokens, mask) of every training row, in length-sorted chunks: the row order (N,) and (N, S)."""
    from protlab.data.batching import make_batch, sorted_batch_indices

    groups = sorted_batch_indices(train.lengths, batch_size=len(train), token_budget=FIT_TOKEN_BUDGET)
    values = torch.cat([stats(b.tokens, b.mask) for b in (make_batch(train, r) for r in groups)])
    return np.concatenate(groups), values


class CompositionNet(nn.Module):
    """Standardised sequence statistics -> linear layer (or one hidden layer) -> (B, 2) logits."""

    uses_features = False  # everything is computed from the tokens
    feature_names: tuple[str, ...] = ()  # no global features

    def __init__(self, config: CompositionNetConfig | None = None):
        super().__init__()
        self.config = config or CompositionNetConfig()
        c = self.config
        n_stats = stat_dim(c)
        self.register_buffer("group_table", group_table(c), persistent=False)  # (V, G) from the config
        self.register_buffer("stat_mean", torch.zeros(n_stats))  # (S,) fitted on training data
        self.register_buffer("stat_std", torch.ones(n_stats))  # (S,) fitted on training data
        self.dropout = nn.Dropout(c.dropout)
        if c.hidden_dim:
            self.head = nn.Sequential(nn.Linear(n_stats, c.hidden_dim), nn.ReLU(), nn.Linear(c.hidden_dim, 2))
        else:
            self.head = nn.Linear(n_stats, c.num_classes)

    @property
    def vocab_size(self) -> int:
        """Number of token indices the model accepts."""
        return self.config.vocab_size

    def stats(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Unstandardised statistics of tokens (B, L) int64 with mask (B, L) float32.  # (B, S) float32"""
        return token_stats(tokens, mask, self.group_table, self.config, self.stat_mean.dtype)

    @torch.no_grad()
    def fit_training_rows(self, train: TokenizedSet) -> None:
        """Fit stat_mean/stat_std on every training row (length-sorted chunks); constant ones get std 1."""
        _, stats = training_row_stats(self.stats, train)  # (N, S), any row order
        std = stats.std(dim=0)  # (S,)
        self.stat_mean.copy_(stats.mean(dim=0))
        self.stat_std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, L) int64, mask (B, L) float32 -> logits (B, 2)."""
        z = (self.stats(tokens, mask) - self.stat_mean) / self.stat_std  # (B, S)
        if self.config.stat_clip:
            z = z.clamp(-self.config.stat_clip, self.config.stat_clip)  # (B, S)
        return self.head(self.dropout(z))  # (B, 2)


def register() -> None:
    """Register kind "composition" with protlab.models (safe to call more than once)."""
    from protlab.models import register_model

    register_model("composition", CompositionNetConfig, CompositionNet)


register()
