"""`python -m protlab.structure` rebuilds the bundled model: checkpoint and card agree with a rescoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protlab.models import load_checkpoint
from protlab.structure import prepare_structure, score_structure
from protlab.structure.__main__ import COMMAND, main


def test_a_short_rebuild_writes_a_checkpoint_and_a_card_that_agree(tmp_path: Path, capsys):
    out = tmp_path / "structure.pt"
    assert main(["--out", str(out), "--epochs", "1", "--limit", "24", "--threads", "1"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    loaded = load_checkpoint(out)
    assert loaded.kind == card["kind"] == "residue_cnn" and card["command"] == COMMAND
    _, split, sets = prepare_structure(seed=42)
    scored = score_structure(loaded.model, sets["test"], sets["train"])
    assert (
        card["test"]["q3"]
        == pytest.approx(scored["test"]["q3"])
        == pytest.approx(loaded.metrics["test"]["q3"])
    )
    assert card["baseline"]["q3"] == pytest.approx(scored["baseline"]["q3"])
    assert card["baseline"]["q3_if_unresolved_counted"] > card["baseline"]["q3"]  # the mask matters
    assert len(loaded.history) == 1 and "TS115" in capsys.readouterr().out


def test_bad_settings_end_with_one_error_line(tmp_path: Path, capsys):
    assert main(["--out", str(tmp_path / "m.pt"), "--epochs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: epochs must be") and not (tmp_path / "m.pt").exists()
