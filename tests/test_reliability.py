"""Every bad input a classroom produces, one table row each, with the exact message or outcome it must give.

Tables: pasted sequences, uploaded files, checkpoints, training settings, network-builder layers,
and run faults (double start, stop, failure, restart, file names). Each row names the input and
the exact user-facing sentence (or the exact accepted result) that the student sees.
"""

from __future__ import annotations

import ast
import io
import json
import os
import pickle
import re
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from protlab.alphabet import AMINO_ACIDS
from protlab.data import (
    MAX_TEXT_CHARS,
    LabelledData,
    TokenizedSet,
    clean_sequence,
    load_labelled,
    parse_sequences,
)
from protlab.errors import (
    CheckpointError,
    ConfigError,
    DataFormatError,
    InvalidSequenceError,
    ProtlabError,
    RunError,
)
from protlab.models import (
    LayerSpec,
    MLPConfig,
    build_mlp,
    build_model,
    count_parameters,
    load_checkpoint,
    model_config_dict,
    save_checkpoint,
)
from protlab.runs import RUN_ID, ClassSettings, RunManager, RunSpec
from protlab.training import BatchEvent, EpochEvent, TrainConfig, train_model

LETTERS_HINT = "Use one-letter codes (A, C, D, ...); X, B, Z, J, U and O are read as unknown residues."
REPO = Path(__file__).resolve().parents[1]
PRODUCT_FILES = [
    *REPO.glob("protlab/**/*.py"),
    *REPO.glob("pages/*.py"),
    *REPO.glob("ui/*.py"),
    REPO / "app.py",
]
NO_SEQUENCE = "No sequence was given. Paste a protein sequence in one-letter code, for example MVLSPADKTN."


@dataclass(frozen=True)
class Accepted:
    """An input that is cleaned, not refused: the expected sequence, unknown positions and notes."""

    sequence: str  # cleaned sequence
    unknown: tuple[int, ...] = ()  # 1-based positions of ambiguous letters
    notes: tuple[str, ...] = ()  # notes shown to the student, in order
    id: str = "seq1"  # record id


@dataclass(frozen=True)
class Refused:
    """An input that is refused: the error class and the exact message."""

    error: type[ProtlabError]  # class of the raised error
    message: str  # exact text shown on the page


def _check(outcome: Accepted | Refused, call) -> None:
    """Run call() and compare with the expected outcome."""
    if isinstance(outcome, Refused):
        with pytest.raises(outcome.error) as info:
            call()
        assert str(info.value) == outcome.message
        return
    result = call()
    record = result[0] if isinstance(result, list) else result
    assert (record.id, record.sequence, record.unknown_positions, record.notes) == (
        outcome.id,
        outcome.sequence,
        outcome.unknown,
        outcome.notes,
    )


