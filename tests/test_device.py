"""Device selection: CPU fallback, clear error for a missing GPU, labels."""

from __future__ import annotations

import pytest
import torch

from protlab.errors import ConfigError
from protlab.training import device as device_module
from protlab.training import device_label, mixed_precision_available, resolve_device


def test_cpu_is_always_available() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


def test_auto_follows_cuda_availability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_module.torch.cuda, "is_available", lambda: False)
    assert resolve_device() == torch.device("cpu")
    monkeypatch.setattr(device_module.torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda") == torch.device("cuda")


def test_cuda_without_gpu_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_module.torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU is available"):
        resolve_device("cuda")


@pytest.mark.parametrize("name", ["gpu", "", "mps", 3])
def test_unknown_names(name: object) -> None:
    with pytest.raises(ConfigError, match="device must be one of 'auto', 'cpu' or 'cuda'"):
        resolve_device(name)  # type: ignore[arg-type]


def test_cpu_label_counts_threads() -> None:
    threads = torch.get_num_threads()
    assert device_label(torch.device("cpu")) == f"CPU ({threads} thread{'s' if threads != 1 else ''})"
    assert device_label("cpu").startswith("CPU (")


def test_cuda_label_uses_gpu_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_module.torch.cuda, "get_device_name", lambda index: f"Fake GPU {index}")
    assert device_label(torch.device("cuda", 0)) == "Fake GPU 0"


def test_mixed_precision_only_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    assert mixed_precision_available(torch.device("cpu")) is False
    monkeypatch.setattr(device_module.torch.cuda, "is_available", lambda: True)
    assert mixed_precision_available(torch.device("cuda")) is True
    assert mixed_precision_available("cpu") is False
