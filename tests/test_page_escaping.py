"""User text is shown literally on every page: Markdown, LaTeX, links and images in sequences, FASTA headers,
CSV column names and file names reach the page escaped, never as formatting or as an image to fetch."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.common import WORD_JOINER, literal
from ui.router import ROUTED_RUN

PAGES = Path(__file__).resolve().parents[1] / "pages"
TIMEOUT = 180
IMAGE = "![i](http://127.0.0.1:9/x.png)"  # a browser rendering this fetches the address
PAYLOAD = f"**b**_*$x$*_<b>&amp;{IMAGE}[link](http://127.0.0.1:9/)"  # bold, emphasis, LaTeX, HTML, entity
RAW_IMAGE = re.compile(r"(?<!\\)!\[")  # an image opener whose '[' is not escaped
COMMONMARK_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark: a backslash before ASCII punctuation


AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp)\\?:|\bwww\.|[-.\w+]@[-\w]")  # what GFM links even when escaped


def _unescape(text: str) -> str:
    """What a CommonMark renderer shows for backslash-escaped text (the reference for literal), as read."""
    return COMMONMARK_ESCAPE.sub(r"\1", text).replace(WORD_JOINER, "")


def _shown(at: AppTest) -> list[str]:
    """Every Markdown-rendering element's text: errors, warnings, notes, Markdown, captions."""
    elements = [*at.error, *at.warning, *at.info, *at.success, *at.markdown, *at.caption]
    return [str(e.value) for e in elements]


def _assert_literal(at: AppTest, fragment: str = "x.png") -> None:
    """The user text reached the page, only in its escaped form, and no image Markdown survives anywhere."""
    assert not at.exception, [e.value for e in at.exception]
    texts = _shown(at)
    carrying = [t for t in texts if fragment in t]
    assert carrying, f"the user text did not reach the page: {texts}"
    for text in texts:
        assert not RAW_IMAGE.search(text), text
    for text in carrying:
        assert literal(PAYLOAD) in text or literal(IMAGE) in text, text
        assert PAYLOAD not in text and IMAGE not in text, text
        assert not AUTOLINK.search(text), text  # no bare address left for autolinking


def test_literal_round_trips_through_commonmark_escapes() -> None:
    samples = [PAYLOAD, string.punctuation, "a\\b", "`code` and ~~gone~~ | x | :red[c]: #h > q", "plain"]
    samples += ["see www.x.org, HTTPS://y.z/a and me@example.org"]
    for text in samples:
        escaped = literal(text)
        assert _unescape(escaped) == text
        assert not AUTOLINK.search(escaped), escaped
        for special in "*_`[]<>$~|#:&":  # every formatting character is preceded by a backslash
            assert not re.search(rf"(?<!\\){re.escape(special)}", escaped.replace("\\\\", "")), (
                text,
                special,
            )


def _predict(session: dict | None = None) -> AppTest:
    """The Predict page with the bundled model, as app.py runs it."""
    at = AppTest.from_file(str(PAGES / "predict.py"), default_timeout=TIMEOUT)
    at.session_state[ROUTED_RUN] = True
    at.query_params["student"] = "escaping-token-0123456789"
    for key, value in (session or {}).items():
        at.session_state[key] = value
    return at.run()


def test_predict_shows_a_fasta_header_literally() -> None:
    at = _predict()
    at.text_area(key="sequences").set_value(f">{PAYLOAD}\nMKT1AY\n").run()
    _assert_literal(at)
    assert at.error and f"'{literal(PAYLOAD)}'" in at.error[0].value


def test_predict_batch_lists_bad_records_and_shows_nothing_as_markdown() -> None:
    at = _predict()
    at.text_area(key="sequences").set_value(f">{PAYLOAD}\nMKT1AY\n>good\nMKTAYIAKQRQISFVKSHFSRQ\n").run()
    assert not at.exception, [e.value for e in at.exception]
    rejected = next(t.value for t in at.table if "Why it was left out" in t.value.columns)
    assert rejected["ID"].tolist() == [literal(PAYLOAD)]  # st.table cells are Markdown: escaped
    assert f"'{literal(PAYLOAD)}'" in rejected["Why it was left out"].iloc[0]
    assert any("left out" in w.value for w in at.warning)
    assert 0.0 <= float(at.metric[0].value) <= 1.0  # the good record is still predicted
    for text in _shown(at) + [str(v) for t in at.table for v in t.value.to_numpy().ravel()]:
        assert not RAW_IMAGE.search(text), text


def test_predict_upload_with_a_markdown_file_name_and_column() -> None:
    name = f"{IMAGE}.csv"
    data = f"{PAYLOAD},label\nMKTAYIAK,1\n".encode()
    at = _predict({"uploaded_sequences": (name, data), "input_source": "Upload a file (FASTA, CSV or Excel)"})
    _assert_literal(at)
    assert at.error and "no sequence column" in at.error[0].value


def test_train_upload_with_a_markdown_file_name_and_column() -> None:
    at = AppTest.from_file(str(PAGES / "train.py"), default_timeout=TIMEOUT)
    at.session_state[ROUTED_RUN] = True
    at.query_params["student"] = "escaping-token-0123456789"
    at.session_state["uploaded_bytes"] = (f"{IMAGE}.csv", f"{PAYLOAD},label\nMKTAYIAK,1\n".encode())
    at.run()
    at.radio(key="data_choice").set_value("Upload my own CSV or FASTA").run()
    _assert_literal(at)


@pytest.mark.parametrize("key", ["encode_seq", "batch_seqs"])
def test_encode_shows_a_fasta_header_literally(key: str) -> None:
    at = AppTest.from_file(str(PAGES / "encode.py"), default_timeout=TIMEOUT).run()
    text = f">{PAYLOAD}\nMKT1AY\n" if key == "encode_seq" else f">ok\nMKTAY\n>{PAYLOAD}\nMKT1AY\n"
    at.text_area(key=key).set_value(text).run()
    _assert_literal(at)


def test_encode_stop_codon_inside_a_sequence_is_named() -> None:
    at = AppTest.from_file(str(PAGES / "encode.py"), default_timeout=TIMEOUT).run()
    at.text_area(key="encode_seq").set_value("MKT*AY").run()
    assert at.error and "a stop codon '*' at position 4" in _unescape(at.error[0].value)
    assert not re.search(r"(?<!\\)\*", at.error[0].value)  # every '*' escaped: shown, not read as emphasis


def test_gradient_descent_x_values_are_shown_literally() -> None:
    at = AppTest.from_file(str(PAGES / "gradient_descent.py"), default_timeout=TIMEOUT).run()
    at.text_input(key="ag_x").set_value(PAYLOAD).run()
    _assert_literal(at)
