"""The Encode page shows indices, shapes, the erratum note, errors in place and the padded batch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
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


@pytest.mark.parametrize("text", ["1 FVNQHLCGSH 11 LVEALYLVCG 22 ERGFF", "10 FVNQHLCGSH 20 LVEALYLVCG"])
def test_the_highlight_and_the_error_name_the_same_position(text):
    """Position numbers the cleaner removes do not shift the highlight away from the error's position."""
    at = _page()
    at.text_area(key="encode_seq").input(text).run()
    found = re.search(r"has (?:'(.)'|the number (\d)\d*) at position (\d+)", at.error[0].value)
    character, position = found.group(1) or found.group(2), found.group(3)  # a number: its first digit
    assert [c.value for c in at.caption if f"at position {position} is the one" in c.value]
    marked = [m.value for m in at.markdown if "<mark" in m.value]
    assert marked and f">{character}</mark>" in marked[0]


def test_dna_is_encoded_with_a_warning_that_it_is_not_a_protein():
    at = _page()
    at.text_area(key="encode_seq").input("ATGGCCATTGTAATGGGCCGC").run()
    assert not at.exception and not at.error
    warnings = [w.value for w in at.warning if "looks like DNA or RNA" in w.value]
    assert len(warnings) == 1 and "21 letters" in warnings[0] and "translate it first" in warnings[0]
    assert _frame(at, "residue").shape[0] == 21  # still encoded, letter by letter
    at.text_area(key="encode_seq").input("MVLSPADKTNVKAAWGKVGAHAGEY").run()
    assert not [w for w in at.warning if "looks like DNA" in w.value]


def test_ambiguous_letters_are_highlighted_and_become_token_21():
    at = _page()
    at.text_area(key="encode_seq").input("MVXSPBD").run()
    table = _frame(at, "residue")
    assert table["index"].tolist()[2] == 21 and table["index"].tolist()[5] == 21
    marked = [m.value for m in at.markdown if "<mark" in m.value]
    assert marked and ">X</mark>" in marked[0] and ">B</mark>" in marked[0]
    assert any("unknown token 21" in w.value for w in at.warning)
    # the warning says why the notes' 21-row embedding cannot take token 21, as torch itself shows
    import torch

    with pytest.raises(IndexError):
        torch.nn.Embedding(21, 4)(torch.tensor([21]))
    assert any("needs 22 rows" in w.value and "get(aa, 0)" in w.value for w in at.warning)


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


def _q(at: AppTest, name: str):
    """A query parameter as text, or None (AppTest keeps those set before a run as lists)."""
    value = at.query_params.get(name)
    return value[-1] if isinstance(value, list) else value


