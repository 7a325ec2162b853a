"""Write the Predict page's "Show me the PyTorch" script: templates/predict_script.py with the page's input.

The template is a complete plain-PyTorch prediction script (checkpoint loading, the model classes, encoding,
prediction and attribution); this module only writes its settings: the checkpoint, the proteins as FASTA, the
threshold, the model's training share of soluble proteins and the share the student expects (the page's prior
adjustment, protlab.predict.adjust_for_prior), and whether to explain the first protein.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from protlab.codegen.script_template import Code, fill_settings, read_template

__all__ = ["MAX_LISTED", "prediction_script"]

MAX_LISTED = 20  # proteins written into the prediction script
FASTA_WIDTH = 60  # residues per FASTA line
DEFAULT_CHECKPOINT = "assets/models/default.pt"  # the bundled model, relative to the ProtLab folder
_PLAIN_ID = re.compile(r'[^\s"\\>]{1,60}')  # ids written as they are; others become seq1, seq2, ...


def _fasta(sequences: Sequence[str], ids: Sequence[str] | None) -> Code:
    """The first MAX_LISTED proteins as a FASTA string literal (a comment says how many were left out)."""
    records = []
    for number, sequence in enumerate(sequences[:MAX_LISTED], start=1):
        name = ids[number - 1] if ids is not None and number <= len(ids) else ""
        name = name if _PLAIN_ID.fullmatch(name) else f"seq{number}"
        lines = [sequence[i : i + FASTA_WIDTH] for i in range(0, len(sequence), FASTA_WIDTH)]
        records.append("\n".join([f">{name}", *lines]))
    more = (
        f"  # the first {MAX_LISTED} of your {len(sequences):,} proteins"
        if len(sequences) > MAX_LISTED
        else ""
    )
    return Code('"""\n' + "\n".join(records) + '\n"""' + more)


def prediction_script(
    model_source: str,
    sequences: Sequence[str],
    *,
    threshold: float = 0.5,
    with_attribution: bool = True,
    ids: Sequence[str] | None = None,
    prior: float | None = None,
    train_prior: float | None = None,
) -> str:
    """Return a runnable plain-PyTorch script that loads the checkpoint and predicts P(soluble) for them.

    model_source is "default" for the bundled model, else the checkpoint's path or file name; sequences are
    cleaned (uppercase letters only); ids, when given, name them in the FASTA block. prior is the expected
    soluble share the page adjusts P(soluble) to (None: no adjustment) from train_prior, the share the model
    learned under (Predictor.training_prior; None: the bundled data's share).
    """
    from protlab.predict import BUNDLED_PRIOR, PRIOR_RULE  # the page's rule for both shares

    train_prior = BUNDLED_PRIOR if train_prior is None else PRIOR_RULE.check(train_prior, "train_prior")
    prior = None if prior is None else PRIOR_RULE.check(prior, "prior")
    checkpoint = DEFAULT_CHECKPOINT if model_source == "default" else str(model_source)
    return fill_settings(
        read_template("predict_script.py"),
        {
            "CHECKPOINT": checkpoint,
            "FASTA": _fasta(sequences, ids),
            "THRESHOLD": float(threshold),
            "TRAIN_PRIOR": float(train_prior),
            "PRIOR": None if prior is None else float(prior),
            "ATTRIBUTION": bool(with_attribution and len(sequences) > 0),
        },
    )
