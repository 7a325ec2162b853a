"""'Show me the PyTorch': runnable code generated from the exact settings a student chose on a page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from protlab.alphabet import AMINO_ACIDS, UNKNOWN_INDEX
from protlab.lessons.landscape import OptimizerSpec, Surface, tm_dataset
from protlab.models.mlp import ACTIVATIONS, NORMS
from protlab.training.step import optimizer_code


def _alphabet_lines() -> list[str]:
    """Return the notes' index dictionary, extended with the unknown token."""
    return [
        (
            "# 20 standard amino acids -> indices 1-20; 0 is padding; ambiguous letters (X, B, ...) -> "
            f"{UNKNOWN_INDEX}"
        ),
        f'AA_TO_IDX = {{aa: i + 1 for i, aa in enumerate("{AMINO_ACIDS}")}}',
        f"UNKNOWN = {UNKNOWN_INDEX}",
    ]


def encode_code(sequence: str) -> str:
    """Return code that turns one sequence into indices, a one-hot matrix and a batch of one."""
    lines = [
        "import torch",
        "",
        *_alphabet_lines(),
        "",
        f"sequence = {sequence!r}",
        "indices = [AA_TO_IDX.get(aa, UNKNOWN) for aa in sequence]",
        'print(f"Integer indices: {indices}")',
        "seq_tensor = torch.tensor(indices)  # (L,) int64",
        'print(f"Shape after integer encoding: {tuple(seq_tensor.shape)}")',
        "",
        "one_hot = torch.zeros(len(sequence), 20)  # (L, 20) float32",
        "for i, idx in enumerate(indices):",
        "    if idx != UNKNOWN:  # an unknown residue keeps an all-zero row",
        "        one_hot[i, idx - 1] = 1.0  # idx is 1-based, columns are 0-based",
        'print(f"Shape after one-hot encoding: {tuple(one_hot.shape)}")',
        "",
        "batched = one_hot.unsqueeze(0)  # (1, L, 20): a batch holding one protein",
        'print(f"Shape with batch dimension:   {tuple(batched.shape)}")',
    ]
    return "\n".join(lines) + "\n"


def batch_code(sequences: Sequence[str]) -> str:
    """Return code that pads several sequences into a (B, Lmax) batch with its mask."""
    seq_lines = [f"    {s!r}," for s in sequences]
    lines = [
        "import torch",
        "",
        *_alphabet_lines(),
        "",
        "sequences = [",
        *seq_lines,
        "]",
        "encoded = [torch.tensor([AA_TO_IDX.get(aa, UNKNOWN) for aa in s]) for s in sequences]",
        'print("Lengths:", [len(e) for e in encoded])',
        "max_len = max(len(e) for e in encoded)",
        "tokens = torch.zeros(len(sequences), max_len, dtype=torch.long)  # (B, Lmax), 0 = padding",
        "mask = torch.zeros(len(sequences), max_len)  # (B, Lmax), 1 = real residue",
        "for row, e in enumerate(encoded):",
        "    tokens[row, : len(e)] = e",
        "    mask[row, : len(e)] = 1.0",
        'print(f"tokens: {tuple(tokens.shape)}  mask: {tuple(mask.shape)}")',
        'print("Padding positions all have mask 0:", bool((mask[tokens == 0] == 0).all()))',
    ]
    return "\n".join(lines) + "\n"


def tensor_ops_code(sequences: Sequence[str], setup: Sequence[str], line: str) -> str:
    """Return the batch code, its one-hot, then the playground's setup lines and one tensor operation."""
    lines = [
        batch_code(sequences).rstrip("\n"),
        "",
        "# one-hot of the padded batch: columns for the 20 residues (padding and unknown stay all-zero)",
        "one_hot = torch.nn.functional.one_hot(tokens, 22)[:, :, 1:21].float()  # (B, Lmax, 20)",
        *setup,
        f"result = {line}",
        'print(f"{tuple(x.shape)} -> {tuple(result.shape)}")',
        "print(result)",
    ]
    return "\n".join(lines) + "\n"


def _float_list(values: Sequence[float], per_line: int = 4) -> str:
    """Return a Python list literal of floats that round-trips exactly, wrapped a few per line."""
    items = [repr(float(v)) for v in values]
    rows = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[\n    " + ",\n    ".join(rows) + ",\n]"


