"""Make every page run inside app.py's router, even when a page's address is the first one visited."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_router() -> None:
    """Hand a direct first visit to a page over to app.py, so the page gets the full app around it.

    Until app.py has called st.navigation once, Streamlit treats a folder named pages/ as an old-style
    page list and would run this page on its own (no menu sections, no sidebar, no page settings).
    Clearing that mode and rerunning makes Streamlit run app.py, which routes to this same page.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
