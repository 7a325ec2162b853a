"""The Predict page: one sequence gives a probability and plots, bad input the cleaner's message, many a table."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "predict.py")
TIMEOUT = 180  # seconds per script run (features of the training proteins are computed on the first run)


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory) -> bytes:
    """A small real CNN checkpoint, saved by protlab (the page gets it as an 'upload')."""
    import torch

    from protlab.models import CNNConfig, SolubilityCNN, save_checkpoint

    torch.manual_seed(0)
    config = CNNConfig(embed_dim=8, hidden_dim=8, num_layers=1)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    save_checkpoint(path, SolubilityCNN(config), kind="cnn", model_config=config.__dict__,
                    metrics={"auc": 0.5})
    return path.read_bytes()


@pytest.fixture
def page(checkpoint_bytes):
    """Open the page with the tiny checkpoint chosen as an uploaded model; optionally type a text."""

    def open_page(text: str | None = None, data: bytes = checkpoint_bytes) -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
        at.session_state["uploaded_checkpoint"] = ("tiny.pt", data)
        at.session_state["model_source"] = "Upload a checkpoint (.pt)"
        at.run()
        if text is not None:
            at.text_area(key="sequences").set_value(text).run()
        return at

    return open_page


def test_example_sequence_gets_a_probability_between_0_and_1(page, checkpoint_bytes) -> None:
    from protlab.data import parse_sequences
    from protlab.predict import Predictor

    at = page()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    metric = at.metric[0]
    p = float(metric.value)
    assert 0.0 <= p <= 1.0
    record = parse_sequences(at.text_area(key="sequences").value)[0]
    assert p == pytest.approx(float(Predictor.from_checkpoint(checkpoint_bytes).predict([record.sequence])[0]), abs=5e-4)
    markdown = " ".join(m.value for m in at.markdown)
    assert ("**soluble**" in markdown) == (p >= at.slider[0].value)
    assert any("Show me the PyTorch" in e.label for e in at.expander)


def test_threshold_changes_the_call(page) -> None:
    at = page()
    p = float(at.metric[0].value)
    at.slider[0].set_value(round(min(p + 0.05, 1.0), 2)).run()
    assert "**insoluble**" in " ".join(m.value for m in at.markdown)
    at.slider[0].set_value(round(max(p - 0.05, 0.0), 2)).run()
    assert "**soluble**" in " ".join(m.value for m in at.markdown)


def test_bad_sequence_shows_the_cleaners_message(page) -> None:
    from protlab.data import parse_sequences
    from protlab.errors import InvalidSequenceError

    bad = "MKTAYIAKQR1QISFVKS"
    with pytest.raises(InvalidSequenceError) as expected:
        parse_sequences(bad)
    at = page(bad)
    assert not at.exception
    assert at.error and at.error[0].value == str(expected.value)
    assert not at.metric  # nothing predicted from a sequence that could not be read


def test_many_sequences_show_a_sortable_table(page) -> None:
    fasta = "\n".join(f">p{i}\n{'MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ'[i:]}GSHM" for i in range(6))
    at = page(fasta)
    assert not at.exception, [e.value for e in at.exception]
    tables = [df.value for df in at.dataframe if "p_soluble" in df.value.columns]
    assert tables, "no prediction table"
    table = tables[0]
    assert table["id"].tolist() == [f"p{i}" for i in range(6)]
    assert table["p_soluble"].between(0, 1).all()
    assert at.selectbox[-1].options == [f"p{i}" for i in range(6)]


def test_a_file_that_is_not_a_checkpoint_shows_a_clear_error(page) -> None:
    at = page(data=b"this is not a model")
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "checkpoint" in at.error[0].value.lower()
    assert not at.metric
