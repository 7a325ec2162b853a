"""SolubilityNet: a small multi-kernel CNN plus global sequence statistics, for the default model.

Two branches read the same token tensor:

- a motif branch: embedding -> parallel Conv1d filters of several widths -> masked max and mean pooling;
- a statistics branch, computed inside forward from the tokens so prediction needs no extra feature code:
  residue composition, dipeptide composition, N- and C-terminal composition and log length, standardised
  with buffers (``stat_mean``, ``stat_std``) that are fitted on training data and saved in the checkpoint.

Both are concatenated and read by one linear layer that outputs (B, 2) logits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from protlab.alphabet import PAD_INDEX, VOCAB_SIZE
from protlab.checks import Choice, Flag, FloatRange, IntRange, check_fields, setting
from protlab.errors import ConfigError
from protlab.models.cnn import DROPOUT, KERNEL_SIZE, VOCAB_SIZES
from protlab.models.fused_conv import embed_conv_lookup, plain_inference

if TYPE_CHECKING:
    from protlab.data.batching import TokenizedSet

FIT_TOKEN_BUDGET = 1 << 18  # padded tokens per chunk when fitting the standardiser on the training rows


@dataclass
class SolubilityNetConfig:
    """Settings of SolubilityNet; every field is a plain int/float/tuple so it can live in a checkpoint."""

    vocab_size: int = setting(VOCAB_SIZE, VOCAB_SIZES)  # tokens (22: padding + 20 residues + unknown)
    embed_dim: int = setting(32, IntRange(1, 1024))  # size of the learned vector per residue
    kernel_sizes: tuple[int, ...] = (3, 5, 9)  # widths of the parallel convolution filters (odd, 1 to 31)
    channels: int = setting(32, IntRange(1, 1024))  # filters per kernel width
    # 0: pool the filter bank; >0: a second Conv1d (width mix_kernel) mixes it first
    mix_channels: int = setting(0, IntRange(0, 1024, note="0 means no mixing layer"))
    mix_kernel: int = setting(5, IntRange(1, 31, odd=True))  # width of that second convolution (odd)
    terminal_window: int = setting(25, IntRange(1, 1024))  # residues counted as the N- or C-terminus
    use_motifs: bool = setting(True, Flag())  # include the convolutional motif branch
    use_dipeptides: bool = setting(True, Flag())  # include dipeptide composition in the statistics branch
    dropout: float = setting(0.3, DROPOUT)  # dropout before the output layer
    # clamp standardised statistics to +-stat_clip standard deviations (tames very short or odd sequences)
    stat_clip: float = setting(0.0, FloatRange(0, 1e6, note="0 turns clipping off"))
    num_classes: int = setting(2, Choice((2,), note="insoluble, soluble"))  # output logits

    def __post_init__(self) -> None:
        """Turn a JSON list into a tuple and check every field."""
        self.kernel_sizes = tuple(int(k) for k in self.kernel_sizes)
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError for any value outside its allowed range."""
        check_fields(self)
        if not self.kernel_sizes or not all(KERNEL_SIZE.ok(k) for k in self.kernel_sizes):
            raise ConfigError(
                f"kernel_sizes must be a non-empty list of odd integers from 1 to 31; "
                f"got {list(self.kernel_sizes)}."
            )

    def to_dict(self) -> dict:
        """Plain-dict form for checkpoints (tuples become lists)."""
        out = asdict(self)
        out["kernel_sizes"] = list(self.kernel_sizes)
        return out


def stat_dim(config: SolubilityNetConfig) -> int:
    """Number of global statistics the model computes from tokens."""
    v = config.vocab_size
    return 3 * v + (v * v if config.use_dipeptides else 0) + 1


