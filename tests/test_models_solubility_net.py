"""SolubilityNet: statistics against a plain-Python reference, padding exactness, registry and checkpoints."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from protlab.alphabet import AA_TO_INDEX, AMINO_ACIDS, VOCAB_SIZE
from protlab.errors import ConfigError
from protlab.models import build_model, load_checkpoint, model_config_dict, save_checkpoint
from protlab.models.fused_conv import embed_conv_lookup
from protlab.models.solubility_net import (
    SolubilityNet,
    SolubilityNetConfig,
    count_stats,
    sequence_stats,
    stat_dim,
)

SEQS = ["MKTAYIAKQRQISFVKSHFSRQ", "GSHMLEDPVDAFQ", "MVLSPADKTNVKAAWGKVGAHAGEYGAEALERMFLSFPTTKTYFPHF"]


def _tokens(seqs: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad sequences into tokens (B, L) int64 and mask (B, L) float32 with a hand-written loop."""
    width = max(len(s) for s in seqs)
    tokens = torch.zeros(len(seqs), width, dtype=torch.long)
    mask = torch.zeros(len(seqs), width)
    for row, seq in enumerate(seqs):
        tokens[row, : len(seq)] = torch.tensor([AA_TO_INDEX[a] for a in seq])
        mask[row, : len(seq)] = 1.0
    return tokens, mask


def _reference_stats(seq: str, window: int) -> np.ndarray:
    """Composition, N/C-terminal composition, dipeptide composition and log length, with Counter."""
    v = VOCAB_SIZE

    def comp(part: str) -> np.ndarray:
        out = np.zeros(v)
        for aa, n in Counter(part).items():
            out[AA_TO_INDEX[aa]] = n / len(part)
        return out

    pairs = np.zeros((v, v))
    for (a, b), n in Counter(zip(seq, seq[1:])).items():
        pairs[AA_TO_INDEX[a], AA_TO_INDEX[b]] = n / (len(seq) - 1)
    return np.concatenate(
        [comp(seq), comp(seq[:window]), comp(seq[-window:]), pairs.ravel(), [np.log(len(seq))]]
    )


def test_sequence_stats_match_counter_reference() -> None:
    config = SolubilityNetConfig(terminal_window=5)
    model = SolubilityNet(config)
    tokens, mask = _tokens(SEQS)
    got = sequence_stats(model.residue_onehot(tokens), mask, config).numpy()
    assert got.shape == (len(SEQS), stat_dim(config))
    for row, seq in enumerate(SEQS):
        np.testing.assert_allclose(got[row], _reference_stats(seq, 5), rtol=1e-5, atol=1e-6)


def test_padding_and_missing_mask_do_not_change_logits() -> None:
    torch.manual_seed(0)
    model = SolubilityNet().eval()
    tokens, mask = _tokens(SEQS)
    model.fit_standardizer(tokens, mask)
    batched = model(tokens, mask)
    for row, seq in enumerate(SEQS):
        alone, _ = _tokens([seq])
        torch.testing.assert_close(model(alone, None)[0], batched[row], rtol=1e-5, atol=1e-5)


def test_fit_standardizer_centres_and_scales_the_statistics() -> None:
    model = SolubilityNet(SolubilityNetConfig(use_dipeptides=False))
    tokens, mask = _tokens(SEQS)
    model.fit_standardizer(tokens, mask)
    raw = sequence_stats(model.residue_onehot(tokens), mask, model.config)
    z = (raw - model.stat_mean) / model.stat_std
    varying = raw.std(dim=0) > 1e-6
    torch.testing.assert_close(z.mean(dim=0), torch.zeros(raw.shape[1]), atol=1e-5, rtol=0)
    torch.testing.assert_close(z[:, varying].std(dim=0), torch.ones(int(varying.sum())), atol=1e-4, rtol=0)
    assert torch.all(model.stat_std[~varying] == 1.0)


def test_gradients_reach_trainable_layers_but_not_the_frozen_one_hot() -> None:
    model = SolubilityNet()
    tokens, mask = _tokens(SEQS)
    torch.nn.functional.cross_entropy(model(tokens, mask), torch.tensor([0, 1, 1])).backward()
    assert model.residue_onehot.weight.grad is None
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad
    )
    assert model.embedding.weight.grad.abs().sum() > 0


def test_statistics_only_variant_has_no_embedding_branch() -> None:
    model = SolubilityNet(SolubilityNetConfig(use_motifs=False, use_dipeptides=False))
    assert not hasattr(model, "embedding")
    assert model.head.in_features == 3 * VOCAB_SIZE + 1
    tokens, mask = _tokens(SEQS)
    assert model(tokens, mask).shape == (len(SEQS), 2)


@pytest.mark.parametrize(
    "bad",
    [
        {"kernel_sizes": [4]},
        {"kernel_sizes": []},
        {"dropout": 1.0},
        {"vocab_size": 30},
        {"channels": 0},
        {"num_classes": 3},
    ],
)
def test_bad_settings_raise_config_error_naming_the_setting(bad: dict) -> None:
    with pytest.raises(ConfigError, match=next(iter(bad))):
        build_model("solubility_net", bad)


