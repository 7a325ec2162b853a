"""Streamlit helpers every page uses: errors, the PyTorch panel, the session id, explanations."""

from __future__ import annotations

import os
import uuid

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
def _run_manager_for(home: str):  # -> protlab.runs.RunManager
    """One RunManager per runs folder, shared by every page and every browser session."""
    from protlab.runs import RunManager

    return RunManager()


def run_manager():  # -> protlab.runs.RunManager
    """The app-wide RunManager: it survives reruns and page switches, and keeps each session's runs apart."""
    return _run_manager_for(os.environ.get("PROTLAB_HOME", ""))