# ---------------------------------------------------------------- pasted sequences (single sequence box)
BIG = "A" * 100_000
SEQUENCE_CASES: dict[str, tuple[str, Accepted | Refused]] = {
    "lowercase": ("mvlspadktn", Accepted("MVLSPADKTN", notes=("Converted lowercase letters to uppercase.",))),
    "spaces": ("MVL SPA DKTN", Accepted("MVLSPADKTN")),
    "line breaks (unix, windows, old mac)": ("MVLSP\nADKTN\r\nVK\rAA", Accepted("MVLSPADKTNVKAA")),
    "tabs and trailing blanks": ("\tMVLSP  \n  ADKTN \t\n\n", Accepted("MVLSPADKTN")),
    "GenBank numbered block": (
        "        1 mvlspadktn vkaawgkvga\n       21 hageygaeal",
        Accepted(
            "MVLSPADKTNVKAAWGKVGAHAGEYGAEAL",
            notes=(
                "Removed the position numbers of a GenBank/EMBL-style numbered sequence block.",
                "Converted lowercase letters to uppercase.",
            ),
        ),
    ),
    "EMBL numbered block": (
        "MVLSPADKTN VKAAWGKVGA 20\nHAGEYGAEAL 30",
        Accepted(
            "MVLSPADKTNVKAAWGKVGAHAGEYGAEAL",
            notes=("Removed the position numbers of a GenBank/EMBL-style numbered sequence block.",),
        ),
    ),
    "trailing stop '*'": (
        "MVLSPADKTN*",
        Accepted("MVLSPADKTN", notes=("Removed the trailing '*' (stop codon).",)),
    ),
    "stop '*' inside": (
        "MVLS*PADKTN",
        Refused(
            InvalidSequenceError,
            "The sequence has a stop codon '*' at position 5, inside the sequence. "
            "Only one '*' at the very end is accepted; remove it or check the translation.",
        ),
    ),
    "FASTA header": (
        ">sp|P69905|HBA_HUMAN Hemoglobin subunit alpha\nMVLSPADKTN",
        Accepted("MVLSPADKTN", id="sp|P69905|HBA_HUMAN"),
    ),
    "several records in the single box": (
        ">a\nMVLS\n>b\nPADK",
        Refused(
            InvalidSequenceError,
            "The text holds 2 sequences (FASTA records), but one sequence is expected here. "
            "Paste a single sequence, or use the batch input for several.",
        ),
    ),
    "ambiguous letters X B Z J U O": (
        "MXBZJUO",
        Accepted(
            "MXBZJUO",
            unknown=(2, 3, 4, 5, 6, 7),
            notes=(
                "6 ambiguous or rare letters (X at 2, B at 3, Z at 4, J at 5, U at 6, O at 7) "
                "will be read as the unknown residue.",
            ),
        ),
    ),
    "digit": (
        "MVL5PAD",
        Refused(
            InvalidSequenceError,
            f"The sequence has '5' at position 4, which is not an amino-acid letter. {LETTERS_HINT} "
            "Remove position numbers and other digits.",
        ),
    ),
    "punctuation": (
        "MVL,SPAD",
        Refused(
            InvalidSequenceError,
            f"The sequence has ',' at position 4, which is not an amino-acid letter. {LETTERS_HINT}",
        ),
    ),
    "alignment gap": (
        "MV-LS",
        Refused(
            InvalidSequenceError,
            f"The sequence has '-' at position 3, which is not an amino-acid letter. {LETTERS_HINT} "
            "It looks like an alignment gap: remove gap characters before pasting.",
        ),
    ),
    "emoji": (
        "MVL\U0001f600SPAD",
        Refused(
            InvalidSequenceError,
            "The sequence has '\U0001f600' (U+1F600 GRINNING FACE) at position 4, which is not an amino-acid "
            f"letter. {LETTERS_HINT}",
        ),
    ),
    "invisible control character": (
        "MVL\x00SPAD",
        Refused(
            InvalidSequenceError,
            f"The sequence has U+0000 at position 4, which is not an amino-acid letter. {LETTERS_HINT}",
        ),
    ),
    "empty input": ("", Refused(InvalidSequenceError, NO_SEQUENCE)),
    "only whitespace": ("  \n\t \r\n", Refused(InvalidSequenceError, NO_SEQUENCE)),
    "only a header": (
        ">just_a_header",
        Refused(
            InvalidSequenceError,
            "The FASTA header '>just_a_header' (line 1) is not followed by a sequence. "
            "Put the protein sequence on the lines below its header.",
        ),
    ),
    "one residue": ("M", Accepted("M")),
    "100,000 residues": (
        BIG,
        Refused(
            InvalidSequenceError,
            "The sequence is 100,000 residues long; the limit is 10,000 residues. "
            "Shorten it (for example, predict one domain at a time).",
        ),
    ),
    "5 MB of pasted text": (
        "MVLSPADKTN\n" * 500_000,
        Refused(
            InvalidSequenceError,
            "The pasted text is about 5.5 MB (5,500,000 characters); "
            "the limit is 2 MB (2,000,000 characters). "
            "Paste fewer or shorter sequences, or upload them as a file.",
        ),
    ),
}


@pytest.mark.parametrize("case", list(SEQUENCE_CASES), ids=list(SEQUENCE_CASES))
def test_single_sequence_box(case: str) -> None:
    text, outcome = SEQUENCE_CASES[case]
    _check(outcome, lambda: clean_sequence(text))


def test_several_records_in_the_batch_box_keep_their_ids() -> None:
    records = parse_sequences(">a desc\nmvls\n>b\nPADK*\n>a\nKTN")
    assert [(r.id, r.sequence) for r in records] == [("a", "MVLS"), ("b", "PADK"), ("a_2", "KTN")]


def test_bad_record_in_a_batch_is_named() -> None:
    with pytest.raises(InvalidSequenceError) as info:
        parse_sequences(">good\nMVLS\n>bad\nMV1LS")
    assert str(info.value) == (
        f"Sequence 'bad' has '1' at position 3, which is not an amino-acid letter. "
        f"{LETTERS_HINT} Remove position numbers and other digits."
    )


def test_100000_residues_are_accepted_when_the_caller_raises_the_limit() -> None:
    assert clean_sequence(BIG, max_length=100_000).sequence == BIG


def test_text_limit_is_checked_before_parsing() -> None:
    text = ">x\n" + "A" * MAX_TEXT_CHARS
    with pytest.raises(InvalidSequenceError, match=r"the limit is 2 MB \(2,000,000 characters\)"):
        parse_sequences(text)


# ---------------------------------------------------------------- uploaded training files


def _random_sequences(n: int, length: int = 30, seed: int = 0) -> list[str]:
    """n random (practically unique) protein sequences of one length."""
    letters = np.frombuffer(AMINO_ACIDS.encode(), dtype=np.uint8)
    codes = letters[np.random.default_rng(seed).integers(0, 20, size=(n, length))]
    return [row.tobytes().decode() for row in codes]


SEQS = _random_sequences(20)
GOOD = [(s, i % 2) for i, s in enumerate(SEQS)]  # 20 rows, 10 per class


def _table(rows, header: str | None = "sequence,label", sep: str = ",", newline: str = "\n") -> str:
    """Rows as delimited text with an optional header line."""
    lines = ([header] if header is not None else []) + [sep.join(map(str, row)) for row in rows]
    return newline.join(lines) + newline