def test_registry_and_checkpoint_round_trip(tmp_path) -> None:
    torch.manual_seed(1)
    model = build_model("solubility_net", {"kernel_sizes": [3, 7], "channels": 8})
    tokens, mask = _tokens(SEQS)
    model.fit_standardizer(tokens, mask)
    model.eval()
    config = model_config_dict(model)
    path = save_checkpoint(tmp_path / "net.pt", model, kind="solubility_net", model_config=config)
    raw = torch.load(path, weights_only=True)
    assert raw["kind"] == "solubility_net"
    loaded = load_checkpoint(path)
    torch.testing.assert_close(loaded.model(tokens, mask), model(tokens, mask))
    assert loaded.vocab_size == VOCAB_SIZE


def test_every_residue_letter_has_a_column() -> None:
    model = SolubilityNet(SolubilityNetConfig(use_dipeptides=False))
    tokens, mask = _tokens([AMINO_ACIDS])
    comp = sequence_stats(model.residue_onehot(tokens), mask, model.config)[0, :VOCAB_SIZE]
    assert comp[0] == 0 and comp[-1] == 0  # padding and unknown columns are empty
    torch.testing.assert_close(comp[1:-1], torch.full((20,), 1 / 20))


def test_stat_clip_clamps_standardised_statistics_before_the_head() -> None:
    torch.manual_seed(2)
    model = SolubilityNet(SolubilityNetConfig(use_motifs=False, stat_clip=1.0)).eval()
    tokens, mask = _tokens(SEQS)
    model.fit_standardizer(tokens[:2], mask[:2])  # the third sequence is then far outside the fitted range
    z = (sequence_stats(model.residue_onehot(tokens), mask, model.config) - model.stat_mean) / model.stat_std
    assert z.abs().max() > 1.0
    expected = z.clamp(-1.0, 1.0) @ model.head.weight.T + model.head.bias
    torch.testing.assert_close(model(tokens, mask), expected)


def test_count_stats_equal_sequence_stats_for_the_one_hot_and_any_table() -> None:
    torch.manual_seed(3)
    config = SolubilityNetConfig(terminal_window=4)
    tokens, mask = _tokens(SEQS)
    tokens[0, 3] = VOCAB_SIZE - 1  # an unknown residue
    identity = SolubilityNet(config).residue_onehot.weight
    for table in (identity, torch.randn(VOCAB_SIZE, VOCAB_SIZE)):
        expected = sequence_stats(torch.nn.functional.embedding(tokens, table), mask, config)
        torch.testing.assert_close(count_stats(tokens, mask, table, config), expected, rtol=1e-5, atol=1e-6)
    plain = SolubilityNetConfig(use_dipeptides=False)
    expected = sequence_stats(torch.nn.functional.embedding(tokens, identity), mask, plain)
    torch.testing.assert_close(count_stats(tokens, mask, identity, plain), expected, rtol=1e-5, atol=1e-6)


def test_embed_conv_lookup_equals_conv1d_on_the_embedded_tokens() -> None:
    torch.manual_seed(4)
    embed = torch.randn(VOCAB_SIZE, 6)  # the padding row is not zero: it must be used as it is
    convs = [torch.nn.Conv1d(6, 5, k, padding=k // 2) for k in (1, 3, 9)]
    convs.append(torch.nn.Conv1d(6, 2, 5, padding=2, bias=False))
    tokens, _ = _tokens(SEQS)
    x = torch.nn.functional.embedding(tokens, embed).transpose(1, 2)  # (B, E, L)
    expected = torch.cat([conv(x) for conv in convs], dim=1).transpose(1, 2)  # (B, L, 17)
    got = embed_conv_lookup(tokens, [(embed, c.weight, c.bias) for c in convs])
    torch.testing.assert_close(got, expected.detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "settings",
    [{}, {"mix_channels": 6, "kernel_sizes": (3, 7)}, {"use_dipeptides": False}, {"use_motifs": False}],
)
def test_inference_pass_equals_the_layers_as_written(settings: dict) -> None:
    torch.manual_seed(5)
    model = SolubilityNet(SolubilityNetConfig(stat_clip=3.0, **settings)).eval()
    tokens, mask = _tokens(SEQS)
    model.fit_standardizer(tokens[:2], mask[:2])
    for m in (mask, None):
        with torch.enable_grad():  # autograd on: the layers run as written
            expected = model(tokens if m is not None else tokens[2:], m).detach()
        with torch.inference_mode():  # the counting and lookup shortcuts
            got = model(tokens if m is not None else tokens[2:], m)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_hooks_see_every_layer_in_an_inference_pass() -> None:
    model = SolubilityNet().eval()
    seen = []
    handles = [m.register_forward_hook(lambda *_: seen.append(1)) for m in (model.embedding, *model.convs)]
    tokens, mask = _tokens(SEQS)
    with torch.no_grad():
        model(tokens, mask)
    for handle in handles:
        handle.remove()
    assert len(seen) == 1 + len(model.convs)
