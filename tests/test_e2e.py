"""End to end: `streamlit run app.py` driven in real headless Chromium, the way a student uses it.

Open every page, encode a sequence, train two epochs on a small sample (double-clicking Start),
read the metrics table, predict a sequence with the new model, and see clear messages (never a
traceback) for bad input and an oversized upload. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e_support import (
    VIEWPORT,
    StreamlitServer,
    assert_no_traceback,
    configure_tiny_training,
    go_by_sidebar,
    launch_chromium,
    open_page,
    screenshot,
    set_text_area,
    wait_until_idle,
)

pytestmark = pytest.mark.e2e

# (url path, page heading, sidebar link) for every page of the app
PAGES = [
    ("", "ProtLab", "Welcome"),
    ("encode", "1 · Encode a protein", "1 · Encode a protein"),
    ("gradient-descent", "2 · Gradient descent", "2 · Gradient descent"),
    ("build-network", "3 · Build a network", "3 · Build a network"),
    ("train", "Train a solubility classifier", "4 · Train a classifier"),
    ("predict", "Predict solubility", "5 · Predict solubility"),
]
TRAIN_TIMEOUT_MS = 150_000  # two tiny epochs take seconds; generous for a loaded 2-core CI machine
QUERY = "MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLNIDQNPGTAPKYGIRGIPTLLLFKNGEVAASK"


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium (the test fails, never skips, when it is missing)."""
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser):
    """One real Streamlit server for the module, with its own PROTLAB_HOME, opened once at its home page."""
    srv = StreamlitServer(home=tmp_path_factory.mktemp("e2e-home"))
    srv.start()
    try:
        context = browser.new_context(viewport=VIEWPORT)
        open_page(context.new_page(), srv.url, "ProtLab")  # the instructor opens the app first
        context.close()
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def page(browser):
    """A fresh browser tab (its own Streamlit session) at 1280x800."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    try:
        yield tab
    finally:
        context.close()


def _main_text(page) -> str:
    """Visible text of the page body (without the sidebar)."""
    return page.get_by_test_id("stMain").inner_text()


def test_every_page_opens_without_an_error(server, page) -> None:
    for path, heading, _ in PAGES:
        open_page(page, f"{server.url}/{path}", heading)
        expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
        screenshot(page, f"page-{path or 'home'}")


@pytest.mark.parametrize(("path", "heading"), [("encode", "1 · Encode a protein"),
                                              ("train", "Train a solubility classifier")])
def test_a_deep_link_as_the_very_first_visit_gets_the_full_app(tmp_path, page, path, heading) -> None:
    # After a restart, a student may open a shared link such as /train before anyone opens the home page.
    with StreamlitServer(home=tmp_path / "fresh-home") as fresh:
        open_page(page, f"{fresh.url}/{path}", heading)
        nav = page.get_by_test_id("stSidebarNav")
        expect(nav.get_by_role("link", name="4 · Train a classifier")).to_be_visible(timeout=10_000)
        expect(page.get_by_test_id("stSidebar")).to_contain_text("Device:")


def test_encode_a_sequence_and_see_a_clear_message_for_a_bad_one(server, page) -> None:
    open_page(page, f"{server.url}/encode", "1 · Encode a protein")
    label = "Protein sequence (one-letter code; a pasted FASTA record works too)"
    set_text_area(page, label, "mvlspadktn")
    expect(page.get_by_test_id("stMain")).to_contain_text("shape (10,)")
    expect(page.get_by_test_id("stMain")).to_contain_text("shape (10, 20)")
    screenshot(page, "encode-mvlspadktn")
    set_text_area(page, label, "MVL5PAD")
    alert = page.get_by_test_id("stAlert").filter(has_text="'5' at position 4")
    expect(alert).to_contain_text("which is not an amino-acid letter")
    assert_no_traceback(page, "encode with a digit")
    screenshot(page, "encode-bad-input")


def test_train_two_epochs_then_predict_with_the_new_model(server, page) -> None:
    open_page(page, f"{server.url}/train", "Train a solubility classifier")
    configure_tiny_training(page)
    page.get_by_role("button", name="Start training").dblclick()  # an impatient double-click
    results = page.get_by_role("heading", name="4 · Results on the held-out test set")
    results.or_(page.get_by_test_id("stException")).first.wait_for(timeout=TRAIN_TIMEOUT_MS)  # fail fast on a crash
    assert_no_traceback(page, "train")
    wait_until_idle(page)
    metrics = page.get_by_test_id("stDataFrame").filter(has=page.locator("[data-testid]")).first
    expect(metrics).to_be_visible()
    text = _main_text(page)
    assert re.search(r"Run \S+: finished", text), text[:2000]
    screenshot(page, "train-results")
    runs = [p for p in (server.home / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 1, f"double-clicking Start made {len(runs)} runs: {[p.name for p in runs]}"

    go_by_sidebar(page, "5 · Predict solubility", "Predict solubility")
    page.get_by_text("One of my training runs").click()
    wait_until_idle(page)
    set_text_area(page, "Protein sequence(s): plain letters or FASTA", QUERY)
    expect(page.get_by_test_id("stMetric").first).to_contain_text("P(soluble)")
    assert_no_traceback(page, "predict")
    screenshot(page, "predict-with-my-run")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A small real CNN checkpoint file that a student uploads on the Predict page."""
    from protlab.models import build_model, model_config_dict, save_checkpoint

    model = build_model("cnn", {"embed_dim": 4, "hidden_dim": 4, "num_layers": 1})
    path = tmp_path_factory.mktemp("upload") / "my_model.pt"
    return save_checkpoint(path, model, kind="cnn", model_config=model_config_dict(model))


def test_predict_page_explains_bad_input(server, page, tiny_checkpoint) -> None:
    open_page(page, f"{server.url}/predict", "Predict solubility")
    page.get_by_text("Upload a checkpoint (.pt)").click()
    wait_until_idle(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(tiny_checkpoint))
    wait_until_idle(page)
    label = "Protein sequence(s): plain letters or FASTA"
    for text, message in [
        ("", "No sequence was given."),
        (">only_a_header", "is not followed by a sequence"),
        ("MVL\U0001F600SPAD", "U+1F600 GRINNING FACE"),
    ]:
        set_text_area(page, label, text)
        expect(page.get_by_test_id("stAlert").filter(has_text=message)).to_be_visible()
        assert_no_traceback(page, f"predict with {text!r}")
    screenshot(page, "predict-bad-input")


def test_an_upload_over_the_limit_is_refused_with_a_message(server, page, tmp_path) -> None:
    open_page(page, f"{server.url}/train", "Train a solubility classifier")
    page.get_by_text("Upload my own CSV or FASTA").click()
    wait_until_idle(page)
    big = tmp_path / "huge.csv"  # 51 MB, over server.maxUploadSize = 50
    big.write_bytes(b"sequence,label\n" + b"MKV" * (51 * 1024 * 1024 // 3))
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(big))
    expect(page.get_by_test_id("stMain")).to_contain_text(re.compile(r"File must be 50(\.0)? ?MB or smaller"))
    assert_no_traceback(page, "oversized upload")
    screenshot(page, "train-upload-too-large")
