"""Write the "Show me the PyTorch" prediction script for the Predict page from the student's real input."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["prediction_script", "MAX_LISTED"]

MAX_LISTED = 20  # sequences written into the prediction script


def prediction_script(model_source: str, sequences: Sequence[str], *, threshold: float = 0.5,
                      with_attribution: bool = True) -> str:
    """Return a runnable script that loads a checkpoint and predicts P(soluble) for these sequences."""
    listing = ",\n    ".join(repr(s) for s in sequences[:MAX_LISTED])
    more = f"\n    # ... {len(sequences) - MAX_LISTED:,} more sequences from your input" if len(sequences) > MAX_LISTED else ""
    attribution = ""
    if with_attribution:
        attribution = f'''
# Per-residue attribution for the first sequence: gradient x input on the embedding
contributions = predictor.attribution(sequences[0])  # (L,) contribution of each residue to P(soluble)
top = np.argsort(-np.abs(contributions))[:5]
for i in top:
    print(f"residue {{sequences[0][i]}}{{i + 1}}: {{contributions[i]:+.4f}}")
'''
    return f'''\
"""Predict solubility exactly as the ProtLab Predict page did."""
import numpy as np
import torch

from protlab.predict import Predictor

torch.set_grad_enabled(False)
predictor = {"Predictor.default()" if model_source == "default" else f"Predictor.from_checkpoint({model_source!r})"}
sequences = [
    {listing},{more}
]
THRESHOLD = {threshold!r}  # P(soluble) at or above this is called 'soluble'
p_soluble = predictor.predict(sequences)  # (N,) probabilities from the softmax of the two logits
for seq, p in zip(sequences, p_soluble):
    call = "soluble" if p >= THRESHOLD else "insoluble"
    print(f"{{seq[:20]}}... P(soluble) = {{p:.3f}} -> {{call}}")
{attribution}'''
