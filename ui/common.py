"""Streamlit helpers every page uses: errors, the PyTorch panel, the session id, explanations."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import streamlit as st

from protlab.errors import ProtlabError


def stop_with_error(err: ProtlabError) -> None:
    """Show a user error as a red box and stop the page script here."""
    st.error(str(err), icon=":material/error:")
    st.stop()


def pytorch_panel(code: str, *, title: str = "Show me the PyTorch") -> None:
    """Show the code that does what the page just did, generated from the student's choices."""
    with st.expander(title, icon=":material/code:"):
        st.caption("Copy this into a notebook: it reproduces exactly what this page just computed.")
        st.code(code, language="python")


def explain(markdown: str) -> None:
    """Show a short explanation for students next to the widget it explains."""
    st.caption(markdown)


def session_owner() -> str:
    """Return a random id for this browser session, used to keep training runs apart."""
    if "owner_id" not in st.session_state:
        st.session_state["owner_id"] = uuid.uuid4().hex
    return st.session_state["owner_id"]


@st.cache_resource(show_spinner=False)
def _run_manager_for(runs_root: str):  # -> protlab.runs.RunManager
    """One RunManager per runs folder, shared by every page and every browser session of this server."""
    from protlab.runs import RunManager

    return RunManager(runs_root)


def run_manager():  # -> protlab.runs.RunManager
    """The app-wide RunManager for $PROTLAB_HOME/runs: it outlives reruns and page switches."""
    home = os.environ.get("PROTLAB_HOME") or str(Path.home() / ".protlab")
    return _run_manager_for(str(Path(home) / "runs"))


def duration_text(seconds: float | None) -> str:
    """Seconds as short readable text: '45 s', '3 min 05 s', '1 h 02 min'."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {(seconds % 3600) // 60:02d} min"


KEEP_PREFIX = "_kept_"  # session keys that remember widget values while the student is on another page


def kept(key: str, default):  # -> the remembered value or default
    """The value widget `key` had when this session last showed it, else default (pass it as the widget's default).

    Streamlit forgets a page's widget values when the student switches page; this brings them back.
    """
    return st.session_state.get(KEEP_PREFIX + key, default)


def kept_index(key: str, options, default=None) -> int:
    """Index of the remembered choice of a radio/selectbox in options (default's index, else 0)."""
    options = list(options)
    value = kept(key, default)
    return options.index(value) if value in options else (options.index(default) if default in options else 0)


def keep_widgets(keys) -> None:
    """Remember the current values of these widgets for the next visit to this page."""
    for key in keys:
        if key in st.session_state:
            st.session_state[KEEP_PREFIX + key] = st.session_state[key]


def remembered_upload(label: str, types: list[str], key: str, hint: str) -> tuple[str, bytes]:
    """Offer a file upload and keep the last file in session state (tests set it directly); stop with a hint if none."""
    upload = st.file_uploader(label, type=types)
    if upload is not None:
        st.session_state[key] = (upload.name, upload.getvalue())
    if key not in st.session_state:
        st.info(hint)
        st.stop()
    return st.session_state[key]
