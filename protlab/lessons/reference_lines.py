"""Reference lines for metric plots and tables: the majority-class baseline and DeepSol's published scores."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go

# DeepSol (Khurana et al., Bioinformatics 34(15), 2018) on its own test set of 2,001 proteins
DEEPSOL_PUBLISHED = {"accuracy": 0.77, "mcc": 0.55}
DEEPSOL_TRAIN_SIZE = 62_478  # sequences DeepSol was trained on
CHANCE = {"auc": 0.5, "mcc": 0.0}  # a constant guess ranks nothing (AUC 0.5) and tracks nothing (MCC 0)
LEGEND_ROW_PX = 22  # height of one legend row below a chart with reference lines
BASELINE_GROUP = "Majority class"  # legend group of the baseline lines
DEEPSOL_GROUP = "DeepSol paper"  # legend group of the published scores (on DeepSol's own test set)
CAVEAT = (
    f"DeepSol's figures come from another test set and a model trained on {DEEPSOL_TRAIN_SIZE:,} "
    "sequences, about nine times the bundled data: a score is only comparable on the same test proteins, "
    "split the same way, with the same class balance (a homology split, a smaller training set or a "
    "different share of soluble proteins all move the numbers), so read these lines as a sense of scale, "
    "not as a target to match."
)


@dataclass(frozen=True)
class ReferenceLine:
    """One horizontal reference value for one metric."""

    group: str  # legend entry it belongs to (BASELINE_GROUP or DEEPSOL_GROUP)
    metric: str  # metric name ('accuracy', 'mcc', 'auc')
    value: float  # the reference value
    dash: str  # plotly line dash ('dot' for the baseline, 'dash' for the published figures)


def baseline_values(baseline: Mapping | None) -> dict[str, float]:
    """The majority-class baseline per metric: AUC 0.5 and MCC 0, and accuracy when the baseline is known."""
    values = dict(CHANCE)
    if baseline and baseline.get("accuracy") is not None:
        values["accuracy"] = float(baseline["accuracy"])
    return values


def reference_lines(metrics: Sequence[str], baseline: Mapping | None = None) -> list[ReferenceLine]:
    """Reference lines for these metrics: the majority-class baseline, then DeepSol's published figures."""
    base = baseline_values(baseline)
    lines = [ReferenceLine(BASELINE_GROUP, m, base[m], "dot") for m in metrics if m in base]
    published = [m for m in metrics if m in DEEPSOL_PUBLISHED]
    return lines + [ReferenceLine(DEEPSOL_GROUP, m, DEEPSOL_PUBLISHED[m], "dash") for m in published]


def majority_lines(accuracies: Mapping[str, float]) -> list[ReferenceLine]:
    """The majority-class accuracy of several runs: one line when their test sets give the same value, else
    one line per run, named after it (each run's test set has its own share of the larger class)."""
    values = {name: float(v) for name, v in accuracies.items() if v is not None}
    if len({round(v, 9) for v in values.values()}) == 1:
        return [ReferenceLine(BASELINE_GROUP, "accuracy", next(iter(values.values())), "dot")]
    return [ReferenceLine(f"{BASELINE_GROUP} of {name}", "accuracy", v, "dot") for name, v in values.items()]


def add_reference_lines(
    fig: go.Figure,
    lines: Sequence[ReferenceLine],
    n_epochs: int,
    colours: Mapping[str, str] | None = None,
    legend_columns: int = 2,
) -> go.Figure:
    """Draw each line over epochs 1..n_epochs in its metric colour (else grey), each with its own legend entry
    naming its metric and value (two baselines on one chart must not read as one line)."""
    from protlab.lessons.result_style import METRIC_NAMES

    colours = colours or {}
    axes = dict((fig.layout.meta or {}).get("metric_axes", {})) if isinstance(fig.layout.meta, dict) else {}
    x = [1, n_epochs] if n_epochs > 1 else [0.8, 1.2]  # a single epoch still gets a visible line
    for line in lines:
        label = f"{line.group}: {METRIC_NAMES.get(line.metric, line.metric)} {line.value:.2f}"
        fig.add_scatter(
            x=x,
            y=[line.value, line.value],
            mode="lines",
            name=label,
            legendgroup=line.group,
            line={"dash": line.dash, "width": 1.5, "color": colours.get(line.metric, "grey")},
            hovertemplate=f"{label}<extra></extra>",
            yaxis=axes.get(line.metric, "y"),
        )
    for axis in {axes.get(line.metric, "y") for line in lines}:
        _widen_to(fig, axis, [line.value for line in lines if axes.get(line.metric, "y") == axis])
    if lines:
        entries = sum(1 for trace in fig.data if trace.showlegend is not False and trace.name)
        # legend entries per row under the x axis's title: two on a full-width chart, one on a half-width one
        rows = math.ceil(entries / legend_columns)
        fig.update_layout(
            height=(fig.layout.height or 320) + LEGEND_ROW_PX * rows,
            margin={"b": 50 + LEGEND_ROW_PX * rows},
            legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
        )
    return fig


def _widen_to(fig: go.Figure, axis: str, values: Sequence[float]) -> None:
    """Stretch a y axis with a fixed range so these values lie inside it (an autoranged axis finds them)."""
    layout_axis = fig.layout["yaxis" + axis[1:]]
    if layout_axis.range is None or not values:
        return
    low, high = layout_axis.range
    new_low, new_high = min(low, *values), max(high, *values)
    pad = 0.05 * (new_high - new_low)  # a line on the new edge would hide in the frame
    layout_axis.range = [new_low - pad if new_low < low else low, new_high + pad if new_high > high else high]
