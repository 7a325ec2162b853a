"""Solubility prediction and per-residue explanations from a trained ProtLab model."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from protlab.alphabet import PAD_INDEX, UNKNOWN_INDEX, VOCAB_SIZE
from protlab.checks import FloatRange, IntRange
from protlab.data import TokenizedSet, encode_each
from protlab.errors import CheckpointError, ConfigError, InvalidSequenceError
from protlab.models import load_checkpoint, model_vocab_size
from protlab.training import predict_probabilities, resolve_device
from protlab.training.device import model_device

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[1] / "assets" / "models" / "default.pt"
MAX_BATCH = 32  # sequences per forward pass
TOKEN_BUDGET = 8 * 1024  # padded tokens (B * Lmax) per forward pass; small batches stay in the CPU caches
MAX_OCCLUSION_LENGTH = 2_000  # occlusion costs L forward passes of length L
BUNDLED_SOLUBLE, BUNDLED_ROWS = 2_897, 6_942  # the bundled DeepSol data: soluble rows of all rows
BUNDLED_PRIOR = BUNDLED_SOLUBLE / BUNDLED_ROWS  # its soluble share (41.7%), the default model's prior
PRIOR_RULE = FloatRange(0, 1, low_open=True, high_open=True, note="a fraction of soluble proteins")

_DEFAULT_CACHE: dict[tuple[str, int, int], Predictor] = {}
_DEFAULT_LOCK = threading.Lock()


def adjust_for_prior(p: np.ndarray | float, train_prior: float, new_prior: float) -> np.ndarray:
    """P(soluble) moved by Bayes' rule from the prior the model learned under to another.  # like p

    The model's odds p / (1 - p) hold the training set's prior odds; the new odds are the old ones times
    (new_prior / (1 - new_prior)) / (train_prior / (1 - train_prior)).
    """
    train_prior = PRIOR_RULE.check(train_prior, "train_prior")
    new_prior = PRIOR_RULE.check(new_prior, "prior")
    p = np.asarray(p, dtype=np.float64)
    ratio = (new_prior / (1 - new_prior)) / (train_prior / (1 - train_prior))
    return p * ratio / (p * ratio + (1 - p))


def score_threshold(threshold: float, train_prior: float, new_prior: float) -> float:
    """The model score (at the training prior) whose P(soluble) at new_prior equals threshold."""
    FloatRange(0, 1).check(threshold, "threshold")
    return float(adjust_for_prior(threshold, new_prior, train_prior))


def training_prior_of(meta: Mapping[str, Any]) -> tuple[float, str]:
    """The soluble share a checkpoint's model learned under, and where that number comes from."""
    train = meta.get("train_config") if isinstance(meta.get("train_config"), Mapping) else {}
    if train.get("class_weighting") == "balanced":
        return 0.5, "trained with balanced class weights, so it learned as if half were soluble"
    summary = meta.get("data_summary") if isinstance(meta.get("data_summary"), Mapping) else {}
    sources = (("train_class_counts", "training proteins"), ("class_counts", "proteins in its data"))
    for key, what in sources:
        counts = summary.get(key)
        if (
            isinstance(counts, (list, tuple))
            and len(counts) == 2
            and all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in counts)
        ):
            return counts[1] / (counts[0] + counts[1]), f"{counts[1]:,} soluble of {sum(counts):,} {what}"
    return BUNDLED_PRIOR, (
        "not recorded in this checkpoint; assumed to be the bundled DeepSol data's "
        f"{BUNDLED_SOLUBLE:,} soluble of {BUNDLED_ROWS:,}"
    )


