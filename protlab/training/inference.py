"""The one inference loop: a model's P(soluble) (and loss) for every row of a TokenizedSet.

Validation during training (evaluate), the recipes' ensemble step and the Predictor all call
predict_probabilities: rows are read shortest first in padded batches (bounded by rows and, when asked,
by padded tokens), the model runs in eval mode under torch.inference_mode, and the answer comes back in
the set's own row order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from protlab.data.batching import TokenizedSet, make_batch, sorted_batch_indices
from protlab.models import model_forward
from protlab.models.protocol import ProteinClassifier
from protlab.training.device import model_device

__all__ = ["Inference", "predict_probabilities"]


@dataclass
class Inference:
    """What one pass of a model over a data set gives."""

    probs: np.ndarray  # (N,) float64 P(soluble), in the set's row order
    loss: float | None  # mean cross-entropy over the rows; None unless every row has a label


@torch.inference_mode()
def predict_probabilities(
    model: ProteinClassifier,
    data: TokenizedSet,
    *,
    device: torch.device | str | None = None,
    batch_size: int = 64,
    token_budget: int | None = None,
    half_precision: bool = False,
) -> Inference:
    """P(soluble) for every row (and the mean loss when labelled), in length-sorted batches, in row order.

    device: where the batches go (default: the model's device); batch_size: most rows per forward pass;
    token_budget: most padded tokens (rows x longest length) per forward pass, None for no limit;
    half_precision: float16 autocast when the device is a GPU (ignored on the CPU).
    """
    device = torch.device(device) if device is not None else model_device(model)
    labelled = data.has_labels
    probs = np.zeros(len(data), dtype=np.float64)  # (N,)
    total = torch.zeros((), dtype=torch.float64, device=device)  # summed cross-entropy
    half = half_precision and device.type == "cuda"
    was_training = model.training
    if was_training:  # eval() walks and sets every layer: a model already in eval mode is left as it is
        model.eval()
    try:
        for rows in sorted_batch_indices(data.lengths, batch_size=batch_size, token_budget=token_budget):
            batch = make_batch(data, rows).to(device, non_blocking=True)
            with torch.autocast("cuda", dtype=torch.float16, enabled=half):
                logits = model_forward(model, batch).float()  # (B, C)
            if labelled:
                total += F.cross_entropy(logits, batch.labels, reduction="sum").double()
            probs[rows] = torch.softmax(logits, dim=1)[:, 1].double().cpu().numpy()  # (B,)
    finally:
        if was_training:
            model.train()
    return Inference(probs, float(total) / len(data) if labelled else None)
