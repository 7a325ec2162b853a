"""The Train page's run comparison: the student's finished runs overlaid, and what differs between them."""

from __future__ import annotations

import streamlit as st

from protlab.errors import ProtlabError
from protlab.lessons import (
    PALETTE,
    add_reference_lines,
    compared_settings,
    majority_lines,
    overlapping_intervals,
    reference_lines,
    test_set_differences,
)
from protlab.lessons import result_figures as rf
from ui.common import run_manager, session_owner
from ui.memory import kept_index
from ui.run_labels import (
    MODEL_NAMES,
    OPTIMIZER_NAMES,
    compact_title,
    differing,
    run_title,
    setting_text,
    unique_titles,
)
from ui.run_results import interval_spans, span_text
from ui.train_runs import my_runs

COMPARED_STATES = ("finished", "stopped")  # runs with curves and test results to compare
RESULT_COLUMNS = ("test AUC", "test MCC", "best val loss", "val AUC at best")  # shown with three decimals
SHARED_SHOWN = (
    "model",
    "data",
    "split",
    "optimizer",
    "learning rate",
    "batch size",
    "epochs asked",
)  # said once


def compare_section() -> None:
    """Overlay the curves of the student's finished runs (e.g. SGD vs Adam vs AdamW, Exercise 4)."""
    manager, owner = run_manager(), session_owner()
    st.header("5 · Compare runs")
    rows = [r for r in my_runs() if r["state"] in COMPARED_STATES]
    if len(rows) < 2:
        st.caption(
            "Finish two or more runs (for example SGD + momentum, Adam and AdamW, Exercise 4) to "
            "compare them here. Every run is kept. To compare with the whole class, tick **Share with "
            "the class** and open **Class results**."
        )
        return
    runs = {r["run_id"]: r for r in rows}
    differ = differing(rows)  # once: the full titles and the short legend names both use it
    titles = unique_titles(rows, title=lambda r: run_title(r, differ=differ))
    short = unique_titles(rows, title=lambda r: compact_title(r, differ))  # names what tells the runs apart
    oldest_first = [r["run_id"] for r in reversed(rows)]  # a run keeps its colour when later runs are added
    chosen = st.multiselect(
        "Runs to overlay", list(runs), default=list(runs)[:3], format_func=titles.get, key="compare"
    )
    histories, auc_spans, majority = {}, {}, {}
    for run_id in chosen:
        try:
            status = manager.status(run_id, owner)
        except ProtlabError:
            continue
        histories[short[run_id]] = rf.history_frame(status.events)
        majority[short[run_id]] = (status.baseline or {}).get("accuracy")
        if status.test_labels is not None and status.test_probs is not None:
            spans = interval_spans(run_id, status.test_labels, status.test_probs)
            auc_spans[short[run_id]] = spans["auc"]
    if not histories:
        return
    colours = {short[r]: PALETTE[oldest_first.index(r) % len(PALETTE)] for r in chosen}
    curves = ["loss", "auc", "mcc", "accuracy"]
    metric = st.radio(
        "Curves",
        curves,
        kept_index("compare_metric", curves),
        horizontal=True,
        key="compare_metric",
        format_func=lambda m: "Loss" if m == "loss" else f"Validation {rf.METRIC_NAMES[m]}",
    )
    overlay = rf.runs_overlay(histories, metric=metric, colours=colours)
    if metric != "loss":
        longest = max(len(h) for h in histories.values())
        lines = reference_lines([metric]) + (majority_lines(majority) if metric == "accuracy" else [])
        add_reference_lines(overlay, lines, longest, {metric: "#555555"})
    st.plotly_chart(overlay, key="overlay")
    records = {short[r]: runs[r] for r in chosen if short[r] in histories}
    comparison_table(records, histories, auc_spans)


def comparison_table(records: dict, histories: dict, auc_spans: dict) -> None:
    """One row per run with the settings that differ and the test AUC's interval, what the runs share, whether
    the AUC differences may be chance, and a warning when their test proteins differ."""
    table = rf.runs_table(records, histories)
    at = list(table.columns).index("test AUC") + 1
    spans = [span_text(auc_spans[name]) if name in auc_spans else "" for name in table["run"]]
    table.insert(at, "AUC 95% interval", spans)
    names = {"optimizer": OPTIMIZER_NAMES, "model": MODEL_NAMES}
    for column, mapping in names.items():
        if column in table:
            table[column] = table[column].map(lambda v, m=mapping: m.get(v, v))
    number = st.column_config.NumberColumn
    st.dataframe(
        table,
        hide_index=True,
        key="compare-table",
        column_config={
            "run": st.column_config.TextColumn("Run", width=250),
            "data": st.column_config.TextColumn("Data", width=300),  # fits "..., 120 rows sampled from 6,942"
            "learning rate": number("LR", format="%g"),
            "weight decay": number("Weight decay", format="%g"),
            "AUC 95% interval": st.column_config.TextColumn(
                "AUC 95% interval",
                help="Where the test AUC would probably fall on another test set this size.",
            ),
            "test proteins": number("Test proteins", format="%d"),
            "epochs run": number("Epochs run", format="%d"),
            **{c: number(c[0].upper() + c[1:], format="%.3f") for c in RESULT_COLUMNS},
        },
    )
    differ, shared = compared_settings(records)
    said = [setting_text(c, shared[c]) for c in SHARED_SHOWN if c in shared]
    if said:
        st.caption(
            "After **Run** come the settings that differ between these runs, then their scores on the test "
            f"set. Every run here shares: {', '.join(said)}."
        )
    aucs = {name: (record.get("test_metrics") or {}).get("auc") for name, record in records.items()}
    chance = chance_sentence(auc_spans, aucs)
    if chance:
        st.caption(chance)
    moved = test_set_differences(records)
    if moved:
        st.warning(
            f"These runs were not tested on the same proteins: their {' and '.join(moved)} differ. A test "
            "score changes with the test proteins as well as with the settings, so part of a difference here "
            "comes from the data. To judge one setting, compare runs that share the data, split and seed.",
            icon=":material/warning:",
        )


def chance_sentence(auc_spans: dict[str, tuple[float, float]], aucs: dict[str, float]) -> str:
    """Whether the run with the best test AUC may be better than the others by chance: which runs' AUC
    intervals overlap its interval."""
    scored = [name for name in auc_spans if isinstance(aucs.get(name), (int, float))]
    if len(scored) < 2:
        return ""
    best = max(scored, key=lambda name: aucs[name])
    pairs = overlapping_intervals({name: auc_spans[name] for name in scored})
    close = [b if a == best else a for a, b in pairs if best in (a, b)]
    lead = f"The best test AUC is {best}'s ({aucs[best]:.3f}, interval {span_text(auc_spans[best])})."
    if not close:
        return f"{lead} Its interval overlaps no other run's: it is unlikely to be better by chance alone."
    if len(close) == len(scored) - 1:
        who = "the other run's" if len(close) == 1 else "every other run's"
        return (
            f"{lead} Its interval overlaps {who}: on test sets this size, these runs may not really differ "
            "in AUC. A larger test set, or each run repeated with other seeds, would tell."
        )
    named = ", ".join(close[:-1]) + f" and {close[-1]}" if len(close) > 1 else close[0]
    return (
        f"{lead} Its interval overlaps those of {named}: it may not really be better than them. It is better "
        "than the other runs beyond chance."
    )
