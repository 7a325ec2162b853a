"""Class results: only shared runs appear, under their chosen names, ranked by held-out AUC, with settings."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import sklearn.metrics as skm
from streamlit.testing.v1 import AppTest

from tests.conftest import train_tiny_run
from ui.class_results import CACHE_SECONDS
from ui.router import ROUTED_RUN

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "class_view.py")
TIMEOUT = 120  # seconds per script run
OWNERS = {"ada": "a" * 32, "ben": "b" * 32, "cy": "c" * 32}  # owner ids as the app files them


def _open() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state[ROUTED_RUN] = True  # as when app.py runs the page (tests/test_app.py covers the router)
    at.query_params["student"] = "viewer-token-0123456789"
    return at.run()


def _table(at: AppTest, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_an_empty_class_says_how_to_share(app_runs) -> None:
    at = _open()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No run is shared yet" in i.value for i in at.info)
    summary = app_runs.queue_summary()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Training places (workers)"] == str(summary["workers"])
    assert shown["Training now"] == "0" and shown["Waiting in the queue"] == "0"


def test_shared_runs_are_ranked_by_held_out_auc_and_unshared_runs_never_appear(app_runs) -> None:
    runs = {
        name: train_tiny_run(app_runs, owner, optimizer, epochs=3, rows=300, lr=lr)  # they learn a little
        for (name, owner), optimizer, lr in zip(
            OWNERS.items(), ("adam", "sgd_momentum", "adamw"), (3e-3, 0.03, 3e-3)
        )
    }
    app_runs.set_sharing(runs["ada"], OWNERS["ada"], True, "Ada's team")
    app_runs.set_sharing(runs["ben"], OWNERS["ben"], True, "")  # shared without a name
    # cy never ticks "Share with the class"
    aucs = {}
    for name in ("ada", "ben"):
        status = app_runs.status(runs[name], OWNERS[name])
        aucs[name] = skm.roc_auc_score(np.asarray(status.test_labels), np.asarray(status.test_probs))
    at = _open()
    assert not at.exception, [e.value for e in at.exception]
    ranking = _table(at, "test AUC")
    expected_names = {"ada": "Ada's team", "ben": "Anonymous"}  # the run system names nameless runs
    order = sorted(aucs, key=aucs.get, reverse=True)
    assert ranking["name"].tolist() == [expected_names[n] for n in order]
    assert ranking["rank"].tolist() == [1, 2]
    assert np.allclose(ranking["test AUC"].astype(float), [aucs[n] for n in order])
    assert sorted(ranking["optimizer"]) == ["Adam", "SGD + momentum"]
    assert set(ranking["epochs"]) == {"3 of 3"}
    tables = " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert runs["cy"] not in tables and "AdamW" not in tables  # cy's unshared AdamW run
    page_text = tables + " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])
    assert not any(owner in page_text for owner in OWNERS.values())
    optimizers = _table(at, "median test AUC").set_index("optimizer")
    assert optimizers.loc["Adam", "runs"] == 1
    assert np.isclose(optimizers.loc["Adam", "best test AUC"], aucs["ada"])
    assert at.get("plotly_chart"), "no overlay of the shared runs' curves"
    app_runs.set_sharing(runs["ada"], OWNERS["ada"], False)  # taken back: gone at the next refresh
    time.sleep(CACHE_SECONDS + 0.5)  # the class's shared runs are read again after this long
    at.run()
    assert _table(at, "test AUC")["name"].tolist() == [expected_names["ben"]]


def test_a_shared_run_still_training_is_listed_below_the_finished_ones(app_runs) -> None:
    done = train_tiny_run(app_runs, OWNERS["ada"], "adam")
    going = train_tiny_run(app_runs, OWNERS["ben"], "sgd", epochs=500, wait=False)
    app_runs.set_sharing(done, OWNERS["ada"], True, "Finished team")
    app_runs.set_sharing(going, OWNERS["ben"], True, "Busy team")
    at = _open()
    ranking = _table(at, "test AUC")
    assert ranking["name"].tolist() == ["Finished team", "Busy team"]
    assert ranking["state"].tolist()[0] == "finished"
    assert ranking["state"].tolist()[1].startswith(("queued", "training"))
    assert np.isnan(ranking["test AUC"].tolist()[1])
    app_runs.stop(going, OWNERS["ben"])


def _row(run_id: str, optimizer: str, auc: float | None, n: int | None) -> dict:
    """A shared run as manager.class_runs() lists it (only what the ranking reads)."""
    metrics = None if auc is None else {"auc": auc, "n": n}
    spec = {"model_kind": "cnn", "train_config": {"optimizer": optimizer, "epochs": 3}, "data": "bundled"}
    return {"run_id": run_id, "state": "finished", "spec": spec, "test_metrics": metrics}


def test_a_test_auc_from_a_handful_of_proteins_ranks_last_and_stays_out_of_the_optimizer_table() -> None:
    import pandas as pd

    from ui.class_results import MIN_TEST_PROTEINS, optimizer_table, ranking_table

    rows = [
        _row("tiny", "adam", 1.0, 3),  # a perfect AUC on 3 proteins is luck, not a better optimizer
        _row("big-adam", "adam", 0.70, 100),
        _row("big-sgd", "sgd_momentum", 0.75, MIN_TEST_PROTEINS),
        _row("zero", "adam", 0.0, 4),
    ]
    names = {r["run_id"]: r["run_id"] for r in rows}
    ranking = ranking_table(rows, names, {r["run_id"]: pd.DataFrame() for r in rows})
    assert ranking["run_id"].tolist() == ["big-sgd", "big-adam", "tiny", "zero"]
    assert ranking["test proteins"].tolist() == [MIN_TEST_PROTEINS, 100, 3, 4]
    table = optimizer_table(rows).set_index("optimizer")
    assert table.loc["Adam", "runs"] == 3 and table.loc["Adam", "runs compared"] == 1
    assert table.loc["Adam", "test set too small"] == 2
    assert table.loc["Adam", "median test AUC"] == table.loc["Adam", "best test AUC"] == 0.70
    assert table.index[0] == "SGD + momentum"  # best first, among the runs compared


def test_runs_shared_under_the_same_name_are_told_apart_in_the_ranking() -> None:
    import pandas as pd

    from ui.class_results import ranking_table, run_names

    rows = [_row(f"r{i}", "adam", 0.6 + i / 100, 50) for i in range(3)]
    for row in rows:
        row["display_name"] = "Anonymous"  # three students shared without typing a name
    names = run_names(rows)
    assert list(names.values()) == [
        "Anonymous · Adam",
        "Anonymous #2 · Adam",
        "Anonymous #3 · Adam",
    ]
    ranking = ranking_table(rows, names, {r["run_id"]: pd.DataFrame() for r in rows})
    assert ranking["name"].tolist() == ["Anonymous #3", "Anonymous #2", "Anonymous"]
