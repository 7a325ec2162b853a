"""Plotly figures for training runs and predictions, built from plain data (no user interface here)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SOLUBLE_COLOUR = "#1b9e77"  # green-teal: soluble / helps solubility
INSOLUBLE_COLOUR = "#d95f02"  # orange: insoluble / hurts solubility
TRAIN_COLOUR = "#1f77b4"  # blue: training-set curves
VAL_COLOUR = "#d62728"  # red: validation-set curves
FIG_HEIGHT = 360  # pixels; two figures side by side stay readable at 1280x800
VAL_METRICS = ("auc", "accuracy", "mcc")  # validation metrics plotted per epoch
METRIC_COLOURS = {"auc": "#1f77b4", "accuracy": "#ff7f0e", "mcc": "#2ca02c"}  # one colour per metric curve
METRIC_NAMES = {
    "auc": "AUC-ROC",
    "accuracy": "Accuracy",
    "mcc": "MCC",
    "f1": "F1",
    "precision": "Precision",
    "recall": "Recall",
}


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = FIG_HEIGHT) -> go.Figure:
    """Apply the shared layout: title, axis labels, legend above the plot, readable margins."""
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"},
        height=height,
        margin={"l": 60, "r": 20, "t": 45, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0.0},
        hovermode="x unified",
    )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title)
    return fig


def epoch_dtick(n_epochs: int) -> int:
    """Spacing of integer epoch ticks so that about ten labels at most fit under a half-width chart."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500):
        if n_epochs <= 10 * step:
            return step
    return int(10 ** math.ceil(math.log10(max(n_epochs, 1) / 10)))


def _epoch_axis(fig: go.Figure, history: pd.DataFrame) -> None:
    """Integer epoch ticks, spaced by the number of epochs (never '0 1 2 3 ...' running together)."""
    n = int(history["epoch"].max()) if "epoch" in history and not history.empty else 1
    fig.update_xaxes(tick0=1, dtick=epoch_dtick(n), tickformat="d", rangemode="normal")


def log_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Readable tick values and labels for a positive log axis from low to high (1-2-5 steps or decades)."""
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    mantissas = (1,) if hi - lo > 3 else (1, 2, 5) if hi - lo > 1 else (1, 2, 3, 5)
    values = [m * 10.0**k for k in range(lo, hi + 1) for m in mantissas]
    values = [v for v in values if low / 1.001 <= v <= high * 1.001] or [10.0 ** round(math.log10(low))]
    return values, [f"{v:g}" for v in values]


def _event_row(event: Any) -> dict[str, Any]:
    """Flatten one epoch event (dataclass or dict) into a row with val_<metric> columns."""
    row = dict(asdict(event) if is_dataclass(event) else event)
    for name, value in dict(row.pop("val_metrics", None) or {}).items():
        row.setdefault(f"val_{name}", value)
    return row


def history_frame(events: Sequence[Any]) -> pd.DataFrame:
    """Turn a run's per-epoch events (EpochEvent objects or dicts) into one row per epoch."""
    rows = [_event_row(e) for e in events]
    rows = [r for r in rows if "train_loss" in r and "epoch" in r]  # keep epoch events, drop batch events
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["epoch", "train_loss", "val_loss", "lr"])
    return frame.drop_duplicates("epoch", keep="last").sort_values("epoch").reset_index(drop=True)


def loss_curves(history: pd.DataFrame, *, title: str = "Loss per epoch") -> go.Figure:
    """Training and validation loss against epoch; the best validation epoch is marked."""
    fig = go.Figure()
    if not history.empty:
        fig.add_scatter(
            x=history["epoch"],
            y=history["train_loss"],
            name="Training loss",
            mode="lines+markers",
            line={"color": TRAIN_COLOUR},
        )
        if "val_loss" in history:
            fig.add_scatter(
                x=history["epoch"],
                y=history["val_loss"],
                name="Validation loss",
                mode="lines+markers",
                line={"color": VAL_COLOUR},
            )
            best = history.loc[history["val_loss"].idxmin()]
            fig.add_scatter(
                x=[best["epoch"]],
                y=[best["val_loss"]],
                name="Best validation epoch",
                mode="markers",
                marker={
                    "symbol": "star",
                    "size": 14,
                    "color": "gold",
                    "line": {"color": "black", "width": 1},
                },
            )
    _epoch_axis(fig, history)
    return _layout(fig, title, "Epoch", "Cross-entropy loss (nats)")


