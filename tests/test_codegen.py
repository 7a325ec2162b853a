"""Generated 'Show me the PyTorch' code runs and reproduces the numbers the pages show."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import numpy as np
import pytest
import torch
from Bio.Data.IUPACData import protein_letters  # an independent copy of the one-letter alphabet

from protlab.codegen import (
    batch_code,
    descent_code,
    encode_code,
    linear_check_code,
    module_code,
    polynomial_code,
    sequential_code,
    tm_step_code,
)
from protlab.data import one_hot, pad_batch
from protlab.lessons import (
    SURFACES,
    OptimizerSpec,
    Trajectory,
    linear_gradient_check,
    polynomial_gradient,
    tm_one_step,
)
from protlab.models import LayerSpec, MLPConfig, build_mlp, mlp_parameter_count


def run(code: str) -> tuple[dict, str]:
    """Execute generated code in a fresh namespace; return its globals and what it printed."""
    namespace: dict = {"__name__": "generated"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<generated>", "exec"), namespace)  # noqa: S102 - running generated code is the test
    return namespace, out.getvalue()


def test_encode_code_gives_the_notes_code_indices_not_the_misprint():
    ns, printed = run(encode_code("MVLSPAD"))
    notes_dict = {aa: i + 1 for i, aa in enumerate(protein_letters)}
    expected = [notes_dict[aa] for aa in "MVLSPAD"]
    assert ns["indices"] == expected == [11, 18, 10, 16, 13, 1, 3]
    assert "(7,)" in printed and "(7, 20)" in printed and "(1, 7, 20)" in printed
    assert torch.equal(ns["one_hot"], one_hot("MVLSPAD"))


def test_encode_code_handles_ambiguous_letters_like_protlab():
    ns, _ = run(encode_code("MXB"))
    assert ns["indices"] == [11, 21, 21]
    assert torch.equal(ns["one_hot"], one_hot("MXB"))


def test_batch_code_matches_pad_batch():
    seqs = ["MVLSPAD", "MK", "ACDEFGHIKLX"[:5] + "X"]
    ns, printed = run(batch_code(seqs))
    tokens, mask = pad_batch(seqs)
    assert torch.equal(ns["tokens"], tokens) and torch.equal(ns["mask"], mask)
    assert "True" in printed


@pytest.mark.parametrize("key", ["tm_mse", "himmelblau", "valley"])
def test_descent_code_reproduces_the_page_paths(key):
    surface = SURFACES[key]
    specs = [OptimizerSpec(kind, surface.suggested_lr(kind)) for kind in ("sgd", "momentum", "adam")]
    ns, printed = run(descent_code(surface, specs, surface.start, 25))
    for spec in specs:
        traj = Trajectory(surface, spec, surface.start)
        traj.step(25)
        point, loss = ns["results"][spec.label]
        assert np.allclose(point, [traj.last.p1, traj.last.p2], rtol=1e-9, atol=1e-9)
        assert loss == pytest.approx(traj.last.loss, rel=1e-9)
        assert spec.label in printed


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_descent_code_builds_the_same_torch_optimizer_as_the_page(kind):
    spec = OptimizerSpec(kind, 0.07, momentum=0.6, betas=(0.85, 0.95))
    ns, _ = run(descent_code(SURFACES["bowl"], [spec], (1.0, 1.0), 1))
    page = Trajectory(SURFACES["bowl"], spec, (1.0, 1.0)).optimizer
    generated = ns["optimizer"]
    assert type(generated).__name__ == page.class_name
    assert [{k: v for k, v in g.items() if k != "params"} for g in generated.param_groups] == [page.group]


def test_descent_code_reports_divergence():
    _, printed = run(descent_code(SURFACES["bowl"], [OptimizerSpec("sgd", 1e150)], (1.0, 1.0), 20))
    assert "diverged" in printed


def test_autograd_snippets_reproduce_the_page_numbers():
    ns, _ = run(polynomial_code([2.0, 3.0]))
    assert ns["x"].grad.tolist() == polynomial_gradient((2.0, 3.0)).autograd
    check = linear_gradient_check(10, 4)
    ns, _ = run(linear_check_code(10, 4))
    assert float(ns["W"].grad) == pytest.approx(check.grad_w_autograd, rel=1e-12)
    assert float(ns["grad_b_hand"]) == pytest.approx(check.grad_b_hand, rel=1e-12)
    step = tm_one_step(lr=0.02, seed=0)
    ns, _ = run(tm_step_code(step.n_proteins, step.n_features, step.lr, 0))
    assert float(ns["loss"].detach()) == pytest.approx(step.loss_before, rel=1e-6)
    assert float(ns["loss_new"]) == pytest.approx(step.loss_after, rel=1e-6)


CONFIGS = [
    MLPConfig(20, [LayerSpec(64)], 2),
    MLPConfig(20, [LayerSpec(128), LayerSpec(64), LayerSpec(32)], 4),
    MLPConfig(20, [], 2),
    MLPConfig(
        7,
        [
            LayerSpec(16, "gelu", 0.2, "layernorm"),
            LayerSpec(8, "swish", 0.0, "batchnorm"),
            LayerSpec(5, "leaky_relu", 0.1, None),
            LayerSpec(3, "tanh"),
            LayerSpec(4, "sigmoid"),
        ],
        3,
        "softmax",
    ),
    MLPConfig(10, [LayerSpec(6, "silu")], 1, "sigmoid"),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_sequential_code_builds_the_same_network(config):
    ns, printed = run(sequential_code(config))
    reference = build_mlp(config)
    model = ns["model"]
    assert [type(m) for m in model] == [type(m) for m in reference]
    model.load_state_dict(reference.state_dict())  # same layout, so the weights transfer one to one
    model.eval(), reference.eval()
    x = torch.randn(32, config.input_dim)
    assert torch.allclose(model(x), reference(x))
    assert f"{mlp_parameter_count(config):,}" in printed


@pytest.mark.parametrize("config", CONFIGS)
def test_module_code_has_the_same_parameter_count(config):
    ns, _ = run(module_code(config))
    model = ns["model"]
    reference = build_mlp(config)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    assert tuple(model(torch.randn(32, config.input_dim)).shape) == (32, config.num_classes)


def test_module_code_runs_as_a_standalone_script():
    code = module_code(MLPConfig(20, [LayerSpec(128), LayerSpec(64), LayerSpec(32)], 4))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert "Total parameters: 13,156" in out.stdout  # 20*128+128 + 128*64+64 + 64*32+32 + 32*4+4
