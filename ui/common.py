"""Streamlit helpers every page uses: errors, the PyTorch panel, the session id, explanations."""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from typing import NoReturn

import streamlit as st

from protlab.errors import ProtlabError
from protlab.home import protlab_home

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


class PageStop(Exception):
    """Raised by stop_page inside page_stops_caught (app.py's page run), which catches it."""


_CATCHES_PAGE_STOP = "_protlab_catches_page_stop"  # session key set while app.py runs the chosen page


@contextlib.contextmanager
def page_stops_caught() -> Iterator[None]:
    """app.py runs the chosen page inside this: a stop_page() there ends the page and nothing else."""
    st.session_state[_CATCHES_PAGE_STOP] = True
    try:
        yield
    except PageStop:
        pass  # the page ended early (a user error, a missing file); app.py goes on to draw the sidebar
    finally:
        st.session_state.pop(_CATCHES_PAGE_STOP, None)


def stop_page() -> NoReturn:
    """End the page script here, as st.stop() does, yet leave app.py free to finish the sidebar.

    After st.stop() every further Streamlit call stops the script again, so the sidebar that app.py draws
    after the page (device, model, the personal link) would vanish whenever a page stopped on an error.
    """
    if st.session_state.get(_CATCHES_PAGE_STOP):
        raise PageStop
    st.stop()  # a page run on its own (as tests do): nothing is drawn after it


def stop_with_error(err: ProtlabError) -> NoReturn:
    """Show a user error as a red box (its text shown literally) and stop the page script here."""
    st.error(literal(err), icon=":material/error:")
    stop_page()


def pytorch_panel(code: str, *, title: str = "Show me the PyTorch") -> None:
    """Show the code that does what the page just did, generated from the student's choices."""
    with st.expander(title, icon=":material/code:"):
        st.caption("Copy this into a notebook: it reproduces exactly what this page just computed.")
        st.code(code, language="python")


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
    """Seconds as short readable text: '45 s', '3 min 05 s', '1 h 02 min'."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "unknown"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


def restart_run_manager(stop_runs: bool = True) -> None:
    """Close the app-wide RunManager of this process, as a server shutdown does (tests, restarts).

    With stop_runs, its running runs end as 'interrupted'; queued runs stay queued for the next manager.
    """
    root = str(protlab_home() / "runs")
    _run_manager_for(root).close(stop_runs=stop_runs)
    _run_manager_for.clear()