def metric_curves(
    history: pd.DataFrame,
    metrics: Sequence[str] = VAL_METRICS,
    *,
    title: str = "Validation metrics per epoch",
) -> go.Figure:
    """Validation metrics (AUC, accuracy, MCC by default) against epoch on one 0-1 scale."""
    fig = go.Figure()
    for name in metrics:
        column = f"val_{name}"
        if column in history:
            fig.add_scatter(
                x=history["epoch"],
                y=history[column],
                name=METRIC_NAMES.get(name, name),
                mode="lines+markers",
                line={"color": METRIC_COLOURS.get(name)},
            )
    fig.update_yaxes(range=[-0.05 if "mcc" not in metrics else -1.02, 1.02])
    _epoch_axis(fig, history)
    return _layout(fig, title, "Epoch", "Score (MCC from -1 to 1, others 0 to 1)")


def lr_curve(history: pd.DataFrame, *, title: str = "Learning rate per epoch") -> go.Figure:
    """The optimizer's learning rate at the end of each epoch, on a log scale."""
    fig = go.Figure()
    if "lr" in history and not history.empty:
        fig.add_scatter(
            x=history["epoch"],
            y=history["lr"],
            name="Learning rate",
            mode="lines+markers",
            line={"color": "#7570b3", "shape": "hv"},
        )
        rates = history["lr"].astype(float)
        rates = rates[rates > 0]
        if len(rates):
            low, high = float(rates.min()), float(rates.max())
            low, high = min(low, high / 3.2), max(high, low * 3.2)  # a flat schedule still gets half a decade
            values, labels = log_ticks(low / 1.25, high * 1.25)
            fig.update_yaxes(
                range=[math.log10(low / 1.25), math.log10(high * 1.25)], tickvals=values, ticktext=labels
            )
    fig.update_yaxes(type="log")
    _epoch_axis(fig, history)
    return _layout(fig, title, "Epoch", "Learning rate (log scale)")


def confusion_figure(tn: int, fp: int, fn: int, tp: int, *, threshold: float) -> go.Figure:
    """A 2x2 confusion matrix heat map with counts and row percentages in each cell."""
    counts = np.array([[tn, fp], [fn, tp]], dtype=float)  # (2, 2): rows true class, columns predicted
    row_totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, row_totals, out=np.zeros_like(counts), where=row_totals > 0)
    names = ["TN", "FP", "FN", "TP"]
    text = [
        [f"{names[2 * i + j]}: {int(counts[i, j]):,}<br>({shares[i, j]:.0%} of row)" for j in range(2)]
        for i in range(2)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=["Predicted insoluble (0)", "Predicted soluble (1)"],
            y=["True insoluble (0)", "True soluble (1)"],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 15},
            colorscale="Blues",
            showscale=False,
            hovertemplate="%{y}<br>%{x}<br>%{z:,} proteins<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, f"Confusion matrix at threshold {threshold:.2f}", "Predicted class", "True class")
    fig.update_layout(hovermode="closest")
    return fig


def roc_figure(
    fpr: Sequence[float],
    tpr: Sequence[float],
    *,
    auc: float | None = None,
    point: tuple[float, float] | None = None,
) -> go.Figure:
    """The ROC curve with the chance diagonal and, optionally, the current threshold's point."""
    label = "Model" if auc is None or not math.isfinite(auc) else f"Model (AUC = {auc:.3f})"
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], name="Chance (AUC = 0.5)", mode="lines", line={"dash": "dash", "color": "grey"}
    )
    fig.add_scatter(
        x=list(fpr), y=list(tpr), name=label, mode="lines", line={"color": TRAIN_COLOUR, "width": 3}
    )
    if point is not None:
        fig.add_scatter(
            x=[point[0]],
            y=[point[1]],
            name="Chosen threshold",
            mode="markers",
            marker={"size": 12, "color": VAL_COLOUR},
        )
    fig.update_xaxes(range=[0, 1], constrain="domain")
    fig.update_yaxes(range=[0, 1.02], scaleanchor="x", scaleratio=1)
    fig = _layout(
        fig,
        "ROC curve on the test set",
        "False positive rate (insoluble called soluble)",
        "True positive rate (soluble found)",
    )
    fig.update_layout(hovermode="closest")
    return fig


