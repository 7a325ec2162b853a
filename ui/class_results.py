"""The class view's data: shared runs, their curves, the ranking and the optimizer comparison (no owners)."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from protlab.errors import ProtlabError
from protlab.home import protlab_home
from protlab.lessons import result_figures as rf
from ui.common import run_manager
from ui.run_labels import STATE_NAMES, clean_display_name, data_name, model_name, optimizer_name, test_auc

CACHE_SECONDS = 3  # every open class view shares one read of the shared runs per this many seconds
MIN_TEST_PROTEINS = 20  # a test AUC on fewer held-out proteins ranks last, out of the optimizer table
DATA_CHARS = 10  # longest data name the ranking's Data column shows whole (longer ones end in '…')
DATA_PREFIXES = ("bundled ", "uploaded ")  # the same in every run: the name after it tells runs apart
CUTOFF = re.compile(r" \(soluble at (\S+) and above\)$")  # a measured-label file's cutoff, as Train names it


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _class_rows(runs_root: str) -> list[dict]:
    """manager.class_runs(), read once per CACHE_SECONDS for every viewer."""
    return run_manager().class_runs()


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False, max_entries=2000)
def _history(runs_root: str, run_id: str, state: str) -> pd.DataFrame:
    """Epoch rows of a shared run (state in the key: a finished run's curves are read again, then kept)."""
    try:
        return rf.history_frame(run_manager().run_history(run_id))
    except ProtlabError:
        return pd.DataFrame()


def class_rows() -> list[dict]:
    """Every shared run of the class."""
    return _class_rows(str(protlab_home() / "runs"))


def class_histories(rows: list[dict]) -> dict[str, pd.DataFrame]:
    """run_id -> epoch history of each shared run."""
    root = str(protlab_home() / "runs")
    return {r["run_id"]: _history(root, r["run_id"], r.get("state", "")) for r in rows}


def run_names(rows: list[dict]) -> dict[str, str]:
    """run_id -> 'Team Otter · Adam lr 0.001'; a second run under the same name reads 'Team Otter #2 · ...',
    so the ranking's name column (the part before ' · ') tells every run apart, 'Anonymous' ones too."""
    names, seen = {}, {}
    for row in rows:
        spec = row.get("spec") or {}
        lr = (spec.get("train_config") or {}).get("lr")
        who = clean_display_name(row.get("display_name")) or "A student"
        seen[who] = seen.get(who, 0) + 1
        who = who if seen[who] == 1 else f"{who} #{seen[who]}"
        names[row["run_id"]] = f"{who} · {optimizer_name(spec)}" + (
            f" lr {lr:g}" if isinstance(lr, (int, float)) else ""
        )
    return names


def short_data_name(spec: dict) -> str:
    """The data name for the ranking's narrow Data column (DATA_CHARS at most): 'DeepSol', 'my_fi… ≥50'."""
    text = data_name(spec)
    for prefix in DATA_PREFIXES:
        text = text.removeprefix(prefix)
    cutoff = CUTOFF.search(text)
    suffix = f" ≥{cutoff.group(1)}" if cutoff else ""
    name = text[: cutoff.start()] if cutoff else text
    room = DATA_CHARS - len(suffix)
    return (name if len(name) <= room else name[: room - 1].rstrip() + "…") + suffix


def _best_val_auc(history: pd.DataFrame) -> float | None:
    """Highest validation AUC of any epoch so far."""
    if "val_auc" not in history or history["val_auc"].dropna().empty:
        return None
    return float(history["val_auc"].max())


def _status_text(row: dict) -> str:
    """'finished', 'training 40%', 'queued', ..."""
    state = row.get("state")
    if state == "running":
        return f"training {float(row.get('progress') or 0.0):.0%}"
    return STATE_NAMES.get(state, str(state))


def test_size(row: dict) -> int | None:
    """How many held-out proteins the run's test AUC was measured on (None before it has one)."""
    metrics = row.get("test_metrics")
    n = metrics.get("n") if isinstance(metrics, dict) else None
    return int(n) if isinstance(n, (int, float)) and not isinstance(n, bool) else None


def ranked_fairly(row: dict) -> bool:
    """A test AUC measured on at least MIN_TEST_PROTEINS proteins (fewer give an AUC that is mostly luck)."""
    n = test_size(row)
    return test_auc(row) is not None and n is not None and n >= MIN_TEST_PROTEINS


def ranking_table(
    rows: list[dict], names: dict[str, str], histories: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per shared run with who used which settings, best first by held-out (test) AUC; runs without
    a test AUC, or tested on fewer than MIN_TEST_PROTEINS proteins, come after the others with no rank."""
    table = []
    for row in rows:
        spec, history = row.get("spec") or {}, histories.get(row["run_id"], pd.DataFrame())
        train = spec.get("train_config") or {}
        metrics = row.get("test_metrics") or {}
        table.append(
            {
                "run_id": row["run_id"],
                "name": names[row["run_id"]].split(" · ", 1)[0],
                "model": model_name(spec),
                "optimizer": optimizer_name(spec),
                "learning rate": train.get("lr"),
                "weight decay": train.get("weight_decay"),
                "batch size": train.get("batch_size"),
                "epochs": f"{len(history)} of {train.get('epochs', '?')}",
                "data": short_data_name(spec),
                "state": _status_text(row),
                "best val AUC": _best_val_auc(history),
                "test AUC": test_auc(row),
                "test proteins": test_size(row),
                "test MCC": metrics.get("mcc") if isinstance(metrics, dict) else None,
                "fair": ranked_fairly(row),
            }
        )
    columns = [
        "rank",
        "name",
        "test AUC",
        "test proteins",
        "test MCC",
        "best val AUC",
        "model",
        "optimizer",
        "learning rate",
        "weight decay",
        "batch size",
        "epochs",
        "data",
        "state",
        "run_id",
    ]
    if not table:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(table)
    frame = frame.sort_values(
        ["fair", "test AUC", "best val AUC"], ascending=False, na_position="last", kind="stable"
    )
    fair = frame["fair"].to_numpy()  # sorted: the fairly ranked runs come first
    ranks = list(range(1, int(fair.sum()) + 1)) + [None] * int((~fair).sum())
    frame.insert(0, "rank", pd.array(ranks, dtype="Int64"))  # no rank ('–') without a fair test AUC
    return frame[columns].reset_index(drop=True)


def optimizer_table(rows: list[dict]) -> pd.DataFrame:
    """Per optimizer: how many shared runs, and the best and median held-out AUC of those tested on at least
    MIN_TEST_PROTEINS proteins (the others are counted, not averaged in)."""
    frame = pd.DataFrame(
        {
            "optimizer": [optimizer_name(r.get("spec") or {}) for r in rows],
            "test AUC": [test_auc(r) if ranked_fairly(r) else None for r in rows],
            "too small": [test_auc(r) is not None and not ranked_fairly(r) for r in rows],
        }
    )
    grouped = frame.groupby("optimizer", sort=True)
    table = pd.DataFrame(
        {
            "runs": grouped.size(),
            "runs compared": grouped["test AUC"].count(),
            "test set too small": grouped["too small"].sum().astype(int),
            "best test AUC": grouped["test AUC"].max(),
            "median test AUC": grouped["test AUC"].median(),
        }
    ).reset_index()
    return table.sort_values("best test AUC", ascending=False, na_position="last").reset_index(drop=True)


@st.cache_resource(show_spinner=False, max_entries=64)
def overlay_figure(metric: str, key: tuple, _histories: dict[str, pd.DataFrame]):  # -> plotly Figure
    """The class's curves overlaid, built once per (metric, runs shown, epochs each) for every viewer."""
    label = "loss" if metric == "loss" else "validation AUC"
    title = f"Class runs: {label} per epoch (top {len(_histories)})"
    return rf.runs_overlay(_histories, metric=metric, title=title)
