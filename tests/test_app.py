"""The app shell: every page is routed, the sidebar shows device and model, app start stays light, and the
student's identity (a token in the address) is created once, kept on every page and carried by every link."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def _routed_files() -> list[str]:
    """Page files named in app.py's SECTIONS table (read without running Streamlit)."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("pages/")
    ]


def test_router_lists_every_page_file_and_each_exists() -> None:
    routed = set(_routed_files())
    on_disk = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert routed == on_disk
    assert {
        "pages/home.py",
        "pages/encode.py",
        "pages/gradient_descent.py",
        "pages/build_network.py",
        "pages/train.py",
        "pages/predict.py",
        "pages/class_view.py",
    } <= routed


def test_app_starts_on_home_with_sidebar() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "ProtLab" in at.title[0].value
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "**Device:** CPU" in sidebar  # this test machine has no GPU
    assert "Solubility model (Predict)" in sidebar


def test_sidebar_does_not_load_torch_for_the_device_line_while_the_warm_up_loads_it(monkeypatch) -> None:
    from ui import warmup

    monkeypatch.setattr(warmup, "finished_import", lambda name: name != "torch")  # torch still loading
    monkeypatch.setattr(warmup, "start_warmup", lambda: None)  # no imports behind AppTest's own back
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "**Device:** being checked (PyTorch is loading)" in sidebar
    monkeypatch.setattr(warmup, "finished_import", lambda name: True)
    loaded = AppTest.from_file(APP, default_timeout=120)
    loaded.run()
    assert "**Device:** CPU" in " ".join(m.value for m in loaded.sidebar.markdown)


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


def test_the_home_page_and_the_app_shell_import_neither_torch_nor_pandas() -> None:
    """The first page paints before the heavy libraries load (ui.warmup loads them afterwards)."""
    home = ast.parse((ROOT / "pages" / "home.py").read_text(encoding="utf-8"))
    shell = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    imports = [
        ast.unparse(n)
        for tree in (shell, home)
        for n in tree.body
        if isinstance(n, ast.ImportFrom | ast.Import) and getattr(n, "module", None) != "__future__"
    ]
    code = "\n".join(imports) + "\nimport sys\nprint(sorted({'torch', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_page_loads_streamlits_emoji_catalog() -> None:
    """An emoji icon (page or favicon) makes Streamlit compile its 3,800-emoji regex, 0.3 s of a server's
    first page; Material icons are checked without it."""
    code = (
        "import sys\nfrom streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=120)\nat.run()\n"
        "for page in sys.argv[1:]:\n    at.switch_page(page).run()\n"
        "print('streamlit.emojis' in sys.modules, len(at.exception))"
    )
    pages = [file for file in _routed_files() if file != "pages/home.py"]
    out = subprocess.run(
        [sys.executable, "-c", code, *pages], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["False", "0"], out.stdout[-2000:] + out.stderr[-2000:]


def test_every_page_switch_renders_without_exception() -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    for page in [
        "pages/encode.py",
        "pages/gradient_descent.py",
        "pages/build_network.py",
        "pages/class_view.py",
    ]:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page


def _sidebar_link_queries(at: AppTest) -> set[str]:
    return {link.proto.query_string for link in at.sidebar.get("page_link")}


def test_a_first_visit_gets_a_random_token_that_every_link_and_page_keeps() -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    token = at.query_params["student"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)  # secrets.token_urlsafe(16)
    assert _sidebar_link_queries(at) == {f"student={token}"}
    assert len(at.sidebar.get("page_link")) == len(set(_routed_files()))  # one link per page
    # (AppTest runs a page it switches to on its own, without app.py's sidebar, unlike a browser; test_e2e
    # checks every page's sidebar links in Chromium)
    for page in ["pages/gradient_descent.py", "pages/class_view.py"]:
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.query_params["student"] == token
    other = AppTest.from_file(APP, default_timeout=180)
    other.run()
    assert other.query_params["student"] != token  # another browser is another student


def test_a_token_in_the_address_is_kept_as_the_students_identity() -> None:
    from ui.identity import owner_id

    token = "My-Own_Token-0123456789"
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["student"] = token
    at.run()
    assert at.query_params["student"] == token and not at.warning
    assert _sidebar_link_queries(at) == {f"student={token}"}
    assert any(f"?student={token}" in c.value for c in at.sidebar.code)  # the personal link to bookmark
    captions = [c.value for c in at.sidebar.caption]
    assert any("bookmark it" in c and "This browser remembers it too" in c for c in captions)
    owner = owner_id(token)
    assert owner != owner_id("My-Own_Token-0123456780") and token not in owner
    assert re.fullmatch(r"[0-9a-f]{32}", owner)


@pytest.mark.parametrize(
    "bad", ["bad token!", "short", "x" * 65, "", "../../etc/passwd", "tok\u00e9n-0123456789abc"]
)
def test_a_malformed_token_is_replaced_with_a_notice_never_an_error(bad) -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["student"] = bad
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    token = at.query_params["student"]
    assert token != bad and re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
    assert any("broken student id" in w.value for w in at.warning)
    assert any("broken student id" in t.proto.body for t in at.get("toast"))
    at.run()  # the notice is shown once
    assert not any("broken student id" in w.value for w in at.warning)
    assert at.query_params["student"] == token


def test_text_pasted_on_the_encode_page_comes_back_for_the_same_student_only() -> None:
    def encode_page(token: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=180)
        at.query_params["student"] = token
        at.run()
        return at.switch_page("pages/encode.py").run()

    mine, theirs = "Encoding-Student-0123456789", "Another-Student-0123456789"
    at = encode_page(mine)
    at.text_area(key="encode_seq").set_value("MKTAYIAKQR").run()
    at.text_area(key="batch_seqs").set_value(">a\nMKV\n>b\nMKVLA\n").run()
    assert not at.exception, [e.value for e in at.exception]
    again = encode_page(mine)  # a reload, or the personal link opened later
    assert again.text_area(key="encode_seq").value == "MKTAYIAKQR"
    assert again.text_area(key="batch_seqs").value == ">a\nMKV\n>b\nMKVLA\n"
    other = encode_page(theirs)
    assert other.text_area(key="encode_seq").value != "MKTAYIAKQR"
    assert other.text_area(key="batch_seqs").value != ">a\nMKV\n>b\nMKVLA\n"


def test_a_fragment_drawn_through_ui_common_counts_as_a_script_run() -> None:
    script = (
        "import streamlit as st\n"
        "from ui import warmup\n"
        "from ui.common import fragment\n"
        "def body():\n"
        "    st.session_state['runs_in_progress'] = warmup._running\n"
        "    st.write('inside the fragment')\n"
        "fragment(body)()\n"
    )
    at = AppTest.from_string(script, default_timeout=60).run()
    assert not at.exception
    assert at.session_state["runs_in_progress"] == 1  # AppTest runs no app.py: the fragment counted itself
    assert [m.value for m in at.markdown] == ["inside the fragment"]


def test_every_fragment_goes_through_ui_common_so_its_reruns_are_counted() -> None:
    # A fragment reruns without app.py, so only ui.common.fragment keeps the warm-up's imports away from it.
    direct = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("pages", "ui")
        for path in sorted((ROOT / folder).glob("*.py"))
        if path.name != "common.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "st.fragment" in line
    ]
    assert direct == []
    assert "st.fragment" not in (ROOT / "app.py").read_text(encoding="utf-8")
