"""MMseqs2 homology: clusters keep relatives together, the leak check, the k-mer fallback, the split CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from Bio.Align import PairwiseAligner

import protlab.data.homology as homology_module
from protlab.alphabet import AMINO_ACIDS
from protlab.data import (
    FALLBACK_NOTE,
    homology_clusters,
    homology_split,
    leak_check,
    leak_checks,
    mmseqs_available,
    mmseqs_binary,
)

LETTERS = np.array(list(AMINO_ACIDS))


def random_protein(rng: np.random.Generator, length: int) -> str:
    """A random protein of the given length."""
    return "M" + "".join(rng.choice(LETTERS, size=length - 1))


def mutant(rng: np.random.Generator, parent: str, identity: float) -> str:
    """The parent with about (1 - identity) of its positions substituted by a different residue."""
    residues = np.array(list(parent))
    where = rng.choice(len(parent), size=int(round((1 - identity) * len(parent))), replace=False)
    for i in where:
        residues[i] = rng.choice(LETTERS[LETTERS != residues[i]])
    return "".join(residues)


def families(n_families: int = 12, members: int = 4, singles: int = 24, seed: int = 0):
    """Near-identical mutants (90%) of unrelated parents, plus unrelated random proteins."""
    rng = np.random.default_rng(seed)
    sequences, family = [], []
    for f in range(n_families):
        parent = random_protein(rng, int(rng.integers(150, 260)))
        for _ in range(members):
            sequences.append(mutant(rng, parent, 0.9))
            family.append(f)
    for s in range(singles):
        sequences.append(random_protein(rng, int(rng.integers(150, 260))))
        family.append(n_families + s)
    labels = np.array([f % 2 for f in family])
    return sequences, labels, np.array(family)


def aligned_identity(a: str, b: str) -> float:
    """Reference: identical columns of a global alignment over the longer sequence's length."""
    aligner = PairwiseAligner(mode="global", match_score=1, mismatch_score=0, gap_score=-1)
    alignment = aligner.align(a, b)[0]
    same = sum(x == y for x, y in zip(*alignment) if x != "-" and y != "-")
    return same / max(len(a), len(b))


def fold_of(split, n: int) -> np.ndarray:
    """0/1/2 (train/val/test) per row."""
    where = np.full(n, -1)
    for s, part in enumerate((split.train, split.val, split.test)):
        where[part] = s
    return where


def test_the_wheel_ships_a_binary_that_runs() -> None:
    assert mmseqs_binary().is_file() and mmseqs_available()


def test_mutants_of_a_parent_share_a_cluster_and_unrelated_proteins_do_not() -> None:
    sequences, _, family = families()
    found = homology_clusters(sequences, identity=0.3)
    assert found.method == "mmseqs2" and found.coverage == 0.8
    for f in np.unique(family):
        assert np.unique(found.clusters[family == f]).size == 1, f"family {f} was split into clusters"
    same_cluster = found.clusters[:, None] == found.clusters[None, :]
    same_family = family[:, None] == family[None, :]
    np.testing.assert_array_equal(same_cluster, same_family)  # random proteins stay apart
    assert found.n_clusters == np.unique(family).size and found.largest == 4


def test_split_keeps_whole_clusters_in_one_fold_and_has_no_leak() -> None:
    sequences, labels, family = families(n_families=20, singles=40, seed=1)
    split = homology_split(sequences, labels, identity=0.3, seed=3)
    assert split.clustering == "mmseqs2" and split.method == "homology" and "MMseqs2" in split.notes
    where = fold_of(split, len(sequences))
    assert (where >= 0).all()
    for f in np.unique(family):
        assert np.unique(where[family == f]).size == 1, f"family {f} crossed folds"
    assert np.unique(where[family >= 20]).size == 3  # unrelated proteins can be separated
    train = [sequences[i] for i in split.train]
    for part in (split.val, split.test):
        held = [sequences[i] for i in part]
        assert leak_check(train, held, identity=0.3).n_leaked == 0
        closest = max(aligned_identity(a, b) for a in held for b in train[:40])  # independent aligner
        assert closest < 0.3


