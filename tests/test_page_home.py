"""The home page explains ProtLab and links every lesson to its place in the course notes."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _home() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_links_to_all_five_lessons() -> None:
    links = _home().main.get("page_link")  # the lesson links (the sidebar has the menu)
    assert [link.proto.page for link in links] == [
        "encode",
        "gradient-descent",
        "build-network",
        "train",
        "predict",
        "bias-variance",
    ]
    assert [link.proto.label[:1] for link in links] == ["1", "2", "3", "4", "5", "T"]


def test_home_maps_lessons_to_note_sections_and_exercises() -> None:
    text = " ".join(m.value for m in _home().markdown)
    for section in ["sec. 4", "sec. 5", "sec. 6", "sec. 7", "sec. 8"]:
        assert section in text
    assert "4 (SGD vs Adam vs AdamW)" in text and "5 (MCC)" in text and "Exercise 1" in text
    assert "ProtLab" in _home().title[0].value