def attribution_figure(sequence: str, contributions: Sequence[float]) -> go.Figure:
    """Per-residue contributions to P(soluble) as bars coloured by sign, residue letters on hover."""
    values = np.asarray(contributions, dtype=float)  # (L,)
    if values.shape != (len(sequence),):
        raise ValueError(
            f"contributions must have one value per residue ({len(sequence)}); got {values.shape}."
        )
    positions = np.arange(1, len(sequence) + 1)
    colours = np.where(values >= 0, SOLUBLE_COLOUR, INSOLUBLE_COLOUR)
    fig = go.Figure(
        go.Bar(
            x=positions,
            y=values,
            marker={"color": colours, "line": {"width": 0}},
            customdata=list(sequence),
            name="Contribution",
            hovertemplate="Residue %{customdata}%{x}<br>Contribution %{y:+.4f}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line={"color": "black", "width": 1})
    fig = _layout(
        fig,
        "Green: pushes towards soluble · orange: towards insoluble",
        "Residue position",
        "Contribution to P(soluble)",
    )
    fig.update_layout(hovermode="closest", bargap=0.0, showlegend=False)
    return fig


def probability_figure(p_soluble: float, *, threshold: float) -> go.Figure:
    """A horizontal bar from 0 to 1 showing P(soluble) against the decision threshold."""
    colour = SOLUBLE_COLOUR if p_soluble >= threshold else INSOLUBLE_COLOUR
    fig = go.Figure(
        go.Bar(
            x=[p_soluble],
            y=["P(soluble)"],
            orientation="h",
            marker={"color": colour},
            text=[f"{p_soluble:.3f}"],
            textposition="outside",
            hovertemplate="P(soluble) = %{x:.3f}<extra></extra>",
        )
    )
    fig.add_vline(
        x=threshold,
        line={"color": "black", "dash": "dash", "width": 2},
        annotation_text=f"threshold {threshold:.2f}",
        annotation_position="top",
    )
    fig.update_xaxes(range=[0, 1.08], title_text="Probability of being soluble in E. coli", dtick=0.1)
    fig.update_layout(height=170, margin={"l": 90, "r": 20, "t": 40, "b": 50}, showlegend=False)
    return fig


def length_histogram(
    lengths: Sequence[int], labels: Sequence[int] | None = None, *, title: str = "Sequence lengths"
) -> go.Figure:
    """Histogram of sequence lengths, split by class when labels are given."""
    lengths = np.asarray(lengths)
    fig = go.Figure()
    if labels is None:
        fig.add_histogram(x=lengths, name="All sequences", nbinsx=60, marker={"color": TRAIN_COLOUR})
    else:
        labels = np.asarray(labels)
        for value, name, colour in (
            (0, "Insoluble (0)", INSOLUBLE_COLOUR),
            (1, "Soluble (1)", SOLUBLE_COLOUR),
        ):
            fig.add_histogram(
                x=lengths[labels == value], name=name, nbinsx=60, opacity=0.65, marker={"color": colour}
            )
        fig.update_layout(barmode="overlay")
    fig = _layout(fig, title, "Sequence length (residues)", "Number of proteins")
    fig.update_layout(hovermode="closest")
    return fig


def feature_distribution_figure(
    reference: pd.DataFrame,
    query: Mapping[str, float] | pd.DataFrame,
    columns: Sequence[str],
    labels: Mapping[str, str] | None = None,
    *,
    query_name: str = "Your sequence",
) -> go.Figure:
    """One box plot per feature for the training proteins, with the query sequence(s) marked."""
    labels = dict(labels or {})
    queries = pd.DataFrame([query]) if isinstance(query, Mapping) else query
    n_cols = min(3, len(columns))
    n_rows = math.ceil(len(columns) / n_cols)
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=[labels.get(c, c) for c in columns],
        vertical_spacing=0.16 if n_rows > 1 else 0.1,
        horizontal_spacing=0.08,
    )
    for i, column in enumerate(columns):
        row, col = divmod(i, n_cols)
        fig.add_box(
            y=reference[column],
            name="Training proteins",
            boxpoints=False,
            marker={"color": "#9e9e9e"},
            showlegend=i == 0,
            legendgroup="ref",
            row=row + 1,
            col=col + 1,
        )
        fig.add_scatter(
            y=queries[column],
            x=["Training proteins"] * len(queries),
            mode="markers",
            name=query_name,
            marker={
                "color": VAL_COLOUR,
                "size": 13,
                "symbol": "diamond",
                "line": {"color": "black", "width": 1},
            },
            showlegend=i == 0,
            legendgroup="query",
            row=row + 1,
            col=col + 1,
            hovertemplate=f"{labels.get(column, column)}: %{{y:.3f}}<extra>{query_name}</extra>",
        )
        fig.update_xaxes(showticklabels=False, row=row + 1, col=col + 1)
    fig.update_layout(
        title={
            "text": "Your protein among the training proteins (box: middle 50%, whiskers: full range)",
            "x": 0.0,
        },
        height=300 * n_rows + 60,
        margin={"l": 60, "r": 20, "t": 90, "b": 30},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "right", "x": 1.0},
    )
    return fig