@dataclass(frozen=True)
class Loaded:
    """A file that loads: rows kept, drop reasons, class counts and notes."""

    n_kept: int  # rows kept
    reasons: dict  # drop reason -> count
    class_counts: dict = None  # label -> count (None: not checked)
    notes: tuple[str, ...] = ()  # encoding remarks
    file_format: str = "csv"  # detected format


FILE_CASES: dict[str, tuple[bytes, Loaded | Refused]] = {
    "CSV without a header": (
        _table(GOOD, header=None).encode(),
        Refused(
            DataFormatError,
            "The file has no header row: its first row already looks like data "
            "(a protein sequence and a label). "
            "Add a header line such as 'sequence,label' as the first line of the file.",
        ),
    ),
    "wrong column names": (
        _table(GOOD, header="prot_seq,value").encode(),
        Refused(
            DataFormatError,
            "The file needs a sequence column and a label column; "
            "the columns found are: 'prot_seq', 'value'. "
            "Name the sequence column one of sequence, seq, fasta, aa_sequence, protein, protein_sequence, "
            "sequences and the label column one of label, solubility, soluble, target, class, y, labels "
            "(case does not matter).",
        ),
    ),
    "extra columns": (
        _table(
            [(f"id{i}", s, y, "note") for i, (s, y) in enumerate(GOOD)], header="id,Sequence,LABEL,comment"
        ).encode(),
        Loaded(20, {}, {0: 10, 1: 10}),
    ),
    "semicolon separator": (
        _table(GOOD, header="sequence;label", sep=";").encode(),
        Loaded(20, {}, {0: 10, 1: 10}, file_format="semicolon-separated"),
    ),
    "tab separator": (
        _table(GOOD, header="sequence\tlabel", sep="\t").encode(),
        Loaded(20, {}, {0: 10, 1: 10}, file_format="tsv"),
    ),
    "Windows line endings": (_table(GOOD, newline="\r\n").encode(), Loaded(20, {}, {0: 10, 1: 10})),
    "UTF-8 with BOM": (b"\xef\xbb\xbf" + _table(GOOD).encode(), Loaded(20, {}, {0: 10, 1: 10})),
    "Latin-1": (
        _table(
            [(f"prot\u00e9ine{i}", s, y) for i, (s, y) in enumerate(GOOD)], header="name,sequence,label"
        ).encode("latin-1"),
        Loaded(
            20,
            {},
            {0: 10, 1: 10},
            notes=("The file 'upload.csv' is not valid UTF-8; it was read as Latin-1 text.",),
        ),
    ),
    "damaged Excel workbook renamed .csv": (
        b"PK\x03\x04\x14\x00\x06\x00" + bytes(200),
        Refused(
            DataFormatError,
            "The file 'upload.csv' looks like a ZIP archive or Excel workbook but is damaged. Upload it "
            "again, or save the data as CSV and upload that.",
        ),
    ),
    "old Excel .xls renamed .csv": (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200),
        Refused(
            DataFormatError,
            "The file 'upload.csv' seems to be an old-style Excel .xls (or other Microsoft Office) file, "
            "not a text file. Open it in Excel or LibreOffice, save it with File > Save As > 'CSV UTF-8', "
            "and upload that file.",
        ),
    ),
    "PNG renamed .csv": (
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        Refused(
            DataFormatError,
            "The file 'upload.csv' seems to be a PNG image, not a text file. Export the data as CSV "
            "(comma-separated, with columns sequence and label) or labelled FASTA and upload that file.",
        ),
    ),
    "labels as text": (
        _table([(s, "soluble" if y else "Insoluble") for s, y in GOOD]).encode(),
        Loaded(20, {}, {0: 10, 1: 10}),
    ),
    "labels outside {0,1}": (
        _table([(s, 2 if i < 3 else y) for i, (s, y) in enumerate(GOOD)]).encode(),
        Loaded(17, {"label not recognised": 3}, {0: 8, 1: 9}),
    ),
    "NaN and empty cells": (
        _table(
            [
                ("" if i == 0 else s, "" if i == 1 else ("NaN" if i == 2 else y))
                for i, (s, y) in enumerate(GOOD)
            ]
        ).encode(),
        Loaded(17, {"empty sequence": 1, "missing label": 1, "label not recognised": 1}),
    ),
    "duplicates with conflicting labels": (
        _table(GOOD + [(SEQS[0], 1), (SEQS[1], 1)]).encode(),
        Loaded(19, {"conflicting duplicate": 2, "duplicate": 1}, {0: 9, 1: 10}),
    ),
    "one class only": (
        _table([(s, 1) for s in SEQS]).encode(),
        Refused(
            DataFormatError,
            "All 20 usable rows have label 1 (soluble); a classifier needs both classes. "
            "Add examples of the other class.",
        ),
    ),
    "3 rows": (
        _table(GOOD[:3]).encode(),
        Refused(
            DataFormatError,
            "Only 3 usable rows remain after cleaning (3 read, 0 dropped); at least 10 are needed. "
            "Add more data.",
        ),
    ),
    "empty file": (
        b"",
        Refused(
            DataFormatError,
            "The file 'upload.csv' is empty: it holds no text. Upload a file in CSV (comma-separated, with "
            "columns sequence and label) or labelled FASTA format.",
        ),
    ),
    "ragged row": (
        (_table(GOOD) + "MKV,1,extra,fields\n").encode(),
        Refused(
            DataFormatError,
            "The file could not be read as a csv table: line 22 has 4 fields but the header has 2. "
            "Check that every row has the same number of columns as the header and that quotes are balanced.",
        ),
    ),
    "labelled FASTA": (
        "".join(f">p{i} label={y}\n{s}\n" for i, (s, y) in enumerate(GOOD)).encode(),
        Loaded(20, {}, {0: 10, 1: 10}, file_format="fasta"),
    ),
}


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
def test_uploaded_file(case: str) -> None:
    data, outcome = FILE_CASES[case]
    if isinstance(outcome, Refused):
        with pytest.raises(outcome.error) as info:
            load_labelled(data, filename="upload.csv")
        assert str(info.value) == outcome.message
        return
    labelled, report = load_labelled(data, filename="upload.csv")
    assert (report.n_kept, report.reasons, report.file_format) == (
        outcome.n_kept,
        outcome.reasons,
        outcome.file_format,
    )
    assert tuple(report.notes) == outcome.notes
    if outcome.class_counts is not None:
        assert report.class_counts == outcome.class_counts
    assert len(labelled.sequences) == len(labelled.labels) == outcome.n_kept
    assert set(labelled.labels.tolist()) <= {0, 1}
    assert len(report.dropped) == sum(outcome.reasons.values())


