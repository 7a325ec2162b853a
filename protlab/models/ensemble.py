"""An ensemble that averages its members' predicted probabilities."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F

from protlab.errors import ConfigError
from protlab.models.cnn import SolubilityCNN
from protlab.models.fused_conv import embed_conv_lookup, plain_inference
from protlab.models.protocol import FitsTrainingRows

if TYPE_CHECKING:
    from protlab.data.batching import TokenizedSet

MAX_MEMBERS = 16  # most models one ensemble may hold, counting the members of nested ensembles
MAX_DEPTH = 2  # ensembles nested at most this deep (2: an ensemble of ensembles of plain models)


def _count_models(members: list, depth: int) -> int:
    """Plain models in a members list (nested ensembles opened); nesting deeper than MAX_DEPTH is refused."""
    total = 0
    for member in members:
        nested = isinstance(member, dict) and member.get("kind") == "ensemble"
        inner = member["config"].get("members") if nested and isinstance(member.get("config"), dict) else None
        if not isinstance(inner, list):
            total += 1
        elif depth >= MAX_DEPTH:
            raise ConfigError(
                f"Ensembles may be nested at most {MAX_DEPTH} deep (an ensemble of ensembles); "
                "this one nests them deeper."
            )
        else:
            total += _count_models(inner, depth + 1)
        if total > MAX_MEMBERS:
            break
    return total


def stacked_cnn_logits(members: list[SolubilityCNN], tokens: torch.Tensor, mask: torch.Tensor | None):
    """Logits of same-config SolubilityCNNs in one pass: their layers side by side as grouped convolutions.

    Exactly each member's forward in eval mode (up to float summation order): embedding + conv1 as one
    table lookup, every later Conv1d of the G members as one grouped conv that reads and writes channels-last
    memory (no layout copies), masked mean pooling, and the G output layers as one batched product.
    Returns (G, B, C) logits.
    """
    g, (batch, _) = len(members), tokens.shape
    first = [(m.embedding.weight, m.conv1.weight, m.conv1.bias) for m in members]
    x = embed_conv_lookup(tokens, first)  # (B, L, G*H) channels-last
    keep = None if mask is None else mask.to(x.dtype).unsqueeze(2)  # (B, L, 1)
    for name in members[0].conv_names[1:]:
        x = x.relu_() if keep is None else x.relu_().mul_(keep)  # dropout is off in eval mode
        convs = [getattr(m, name) for m in members]
        weight = torch.cat([c.weight for c in convs]).unsqueeze(2)  # (G*H, H, 1, k)
        bias = torch.cat([c.bias for c in convs])  # (G*H,)
        k = weight.shape[3]
        x = F.conv2d(
            x.transpose(1, 2).unsqueeze(2),  # (B, G*H, 1, L) viewing the channels-last memory
            weight.contiguous(memory_format=torch.channels_last),
            bias,
            padding=(0, k // 2),
            groups=g,
        )  # (B, G*H, 1, L)
        x = x.squeeze(2).transpose(1, 2)  # (B, L, G*H)
    x = x.relu()
    if mask is None:
        pooled = x.mean(dim=1)  # (B, G*H)
    else:
        mask = mask.to(x.dtype)  # (B, L)
        total = torch.bmm(mask.unsqueeze(1), x).squeeze(1)  # (B, G*H)
        pooled = total / mask.sum(dim=1, keepdim=True).clamp(min=1)  # (B, G*H)
    weight = torch.stack([m.fc.weight for m in members])  # (G, C, H)
    bias = torch.stack([m.fc.bias for m in members])  # (G, C)
    return torch.einsum("bgh,gch->gbc", pooled.view(batch, g, -1), weight) + bias.unsqueeze(1)  # (G, B, C)


def _stacked_cnn_ok(members: list[SolubilityCNN], tokens: torch.Tensor) -> bool:
    """Tokens inside the vocabulary (anything else goes to the members' own forward, which refuses it)."""
    vocab = members[0].config.vocab_size
    return tokens.numel() > 0 and int(tokens.min()) >= 0 and int(tokens.max()) < vocab


# member class -> (can these members run stacked on these tokens?, their stacked (G, B, C) logits);
# a class may instead define the static methods can_stack and stacked_logits itself
STACKED: dict[type, tuple[Callable, Callable]] = {SolubilityCNN: (_stacked_cnn_ok, stacked_cnn_logits)}


def _stacker(cls: type) -> tuple[Callable, Callable] | None:
    """How members of cls run stacked, or None when they only run one by one."""
    if cls in STACKED:
        return STACKED[cls]
    if hasattr(cls, "can_stack") and hasattr(cls, "stacked_logits"):
        return cls.can_stack, cls.stacked_logits
    return None


def _stack_groups(members: nn.ModuleList) -> list[list[int]]:
    """Positions of members that can run stacked: 2 or more of one stackable class with equal configs."""
    groups: dict[tuple, list[int]] = {}
    for i, member in enumerate(members):
        if _stacker(type(member)) is not None and not member.uses_features:
            groups.setdefault((type(member), repr(member.config)), []).append(i)
    return [rows for rows in groups.values() if len(rows) > 1]


@dataclass
class EnsembleConfig:
    """An ensemble described by its members' kinds and configs."""

    members: list[dict] = field(default_factory=list)  # [{"kind": "cnn", "config": {...}}, ...]
    weights: list[float] | None = None  # each member's share of the average (scaled to sum 1); None: equal

    def validate(self) -> None:
        """Raise ConfigError unless members is a list of 1..MAX_MEMBERS {"kind", "config"} dicts."""
        if not isinstance(self.members, list) or not 1 <= len(self.members) <= MAX_MEMBERS:
            raise ConfigError(
                f"members must be a list of 1 to {MAX_MEMBERS} member descriptions; "
                f"got {self.members!r:.200}."
            )
        for i, member in enumerate(self.members, start=1):
            if not isinstance(member, dict) or set(member) != {"kind", "config"}:
                raise ConfigError(
                    f"Ensemble member {i} must be a dict with exactly the keys 'kind' and 'config'; "
                    f"got {member!r:.200}."
                )
            if not isinstance(member["config"], dict):
                raise ConfigError(
                    f"Ensemble member {i}'s config must be a dict; got {member['config']!r:.200}."
                )
        check_weights(self.weights, len(self.members))
        count = _count_models(self.members, 1)
        if count > MAX_MEMBERS:
            raise ConfigError(
                f"An ensemble may hold at most {MAX_MEMBERS} models in all (members of nested ensembles "
                f"count too); this one holds more than {MAX_MEMBERS}."
            )


def check_weights(weights: object, n_members: int) -> None:
    """Raise ConfigError unless weights is None or n_members positive finite numbers."""
    if weights is None:
        return
    ok = isinstance(weights, (list, tuple)) and len(weights) == n_members
    number = (int, float)
    ok = ok and all(isinstance(w, number) and not isinstance(w, bool) and math.isfinite(w) for w in weights)
    ok = ok and all(w > 0 for w in weights)
    if not ok:
        raise ConfigError(
            f"weights must be None (equal shares) or a list of {n_members} positive numbers, one per member; "
            f"got {weights!r:.200}."
        )


class EnsembleModel(nn.Module):
    """Average member probabilities (equal or weighted shares); forward returns the log, usable as logits."""

    def __init__(self, members: list[nn.Module], weights: list[float] | None = None):
        super().__init__()
        if not 1 <= len(members) <= MAX_MEMBERS:
            raise ConfigError(f"An ensemble needs 1 to {MAX_MEMBERS} member models; got {len(members)}.")
        check_weights(weights, len(members))
        self.members = nn.ModuleList(members)
        self.weights = None if weights is None else [float(w) for w in weights]  # as given, for the config
        self.uses_features = any(m.uses_features for m in members)
        vocab_sizes = {m.vocab_size for m in members} - {None}
        if len(vocab_sizes) > 1:
            raise ConfigError(
                f"All ensemble members must use the same vocab_size; got {sorted(vocab_sizes)}."
            )
        self._vocab_size = vocab_sizes.pop() if vocab_sizes else None
        names = [list(m.feature_names) for m in members if m.uses_features]
        if any(n != names[0] for n in names):
            raise ConfigError(
                f"Ensemble members that use features must use the same feature_names; got {names}."
            )
        self._feature_names = names[0] if names else []

    @classmethod
    def from_config(cls, config: EnsembleConfig) -> EnsembleModel:
        """Build every member with protlab.models.build_model, then the ensemble."""
        from protlab.models import build_model

        config.validate()
        model = cls([build_model(m["kind"], m["config"]) for m in config.members], config.weights)
        model.config = EnsembleConfig(members=[dict(m) for m in config.members], weights=model.weights)
        return model

    def member_weights(self) -> torch.Tensor:
        """Each member's share of the average, summing to 1.  # (M,) float32"""
        if self.weights is None:
            return torch.full((len(self.members),), 1.0 / len(self.members))
        weights = torch.tensor(self.weights, dtype=torch.float64)
        return (weights / weights.sum()).float()

    @property
    def vocab_size(self) -> int | None:
        """The members' shared vocabulary size (None if no member declares one)."""
        return self._vocab_size

    @property
    def feature_names(self) -> list[str]:
        """Global features the feature-using members expect, in column order."""
        return self._feature_names

    def fit_training_rows(self, train: TokenizedSet) -> None:
        """Fit every member that learns its input scaling from the training rows."""
        for member in self.members:
            if isinstance(member, FitsTrainingRows):
                member.fit_training_rows(train)

    def forward(self, tokens: torch.Tensor, *inputs: torch.Tensor | None) -> torch.Tensor:
        """forward(tokens, mask) or, when uses_features, forward(tokens, features, mask)
        -> (B, C) log-probs.
        """
        features, mask = (inputs + (None, None))[:2] if self.uses_features else (None, (inputs + (None,))[0])
        logits: list[torch.Tensor | None] = [None] * len(self.members)  # (B, C) per member
        if plain_inference(self):  # same-config members run side by side (see STACKED)
            for rows in _stack_groups(self.members):
                group = [self.members[i] for i in rows]
                ok, stacked = _stacker(type(group[0]))
                if ok(group, tokens):
                    for i, out in zip(rows, stacked(group, tokens, mask)):
                        logits[i] = out
        for i, member in enumerate(self.members):
            if logits[i] is None:
                logits[i] = member(tokens, features, mask) if member.uses_features else member(tokens, mask)
        log_probs = [torch.log_softmax(out.float(), dim=-1) for out in logits]  # M x (B, C)
        stacked = torch.stack(log_probs)  # (M, B, C)
        if self.weights is None:
            return torch.logsumexp(stacked, dim=0) - math.log(len(self.members))  # (B, C) log mean
        log_w = self.member_weights().log().to(stacked.device).view(-1, 1, 1)  # (M, 1, 1)
        return torch.logsumexp(stacked + log_w, dim=0)  # (B, C) log of the weighted mean probability