def test_leak_check_finds_a_planted_relative() -> None:
    rng = np.random.default_rng(4)
    train = [random_protein(rng, 200) for _ in range(30)]
    test = [random_protein(rng, 200) for _ in range(10)]
    test[6] = mutant(rng, train[17], 0.6)  # 60% identical to a training protein
    test[2] = train[5]  # an exact copy
    assert aligned_identity(test[6], train[17]) >= 0.5
    found = leak_check(train, test, identity=0.3)
    assert found.method == "mmseqs2" and found.n_test == 10
    assert found.n_leaked == 2 and found.leaked_rows.tolist() == [2, 6]
    assert found.as_dict()["n_leaked"] == 2


def test_missing_binary_falls_back_to_kmers_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(homology_module, "mmseqs_binary", lambda: tmp_path / "no-mmseqs")
    assert not mmseqs_available()
    sequences, labels, family = families(seed=2)
    split = homology_split(sequences, labels, identity=0.5, seed=1)
    assert split.clustering == "kmer_identity" and split.notes.endswith(FALLBACK_NOTE)
    where = fold_of(split, len(sequences))
    assert all(np.unique(where[family == f]).size == 1 for f in np.unique(family))
    assert homology_clusters(sequences, identity=0.5).method == "kmer_identity"
    rng = np.random.default_rng(5)
    train = [random_protein(rng, 200) for _ in range(20)]
    test = [random_protein(rng, 200) for _ in range(5)] + [mutant(rng, train[3], 0.9)]
    found = leak_check(train, test, identity=0.5)
    assert found.method == "kmer_identity" and found.leaked_rows.tolist() == [5]


