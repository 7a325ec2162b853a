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
    assert ranking["rank"].tolist()[:2] == [1, 2]  # the two runs tested on enough proteins
    assert ranking["rank"].isna().tolist() == [False, False, True, True]  # shown as '–': no rank
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


def _assigned(path: Path, name: str):
    """The literal value a module assigns to name, read from its source (importing it would run it)."""
    import ast

    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(getattr(t, "id", "") == name for t in targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} assigns no {name}")


def test_the_title_carries_the_lessons_number_as_the_menu_and_benchmarks_do() -> None:
    root = Path(PAGE).parents[1]
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.session_state[ROUTED_RUN] = True
    at.run()
    menu = {
        file: title
        for entries in _assigned(root / "app.py", "SECTIONS").values()
        for file, title, _ in entries
    }
    heading = _assigned(root / "benchmarks" / "app_latency.py", "HEADINGS")["pages/class_view.py"]
    assert at.title[0].value == menu["pages/class_view.py"] == heading == "6 · Class results"


def test_data_names_are_shortened_to_fit_their_column() -> None:
    from ui.class_results import DATA_CHARS, short_data_name

    names = {
        "bundled DeepSol, 6,942 rows": "DeepSol",
        "uploaded tm.csv, 300 rows": "tm.csv",
        "uploaded my_proteins_2024.csv, 500 rows": "my_protei…",
        "uploaded tm.csv (soluble at 50 and above), 300 rows": "tm.csv ≥50",
        "uploaded measured_solubility.csv (soluble at 0.5 and above), 3 rows": "meas… ≥0.5",
    }
    for description, short in names.items():
        assert short_data_name({"data": description}) == short
        assert len(short) <= DATA_CHARS


def test_missing_numbers_read_as_a_dash_not_none(app_runs) -> None:
    from protlab.runs import RunSpec
    from protlab.training import TrainConfig
    from tests.conftest import deepsol_sample
    from tests.test_bias_variance import fake_finished_run

    spec = RunSpec(
        data=deepsol_sample(40, max_length=200, seed=5),
        data_description="bundled DeepSol, 40 rows",
        model_kind="cnn",
        model_config={"embed_dim": 4, "hidden_dim": 4, "num_layers": 1},
        train_config=TrainConfig(optimizer="adam", epochs=2, batch_size=8, patience=0, scheduler="none"),
    )
    run_id = fake_finished_run(app_runs, OWNERS["ada"], spec, [0.7, 0.6], [0.7, 0.65])  # no test AUC
    app_runs.set_sharing(run_id, OWNERS["ada"], True, "Team Otter")
    at = _open()
    assert not at.exception, [e.value for e in at.exception]
    ranking, optimizers = (next(d for d in at.dataframe if c in d.value.columns) for c in ("rank", "runs"))
    assert optimizers.value["best test AUC"].isna().all()  # nothing to compare yet ...
    assert ranking.proto.placeholder == optimizers.proto.placeholder == "–"  # ... shown as '–', not 'None'
    assert ranking.value["data"].tolist() == ["DeepSol"]  # 'bundled DeepSol' was cut to 'bundled D'
