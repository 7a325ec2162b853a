"""Lesson 1: encode a protein sequence as tensors (the notes' worked example and Exercise 1)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from protlab.alphabet import AMBIGUOUS_LETTERS, AMINO_ACIDS, UNKNOWN_INDEX
from protlab.codegen import batch_code, encode_code
from protlab.data import (
    FEATURE_LABELS,
    NOTES_GLOBAL_FEATURES,
    clean_sequence,
    encode_trace,
    features_frame,
    is_nucleotide_sequence,
    pad_batch,
    parse_sequences,
)
from protlab.errors import InvalidSequenceError, ProtlabError
from protlab.lessons import (
    batch_figure,
    onehot_figure,
)
from ui.common import explain, literal, pytorch_panel
from ui.memory import keep_widgets, remember_text, remembered_text
from ui.router import ensure_router
from ui.sequence_view import highlighted_sequence, show_bad_character
from ui.tensor_playground import PLAY, playground_section
from ui.url_state import (
    UrlParam,
    copy_link,
    read_url,
    text_value,
    too_long_for_link,
    write_url,
)

ensure_router()

NOTES_EXAMPLE = "MVLSPAD"  # first 7 residues of human hemoglobin alpha, the notes' worked example
NOTES_PRINTED = [11, 19, 10, 16, 14, 1, 3]  # what the notes print for it (an erratum)
DEFAULT_BATCH = """>hemoglobin_alpha (first 20 residues)
MVLSPADKTNVKAAWGKVGA
>insulin_B_chain
FVNQHLCGSHLVEALYLVCGERGFFYTPKT
>melittin (bee venom)
GIGAVLKVLTTGLPALISWIKRKRQQ
>hemoglobin_beta (first 12 residues)
MVHLTPEEKSAV
>ubiquitin (first 35 residues)
MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEG
"""
SHORT_LABELS = {
    "molecular_weight": "MW (Da)",
    "isoelectric_point": "pI (pH units)",
    "gravy": "GRAVY (per residue)",
    "instability_index": "instability index",
    "length": "length (residues)",
}  # compact column titles with units
LETTER_MEANINGS = {
    "X": "means any amino acid",
    "B": "means D or N",
    "Z": "means E or Q",
    "J": "means L or I",
    "U": "is selenocysteine, a real 21st amino acid",
    "O": "is pyrrolysine, a real 22nd amino acid",
}  # what each letter outside the 20-letter alphabet stands for
URL = [
    UrlParam("seq", "encode_seq", text_value, default=NOTES_EXAMPLE),
    UrlParam("batch", "batch_seqs", text_value, default=DEFAULT_BATCH),
    *(UrlParam(name, key, parse, default) for key, (name, parse, default) in PLAY.items()),
]  # this page's settings in the address (ui.url_state)


def single_sequence_section() -> None:
    """Encode one sequence: indices table, shapes at each step, one-hot heat-map."""
    st.subheader("One protein, three tensors")
    st.session_state["encode_seq"] = remembered_text("encode_seq", NOTES_EXAMPLE)
    text = st.text_area(
        "Protein sequence (one-letter code; a pasted FASTA record works too)", key="encode_seq", height=90
    )
    remember_text("encode_seq", text)
    explain(
        "Type any protein. Capital or small letters are fine; spaces, line breaks and a FASTA header line "
        "starting with '>' are ignored."
    )
    try:
        cleaned = clean_sequence(text)
        trace = encode_trace(cleaned.sequence)
    except InvalidSequenceError as err:
        show_bad_character(text, err)
        return
    except ProtlabError as err:
        st.error(literal(err), icon=":material/block:")
        return
    sequence = cleaned.sequence
    notes = cleaned.notes[:-1] if cleaned.unknown_positions else cleaned.notes  # last: the unknown note
    for note in notes:
        st.info(literal(note), icon=":material/info:")
    if is_nucleotide_sequence(sequence):
        st.warning(
            f"This looks like DNA or RNA ({len(sequence):,} letters, only A, C, G, T/U and N), not a "
            "protein. It is encoded below letter by letter as amino acids (A alanine, C cysteine, G glycine, "
            "T threonine, N asparagine), which is not what the gene codes for: translate it first, three "
            "bases to one residue (for example with Biopython: Seq(dna).translate()).",
            icon=":material/warning:",
        )
    if cleaned.unknown_positions:
        st.markdown(
            highlighted_sequence(sequence, set(cleaned.unknown_positions), "#ffd54f", "outside the alphabet"),
            unsafe_allow_html=True,
        )
        found = [letter for letter in AMBIGUOUS_LETTERS if letter in sequence]
        meanings = "; ".join(f"{letter} {LETTER_MEANINGS[letter]}" for letter in found)
        st.warning(
            f"The highlighted letters are outside the 20-letter alphabet ({meanings}). "
            f"They are kept, not dropped: each becomes the unknown token {UNKNOWN_INDEX} "
            "and an all-zero one-hot row. The notes' code reads such letters as 0, the padding token "
            "(`aa_to_idx.get(aa, 0)`), which is why their `nn.Embedding(21, ...)` has 21 rows; with the "
            f"separate token {UNKNOWN_INDEX} a model needs {UNKNOWN_INDEX + 1} rows, and an unknown "
            "residue is no longer mistaken for padding.",
            icon=":material/warning:",
        )

    indices = trace[0].tensor.tolist()
    st.markdown(f"**Step 1 · integer indices.** {trace[0].explanation}")
    table = pd.DataFrame(
        {"position": range(1, len(sequence) + 1), "residue": list(sequence), "index": indices}
    )
    left, right = st.columns([1, 2])
    with left:
        st.dataframe(table, hide_index=True, height=min(420, 38 + 35 * len(table)), key="indices_table")
    with right:
        if sequence == NOTES_EXAMPLE:
            st.info(
                f"**A small slip in the notes.** For {NOTES_EXAMPLE} the notes print {NOTES_PRINTED}, "
                f"but their own code gives **{indices}**. Check it yourself: count along the alphabet "
                f"{' '.join(AMINO_ACIDS)}. V is the 18th letter and P the 13th, so V → 18 and P → 13. "
                "Running the notes' code (see *Show me the PyTorch* below) "
                "prints exactly the numbers in this table.",
                icon=":material/search:",
            )
        st.markdown("**The shape after each step**")
        for step in trace:
            st.markdown(f"- {step.title}: shape `{step.shape}`")
        n, width = trace[1].shape
        explain(
            f"A shape lists the size of each dimension: ({n},) is a list of {n} numbers, ({n}, {width}) is a "
            f"table with {n} rows and {width} columns, and (1, {n}, {width}) is a stack holding one such "
            "table: a batch of one protein."
        )

    st.markdown(f"**Step 2 · one-hot encoding.** {trace[1].explanation}")
    st.plotly_chart(onehot_figure(sequence, trace[1].tensor.numpy()), key="onehot_chart")
    st.markdown(f"**Step 3 · add a batch dimension.** {trace[2].explanation}")
    pytorch_panel(encode_code(sequence))


def _as_records(text: str):
    """Parse the batch box: FASTA records, or one sequence per line when there is no '>'."""
    if ">" not in text:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        text = "\n".join(f">seq{i}\n{line}" for i, line in enumerate(lines, start=1))
    return parse_sequences(text, max_records=64)


def batch_section():  # -> (sequences, tokens, mask) or None when the box cannot be read
    """Exercise 1: pad several sequences into one batch, with its mask and global features."""
    st.subheader("Several proteins in one batch (Exercise 1)")
    explain(
        "A network reads proteins in batches, but proteins differ in length. The shorter ones are padded "
        "with the token 0 up to the longest, and a mask records which positions are real (1) and which are "
        "padding (0), so the model can ignore the padding."
    )
    st.session_state["batch_seqs"] = remembered_text("batch_seqs", DEFAULT_BATCH)
    text = st.text_area(
        "Sequences: FASTA records (lines starting with '>') or one sequence per line",
        key="batch_seqs",
        height=220,
    )
    remember_text("batch_seqs", text)
    try:
        records = _as_records(text)
        sequences, ids = [r.sequence for r in records], [r.id for r in records]
        tokens, mask = pad_batch(sequences)
        features = features_frame(sequences, ids)
    except ProtlabError as err:
        st.error(literal(err), icon=":material/block:")
        return None
    b, width = tokens.shape
    lengths = [len(s) for s in sequences]
    st.markdown(
        f"**{b} sequences** of lengths {lengths} → padded tokens of shape `({b}, {width})` and a mask of "
        f"shape `({b}, {width})`."
    )
    padding_ok = bool((mask[tokens == 0] == 0).all())
    st.success(
        f"Check: every padding position (token 0) has mask value 0: {padding_ok}. "
        f"{int(mask.sum()):,} of {b * width:,} positions are real residues.",
        icon=":material/check_circle:",
    )
    st.plotly_chart(batch_figure(tokens.numpy(), mask.numpy(), ids), key="batch_chart")

    st.markdown(
        f"**Extension: global features**, one row per protein: a tensor of shape "
        f"`({b}, {len(NOTES_GLOBAL_FEATURES)})`."
    )
    table = features[["id", *NOTES_GLOBAL_FEATURES]]
    st.dataframe(
        table,
        hide_index=True,
        key="features_table",
        column_config={
            name: st.column_config.NumberColumn(SHORT_LABELS[name], help=FEATURE_LABELS[name], format=fmt)
            for name, fmt in zip(NOTES_GLOBAL_FEATURES, ("%.1f", "%.2f", "%.3f", "%.1f", "%d"))
        },
    )
    explain(
        "Molecular weight in daltons (Da); isoelectric point is the pH at which the protein carries no net "
        "charge; GRAVY is the mean hydropathy per residue (positive = hydrophobic); an instability index "
        "above 40 suggests the protein is unstable in a test tube; length counts residues."
    )
    pytorch_panel(batch_code(sequences), title="Show me the PyTorch (padding and mask)")
    return sequences, tokens, mask


def link_section(slot) -> None:
    """Keep this page's settings in the address and offer the link to this view (drawn in slot)."""
    keep_widgets(PLAY)
    values = {p.name: st.session_state.get(p.key) for p in URL if p.key in st.session_state}
    write_url("encode", URL, values)
    long = [
        label
        for key, label in (("encode_seq", "sequence"), ("batch_seqs", "batch"))
        if too_long_for_link(st.session_state.get(key, ""))
    ]
    note = (
        f"Your {' and '.join(long)} text is too long to travel in a link (more than 2,000 characters), so "
        "the link opens with the example instead: paste it there yourself."
        if long
        else ""
    )
    with slot:
        copy_link("encode", URL, note=note)


st.title("1 · Encode a protein")
st.markdown(
    "A neural network only understands numbers. This page follows the notes' worked example: a protein "
    "sequence becomes a list of integers, then a one-hot table, then a batch ready for a model."
)
read_url("encode", URL)
link_slot = st.container()
single_sequence_section()
st.divider()
encoded = batch_section()
st.divider()
playground_section(encoded)
link_section(link_slot)