def _surface_lines(surface: Surface) -> list[str]:
    """Return code defining loss(params) for one surface."""
    if surface.key == "tm_mse":
        x, tm = tm_dataset()
        return [
            "# Standardised GRAVY score (x) and melting temperature in deg C (tm) of each protein",
            f"x = torch.tensor({_float_list(x)}, dtype=torch.float64)",
            f"tm = torch.tensor({_float_list(tm)}, dtype=torch.float64)",
            "",
            "def loss_fn(params):",
            "    w, b = params[0], params[1]  # slope and intercept of the line Tm = w * x + b",
            f"    return {surface.code}  # MSE in deg C squared",
        ]
    return [
        "def loss_fn(params):",
        "    p1, p2 = params[0], params[1]",
        f"    return {surface.code}",
    ]


def descent_code(
    surface: Surface, specs: Sequence[OptimizerSpec], start: tuple[float, float], steps: int
) -> str:
    """Return code that runs each optimizer for `steps` steps from `start` and prints where it ends."""
    lines = [
        "import torch",
        "",
        *_surface_lines(surface),
        "",
        f"start = {tuple(float(v) for v in start)!r}",
        f"steps = {int(steps)}",
        "results = {}",
        "",
    ]
    for spec in specs:
        lines += [
            f"# {spec.label}",
            "params = torch.tensor(start, dtype=torch.float64, requires_grad=True)  # (2,)",
            f"optimizer = {optimizer_code('[params]', spec.optimizer, **spec.settings)}",
            "for step in range(steps):",
            "    optimizer.zero_grad()",
            "    loss = loss_fn(params)",
            "    loss.backward()  # autograd fills params.grad",
            "    optimizer.step()  # move downhill",
            "    if not torch.isfinite(params).all():",
            '        print("diverged: the learning rate is too large for this surface")',
            "        break",
            "with torch.no_grad():",
            f"    results[{spec.label!r}] = (params.tolist(), float(loss_fn(params)))",
            f"print({spec.label!r}, 'ends at', results[{spec.label!r}][0], "
            f"'loss', results[{spec.label!r}][1])",
            "",
        ]
    return "\n".join(lines)


def polynomial_code(values: Sequence[float]) -> str:
    """Return the notes' x^2 + 3x autograd example for the given x values."""
    return (
        "\n".join(
            [
                "import torch",
                "",
                f"x = torch.tensor({[float(v) for v in values]!r}, requires_grad=True)",
                "y = x ** 2 + 3 * x  # forward computation",
                "z = y.sum()  # backward() needs a scalar",
                "z.backward()",
                "print(x.grad)  # autograd",
                "print(2 * x.detach() + 3)  # by hand: dz/dx = 2x + 3",
            ]
        )
        + "\n"
    )


def linear_check_code(n: int, seed: int) -> str:
    """Return Exercise 3: MSE gradients of y = Wx + b by hand and by autograd."""
    return (
        "\n".join(
            [
                "import torch",
                "",
                f"g = torch.Generator().manual_seed({int(seed)})",
                f"x = torch.randn({int(n)}, generator=g, dtype=torch.float64)  # (n,) inputs",
                (
                    f"y = 3.0 * x + 1.0 + 0.5 * torch.randn({int(n)}, generator=g, dtype=torch.float64)"
                    "  # (n,) targets"
                ),
                "W = torch.randn(1, generator=g, dtype=torch.float64).requires_grad_()",
                "b = torch.zeros(1, dtype=torch.float64, requires_grad=True)",
                "loss = ((W * x + b - y) ** 2).mean()",
                "loss.backward()",
                "r = (W * x + b - y).detach()  # residuals",
                "n = len(x)",
                "grad_W_hand = 2 / n * (x * r).sum()  # chain rule",
                "grad_b_hand = 2 / n * r.sum()",
                'print("dL/dW autograd", W.grad.item(), "by hand", grad_W_hand.item())',
                'print("dL/db autograd", b.grad.item(), "by hand", grad_b_hand.item())',
            ]
        )
        + "\n"
    )