def test_kept_rows_are_the_right_ones_for_conflicting_duplicates() -> None:
    data = _table(GOOD + [(SEQS[0], 1), (SEQS[1], 1)]).encode()
    labelled, report = load_labelled(data)
    assert SEQS[0] not in labelled.sequences  # both labels seen: every copy dropped
    assert labelled.sequences.count(SEQS[1]) == 1  # exact duplicate: first copy kept
    assert sorted(report.dropped["row"].tolist()) == [2, 22, 23]  # header is line 1


def test_200000_rows_load() -> None:
    sequences = _random_sequences(200_000, length=24, seed=1)
    data = ("sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(sequences))).encode()
    labelled, report = load_labelled(data)
    assert report.n_kept == len(labelled) == 200_000
    assert report.class_counts == {0: 100_000, 1: 100_000}


def test_more_rows_than_the_limit_are_refused() -> None:
    data = ("sequence,label\n" + "".join(f"{s},{i % 2}\n" for i, s in enumerate(SEQS * 3))).encode()
    with pytest.raises(DataFormatError) as info:
        load_labelled(data, max_rows=50)
    assert str(info.value) == "The file has 60 rows; the limit is 50. Use a smaller subset."


def test_upload_limit_is_set_deliberately() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 50  # MB; docs/limits.md states the same figure


def test_the_server_watches_no_source_files(monkeypatch) -> None:
    # As `streamlit run app.py` reads it from the repository: a misspelt option would be ignored with a
    # warning and leave Streamlit's default ("auto": module bookkeeping on the event loop per new session)
    from streamlit import config

    monkeypatch.chdir(REPO)
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("server.fileWatcherType") == "none"
        assert config.get_option("server.runOnSave") is False
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)


def test_a_row_with_two_problems_is_dropped_once() -> None:
    data = (_table(GOOD) + ",maybe\n").encode()  # empty sequence and an unknown label on line 22
    _, report = load_labelled(data)
    assert report.dropped["row"].tolist() == [22]
    assert report.reasons == {"empty sequence": 1}
    assert report.summary_lines()[:3] == [
        "Read 21 rows (csv); kept 20.",
        "Sequences from 'sequence', labels from 'label'.",
        "Dropped 1 row: 1 empty sequence.",
    ]


# ---------------------------------------------------------------- checkpoints
def _cnn_checkpoint(tmp_path) -> bytes:
    """A genuine small CNN checkpoint, as bytes."""
    model = build_model("cnn", {"embed_dim": 8, "hidden_dim": 8})
    path = save_checkpoint(tmp_path / "real.pt", model, kind="cnn", model_config=model_config_dict(model))
    return path.read_bytes()


def _evil_pickle(marker: Path, via_torch: bool) -> bytes:
    """A pickle whose loading would create `marker` (code execution), plain or inside torch.save's zip."""

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    buffer = io.BytesIO()
    if via_torch:
        torch.save({"format": "protlab-checkpoint", "version": 1, "payload": Evil()}, buffer)
    else:
        pickle.dump(Evil(), buffer)
    return buffer.getvalue()


def _other_architecture(tmp_path) -> bytes:
    """A ProtLab checkpoint whose weights are an MLP's but whose declared architecture is a CNN."""
    mlp = build_model("mlp", {})
    payload = torch.load(
        save_checkpoint(tmp_path / "mlp.pt", mlp, kind="mlp", model_config=model_config_dict(mlp)),
        weights_only=True,
    )
    payload["kind"], payload["model_config"] = "cnn", {}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _bare_state_dict() -> bytes:
    """Weights of some other PyTorch model, saved without any ProtLab description."""
    buffer = io.BytesIO()
    torch.save(torch.nn.Linear(3, 2).state_dict(), buffer)
    return buffer.getvalue()


