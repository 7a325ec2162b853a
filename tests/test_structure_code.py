"""The lesson's plain-PyTorch script runs, and its model, loss and Q3 agree with ProtLab's own."""

from __future__ import annotations

import contextlib
import io

import torch

from protlab.data import make_batch
from protlab.structure import (
    ResidueCNN,
    ResidueCNNConfig,
    ResidueData,
    masked_cross_entropy,
    residue_metrics,
    structure_code,
    tokenize_structure,
)

CONFIG = ResidueCNNConfig(embed_dim=8, channels=12, kernel_size=3, dilations=[1, 2], dropout=0.0)


def _run(config: ResidueCNNConfig) -> tuple[dict, str]:
    """Execute the generated script; return its namespace and what it printed."""
    namespace: dict = {"__name__": "lesson"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(structure_code(config), "structure_lesson.py", "exec"), namespace)  # noqa: S102
    return namespace, printed.getvalue()


def test_the_script_runs_and_reports_the_per_residue_shapes():
    _, printed = _run(ResidueCNNConfig())
    assert "tokens (2, 17) -> logits (2, 17, 3)" in printed
    assert "scored residues: 31 of 34 positions" in printed  # 17 + 16 residues, 2 unresolved, 1 padding
    assert "loss" in printed and "Q3" in printed


def test_the_script_matches_protlab_model_loss_and_q3():
    namespace, _ = _run(CONFIG)
    ours = ResidueCNN(CONFIG).eval()
    theirs = namespace["PerResidueCNN"]().eval()
    theirs.load_state_dict(ours.state_dict())  # same parameter names and shapes
    data = ResidueData(
        ["a", "b"],
        ["MKTAYIAKQRQISFVKSH", "GWVLAX"],
        ["CHHHHHHHHEEECCCCCC", "CEEEEC"],
        ["111111111111111110", "011111"],
    )
    batch = make_batch(tokenize_structure(data), torch.arange(2).numpy())
    tokens, mask, labels = namespace["encode_batch"](data.sequences, data.ss3, data.resolved)
    assert torch.equal(tokens, batch.tokens) and torch.equal(labels, batch.labels)
    logits = ours(batch.tokens, batch.mask)
    torch.testing.assert_close(theirs(tokens, mask), logits)
    loss = namespace["masked_loss"](logits, labels)
    torch.testing.assert_close(loss, masked_cross_entropy(logits, batch.labels))
    q3 = residue_metrics(batch.labels.numpy(), logits.argmax(-1).numpy())["q3"]
    assert abs(namespace["q3"](logits, labels) - q3) < 1e-12


def test_the_exercise_mlp_script_matches_protlab_residue_mlp():
    from protlab.structure import ResidueMLP, ResidueMLPConfig

    config = ResidueMLPConfig(hidden_dim=16, dropout=0.0)
    namespace, printed = _run(config)
    assert "tokens (2, 17) -> logits (2, 17, 3)" in printed
    ours = ResidueMLP(config).eval()
    theirs = namespace["PerResidueMLP"]().eval()
    theirs.load_state_dict(ours.state_dict())  # same parameter names and shapes
    tokens, mask, _ = namespace["encode_batch"](["MKTAYIAKQRQX", "GWVL"])
    torch.testing.assert_close(theirs(tokens, mask), ours(tokens, mask))