def tm_step_code(n_proteins: int, n_features: int, lr: float, seed: int) -> str:
    """Return the notes' Tm regression with one gradient step, seeded like the page."""
    return (
        "\n".join(
            [
                "import torch",
                "",
                f"g = torch.Generator().manual_seed({int(seed)})",
                f"X = torch.randn({int(n_proteins)}, {int(n_features)}, generator=g)  # proteins x features",
                f"y = torch.randn({int(n_proteins)}, 1, generator=g) * 10 + 60  # Tm in deg C, centred on 60",
                f"W = torch.randn({int(n_features)}, 1, generator=g).requires_grad_()",
                "b = torch.zeros(1, requires_grad=True)",
                "loss = ((X @ W + b - y) ** 2).mean()",
                "loss.backward()",
                f"lr = {float(lr)!r}",
                "with torch.no_grad():",
                "    W -= lr * W.grad",
                "    b -= lr * b.grad",
                "    loss_new = ((X @ W + b - y) ** 2).mean()",
                'print(f"Loss before update: {loss.item():.2f}")',
                'print(f"Loss after update:  {loss_new.item():.2f}")',
            ]
        )
        + "\n"
    )


# ---------------------------------------------------------------- networks


def _attr(obj: Any, name: str, default: Any = None) -> Any:
    """Read a field from a dataclass or a dict."""
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def _layer_exprs(config: Any) -> list[list[str]]:
    """Return, per block, the nn expressions of an MLP config (hidden blocks, then the output block)."""
    blocks: list[list[str]] = []
    width_in = int(_attr(config, "input_dim"))
    for spec in _attr(config, "layers"):
        width = int(_attr(spec, "width"))
        block = [f"nn.Linear({width_in}, {width})"]
        norm = _attr(spec, "norm")
        if norm is not None:
            block.append(f"nn.{NORMS[norm].__name__}({width})")
        block.append(f"nn.{ACTIVATIONS[_attr(spec, 'activation')].__name__}()")
        dropout = float(_attr(spec, "dropout") or 0.0)
        if dropout > 0:
            block.append(f"nn.Dropout({dropout!r})")
        blocks.append(block)
        width_in = width
    output = [f"nn.Linear({width_in}, {int(_attr(config, 'num_classes'))})"]
    if _attr(config, "output_activation") == "softmax":
        output.append("nn.Softmax(dim=-1)")
    elif _attr(config, "output_activation") == "sigmoid":
        output.append("nn.Sigmoid()")
    blocks.append(output)
    return blocks


def _check_lines(input_dim: int) -> list[str]:
    return [
        "",
        f"x = torch.randn(32, {input_dim})  # a batch of 32 proteins",
        "print(model(x).shape)",
        'print(f"Total parameters: {sum(p.numel() for p in model.parameters()):,}")',
    ]


def sequential_code(config: Any) -> str:
    """Return nn.Sequential code for an MLP config (LayerSpec/MLPConfig or equivalent dicts)."""
    lines = ["import torch", "import torch.nn as nn", "", "model = nn.Sequential("]
    blocks = _layer_exprs(config)
    for i, block in enumerate(blocks):
        lines.append(f"    # {'output' if i == len(blocks) - 1 else f'hidden layer {i + 1}'}")
        lines += [f"    {expr}," for expr in block]
    lines.append(")")
    return "\n".join(lines + _check_lines(int(_attr(config, "input_dim")))) + "\n"


def module_code(config: Any, class_name: str = "ProteinMLP") -> str:
    """Return an nn.Module class equivalent to sequential_code, one attribute per hidden block."""
    blocks = _layer_exprs(config)
    init, forward = [], []
    for i, block in enumerate(blocks[:-1], start=1):
        init.append(f"        self.block{i} = nn.Sequential({', '.join(block)})")
        width = _attr(_attr(config, "layers")[i - 1], "width")
        forward.append(f"        x = self.block{i}(x)  # (batch, {width})")
    init.append(f"        self.output = nn.Sequential({', '.join(blocks[-1])})")
    forward.append(f"        return self.output(x)  # (batch, {_attr(config, 'num_classes')})")
    lines = [
        "import torch",
        "import torch.nn as nn",
        "",
        "",
        f"class {class_name}(nn.Module):",
        (
            f'    """A feed-forward network: {int(_attr(config, "input_dim"))} input features -> '
            f'{int(_attr(config, "num_classes"))} classes."""'
        ),
        "",
        "    def __init__(self):",
        "        super().__init__()",
        *init,
        "",
        "    def forward(self, x):",
        f"        # x: (batch, {int(_attr(config, 'input_dim'))})",
        *forward,
        "",
        "",
        f"model = {class_name}()",
    ]
    return "\n".join(lines + _check_lines(int(_attr(config, "input_dim")))) + "\n"
