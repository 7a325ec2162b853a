"""Pick the compute device: CUDA when present, otherwise the CPU."""

from __future__ import annotations

import torch

from protlab.checks import Choice
from protlab.errors import ConfigError

DEVICE_NAMES = ("auto", "cpu", "cuda")  # accepted values of resolve_device(name)


def resolve_device(name: str = "auto") -> torch.device:
    """Turn 'auto', 'cpu' or 'cuda' into a torch.device ('auto' prefers CUDA)."""
    choice = name.strip().lower() if isinstance(name, str) else name
    names = Choice(DEVICE_NAMES)
    if not names.ok(choice):
        raise ConfigError(names.message(name, "device"))  # the value as given, before strip/lower
    if choice == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if choice == "cuda" and not available:
        raise ConfigError(
            "device is 'cuda', but no CUDA GPU is available on this machine. "
            "Choose 'auto' or 'cpu' to train on the CPU."
        )
    return torch.device("cuda") if available else torch.device("cpu")


def device_label(device: torch.device | str) -> str:
    """A short human label: 'CPU (2 threads)' or the GPU's name."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return torch.cuda.get_device_name(index)
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"


def mixed_precision_available(device: torch.device | str) -> bool:
    """Mixed precision is used only on CUDA devices."""
    return torch.device(device).type == "cuda" and torch.cuda.is_available()


def model_device(model: torch.nn.Module) -> torch.device:
    """Where the model lives: its first parameter's device, else its first buffer's, else the CPU."""
    tensor = next(model.parameters(), None)
    tensor = tensor if tensor is not None else next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")
