"""Self-describing model checkpoints: saved atomically, loaded only through torch's weights_only loader."""

from __future__ import annotations

import datetime as _dt
import io
import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import torch.nn as nn

import protlab
from protlab.alphabet import AMINO_ACIDS, NOTES_VOCAB_SIZE, PAD_INDEX, UNKNOWN_INDEX, VOCAB_SIZE
from protlab.errors import CheckpointError, ConfigError
from protlab.files import atomic_write_with
from protlab.models import build_model, make_config, mlp_parameter_count, model_vocab_size, on_meta_device

FORMAT = "protlab-checkpoint"  # marker that tells a ProtLab checkpoint from any other torch file
VERSION = 1  # layout version written by save_checkpoint
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default (zip) container
_PICKLE_MAGIC = b"\x80"  # pickle protocol 2+ (torch's legacy container and plain pickles)
MAX_LOADED_WEIGHTS = 50_000_000  # most weights a loaded model may have (200 MB float32), checked first


@dataclass
class LoadedCheckpoint:
    """A loaded checkpoint: the ready model (eval mode, CPU) and everything saved beside it."""

    model: nn.Module  # rebuilt architecture with the saved weights
    kind: str  # registered model kind, e.g. "cnn"
    model_config: dict  # config dict for build_model(kind, ...)
    vocab: dict  # alphabet, pad, unknown, vocab_size used to encode sequences
    train_config: dict | None = None  # training settings, if saved
    metrics: dict | None = None  # evaluation metrics, if saved
    data_summary: dict | None = None  # description of the training data, if saved
    history: list | None = None  # per-epoch records, if saved
    extra: dict | None = None  # anything else the saver attached
    created: str = ""  # ISO-8601 UTC time of saving
    protlab_version: str = ""  # protlab version that saved it
    source: str = field(default="", repr=False)  # where it was read from, for messages

    @property
    def vocab_size(self) -> int:
        """Vocabulary size the model's tokens must use."""
        return int(self.vocab["vocab_size"])

    @property
    def meta(self) -> dict[str, Any]:
        """Everything except the model, as a plain dict."""
        keys = (
            "kind",
            "model_config",
            "vocab",
            "train_config",
            "metrics",
            "data_summary",
            "history",
            "extra",
            "created",
            "protlab_version",
            "source",
        )
        return {key: getattr(self, key) for key in keys} | {"vocab_size": self.vocab_size}


def _plain(value: Any, where: str) -> Any:
    """Convert value to plain Python types (and tensors) that weights_only loading accepts."""
    if isinstance(value, np.generic):  # first: np.float64 is also a float subclass
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return type(value)(value) if value is not None else None
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    raise ConfigError(
        f"{where} holds a {type(value).__name__}, which a checkpoint cannot store; "
        "use numbers, strings, lists, dicts or tensors."
    )


def _check_description(model: nn.Module, kind: str, model_config: dict) -> None:
    """Refuse to save a checkpoint whose kind and config would not rebuild this model's weights."""
    try:
        rebuilt = build_model(kind, model_config).state_dict()
    except ConfigError as exc:
        raise ConfigError(f"save_checkpoint got a kind/model_config that cannot be rebuilt: {exc}") from exc
    actual = model.state_dict()
    if set(rebuilt) != set(actual) or any(rebuilt[k].shape != v.shape for k, v in actual.items()):
        raise ConfigError(
            f"save_checkpoint: kind {kind!r} with the given model_config builds a different architecture "
            f"than the {type(model).__name__} being saved; pass model_config=model_config_dict(model)."
        )


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    *,
    kind: str,
    model_config: dict,
    train_config: dict | None = None,
    metrics: dict | None = None,
    data_summary: dict | None = None,
    history: list[dict] | None = None,
    extra: dict | None = None,
) -> Path:
    """Write model and its description to path atomically; return the path."""
    path = Path(path)
    _check_description(model, kind, model_config)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": str(kind),
        "model_config": _plain(model_config, "model_config"),
        "vocab": {
            "alphabet": AMINO_ACIDS,
            "pad": PAD_INDEX,
            "unknown": UNKNOWN_INDEX,
            "vocab_size": model_vocab_size(model),
        },
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_config": _plain(train_config, "train_config"),
        "metrics": _plain(metrics, "metrics"),
        "data_summary": _plain(data_summary, "data_summary"),
        "history": _plain(history, "history"),
        "extra": _plain(extra, "extra"),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "protlab_version": protlab.__version__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            torch.save(payload, handle)

    return atomic_write_with(path, write)


