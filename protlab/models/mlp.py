"""Multilayer perceptrons built from plain layer specifications (the Network Builder's backend)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from protlab.alphabet import AMINO_ACIDS
from protlab.checks import Choice, IntRange, check_fields, setting
from protlab.errors import ConfigError
from protlab.models.cnn import DROPOUT

MAX_WIDTH = 4096  # widest hidden layer accepted
MAX_LAYERS = 32  # most hidden layers accepted
MAX_PARAMETERS = 20_000_000  # largest network accepted, counted before anything is allocated
MAX_INPUT_DIM = 100_000  # largest input vector accepted

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "swish": nn.SiLU,  # another name for SiLU
    "leaky_relu": nn.LeakyReLU,
}
NORMS: dict[str, type[nn.Module]] = {"layernorm": nn.LayerNorm, "batchnorm": nn.BatchNorm1d}
OUTPUT_ACTIVATIONS = (None, "softmax", "sigmoid")


@dataclass
class LayerSpec:
    """One hidden layer: Linear(width) -> optional norm -> activation -> optional dropout."""

    width: int = setting(check=IntRange(1, MAX_WIDTH))  # number of neurons
    activation: str = setting("relu", Choice(sorted(ACTIVATIONS)))  # one of ACTIVATIONS
    dropout: float = setting(0.0, DROPOUT)  # chance of zeroing each neuron while training (0: no Dropout)
    norm: str | None = setting(None, Choice((None, *sorted(NORMS))))  # None, "batchnorm" or "layernorm"


@dataclass
class MLPConfig:
    """An MLP: input_dim -> hidden layers -> num_classes; zero hidden layers is logistic regression."""

    input_dim: int = setting(20, IntRange(1, MAX_INPUT_DIM))  # features per protein (20: composition)
    layers: list[LayerSpec] = field(
        default_factory=lambda: [LayerSpec(64)]
    )  # hidden layers, input side first
    num_classes: int = setting(2, IntRange(1, MAX_WIDTH))  # outputs
    # None (logits), "softmax" or "sigmoid"
    output_activation: str | None = setting(None, Choice(OUTPUT_ACTIVATIONS))

    def __post_init__(self) -> None:
        if isinstance(self.layers, (list, tuple)):
            self.layers = [LayerSpec(**spec) if isinstance(spec, dict) else spec for spec in self.layers]

    def validate(self) -> None:
        """Raise ConfigError for any bad setting, before a single weight is allocated."""
        check_fields(self)
        if not isinstance(self.layers, list):
            raise ConfigError(
                f"layers must be a list of layer specifications; got {type(self.layers).__name__}."
            )
        if len(self.layers) > MAX_LAYERS:
            raise ConfigError(f"An MLP may have at most {MAX_LAYERS} hidden layers; got {len(self.layers)}.")
        for i, spec in enumerate(self.layers, start=1):
            _validate_layer(i, spec)
        n = mlp_parameter_count(self)
        if n > MAX_PARAMETERS:
            raise ConfigError(
                f"This network would have {n:,} parameters, above the limit of {MAX_PARAMETERS:,}; "
                "use fewer or narrower layers."
            )


def _validate_layer(i: int, spec: object) -> None:
    """Raise ConfigError if hidden layer number i is not a valid LayerSpec."""
    if not isinstance(spec, LayerSpec):
        raise ConfigError(
            f"Layer {i} must be a LayerSpec or a dict of its fields; got {type(spec).__name__}."
        )
    check_fields(spec, {name: f"Layer {i} {name}" for name in ("width", "activation", "dropout", "norm")})


def mlp_parameter_count(config: MLPConfig) -> int:
    """Count the MLP's parameters arithmetically, without building it."""
    total, width_in = 0, config.input_dim
    for spec in config.layers:
        total += width_in * spec.width + spec.width  # Linear weight + bias
        if spec.norm is not None:
            total += 2 * spec.width  # LayerNorm / BatchNorm scale and shift (running stats are buffers)
        width_in = spec.width
    return total + width_in * config.num_classes + config.num_classes


def widest_fill(input_dim: int, num_classes: int, n_layers: int) -> int:
    """The widest w (up to MAX_WIDTH) at which n_layers layers of width w fit MAX_PARAMETERS; 0 if none."""
    low, high = 0, MAX_WIDTH  # the answer lies in [low, high]; the count only grows with the width
    while low < high:
        width = (low + high + 1) // 2
        layers = [LayerSpec(width)] * n_layers
        if mlp_parameter_count(MLPConfig(input_dim, layers, num_classes)) <= MAX_PARAMETERS:
            low = width
        else:
            high = width - 1
    return low


def build_mlp(config: MLPConfig) -> nn.Sequential:
    """Build the nn.Sequential described by config (validated first)."""
    config.validate()
    modules: list[nn.Module] = []
    width_in = config.input_dim
    for spec in config.layers:
        modules.append(nn.Linear(width_in, spec.width))
        if spec.norm is not None:
            modules.append(NORMS[spec.norm](spec.width))
        modules.append(ACTIVATIONS[spec.activation]())
        if spec.dropout > 0:
            modules.append(nn.Dropout(spec.dropout))
        width_in = spec.width
    modules.append(nn.Linear(width_in, config.num_classes))
    if config.output_activation == "softmax":
        modules.append(nn.Softmax(dim=-1))
    elif config.output_activation == "sigmoid":
        modules.append(nn.Sigmoid())
    return nn.Sequential(*modules)


class CompositionMLP(nn.Module):
    """An MLP on each protein's amino-acid composition (20 fractions) computed from its tokens."""

    uses_features = False  # reads tokens only
    feature_names: tuple[str, ...] = ()  # no global features

    def __init__(self, config: MLPConfig | None = None):
        super().__init__()
        config = config or MLPConfig()
        if config.input_dim != len(AMINO_ACIDS):
            raise ConfigError(
                f"input_dim must be {len(AMINO_ACIDS)} for a trainable MLP, which reads the amino-acid "
                f"composition of each sequence; got {config.input_dim}."
            )
        if config.output_activation is not None or config.num_classes < 2:
            raise ConfigError(
                "A trainable MLP must output raw logits for at least 2 classes (output_activation None, "
                f"num_classes >= 2); got output_activation={config.output_activation!r}, "
                f"num_classes={config.num_classes}. The loss applies softmax itself."
            )
        self.config = config
        self.net = build_mlp(config)

    vocab_size = None  # reads tokens of either vocabulary (21 or 22): composition ignores padding and unknown

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map tokens (B, L) int64 and mask (B, L) to logits (B, num_classes) via composition (B, 20)."""
        weight = torch.ones(tokens.shape, device=tokens.device) if mask is None else mask.float()  # (B, L)
        counts = torch.zeros(tokens.shape[0], len(AMINO_ACIDS) + 2, device=tokens.device)  # (B, 22)
        counts.scatter_add_(1, tokens, weight)
        length = weight.sum(dim=1, keepdim=True).clamp(min=1)  # (B, 1) residues incl. unknown
        composition = counts[:, 1 : len(AMINO_ACIDS) + 1] / length  # (B, 20) fractions
        return self.net(composition.to(self.net[0].weight.dtype))
