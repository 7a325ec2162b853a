"""Streamlit helpers every page uses: errors, the PyTorch panel, the session id, explanations."""

from __future__ import annotations

import uuid

import streamlit as st

from protlab.errors import ProtlabError


def stop_with_error(err: ProtlabError) -> None:
    """Show a user error as a red box and stop the page script here."""
    st.error(str(err), icon="🚫")
    st.stop()


def pytorch_panel(code: str, *, title: str = "Show me the PyTorch") -> None:
    """Show the code that does what the page just did, generated from the student's choices."""
    with st.expander(title, icon="🐍"):
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
