"""A whole class at once: many sessions predicting and training on one server, each seeing only its own
work."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from playwright.sync_api import expect, sync_playwright
from streamlit.testing.v1 import AppTest

from protlab.alphabet import AMINO_ACIDS
from protlab.data import LabelledData
from protlab.errors import RunError
from protlab.models import build_model, model_config_dict, save_checkpoint
from protlab.runs import ClassSettings, RunManager, RunSpec
from protlab.training import TrainConfig
from tests.e2e_support import (
    VIEWPORT,
    StreamlitServer,
    assert_no_traceback,
    configure_tiny_training,
    http_get,
    launch_chromium,
    open_page,
    screenshot,
    student_of,
    wait_until_idle,
)
from tests.e2e_support import run_ids as run_folders
from ui.router import ROUTED_RUN

REPO = Path(__file__).resolve().parents[1]
PREDICT_PAGE = str(REPO / "pages" / "predict.py")
N_SESSIONS = 8  # browser sessions of the load scenario
WAIT_MS = 120_000  # longest wait for a page to show something (expect() would give up after 5 s otherwise)
TRAIN_WAIT_MS = 240_000  # longest wait for a trainer's results
SEQUENCES = [  # one different protein per session
    "MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLNIDQNPGTAPKYGIRGIPTLLLFKNGEVAASK",
    "MVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHFDLSHGSAQVKGHGKKVADALTNAVAHVDDMPNALSALSDLHAHKL",
    "MKKLLPTAAAGLLLLAAQPAMA",
    "MGSSHHHHHHSSGLVPRGSHMASMTGGQQMGRGS",
    "MAEGEITTFTALTEKFNLPPGNYKKPKLLYCSNGGHFLRILPDGTVDGTRDRSDQHIQLQLSAESVGEVYIKSTETGQYLAMDTDGLLYGS",
    "MTEYKLVVVGAGGVGKSALTIQLIQNHFVDEYDPTIEDSYRKQVVIDGETCLLDILDTAGQEEYSAMRDQYMRTGEGFLCVFAINNTKSFEDI",
    "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG",
    "MDPNCSCAAGDSCTCAGSCKCKECKCTSCKKSCCSCCPVGCAKCSQGCICKGASDKCSCCA",
]


@pytest.fixture(scope="module")
def default_model(tmp_path_factory) -> Path:
    """A small real CNN checkpoint that plays the bundled default model."""
    torch.manual_seed(0)
    model = build_model("cnn", {"embed_dim": 8, "hidden_dim": 8, "num_layers": 1})
    path = tmp_path_factory.mktemp("models") / "default.pt"
    return save_checkpoint(
        path, model, kind="cnn", model_config=model_config_dict(model), metrics={"auc": 0.5}
    )


def _predict_session(text: str) -> AppTest:
    """One student's session on the Predict page with the default model and their own sequence."""
    at = AppTest.from_file(PREDICT_PAGE, default_timeout=300)
    at.session_state[ROUTED_RUN] = True  # as when app.py runs the page
    at.query_params["student"] = f"student-{SEQUENCES.index(text)}-0123456789"  # each session a student
    at.session_state["sequences"] = text
    return at.run()


def test_eight_sessions_predict_and_share_one_cached_model(default_model, monkeypatch) -> None:
    import protlab.predict as predict

    monkeypatch.setattr(predict, "DEFAULT_MODEL_PATH", default_model)
    loads, lock = [], threading.Lock()
    original = predict.Predictor.from_checkpoint.__func__

    def counting(cls, source):
        with lock:
            loads.append(str(source))
        return original(cls, source)

    monkeypatch.setattr(predict.Predictor, "from_checkpoint", classmethod(counting))
    st.cache_resource.clear()
    # AppTest drives one script run at a time in-process, so the sessions take turns here; the real-server
    # test below runs them truly at once.
    sessions = [_predict_session(text) for text in reversed(SEQUENCES)]  # each session types its protein
    sessions.reverse()
    for at in sessions:  # then every session reruns (a slider move): still its own result
        at.slider[0].set_value(0.4).run()
    reference = original(predict.Predictor, default_model).predict(SEQUENCES)  # (8,) one call, no cache
    for at, text, expected in zip(sessions, SEQUENCES, reference):
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        assert at.metric[0].label.startswith("P(soluble)")
        assert float(at.metric[0].value) == pytest.approx(float(expected), abs=5e-4), text[:20]
    assert loads == [str(default_model)]  # the model was loaded once for every session


