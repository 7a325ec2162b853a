"""Streamlit helpers every page uses: errors, the PyTorch panel, the session id, explanations."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import NoReturn

import streamlit as st

from protlab.errors import ProtlabError
from protlab.home import protlab_home
from ui.router import stop_page
from ui.warmup import counted

# characters that Streamlit's Markdown reads as formatting: emphasis, code, links and images, HTML and
# entities, LaTeX ($), headings, quotes, tables, strikethrough, and ':' (icons, colours, autolinks)
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>#$~|:&])")
# bare addresses that GitHub-flavoured Markdown turns into links even when escaped (http://, www., a@b.c):
# an invisible word joiner after the scheme or before the '@' keeps them plain text that reads the same
_AUTOLINK_STARTS = re.compile(r"(?i)(\b(?:https?|ftp)(?=:)|\bwww(?=\.)|(?=@))")
WORD_JOINER = "\u2060"


def literal(text: object) -> str:
    """Text (user input or a message quoting it) escaped so that Markdown elements show it as typed."""
    unlinked = _AUTOLINK_STARTS.sub(lambda m: m.group(1) + WORD_JOINER, str(text))
    return _MARKDOWN_SPECIALS.sub(r"\\\1", unlinked)


def stop_with_error(err: ProtlabError) -> NoReturn:
    """Show a user error as a red box (its text shown literally) and stop the page script here."""
    st.error(literal(err), icon=":material/error:")
    stop_page()


def pytorch_panel(code: str, *, title: str = "Show me the PyTorch") -> None:
    """Show the code that does what the page just did, generated from the student's choices."""
    with st.expander(title, icon=":material/code:"):
        st.caption("Copy this into a notebook: it reproduces exactly what this page just computed.")
        st.code(code, language="python")


def fragment(body: Callable[..., None], *, run_every: float | None = None) -> Callable[..., None]:
    """st.fragment(body, run_every=...) whose reruns count as script runs (no warm-up import beside one)."""
    return st.fragment(counted(body), run_every=run_every)


def explain(markdown: str) -> None:
    """Show a short explanation for students next to the widget it explains."""
    st.caption(markdown)


def session_owner() -> str:
    """The student's owner id for runs and saved state: the same after a reload or with the personal link."""
    from ui.identity import owner_id

    return owner_id()


@st.cache_resource(show_spinner=False)
def _run_manager_for(runs_root: str):  # -> protlab.runs.RunManager
    """One RunManager per runs folder, shared by every page and every browser session of this server."""
    from protlab.runs import RunManager

    return RunManager(runs_root)


def run_manager():  # -> protlab.runs.RunManager
    """The app-wide RunManager for $PROTLAB_HOME/runs: it outlives reruns and page switches."""
    return _run_manager_for(str(protlab_home() / "runs"))


@st.cache_resource(show_spinner=False)
def _student_store_for(root: str):  # -> protlab.students.StudentStore
    """One StudentStore per folder, shared by every session."""
    from protlab.students import StudentStore

    return StudentStore(root)


def student_store():  # -> protlab.students.StudentStore
    """The store of every student's saved settings, pasted text and uploads ($PROTLAB_HOME/students)."""
    return _student_store_for(str(protlab_home() / "students"))


def duration_text(seconds: float | None) -> str:
    """Seconds as short readable text: 'under 1 s', '45 s', '3 min 05 s', '1 h 02 min'."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "unknown"
    if seconds < 0.5:  # '0 s' reads as no time at all
        return "under 1 s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


def about_text(seconds: float | None) -> str:
    """'about 45 s', 'about 3 min 05 s', or 'under 1 s' (no 'about' before it)."""
    text = duration_text(seconds)
    return text if text in ("under 1 s", "unknown") else f"about {text}"


def restart_run_manager(stop_runs: bool = True) -> None:
    """Close the app-wide RunManager of this process, as a server shutdown does (tests, restarts).

    With stop_runs, its running runs end as 'interrupted'; queued runs stay queued for the next manager.
    """
    root = str(protlab_home() / "runs")
    _run_manager_for(root).close(stop_runs=stop_runs)
    _run_manager_for.clear()
