"""A file's bytes and text: every kind of source, the size limit, and each encoding against Python's codec."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from protlab.data.file_text import MAX_FILE_BYTES, decode_text, read_source
from protlab.errors import DataFormatError

TEXT = "sequence,label\nMKTAYIAKQRAAGLE,1\nMKTAYIAKQRCCGLE,0\n"


def test_sources_path_bytes_and_files(tmp_path: Path) -> None:
    text = TEXT
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    assert read_source(path) == (text.encode(), "data.csv")
    assert read_source(str(path), "shown.csv") == (text.encode(), "shown.csv")
    assert read_source(bytearray(text.encode())) == (text.encode(), "uploaded data")
    handle = io.BytesIO(text.encode())
    handle.read()  # a stream already read to the end is rewound
    assert read_source(handle, "upload.csv") == (text.encode(), "upload.csv")
    assert read_source(io.StringIO(text))[0] == text.encode()
    with pytest.raises(DataFormatError, match="No data file was found"):
        read_source(tmp_path / "missing.csv")
    with pytest.raises(DataFormatError, match="got a value of type int"):
        read_source(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("encoded", "codec", "note"),
    [
        ("\ufeffsequence,label\nMKT,1\n".encode("utf-8"), "utf-8-sig", None),
        ("sequence,label\nMKT,1\n".encode("utf-16"), "utf-16", "UTF-16"),
        ("id,sequence,label\ncaf\u00e9,MKT,1\n".encode("latin-1"), "latin-1", "Latin-1"),
    ],
)
def test_decode_text_matches_the_codec(encoded: bytes, codec: str, note: str | None) -> None:
    text, notes = decode_text(encoded, "f.csv")
    assert text == encoded.decode(codec)
    assert (note is None and notes == []) or (note is not None and note in notes[0])


def test_a_source_over_the_size_limit_is_refused_naming_the_limit(tmp_path: Path) -> None:
    big = b"x" * (MAX_FILE_BYTES + 1)
    for source in (big, io.BytesIO(big)):
        with pytest.raises(DataFormatError, match=f"limited to {MAX_FILE_BYTES // 2**20} MB"):
            read_source(source, "big.csv")
    path = tmp_path / "big.csv"
    path.write_bytes(big)
    with pytest.raises(DataFormatError, match="big.csv"):
        read_source(path)