def sequence_stats(onehot: torch.Tensor, mask: torch.Tensor, config: SolubilityNetConfig) -> torch.Tensor:
    """Composition, terminal composition, dipeptide composition and log length from one-hot residues."""
    onehot = onehot * mask.unsqueeze(-1)  # (B, L, V) padding rows zeroed
    length = mask.sum(dim=1, keepdim=True).clamp(min=1.0)  # (B, 1)
    comp = onehot.sum(dim=1) / length  # (B, V)
    pos = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0)  # (1, L)
    w = config.terminal_window
    n_win = (pos < w).to(mask.dtype) * mask  # (B, L) first w residues
    c_win = (pos >= length - w).to(mask.dtype) * mask  # (B, L) last w residues
    n_comp = torch.bmm(n_win.unsqueeze(1), onehot).squeeze(1) / n_win.sum(1, keepdim=True).clamp(
        min=1.0
    )  # (B, V)
    c_comp = torch.bmm(c_win.unsqueeze(1), onehot).squeeze(1) / c_win.sum(1, keepdim=True).clamp(
        min=1.0
    )  # (B, V)
    parts = [comp, n_comp, c_comp]
    if config.use_dipeptides:
        pairs = torch.bmm(
            onehot[:, :-1].transpose(1, 2), onehot[:, 1:]
        )  # (B, V, V) counts of residue i then j
        n_pairs = (mask[:, 1:] * mask[:, :-1]).sum(dim=1, keepdim=True).clamp(min=1.0)  # (B, 1)
        parts.append(pairs.flatten(1) / n_pairs)  # (B, V*V)
    parts.append(torch.log(length))
    return torch.cat(parts, dim=1)  # (B, stat_dim)


def count_stats(
    tokens: torch.Tensor, mask: torch.Tensor, onehot: torch.Tensor, config: SolubilityNetConfig
) -> torch.Tensor:
    """sequence_stats from residue and residue-pair counts instead of (B, L, V) one-hot rows.  # (B, S)

    The sums over positions of one-hot rows are counts per token times the one-hot table (V, V); with the
    frozen identity table every count is a whole number and the product is exact, so the statistics equal
    sequence_stats' (up to float summation order) at a fraction of the memory traffic.
    """
    batch, length_max = tokens.shape
    v = config.vocab_size
    length = mask.sum(dim=1, keepdim=True).clamp(min=1.0)  # (B, 1)
    pos = torch.arange(length_max, device=mask.device).unsqueeze(0)  # (1, L)
    w = config.terminal_window
    n_win = (pos < w).to(mask.dtype) * mask  # (B, L) first w residues
    c_win = (pos >= length - w).to(mask.dtype) * mask  # (B, L) last w residues
    weights = torch.stack([mask, n_win * mask, c_win * mask], dim=1)  # (B, 3, L) as sequence_stats weighs
    index = tokens.unsqueeze(1).expand(batch, 3, length_max)  # (B, 3, L)
    counts = weights.new_zeros(batch, 3, v).scatter_add_(2, index, weights) @ onehot  # (B, 3, V)
    totals = torch.cat([length, n_win.sum(1, keepdim=True), c_win.sum(1, keepdim=True)], dim=1)  # (B, 3)
    comps = counts / totals.clamp(min=1.0).unsqueeze(2)  # (B, 3, V): all, N-terminal, C-terminal
    parts = [comps.flatten(1)]
    if config.use_dipeptides:
        pair_index = tokens[:, :-1] * v + tokens[:, 1:]  # (B, L - 1) residue i then j, as i * V + j
        pair_weight = mask[:, :-1] * mask[:, 1:]  # (B, L - 1)
        pairs = mask.new_zeros(batch, v * v).scatter_add_(1, pair_index, pair_weight).view(batch, v, v)
        pairs = onehot.t() @ pairs @ onehot  # (B, V, V)
        n_pairs = pair_weight.sum(dim=1, keepdim=True).clamp(min=1.0)  # (B, 1)
        parts.append(pairs.flatten(1) / n_pairs)  # (B, V*V)
    parts.append(torch.log(length))
    return torch.cat(parts, dim=1)  # (B, stat_dim)


