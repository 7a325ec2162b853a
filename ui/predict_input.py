"""Predict page: the proteins to predict (pasted or uploaded) and the records that could not be read."""

from __future__ import annotations

import streamlit as st

from ui.common import explain, literal
from ui.memory import KEEP_PREFIX, keep_widgets, kept_index, remember_text, remembered_text, remembered_upload

SEQUENCE_UPLOAD_KEY = "uploaded_sequences"  # session key with (file name, bytes) of an uploaded sequence file
SEQUENCE_SLOT = "predict_sequences"  # the student's saved sequence file
MODEL_SOURCES = ("Bundled default model", "One of my training runs", "Upload a checkpoint (.pt)")
RUN_SOURCE = MODEL_SOURCES[1]  # the Predict page's choice of one of the student's own runs
RUN_PARAM = "run"  # query parameter of a link that opens Predict on one of the student's runs
INPUT_SOURCES = ("Paste sequences", "Upload a file (FASTA, CSV or Excel)")
SEQUENCE_TYPES = ["fasta", "fa", "faa", "txt", "csv", "tsv", "xlsx", "xls", "gz", "zip"]  # archives: opened
MAX_SHOWN_REJECTED = 100  # rows of the left-out table drawn on the page (the CSV download has every one)
SET_BY_BUTTON = "sequences_set_by_button"  # session flag: a known protein's button has just filled the box
REJECTED_TITLES = {  # "Protein no." counts proteins; "On line" counts lines of the input (a header is one)
    "record": "Protein no.",
    "id": "ID",
    "line": "On line",
    "reason": "Why it was left out",
}
EXAMPLE = (
    ">sp|P0AA25|THIO_ECOLI Thioredoxin 1 from E. coli\n"
    "MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLNIDQNPGTAPKYGIRGIPTLLLFKNGEVAATKVGALSK\n"
    "GQLKEFLDANLA\n"
)


def run_from_link() -> None:
    """A link's run=<id> (Train's "Predict with this model"): choose that run's model as if the student had,
    then drop the parameter, so the address does not force the choice again after the student changes it."""
    run_id = st.query_params.get(RUN_PARAM)
    if not run_id:
        return
    del st.query_params[RUN_PARAM]
    for key in ("model_source", "predict_run"):
        st.session_state.pop(key, None)  # the widgets take the kept choice below, not a value from before
    st.session_state[KEEP_PREFIX + "model_source"] = RUN_SOURCE
    st.session_state[KEEP_PREFIX + "predict_run"] = run_id
    keep_widgets([])  # saved with the student's other settings, so a reload keeps the choice too


@st.cache_data(show_spinner="Reading your file...", max_entries=8)
def read_uploaded(data: bytes, name: str):  # -> protlab.predict_input.PredictInput
    """An uploaded sequence file, read once per content (a workbook is not parsed again on every click)."""
    from protlab.predict_input import read_file

    return read_file(data, name)


def _readable(data: bytes, name: str) -> None:
    """Refuse (ProtlabError) a sequence file that holds no protein to predict, with its first reason."""
    from protlab.errors import InvalidSequenceError

    read = read_uploaded(data, name)
    if not read.records:
        first = read.rejected["reason"].iloc[0] if len(read.rejected) else "it holds no sequence."
        raise InvalidSequenceError(f"None of its records can be used; the first: {first}")


def read_proteins():  # -> protlab.predict_input.PredictInput
    """The proteins to predict, pasted or from an uploaded file; bad records are kept aside, not raised."""
    from protlab.predict_input import read_pasted

    source = st.radio(
        "Proteins",
        INPUT_SOURCES,
        kept_index("input_source", INPUT_SOURCES),
        horizontal=True,
        key="input_source",
    )
    keep_widgets(["input_source"])
    if source == INPUT_SOURCES[1]:
        name, data = remembered_upload(
            "FASTA file, or a CSV/TSV with a sequence column (and an optional id column)",
            SEQUENCE_TYPES,
            SEQUENCE_UPLOAD_KEY,
            "Upload a FASTA file or a table with a 'sequence' column, one protein per row.",
            slot=SEQUENCE_SLOT,
            check=_readable,
        )
        return _under_the_box(read_uploaded(data, name))
    text = st.text_area(
        "Protein sequence(s): plain letters or FASTA",
        # a known protein's button set the box through session state: no second default then. Otherwise the
        # default is the text itself: a box the browser has not drawn yet sends no value, and Streamlit
        # then returns the default (None here made a page run fail under a class's load)
        None if st.session_state.pop(SET_BY_BUTTON, False) else remembered_text("sequences", EXAMPLE),
        height=140,
        key="sequences",
    )
    text = text if isinstance(text, str) else ""  # never None, whatever the browser sent
    remember_text("sequences", text)
    if text.strip() == EXAMPLE.strip():
        st.caption(
            ":material/science: The example is thioredoxin 1, a native *E. coli* protein known to be very "
            "soluble (it is even used as a fusion tag to help other proteins fold). See what the model calls "
            "it below: the **Known proteins** panel at the bottom of the page shows where this kind of model "
            "gets famous proteins wrong, and why."
        )
    explain(
        "One-letter amino-acid codes. Several proteins: start each with a FASTA header line (>name), or "
        "leave a blank line between them. DNA or RNA is refused: translate it first. "
        "Spaces, line breaks and GenBank/EMBL position numbers (at the start or end of a line) are "
        "removed; a digit inside a sequence is refused. X, B, Z, J, U and O count as 'unknown'."
    )
    return _under_the_box(read_pasted(text), text)


