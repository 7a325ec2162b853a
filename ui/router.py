"""Make every page run inside app.py's router, even when a page's address is the first one visited."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import streamlit as st

ROUTED_RUN = "_protlab_routed_run"  # session key set while app.py runs the chosen page
_CATCHES_PAGE_STOP = "_protlab_catches_page_stop"  # session key: app.py catches a stop_page() in the page


class PageStop(Exception):
    """Raised by stop_page inside routed_page (app.py's page run), which catches it."""


@contextlib.contextmanager
def routed_page() -> Iterator[None]:
    """app.py runs the chosen page inside this: the page knows the router runs it, and a stop_page() there
    ends the page and nothing else (app.py goes on to draw the sidebar)."""
    st.session_state[ROUTED_RUN] = True
    st.session_state[_CATCHES_PAGE_STOP] = True
    try:
        yield
    except PageStop:
        pass  # the page ended early (a user error, a missing file)
    finally:
        st.session_state.pop(ROUTED_RUN, None)
        st.session_state.pop(_CATCHES_PAGE_STOP, None)


def in_app() -> bool:
    """True while app.py runs the page, so its st.navigation knows every page a link may open; False for a
    page file run on its own (as the page tests do), where a page link cannot be resolved."""
    return bool(st.session_state.get(_CATCHES_PAGE_STOP))


def stop_page() -> NoReturn:
    """End the page script here, as st.stop() does, yet leave app.py free to finish the sidebar.

    After st.stop() every further Streamlit call stops the script again, so the sidebar that app.py draws
    after the page (device, model, the personal link) would vanish whenever a page stopped on an error.
    Tests that run a page on its own and only set ROUTED_RUN get st.stop(), as nothing would catch PageStop.
    """
    if st.session_state.get(_CATCHES_PAGE_STOP):
        raise PageStop
    st.stop()


def ensure_router() -> None:
    """Hand a direct first visit to a page over to app.py, so the page gets the full app around it.

    Until app.py has called st.navigation once in this server process, Streamlit treats a folder named
    pages/ as an old-style page list and runs a directly visited page on its own (no menu sections, no
    sidebar, no page settings). Calling st.navigation is Streamlit's documented way to take over from the
    pages/ folder; switching to the page at the visited address then runs app.py, which routes to it.
    """
    if st.session_state.get(ROUTED_RUN) or Path(sys.argv[0]).name != "app.py":
        return  # routed by app.py already, or a page file run on its own (as tests do): nothing to hand over
    requested = st.navigation(_page_files(), position="hidden")  # the page at the visited address
    st.switch_page(requested, query_params=st.query_params.to_dict())  # the link's settings go along


def url_path(page_file: str) -> str:
    """The address of a page file, its name: pages/gradient_descent.py is served at /gradient_descent.

    The very name Streamlit's own pages/ folder reading gives it: a first visit after a restart is then
    found before app.py takes over (another address made Streamlit show "Page not found" over the page).
    """
    return Path(page_file).stem


def _page_files() -> list:  # -> list[st.Page]
    """Every page file under its address, so the visited address still names a page after the hand-over."""
    pages = sorted((Path(__file__).resolve().parents[1] / "pages").glob("*.py"))
    return [st.Page(str(page), url_path=url_path(str(page)), default=page.stem == "home") for page in pages]
