"""Tests for protlab.runs.index: who owns which run, which runs are shared, indexing an older runs folder."""

from __future__ import annotations

import json

from protlab.runs.index import RunIndex

RUNS = ["20260101-120000-0000000a", "20260101-120500-0000000b", "20260102-080000-0000000c"]


def test_owners_list_their_runs_newest_first(tmp_path) -> None:
    index = RunIndex(tmp_path)
    for run_id in RUNS:
        index.add("alice", run_id)
    index.add("bob", "20260103-000000-0000000d")
    assert index.runs_of("alice") == list(reversed(RUNS)) and index.runs_of("nobody") == []
    index.remove("alice", RUNS[1])
    assert index.runs_of("alice") == [RUNS[2], RUNS[0]]
    assert RunIndex(tmp_path).runs_of("bob") == ["20260103-000000-0000000d"]  # on disk, for every process


def test_sharing_is_kept_with_its_display_name(tmp_path) -> None:
    index = RunIndex(tmp_path)
    assert index.shared_ids() == [] and index.display_name(RUNS[0]) is None
    index.share(RUNS[0], "Team Rocket")
    index.share(RUNS[2], "Ash")
    assert index.shared_ids() == [RUNS[2], RUNS[0]]
    assert (index.display_name(RUNS[0]), index.display_name(RUNS[2])) == ("Team Rocket", "Ash")
    index.share(RUNS[0], "Renamed")
    assert index.display_name(RUNS[0]) == "Renamed"
    index.unshare(RUNS[2])
    index.unshare(RUNS[2])  # twice is fine
    assert index.shared_ids() == [RUNS[0]]
    index.add("alice", RUNS[0])
    index.remove("alice", RUNS[0])  # a deleted run is no longer shared either
    assert index.shared_ids() == []


def test_a_runs_folder_from_before_the_index_is_indexed_once(tmp_path) -> None:
    owners = {RUNS[0]: "alice", RUNS[1]: "bob", RUNS[2]: "alice"}
    for run_id, owner in owners.items():
        (tmp_path / run_id).mkdir()
        (tmp_path / run_id / "run.json").write_text(json.dumps({"run_id": run_id, "owner": owner}))
    (tmp_path / "20260104-000000-0000000e").mkdir()  # damaged: no run.json
    (tmp_path / "20260105-000000-0000000f").mkdir()
    (tmp_path / "20260105-000000-0000000f" / "run.json").write_text(json.dumps({"owner": "../../etc"}))
    index = RunIndex(tmp_path)
    assert index.runs_of("alice") == [RUNS[2], RUNS[0]] and index.runs_of("bob") == [RUNS[1]]
    assert sorted(p.name for p in index.owners_dir.iterdir()) == ["alice", "bob"]
    (tmp_path / RUNS[1] / "run.json").unlink()
    assert RunIndex(tmp_path).runs_of("bob") == [RUNS[1]]  # not rebuilt: the index is the record now
