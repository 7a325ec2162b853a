"""The Encode page shows indices, shapes, the erratum note, errors in place and the padded batch."""

from __future__ import annotations

from pathlib import Path

from Bio.Data.IUPACData import protein_letters  # an independent copy of the one-letter alphabet
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "encode.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frame(at: AppTest, column: str):
    """Return the first table on the page that has this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _text(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.info, *at.warning, *at.success, *at.caption])


def test_default_sequence_shows_the_notes_code_indices_shapes_and_erratum():
    at = _page()
    notes_dict = {aa: i + 1 for i, aa in enumerate(protein_letters)}  # the notes' own dict comprehension
    table = _frame(at, "residue")
    assert table["index"].tolist() == [notes_dict[aa] for aa in "MVLSPAD"]
    assert table["residue"].tolist() == list("MVLSPAD")
    text = _text(at)
    for shape in ["`(7,)`", "`(7, 20)`", "`(1, 7, 20)`"]:
        assert shape in text
    erratum = [i.value for i in at.info if "[11, 19, 10, 16, 14, 1, 3]" in i.value]
    assert erratum and "[11, 18, 10, 16, 13, 1, 3]" in erratum[0]
    assert not at.error


def test_erratum_box_appears_only_for_mvlspad():
    at = _page()
    at.text_area(key="encode_seq").input("MVLSPADK").run()
    assert not [i.value for i in at.info if "[11, 19, 10, 16, 14, 1, 3]" in i.value]
    assert _frame(at, "residue").shape[0] == 8
    assert "`(1, 8, 20)`" in _text(at)


def test_invalid_character_is_highlighted_with_the_cleaners_message():
    at = _page()
    at.text_area(key="encode_seq").input("MVLS1PAD").run()
    assert not at.exception
    assert at.error and "'1' at position 5" in at.error[0].value
    marked = [m.value for m in at.markdown if "<mark" in m.value]
    assert marked and ">1</mark>" in marked[0]


def test_ambiguous_letters_are_highlighted_and_become_token_21():
    at = _page()
    at.text_area(key="encode_seq").input("MVXSPBD").run()
    table = _frame(at, "residue")
    assert table["index"].tolist()[2] == 21 and table["index"].tolist()[5] == 21
    marked = [m.value for m in at.markdown if "<mark" in m.value]
    assert marked and ">X</mark>" in marked[0] and ">B</mark>" in marked[0]
    assert any("unknown token 21" in w.value for w in at.warning)


def test_batch_section_shows_padded_shapes_mask_check_and_features():
    at = _page()
    text = _text(at)
    assert "`(5, 35)`" in text and "`(5, 5)`" in text
    assert any("mask value 0: True" in s.value for s in at.success)
    features = _frame(at, "id")
    assert features.shape == (5, 6)  # id + the five global features
    assert list(features.columns)[1:] == [
        "molecular_weight",
        "isoelectric_point",
        "gravy",
        "instability_index",
        "length",
    ]
    assert "daltons (Da)" in _text(at)


def test_batch_section_accepts_one_sequence_per_line_and_reports_bad_ones():
    at = _page()
    at.text_area(key="batch_seqs").input("MKT\nMVLSPAD\nGG").run()
    assert "`(3, 7)`" in _text(at)
    at.text_area(key="batch_seqs").input("MKT\nMV-LS").run()
    assert at.error and "'-'" in at.error[0].value