def _under_the_box(proteins, text: str | None = None):  # -> PredictInput
    """Right under the input: how text without '>' lines was cut into proteins (maybe not as meant), the
    records that could not be read, and for a protein's name typed as a sequence, a button to its sequence."""
    if proteins.records:  # cutting advice is beside the point when nothing was read
        for reading in proteins.readings:
            st.warning(literal(reading), icon=":material/call_split:")
    show_rejected(proteins.rejected, len(proteins.records) + len(proteins.rejected))
    if text is not None and not proteins.rejected.empty:
        _known_protein_buttons(text)
    return proteins


def _use_known(fasta: str) -> None:
    """Button callback: put a known protein's FASTA record in the box (set before the box is drawn)."""
    st.session_state["sequences"] = fasta
    st.session_state[SET_BY_BUTTON] = True


def _known_protein_buttons(text: str) -> None:
    """A button for each known protein named in the text ('GFP', 'ubiquitin'): predict its sequence."""
    from protlab.known_proteins import known_protein_named

    named = [known_protein_named(" ".join(line.split())) for line in text.splitlines() if 0 < len(line) <= 40]
    proteins = list(dict.fromkeys(p for p in named if p is not None))  # each once, in the order typed
    for protein in proteins[:3]:
        st.button(
            f"Predict {protein.name} ({protein.uniprot}) instead",
            key=f"known_{protein.uniprot}",
            icon=":material/science:",
            on_click=_use_known,
            args=(f">{protein.uniprot} {protein.name}\n{protein.sequence}\n",),
        )


def show_rejected(rejected, total: int) -> None:
    """The records that could not be read, with their reasons (the rest of the page goes on)."""
    if rejected.empty:
        return
    if len(rejected) == total == 1:  # a single protein: its message is the answer
        st.error(literal(rejected["reason"].iloc[0]), icon=":material/error:")
        return
    readable = total - len(rejected)
    st.warning(
        f"{len(rejected):,} of {total:,} records could not be read and were left out"
        + (f"; the other {readable:,} are predicted below." if readable else ". Fix them and try again."),
        icon=":material/warning:",
    )
    shown = rejected.head(MAX_SHOWN_REJECTED).copy()  # st.table wraps long reasons; its cells are Markdown
    shown["id"], shown["reason"] = shown["id"].map(literal), shown["reason"].map(literal)
    st.table(shown.rename(columns=REJECTED_TITLES), hide_index=True)
    if len(rejected) > MAX_SHOWN_REJECTED:
        st.caption(
            f"The first {MAX_SHOWN_REJECTED} of {len(rejected):,} are shown; the download has them all."
        )
    st.download_button(
        "Download the records left out (CSV)",
        rejected.to_csv(index=False).encode(),
        "protlab_left_out.csv",
        mime="text/csv",
        icon=":material/download:",
    )


def flags_of(records, lengths) -> dict[str, list[str]]:
    """Each record's reasons for extra care (id -> flags; empty for an ordinary protein)."""
    from protlab.predict_input import input_flags

    return {r.id: input_flags(r.sequence, lengths) for r in records}


def show_flags(flags: dict[str, list[str]], lengths) -> None:
    """A warning naming the proteins unlike the training data (length, unknown residues), if any."""
    flagged = {i: f for i, f in flags.items() if f}
    if not flagged:
        return
    told = (
        f"**{literal(next(iter(flagged)))}**: " + "; ".join(next(iter(flagged.values())))
        if len(flags) == 1
        else f"{len(flagged):,} of {len(flags):,} proteins are unlike the training data (column **Check**)"
    )
    st.warning(
        f"Read with extra care: {told}. The model learned from proteins of {lengths.shortest:,} to "
        f"{lengths.longest:,} residues ({lengths.origin}) written in the 20 standard letters; outside that, "
        "its P(soluble) is a guess beyond what it has seen.",
        icon=":material/warning:",
    )
