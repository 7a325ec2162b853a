"""Per-residue models train through the one training loop: (B, L, C) loss, Q3 validation, class weights."""

from __future__ import annotations

import numpy as np
import torch

from protlab.alphabet import AMINO_ACIDS
from protlab.structure import ResidueCNN, ResidueCNNConfig, ResidueData, majority_q3, tokenize_structure
from protlab.training import TrainConfig, train_model
from tests.conftest import random_proteins

# a rule learnable from the residue itself: the first 7 letters helix, the next 7 strand, the rest coil
_RULE = {aa: "HEC"[min(i // 7, 2)] for i, aa in enumerate(AMINO_ACIDS)}


def _rule_data(n: int, seed: int) -> ResidueData:
    seqs = random_proteins(n, (10, 40), seed=seed)
    return ResidueData(
        [f"p{i}" for i in range(n)],
        seqs,
        ["".join(_RULE[a] for a in s) for s in seqs],
        ["1" * len(s) for s in seqs],
    )


def test_train_model_learns_a_per_residue_rule_and_reports_q3():
    torch.manual_seed(0)
    train, val = tokenize_structure(_rule_data(48, seed=1)), tokenize_structure(_rule_data(16, seed=2))
    model = ResidueCNN(ResidueCNNConfig(embed_dim=8, channels=16, kernel_size=3, dilations=[1], dropout=0.0))
    config = TrainConfig(
        optimizer="adam",
        lr=1e-2,
        batch_size=8,
        epochs=6,
        patience=0,
        seed=0,
        device="cpu",
        class_weighting="balanced",
    )  # weights over the 3 states of scored residues
    result = train_model(model, train, val, config)
    q3s = [event.val_metrics["q3"] for event in result.history]
    baseline = majority_q3(train.residue_labels[:-1], val.residue_labels[:-1])["q3"]
    assert (
        result.best_metrics["q3"] > 0.9 > baseline + 0.3
    )  # well above always predicting the commonest state
    assert q3s[-1] > q3s[0] or q3s[0] > 0.9
    assert {"val_q3", "val_precision_H", "val_recall_E", "val_cm_C_C"} <= set(result.history[-1].to_row())
    assert np.isfinite([event.val_loss for event in result.history]).all()