REFUSED_SAFETY = (
    "The uploaded file was refused: it contains Python objects other than tensors, which ProtLab "
    "refuses to load for safety (loading them could run code). Save models with ProtLab instead."
)
NOT_A_CHECKPOINT = "The uploaded file is not a PyTorch checkpoint file; choose a .pt file saved by ProtLab."
DAMAGED = (
    "The uploaded file is damaged or incomplete (truncated or corrupt archive); save or download it again."
)
CHECKPOINT_CASES = {
    "random bytes": (lambda tmp: np.random.default_rng(0).bytes(5000), NOT_A_CHECKPOINT),
    "text file": (lambda tmp: b"sequence,label\nMKV,1\n", NOT_A_CHECKPOINT),
    "empty file": (lambda tmp: b"", "The uploaded file is empty (0 bytes), so it holds no model."),
    "truncated checkpoint": (lambda tmp: _cnn_checkpoint(tmp)[:-2000], DAMAGED),
    "zip header then garbage": (lambda tmp: b"PK\x03\x04" + bytes(500), DAMAGED),
    "another architecture": (
        lambda tmp: _other_architecture(tmp),
        "The uploaded file has weights that do not match its declared architecture "
        "(missing: embedding.weight, conv1.weight, conv1.bias, conv2.weight ...; "
        "unexpected: net.0.weight, net.0.bias, net.2.weight, net.2.bias).",
    ),
    "bare state_dict of another model": (
        lambda tmp: _bare_state_dict(),
        "The uploaded file is a PyTorch file but not a ProtLab checkpoint. It looks like a bare state_dict "
        "(weights without an architecture). ProtLab needs a checkpoint saved by its Train page or "
        "`python -m protlab train`.",
    ),
    "pickle carrying code": (lambda tmp: _evil_pickle(tmp / "pwned", via_torch=False), REFUSED_SAFETY),
    "torch file carrying code": (lambda tmp: _evil_pickle(tmp / "pwned", via_torch=True), REFUSED_SAFETY),
}


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("case", list(CHECKPOINT_CASES), ids=list(CHECKPOINT_CASES))
def test_bad_checkpoint(case: str, tmp_path) -> None:
    make, message = CHECKPOINT_CASES[case]
    data = make(tmp_path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(data)
    assert str(info.value) == message
    assert not (tmp_path / "pwned").exists()  # no code ran while refusing


def test_a_real_checkpoint_loads(tmp_path) -> None:
    assert load_checkpoint(_cnn_checkpoint(tmp_path)).kind == "cnn"


def test_torch_load_is_only_ever_called_with_weights_only_true() -> None:
    calls = []
    for path in PRODUCT_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and ast.unparse(node.func) in ("torch.load", "load")
                and "torch" in path.read_text(encoding="utf-8")
            ):
                flags = {k.arg: ast.unparse(k.value) for k in node.keywords}
                calls.append((path.name, flags.get("weights_only")))
    assert calls and all(flag == "True" for _, flag in calls), calls


# ---------------------------------------------------------------- network builder
class _NoAllocation:
    """Stands in for nn.Linear: any construction means memory was about to be allocated."""

    def __init__(self, *args, **kwargs):
        raise AssertionError(f"nn.Linear{args} was constructed before the settings were checked")


BUILDER_CASES = {
    "width 0": ([LayerSpec(0)], "Layer 1 width must be an integer from 1 to 4096; got 0."),
    "10,000-wide layer": (
        [LayerSpec(64), LayerSpec(10_000)],
        "Layer 2 width must be an integer from 1 to 4096; got 10000.",
    ),
    "100 layers": ([LayerSpec(8)] * 100, "An MLP may have at most 32 hidden layers; got 100."),
    "too many parameters in total": (
        [LayerSpec(4096)] * 32,
        "This network would have 520,314,882 parameters, above the limit of 20,000,000; "
        "use fewer or narrower layers.",
    ),
    "negative width": ([LayerSpec(-5)], "Layer 1 width must be an integer from 1 to 4096; got -5."),
    "fractional width": ([LayerSpec(2.5)], "Layer 1 width must be an integer from 1 to 4096; got 2.5."),
}


@pytest.mark.parametrize("case", list(BUILDER_CASES), ids=list(BUILDER_CASES))
def test_network_builder_refuses_before_allocating(case: str, monkeypatch) -> None:
    layers, message = BUILDER_CASES[case]
    monkeypatch.setattr(torch.nn, "Linear", _NoAllocation)
    for build in (
        lambda: build_mlp(MLPConfig(layers=list(layers))),
        lambda: build_model("mlp", {"layers": [vars(spec) for spec in layers]}),
    ):
        with pytest.raises(ConfigError) as info:
            build()
        assert str(info.value) == message


def test_zero_layers_is_logistic_regression() -> None:
    net = build_mlp(MLPConfig(input_dim=20, layers=[]))
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(20, 2)]
    assert count_parameters(net) == 20 * 2 + 2


