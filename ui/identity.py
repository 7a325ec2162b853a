"""Who the student is: a random token kept in the page address, so a reload or a reopened link is the same
student.

The token lives in the URL query string (?student=...). Streamlit clears the query string when the page
changes, so every page link ProtLab draws carries the token (see page_link), and student_token() puts it back
into the address on every script run from this browser session's memory, whatever link was followed. Runs and
saved settings are filed under owner_id(), a one-way hash of the token, so the server never writes the token.

The student's browser keeps the token as well (a first-party cookie that remember_in_browser writes): opening
ProtLab's plain address again, from the course page or a typed URL, continues the session this browser used
last, with a notice that offers a new session instead (for a shared computer). A link with a token always
wins over the cookie, and 'Forget this browser' deletes it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

import streamlit as st

PARAM = "student"  # query-string name of the token
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # a valid token (secrets.token_urlsafe(16) gives 22 characters)
TOKEN_KEY = "_student_token"  # session key: this browser session's token
REPLACED_KEY = "_student_token_replaced"  # session key: the malformed token the address held, until noticed
RESUMED_KEY = "_student_resumed"  # session key: the token came from this browser's cookie, until answered
COOKIE = "protlab_student"  # name of the cookie that remembers the token in this browser
COOKIE_DAYS = 180  # how long the browser keeps it (a course's length and then some)
CLAIM_COOKIE = "protlab_student_at"  # when (server ms) the browser's memory was last set or forgotten
FORGET_KEY = "_student_forget_browser"  # session key: ms of 'Forget this browser' (the cookie is deleted)
CLAIM_KEY = "_student_claim"  # session key: (token, ms) when this session took its token
CAPTION = (
    "Your runs and files belong to this link: bookmark it. Keep it to yourself: whoever has it sees "
    "your work."
)
REMEMBERED_CAPTION = "This browser remembers it too, so opening ProtLab here again continues your session."
FORGOTTEN_CAPTION = "This browser no longer remembers you: keep your link to come back."


def valid_token(text: object) -> bool:
    """True for a string that can be a student token."""
    return isinstance(text, str) and bool(TOKEN.match(text))


def new_token() -> str:
    """A fresh random token (128 bits)."""
    return secrets.token_urlsafe(16)


def remembered_token() -> str | None:
    """The token this browser's cookie holds (sent when the session opened), or None if none is valid."""
    value = (st.context.cookies or {}).get(COOKIE)
    return value if valid_token(value) else None


def student_token() -> str:
    """The student's token: the address's, else this session's, else this browser's, else a new one; kept in
    the address."""
    from_url = st.query_params.get(PARAM)
    if valid_token(from_url):
        token = from_url
    elif from_url is not None:
        token = new_token()  # a broken link: never an error, never someone else's identity
        st.session_state[REPLACED_KEY] = str(from_url)[:80]
    elif st.session_state.get(TOKEN_KEY):
        token = st.session_state[TOKEN_KEY]
    elif remembered := remembered_token():
        token = remembered
        st.session_state[RESUMED_KEY] = True
    else:
        token = new_token()
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


def page_link(page, *, extra: dict[str, str] | None = None, **kwargs) -> None:
    """st.page_link that keeps the student's identity in the address of the page it opens (with extra
    query parameters for that page, if given)."""
    st.page_link(page, query_params={**link_params(), **(extra or {})}, **kwargs)


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


def _start_new_session() -> None:
    """Button callback: leave the remembered session for a new, empty one (the cookie follows on this run)."""
    token = new_token()
    st.session_state.clear()  # nothing of the remembered student's settings stays in this browser session,
    st.query_params.clear()  # nor in the address (a lesson keeps its settings there, e.g. Encode's sequence)
    st.session_state[TOKEN_KEY] = token
    st.query_params[PARAM] = token


def _keep_session() -> None:
    """Button callback: the student confirmed the remembered session is theirs."""
    st.session_state.pop(RESUMED_KEY, None)


