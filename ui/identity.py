"""Who the student is: a random token kept in the page address, so a reload or a reopened link is the same
student.

The token lives in the URL query string (?student=...). Streamlit clears the query string when the page
changes, so every page link ProtLab draws carries the token (see page_link), and student_token() puts it back
into the address on every script run from this browser session's memory, whatever link was followed. Runs and
saved settings are filed under owner_id(), a one-way hash of the token, so the token is never written to disk.
"""

from __future__ import annotations

import hashlib
import re
import secrets

import streamlit as st

PARAM = "student"  # query-string name of the token
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # a valid token (secrets.token_urlsafe(16) gives 22 characters)
TOKEN_KEY = "_student_token"  # session key: this browser session's token
REPLACED_KEY = "_student_token_replaced"  # session key: the malformed token the address held, until noticed
CAPTION = (
    "Your runs and files belong to this link: bookmark it. Opening ProtLab without it starts a new, empty "
    "session. Keep it to yourself: whoever has it sees your work."
)


def valid_token(text: object) -> bool:
    """True for a string that can be a student token."""
    return isinstance(text, str) and bool(TOKEN.match(text))


def new_token() -> str:
    """A fresh random token (128 bits)."""
    return secrets.token_urlsafe(16)


def student_token() -> str:
    """The student's token: the address's, else this session's, else a new one; kept in the address."""
    from_url = st.query_params.get(PARAM)
    if valid_token(from_url):
        token = from_url
    elif from_url is not None:
        token = new_token()  # a broken link: never an error, never someone else's identity
        st.session_state[REPLACED_KEY] = str(from_url)[:80]
    else:
        token = st.session_state.get(TOKEN_KEY) or new_token()
    st.session_state[TOKEN_KEY] = token
    if st.query_params.get(PARAM) != token:
        st.query_params[PARAM] = token
    return token


def owner_id(token: str | None = None) -> str:
    """The id the run system and the student store file this student under (a SHA-256 of the token)."""
    token = token or student_token()
    return hashlib.sha256(f"protlab-student:{token}".encode()).hexdigest()[:32]


def link_params() -> dict[str, str]:
    """Query parameters every page link carries."""
    return {PARAM: student_token()}


def page_link(page, **kwargs) -> None:
    """st.page_link that keeps the student's identity in the address of the page it opens."""
    st.page_link(page, query_params=link_params(), **kwargs)


def replaced_notice() -> None:
    """Say once that a malformed token in the address was replaced by a new identity."""
    bad = st.session_state.pop(REPLACED_KEY, None)
    if bad is not None:
        st.toast(
            "The address held a broken student id, so ProtLab gave you a new identity. Your earlier "
            "runs are under your original link: open that one to see them.",
            icon=":material/badge:",
            duration="long",
        )
        st.warning(
            "The link you opened had a broken student id (it must be 16 to 64 letters, digits, '-' or "
            "'_'), so you now have a new identity. Open your original link to get back to your runs.",
            icon=":material/badge:",
        )


def identity_panel() -> None:
    """The student's personal link, to bookmark, and what it means."""
    url = st.context.url or ""
    with st.expander("Your personal link", icon=":material/badge:"):
        st.caption("Bookmark it or keep it: opening it again brings back your runs, settings and files.")
        st.code(f"{url}?{PARAM}={student_token()}", language=None, wrap_lines=True)
    st.caption(CAPTION)
