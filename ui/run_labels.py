"""How a training run is named on every page: by what it trained and how well, never by its run id."""

from __future__ import annotations

import math
import time
import unicodedata
from collections.abc import Sequence

OPTIMIZER_NAMES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "sgd_momentum": "SGD + momentum"}
MODEL_NAMES = {"cnn": "CNN", "dual": "Dual-input", "mlp": "MLP", "ensemble": "Ensemble"}
STATE_NAMES = {
    "queued": "queued",
    "running": "training",
    "finished": "finished",
    "stopped": "stopped early",
    "failed": "failed",
    "cancelled": "cancelled",
    "interrupted": "interrupted",
}
MAX_DISPLAY_NAME = 40  # characters of a name shown to the class


def _spec(row: dict) -> dict:
    """The spec summary of a list_runs / class_runs row or a RunStatus."""
    spec = row.get("spec") if isinstance(row, dict) else getattr(row, "spec", None)
    return spec if isinstance(spec, dict) else {}


def _field(row, name: str, default=None):
    """A field of a row dict or of a RunStatus."""
    return row.get(name, default) if isinstance(row, dict) else getattr(row, name, default)


def data_name(spec: dict) -> str:
    """The data a run trained on, short: 'bundled DeepSol' or 'uploaded my_file.csv'."""
    text = str(spec.get("data") or "data")
    return text.split(",", 1)[0].strip() or "data"


def optimizer_name(spec: dict) -> str:
    """'Adam', 'SGD + momentum', ..."""
    name = (spec.get("train_config") or {}).get("optimizer")
    return OPTIMIZER_NAMES.get(name, str(name or "?"))


def model_name(spec: dict) -> str:
    """'CNN', 'Dual-input', ..."""
    kind = spec.get("model_kind")
    return MODEL_NAMES.get(kind, str(kind or "?").upper())


def test_auc(row) -> float | None:
    """The run's held-out AUC, if it has one."""
    metrics = _field(row, "test_metrics") or {}
    auc = metrics.get("auc") if isinstance(metrics, dict) else None
    return float(auc) if isinstance(auc, (int, float)) and math.isfinite(auc) else None


def created_at(row) -> float | None:
    """When the run was submitted (epoch seconds), if known."""
    value = _field(row, "created")
    if value is None:
        value = (_field(row, "timings") or {}).get("created")
    return float(value) if isinstance(value, (int, float)) else None


def clock(seconds: float | None) -> str:
    """'14:05' in the server's local time ('' when unknown)."""
    return time.strftime("%H:%M", time.localtime(seconds)) if seconds else ""


def run_title(row, *, with_auc: bool = True, differ: Sequence[str] = ()) -> str:
    """'CNN · Adam · bundled DeepSol · test AUC 0.781', with the settings in differ that tell the student's
    runs apart ('CNN · Adam · bundled DeepSol · lr 0.003 · 1,000 rows · test AUC 0.743')."""
    spec = _spec(row)
    parts = [model_name(spec), optimizer_name(spec), data_name(spec), *told_apart(spec, differ)]
    auc = test_auc(row)
    if with_auc and auc is not None:
        parts.append(f"test AUC {auc:.3f}")  # as in the results tables
    return " · ".join(parts)


def settings_text(spec: dict) -> str:
    """'Adam, lr 0.001, 10 epochs, batch 32' for a table cell."""
    train = spec.get("train_config") or {}
    wd = f", wd {train['weight_decay']:g}" if train.get("weight_decay") else ""
    return (
        f"{optimizer_name(spec)}, lr {train.get('lr', 0):g}{wd}, {train.get('epochs', '?')} epochs, "
        f"batch {train.get('batch_size', '?')}"
    )


# settings a run's name carries when they tell the student's runs apart: column -> value text
COMPACT = {
    "learning rate": lambda v: f"lr {v:g}",
    "batch size": lambda v: f"batch {v}",
    "epochs asked": lambda v: f"{v} epochs",
    "weight decay": lambda v: f"wd {v:g}",
}


def differing(rows: list) -> list[str]:
    """The settings (protlab.lessons.run_settings columns) whose values differ between these runs."""
    from protlab.lessons import compared_settings

    return compared_settings({i: {"spec": _spec(r)} for i, r in enumerate(rows)})[0] if len(rows) > 1 else []


def told_apart(spec: dict, differ: Sequence[str]) -> list[str]:
    """Short texts of the settings in differ that fit in a name: 'lr 0.003', '1,000 rows', 'batch 64', ..."""
    from protlab.lessons import run_settings

    settings, parts = run_settings({"spec": spec}), []
    for column in differ:
        value = settings.get(column)
        if column == "data" and isinstance(spec.get("n_rows"), int):
            parts.append(f"{spec['n_rows']:,} rows")
        elif column in COMPACT and isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(COMPACT[column](value))
    return parts


def compact_title(row, differ: Sequence[str]) -> str:
    """'CNN · Adam · lr 0.003 · 1,000 rows': model, optimizer, then the differing settings that fit."""
    spec = _spec(row)
    return " · ".join([model_name(spec), optimizer_name(spec), *told_apart(spec, differ)])


def setting_text(column: str, value) -> str:
    """A setting the compared runs share, for a sentence: 'CNN', 'Adam', 'learning rate 0.001', ..."""
    if column == "model":
        return MODEL_NAMES.get(value, str(value))
    if column == "optimizer":
        return OPTIMIZER_NAMES.get(value, str(value))
    if column == "split":
        return f"{value} split"
    if column == "epochs asked":
        return f"{value} epochs asked"
    if isinstance(value, float):
        return f"{column} {value:g}"
    return str(value) if column == "data" else f"{column} {value}"


def unique_titles(rows: list, title=None, *, stamp: bool = True) -> dict[str, str]:
    """run_id -> title (by default run_title with the settings that tell these runs apart); titles that would
    still repeat get the time the run was started (stamp), then a number."""
    differ = differing(rows) if title is None else []
    name = title or (lambda r: run_title(r, differ=differ))
    titles = {_field(r, "run_id"): name(r) for r in rows}
    counts: dict[str, int] = {}
    for t in titles.values():
        counts[t] = counts.get(t, 0) + 1
    seen: dict[str, int] = {}
    for row in rows:
        run_id = _field(row, "run_id")
        base = titles[run_id]
        if counts[base] > 1:
            label = f"{base} · {clock(created_at(row))}".rstrip(" ·") if stamp else base
            seen[label] = seen.get(label, 0) + 1
            titles[run_id] = label if seen[label] == 1 else f"{label} #{seen[label]}"
    return titles


def clean_display_name(text: object) -> str:
    """A name a student typed for the class view: printable, no markup characters, at most 40 characters."""
    spaced = " ".join(str(text or "").split())  # line breaks and tabs become single spaces
    name = "".join(c for c in spaced if unicodedata.category(c)[0] not in "CZ" or c == " ")
    return " ".join(name.replace("<", "").replace(">", "").replace("&", "and").split())[:MAX_DISPLAY_NAME]
