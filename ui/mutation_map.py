"""'What if one residue changed?': the mutation map on the Predict page, and stacked mutations."""

from __future__ import annotations

import hashlib

import streamlit as st

from protlab.alphabet import AMINO_ACIDS
from protlab.errors import ProtlabError
from ui.common import explain, pytorch_panel

TABLES = "mutmap_tables"  # session key: {(model id, sequence digest): MutationTable}, the last few computed
KEPT_TABLES = 3  # maps remembered per student
STACK = "mutmap_stack"  # session key: {sequence digest: ["K23G", ...]} mutations applied so far
HALF_WIDTH_LETTERS = 25  # the side-by-side contribution charts name every residue up to this length


def _code_source(predictor) -> str:
    """The checkpoint the PyTorch panel loads: 'default', the file's path, or model.pt for an upload."""
    from protlab.predict import DEFAULT_MODEL_PATH

    source = str(predictor.meta.get("source", ""))
    path = source.removeprefix("The file ").strip()
    if path == str(DEFAULT_MODEL_PATH):
        return "default"
    return path if source.startswith("The file ") else "model.pt"


def _compute(predictor, sequence: str):  # -> MutationTable
    """Score every single substitution with a progress bar."""
    from protlab.mutagenesis import saturation_mutagenesis

    bar = st.progress(0.0, text=f"Scoring {19 * len(sequence):,} mutants...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Scored {done:,} of {total:,} mutants")

    table = saturation_mutagenesis(predictor, sequence, progress=progress)
    bar.empty()
    return table


