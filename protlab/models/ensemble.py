"""An ensemble that averages its members' predicted probabilities."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from protlab.errors import ConfigError
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


@dataclass
class EnsembleConfig:
    """An ensemble described by its members' kinds and configs."""

    members: list[dict] = field(default_factory=list)  # [{"kind": "cnn", "config": {...}}, ...]

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
        count = _count_models(self.members, 1)
        if count > MAX_MEMBERS:
            raise ConfigError(
                f"An ensemble may hold at most {MAX_MEMBERS} models in all (members of nested ensembles "
                f"count too); this one holds more than {MAX_MEMBERS}."
            )


class EnsembleModel(nn.Module):
    """Average member probabilities; forward returns log(mean softmax), usable as logits."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        if not 1 <= len(members) <= MAX_MEMBERS:
            raise ConfigError(f"An ensemble needs 1 to {MAX_MEMBERS} member models; got {len(members)}.")
        self.members = nn.ModuleList(members)
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
        model = cls([build_model(m["kind"], m["config"]) for m in config.members])
        model.config = EnsembleConfig(members=[dict(m) for m in config.members])
        return model

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
        log_probs = []
        for member in self.members:
            if member.uses_features:
                logits = member(tokens, features, mask)  # (B, C)
            else:
                logits = member(tokens, mask)  # (B, C)
            log_probs.append(torch.log_softmax(logits.float(), dim=-1))
        stacked = torch.stack(log_probs)  # (M, B, C)
        return torch.logsumexp(stacked, dim=0) - math.log(len(self.members))  # (B, C) log of mean probability
