"""The browser's memory of the student: a plain visit continues the session this browser used last (with a way
out for a shared computer), a link's token wins, and 'Forget this browser' deletes the cookie."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import identity

APP = str(Path(__file__).resolve().parents[1] / "app.py")
REMEMBERED = "Remembered-token_0123456789"


def _app(monkeypatch, cookie: str | None, query: str | None = None) -> AppTest:
    """The app opened with this browser's cookie holding `cookie` (AppTest cannot send cookies)."""
    monkeypatch.setattr(
        identity, "remembered_token", lambda: cookie if identity.valid_token(cookie) else None
    )
    at = AppTest.from_file(APP, default_timeout=180)
    if query is not None:
        at.query_params["student"] = query
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _cookie_scripts(at: AppTest) -> list[str]:
    """Cookie-writing scripts the sidebar sent in the last run."""
    bodies = [h.proto.body for h in at.sidebar.get("html")]
    return [b for b in bodies if f"document.cookie = '{identity.COOKIE}=" in b]


def _welcome_back(at: AppTest) -> bool:
    return any("Welcome back" in m.value for m in at.main.markdown)


def test_a_plain_visit_continues_the_session_this_browser_remembers(monkeypatch) -> None:
    at = _app(monkeypatch, REMEMBERED)
    assert at.query_params["student"] == REMEMBERED
    assert _welcome_back(at)
    assert any(
        f"{identity.COOKIE}={REMEMBERED};" in s and "max-age=15552000" in s for s in _cookie_scripts(at)
    )
    at.run()  # a rerun (any click) keeps the question until it is answered (test_e2e sees it in Chromium)
    assert at.session_state[identity.RESUMED_KEY] is True
    assert at.query_params["student"] == REMEMBERED


def test_yes_thats_me_answers_the_question_and_keeps_the_session(monkeypatch) -> None:
    at = _app(monkeypatch, REMEMBERED)
    at.button(key="protlab_keep_session").click().run()
    assert identity.RESUMED_KEY not in at.session_state and not _welcome_back(at)
    assert at.query_params["student"] == REMEMBERED


def test_a_first_visit_writes_its_new_token_to_the_cookie(monkeypatch) -> None:
    at = _app(monkeypatch, None)
    token = at.query_params["student"]
    assert not _welcome_back(at)
    assert [s for s in _cookie_scripts(at) if f"={token};" in s]


@pytest.mark.parametrize("cookie", ["bad token!", "short", "x'; alert(1); '0123456789"])
def test_a_malformed_cookie_is_ignored(monkeypatch, cookie) -> None:
    at = _app(monkeypatch, cookie)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", at.query_params["student"])
    assert not _welcome_back(at)


def test_a_links_token_wins_over_the_browsers_memory(monkeypatch) -> None:
    linked = "Linked-token-from-a-bookmark-42"
    at = _app(monkeypatch, REMEMBERED, query=linked)
    assert at.query_params["student"] == linked and not _welcome_back(at)
    assert [s for s in _cookie_scripts(at) if f"={linked};" in s]  # the browser now remembers the link's


def test_not_you_starts_a_new_empty_session(monkeypatch) -> None:
    at = _app(monkeypatch, REMEMBERED)
    at.session_state["active_model"] = {"name": "remembered student's model"}
    at.query_params["seq"] = "MKTAYIAKQRQ"  # a lesson's setting in the address (Encode keeps its sequence)
    at.button(key="protlab_new_session").click().run()
    assert not at.exception, [e.value for e in at.exception]
    token = at.query_params["student"]
    assert token != REMEMBERED and identity.valid_token(token)
    assert "active_model" not in at.session_state  # nothing of the earlier student is kept ...
    assert "seq" not in at.query_params  # ... in the session or in the address
    assert not _welcome_back(at)
    # (AppTest shows app.py's sidebar on a first run only: test_e2e checks the new cookie in Chromium)


def _panel() -> None:
    """The personal-link panel on its own (AppTest keeps it through reruns, unlike app.py's sidebar)."""
    from ui.identity import identity_panel

    identity_panel()


def _claim(script: str) -> int:
    """The time stamp a cookie script claims the browser's memory with."""
    return int(re.search(rf"{identity.CLAIM_COOKIE}=(\d+);", script)[1])


def test_every_run_sends_the_same_claim_so_an_older_tab_cannot_take_the_memory_back() -> None:
    at = AppTest.from_function(_panel, default_timeout=60)
    at.query_params["student"] = REMEMBERED
    at.run()
    (first,) = [h.proto.body for h in at.get("html")]
    at.run()
    (again,) = [h.proto.body for h in at.get("html")]
    assert first == again and f"{identity.COOKIE}={REMEMBERED};" in first
    # the script leaves the cookie alone when the browser's memory was set later (by another tab)
    assert f"> {_claim(first)}) return;" in first
    later = AppTest.from_function(_panel, default_timeout=60)
    later.query_params["student"] = "Another-students-token-42"
    later.run()
    assert _claim(later.get("html")[0].proto.body) >= _claim(first)


def test_forget_this_browser_deletes_the_cookie_and_says_so() -> None:
    at = AppTest.from_function(_panel, default_timeout=60)
    at.query_params["student"] = REMEMBERED
    at.run()
    claimed = _claim(at.get("html")[0].proto.body)
    at.button(key="protlab_forget_browser").click().run()
    (script,) = [h.proto.body for h in at.get("html")]
    assert f"'{identity.COOKIE}=; path=/; max-age=0" in script and _claim(script) >= claimed
    assert at.button(key="protlab_forget_browser").disabled
    assert any("no longer remembers you" in c.value for c in at.caption)
    assert any("no longer remembers you" in t.proto.body for t in at.get("toast"))
    at.run()  # it stays forgotten for the rest of the session: no run writes the token again
    (script,) = [h.proto.body for h in at.get("html")]
    assert f"'{identity.COOKIE}=; path=/; max-age=0" in script and REMEMBERED not in script
    assert at.query_params["student"] == REMEMBERED  # the session itself goes on under its link