# ---------------------------------------------------------------- training settings
def _tiny_sets(n: int = 24, length: int = 20) -> tuple[TokenizedSet, TokenizedSet]:
    """Small train/val sets of random sequences with alternating labels (notes' vocabulary of 21)."""
    sequences = _random_sequences(n, length=length, seed=3)
    labels = np.arange(n) % 2
    half = n // 2
    make = lambda s, y: TokenizedSet.from_sequences(s, y, vocab_size=21, max_length=200)  # noqa: E731
    return make(sequences[:half], labels[:half]), make(sequences[half:], labels[half:])


def _tiny_cnn() -> torch.nn.Module:
    """A very small CNN for fast training tests."""
    return build_model("cnn", {"embed_dim": 8, "hidden_dim": 8, "dropout": 0.0})


SETTINGS_CASES = {
    "learning rate 0": (
        {"lr": 0.0},
        "lr must be a number above 0 and at most 1e6 (1e-3 is a good start); got 0.0.",
    ),
    "learning rate above 1e6": (
        {"lr": 1e7},
        "lr must be a number above 0 and at most 1e6 (1e-3 is a good start); got 10000000.0.",
    ),
    "learning rate NaN": (
        {"lr": float("nan")},
        "lr must be a number above 0 and at most 1e6 (1e-3 is a good start); got nan.",
    ),
    "0 epochs": (
        {"epochs": 0},
        "epochs must be an integer from 1 to 1000 (at least 1 epoch is needed to learn anything); got 0.",
    ),
    "batch size 0": ({"batch_size": 0}, "batch_size must be an integer from 1 to 4096; got 0."),
    "batch size above the maximum": (
        {"batch_size": 100_000},
        "batch_size must be an integer from 1 to 4096; got 100000.",
    ),
}


@pytest.mark.parametrize("case", list(SETTINGS_CASES), ids=list(SETTINGS_CASES))
def test_bad_training_setting(case: str) -> None:
    values, message = SETTINGS_CASES[case]
    with pytest.raises(ConfigError) as info:
        TrainConfig(**values).validate()
    assert str(info.value) == message
    train, val = _tiny_sets()
    model = _tiny_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ConfigError):
        train_model(model, train, val, TrainConfig(**values))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing was trained


def test_batch_size_larger_than_the_data_trains_on_one_batch() -> None:
    train, val = _tiny_sets()
    events = []
    result = train_model(
        _tiny_cnn(),
        train,
        val,
        TrainConfig(batch_size=4096, epochs=2, scheduler="none"),
        callback=events.append,
    )
    assert result.stopped_reason == "finished" and [e.epoch for e in result.history] == [1, 2]
    batches = [e for e in events if isinstance(e, BatchEvent)]
    assert [(e.batch, e.n_batches, e.seqs_done) for e in batches] == [(1, 1, len(train))] * 2


