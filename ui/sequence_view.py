"""A typed sequence shown back to the student: highlighted positions, and where a bad character sits."""

from __future__ import annotations

import html

import streamlit as st

from protlab.errors import InvalidSequenceError
from ui.common import literal

WINDOW = 40  # residues shown on each side of a bad character


def highlighted_sequence(sequence: str, positions: set[int], colour: str, title: str) -> str:
    """Return HTML showing a sequence in a monospace box with the given 1-based positions highlighted."""
    parts = []
    for i, char in enumerate(sequence, start=1):
        text = html.escape(char) if char.isprintable() and not char.isspace() else "␣"
        if i in positions:
            parts.append(
                f'<mark style="background:{colour};padding:0 2px;border-radius:3px" '
                f'title="{title} at position {i}">{text}</mark>'
            )
        else:
            parts.append(text)
    return (
        '<div style="font-family:monospace;font-size:1.05rem;word-break:break-all;'
        f'line-height:1.6">{"".join(parts)}</div>'
    )


def show_bad_character(text: str, err: InvalidSequenceError) -> None:
    """Show where the offending character sits in the pasted sequence, then the cleaner's message."""
    body = err.residues  # what the cleaner counted positions in (spaces and position numbers removed)
    if body is None:
        lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
        body = "".join("".join(line.split()) for line in lines)
    position = err.position
    if err.character and (position is None or position > len(body) or body[position - 1] != err.character):
        found = body.find(err.character)
        position = found + 1 if found >= 0 else None
    if err.character and position:
        lo, hi = max(0, position - 1 - WINDOW), min(len(body), position + WINDOW)
        snippet = ("…" if lo else "") + body[lo:hi] + ("…" if hi < len(body) else "")
        shift = 1 if lo else 0
        st.markdown(
            highlighted_sequence(snippet, {position - lo + shift}, "#ff8a80", "not an amino acid"),
            unsafe_allow_html=True,
        )
        st.caption(f"The highlighted character at position {position} is the one ProtLab cannot read.")
    st.error(literal(err), icon=":material/block:")
