"""The Per-residue prediction page's last two tabs: scores on TS115, and predictions for a typed sequence."""

from __future__ import annotations

import numpy as np
import streamlit as st

from protlab.errors import InvalidSequenceError, ProtlabError
from protlab.lessons import structure_figures as sf
from ui.common import explain, literal
from ui.sequence_view import show_bad_character
from ui.structure_cache import predictor, test_scores
from ui.structure_settings import EXAMPLE


def results_tab(data, split, path: str, mtime: float) -> None:
    """Q3, per-class precision / recall and confusion on TS115; true and predicted strips for one protein."""
    from protlab.structure import SS3_CLASSES

    scores = test_scores(path, mtime)
    test, base = scores["test"], scores["baseline"]
    c1, c2, c3 = st.columns(3)
    c1.metric("Q3 on TS115", f"{test['q3']:.3f}")
    c2.metric("Always-coil baseline", f"{base['q3']:.3f}")
    c3.metric("Scored test residues", f"{test['n']:,}")
    explain(
        "Q3 is the share of resolved residues whose state is right. Single-sequence methods trained on "
        "thousands of proteins reach about 0.70-0.75; methods using alignments or protein language models "
        "0.80-0.86. This model learned from about 400 proteins."
    )
    cm = np.array([[test[f"cm_{t}_{p}"] for p in SS3_CLASSES] for t in SS3_CLASSES])
    left, right = st.columns(2)
    left.plotly_chart(sf.per_class_figure(test, base), key="ss-per-class")
    right.plotly_chart(sf.confusion_figure(cm, "Confusion matrix on TS115"), key="ss-cm")
    test_data = data.subset(split.test)
    choice = st.selectbox(
        "Test protein",
        range(len(test_data)),
        key="ss_test_protein",
        format_func=lambda i: f"{test_data.ids[i]} · {len(test_data.sequences[i])} residues",
    )
    probs = scores["probs"][choice]
    predicted = "".join(SS3_CLASSES[k] for k in probs.argmax(axis=1))
    st.plotly_chart(
        sf.structure_figure(
            test_data.sequences[choice],
            {"true": test_data.ss3[choice], "predicted": predicted},
            resolved=test_data.resolved[choice],
            probs=probs,
        ),
        key="ss-compare",
    )


def predict_tab(path: str, mtime: float) -> None:
    """Type a sequence: its predicted structure strip, P(H/E/C) per residue and a downloadable table."""
    from protlab.data import clean_sequence, protein_not_nucleotides

    text = st.text_area(
        "Protein sequence (one-letter codes; a FASTA header line is fine)",
        EXAMPLE,
        height=110,
        key="ss_sequence",
    )
    try:
        cleaned = protein_not_nucleotides(clean_sequence(text))  # DNA pasted by mistake is said to be DNA
        prediction = predictor(path, mtime).predict_one(cleaned.sequence)
    except InvalidSequenceError as err:  # point at the character, as the Encode page does
        show_bad_character(text, err)
        return  # the rest of the page (the code panel, the Copy link box) stays, so nothing jumps
    except ProtlabError as err:
        st.error(literal(err), icon=":material/error:")
        return
    st.code(prediction.aligned(), language=None)  # each state under its residue, positions on the left
    st.plotly_chart(
        sf.structure_figure(cleaned.sequence, {"predicted": prediction.ss3}, probs=prediction.probs),
        key="ss-predict",
    )
    table = prediction.table()
    st.download_button(
        "Download the per-residue table (CSV)",
        table.to_csv(index=False),
        "structure.csv",
        "text/csv",
        key="ss_download",
        icon=":material/download:",
    )
    st.dataframe(table, hide_index=True, height=240, key="ss-table")