# ---------------------------------------------------------------- a real server under a class's load
class _Pollers:
    """HTTP clients that keep asking the server for its health and its page while the class works.

    A request that gets no answer within `timeout` counts as a failure: the server hung or refused. How fast
    it answers is measured in benchmarks/, not here: on a loaded 2-core test machine a healthy server can
    take several seconds while every process waits for a core.
    """

    def __init__(
        self, base_url: str, n_clients: int = N_SESSIONS, period: float = 0.25, timeout: float = 30.0
    ):
        self.base_url, self.n_clients, self.period, self.timeout = base_url, n_clients, period, timeout
        self.latencies: list[float] = []  # seconds per answered request
        self.failures: list[str] = []  # requests that errored or timed out
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, args=(i,), daemon=True) for i in range(n_clients)
        ]

    def _poll(self, i: int) -> None:
        """Alternate health checks and page loads until stopped."""
        paths = ["/_stcore/health", "/"]
        k = i
        while not self._stop.is_set():
            path = paths[k % 2]
            started = time.monotonic() - self._t0
            status, seconds, _ = http_get(self.base_url + path, timeout=self.timeout)
            (self.latencies if status == 200 else self.failures).append(
                seconds
                if status == 200
                else f"{path}: status {status} after {seconds:.1f} s, {started:.0f} s in"
            )
            k += 1
            self._stop.wait(self.period)

    def __enter__(self) -> _Pollers:
        self._t0 = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)


def _all_upload_a_checkpoint_and_predict(tabs: list, url: str, checkpoint: Path) -> None:
    """Every predictor tab, all at once: open Predict, upload the checkpoint, predict its own protein.

    Each step is started in every tab before any tab is waited for, so the six sessions load, upload and
    predict at the same moment (as a class does), not one after the other.
    """
    for tab in tabs:
        tab.goto(url, wait_until="commit")
    for tab in tabs:
        tab.get_by_role("heading", name="Predict solubility").first.wait_for()
        wait_until_idle(tab)
        assert_no_traceback(tab, "predictor")
        tab.get_by_text("Upload a checkpoint (.pt)").click()
    for tab in tabs:
        wait_until_idle(tab)
        tab.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(checkpoint))
    for tab, sequence in zip(tabs, SEQUENCES[2:]):
        expect(tab.get_by_test_id("stMain")).to_contain_text(f"Using {checkpoint.name}", timeout=WAIT_MS)
        wait_until_idle(tab)
        area = tab.get_by_label("Protein sequence(s): plain letters or FASTA")
        area.fill(sequence)
        area.press("Control+Enter")
    for tab, sequence in zip(tabs, SEQUENCES[2:]):
        try:
            tab.get_by_test_id("stMetricValue").or_(tab.get_by_test_id("stException")).first.wait_for()
            wait_until_idle(tab)
        finally:
            screenshot(tab, f"load-predictor-{sequence[:8]}")  # for a human when this fails
        assert_no_traceback(tab, "predictor")


def _wait_for_results(tab, number: int) -> str:
    """Wait until a trainer's page shows its finished run; return the run id it shows."""
    main = tab.get_by_test_id("stMain")
    tab.bring_to_front()  # the student looks at this tab now
    try:
        expect(
            main.get_by_role("heading", name="Results on the held-out test set").or_(
                tab.get_by_test_id("stException")
            )
        ).to_be_visible(timeout=TRAIN_WAIT_MS)
    except AssertionError:
        screenshot(tab, f"load-trainer-{number}")  # what the trainer saw, for humans
        raise
    assert_no_traceback(tab, "trainer")
    wait_until_idle(tab)
    text = main.inner_text()
    assert re.search(r"CNN · Adam · bundled DeepSol: finished", text), text[:1500]
    return re.search(r"run (\d{8}-\d{6}-[0-9a-f]{8})", text)[1]


