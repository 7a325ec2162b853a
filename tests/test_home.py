"""ProtLab's home folder: one rule for runs, students, settings and caches."""

from __future__ import annotations

from pathlib import Path

from protlab.data.cluster_cache import cache_dir
from protlab.home import protlab_home
from protlab.runs.store import home


def test_the_variable_wins_and_every_user_reads_the_same_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PROTLAB_HOME", str(tmp_path / "class"))
    assert protlab_home() == home() == tmp_path / "class"
    assert cache_dir() == tmp_path / "class" / "cache" / "clusters"


def test_without_the_variable_it_is_dot_protlab_in_the_user_home(monkeypatch) -> None:
    monkeypatch.delenv("PROTLAB_HOME", raising=False)
    assert protlab_home() == Path.home() / ".protlab"
    assert protlab_home({"PROTLAB_HOME": "/srv/class"}) == Path("/srv/class")
    assert protlab_home({"PROTLAB_HOME": ""}) == Path.home() / ".protlab"  # empty means unset