def runs_overlay(
    histories: Mapping[str, pd.DataFrame], *, metric: str = "loss", title: str | None = None
) -> go.Figure:
    """Several runs on one chart, one colour per run: training (dashed) and validation (solid) loss,
    or one validation metric per epoch when metric is e.g. 'auc'."""
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    fig = go.Figure()
    for i, (name, history) in enumerate(histories.items()):
        colour = palette[i % len(palette)]
        if history.empty:
            continue
        if metric == "loss":
            fig.add_scatter(
                x=history["epoch"],
                y=history["train_loss"],
                name=f"{name}: training",
                mode="lines",
                line={"color": colour, "dash": "dash"},
                legendgroup=name,
            )
        column = "val_loss" if metric == "loss" else f"val_{metric}"
        if column in history:
            fig.add_scatter(
                x=history["epoch"],
                y=history[column],
                name=f"{name}: validation",
                mode="lines+markers",
                line={"color": colour},
                legendgroup=name,
            )
    label = METRIC_NAMES.get(metric, metric)
    if metric == "loss":
        fig = _layout(
            fig,
            title or "Compare runs: loss per epoch (dashed: training, solid: validation)",
            "Epoch",
            "Cross-entropy loss (nats)",
            height=460,
        )
    else:
        fig = _layout(fig, title or f"Compare runs: validation {label} per epoch", "Epoch", label, height=460)
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0.0},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    longest = max(histories.values(), key=len, default=pd.DataFrame())
    _epoch_axis(fig, longest)
    return fig


def runs_table(
    records: Mapping[str, Mapping[str, Any]], histories: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per run to compare: settings, epochs run, best validation loss and AUC, test AUC and MCC."""
    rows = []
    for name, record in records.items():
        train = dict(record.get("spec", {}).get("train_config", {}))
        history = histories.get(name, pd.DataFrame())
        test = dict(record.get("test_metrics") or {})
        best = history.loc[history["val_loss"].idxmin()] if "val_loss" in history and len(history) else {}
        rows.append(
            {
                "run": name,
                "optimizer": train.get("optimizer"),
                "learning rate": train.get("lr"),
                "weight decay": train.get("weight_decay"),
                "epochs run": len(history),
                "best val loss": best.get("val_loss") if len(best) else None,
                "val AUC at best": best.get("val_auc") if len(best) else None,
                "test AUC": test.get("auc"),
                "test MCC": test.get("mcc"),
            }
        )
    return pd.DataFrame(rows)
