"""Owner tokens, run ids given as list rows, and the names shared runs are shown under."""

from __future__ import annotations

import pytest

from protlab.errors import RunError
from protlab.runs.owners import DISPLAY_NAME_CHARS, check_owner, run_id_of, shared_name


@pytest.mark.parametrize("owner", ["a", "student_1-x", "Z" * 64])
def test_file_safe_tokens_are_owners(owner: str) -> None:
    check_owner(owner)


@pytest.mark.parametrize("owner", ["", "a/b", "..", "x" * 65, "név", None, 7])
def test_anything_else_is_refused_naming_the_value(owner: object) -> None:
    with pytest.raises(RunError, match="owner must be") as caught:
        check_owner(owner)
    assert repr(owner) in str(caught.value)


def test_a_list_row_stands_for_its_run_id() -> None:
    assert (
        run_id_of({"run_id": "20260101-000000-0123abcd", "state": "finished"}) == "20260101-000000-0123abcd"
    )
    assert run_id_of("20260101-000000-0123abcd") == "20260101-000000-0123abcd"


def test_shared_names_are_one_tidy_line() -> None:
    assert shared_name("  Ada \n  Lovelace\t") == "Ada Lovelace"
    assert shared_name("   ") == "Anonymous"
    assert shared_name("x" * DISPLAY_NAME_CHARS) == "x" * DISPLAY_NAME_CHARS


@pytest.mark.parametrize(
    "name, message",
    [
        ("x" * (DISPLAY_NAME_CHARS + 1), f"at most {DISPLAY_NAME_CHARS}"),
        ("Ada\u200bLovelace", "hidden"),  # a zero-width space
        (3, "must be text"),
    ],
)
def test_bad_shared_names_are_refused(name: object, message: str) -> None:
    with pytest.raises(RunError, match=message):
        shared_name(name)