def test_binary_that_fails_falls_back(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    broken = tmp_path / "mmseqs"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(homology_module, "mmseqs_binary", lambda: broken)
    sequences, _, _ = families(n_families=3, singles=3)
    assert homology_clusters(sequences, identity=0.3).method == "kmer_identity"


def test_run_results_carry_the_split_report_and_leak_check(tmp_path: Path) -> None:
    from protlab.runs import RunSpec, evaluate_and_save, prepare_run
    from protlab.training import TrainConfig, train_model

    sequences, labels, _ = families(n_families=10, singles=30, seed=6)
    from protlab.data import LabelledData

    data = LabelledData(sequences, labels, [f"p{i}" for i in range(len(sequences))])
    config = TrainConfig(epochs=1, batch_size=16, seed=1)
    spec = RunSpec(
        data=data,
        split_method="homology",
        split_params={"identity": 0.3},
        model_kind="mlp",
        model_config={},
        train_config=config,
    )
    prepared = prepare_run(spec)
    result = train_model(prepared.model, prepared.sets["train"], prepared.sets["val"], config)
    saved = evaluate_and_save(prepared, result, spec, tmp_path / "m.pt")
    summary = saved["data_summary"]
    assert summary["clustering"] == "mmseqs2" and summary["n_clusters"] == prepared.split.n_clusters == 40
    assert summary["largest_cluster"] == 4 and "MMseqs2" in summary["split_notes"]
    assert summary["leak_check"] == {
        "n_test": len(prepared.split.test),
        "n_leaked": 0,
        "method": "mmseqs2",
        "identity": 0.3,
        "coverage": 0.8,
    }


def test_stratified_run_reports_its_leaks(tmp_path: Path) -> None:
    from protlab.data import LabelledData
    from protlab.runs import RunSpec, evaluate_and_save, prepare_run
    from protlab.training import TrainConfig, train_model

    sequences, labels, family = families(n_families=12, members=5, singles=20, seed=7)
    data = LabelledData(sequences, labels, [f"p{i}" for i in range(len(sequences))])
    config = TrainConfig(epochs=1, batch_size=16, seed=2)
    spec = RunSpec(data=data, model_kind="mlp", model_config={}, train_config=config)
    prepared = prepare_run(spec)
    result = train_model(prepared.model, prepared.sets["train"], prepared.sets["val"], config)
    summary = evaluate_and_save(prepared, result, spec, tmp_path / "m.pt")["data_summary"]
    train_families = set(family[prepared.split.train].tolist())
    expected = sum(family[i] in train_families and family[i] < 12 for i in prepared.split.test)
    assert expected > 0 and summary["leak_check"]["n_leaked"] == expected
    assert summary["clustering"] is None


def write_table(path: Path, sequences: list[str], labels: np.ndarray) -> None:
    """A labelled CSV with an id column."""
    ids = [f"p{i}" for i in range(len(sequences))]
    pd.DataFrame({"id": ids, "sequence": sequences, "label": labels}).to_csv(path, index=False)


def test_cli_split_writes_every_row_with_fold_and_cluster(tmp_path: Path, capsys) -> None:
    from protlab.cli import main

    sequences, labels, family = families(seed=8)
    source, out = tmp_path / "in.csv", tmp_path / "folds.csv"
    write_table(source, sequences, labels)
    assert main(["split", str(source), "--identity", "0.3", "--out", str(out)]) == 0
    folds = pd.read_csv(out)
    assert folds["id"].tolist() == [f"p{i}" for i in range(len(sequences))]
    assert folds["sequence"].tolist() == sequences
    assert set(folds["fold"]) == {"train", "val", "test"}
    for f in np.unique(family):
        rows = folds[family == f]
        assert rows["fold"].nunique() == 1 and rows["cluster"].nunique() == 1
    assert folds["cluster"].nunique() == np.unique(family).size
    said = capsys.readouterr().out
    assert "mmseqs2" in said.lower() and f"{np.unique(family).size} clusters" in said


def test_cli_split_refuses_out_equal_to_the_input(tmp_path: Path, capsys) -> None:
    from protlab.cli import main

    sequences, labels, _ = families(n_families=3, singles=10, seed=9)
    source = tmp_path / "in.csv"
    write_table(source, sequences, labels)
    before = source.read_bytes()
    assert main(["split", str(source), "--out", str(source)]) == 2
    assert "error:" in capsys.readouterr().err and source.read_bytes() == before


def _caption_page(summary: dict) -> None:
    """A page that shows only the run results' split caption."""
    from ui.run_results import split_caption

    split_caption(summary)


def test_run_results_caption_names_clusters_and_leaks() -> None:
    from streamlit.testing.v1 import AppTest

    homology = {
        "n_clusters": 5834,
        "largest_cluster": 35,
        "clustering": "mmseqs2",
        "identity": 0.3,
        "leak_check": {"n_test": 694, "n_leaked": 0, "method": "mmseqs2", "identity": 0.3, "coverage": 0.8},
    }
    text = AppTest.from_function(_caption_page, args=(homology,), default_timeout=120).run().caption[0].value
    assert "MMseqs2: 5,834 clusters, the largest with 35 proteins" in text
    assert "Leak check: 0 of 694 test proteins" in text and "memory" not in text
    stratified = {"n_clusters": None, "leak_check": {**homology["leak_check"], "n_leaked": 57}}
    page = AppTest.from_function(_caption_page, args=(stratified,), default_timeout=120)
    text = page.run().caption[0].value
    assert text.startswith("Leak check: 57 of 694") and "30% identity" in text and "memory" in text


@pytest.mark.parametrize("with_mmseqs", [True, False])
def test_several_held_out_sets_in_one_search_match_a_check_of_each(
    monkeypatch, tmp_path, with_mmseqs
) -> None:
    if not with_mmseqs:
        monkeypatch.setattr(homology_module, "mmseqs_binary", lambda: tmp_path / "no-mmseqs")
    rng = np.random.default_rng(9)
    train = [random_protein(rng, 150) for _ in range(12)]
    val = [mutant(rng, train[2], 0.9), random_protein(rng, 150)]
    test = [random_protein(rng, 150), random_protein(rng, 150), mutant(rng, train[7], 0.9)]
    both = leak_checks(train, {"val": val, "test": test, "empty": []}, identity=0.5)
    alone = leak_check(train, test, identity=0.5)  # the same answer as a search of that set alone
    assert both["test"].as_dict() == alone.as_dict()
    assert both["test"].leaked_rows.tolist() == alone.leaked_rows.tolist()
    assert both["val"].method == alone.method and both["val"].n_test == 2
    assert both["val"].leaked_rows.tolist() == [0] and both["test"].leaked_rows.tolist() == [2]
    assert both["empty"].as_dict() == leak_check(train, [], identity=0.5).as_dict()
