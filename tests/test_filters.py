"""First-layer filter motifs: a planted motif detector finds the motif's windows; scores equal the conv."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from protlab.alphabet import AA_TO_INDEX, AMINO_ACIDS
from protlab.data import encode
from protlab.errors import ConfigError
from protlab.lessons.filters import filter_banks, filter_motifs, motif_logos_png
from protlab.models import EnsembleModel, build_model
from tests.conftest import random_proteins

NO_W = AMINO_ACIDS.replace("W", "")


def _planted_cnn() -> torch.nn.Module:
    """Filter 1 scores W-K-W windows only (+0.5); filter 2 never fires; embedding = one-hot residues."""
    model = build_model("cnn", {"vocab_size": 22, "embed_dim": 22, "hidden_dim": 2, "kernel_size": 3})
    with torch.no_grad():
        model.embedding.weight.copy_(torch.eye(22))
        model.conv1.weight.zero_()
        for offset, aa in enumerate("WKW"):
            model.conv1.weight[0, AA_TO_INDEX[aa], offset] = 1.0
        model.conv1.bias.copy_(torch.tensor([-2.5, -1.0]))
    return model.eval()


def _reference_windows(model: torch.nn.Module, sequences: list[str], f: int) -> list[tuple[float, str]]:
    """(activation, window) of every window of 20-residue letters, by running conv1 on each protein."""
    out = []
    k = model.conv1.kernel_size[0]
    with torch.no_grad():
        for s in (s for s in sequences if len(s) >= k):
            x = model.embedding(encode(s)[None]).transpose(1, 2)  # (1, E, L)
            act = F.conv1d(x, model.conv1.weight, model.conv1.bias)[0, f]  # (L - k + 1,)
            out += [
                (float(a), s[i : i + k]) for i, a in enumerate(act) if set(s[i : i + k]) <= set(AMINO_ACIDS)
            ]
    return sorted(out, key=lambda t: -t[0])


def test_planted_filter_finds_the_motif_windows() -> None:
    sequences = random_proteins(30, (20, 60), seed=1, letters=NO_W)
    planted = [s[:7] + "WKW" + s[7:] for s in sequences[:5]]
    motifs = filter_motifs(_planted_cnn(), planted + sequences[5:], top=50)
    assert len(motifs) == 2 and motifs[0].width == 3
    found, dead = motifs
    assert found.top_kmers == ["WKW"] and found.kmer_counts == [5] and found.n_windows == 5
    np.testing.assert_allclose(found.top_activations, [0.5])
    expected = np.zeros((3, 20))
    for offset, aa in enumerate("WKW"):
        expected[offset, AMINO_ACIDS.index(aa)] = 1.0
    np.testing.assert_array_equal(found.pfm, expected)
    assert dead.n_windows == 0 and dead.top_kmers == [] and dead.max_activation == 0.0
    np.testing.assert_allclose(dead.pfm.sum(axis=1), 1.0)


def test_top_windows_and_weights_match_the_convolution() -> None:
    torch.manual_seed(3)
    model = build_model("cnn", {"vocab_size": 22, "embed_dim": 6, "hidden_dim": 4, "kernel_size": 5}).eval()
    sequences = random_proteins(25, (3, 50), seed=4) + ["MKXVLAWQERTY", "AC"]  # X breaks windows; too short
    motifs = filter_motifs(model, sequences, top=30)
    for f, motif in enumerate(motifs):
        reference = [(a, w) for a, w in _reference_windows(model, sequences, f) if a > 0][:30]
        np.testing.assert_allclose(
            sorted(motif.top_activations, reverse=True)[:3], [a for a, _ in reference][:3], rtol=1e-5
        )
        assert motif.n_windows == len(reference)
        counts = {}
        for _, w in reference:
            counts[w] = counts.get(w, 0) + 1
        assert dict(zip(motif.top_kmers, motif.kmer_counts)) == counts
        np.testing.assert_allclose(motif.pfm.sum(axis=1), 1.0)
        column = [np.mean([w[j] == aa for _, w in reference]) for j in range(5) for aa in AMINO_ACIDS]
        np.testing.assert_allclose(motif.pfm.reshape(-1), column)
        emb = model.embedding.weight.detach()
        weight = model.conv1.weight.detach()[f]  # (E, k)
        by_hand = [[float(emb[AA_TO_INDEX[aa]] @ weight[:, j]) for aa in AMINO_ACIDS] for j in range(5)]
        np.testing.assert_allclose(motif.weights, by_hand, rtol=1e-5, atol=1e-6)


def test_banks_of_an_ensemble_and_models_without_a_conv() -> None:
    torch.manual_seed(0)
    cnn = build_model("cnn", {"vocab_size": 22, "embed_dim": 4, "hidden_dim": 3})
    net = build_model("solubility_net", {"embed_dim": 4, "channels": 2, "kernel_sizes": [3, 9]})
    banks = filter_banks(EnsembleModel([cnn, net]).eval())
    assert [b.conv.kernel_size[0] for b in banks] == [5, 3, 9]
    assert banks[0].label.startswith("Model 1") and banks[2].label.startswith("Model 2")
    motifs = filter_motifs(EnsembleModel([cnn, net]).eval(), random_proteins(5, 40), banks=[2])
    assert len(motifs) == 2 and {m.width for m in motifs} == {9}
    with pytest.raises(ConfigError, match="bank must be an integer from 0 to 2; got 3"):
        filter_motifs(EnsembleModel([cnn, net]).eval(), ["MKV"], banks=[3])
    with pytest.raises(ConfigError, match="no convolutional first layer"):
        filter_motifs(build_model("mlp", {}), ["MKVLA"])
    with pytest.raises(ConfigError, match="top must be an integer from 1 to 10000; got 0"):
        filter_motifs(cnn, ["MKVLA"], top=0)


def test_logos_are_a_png_grid() -> None:
    import matplotlib.image

    motifs = filter_motifs(_planted_cnn(), ["MKWKWLA", "WKWAAA"])
    png = motif_logos_png(motifs, columns=2, dpi=50)
    image = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert png[:4] == b"\x89PNG" and image.shape[1] > image.shape[0]  # one row of two logos
    with pytest.raises(ConfigError):
        motif_logos_png([])