def _linked(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for name, value in query.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _playground_code(at: AppTest) -> str:
    return next(c.value for c in at.code if c.value.startswith("x = "))


def test_playground_transposes_the_one_hot_batch_for_conv1d_by_default():
    import torch

    at = _page()
    code = _playground_code(at)
    assert code.splitlines() == ["x = one_hot[:2, :3]  # (2, 3, 20)", "x.transpose(1, 2)  # (2, 20, 3)"]
    assert tuple(torch.zeros(2, 3, 20).transpose(1, 2).shape) == (2, 20, 3)
    assert any("(2, 3, 20) → (2, 20, 3)" in m.value for m in at.markdown)


def test_playground_cat_and_an_impossible_reshape():
    import torch

    at = _page()
    at.radio(key="tp_op").set_value("cat").run()
    at.selectbox(key="tp_tensor").set_value("tokens").run()
    at.selectbox(key="tp_other").set_value("mask").run()
    expected = tuple(torch.cat([torch.zeros(2, 3), torch.zeros(2, 3)], dim=0).shape)
    assert _playground_code(at).splitlines()[-1] == f"torch.cat([x, y], dim=0)  # {expected}"
    at.radio(key="tp_op").set_value("reshape").run()
    at.text_input(key="tp_shape").input("4, 4").run()
    assert not at.exception
    message = next(e.value for e in at.error if "shape" in e.value)
    assert "4 × 4 = 16" in message and "2 × 3 = 6" in message


def test_a_link_reproduces_sequence_and_playground_and_keeps_the_student():
    token = "Linked-Student-0123456789"
    at = _linked(seq="MKTW", op="reshape", shape="-1, 20", proteins="1", positions="4", student=token)
    assert at.text_area(key="encode_seq").value == "MKTW"
    assert _frame(at, "residue")["residue"].tolist() == list("MKTW")
    assert _playground_code(at).splitlines()[-1] == "x.reshape(-1, 20)  # (4, 20)"
    assert not at.warning
    assert _q(at, "student") == token and _q(at, "op") == "reshape" and _q(at, "seq") == "MKTW"
    link = next(c.value for c in at.code if "op=reshape" in c.value)
    assert "seq=MKTW" in link and "shape=-1%2C+20" in link and "student" not in link


def test_bad_link_values_fall_back_to_the_defaults_with_a_notice():
    at = _linked(op="flip", proteins="0", positions="many", tensor="**bold**", seq="M" * 2001)
    notes = " ".join(w.value for w in at.warning)
    for name, value in (
        ("op", "flip"),
        ("proteins", "0"),
        ("positions", "many"),
        ("tensor", r"\*\*bold\*\*"),
        ("seq", ""),
    ):
        assert f"**{name}**" in notes and value in notes
    assert at.radio(key="tp_op").value == "transpose"
    assert at.number_input(key="tp_n").value == 2
    assert at.text_area(key="encode_seq").value == "MVLSPAD"
    assert _q(at, "op") is None and _q(at, "proteins") is None


def test_a_sequence_from_a_link_is_checked_like_typed_text():
    at = _linked(seq="MV1SP")
    assert at.error and "'1' at position 3" in at.error[0].value


def test_text_survives_a_page_switch_even_when_it_cannot_be_saved(monkeypatch):
    from protlab.errors import ProtlabError
    from protlab.students import StudentStore

    def refuse(*args, **kwargs):
        raise ProtlabError("The text is too long to remember.")

    monkeypatch.setattr(StudentStore, "save", refuse)
    app = str(Path(PAGE).parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=180)
    at.query_params["student"] = "Switching-Student-0123456789"
    at.run()
    at.switch_page("pages/encode.py").run()
    at.text_area(key="encode_seq").input("MKTAYIAKQR").run()
    at.switch_page("pages/build_network.py").run()
    assert "encode_seq" not in at.session_state  # Streamlit forgot the widget on the other page
    at.switch_page("pages/encode.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_area(key="encode_seq").value == "MKTAYIAKQR"


def test_rare_amino_acids_are_named_as_real_and_explained_once():
    at = _page()
    at.text_area(key="encode_seq").input("ACDBZUO").run()
    warning = " ".join(w.value for w in at.warning)
    assert "selenocysteine" in warning and "pyrrolysine" in warning and "D or N" in warning
    assert "do not name one amino acid" not in warning
    assert not [i.value for i in at.info if "unknown residue" in i.value]  # said once, in the warning


def test_shape_caption_follows_the_sequence_length():
    at = _page()
    at.text_area(key="encode_seq").input("MVLSPA").run()
    caption = " ".join(c.value for c in at.caption)
    assert "(6,) is a list of 6 numbers" in caption and "(6, 20)" in caption and "(1, 6, 20)" in caption
    assert "(7," not in caption


def test_view_on_the_default_slice_blames_the_slice():
    at = _page()
    at.radio(key="tp_op").set_value("view").run()
    message = next(e.value for e in at.error if "contiguous" in e.value).replace("\\", "")
    assert "one_hot[:2, :3]" in message and "transpose" not in message


def test_playground_widgets_are_drawn_with_their_current_values():
    at = _page()
    assert at.radio(key="tp_op").proto.default == list(at.radio(key="tp_op").options).index("transpose")
    assert at.number_input(key="tp_dim0").proto.default == 1
    assert at.number_input(key="tp_dim1").proto.default == 2
    assert at.number_input(key="tp_n").proto.default == 2
    assert at.number_input(key="tp_len").proto.default == 3