def _read_source(source: str | Path | bytes | IO[bytes]) -> tuple[IO[bytes], str]:
    """Open the source as a binary stream and name it for messages; missing or empty sources raise."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "The uploaded file"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = f"The file {path}"
        if not path.is_file():
            raise CheckpointError(f"No checkpoint file exists at {path}; check the path.")
        data = path.read_bytes()
    elif hasattr(source, "read"):
        data = source.read()
        name = f"The file {getattr(source, 'name', 'that was given')}"
        if not isinstance(data, bytes):
            raise CheckpointError(f"{name} must be opened in binary mode ('rb') to be read as a checkpoint.")
    else:
        raise CheckpointError(
            f"A checkpoint must be a path, bytes or a binary file; got {type(source).__name__}."
        )
    if not data:
        raise CheckpointError(f"{name} is empty (0 bytes), so it holds no model.")
    return io.BytesIO(data), name


def _torch_load(stream: IO[bytes], name: str) -> Any:
    """torch.load with weights_only=True, turning every failure into a CheckpointError."""
    head = stream.getvalue()[:4] if isinstance(stream, io.BytesIO) else b""
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC)):
        raise CheckpointError(f"{name} is not a PyTorch checkpoint file; choose a .pt file saved by ProtLab.")
    try:
        return torch.load(stream, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{name} was refused: it contains Python objects other than tensors, which ProtLab refuses to "
            "load for safety (loading them could run code). Save models with ProtLab instead."
        ) from exc
    except Exception as exc:  # torch raises RuntimeError, EOFError, KeyError, ... on damaged files
        if head.startswith(_ZIP_MAGIC):
            raise CheckpointError(
                f"{name} is damaged or incomplete (truncated or corrupt archive); save or download it again."
            ) from exc
        raise CheckpointError(
            f"{name} is not a PyTorch checkpoint file; choose a .pt file saved by ProtLab."
        ) from exc


def _check_payload(payload: Any, name: str) -> None:
    """Raise CheckpointError unless payload is a ProtLab checkpoint of a known version and vocabulary."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        bare = (
            isinstance(payload, dict)
            and payload
            and all(isinstance(v, torch.Tensor) for v in payload.values())
        )
        hint = " It looks like a bare state_dict (weights without an architecture)." if bare else ""
        raise CheckpointError(
            f"{name} is a PyTorch file but not a ProtLab checkpoint.{hint} "
            "ProtLab needs a checkpoint saved by its Train page or `python -m protlab train`."
        )
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{name} has checkpoint version {payload.get('version')!r}, but this ProtLab reads version "
            f"{VERSION}; use a matching ProtLab release."
        )
    vocab = payload.get("vocab")
    if (
        not isinstance(vocab, dict)
        or vocab.get("alphabet") != AMINO_ACIDS
        or vocab.get("vocab_size") not in (NOTES_VOCAB_SIZE, VOCAB_SIZE)
    ):
        raise CheckpointError(
            f"{name} was saved with a different residue alphabet or vocabulary, so it cannot be used."
        )
    if not isinstance(payload.get("state_dict"), dict) or not isinstance(payload.get("model_config"), dict):
        raise CheckpointError(f"{name} lacks its weights or model settings, so it cannot be used.")