def _map(table, prefix: str) -> None:
    """The heat-map (a window of MAP_WINDOW residues at a time for long proteins) and the CSV download."""
    from protlab.lessons import MAP_WINDOW, mutation_heatmap

    length = len(table.sequence)
    start = 1
    if length > MAP_WINDOW:
        starts = list(range(1, length + 1, MAP_WINDOW // 2))
        start = st.select_slider(
            "Residues shown",
            starts,
            format_func=lambda s: f"{s}-{min(length, s + MAP_WINDOW - 1)}",
            key=f"{prefix}-window",
            help=f"The map shows {MAP_WINDOW} residues at a time; slide to move along the protein.",
        )
    st.plotly_chart(mutation_heatmap(table, start), key=f"{prefix}-heatmap")
    st.download_button(
        "Download every substitution (CSV)",
        table.frame().to_csv(index=False).encode(),
        "protlab_mutations.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key=f"{prefix}-csv",
    )


def _summary(table, prefix: str) -> None:
    """Per position: the mean change and the most helpful substitution (chart and sortable table)."""
    from protlab.lessons import position_summary_figure

    st.markdown("**Per position**")
    explain(
        "Bars: the average change over the 19 possible substitutions at each position (a position where "
        "most changes hurt is one the model relies on). Dots: the single most helpful substitution there."
    )
    st.plotly_chart(position_summary_figure(table), key=f"{prefix}-summary")
    summary = table.summary().sort_values("best_delta", ascending=False)
    st.dataframe(
        summary,
        hide_index=True,
        height=240,
        key=f"{prefix}-summary-table",
        column_config={
            "position": st.column_config.NumberColumn("Position"),
            "wild_type": st.column_config.TextColumn("Residue"),
            "mean_delta": st.column_config.NumberColumn("Mean change", format="%+.3f"),
            "best_mutant": st.column_config.TextColumn("Best substitution"),
            "best_delta": st.column_config.NumberColumn("Its change", format="%+.3f"),
        },
    )


def _stack(predictor, table, threshold: float, digest: str, prefix: str) -> None:
    """Apply one or more substitutions and compare the mutant with the original."""
    from protlab.lessons import result_figures as rf
    from protlab.mutagenesis import apply_mutations

    sequence = table.sequence
    stacks = st.session_state.setdefault(STACK, {})
    applied = stacks.setdefault(digest, [])
    st.markdown("**Try a mutant**")
    explain("Pick a position and a new residue, then apply it; apply more to stack several mutations.")
    current = apply_mutations(sequence, applied)
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    position = c1.number_input("Position", 1, len(sequence), 1, key=f"{prefix}-position")
    here = current[position - 1]
    choices = [aa for aa in AMINO_ACIDS if aa != here]
    best = table.summary()["best_mutant"].iloc[position - 1]
    new = c2.selectbox(
        f"New residue (now {here})",
        choices,
        index=choices.index(best) if best in choices else 0,
        key=f"{prefix}-residue-{position}",
    )
    if c3.button("Apply mutation", key=f"{prefix}-apply", icon=":material/add:"):
        applied.append(f"{here}{position}{new}")
        st.rerun()
    if c4.button("Clear mutations", key=f"{prefix}-clear", disabled=not applied):
        applied.clear()
        st.rerun()
    if not applied:
        return
    st.markdown(f"Mutations applied: **{', '.join(applied)}**. The mutant (copy it with the icon):")
    st.code(current, language=None, wrap_lines=True)
    p_old, p_new = table.wild_type_p, float(predictor.predict([current])[0])
    scores = {name: predictor.attribution(seq) for name, seq in (("Original", sequence), ("Mutant", current))}
    top = max(float(abs(v).max()) for v in scores.values()) * 1.05  # one scale, so the bars compare
    explain("Residue contributions as above (green: towards soluble, orange: towards insoluble), one scale.")
    left, right = st.columns(2)
    for column, name, seq, p in ((left, "Original", sequence, p_old), (right, "Mutant", current, p_new)):
        call = "soluble" if p >= threshold else "insoluble"
        change = None if seq == sequence else f"{p - p_old:+.3f}"
        column.metric(f"{name}: P(soluble)", f"{p:.3f} ({call})", change)
        figure = rf.attribution_figure(seq, scores[name], max_letters=HALF_WIDTH_LETTERS)
        figure.update_layout(title_text=f"{name}: residue contributions", yaxis_range=[-top, top])
        column.plotly_chart(figure, key=f"{prefix}-attr-{name}")


def render_mutation_map(predictor, record, threshold: float = 0.5) -> None:
    """The mutation map section for one protein and the chosen model."""
    from protlab.codegen import mutagenesis_script
    from protlab.mutagenesis import MAX_MUTAGENESIS_LENGTH

    sequence = record.sequence
    st.subheader("What if one residue changed? In-silico mutagenesis")
    explain(
        f"The model scores every single substitution: each of the {len(sequence):,} positions changed to "
        "each of the 19 other residues. Each cell of the map is the change in P(soluble) that one "
        "substitution causes (green: more soluble, orange: less); dots mark the protein's own residues. "
        "Hover a cell to read it. Positions count from 1, the first residue. The map uses the model's own "
        "P(soluble), before any adjustment to your expected fraction of soluble proteins. These are the "
        "model's guesses, not measurements. Position 1 is scored like any other, but a start methionine "
        "cannot be changed in an expression construct: read its row as what the model learned about how "
        "sequences start (many training constructs begin with a tag), not as a mutation to try."
    )
    if len(sequence) > MAX_MUTAGENESIS_LENGTH:
        st.info(f"The mutation map is limited to proteins of up to {MAX_MUTAGENESIS_LENGTH:,} residues.")
        return
    digest = hashlib.sha256(sequence.encode()).hexdigest()[:16]
    key = (id(predictor), str(predictor.meta.get("created")), digest)  # the model object and its file
    tables = st.session_state.setdefault(TABLES, {})
    prefix = f"mutmap-{record.id}"
    if key not in tables:
        if not st.button(
            f"Compute the mutation map ({19 * len(sequence):,} mutants)",
            key=f"{prefix}-compute",
            icon=":material/grid_on:",
        ):
            return
        try:
            tables[key] = _compute(predictor, sequence)
        except ProtlabError as err:
            st.error(str(err), icon=":material/error:")
            return
        for old in list(tables)[:-KEPT_TABLES]:
            del tables[old]
        st.rerun()  # draw the map without the button
    table = tables[key]
    _map(table, prefix)
    _summary(table, prefix)
    _stack(predictor, table, threshold, digest, prefix)
    pytorch_panel(
        mutagenesis_script(_code_source(predictor), sequence, name=record.id),
        title="Show me the PyTorch: the mutagenesis loop",
    )