class Predictor:
    """A model ready for prediction: eval mode, its vocabulary, and the features it needs."""

    def __init__(self, model: nn.Module, checkpoint_meta: Mapping[str, Any] | None = None):
        if getattr(model, "per_residue", False):
            raise CheckpointError(
                "This checkpoint predicts secondary structure residue by residue, not "
                "solubility; use it on the Per-residue prediction page or with "
                "`python -m protlab structure`."
            )
        self.model = model.eval()
        self.meta = dict(checkpoint_meta or {})  # what the checkpoint said about the model (metrics, ...)
        self.vocab_size = int(self.meta.get("vocab_size") or model_vocab_size(model))
        self.uses_features = bool(model.uses_features)
        self.feature_names = list(model.feature_names) if self.uses_features else []
        self.device = model_device(model)
        self._lock = threading.Lock()  # attribution hooks must not interleave between threads

    @classmethod
    def from_checkpoint(cls, source: str | Path | bytes | IO[bytes], device: str = "cpu") -> Predictor:
        """Load a ProtLab checkpoint (path, bytes or binary file) for prediction on device."""
        loaded = load_checkpoint(source)
        loaded.model.to(resolve_device(device))
        return cls(loaded.model, loaded.meta)

    @classmethod
    def default(cls) -> Predictor:
        """The bundled default model (loaded once per file version and reused)."""
        path = DEFAULT_MODEL_PATH
        if not path.is_file():
            raise CheckpointError(
                f"The default model file {path} is missing. Train one on the Train page or with "
                "`python -m protlab train`, or load a checkpoint of your own."
            )
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with _DEFAULT_LOCK:
            if key not in _DEFAULT_CACHE:
                _DEFAULT_CACHE.clear()
                _DEFAULT_CACHE[key] = cls.from_checkpoint(path)
            return _DEFAULT_CACHE[key]

    @property
    def stored_threshold(self) -> float | None:
        """The decision threshold saved with the checkpoint (in extra or metrics), if any."""
        for block in (self.meta.get("extra"), self.meta.get("metrics")):
            value = (block or {}).get("threshold") if isinstance(block, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
                return float(value)
        return None

    @property
    def training_prior(self) -> float:
        """The soluble share this model learned under (see training_prior_of)."""
        return training_prior_of(self.meta)[0]

    @property
    def held_out_at_threshold(self) -> dict[str, float] | None:
        """Held-out test accuracy, recall, precision and count at the stored threshold, if recorded."""
        metrics = self.meta.get("metrics") if isinstance(self.meta.get("metrics"), Mapping) else {}
        tuned = self.stored_threshold not in (None, 0.5)  # a recipe's validation-chosen threshold
        block = metrics.get("test_at_threshold" if tuned else "test")
        names = ("accuracy", "recall", "precision", "n")
        if not isinstance(block, Mapping) or not all(isinstance(block.get(k), (int, float)) for k in names):
            return None
        return {k: float(block[k]) for k in names}

    @property
    def test_auc(self) -> float | None:
        """The held-out test AUC saved with the checkpoint, if any."""
        metrics = self.meta.get("metrics") if isinstance(self.meta.get("metrics"), Mapping) else {}
        for block in (metrics.get("test"), metrics):
            value = block.get("auc") if isinstance(block, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
                return float(value)
        return None

    def _features(self, sequences: Sequence[str]) -> torch.Tensor:
        """Raw global features the model expects, in its column order.  # (N, F) float32"""
        from protlab.data import compute_features

        rows = []
        for number, seq in enumerate(sequences, start=1):
            try:
                values = compute_features(seq)
            except InvalidSequenceError as exc:
                raise InvalidSequenceError(f"Sequence {number}: {exc}") from None
            rows.append([values[name] for name in self.feature_names])
        return torch.tensor(rows, dtype=torch.float32)

    def _logits(
        self, tokens: torch.Tensor, mask: torch.Tensor | None, features: torch.Tensor | None
    ) -> torch.Tensor:
        """Run the model on one batch on its device.  # (B, C)"""
        tokens = tokens.to(self.device, non_blocking=True)
        mask = None if mask is None else mask.to(self.device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=self.device.type == "cuda"):
            if self.uses_features:
                return self.model(tokens, features.to(self.device), mask)
            return self.model(tokens, mask)

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        """P(soluble) for each cleaned sequence, batched by length.  # (N,) float64"""
        encoded = encode_each(sequences, vocab_size=self.vocab_size)
        if not encoded:
            return np.empty(0, dtype=np.float64)
        features = self._features(sequences).numpy() if self.uses_features else None  # (N, F) float32
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))  # (N,)
        data = TokenizedSet.from_codes(
            np.concatenate(encoded), lengths, vocab_size=self.vocab_size, features=features
        )
        return predict_probabilities(
            self.model,
            data,
            device=self.device,
            batch_size=MAX_BATCH,
            token_budget=TOKEN_BUDGET,
            half_precision=True,
        ).probs

    def predict_table(
        self, records: Sequence[Any], threshold: float = 0.5, prior: float | None = None
    ) -> pd.DataFrame:
        """A table id, sequence, length, p_soluble, prediction for cleaned records.

        With a prior (the expected soluble fraction of the user's set), p_soluble is adjusted to it from
        the model's training prior and a column model_score keeps the unadjusted output.
        """
        FloatRange(0, 1).check(threshold, "threshold")
        if prior is not None:
            PRIOR_RULE.check(prior, "prior")
        sequences = [r.sequence for r in records]
        score = self.predict(sequences)
        p = score if prior is None else adjust_for_prior(score, self.training_prior, prior)
        table = pd.DataFrame(
            {
                "id": [r.id for r in records],
                "sequence": sequences,
                "length": [len(s) for s in sequences],
                "p_soluble": p,
                "prediction": np.where(p >= threshold, "soluble", "insoluble"),
            }
        )
        if prior is not None:
            table["model_score"] = score
        return table

    def attribution(self, sequence: str) -> np.ndarray:
        """Gradient x input on the embeddings for logit(soluble) - logit(insoluble), per residue.  # (L,)"""
        return attribution(self, sequence)

    def attribution_share(self) -> tuple[float, list[str]]:
        """Share of P(soluble) from members that attribution sees, and the kinds of the others."""
        return attribution_share(self.model)

    def occlusion(self, sequence: str, window: int = 1) -> np.ndarray:
        """Drop in P(soluble) when each residue (in windows) is masked as unknown, per residue.  # (L,)"""
        encoded = encode_each([sequence], vocab_size=self.vocab_size)[0]
        length = len(encoded)
        IntRange(1, min(50, length)).check(window, "window")
        if length > MAX_OCCLUSION_LENGTH:
            raise ConfigError(
                f"Occlusion is limited to sequences of up to {MAX_OCCLUSION_LENGTH} residues; "
                f"this one has {length}."
            )
        filler = UNKNOWN_INDEX if self.vocab_size == VOCAB_SIZE else PAD_INDEX
        starts = np.arange(length - window + 1)
        variants = np.repeat(encoded[None, :].astype(np.int64), len(starts) + 1, axis=0)  # (S + 1, L)
        for row, start in enumerate(starts, start=1):
            variants[row, start : start + window] = filler
        features = (
            self._features([sequence]) if self.uses_features else None
        )  # kept fixed: sequence signal only
        probs = []
        with torch.inference_mode():
            step = max(1, min(MAX_BATCH, TOKEN_BUDGET // length))
            for lo in range(0, len(variants), step):
                chunk = torch.from_numpy(variants[lo : lo + step])  # (b, L)
                f = None if features is None else features.expand(len(chunk), -1)
                probs.append(torch.softmax(self._logits(chunk, None, f).float(), dim=-1)[:, 1].cpu())
        p = torch.cat(probs).numpy()  # (S + 1,)
        drop = p[0] - p[1:]  # (S,) how much P(soluble) falls when each window is hidden
        total, count = np.zeros(length), np.zeros(length)
        for start, d in zip(starts, drop):
            total[start : start + window] += d
            count[start : start + window] += 1
        return total / count


def attribution_share(model: nn.Module) -> tuple[float, list[str]]:
    """Share of the model's P(soluble) average from members with a residue embedding (which attribution
    sees), and the kinds of the members without one."""
    from protlab.models import model_kind
    from protlab.models.ensemble import EnsembleModel

    members = list(model.members) if isinstance(model, EnsembleModel) else [model]
    shares = model.member_weights().tolist() if isinstance(model, EnsembleModel) else [1.0]  # (M,)
    seen = [any(isinstance(m, nn.Embedding) for m in member.modules()) for member in members]
    unseen = [model_kind(member) for member, ok in zip(members, seen) if not ok]
    return float(sum(w for w, ok in zip(shares, seen) if ok)), list(dict.fromkeys(unseen))


def attribution(predictor: Predictor, sequence: str) -> np.ndarray:
    """Per-residue gradient x input summed over embedding dims (averaged over embeddings, e.g. ensembles)."""
    embeddings = [m for m in predictor.model.modules() if isinstance(m, nn.Embedding)]
    if not embeddings:
        raise ConfigError(
            f"{type(predictor.model).__name__} has no embedding layer, so per-residue attribution is not "
            "available; use occlusion instead."
        )
    encoded = encode_each([sequence], vocab_size=predictor.vocab_size)[0]
    captured: list[torch.Tensor] = []
    owner = threading.get_ident()  # the model is shared: other sessions' threads may run it meanwhile

    def capture(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor | None:
        if threading.get_ident() != owner:
            return None  # another session's forward pass while the hooks are on: left as it is
        leaf = output.detach().requires_grad_(True)  # (1, L, E): gradients stop here, weights untouched
        captured.append(leaf)
        return leaf

    with predictor._lock:
        handles = [m.register_forward_hook(capture) for m in embeddings]
        try:
            with torch.inference_mode(False), torch.enable_grad():  # callers may sit in inference mode
                tokens = torch.from_numpy(encoded.astype(np.int64))[None, :]  # (1, L)
                features = predictor._features([sequence]) if predictor.uses_features else None  # (1, F)
                logits = predictor._logits(tokens, None, features).float()  # (1, C)
                target = logits[0, 1] - logits[0, 0]
                grads = torch.autograd.grad(target, captured)
        finally:
            for handle in handles:
                handle.remove()
    scores = sum((g.float() * x.float()).sum(dim=-1)[0] for g, x in zip(grads, captured))  # (L,)
    return (scores / len(captured)).detach().cpu().numpy().astype(np.float64)
