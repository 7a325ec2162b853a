"""What a page remembers for the student: widget settings, pasted text and uploaded files.

Streamlit forgets a page's widgets when the student switches page, and a reload starts a new session. These
helpers keep the values in this session's memory and in the student's folder on disk (protlab.students), so
they come back after a page switch, a reload, a reopened link and a server restart.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from protlab.errors import ProtlabError
from ui.common import literal, session_owner, student_store
from ui.router import stop_page

KEEP_PREFIX = "_kept_"  # session keys that remember widget values while the student is on another page
LOADED_KEY = "_kept_loaded"  # session flag: the saved settings were read from disk in this session
SAVED_KEY = "_kept_saved"  # session copy of the settings last written to disk (to skip unchanged writes)
SETTINGS = "settings"  # store key holding every remembered widget value
TEXT_PREFIX = "text_"  # store keys of remembered text areas
TEXT_COPY_PREFIX = "_text_copy_"  # session keys: a text area's text while the student is on another page


def _load_saved_settings() -> None:
    """Bring the student's saved widget values into this session, once."""
    if st.session_state.get(LOADED_KEY):
        return
    st.session_state[LOADED_KEY] = True
    saved = student_store().load(session_owner(), SETTINGS, {})
    if isinstance(saved, dict):
        for key, value in saved.items():
            st.session_state.setdefault(KEEP_PREFIX + key, value)
        st.session_state[SAVED_KEY] = dict(saved)


def kept(key: str, default, *, options=None, low=None, high=None):  # -> the remembered value or default
    """The value widget `key` last had for this student, else default (pass it as the widget's default).

    A remembered value of another type than default, or not among options, gives default; a number outside
    low..high is moved to the nearest end (say the class epoch cap was lowered since).
    """
    _load_saved_settings()
    value = st.session_state.get(KEEP_PREFIX + key, default)
    if default is not None and type(value) is not type(default):
        return default
    if options is not None and value not in list(options):
        return default
    if low is not None and value < low:
        return low
    if high is not None and value > high:
        return high
    return value


def kept_index(key: str, options, default=None) -> int:
    """Index of the remembered choice of a radio/selectbox in options (default's index, else 0)."""
    options = list(options)
    value = kept(key, default)
    return options.index(value) if value in options else (options.index(default) if default in options else 0)


def keep_widgets(keys) -> None:
    """Remember the current values of these widgets for the next visit (this session and on disk)."""
    _load_saved_settings()
    for key in keys:
        if key in st.session_state:
            st.session_state[KEEP_PREFIX + key] = st.session_state[key]
    values = {
        k[len(KEEP_PREFIX) :]: v
        for k, v in st.session_state.items()
        if k.startswith(KEEP_PREFIX)
        and k not in (LOADED_KEY, SAVED_KEY)
        and isinstance(v, (bool, int, float, str))
    }
    if values != st.session_state.get(SAVED_KEY):
        try:
            student_store().save(session_owner(), SETTINGS, values)
        except (ProtlabError, OSError):
            return  # not remembered on disk this time; the session still has the values
        st.session_state[SAVED_KEY] = values


def hold_widgets(keys) -> None:
    """Keep these widgets' values through runs that do not draw them (a closed tab): Streamlit forgets a
    widget's value when a run skips it, but keeps a value set through session state."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def remembered_text(key: str, default: str) -> str:
    """The text the student last left in text area `key` (this session, else saved), else default."""
    if isinstance(st.session_state.get(key), str):
        return st.session_state[key]
    if TEXT_COPY_PREFIX + key in st.session_state:  # back from another page: the text as it was left
        return st.session_state[TEXT_COPY_PREFIX + key]
    saved = student_store().load(session_owner(), TEXT_PREFIX + key)
    text = saved if isinstance(saved, str) else default
    st.session_state.setdefault(f"_saved_{TEXT_PREFIX}{key}", text)  # unchanged text is not written again
    return text


def remember_text(key: str, text: str) -> None:
    """Save the text of text area `key` for the student's next visit (only when it changed).

    The session keeps its own copy, so the text survives a page switch even when it cannot be saved.
    """
    st.session_state[TEXT_COPY_PREFIX + key] = text
    seen = f"_saved_{TEXT_PREFIX}{key}"
    if st.session_state.get(seen) == text:
        return
    try:
        student_store().save(session_owner(), TEXT_PREFIX + key, text)
    except (ProtlabError, OSError):
        st.caption("This text is too long to be remembered for your next visit.")
        return
    st.session_state[seen] = text


def remembered_upload(
    label: str,
    types: list[str],
    key: str,
    hint: str,
    *,
    slot: str,
    check: Callable[[bytes, str], object] | None = None,
) -> tuple[str, bytes]:
    """An upload that stays: the file in use is named with a Clear button after page switches and reloads.

    Returns (file name, bytes); stops the page with hint when there is no file. A file that replaces one in
    use must pass check(bytes, name) (a ProtlabError refuses it, and the file in use stays). Tests may put
    (name, bytes) into st.session_state[key] directly, as the uploader would.
    """
    store, owner = student_store(), session_owner()
    if key not in st.session_state:
        saved = store.load_upload(owner, slot)
        if saved is not None:
            st.session_state[key] = (saved.name, saved.data)
    in_use = st.container()  # above the uploader: the file the page is using
    refused_key = f"_{key}_refused"  # why the last replacement was refused, shown once
    nonce_key = f"_{key}_uploader"  # a new uploader key empties the uploader after each accepted file
    upload = st.file_uploader(
        label if key not in st.session_state else "Replace it with another file",
        type=types,
        key=f"{key}_uploader_{st.session_state.get(nonce_key, 0)}",
    )
    if upload is not None:
        try:
            if check is not None and key in st.session_state:  # a replacement: keep the good file if it fails
                check(upload.getvalue(), upload.name)
            stored = store.save_upload(owner, slot, upload.name, upload.getvalue())
        except ProtlabError as err:
            if key not in st.session_state:
                st.error(literal(err), icon=":material/error:")
                stop_page()
            stored = None
            st.session_state[refused_key] = (upload.name, str(err))
        if stored is not None:
            st.session_state[key] = (stored.name, stored.data)
        st.session_state[nonce_key] = st.session_state.get(nonce_key, 0) + 1  # a new, empty uploader
        st.rerun()
    if key not in st.session_state:
        st.info(hint, icon=":material/upload_file:")
        stop_page()
    name, data = st.session_state[key]
    if refused_key in st.session_state:
        new_name, why = st.session_state.pop(refused_key)
        in_use.error(
            f"**{literal(new_name)}** was not used, so **{literal(name)}** stays in use. {literal(why)}",
            icon=":material/error:",
        )
    left, right = in_use.columns([5, 1], vertical_alignment="center")
    left.markdown(
        f":material/description: Using **{literal(name)}** ({len(data) / 1024:,.1f} kB). It stays here when "
        "you switch pages or come back later."
    )
    if right.button("Clear", key=f"{key}_clear", icon=":material/close:"):
        store.clear_upload(owner, slot)
        del st.session_state[key]
        st.rerun()
    return name, data
