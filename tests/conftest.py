"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _protlab_home(tmp_path, monkeypatch):
    """Keep every test's runs and caches in its own temporary folder."""
    monkeypatch.setenv("PROTLAB_HOME", str(tmp_path / "protlab-home"))