def test_eight_browser_sessions_two_training_on_one_server(tmp_path, default_model, monkeypatch) -> None:
    monkeypatch.setenv("PROTLAB_WORKERS", "2")  # both trainers train at once, in worker processes
    checkpoint = default_model
    with StreamlitServer(home=tmp_path / "class-home") as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(N_SESSIONS)]
        pages = [context.new_page() for context in contexts]
        for tab in pages:
            tab.set_default_timeout(120_000)
        trainers, predictors = pages[:2], pages[2:]
        with _Pollers(server.url) as pollers:
            open_page(pages[0], server.url, "ProtLab")  # the instructor opens the app
            for tab in trainers:
                open_page(tab, f"{server.url}/train", "Train a solubility classifier")
                configure_tiny_training(tab)
            for tab in trainers:  # both runs start within a moment of each other
                tab.get_by_role("button", name="Start training").click()
            for tab in trainers:  # each page shows its run, queued or training, before anyone else acts
                shows_run = re.compile(r"Queued: |CNN · Adam · bundled DeepSol: (training|finished)")
                expect(tab.get_by_test_id("stMain")).to_contain_text(shows_run, timeout=WAIT_MS)
            shown = []
            _all_upload_a_checkpoint_and_predict(
                predictors, f"{server.url}/predict", checkpoint
            )  # while 2 train
            for tab in predictors:  # read every session's answer after all of them have asked
                value = tab.get_by_test_id("stMetricValue").first.inner_text()
                shown.append(float(value))
            run_ids = [_wait_for_results(tab, number) for number, tab in enumerate(trainers, start=1)]
            for tab in predictors:  # nobody sees another session's run
                tab.get_by_text("One of my training runs").click()
                wait_until_idle(tab)
                expect(tab.get_by_test_id("stMain")).to_contain_text(
                    "You have no finished training runs yet", timeout=WAIT_MS
                )
            tokens = {student_of(tab.url) for tab in pages}
        browser.close()
    from protlab.predict import Predictor

    expected = Predictor.from_checkpoint(default_model).predict(SEQUENCES[2:])  # (6,)
    assert shown == pytest.approx([round(float(p), 3) for p in expected], abs=1.5e-3)
    assert len(set(run_ids)) == 2
    assert run_folders(server.home / "runs") == sorted(run_ids)
    assert None not in tokens and len(tokens) == N_SESSIONS  # eight browsers, eight students
    assert pollers.failures == [], pollers.failures[:5]
    assert pollers.latencies, "the HTTP clients made no request"
    print(
        f"\n{len(pollers.latencies)} HTTP requests during the class, "
        f"max latency {max(pollers.latencies):.2f} s"
    )


# ---------------------------------------------------------------- the RunManager shared by every session
def _tiny_spec(seed: int) -> RunSpec:
    """A two-epoch run of a 4-wide CNN on 40 random proteins."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(AMINO_ACIDS.encode(), dtype=np.uint8)
    sequences = [row.tobytes().decode() for row in letters[rng.integers(0, 20, size=(40, 24))]]
    data = LabelledData(sequences, np.arange(40) % 2, [f"p{i}" for i in range(40)])
    return RunSpec(
        name=f"seed {seed}",
        data=data,
        model_kind="cnn",
        model_config={"embed_dim": 4, "hidden_dim": 4, "num_layers": 1},
        train_config=TrainConfig(epochs=2, batch_size=4, seed=seed, scheduler="none"),
    )


def test_two_sessions_train_at_once_and_each_sees_only_its_own_run(tmp_path) -> None:
    manager = RunManager(tmp_path / "runs", ClassSettings(workers=2))
    mine, theirs = manager.submit(_tiny_spec(1), "alice"), manager.submit(_tiny_spec(2), "bob")
    third = manager.submit(_tiny_spec(3), "carol")  # a third student while both train: queued, not refused
    assert manager.status(third, "carol").state in ("queued", "running")
    assert manager.wait(mine, 120) and manager.wait(theirs, 120) and manager.wait(third, 120)
    assert [r["run_id"] for r in manager.list_runs("alice")] == [mine]
    assert [r["run_id"] for r in manager.list_runs("bob")] == [theirs]
    assert [r["run_id"] for r in manager.list_runs("carol")] == [third]
    for run_id, owner in ((theirs, "alice"), (mine, "bob")):
        with pytest.raises(RunError) as info:
            manager.status(run_id, owner)
        assert str(info.value) == f"There is no run {run_id!r} in this session."
        with pytest.raises(RunError):
            manager.stop(run_id, owner)
    a, b = manager.status(mine, "alice"), manager.status(theirs, "bob")
    assert (a.state, b.state) == ("finished", "finished")
    assert (a.spec["name"], b.spec["name"]) == ("seed 1", "seed 2")
    assert a.checkpoint_path != b.checkpoint_path
    assert manager.status(third, "carol").state == "finished"


def test_many_sessions_polling_a_run_while_it_trains_never_error(tmp_path) -> None:
    manager = RunManager(tmp_path / "runs")
    run_id = manager.submit(_tiny_spec(4), "dana")
    errors: list[str] = []

    def poll() -> None:  # eight pages refreshing their live panel
        while True:
            try:
                status = manager.status(run_id, "dana")
                manager.list_runs("dana")
            except Exception as err:  # noqa: BLE001 - any error here is the failure being tested for
                errors.append(f"{type(err).__name__}: {err}")
                return
            if status.state not in ("queued", "running"):
                return

    pollers = [threading.Thread(target=poll) for _ in range(N_SESSIONS)]
    for thread in pollers:
        thread.start()
    for thread in pollers:
        thread.join(timeout=120)
    assert errors == []
    assert manager.status(run_id, "dana").state == "finished"
