"""A whole class at once: many sessions predicting and training on one server, each seeing only its own work."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from protlab.checkpoint import save_checkpoint
from protlab.models import build_model, model_config_dict

REPO = Path(__file__).resolve().parents[1]
PREDICT_PAGE = str(REPO / "pages" / "predict.py")
N_SESSIONS = 8  # browser sessions of the load scenario
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
    return save_checkpoint(path, model, kind="cnn", model_config=model_config_dict(model), metrics={"auc": 0.5})


def _predict_session(text: str) -> AppTest:
    """One student's session on the Predict page with the default model and their own sequence."""
    at = AppTest.from_file(PREDICT_PAGE, default_timeout=300)
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
    for at, text in zip(sessions, SEQUENCES):  # then every session reruns (a slider move): still its own result
        at.slider[0].set_value(0.4).run()
    reference = original(predict.Predictor, default_model).predict(SEQUENCES)  # (8,) one call, no cache
    for at, text, expected in zip(sessions, SEQUENCES, reference):
        assert not at.exception and not at.error, ([e.value for e in at.exception], [e.value for e in at.error])
        assert at.metric[0].label.startswith("P(soluble)")
        assert float(at.metric[0].value) == pytest.approx(float(expected), abs=5e-4), text[:20]
    assert loads == [str(default_model)]  # the model was loaded once for every session
