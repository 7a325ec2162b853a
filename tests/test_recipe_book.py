"""The recipe book: the notes' CNN recipe as the notes train it, names, and the k-mer cluster split."""

from __future__ import annotations

import numpy as np
import pytest

from protlab.alphabet import AMINO_ACIDS
from protlab.data import cluster_sequences, homology_split, load_bundled
from protlab.errors import ConfigError
from protlab.recipe_book import KMER_CLUSTER_SPLIT, RECIPES, get_recipe


def test_notes_cnn_recipe_is_the_notes_model_and_training() -> None:
    recipe = get_recipe("notes-cnn")
    assert recipe.kind == "cnn"
    assert recipe.model_config == {
        "vocab_size": 21,
        "embed_dim": 64,
        "hidden_dim": 128,
        "kernel_size": 5,
        "num_layers": 2,
        "dropout": 0.3,
    }
    t = recipe.train
    assert (t["optimizer"], t["lr"], t["batch_size"], t["grad_clip"]) == ("adam", 1e-3, 32, 1.0)
    assert (t["scheduler"], t["plateau_patience"], t["plateau_factor"], t["patience"]) == (
        "plateau",
        5,
        0.5,
        10,
    )
    assert (recipe.split, recipe.split_seed, recipe.val_fraction, recipe.test_fraction) == (
        "stratified",
        42,
        0.1,
        0.1,
    )


def test_unknown_recipe_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="default"):
        get_recipe("best-model")
    assert {"notes-cnn", "default"} <= set(RECIPES)


def test_recipe_clustering_joins_relatives_and_separates_strangers() -> None:
    rng = np.random.default_rng(0)
    letters = np.array(list(AMINO_ACIDS))
    a = "".join(rng.choice(letters, 200))
    b = "".join(rng.choice(letters, 200))
    a_variant = a[:100] + "".join(rng.choice(letters, 10)) + a[110:]  # 95% identical to a
    clusters = cluster_sequences(
        [a, b, a_variant],
        identity=KMER_CLUSTER_SPLIT["identity"],
        method=KMER_CLUSTER_SPLIT["clustering"],
        k=KMER_CLUSTER_SPLIT["k"],
    )
    assert clusters[0] == clusters[2] != clusters[1]


def _recipe_split(sequences, labels, **fractions):  # -> protlab.data.Split
    """The kmer_cluster split exactly as the recipes' run specs ask prepare_run for it."""
    return homology_split(sequences, labels, **KMER_CLUSTER_SPLIT, **fractions)


def test_recipe_split_keeps_clusters_whole_and_is_reproducible() -> None:
    data, _ = load_bundled()
    rows = np.arange(0, len(data), 12)  # 579 rows keeps the test quick
    seqs, labels = [data.sequences[i] for i in rows], data.labels[rows]
    seqs = seqs + [seqs[0][:-3] + "W", seqs[1] + "K"]  # two near copies that must follow their originals
    labels = np.concatenate([labels, labels[:2]])
    first = _recipe_split(seqs, labels, val_fraction=0.1, test_fraction=0.2, seed=3)
    again = _recipe_split(seqs, labels, val_fraction=0.1, test_fraction=0.2, seed=3)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(first, part), getattr(again, part))
    parts = {part: set(getattr(first, part).tolist()) for part in ("train", "val", "test")}
    assert sorted(parts["train"] | parts["val"] | parts["test"]) == list(range(len(seqs)))
    assert not (parts["train"] & parts["test"]) and not (parts["val"] & parts["test"])
    clusters = cluster_sequences(
        seqs,
        identity=KMER_CLUSTER_SPLIT["identity"],
        method=KMER_CLUSTER_SPLIT["clustering"],
        k=KMER_CLUSTER_SPLIT["k"],
    )
    for part in parts.values():
        others = set(range(len(seqs))) - part
        assert not {clusters[i] for i in part} & {clusters[i] for i in others}
    assert 0.18 * len(seqs) <= len(first.test) <= 0.25 * len(seqs)
