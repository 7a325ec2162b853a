"""Predict page: the known-proteins panel (documented E. coli outcomes beside the model's calls)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui.common import explain, literal

PANEL_KEY = "known_proteins_open"  # session key: is the Known proteins panel open
WHY_WRONG = """
**Where the model is wrong, and why that happens**

- **The data.** The bundled DeepSol proteins come largely from high-throughput expression trials of
  structural-genomics targets, mostly bacterial and archaeal proteins tried under one standard protocol.
  Fusion tags, human hormones and cytokines, and peptides are rare in them, so for these proteins the
  model has little to go on.
- **The label.** "Soluble" in DeepSol means a target reached the soluble stage of that pipeline, with its
  construct and conditions. The outcomes here come from other constructs, temperatures and purposes.
  Insulin and interleukin-2 fail in *E. coli* mainly because their disulfide bonds cannot form in the
  reducing cytoplasm, something the sequence alone shows only weakly; thioredoxin and MBP are soluble
  partly because they are native *E. coli* proteins.
- **The construct.** Half of the default model's score comes from boosted trees that read composition,
  length and the residues at both ends. In DeepSol the ends carry each lab's expression tag (1,182
  proteins start with the His tag MGSDKIHHHHHH, and only 29 of those, 2.5%, are soluble), so the trees learned
  partly which pipeline a protein went through. The proteins here are plain sequences without those tags.
- **Length.** The training proteins are 27 to 1,696 residues long (mean 302); only 105 of the 6,942
  have 76 residues or fewer. A 42-residue peptide or a 76-residue domain sits at the edge of what the
  model has seen, and a short sequence gives the convolution few windows to judge.

A wrong call on a famous protein is not a bug: it shows what this kind of model can and cannot learn
from these labels. Treat a single prediction as a hint, not a verdict.
"""


@st.cache_data(show_spinner=False, max_entries=64)
def _calls(model_key: str, _predictor) -> pd.DataFrame:
    """The known proteins' calls by one model at its own threshold and training prior (cached per model)."""
    from protlab.known_proteins import known_protein_calls

    return known_protein_calls(_predictor)


def known_proteins_panel(chosen: tuple, default: tuple | None) -> None:
    """Documented outcomes, the default model's and the chosen model's calls, and why they can be wrong.

    chosen and default are (model key, display name, predictor); default is None when the bundled model is
    missing. Each model calls at its own suggested threshold (else 0.5), without a prior adjustment: these
    proteins are not the student's set.
    """
    from protlab.known_proteins import disagreement_summary

    key, name, predictor = chosen
    box = st.expander(
        "Known proteins: how does the model do on proteins with a documented outcome?",
        key=PANEL_KEY,
        on_change="rerun",  # keeps it open while the student changes the input; closed, nothing runs
    )
    if not box.open:
        return
    with box:
        mine = _calls(key, predictor)
        table = mine[["name", "uniprot", "length", "documented"]].copy()
        models = [
            ("Default model" if default is not None and default[0] == key else "Your model", name, mine)
        ]
        if default is not None and default[0] != key:
            models.insert(0, ("Default model", "Default model", _calls(default[0], default[2])))
        config = {
            "name": st.column_config.TextColumn("Protein", width="medium"),
            "uniprot": st.column_config.TextColumn("UniProt", width="small"),
            "length": st.column_config.NumberColumn("Length", width="small"),
            "documented": st.column_config.TextColumn("In E. coli", width="small"),
        }
        for column, _label, calls in models:
            short = column.split()[0]  # 'Default' or 'Your': narrow headers, two models fit
            table[f"{column}: P"] = calls["p_soluble"]
            table[f"{column}: call"] = calls["call"]
            config[f"{column}: P"] = st.column_config.NumberColumn(
                f"{short}: P(sol.)", format="%.2f", width="small", help=f"{column}: P(soluble)"
            )
            config[f"{column}: call"] = st.column_config.TextColumn(
                f"{short}: call", width="small", help=f"{column}'s call at its threshold"
            )
        explain(
            f"The {len(table)} proteins included: " + "; ".join(table["name"]) + ". Each sequence is the "
            "exact UniProt sequence of the residues named below (assets/data/known_proteins.csv); none of "
            "them is in the training data. Each model calls at its own suggested threshold, without your "
            "expected fraction: this is a handful of examples, not a benchmark, and not your set."
        )
        st.dataframe(table, hide_index=True, column_config=config)
        st.markdown(
            "\n".join(
                f"- **{literal(r.name)}** (*{literal(r.organism)}*, UniProt {literal(r.uniprot)}, residues "
                f"{literal(r.residues)}): {literal(r.note)} Source: {literal(r.source)}."
                for r in mine.itertuples()
            )
        )
        for _column, label, calls in models:
            st.markdown(f"**{literal(label)}:** {literal(disagreement_summary(calls))}")
        st.markdown(WHY_WRONG)


@st.cache_data(show_spinner=False)
def _bundled_tag_shares() -> dict:  # -> {end: protlab.constructs.TagShare}
    """The bundled DeepSol proteins' soluble shares by where their His tag sits (N, C or none)."""
    from protlab.constructs import tag_shares
    from ui.train_data import bundled_data

    data, _ = bundled_data()  # the Train page's cached copy: the CSV is not read again
    return tag_shares(data.sequences, data.labels)


def construct_note(sequence: str) -> None:
    """When the sequence carries a His tag at one end: how the bundled labels differ with tags, and why
    that matters for this prediction."""
    from protlab.constructs import find_his_tag

    tag = find_his_tag(sequence)
    if tag is None:
        return
    shares = _bundled_tag_shares()

    def share(end: str) -> str:
        return f"{shares[end].share:.0%} of the {shares[end].proteins:,}"

    st.info(
        f"**This sequence carries a His tag** (histidines {tag.first}-{tag.last}, near the "
        f"{tag.end}-terminus). "
        "In the bundled DeepSol data a tag marks the expression construct, and so the lab that made it: "
        f"{share('N')} proteins with an N-terminal His tag are soluble, {share('C')} with a C-terminal one, "
        f"and {share('none')} without. Models trained on these data learn that, so this P(soluble) reflects "
        "the tag as much as the protein. Predict the sequence without its tag as well, and compare.",
        icon=":material/label:",
    )


def known_outcome(sequence: str, call: str, own_call: str, prior: float | None) -> None:
    """When the sequence is one of the known proteins: its documented E. coli outcome beside the call.

    call is the page's call (at the student's expected soluble fraction, if given); own_call the call at the
    model's own training share, as the Known proteins panel makes it."""
    from protlab.known_proteins import known_protein_with

    protein = known_protein_with(sequence)
    if protein is None:
        return
    text = (
        f"This is **{protein.name}** ({protein.uniprot}), documented as **{protein.ecoli_outcome}** in *E. "
        f"coli* ({literal(protein.source)}). "
    )
    if prior is not None and call != own_call:
        text += (
            f"At your expected soluble fraction ({prior:.0%}) the model calls it {call}; at its own training "
            f"share, as in the **Known proteins** panel below, it calls it {own_call}. The expected fraction "
            "moves every protein's P(soluble) the same way: it changes the call, not what the model knows "
            "about this protein."
        )
    elif protein.ecoli_outcome == call:
        text += f"The model calls it {call}, in agreement."
    else:
        text += (
            f"The model calls it {call}: here the model is wrong. The **Known proteins** panel below says "
            "why models like this miss some of them."
        )
    st.info(text, icon=":material/menu_book:")