def declared_weights(kind: str, config: dict) -> int | None:
    """Weights of a cnn, dual, mlp or ensemble model counted arithmetically from its config, without
    building anything (None for other kinds); the config must already be valid."""
    cfg = make_config(kind, config)
    if kind == "cnn":
        e, h, k = cfg.embed_dim, cfg.hidden_dim, cfg.kernel_size
        convs = (e * h * k + h) + (cfg.num_layers - 1) * (h * h * k + h)
        return cfg.vocab_size * e + convs + h * cfg.num_classes + cfg.num_classes
    if kind == "dual":
        n, e, h, g = len(cfg.feature_names), cfg.embed_dim, cfg.hidden_dim, cfg.global_dim
        head = (h + g) * cfg.num_classes + cfg.num_classes
        return cfg.vocab_size * e + e * h * cfg.kernel_size + h + n * g + g + head + 2 * n
    if kind == "mlp":
        return mlp_parameter_count(cfg)
    if kind == "ensemble":
        counts = [declared_weights(m["kind"], m["config"]) for m in cfg.members]
        return None if None in counts else sum(counts)
    return None


def _too_many_weights(name: str, kind: object, count: int) -> CheckpointError:
    """The refusal of a model above MAX_LOADED_WEIGHTS."""
    return CheckpointError(
        f"{name} declares a {kind} model with {count:,} weights (about {4 * count / 1e9:.1f} GB); "
        f"ProtLab loads models of at most {MAX_LOADED_WEIGHTS:,} weights "
        f"({4 * MAX_LOADED_WEIGHTS / 1e6:.0f} MB). Use a smaller model."
    )


def _expected_weights(kind: object, config: dict, name: str) -> dict[str, torch.Size]:
    """Names and shapes of the weights the declared model has: counted from the config first, then found
    on the meta device (no memory used)."""
    try:
        count = declared_weights(kind, config)
        if count is not None and count > MAX_LOADED_WEIGHTS:
            raise _too_many_weights(name, kind, count)
        with on_meta_device():  # every tensor is a shape only: nothing is allocated
            model = build_model(kind, config)
    except ConfigError as exc:
        raise CheckpointError(f"{name} describes a model ProtLab cannot build: {exc}") from exc
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    count = sum(math.prod(shape) for shape in shapes.values())
    if count > MAX_LOADED_WEIGHTS:
        raise _too_many_weights(name, kind, count)
    return shapes


def _listed(label: str, items: list[str]) -> str:
    """'label: a, b, c, d ...' (at most four items)."""
    return f"{label}: {', '.join(items[:4])}{' ...' if len(items) > 4 else ''}"


def _check_weights(expected: dict[str, torch.Size], state: dict, name: str) -> None:
    """Refuse weights that are not tensors, do not match the architecture, or are NaN or infinite."""
    not_tensors = [f"{k} ({type(v).__name__})" for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(
            f"{name} has weights that are not tensors ({_listed('entries', not_tensors)}); "
            "a checkpoint's state_dict holds tensors only."
        )
    missing = [k for k in expected if k not in state]
    unexpected = [str(k) for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v
    ]
    parts = [
        _listed(label, items)
        for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched))
        if items
    ]
    if parts:
        raise CheckpointError(
            f"{name} has weights that do not match its declared architecture ({'; '.join(parts)})."
        )
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(
            f"{name} has weights that are NaN or infinite ({_listed('in', bad)}), so its predictions would "
            "be meaningless; save the model from a run that did not diverge."
        )


def load_checkpoint(source: str | Path | bytes | IO[bytes]) -> LoadedCheckpoint:
    """Read a ProtLab checkpoint safely and rebuild its model in eval mode on the CPU."""
    stream, name = _read_source(source)
    payload = _torch_load(stream, name)
    _check_payload(payload, name)
    kind = payload.get("kind")
    # everything is checked against the declared architecture before the model is allocated
    _check_weights(_expected_weights(kind, payload["model_config"], name), payload["state_dict"], name)
    model = build_model(kind, payload["model_config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:  # e.g. a complex tensor where real weights belong
        raise CheckpointError(f"{name} has weights that cannot be loaded into its model ({exc}).") from exc
    model.eval()
    return LoadedCheckpoint(
        model=model,
        kind=kind,
        model_config=payload["model_config"],
        vocab=payload["vocab"],
        train_config=payload.get("train_config"),
        metrics=payload.get("metrics"),
        data_summary=payload.get("data_summary"),
        history=payload.get("history"),
        extra=payload.get("extra"),
        created=str(payload.get("created", "")),
        protlab_version=str(payload.get("protlab_version", "")),
        source=name,
    )
