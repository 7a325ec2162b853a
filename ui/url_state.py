"""A lesson's settings in the page address, so a copied link opens exactly the same view.

Each lesson page declares its address parameters once, then on every run reads them before drawing its
widgets and writes the widgets' values back after:

    PARAMS = [UrlParam("surface", "gd_surface", choice(SURFACES), default="bowl")]
    read_url("gd", PARAMS)            # a value new in the address seeds the widget's session-state key
    ... draw the widgets ...
    write_url("gd", PARAMS, {"surface": st.session_state["gd_surface"]})
    copy_link("gd", PARAMS)           # "Copy link": every setting of this view, without the student token

A value arriving in the address is checked like any input (protlab.checks rules); a bad one is left out,
the widget keeps its default and the page says which parameter and value it ignored: never an exception.
A value the page wrote or read before is not read again (the student's later widget changes win, even when
a rerun arrives with an older address), so a link is applied once, when it is opened. The student token
(?student=, ui.identity) is never written or removed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st

from protlab.checks import Choice, FloatRange, IntRange
from protlab.errors import ConfigError, ProtlabError
from ui.common import literal
from ui.identity import PARAM as STUDENT_PARAM

SEEN_PREFIX = "_url_seen_"  # session key per page: {parameter: texts read from or written to the address}
MAX_SEEN = 64  # texts remembered per parameter
RESERVED = {"embed", "embed_options", STUDENT_PARAM}  # names a page may not use (Streamlit's and the token)
VIEW_PREFIX = "_url_view_"  # session key per page: {parameter: text} of every current setting (Copy link)
MAX_TEXT = 2000  # longest text value (e.g. a sequence) a link carries


@dataclass(frozen=True)
class UrlParam:
    """One setting kept in the address."""

    name: str  # query-string name, e.g. "lr_adam"
    key: str | None  # widget session-state key the value seeds (None: the page uses read_url's result)
    parse: Callable[[str, str], object]  # (text, name) -> value; raises ConfigError saying what is allowed
    default: object = None  # the page's own default: not written, so a plain link stays short
    fmt: Callable[[object], str] = str  # value -> text in the address

    def __post_init__(self) -> None:
        if self.name.lower() in RESERVED:
            raise ValueError(f"{self.name!r} is a query parameter Streamlit or ProtLab keeps for itself.")


def int_value(rule: IntRange) -> Callable[[str, str], int]:
    """Parser for an integer checked by rule."""

    def parse(text: str, name: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ConfigError(f"{name} must be {rule.describe()}; got {text[:40]!r}.") from None
        return rule.check(value, name)

    return parse


def float_value(rule: FloatRange) -> Callable[[str, str], float]:
    """Parser for a number checked by rule (NaN and infinity are refused by the rule)."""

    def parse(text: str, name: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ConfigError(f"{name} must be {rule.describe()}; got {text[:40]!r}.") from None
        return rule.check(value, name)

    return parse


def choice(options) -> Callable[[str, str], str]:
    """Parser for one of a fixed list of names."""
    rule = Choice(tuple(options))
    return lambda text, name: rule.check(text, name)


def options_value(options, fmt: Callable[[object], str] = lambda v: f"{v:g}") -> Callable[[str, str], object]:
    """Parser for one of a list of options (numbers, lists, ...), matched by how fmt writes them."""
    texts = {fmt(option): option for option in options}

    def parse(text: str, name: str):
        if text.strip() not in texts:
            raise ConfigError(f"{name} must be one of {', '.join(texts)}; got {text[:40]!r}.")
        return texts[text.strip()]

    return parse


def flag(text: str, name: str) -> bool:
    """Parser for true/false (1/0 too)."""
    value = {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower())
    if value is None:
        raise ConfigError(f"{name} must be true or false; got {text[:40]!r}.")
    return value


def text_value(text: str, name: str) -> str:
    """Parser for free text of at most MAX_TEXT characters (the page checks its content as it does typing)."""
    if len(text) > MAX_TEXT:
        raise ConfigError(f"{name} must be at most {MAX_TEXT:,} characters long; got {len(text):,}.")
    return text


def list_value(item: Callable[[str, str], object], low: int, high: int) -> Callable[[str, str], list]:
    """Parser for a comma-separated list of low..high items, each checked by item (an empty text is [])."""

    def parse(text: str, name: str) -> list:
        parts = [part for part in text.split(",") if part.strip()]
        if not low <= len(parts) <= high:
            raise ConfigError(f"{name} must list from {low} to {high} values; got {len(parts)}.")
        return [item(part, f"{name} item {i}") for i, part in enumerate(parts, start=1)]

    return parse


def list_fmt(values) -> str:
    """A list as the address writes it: comma-separated."""
    return ",".join(str(v) for v in values)


def _seen(page: str) -> dict:
    """The texts this session read from or wrote to the address, per parameter of this page.

    A rerun can arrive with an older address than the one last written (the browser had not caught up), so
    a text this session has seen before is never applied again: only a text new to the session is a link.
    """
    return st.session_state.setdefault(SEEN_PREFIX + page, {})


def _mark_seen(seen: dict, name: str, text: str) -> None:
    """Remember that the address held this text for this parameter (the last MAX_SEEN texts)."""
    texts = seen.setdefault(name, [])
    if text in texts:
        texts.remove(text)
    texts.append(text)
    del texts[:-MAX_SEEN]


def read_url(page: str, params: list[UrlParam]) -> dict[str, object]:
    """Read this page's parameters that are new in the address; return the good ones by name.

    A good value with a key seeds that widget's session state; a bad one is dropped from the address and
    named in a warning (the widget keeps its default).
    """
    seen, found = _seen(page), {}
    for param in params:
        text = st.query_params.get(param.name)
        if text is None or text in seen.get(param.name, ()):
            continue
        _mark_seen(seen, param.name, text)
        try:
            value = param.parse(text, param.name)
        except ProtlabError as err:
            _notice(param, text, str(err))
            del st.query_params[param.name]
            continue
        found[param.name] = value
        if param.key is not None:
            st.session_state[param.key] = value
    return found


def _notice(param: UrlParam, text: str, reason: str) -> None:
    """Say which parameter of the link was ignored, its value and why (the value is shown literally)."""
    shown = text if len(text) <= 60 else text[:57] + "..."
    message = (
        f"The link's setting **{param.name}** = {literal(repr(shown))} was ignored: {literal(reason)} "
        "The page uses its default instead."
    )
    st.warning(message, icon=":material/link_off:")
    st.toast(f"Ignored link setting {param.name!r}", icon=":material/link_off:")


def write_url(page: str, params: list[UrlParam], values: Mapping[str, object]) -> None:
    """Put the page's current values into the address (a value equal to its default is left out there, but
    kept for the page's Copy link, which spells out every setting)."""
    seen, view = _seen(page), st.session_state.setdefault(VIEW_PREFIX + page, {})
    for param in params:
        if param.name not in values:
            continue
        value = values[param.name]
        text = None if value is None else param.fmt(value)
        if text is not None and len(text) > MAX_TEXT:
            text = None  # too long for a link: the page says so (too_long_for_link)
        if text is None:
            view.pop(param.name, None)
        else:
            view[param.name] = text
        if text is None or value == param.default:
            if param.name in st.query_params:
                del st.query_params[param.name]
        else:
            if st.query_params.get(param.name) != text:
                st.query_params[param.name] = text
            _mark_seen(seen, param.name, text)


def too_long_for_link(text: str) -> bool:
    """True when a text setting is too long to travel in a link."""
    return len(text) > MAX_TEXT


def view_query(page: str, params: list[UrlParam]) -> str:
    """The query string of this view: every setting the page last wrote, never the student token."""
    view = st.session_state.get(VIEW_PREFIX + page, {})
    pairs = [(p.name, view[p.name]) for p in params if p.name in view and p.name != STUDENT_PARAM]
    return urlencode(pairs)


def view_link(page: str, params: list[UrlParam]) -> str:
    """The full address of this view (the page's address plus all its settings)."""
    base = (st.context.url or "").split("?")[0]
    query = view_query(page, params)
    return f"{base}?{query}" if query else base


def copy_link(page: str, params: list[UrlParam], *, note: str = "") -> None:
    """A 'Copy link' box: the address that opens this view with these settings in another browser."""
    with st.expander("Copy link to this view", icon=":material/link:"):
        st.caption(
            "Opening this link in another browser shows the same settings. It does not carry your "
            "student identity, so it is safe to share."
        )
        st.code(view_link(page, params), language=None, wrap_lines=True)
        if note:
            st.caption(note)