class SolubilityNet(nn.Module):
    """Multi-kernel CNN (motifs) + standardised global statistics -> (B, 2) solubility logits."""

    uses_features = False  # everything is computed from the tokens
    feature_names: tuple[str, ...] = ()  # no global features

    def __init__(self, config: SolubilityNetConfig | None = None):
        super().__init__()
        self.config = config or SolubilityNetConfig()
        c = self.config
        n_stats = stat_dim(c)
        self.register_buffer("stat_mean", torch.zeros(n_stats))  # (S,) fitted on training data
        self.register_buffer("stat_std", torch.ones(n_stats))  # (S,) fitted on training data
        # a frozen identity embedding: one-hot residues whose output gradient-x-input attribution can read
        self.residue_onehot = nn.Embedding(c.vocab_size, c.vocab_size, padding_idx=PAD_INDEX)
        with torch.no_grad():
            self.residue_onehot.weight.copy_(torch.eye(c.vocab_size))
            self.residue_onehot.weight[PAD_INDEX] = 0.0
        self.residue_onehot.weight.requires_grad_(False)
        width = n_stats
        if c.use_motifs:
            self.embedding = nn.Embedding(c.vocab_size, c.embed_dim, padding_idx=PAD_INDEX)
            self.convs = nn.ModuleList(
                nn.Conv1d(c.embed_dim, c.channels, k, padding=k // 2) for k in c.kernel_sizes
            )
            bank = c.channels * len(c.kernel_sizes)
            if c.mix_channels:
                self.mix = nn.Conv1d(bank, c.mix_channels, c.mix_kernel, padding=c.mix_kernel // 2)
            width += 2 * (c.mix_channels or bank)
        self.dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(width, c.num_classes)

    @property
    def vocab_size(self) -> int:
        """Number of token indices the model accepts."""
        return self.config.vocab_size

    @torch.no_grad()
    def _raw_stats(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unstandardised statistics of tokens (B, L) int64 with mask (B, L) float32.  # (B, S) float32"""
        tokens, mask = tokens.to(self.stat_mean.device), mask.to(self.stat_mean.device)
        onehot = self.residue_onehot(tokens.clamp(0, self.config.vocab_size - 1))  # (B, L, V)
        return sequence_stats(onehot, mask, self.config)

    @torch.no_grad()
    def _set_standardizer(self, stats: torch.Tensor) -> None:
        """stat_mean/stat_std from training statistics (N, S); constant statistics get std 1."""
        std = stats.std(dim=0)  # (S,)
        self.stat_mean.copy_(stats.mean(dim=0))
        self.stat_std.copy_(torch.where(std > 1e-6, std, torch.ones_like(std)))

    def fit_standardizer(self, tokens: torch.Tensor, mask: torch.Tensor) -> None:
        """Set stat_mean/stat_std from a batch of training sequences (constant statistics get std 1)."""
        self._set_standardizer(self._raw_stats(tokens, mask))

    def fit_training_rows(self, train: TokenizedSet) -> None:
        """Fit the standardiser on every training row, read in length-sorted chunks (bounded memory)."""
        from protlab.data.batching import make_batch, sorted_batch_indices

        groups = sorted_batch_indices(train.lengths, batch_size=len(train), token_budget=FIT_TOKEN_BUDGET)
        batches = (make_batch(train, rows) for rows in groups)
        self._set_standardizer(torch.cat([self._raw_stats(b.tokens, b.mask) for b in batches]))  # (N, S)

    def motif_features(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked max and mean over the sequence of every filter (of the mixing layer, if there is one)."""
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, L)
        m = mask.unsqueeze(1)  # (B, 1, L)
        maps = [F.relu(conv(x)) for conv in self.convs]  # K x (B, C, L)
        if self.config.mix_channels:
            bank = (
                torch.cat(maps, dim=1) * m
            )  # (B, K*C, L); padding zeroed so it cannot leak into real positions
            maps = [F.relu(self.mix(bank))]  # 1 x (B, M, L)
        length = m.sum(dim=2).clamp(min=1.0)  # (B, 1)
        pooled = []
        for h in maps:
            h = h * m  # (B, H, L); ReLU >= 0, so zeroed padding never wins the max
            pooled += [h.amax(dim=2), h.sum(dim=2) / length]  # 2 x (B, H)
        return torch.cat(pooled, dim=1)  # (B, 2 * sum of H)

    def lookup_motif_features(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """motif_features with the filter bank read from embed_conv_lookup (inference: no hooks see it)."""
        c = self.config
        layers = [(self.embedding.weight, conv.weight, conv.bias) for conv in self.convs]
        m = mask.unsqueeze(2)  # (B, L, 1)
        h = embed_conv_lookup(tokens, layers).relu_().mul_(m)  # (B, L, K*C); zeroed padding never wins
        if c.mix_channels:
            h = F.relu(self.mix(h.transpose(1, 2))).transpose(1, 2) * m  # (B, L, M)
        width = c.mix_channels or c.channels  # filters per pooled map
        length = m.sum(dim=1).clamp(min=1.0)  # (B, 1)
        top = h.amax(dim=1).view(len(h), -1, width)  # (B, maps, H)
        mean = (h.sum(dim=1) / length).view(len(h), -1, width)  # (B, maps, H)
        return torch.stack([top, mean], dim=2).flatten(1)  # (B, 2 * sum of H): max then mean per map

    @staticmethod
    def can_stack(members: list[SolubilityNet], tokens: torch.Tensor) -> bool:
        """Same-config members run stacked unless a mixing layer follows the filter bank."""
        onehot = members[0].residue_onehot.weight
        same = all(torch.equal(m.residue_onehot.weight, onehot) for m in members)
        return same and not members[0].config.mix_channels

    @staticmethod
    def stacked_logits(
        members: list[SolubilityNet], tokens: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Inference logits of G same-config members in one pass (shared counts, one lookup).  # (G, B, 2)"""
        first, c = members[0], members[0].config
        if mask is None:
            mask = (tokens != PAD_INDEX).float()  # (B, L)
        mask = mask.to(first.stat_mean.dtype)
        tokens = tokens.clamp(0, c.vocab_size - 1)  # (B, L)
        raw = count_stats(tokens, mask, first.residue_onehot.weight, c)  # (B, S), the same for every member
        mean = torch.stack([m.stat_mean for m in members]).unsqueeze(1)  # (G, 1, S)
        std = torch.stack([m.stat_std for m in members]).unsqueeze(1)  # (G, 1, S)
        parts = [(raw - mean) / std]  # (G, B, S)
        if c.stat_clip:
            parts[0] = parts[0].clamp(-c.stat_clip, c.stat_clip)
        if c.use_motifs:
            layers = [(m.embedding.weight, conv.weight, conv.bias) for m in members for conv in m.convs]
            m = mask.unsqueeze(2)  # (B, L, 1)
            h = embed_conv_lookup(tokens, layers).relu_().mul_(m)  # (B, L, G*K*C)
            shape = (len(h), len(members), len(c.kernel_sizes), c.channels)
            top = h.amax(dim=1).view(shape)  # (B, G, K, C)
            avg = (h.sum(dim=1) / m.sum(dim=1).clamp(min=1.0)).view(shape)  # (B, G, K, C)
            parts.append(torch.stack([top, avg], dim=3).flatten(2).transpose(0, 1))  # (G, B, 2*K*C)
        weight = torch.stack([m.head.weight for m in members])  # (G, 2, W)
        bias = torch.stack([m.head.bias for m in members]).unsqueeze(1)  # (G, 1, 2)
        return torch.einsum("gbw,gcw->gbc", torch.cat(parts, dim=2), weight) + bias  # (G, B, 2)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (B, L) int64, mask (B, L) float32 -> logits (B, 2)."""
        if mask is None:
            mask = (tokens != PAD_INDEX).float()  # (B, L)
        mask = mask.to(self.stat_mean.dtype)
        tokens = tokens.clamp(
            0, self.config.vocab_size - 1
        )  # (B, L) int64; stray indices never pass the table
        fast = plain_inference(self)  # counts and table lookups: same numbers, much less work
        if fast:
            raw = count_stats(tokens, mask, self.residue_onehot.weight, self.config)  # (B, S)
        else:
            raw = sequence_stats(self.residue_onehot(tokens), mask, self.config)  # (B, S)
        stats = (raw - self.stat_mean) / self.stat_std  # (B, S)
        if self.config.stat_clip:
            stats = stats.clamp(-self.config.stat_clip, self.config.stat_clip)  # (B, S)
        parts = [stats]
        if self.config.use_motifs:
            parts.append(
                self.lookup_motif_features(tokens, mask) if fast else self.motif_features(tokens, mask)
            )
        return self.head(self.dropout(torch.cat(parts, dim=1)))  # (B, 2)


def build(config: dict | SolubilityNetConfig | None = None) -> SolubilityNet:
    """Build a SolubilityNet from a config dict (as stored in checkpoints) or a config object."""
    if isinstance(config, dict):
        known = set(SolubilityNetConfig.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(
                f"Unknown SolubilityNet setting(s) {unknown}; allowed settings are {sorted(known)}."
            )
        config = SolubilityNetConfig(**config)
    return SolubilityNet(config)


def register() -> None:
    """Register kind "solubility_net" with protlab.models (safe to call more than once)."""
    from protlab.models import register_model

    register_model("solubility_net", SolubilityNetConfig, SolubilityNet)


register()
