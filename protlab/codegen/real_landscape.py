"""'Show me the PyTorch' for the real network's loss landscape: the slice, then an optimizer on it."""

from __future__ import annotations

from protlab.lessons.real_landscape import PATH_FILL

_OPTIMIZERS = {
    "sgd": "torch.optim.SGD([ab], lr={lr!r})",
    "momentum": "torch.optim.SGD([ab], lr={lr!r}, momentum={momentum!r})",
    "adam": "torch.optim.Adam([ab], lr={lr!r})",
}


def _random_directions(seed: int) -> list[str]:
    """Lines that draw the two random filter-normalised directions."""
    return [
        "# two random directions, each filter scaled to the norm of the same filter of θ* (Li et al., 2018)",
        f"g = torch.Generator().manual_seed({int(seed)})",
        "delta, eta = {}, {}",
        "for name, w in theta.items():",
        "    for d in (delta, eta):",
        "        if w.dim() <= 1:  # biases are not moved",
        "            d[name] = torch.zeros_like(w)",
        "            continue",
        "        r = torch.randn(w.shape, generator=g)",
        "        scale = w.reshape(len(w), -1).norm(dim=1) / (r.reshape(len(r), -1).norm(dim=1) + 1e-10)",
        "        d[name] = r * scale.reshape(-1, *[1] * (w.dim() - 1))",
        "",
    ]


_PATH_DIRECTIONS = [
    "# the two directions training moved in most: PCA of the kept epochs (Li et al., 2018, section 7)",
    "import glob",
    "",
    "kept = [torch.load(f) for f in sorted(glob.glob('epochs/*.pt'))]  # the run folder's epochs/",
    "names = list(theta)",
    "centre = torch.cat([theta[n].reshape(-1) for n in names]).double()",
    "offsets = torch.stack([torch.cat([w[n].reshape(-1) for n in names]).double() - centre for w in kept])",
    "_, _, vh = torch.linalg.svd(offsets, full_matrices=False)  # rows: principal directions",
    "pieces = []",
    "for axis in vh[:2]:",
    f"    axis = axis * (offsets @ axis).abs().max() / {PATH_FILL!r}  # the path reaches ±{PATH_FILL!r}",
    "    parts = torch.split(axis.float(), [theta[n].numel() for n in names])",
    "    pieces.append({n: part.reshape(theta[n].shape) for n, part in zip(names, parts)})",
    "delta, eta = pieces",
    "",
]


def slice_code(
    checkpoint: str,
    member: int | None,
    n_proteins: int,
    grid: int,
    span: float,
    seed: int,
    optimizer: str = "sgd",
    lr: float = 0.01,
    momentum: float = 0.9,
    start: tuple[float, float] = (-0.8, 0.7),
    directions: str = "random",
) -> str:
    """Return runnable code that computes the slice as the page did and steps one optimizer on (α, β)."""
    pick = f".members[{int(member)}]  # the ensemble's CNN member" if member is not None else ""
    make_optimizer = _OPTIMIZERS[optimizer].format(lr=float(lr), momentum=float(momentum))
    lines = [
        "import numpy as np",
        "import torch",
        "import torch.nn.functional as F",
        "from torch.func import functional_call",
        "",
        "from protlab.data import load_bundled",
        "from protlab.lessons import sample_batches",
        "from protlab.models import load_checkpoint",
        "",
        f"model = load_checkpoint({checkpoint!r}).model{pick}",
        "model.eval()  # no dropout: the loss is a fixed function of the weights",
        "data, _ = load_bundled()",
        f"batches = sample_batches(model, data, {int(n_proteins)}, {int(seed)})  # the fixed sample, padded",
        "theta = {n: p.detach().clone() for n, p in model.named_parameters()}  # the trained weights θ*",
        "",
        *(_PATH_DIRECTIONS if directions == "path" else _random_directions(seed)),
        "",
        "def slice_loss(a, b):",
        '    """Mean cross-entropy of θ* + a·δ + b·η on the sample (a, b: numbers or 0-d tensors)."""',
        "    params = {n: theta[n] + a * delta[n] + b * eta[n] for n in theta}",
        "    total = 0.0",
        "    for x in batches:",
        "        logits = functional_call(model, params, (x.tokens, x.mask))  # (B, 2)",
        "        total = total + F.cross_entropy(logits, x.labels, reduction='sum')",
        "    return total / sum(len(x) for x in batches)",
        "",
        "",
        f"alphas = np.linspace({-float(span)!r}, {float(span)!r}, {int(grid)})",
        "with torch.no_grad():",
        "    losses = np.array([[float(slice_loss(a, b)) for a in alphas] for b in alphas])  # rows: β",
        "print('loss at θ*:', float(slice_loss(0.0, 0.0)))",
        "",
        "# an optimizer on the slice: two parameters (α, β), the gradient by autograd through the network",
        f"ab = torch.tensor([{float(start[0])!r}, {float(start[1])!r}], requires_grad=True)",
        f"opt = {make_optimizer}",
        "for step in range(20):",
        "    opt.zero_grad()",
        "    loss = slice_loss(ab[0], ab[1])",
        "    loss.backward()",
        "    opt.step()",
        "    print(step, ab.tolist(), loss.item())",
    ]
    return "\n".join(lines) + "\n"
