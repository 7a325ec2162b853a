"""Per-residue prediction: secondary structure (helix H, strand E, coil C) for every residue of a protein.

The data (CB513 to train and validate, TS115 to test), a 1-D CNN whose output keeps the sequence length,
the masked loss and Q3 metrics, per-residue inference and prediction for typed sequences. Training goes
through protlab.training.train_model like every other model: per-residue labels travel in the
TokenizedSet (residue_labels), so batches carry (B, L) labels with IGNORE_INDEX where nothing is scored.
This package never imports protlab.training (the training loop imports it for per-residue validation).
"""

from __future__ import annotations

from protlab.lazy import lazy_exports

# module (under this package) -> the public names it defines; each module is imported on first use
_EXPORTS: dict[str, tuple[str, ...]] = {
    "code": ("structure_code",),
    "data": (
        "RELATED_TEST_IDS",
        "SS3_CLASSES",
        "SS3_NAMES",
        "STRUCTURE_DATA_DIR",
        "ResidueData",
        "load_bundled_structure",
        "load_structure_csv",
        "residue_labels",
        "structure_split",
        "tokenize_structure",
    ),
    "inference": ("ResidueInference", "evaluate_residues", "predict_residues"),
    "metrics": (
        "confusion_hec",
        "majority_q3",
        "masked_cross_entropy",
        "q3",
        "residue_metrics",
        "scored_pairs",
    ),
    "model": ("ResidueCNN", "ResidueCNNConfig", "layer_shapes", "receptive_field"),
    "mlp": ("ResidueMLP", "ResidueMLPConfig", "residue_one_hot"),
    "predict": ("DEFAULT_STRUCTURE_MODEL", "StructurePrediction", "StructurePredictor"),
    "task": (
        "DEFAULT_VAL_FRACTION",
        "STRUCTURE_TASK",
        "prepare_structure",
        "score_structure",
        "structure_predictions",
        "structure_task_data",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]  # the lazy table is the API
