"""ProtLab: the Streamlit entry point (page router and shared sidebar). Run: streamlit run app.py"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from ui.common import literal
from ui.identity import identity_panel, page_link, replaced_notice, resumed_notice, student_token
from ui.router import routed_page, url_path
from ui.warmup import finished_import, script_run, start_warmup

ROOT = Path(__file__).resolve().parent  # the checkout that holds app.py, pages/ and assets/
DEFAULT_MODEL_CARD = ROOT / "assets" / "models" / "default.json"  # the bundled model's metrics card
FAVICON = ROOT / "assets" / "favicon.png"  # served by this server: an emoji or Material icon loads from a CDN
BUNDLED_NAMES = ("Bundled default model", "default")  # Predict page names of the bundled model (see its card)

# (file, title, icon) per section; home is the default page. A page's address is its file name (url_path).
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "Start": [("pages/home.py", "Welcome", ":material/home:")],
    "Lessons": [
        ("pages/encode.py", "1 · Encode a protein", ":material/text_fields:"),
        ("pages/gradient_descent.py", "2 · Gradient descent", ":material/trending_down:"),
        ("pages/build_network.py", "3 · Build a network", ":material/hub:"),
        ("pages/structure.py", "Per-residue prediction", ":material/linear_scale:"),
    ],
    "Solubility lab": [
        ("pages/train.py", "4 · Train a classifier", ":material/model_training:"),
        ("pages/bias_variance.py", "Bias and variance", ":material/balance:"),
        ("pages/predict.py", "5 · Predict solubility", ":material/science:"),
        ("pages/class_view.py", "6 · Class results", ":material/groups:"),
    ],
}


@st.cache_resource(show_spinner=False)
def _device_text() -> str:
    """The compute device ProtLab trains on, as a short label (computed once per server)."""
    from protlab.training import device_label, resolve_device

    return device_label(resolve_device("auto"))


@st.cache_data(show_spinner=False)
def _default_model_card(path: str, mtime: float) -> dict:
    """The bundled model's card (name, held-out metrics), or {} if it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _card_auc(card: dict) -> float | None:
    """Find the held-out AUC in a model card, wherever the card keeps it."""
    nested = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    for block in (nested.get("test"), card.get("test_metrics"), nested, card.get("test")):
        if isinstance(block, dict) and isinstance(block.get("auc"), (int, float)):
            return float(block["auc"])
    value = card.get("auc")
    return float(value) if isinstance(value, (int, float)) else None


def active_model_text() -> str:
    """Describe the model the Predict page is using: the student's choice, else the bundled default."""
    chosen = st.session_state.get("active_model")
    if isinstance(chosen, dict) and chosen.get("name") and chosen["name"] not in BUNDLED_NAMES:
        auc = chosen.get("auc")
        return f"**{literal(chosen['name'])}**" + (f" · test AUC {auc:.3f}" if isinstance(auc, float) else "")
    if not DEFAULT_MODEL_CARD.exists():
        return "Bundled default model (no model card found)"
    card = _default_model_card(str(DEFAULT_MODEL_CARD), DEFAULT_MODEL_CARD.stat().st_mtime)
    name = card.get("name") or "default"
    if name == "default":  # the card's internal name reads badly on its own: show what it is
        name = "ProtLab default"
    auc = _card_auc(card)
    metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    ci = (metrics.get("test_ci") or {}).get("auc")  # the card's 95% bootstrap interval, when it has one
    span = f", 95% CI {ci['low']:.2f}-{ci['high']:.2f}" if isinstance(ci, dict) and "low" in ci else ""
    return f"**{name}**" + (f" (held-out AUC {auc:.3f}{span})" if auc is not None else "")


def sidebar_slot(pages: dict):  # -> streamlit container
    """Draw the sidebar heading and page links now; return an empty slot for the device and model lines.

    The links are drawn here rather than by st.navigation because Streamlit's own menu drops the query string,
    and the query string holds the student's identity (ui.identity): every link here carries it.
    """
    with st.sidebar:
        st.markdown("### ProtLab")
        st.caption("Protein machine learning, one step at a time.")
        with st.container(key="protlab-nav"):
            for section, entries in pages.items():
                st.caption(f"**{section}**")
                for page in entries:
                    page_link(page, width="stretch")
        return st.empty()


def fill_sidebar(slot) -> None:
    """Write device, active model and the personal link into the sidebar slot, after the page.

    The device needs PyTorch. Until the warm-up has loaded it (about a second after the first page of a fresh
    server), the line says so rather than load it here: a click in that second would wait for the import.
    """
    device = _device_text() if finished_import("torch") else "being checked (PyTorch is loading)"
    with slot.container():
        st.markdown(f":material/memory: **Device:** {device}")
        st.markdown(f":material/neurology: **Solubility model (Predict):** {active_model_text()}")
        identity_panel()


def main() -> None:
    """Configure the page, build the navigation, draw the sidebar and run the chosen page."""
    st.set_page_config(page_title="ProtLab", page_icon=str(FAVICON), layout="wide")
    pages = {
        section: [
            st.Page(file, title=title, icon=icon, url_path=url_path(file), default=(file == "pages/home.py"))
            for file, title, icon in entries
        ]
        for section, entries in SECTIONS.items()
    }
    current = st.navigation(pages, position="hidden")  # the sidebar links are drawn by sidebar_slot
    student_token()  # the student's identity, from the address or new; kept in the address from now on
    replaced_notice()
    resumed_notice()
    slot = sidebar_slot(pages)
    try:
        with routed_page():  # a page that ends early on an error (stop_page) still gets the sidebar below
            current.run()
    finally:  # also after st.stop() or st.rerun() inside the page
        start_warmup()  # the page has painted: load torch and pandas for the next page in the background
        fill_sidebar(slot)


with script_run():  # the warm-up's imports wait while any page's script runs
    main()
