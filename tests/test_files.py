"""Tests for protlab.files: atomic writes of text, bytes and callbacks leave the old file or the new one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from protlab import files
from protlab.files import atomic_write, atomic_write_with


def _names(folder: Path) -> list[str]:
    """Every entry of a folder (hidden temporary files included), sorted."""
    return sorted(p.name for p in folder.iterdir())


def test_text_is_written_as_utf8_without_newline_translation(tmp_path) -> None:
    target = tmp_path / "notes.txt"
    text = "Tm 58 °C\r\nα-helix\n"
    assert atomic_write(target, text) == target
    assert target.read_bytes() == text.encode("utf-8")
    atomic_write(target, "second")
    assert target.read_text(encoding="utf-8") == "second" and _names(tmp_path) == ["notes.txt"]


def test_other_encodings_and_bytes(tmp_path) -> None:
    atomic_write(tmp_path / "latin.txt", "°C", encoding="latin-1")
    assert (tmp_path / "latin.txt").read_bytes() == "°C".encode("latin-1")
    payload = bytes(range(256))
    atomic_write(str(tmp_path / "raw.bin"), payload)  # a str path is accepted too
    assert (tmp_path / "raw.bin").read_bytes() == payload
    atomic_write(tmp_path / "view.bin", memoryview(payload)[:3])
    assert (tmp_path / "view.bin").read_bytes() == payload[:3]


def test_a_value_that_is_not_text_or_bytes_changes_nothing(tmp_path) -> None:
    target = tmp_path / "run.json"
    atomic_write(target, "old")
    with pytest.raises(TypeError, match="str or bytes; got int"):
        atomic_write(target, 12345)
    assert target.read_text() == "old" and _names(tmp_path) == ["run.json"]


def test_a_callback_that_fails_half_way_leaves_the_old_file_and_no_temporary_file(tmp_path) -> None:
    target = tmp_path / "model.pt"
    atomic_write(target, b"old weights")

    def half(tmp: Path) -> None:
        tmp.write_bytes(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_with(target, half)
    assert target.read_bytes() == b"old weights" and _names(tmp_path) == ["model.pt"]


def test_an_interrupt_inside_the_callback_also_cleans_up(tmp_path) -> None:
    def interrupted(tmp: Path) -> None:
        tmp.write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write_with(tmp_path / "new.csv", interrupted)
    assert _names(tmp_path) == []  # no target was created and no temporary file is left


def test_a_failed_rename_leaves_the_old_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "history.csv"
    atomic_write(target, "epoch\n1\n")

    def refuse(src, dst):
        raise PermissionError("locked")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_write(target, "epoch\n1\n2\n")
    assert target.read_text() == "epoch\n1\n" and _names(tmp_path) == ["history.csv"]


def test_the_temporary_file_is_beside_the_target_and_synced_before_the_rename(tmp_path, monkeypatch) -> None:
    seen, order = [], []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(files.os, "fsync", lambda fd: (order.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(files.os, "replace", lambda a, b: (order.append("replace"), real_replace(a, b)))
    atomic_write_with(tmp_path / "out.txt", lambda tmp: (seen.append(tmp), tmp.write_text("x")))
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".out.txt.")
    assert order[:2] == ["fsync", "replace"]


def test_torch_save_through_the_callback_round_trips(tmp_path) -> None:
    weights = {"w": torch.arange(6.0).reshape(2, 3)}
    path = atomic_write_with(tmp_path / "w.pt", lambda tmp: torch.save(weights, tmp))
    assert torch.equal(torch.load(path, weights_only=True)["w"], weights["w"])


def test_a_missing_folder_is_an_error_and_creates_nothing(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "no" / "such" / "file.txt", "x")
    assert _names(tmp_path) == []


def test_a_new_file_gets_an_ordinary_mode_and_a_replaced_file_keeps_its_own(tmp_path) -> None:
    new = atomic_write(tmp_path / "card.json", "{}")
    assert new.stat().st_mode & 0o777 == 0o644  # not the 0600 of a temporary file
    private = tmp_path / "private.txt"
    private.write_text("old")
    private.chmod(0o600)
    atomic_write(private, "new")
    assert private.stat().st_mode & 0o777 == 0o600 and private.read_text() == "new"
