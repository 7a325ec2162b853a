"""The home page explains ProtLab and links every lesson to its place in the course notes."""

from __future__ import annotations

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui.router import url_path

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def _home() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _sections() -> dict[str, list[tuple[str, str, str]]]:
    """app.py's SECTIONS, read from its source (importing app.py would draw the app)."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "SECTIONS":
            return ast.literal_eval(node.value)
    raise AssertionError("app.py has no SECTIONS")


def test_home_links_every_page_of_the_menu() -> None:
    links = _home().main.get("page_link")  # the lesson links (the sidebar has the menu)
    linked = {link.proto.page: link.proto.label.strip("*") for link in links}  # titles are bold
    pages = [entry for entries in _sections().values() for entry in entries if entry[0] != "pages/home.py"]
    assert pages, "SECTIONS lists no pages besides home"
    for file, title, _icon in pages:
        assert url_path(file) in linked, f"{file} ({title}) is missing from the home page's map"
        assert linked[url_path(file)] == title  # the map names each page as the menu does
    assert [link.proto.page for link in links] == [url_path(e[0]) for e in pages]  # each once, in menu order


def test_home_lists_the_numbered_lessons_in_order() -> None:
    links = _home().main.get("page_link")
    labels = [link.proto.label.strip("*") for link in links]  # titles are bold
    numbered = [label for label in labels if label[:1].isdigit()]
    assert [label[0] for label in numbered] == ["1", "2", "3", "4", "5", "6"]


def test_home_maps_lessons_to_note_sections_and_exercises() -> None:
    home = _home()
    text = " ".join(m.value for m in [*home.markdown, *home.caption])
    for section in ["sec. 4", "sec. 5", "sec. 6", "sec. 7", "sec. 8"]:
        assert section in text
    assert "4 (SGD vs Adam vs AdamW)" in text and "5 (MCC)" in text and "Exercise 1" in text
    assert "ProtLab" in _home().title[0].value


def test_the_bias_variance_card_describes_the_sweeps_the_page_offers() -> None:
    from protlab.lessons import BV_PRESETS

    home = _home()
    card = next(c.value for c in home.caption if "under- and over-fitting" in c.value)
    configs = sorted((c for _, c in BV_PRESETS.values()), key=lambda c: len(c.widths) * len(c.fractions))
    small, large = configs[0], configs[-1]
    assert f"{len(small.widths)} × {len(small.fractions)} tiny check" in card
    assert f"{len(large.widths)} widths × {len(large.fractions)} data sizes" in card
    assert "four widths on three" not in card  # not every sweep has four widths


def test_home_draws_no_chart_at_first_and_a_hidden_one_once_the_timer_has_fired() -> None:
    at = _home()
    assert len(at.main.get("plotly_chart")) == 0  # the first run only starts the two-second timer
    at.session_state["home_charts_preloaded"] = True  # what the timer's first tick sets
    at.run()
    assert len(at.main.get("plotly_chart")) == 1  # the page itself shows no chart
    last = list(at.main.children.values())[-1]  # drawn after every visible element
    assert last.proto.id.endswith("chart-preload")
    assert len(last.get("plotly_chart")) == 1
    styles = [h.proto.body for h in at.get("html")]
    assert "<style>.st-key-chart-preload { display: none; }</style>" in styles