DIVERGED = re.compile(
    r"The (loss became (NaN|infinite)|loss exploded to \S+|gradients became infinite) "
    r"at epoch \d+, batch \d+: the learning rate 1e\+06 is probably too high; try 1e-3\."
)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_every_truncation_of_a_checkpoint_is_refused_cleanly(tmp_path) -> None:
    data = _cnn_checkpoint(tmp_path)
    for cut in range(0, len(data), max(1, len(data) // 60)):
        with pytest.raises(CheckpointError):
            load_checkpoint(data[:cut])


# --------------------------------------------------------------- no user text reaches code, a shell or a path
FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "compile",
    "os.system",
    "os.popen",
    "subprocess.run",
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.check_output",
    "pickle.load",
    "pickle.loads",
    "yaml.load",
    "__import__",
    "importlib.import_module",
}
PATH_WRITERS = ("open", "write_bytes", "write_text", "save_checkpoint", "to_csv", "Path", "mkdir")


def _calls(path: Path):
    """Every call node of a source file with its dotted function name."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def test_no_eval_exec_shell_or_pickle_in_the_product() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{node.lineno} {name}"
        for path in PRODUCT_FILES
        for node, name in _calls(path)
        if name in FORBIDDEN_CALLS
    ]
    # the model registry imports protlab/models/<kind>.py only for kinds matching [a-z][a-z0-9_]*
    # that exist on disk; the local run pool starts its workers as
    # [python, -m, protlab.runs, --serve] (an argument list, no shell); the homology split runs the
    # MMseqs2 binary with an argument list of temporary file paths and numbers (sequences go in a FASTA file);
    # the packages' lazy exports import only modules named in their own fixed tables (protlab/lazy.py), and
    # the server's warm-up thread only the fixed WARM_MODULES tuple (ui/warmup.py)
    allowed = {
        "protlab/models/__init__.py",
        "protlab/runs/local_pool.py",
        "protlab/data/homology.py",
        "protlab/lazy.py",
        "ui/warmup.py",
    }
    assert [o for o in offenders if o.split(":")[0] not in allowed] == []


def test_pages_never_use_an_uploaded_file_name_as_a_path() -> None:
    offenders = []
    for path in [*REPO.glob("pages/*.py"), *REPO.glob("ui/*.py"), REPO / "app.py"]:
        for node, name in _calls(path):
            if name.split(".")[-1] in PATH_WRITERS:
                args = " ".join(ast.unparse(a) for a in [*node.args, *(k.value for k in node.keywords)])
                if "upload" in args.lower() or ".name" in args:
                    offenders.append(f"{path.name}:{node.lineno} {ast.unparse(node)[:80]}")
    assert offenders == []


BUILDER_PAGE_CASES = {  # quick fill (N layers, width) -> the red message on the page, None when it builds,
    # or OUT_OF_RANGE when the number boxes themselves refuse the value (it never reaches the builder)
    "zero layers": (0, 64, None),
    "width 0": (2, 0, "OUT_OF_RANGE"),
    "10,000-wide layers": (2, 10_000, "OUT_OF_RANGE"),
    "100 layers": (100, 8, "OUT_OF_RANGE"),
    "3 layers of 4,096": (
        3,
        4096,
        "This network would have 33,656,834 parameters, above the limit of 20,000,000; "
        "use fewer or narrower layers.",
    ),
}


def test_network_builder_page_shows_each_refusal_as_a_message(monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from protlab.models import MAX_LAYERS, MAX_WIDTH

    at = AppTest.from_file(str(REPO / "pages" / "build_network.py"), default_timeout=120).run()
    for case, (n_layers, width, message) in BUILDER_PAGE_CASES.items():
        at.number_input(key="bn_fill_n").set_value(n_layers)
        at.number_input(key="bn_fill_width").set_value(width)
        at.button(key="bn_fill").click().run()
        assert not at.exception, (case, at.exception)
        errors = [e.value for e in at.error]
        if message is None:
            assert errors == [], (case, errors)
            assert [i.value for i in at.info if "logistic regression" in i.value], case
        elif message == "OUT_OF_RANGE":  # the boxes stop at their limits: what was built stays inside them
            widths = at.session_state["bn_layers"]["width"].tolist()
            assert errors == [] and len(widths) <= MAX_LAYERS, case
            assert all(1 <= w <= MAX_WIDTH for w in widths), case
        else:
            assert errors == [message], (case, errors)


# ---------------------------------------------------------------- faults: Stop


# ---------------------------------------------------------------- faults: background runs
def _labelled(n: int = 40) -> LabelledData:
    """n random proteins with alternating labels."""
    sequences = _random_sequences(n, length=24, seed=5)
    return LabelledData(sequences, np.arange(n) % 2, [f"p{i}" for i in range(n)])


def _spec(name: str = "run", epochs: int = 2, **train) -> RunSpec:
    """A tiny CNN run on 40 proteins."""
    config = TrainConfig(epochs=epochs, batch_size=4, scheduler="none", patience=0, **train)
    return RunSpec(
        name=name,
        data=_labelled(),
        model_kind="cnn",
        model_config={"embed_dim": 4, "hidden_dim": 4, "num_layers": 1, "dropout": 0.0},
        train_config=config,
    )


def _finished(manager: RunManager, run_id: str, owner: str):
    """Wait for a run's thread and return its status."""
    assert manager.wait(run_id, timeout=120), "the run did not end within 2 minutes"
    return manager.status(run_id, owner)


def test_start_pressed_twice_starts_one_run(tmp_path) -> None:
    manager = RunManager(tmp_path / "runs")
    barrier, outcomes = threading.Barrier(2), []

    def press_start() -> None:
        barrier.wait()
        try:
            outcomes.append(manager.submit(_spec(epochs=3), "alice"))
        except RunError as err:
            outcomes.append(err)

    clicks = [threading.Thread(target=press_start) for _ in range(2)]
    for click in clicks:
        click.start()
    for click in clicks:
        click.join()
    run_ids = [o for o in outcomes if isinstance(o, str)]
    errors = [str(o) for o in outcomes if isinstance(o, RunError)]
    assert len(run_ids) == 1 and errors == [
        "A training run is already going for this session; stop it first."
    ]
    assert [r["run_id"] for r in manager.list_runs("alice")] == run_ids
    assert _finished(manager, run_ids[0], "alice").state == "finished"
    assert RUN_ID.fullmatch(manager.submit(_spec(), "alice"))  # once it has ended, Start works again


def test_stop_ends_a_run_and_keeps_its_best_weights(tmp_path) -> None:
    manager = RunManager(tmp_path / "runs")
    run_id = manager.submit(_spec(epochs=1000), "bob")
    deadline = time.monotonic() + 60
    while manager.status(run_id, "bob").progress <= 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    manager.stop(run_id, "bob")
    status = _finished(manager, run_id, "bob")
    assert (status.state, status.error) == ("stopped", None)
    assert status.progress < 0.5
    assert load_checkpoint(status.checkpoint_path).kind == "cnn"  # what it learned is kept


def test_a_finished_run_survives_a_server_restart(tmp_path) -> None:
    first = RunManager(tmp_path / "runs")
    run_id = first.submit(_spec(), "carol")
    before = _finished(first, run_id, "carol")
    restarted = RunManager(tmp_path / "runs")  # a new process reads the same folder
    after = restarted.status(run_id, "carol")
    assert (after.state, after.test_metrics, after.baseline) == (
        "finished",
        before.test_metrics,
        before.baseline,
    )
    assert [e["val_loss"] for e in after.events] == pytest.approx([e["val_loss"] for e in before.events])
    assert np.array_equal(after.test_labels, before.test_labels)
    assert [r["run_id"] for r in restarted.list_runs("carol")] == [run_id]
    assert load_checkpoint(after.checkpoint_path).kind == "cnn"


def test_a_run_cut_off_by_a_restart_is_reported_as_interrupted(tmp_path) -> None:
    manager = RunManager(tmp_path / "runs")
    run_id = manager.submit(_spec(), "dave")
    _finished(manager, run_id, "dave")
    record_path = tmp_path / "runs" / run_id / "run.json"
    record = json.loads(record_path.read_text())
    record["state"] = "running"  # as if the server died mid-run
    record_path.write_text(json.dumps(record))
    status = RunManager(tmp_path / "runs").status(run_id, "dave")
    assert (status.state, status.error) == ("interrupted", "The server stopped while this run was going.")


def test_a_run_that_raises_is_recorded_and_the_server_keeps_working(tmp_path, monkeypatch) -> None:
    import protlab.training.loop as runs  # the worker looks train_model up here when a run starts

    real_train = runs.train_model

    def out_of_memory_for_one_run(model, train, val, config, **kwargs):
        if config.seed == 7:
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_train(model, train, val, config, **kwargs)

    monkeypatch.setattr(runs, "train_model", out_of_memory_for_one_run)
    manager = RunManager(tmp_path / "runs", ClassSettings(executor="inprocess"))  # runs where the patch is
    failed = _finished(manager, manager.submit(_spec(seed=7), "erin"), "erin")
    assert (failed.state, failed.error) == (
        "failed",
        "The run failed: RuntimeError: CUDA out of memory. Tried to allocate 20.00 GiB",
    )
    other = _finished(manager, manager.submit(_spec(), "frank"), "frank")
    again = _finished(manager, manager.submit(_spec(), "erin"), "erin")
    assert (other.state, again.state) == ("finished", "finished")


def test_a_diverging_run_fails_with_a_message_and_keeps_the_best_checkpoint(tmp_path, monkeypatch) -> None:
    import protlab.training.loop as runs  # the worker looks train_model up here when a run starts

    real_train = runs.train_model

    def poison_after_epoch_1(model, train, val, config, *, callback=None, stop=None):
        def chained(event) -> None:
            callback(event)
            if isinstance(event, EpochEvent) and event.epoch == 1:
                with torch.no_grad():
                    next(model.parameters()).mul_(1e30).fill_(float("inf"))

        return real_train(model, train, val, config, callback=chained, stop=stop)

    monkeypatch.setattr(runs, "train_model", poison_after_epoch_1)
    manager = RunManager(tmp_path / "runs", ClassSettings(executor="inprocess"))  # runs where the patch is
    status = _finished(manager, manager.submit(_spec(epochs=3), "gina"), "gina")
    assert status.state == "failed"
    assert status.error == (
        "The loss became NaN at epoch 2, batch 1 even though the learning rate is 0.001; try a "
        "lower learning rate (for example 1e-4) or turn gradient clipping on (grad_clip 1.0)."
    )
    assert [e["epoch"] for e in status.events] == [1]
    checkpoint = load_checkpoint(status.checkpoint_path)
    assert all(torch.isfinite(p).all() for p in checkpoint.model.parameters())


def test_learning_rate_1e6_run_fails_with_the_divergence_message(tmp_path) -> None:
    manager = RunManager(tmp_path / "runs")
    status = _finished(manager, manager.submit(_spec(lr=1e6, optimizer="sgd", grad_clip=0.0), "hank"), "hank")
    assert status.state == "failed" and DIVERGED.fullmatch(status.error), status.error


def test_run_files_get_generated_names_and_are_complete(tmp_path) -> None:
    manager = RunManager(tmp_path / "runs")
    spec = _spec(name="../../etc/passwd; rm -rf ~ $(reboot)")
    run_id = manager.submit(spec, "ivy")
    status = _finished(manager, run_id, "ivy")
    assert status.name == spec.name  # shown as typed ...
    assert RUN_ID.fullmatch(run_id)  # ... but every path is generated by the server
    files = sorted(p.name for p in (tmp_path / "runs" / run_id).iterdir())
    assert files == [
        "batches.csv",
        "data.csv",
        "epochs",  # a small CNN keeps its weights per epoch (for the loss-landscape lesson)
        "history.csv",
        "model.pt",
        "run.json",
        "spec.json",
        "test_predictions.csv",
    ]
    beside = {p.name for p in (tmp_path / "runs").iterdir()} - {run_id}  # the run system's own folders
    # beside the run folders: the queue and its lock, logs, owners, shared names, and the per-split cache of
    # leak checks (named by a hash of the proteins, never by user text)
    assert beside <= {".submit.lock", "_leaks", "_logs", "_owners", "_queue", "_running", "_shared"}
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))  # atomic writes left nothing behind
