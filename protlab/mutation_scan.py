"""Exact P(soluble) of many single-substitution mutants of one protein, recomputing only what changes.

A substitution at position p changes a convolution's output only within its reach of p: a stack of n
Conv1d layers of half-width h changes the last layer's outputs at p - n*h .. p + n*h, and those depend on
the tokens p - 2*n*h .. p + 2*n*h. So each mutant runs the convolutions on a short window around p and
corrects the wild type's pooled features:

    mean: (wild-type sum - old window sum + new window sum) / L
    max:  max(wild-type max outside the window, new window max)

Everything else (global statistics, the output layer) runs on the mutant as the model would run it. A
CompositionNet or BoostedTrees has no convolution: it reads only counts of the whole mutant, cheap enough
to run in full. The models this knows: SolubilityCNN, SolubilityNet without a mixing layer, CompositionNet,
BoostedTrees, and ensembles of them (with their member weights); `scanner_for` returns None for any other
model, and the caller runs the full model instead.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.models.boosted_trees import BoostedTrees
from protlab.models.cnn import SolubilityCNN
from protlab.models.composition import CompositionNet
from protlab.models.ensemble import EnsembleModel
from protlab.models.solubility_net import SolubilityNet, sequence_stats
from protlab.training.device import model_device

__all__ = ["MutantScanner", "is_kind", "scanner_for"]


class _ConvStack:
    """Embedding -> Conv1d (ReLU, zero outside the protein) layers, on windows or on the whole protein."""

    def __init__(self, embedding: nn.Embedding, convs: list[nn.Conv1d], wild_type: torch.Tensor):
        self.weight = embedding.weight  # (V, E)
        self.convs = convs
        self.halves = [c.kernel_size[0] // 2 for c in convs]
        self.reach = sum(self.halves)  # outputs this far from a substitution change
        self.length = len(wild_type)
        padded = F.pad(wild_type, (self.reach, self.reach))  # (L + 2*reach,)
        full = self._run(padded[None], self._valid(torch.tensor([-self.reach]), len(padded)))[0]  # (H, L)
        self.total = full.double().sum(dim=1)  # (H,) wild-type sum over positions
        self.cumsum = F.pad(full.double().cumsum(dim=1), (1, 0))  # (H, L + 1)
        self.prefix_max = full.cummax(dim=1).values  # (H, L) max over positions 0..j
        self.suffix_max = full.flip(1).cummax(dim=1).values.flip(1)  # (H, L) max over positions j..L-1
        self.windows = F.pad(wild_type.cpu(), (2 * self.reach, 2 * self.reach))  # (L + 4*reach,) on the CPU

    def _valid(self, starts: torch.Tensor, width: int) -> torch.Tensor:
        """1 where a window position lies inside the protein.  # (B, W) float32"""
        pos = starts[:, None] + torch.arange(width)[None, :]  # (B, W) protein positions
        return ((pos >= 0) & (pos < self.length)).float().to(self.weight.device)

    def _run(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Last-layer activations at positions every layer could see in full.  # (B, H, W - 2*reach)"""
        x = (F.embedding(tokens, self.weight) * valid[..., None]).transpose(1, 2)  # (B, E, W)
        for conv, h in zip(self.convs, self.halves):
            x = F.relu(F.conv1d(x, conv.weight, conv.bias))  # (B, H, W') no padding: only exact outputs
            valid = valid[:, h : valid.shape[1] - h]  # (B, W')
            x = x * valid[:, None, :]  # the model's zero padding outside the protein
        return x

    def local(self, positions: torch.Tensor, residues: torch.Tensor) -> torch.Tensor:
        """Mutant activations at positions - reach .. positions + reach.  # (B, H, 2*reach + 1)"""
        width = 4 * self.reach + 1
        index = positions[:, None] + torch.arange(width)[None, :]  # (B, W) into self.windows
        tokens = self.windows[index]  # (B, W)
        tokens[:, 2 * self.reach] = residues
        return self._run(tokens.to(self.weight.device), self._valid(positions - 2 * self.reach, width))

    def pooled(self, positions: torch.Tensor, residues: torch.Tensor, with_max: bool) -> list[torch.Tensor]:
        """[max (if asked), mean] of the mutants' activations over the whole protein.  # 1-2 x (B, H)"""
        new = self.local(positions, residues)  # (B, H, 2*reach + 1)
        lo = (positions - self.reach).clamp(min=0).to(self.weight.device)  # (B,)
        hi = (positions + self.reach + 1).clamp(max=self.length).to(self.weight.device)  # (B,)
        old_sum = (self.cumsum[:, hi] - self.cumsum[:, lo]).T  # (B, H)
        mean = ((self.total - old_sum + new.double().sum(dim=2)) / self.length).float()  # (B, H)
        if not with_max:
            return [mean]
        zero = torch.zeros_like(self.prefix_max[:, :1])  # (H, 1): ReLU outputs are never below 0
        before = torch.cat([zero, self.prefix_max], dim=1)[:, lo]  # (H, B) max over 0..lo-1
        after = torch.cat([self.suffix_max, zero], dim=1)[:, hi]  # (H, B) max over hi..L-1
        outside = torch.maximum(before, after).T  # (B, H)
        return [torch.maximum(outside, new.amax(dim=2)), mean]


class _CNNScan:
    """SolubilityCNN: one stack of every convolution, masked mean pooling, fc."""

    def __init__(self, model: SolubilityCNN, wild_type: torch.Tensor):
        self.model = model
        self.stack = _ConvStack(model.embedding, [getattr(model, n) for n in model.conv_names], wild_type)

    def logits(
        self, positions: torch.Tensor, residues: torch.Tensor, _tokens: torch.Tensor, _shared: dict
    ) -> torch.Tensor:
        """Mutant logits.  # (B, C)"""
        return self.model.fc(self.stack.pooled(positions, residues, with_max=False)[0])


class _NetScan:
    """SolubilityNet: global statistics of the whole mutant, plus one stack per filter width."""

    def __init__(self, model: SolubilityNet, wild_type: torch.Tensor):
        self.model = model
        convs = list(model.convs) if model.config.use_motifs else []
        self.stacks = [_ConvStack(model.embedding, [c], wild_type) for c in convs]
        c, onehot = model.config, model.residue_onehot.weight
        # members with the same statistics settings share the (costly) raw statistics of a batch
        self.stats_key = (c.vocab_size, c.terminal_window, c.use_dipeptides, tuple(onehot.flatten().tolist()))

    def raw_stats(self, tokens: torch.Tensor, shared: dict) -> torch.Tensor:
        """Unstandardised statistics of the mutants, computed once per batch and setting.  # (B, S)"""
        if self.stats_key not in shared:
            m, c = self.model, self.model.config
            tokens = tokens.to(m.stat_mean.device).clamp(0, c.vocab_size - 1)  # (B, L)
            mask = torch.ones(tokens.shape, dtype=m.stat_mean.dtype, device=tokens.device)  # (B, L)
            shared[self.stats_key] = sequence_stats(m.residue_onehot(tokens), mask, c)
        return shared[self.stats_key]

    def logits(
        self, positions: torch.Tensor, residues: torch.Tensor, tokens: torch.Tensor, shared: dict
    ) -> torch.Tensor:
        """Mutant logits, the statistics branch computed as SolubilityNet.forward does.  # (B, 2)"""
        m, c = self.model, self.model.config
        stats = (self.raw_stats(tokens, shared) - m.stat_mean) / m.stat_std  # (B, S)
        if c.stat_clip:
            stats = stats.clamp(-c.stat_clip, c.stat_clip)
        parts = [stats]
        for stack in self.stacks:
            parts += stack.pooled(positions, residues, with_max=True)  # max, mean: 2 x (B, H)
        return m.head(torch.cat(parts, dim=1))  # (B, 2)


class _WholeScan:
    """CompositionNet or BoostedTrees: statistics of the whole mutant (no convolution to localise), then
    the head or the trees."""

    def __init__(self, model: CompositionNet | BoostedTrees):
        self.model = model

    def logits(
        self, _positions: torch.Tensor, _residues: torch.Tensor, tokens: torch.Tensor, _shared: dict
    ) -> torch.Tensor:
        """Mutant logits, exactly the model's forward on the mutant tokens.  # (B, 2)"""
        return self.model(tokens)


_MemberScan = _CNNScan | _NetScan | _WholeScan  # what one ensemble member's scan provides


class MutantScanner:
    """P(soluble) of single-substitution mutants of one wild type, exact, from local recomputation."""

    def __init__(self, members: list[_MemberScan], wild_type: torch.Tensor, weights: torch.Tensor):
        self.members = members
        self.wild_type = wild_type  # (L,) int64
        self.weights = weights  # (M,) float32 each member's share of the average, summing to 1

    @torch.inference_mode()
    def probabilities(self, positions: torch.Tensor, residues: torch.Tensor) -> torch.Tensor:
        """P(soluble) with residues[i] at 0-based positions[i] (the ensemble's weighted mean).  # (B,)"""
        tokens = self.wild_type.expand(len(positions), -1).clone()  # (B, L)
        tokens[torch.arange(len(positions)), positions] = residues
        shared: dict = {}  # what members with equal settings compute once for this batch
        probs = [
            torch.softmax(m.logits(positions, residues, tokens, shared).float(), dim=1)[:, 1]
            for m in self.members
        ]
        return (self.weights.to(probs[0].device) @ torch.stack(probs)).cpu()  # (M,) @ (M, B) -> (B,)


def is_kind(model: nn.Module, cls: type) -> bool:
    """True if model's class is cls, also after a development server re-imported cls's module."""
    kind = type(model)
    return kind is cls or (kind.__module__ == cls.__module__ and kind.__qualname__ == cls.__qualname__)


def _member_scan(model: nn.Module, wild_type: torch.Tensor) -> _MemberScan | None:
    """The scan of one plain model, or None when its layers are not the ones this module knows."""
    if is_kind(model, SolubilityCNN):
        return _CNNScan(model, wild_type)
    if is_kind(model, SolubilityNet) and not model.config.mix_channels:
        return _NetScan(model, wild_type)
    if is_kind(model, CompositionNet) or is_kind(model, BoostedTrees):
        return _WholeScan(model)
    return None


@torch.inference_mode()
def scanner_for(model: nn.Module, wild_type: torch.Tensor) -> MutantScanner | None:
    """A MutantScanner for model (eval mode) and wild-type tokens (L,) int64, or None if not supported."""
    if model.training:
        return None
    members = list(model.members) if is_kind(model, EnsembleModel) else [model]
    weights = model.member_weights() if is_kind(model, EnsembleModel) else torch.ones(1)  # (M,)
    wild_type = wild_type.to(torch.int64)
    device = model_device(model)
    scans = [_member_scan(m, wild_type.to(device)) for m in members]
    if any(s is None for s in scans):
        return None
    return MutantScanner(scans, wild_type, weights)
