"""The app shell: every page is routed, the sidebar shows device and model, and app start stays light."""

from __future__ import annotations

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def _routed_files() -> list[str]:
    """Page files named in app.py's SECTIONS table (read without running Streamlit)."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("pages/")]


def test_router_lists_every_page_file_and_each_exists() -> None:
    routed = set(_routed_files())
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert routed == on_disk
    assert {"pages/home.py", "pages/encode.py", "pages/gradient_descent.py", "pages/build_network.py",
            "pages/train.py", "pages/predict.py"} <= routed


def test_app_starts_on_home_with_sidebar() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "ProtLab" in at.title[0].value
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "**Device:** CPU" in sidebar  # this test machine has no GPU
    assert "Model for predictions" in sidebar


def test_sidebar_names_the_model_chosen_on_the_predict_page() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["active_model"] = {"name": "Run brave-otter", "auc": 0.71234}
    at.run()
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "Run brave-otter" in sidebar and "0.712" in sidebar


def test_app_imports_nothing_heavy_at_start() -> None:
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_level.add(node.module.split(".")[0])
    assert top_level <= {"__future__", "json", "pathlib", "streamlit", "ui"}


def test_every_page_switch_renders_without_exception() -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    for page in ["pages/encode.py", "pages/gradient_descent.py", "pages/build_network.py"]:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page