def _forget_browser() -> None:
    """Button callback: delete this browser's cookie and write none again in this session."""
    st.session_state[FORGET_KEY] = _now_ms()
    st.toast(
        "This browser no longer remembers you. Keep your personal link to come back to your work.",
        icon=":material/badge:",
    )


def resumed_notice() -> None:
    """Until answered: this browser's last session was continued; keep it, or start a new one instead."""
    if not st.session_state.get(RESUMED_KEY):
        return
    with st.container(border=True, key="protlab-resumed"):
        st.markdown(
            ":material/history: **Welcome back.** This browser used ProtLab before, so your session "
            "continues: your runs, settings and files are here."
        )
        keep, new = st.columns(2)
        keep.button("Yes, that's me", key="protlab_keep_session", on_click=_keep_session, width="stretch")
        new.button(
            "Not you? Start a new session",
            key="protlab_new_session",
            on_click=_start_new_session,
            width="stretch",
            help="On a shared computer: a new, empty session; the earlier one stays under its own link.",
        )


def _now_ms() -> int:
    """Server time in milliseconds (every claim on the browser's memory is stamped with it)."""
    return time.time_ns() // 1_000_000


def _cookie_script(token: str, claimed_ms: int) -> str:
    """A script that sets the token cookie (or deletes it, for token "") unless the browser's memory was set
    or forgotten later than claimed_ms, by another tab of the same browser."""
    max_age = COOKIE_DAYS * 24 * 3600
    keep = f"path=/; max-age={max_age}; SameSite=Lax"
    value = f"{COOKIE}={token}; {keep}" if token else f"{COOKIE}=; path=/; max-age=0; SameSite=Lax"
    return (
        "<script>(function () {"
        f"const found = document.cookie.match(/(?:^|; ){CLAIM_COOKIE}=(\\d+)/);"
        f"if (found && Number(found[1]) > {int(claimed_ms)}) return;"
        f"document.cookie = '{value}';"
        f"document.cookie = '{CLAIM_COOKIE}={int(claimed_ms)}; {keep}';"
        "})();</script>"
    )


def remember_in_browser(token: str) -> None:
    """Keep the token in this browser's cookie, or delete it once this session asked to be forgotten.

    The script comes with every run (a page that reruns at once may drop the element before its script runs),
    stamped with the time this session took its token: a tab left open under an earlier identity never takes
    the browser's memory back from a newer session or from 'Forget this browser' in another tab."""
    if st.session_state.get(FORGET_KEY):
        st.html(_cookie_script("", st.session_state[FORGET_KEY]), unsafe_allow_javascript=True)
        return
    if not valid_token(token):  # a valid token is letters, digits, '-' and '_': safe inside the script
        return
    claim = st.session_state.get(CLAIM_KEY)
    if not claim or claim[0] != token:
        claim = (token, _now_ms())
        st.session_state[CLAIM_KEY] = claim
    st.html(_cookie_script(token, claim[1]), unsafe_allow_javascript=True)


def identity_panel() -> None:
    """The student's personal link, to bookmark, and what it means; the browser's memory of it."""
    url = st.context.url or ""
    token = student_token()
    with st.expander("Your personal link", icon=":material/badge:"):
        st.caption("Bookmark it or keep it: opening it again brings back your runs, settings and files.")
        st.code(f"{url}?{PARAM}={token}", language=None, wrap_lines=True)
        forgotten = bool(st.session_state.get(FORGET_KEY))
        st.button(
            "Forget this browser",
            key="protlab_forget_browser",
            on_click=_forget_browser,
            disabled=forgotten,
            help="On a shared computer: the next person who opens ProtLab here starts a new session. "
            "Your work stays under your link.",
        )
    st.caption(f"{CAPTION} {FORGOTTEN_CAPTION if forgotten else REMEMBERED_CAPTION}")
    remember_in_browser(token)
