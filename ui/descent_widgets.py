"""Widgets shared by the Gradient-descent page's two landscape tabs: the optimizer settings, offering only
values the backend accepts, and the notes and step tables under the paths."""

from __future__ import annotations

import streamlit as st

from protlab.checks import FloatRange, field_rules
from protlab.lessons import OPTIMIZER_LABELS, OptimizerSpec, Trajectory, path_table
from protlab.lessons.descent_reading import (
    at_minimum_note,
    bounce_note,
    bouncing,
    coincide_note,
    column_formats,
    flat_loss_note,
)
from protlab.lessons.landscape import START_RANGE

LR_GAP = 1e-6  # the smallest learning rate a box offers (the rule allows any number above 0)
MOMENTUM_GAP = 0.01  # the largest momentum a box offers is 1 minus this (the rule allows below 1)


def offered(rule: FloatRange, gap: float) -> FloatRange:
    """The closed range a number box offers for a rule: an open end moved inside by gap."""
    low = rule.low + gap if rule.low_open else rule.low
    high = None if rule.high is None else rule.high - gap if rule.high_open else rule.high
    return FloatRange(low, high, note=rule.note, tip=rule.tip)


LR_OFFERED = offered(field_rules(OptimizerSpec)["lr"], LR_GAP)  # what the learning-rate boxes offer
MOMENTUM_OFFERED = offered(field_rules(OptimizerSpec)["momentum"], MOMENTUM_GAP)  # what momentum boxes offer


def optimizer_inputs(cols, kinds, surface, momentum: float, *, label: str, key) -> list[OptimizerSpec]:
    """One learning-rate box per optimizer (default: the surface's suggested rate), as OptimizerSpecs."""
    specs, low, high = [], float(LR_OFFERED.low), float(LR_OFFERED.high)
    for col, kind in zip(cols, kinds):
        suggested = min(max(surface.suggested_lr(kind), low), high)
        lr = col.number_input(
            f"{label}: {OPTIMIZER_LABELS[kind]}",
            min_value=low,
            max_value=high,
            value=suggested,
            step=suggested / 2,
            format="%g",
            key=key(kind),
        )
        specs.append(OptimizerSpec(kind, float(lr), momentum=float(momentum)))
    return specs


def momentum_input(where, label: str, *, key: str) -> float:
    """A momentum box offering only what OptimizerSpec allows (0 to 0.99)."""
    low, high = float(MOMENTUM_OFFERED.low), float(MOMENTUM_OFFERED.high)
    return where.number_input(label, min_value=low, max_value=high, value=0.9, step=0.05, key=key)


def start_input(where, label: str, value: float, *, step: float, key: str) -> float:
    """A start-coordinate box offering only what a Trajectory accepts (START_RANGE)."""
    low, high = float(START_RANGE.low), float(START_RANGE.high)
    value = min(max(value, low), high)
    return where.number_input(
        label, min_value=low, max_value=high, value=value, step=step, format="%.2f", key=key
    )


def path_warnings(paths: list[Trajectory]) -> None:
    """Say which paths bounce back and forth without getting closer (st.warning, one per path)."""
    for path in paths:
        if bouncing(path):
            st.warning(bounce_note(path), icon=":material/swap_horiz:")


def map_notes(paths: list[Trajectory]) -> None:
    """Under the map: paths that run along the same line, and paths under a star (none seems missing)."""
    for note in (coincide_note(paths), at_minimum_note(paths)):
        if note:
            st.caption(note)


def path_notes(paths: list[Trajectory], *, log_scale: bool = False) -> None:
    """Under the loss chart: how little the losses moved, when that is too little to see."""
    note = "" if log_scale else flat_loss_note(paths)
    if note:
        st.caption(note)


def step_tables(paths: list[Trajectory], *, key: str, max_height: int) -> None:
    """One tab per path with its step table, every number shown with the digits that change."""
    tabs = st.tabs([p.spec.label for p in paths])
    for tab, path in zip(tabs, paths):
        with tab:
            table = path_table(path)
            formats = column_formats(table)
            config = {name: st.column_config.NumberColumn(format=fmt) for name, fmt in formats.items()}
            height = min(max_height, 38 + 35 * len(table))  # no blank rows under a short path
            st.dataframe(
                table, hide_index=True, height=height, column_config=config, key=f"{key}_{path.spec.kind}"
            )
