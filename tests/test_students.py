"""The per-student store: values and uploads come back after a restart, owners stay apart, bad input is
refused."""

from __future__ import annotations

import hashlib
import json
import os
import threading

import pytest

from protlab.students import MAX_VALUE_BYTES, StudentStore, StudentStoreError

ALICE = "a" * 16 + "-_Alice"
BOB = "B0b" * 8


@pytest.fixture
def store(tmp_path) -> StudentStore:
    return StudentStore(tmp_path / "students", max_upload_bytes=1000)


def test_values_survive_a_new_store_on_the_same_folder(store, tmp_path) -> None:
    settings = {"optimizer": "adamw", "lr": 0.003, "epochs": 7, "mixed_precision": False, "note": "café ✓"}
    store.save(ALICE, "train_settings", settings)
    store.save(ALICE, "predict_sequences", ">p1\nMKV\n")
    again = StudentStore(tmp_path / "students")  # a server restart: nothing in memory
    assert again.load(ALICE, "train_settings") == json.loads(json.dumps(settings))
    assert again.load(ALICE, "predict_sequences") == ">p1\nMKV\n"
    assert again.load(ALICE, "never_saved", {"x": 1}) == {"x": 1}
    again.forget(ALICE, "predict_sequences")
    assert again.load(ALICE, "predict_sequences") is None


def test_owners_never_see_each_others_values_or_files(store) -> None:
    store.save(ALICE, "train_settings", {"lr": 0.1})
    store.save_upload(ALICE, "train_data", "mine.csv", b"sequence,label\nMKV,1\n")
    assert store.load(BOB, "train_settings") is None
    assert store.load_upload(BOB, "train_data") is None
    store.delete_student(BOB)
    assert store.load(ALICE, "train_settings") == {"lr": 0.1}


def test_an_upload_keeps_its_bytes_and_a_clean_name_and_can_be_cleared(store) -> None:
    data = bytes(range(256)) * 3  # every byte value, binary-safe
    saved = store.save_upload(ALICE, "train_data", "C:\\Users\\me\\proteins\x07.csv", data)
    assert saved.name == "proteins.csv"
    loaded = store.load_upload(ALICE, "train_data")
    assert loaded is not None and loaded.data == data and loaded.name == "proteins.csv" and loaded.size == 768
    store.save_upload(ALICE, "train_data", "second.fasta", b">a label=1\nMKV\n")  # replaces the first
    assert store.load_upload(ALICE, "train_data").name == "second.fasta"
    store.clear_upload(ALICE, "train_data")
    assert store.load_upload(ALICE, "train_data") is None
    store.clear_upload(ALICE, "train_data")  # clearing twice is harmless


def test_an_upload_over_the_cap_is_refused_and_the_old_file_stays(store) -> None:
    store.save_upload(ALICE, "train_data", "small.csv", b"x" * 1000)
    with pytest.raises(StudentStoreError) as info:
        store.save_upload(ALICE, "train_data", "big.csv", b"x" * 1001)
    assert "MB" in str(info.value)
    assert store.load_upload(ALICE, "train_data").name == "small.csv"


def test_a_value_over_the_cap_or_not_json_is_refused(store) -> None:
    with pytest.raises(StudentStoreError):
        store.save(ALICE, "predict_sequences", "M" * (MAX_VALUE_BYTES + 1))
    with pytest.raises(StudentStoreError):
        store.save(ALICE, "train_settings", {"lr": float("nan")})
    with pytest.raises(StudentStoreError):
        store.save(ALICE, "train_settings", {"when": object()})
    assert store.load(ALICE, "train_settings") is None


@pytest.mark.parametrize(
    "owner", ["", "short", "../../etc/passwd-xxxxxxxx", "a" * 65, "spaces are bad here!", None]
)
def test_bad_owners_are_refused_before_touching_a_path(store, tmp_path, owner) -> None:
    with pytest.raises(StudentStoreError):
        store.save(owner, "train_settings", 1)
    with pytest.raises(StudentStoreError):
        store.load_upload(owner, "train_data")
    assert not (tmp_path / "students").exists() or not any((tmp_path / "students").iterdir())


@pytest.mark.parametrize("key", ["", "../values", "Train", "a/b", "x" * 65, "1abc", "dot.json"])
def test_bad_keys_and_slots_are_refused(store, key) -> None:
    with pytest.raises(StudentStoreError):
        store.save(ALICE, key, 1)
    with pytest.raises(StudentStoreError):
        store.save_upload(ALICE, key, "f.csv", b"x")


def test_a_crash_while_writing_leaves_the_old_value_and_no_temp_file(store, monkeypatch, tmp_path) -> None:
    store.save(ALICE, "train_settings", {"epochs": 3})

    def crash(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        store.save(ALICE, "train_settings", {"epochs": 99})
    monkeypatch.undo()
    assert store.load(ALICE, "train_settings") == {"epochs": 3}
    leftovers = [p.name for p in (tmp_path / "students").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_damaged_files_read_as_missing(store, tmp_path) -> None:
    store.save(ALICE, "train_settings", {"epochs": 3})
    store.save_upload(ALICE, "train_data", "a.csv", b"sequence,label\n")
    folder = tmp_path / "students" / ALICE
    (folder / "values" / "train_settings.json").write_text("{not json", encoding="utf-8")
    (folder / "uploads" / "train_data.bin").write_bytes(b"other bytes")  # no longer matches its meta
    assert store.load(ALICE, "train_settings", "default") == "default"
    assert store.load_upload(ALICE, "train_data") is None
    meta = json.loads((folder / "uploads" / "train_data.json").read_text())
    assert meta["sha256"] == hashlib.sha256(b"sequence,label\n").hexdigest()


def test_readers_never_see_a_half_written_value(store) -> None:
    values = [{"text": str(i) * 5000} for i in range(40)]
    store.save(ALICE, "predict_sequences", values[0])
    seen, done = [], threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(store.load(ALICE, "predict_sequences", "MISSING"))

    reader = threading.Thread(target=read)
    reader.start()
    for value in values:
        store.save(ALICE, "predict_sequences", value)
    done.set()
    reader.join(timeout=30)
    assert seen and all(v in values for v in seen)


def test_the_store_folder_is_named_by_owner_only(store, tmp_path) -> None:
    store.save(ALICE, "train_settings", 1)
    assert [p.name for p in (tmp_path / "students").iterdir()] == [ALICE]
    folder = tmp_path / "students" / ALICE
    assert {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} == {
        "values/train_settings.json"
    }
