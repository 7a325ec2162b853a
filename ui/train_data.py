"""The Train page's data section: bundled data or an upload, its validation report, a sample and the split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from protlab.errors import ConfigError, DataFormatError, MeasuredLabelsError
from protlab.lessons import result_figures as rf
from ui.common import explain, literal
from ui.memory import kept, kept_index, remembered_upload
from ui.router import stop_page

UPLOAD_KEY = "uploaded_bytes"  # session key with (file name, bytes) of the uploaded data; tests may set it
UPLOAD_SLOT = "train_data"  # the student's saved upload of training data
QUICK_SAMPLE = 1_000  # rows in the "quick class demo" sample
DROPPED_ROW_HEIGHT = 76  # pixels: a dropped row's detail (a sentence or two) wraps onto three lines
DATA_CHOICES = ["Bundled DeepSol data (6,942 proteins)", "Upload my own CSV or FASTA"]


@st.cache_data(show_spinner="Reading the bundled DeepSol data...")
def bundled_data():  # -> tuple[LabelledData, ValidationReport]
    """The bundled DeepSol data and its validation report (read once per server)."""
    from protlab.data import load_bundled

    return load_bundled()


@st.cache_data(show_spinner="Checking your file...", max_entries=8)
def uploaded_data(data: bytes, filename: str, cutoff: float | None = None):  # -> (LabelledData, report)
    """Validate uploaded CSV/FASTA bytes in memory (never written to disk under the user's name); a label
    column of measurements is read at `cutoff` (soluble at or above it)."""
    from protlab.data import load_labelled

    return load_labelled(data, filename=filename, label_cutoff=cutoff)


def _cutoff_input(err: MeasuredLabelsError) -> float:
    """Ask where measured labels become 'soluble' (the median first); the value the student chose."""
    st.info(
        f"The column **{literal(err.column)}** holds measurements from {err.low:g} to {err.high:g}, not "
        "classes. Choose the value from which a protein counts as soluble: each protein at or above it is "
        "labelled 1 (soluble), each one below it 0.",
        icon=":material/tune:",
    )
    cutoff = st.number_input(
        "Soluble at or above",
        min_value=err.low,
        max_value=err.high,
        value=min(max(float(kept("label_cutoff", err.median)), err.low), err.high),
        key="label_cutoff",
    )
    explain(
        f"The median, {err.median:g}, splits the proteins in half. A stricter cutoff (higher) keeps "
        "'soluble' for clearly soluble proteins and makes that class smaller; the class balance below shows "
        "what your choice gives."
    )
    return float(cutoff)


def _loaded(raw: bytes, name: str):  # -> tuple[LabelledData, ValidationReport, float | None]
    """The upload, validated; labels that are measurements are read at the cutoff the student chooses."""
    try:
        return (*uploaded_data(raw, name), None)
    except MeasuredLabelsError as err:
        cutoff = _cutoff_input(err)
        return (*uploaded_data(raw, name, cutoff), cutoff)


def _usable(data: bytes, filename: str) -> None:
    """Refuse (DataFormatError) a replacement file that cannot be trained on: rows that do not load (saying
    why they were dropped), or too few proteins of a class for the run's split by label."""
    from protlab.data import stratified_split

    try:
        labelled, _ = uploaded_data(data, filename)
    except MeasuredLabelsError:  # usable: the page asks for a cutoff
        return
    except DataFormatError as err:
        report = getattr(err, "report", None)
        if report is None or not len(report.dropped):
            raise
        reasons = ", ".join(f"{count:,} {reason}" for reason, count in report.reasons.items())
        raise DataFormatError(f"{err} Dropped: {reasons}; the first: {report.dropped_lines(1)[0]}") from None
    try:  # the class counts decide whether the split can be made; a sample of the file has fewer
        stratified_split(labelled.labels, seed=0)
    except ConfigError as err:
        raise DataFormatError(str(err)) from None


def data_section():  # -> tuple[LabelledData, ValidationReport, str, float | None]
    """Choose the bundled data or an upload; returns data, report, the source name and the label cutoff
    (None unless the file's labels are measurements)."""
    st.header("1 · Data")
    choice = st.radio(
        "Training data",
        DATA_CHOICES,
        kept_index("data_choice", DATA_CHOICES),
        horizontal=True,
        key="data_choice",
    )
    if choice.startswith("Bundled"):
        return (*bundled_data(), "bundled", None)
    explain(
        "CSV: a column of sequences and a column of 0/1 labels (1 = soluble), or of measurements such as "
        "solubility in percent (you then choose the cutoff). FASTA: put the label at "
        "the end of each header line, e.g. `>myprotein label=1`. Sequences are cleaned as on the Encode "
        "and Predict pages: spaces and GenBank/EMBL position numbers (at the start or end of a line) are "
        "removed; a digit inside a sequence, such as `MKT 12 AYI`, drops the row with its reason. An Excel "
        "workbook (.xlsx: the first sheet with a sequence column), a gzip file or a ZIP archive of one such "
        "file is opened for you."
    )
    types = ["csv", "tsv", "txt", "fasta", "fa", "faa", "xlsx", "xls", "gz", "zip"]
    name, raw = remembered_upload(
        "Labelled sequences",
        types,
        UPLOAD_KEY,
        "Upload a file to continue, or switch back to the bundled data.",
        slot=UPLOAD_SLOT,
        check=_usable,
    )
    try:
        data, report, cutoff = _loaded(raw, name)
    except DataFormatError as err:  # too few rows or one class: show why rows went before stopping
        report = getattr(err, "report", None)
        if report is None or not len(report.dropped):
            raise
        st.error(literal(err), icon=":material/error:")
        dropped_rows(report, len(report.dropped), expanded=True)
        stop_page()
    st.caption(
        f":material/table_rows: Training on **{literal(name)}**: {report.n_read:,} rows read, "
        f"{report.n_kept:,} kept (below: why any were dropped). Press **Clear** above to use another file."
    )
    return data, report, name, cutoff


def report_section(data, report) -> None:
    """Show what validation kept and dropped, the class balance and the lengths, before any training."""
    kept, dropped = report.n_kept, report.n_read - report.n_kept
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows kept", f"{kept:,}")
    c2.metric("Rows dropped", f"{dropped:,}")
    counts = report.class_counts
    c3.metric("Soluble (1)", f"{int(counts.get(1, 0)):,}")
    c4.metric("Insoluble (0)", f"{int(counts.get(0, 0)):,}")
    left, right = st.columns([2, 3])
    with left:
        for line in report.summary_lines():
            st.caption(literal(line))
        explain(
            "A model that always answers the larger class already gets that class's share right, so look "
            "at the balance before you celebrate an accuracy number."
        )
    right.plotly_chart(
        rf.length_histogram(report.lengths, data.labels, title="Sequence lengths by class"), key="lengths"
    )
    if len(report.dropped):
        dropped_rows(report, dropped)


def dropped_rows(report, dropped: int, expanded: bool = False) -> None:
    """The dropped rows with their reasons, full width; long details wrap over several lines."""
    with st.expander(
        f"Why {dropped:,} {'row was' if dropped == 1 else 'rows were'} dropped", expanded=expanded
    ):
        st.dataframe(
            pd.DataFrame(list(report.reasons.items()), columns=["reason", "rows"]),
            hide_index=True,
            width="content",
            column_config={"reason": st.column_config.TextColumn("Reason", width=220), "rows": "Rows"},
        )
        st.dataframe(
            report.dropped,
            hide_index=True,
            row_height=DROPPED_ROW_HEIGHT,
            column_config={
                "row": st.column_config.NumberColumn("Row", width=60),
                "reason": st.column_config.TextColumn("Reason", width=160),
                "detail": st.column_config.TextColumn("Detail", width=560),
            },
        )


def sample_section(n_rows: int) -> int | None:
    """Optionally train on a random sample of rows (for a fast class demo)."""
    quick = [f"Quick demo: {QUICK_SAMPLE:,} random rows"] if n_rows > QUICK_SAMPLE else []
    options = ["All rows", *quick, "Custom sample size"]
    choice = st.radio(
        "How much of the data to use",
        options,
        kept_index("sample_choice", options),
        horizontal=True,
        key="sample_choice",
    )
    if choice == "All rows":
        return None
    if choice.startswith("Quick"):
        return QUICK_SAMPLE
    top = max(n_rows, 30)
    return int(
        st.number_input(
            "Rows to sample", 30, top, max(30, min(kept("sample_size", 500), top)), 10, key="sample_size"
        )
    )


def sample_rows(data, size: int | None, seed: int):  # -> LabelledData
    """The rows the run trains on: all of them, or a seeded random sample drawn like the generated script."""
    from protlab.data import LabelledData

    if size is None or size >= len(data):
        return data
    keep = np.sort(np.random.default_rng(seed).choice(len(data), size=size, replace=False))  # (size,) int64
    return LabelledData(
        [data.sequences[i] for i in keep], np.asarray(data.labels)[keep], [data.ids[i] for i in keep]
    )


def check_split(data, sample: int | None, split: tuple[str, float], seed: int) -> None:
    """Refuse (ConfigError) data the run's stratified split cannot divide, before a run is queued to fail."""
    if split[0] != "stratified":  # a homology split needs MMseqs2: it is checked by the run itself
        return
    from protlab.data import stratified_split

    stratified_split(sample_rows(data, sample, seed).labels, seed=seed)  # the run's split, same fractions


def split_section() -> tuple[str, float]:
    """Stratified (the notes' method) or homology-aware split."""
    method = st.radio(
        "How to split train / validation / test (80 / 10 / 10)",
        ["stratified", "homology"],
        kept_index("split_method", ["stratified", "homology"]),
        horizontal=True,
        key="split_method",
        format_func={
            "stratified": "Stratified by label (the notes)",
            "homology": "Homology-aware (keep similar proteins together)",
        }.get,
    )
    identity = 0.3
    if method == "homology":
        identity = st.slider("Identity threshold", 0.3, 0.9, kept("identity", 0.3), 0.05, key="identity")
        explain(
            "MMseqs2 groups proteins that share at least this sequence identity over 80% of both proteins; "
            "each group goes whole to one set, so the test set holds no relatives of training proteins "
            "(the notes prescribe 30%). Scores are lower but more honest. The run's results say how many "
            "groups there were, the largest one, and how many test proteins still have a training relative."
        )
    else:
        explain(
            "Each set keeps the same share of soluble proteins. Close homologues may land in both "
            "training and test sets, which can make the test score look better than it really is."
        )
    return method, identity
