"""Write the "Show me the PyTorch" scripts for the Train and Predict pages from the student's real settings.

The model classes are written by protlab.codegen.models and the prediction script by protlab.codegen.predict
(`prediction_script` is importable from here too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from protlab.codegen.models import cnn_code, dual_code

__all__ = ["TrainScriptSettings", "training_script"]


@dataclass(frozen=True)
class TrainScriptSettings:
    """Everything the Train page chose, as plain values the script is written from."""

    data_source: str = "bundled"  # "bundled" for DeepSol, otherwise the uploaded file's name
    sample_size: int | None = None  # rows drawn at random before splitting; None keeps every row
    split_method: str = "stratified"  # "stratified" or "homology"
    identity: float = 0.4  # homology split: sequences at least this identical share a cluster
    val_fraction: float = 0.1  # share of rows in the validation set
    test_fraction: float = 0.1  # share of rows in the test set
    model_kind: str = "cnn"  # "cnn" (sequence only) or "dual" (sequence + global features)
    model_config: Mapping[str, Any] = field(default_factory=dict)  # widths, kernel, dropout, ...
    train_config: Mapping[str, Any] = field(default_factory=dict)  # TrainConfig fields as a dict


def _merged(defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overridden by the given values (unknown keys are kept too)."""
    return {**defaults, **{k: v for k, v in given.items() if v is not None}}


def _defaults(model_kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The real defaults of TrainConfig and of the chosen model's config, so the script never drifts."""
    from protlab.models.cnn import CNNConfig
    from protlab.models.dual import DualInputConfig
    from protlab.training.config import TrainConfig

    model = DualInputConfig() if model_kind == "dual" else CNNConfig()
    return TrainConfig().to_dict(), asdict(model)


def _header(s: TrainScriptSettings) -> str:
    """Imports, seeding and device choice."""
    return f'''\
"""Train a protein-solubility classifier exactly as the ProtLab Train page did.

Run it from the ProtLab folder (it uses protlab only to read and split the data the
same way the app does); everything about the model and the training loop is plain PyTorch.
"""
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, matthews_corrcoef, precision_recall_fscore_support, roc_auc_score
from torch.utils.data import DataLoader, Dataset

from protlab.alphabet import AA_TO_INDEX, PAD_INDEX, UNKNOWN_INDEX
from protlab.data.loading import {"load_bundled" if s.data_source == "bundled" else "load_labelled"}
from protlab.data.splits import {"stratified_split" if s.split_method == "stratified" else "homology_split"}


def set_seed(seed):
    """Seed every random number generator we use, for a reproducible run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


'''


def _data(s: TrainScriptSettings, t: Mapping[str, Any]) -> str:
    """Load, sample and split the data."""
    if s.data_source == "bundled":
        load = "data, report = load_bundled()  # assets/data/deepsol.csv, validated\n"
    else:
        load = f"data, report = load_labelled({s.data_source!r})  # your uploaded file, validated\n"
    if s.split_method == "stratified":
        split = (f"split = stratified_split(labels, val_fraction={s.val_fraction!r}, "
                 f"test_fraction={s.test_fraction!r}, seed={t['seed']!r})\n")
    else:
        split = (f"# Homology-aware split: clusters of sequences >= {s.identity:.0%} identical stay in one set\n"
                 f"split = homology_split(sequences, labels, identity={s.identity!r}, "
                 f"val_fraction={s.val_fraction!r}, test_fraction={s.test_fraction!r}, seed={t['seed']!r})\n")
    sample = ""
    if s.sample_size is not None:
        sample = (f"# Use a random sample of {s.sample_size:,} rows (quick class demo)\n"
                  f"keep = np.sort(np.random.default_rng({t['seed']!r}).choice(len(sequences), "
                  f"size=min({s.sample_size!r}, len(sequences)), replace=False))\n"
                  "sequences, labels = [sequences[i] for i in keep], labels[keep]\n")
    return f'''\
# ---------------------------------------------------------------- data
set_seed({t["seed"]!r})
{load}print("\\n".join(report.summary_lines()))
sequences, labels = list(data.sequences), np.asarray(data.labels, dtype=np.int64)  # (N,) 0 insoluble / 1 soluble
{sample}{split}print(f"Train: {{len(split.train)}}, Val: {{len(split.val)}}, Test: {{len(split.test)}}")
MAX_LENGTH = {t["max_length"]!r}  # longer sequences are cut to this many residues
VOCAB_SIZE = {s.model_config.get("vocab_size", 22)!r}  # 0 padding, 1-20 residues{", 21 unknown" if s.model_config.get("vocab_size", 22) == 22 else " (unknown read as padding)"}


'''


def _dataset(s: TrainScriptSettings) -> str:
    """Dataset, per-batch padding and (for the dual model) standardised global features."""
    features = list(s.model_config.get("feature_names", []))
    unknown = "UNKNOWN_INDEX if VOCAB_SIZE > 21 else PAD_INDEX"
    code = ""
    if s.model_kind == "dual":
        code = f'''\
from protlab.data.features import features_frame

# Global features per protein, standardised with the training set's mean and standard deviation
FEATURES = {features!r}
all_features = features_frame(sequences)[FEATURES].to_numpy(np.float32)  # (N, F)
mean, std = all_features[split.train].mean(0), all_features[split.train].std(0)  # (F,), (F,)
std = np.where(std > 1e-8, std, 1.0)  # a constant feature is left unscaled
all_features = (all_features - mean) / std


'''
    return f'''\
class ProteinDataset(Dataset):
    """Integer-encoded sequences (and labels) looked up by index."""

    def __init__(self, rows, features=None):
        self.rows = list(rows)
        self.features = features

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        row = self.rows[i]
        tokens = [AA_TO_INDEX.get(aa, {unknown}) for aa in sequences[row][:MAX_LENGTH]]
        item = {{"sequence": torch.tensor(tokens, dtype=torch.long), "label": int(labels[row])}}
        if self.features is not None:
            item["features"] = torch.from_numpy(self.features[row])
        return item


def collate_proteins(batch):
    """Pad each batch only to its own longest sequence and build the mask."""
    max_len = max(len(item["sequence"]) for item in batch)
    tokens = torch.full((len(batch), max_len), PAD_INDEX, dtype=torch.long)  # (B, L) int64
    mask = torch.zeros(len(batch), max_len)                                   # (B, L) float32
    for i, item in enumerate(batch):
        tokens[i, : len(item["sequence"])] = item["sequence"]
        mask[i, : len(item["sequence"])] = 1.0
    out = {{"sequence": tokens, "mask": mask, "label": torch.tensor([item["label"] for item in batch])}}
    if "features" in batch[0]:
        out["features"] = torch.stack([item["features"] for item in batch])  # (B, F) float32
    return out


{code}'''


def _optimizer(t: Mapping[str, Any]) -> str:
    """The chosen optimizer, learning-rate schedule and loss (weights, smoothing)."""
    lr, wd = t["lr"], t["weight_decay"]
    make = {
        "adam": f"torch.optim.Adam(model.parameters(), lr={lr!r}, weight_decay={wd!r})",
        "adamw": f"torch.optim.AdamW(model.parameters(), lr={lr!r}, weight_decay={wd!r})",
        "sgd": f"torch.optim.SGD(model.parameters(), lr={lr!r}, weight_decay={wd!r})",
        "sgd_momentum": f"torch.optim.SGD(model.parameters(), lr={lr!r}, momentum={t['momentum']!r}, "
                        f"weight_decay={wd!r})",
    }[t["optimizer"]]
    if t["scheduler"] == "plateau":
        sched = (f"# Halve-style schedule: multiply the lr by {t['plateau_factor']} after "
                 f"{t['plateau_patience']} epoch(s) without a lower validation loss\n"
                 f"scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=\"min\", "
                 f"factor={t['plateau_factor']!r}, patience={t['plateau_patience']!r})  # stepped once per epoch\n")
    elif t["scheduler"] == "warmup":
        sched = (f"# Linear warm-up from lr x 1e-4 to lr over the first {t['warmup_steps']:,} optimizer steps, "
                 "then constant\n"
                 f"scheduler = torch.optim.lr_scheduler.LambdaLR(\n"
                 f"    optimizer, lambda step: 1e-4 + (1 - 1e-4) * min(step / {t['warmup_steps']!r}, 1.0))"
                 "  # stepped once per optimizer step\n")
    else:
        sched = "scheduler = None  # constant learning rate\n"
    weight = "None"
    if t["class_weighting"] == "balanced":
        weight = ("torch.tensor(len(split.train) / (2.0 * np.maximum(np.bincount(labels[split.train], minlength=2), 1)), "
                  "dtype=torch.float32, device=device)  # rarer class counts more")
    device = "'cuda' if torch.cuda.is_available() else 'cpu'" if t["device"] == "auto" else repr(t["device"])
    return f"""\
device = torch.device({device})
model = model.to(device)
print(f"Model parameters: {{sum(p.numel() for p in model.parameters()):,}}")
class_weight = {weight}
criterion = nn.CrossEntropyLoss(weight=class_weight, label_smoothing={t["label_smoothing"]!r})
optimizer = {make}
{sched}"""


def _train_loop(s: TrainScriptSettings, t: Mapping[str, Any]) -> str:
    """Loaders, mixed precision and the one-epoch training function (accumulation, clipping)."""
    feats = "all_features" if s.model_kind == "dual" else "None"
    call = 'model(b["sequence"], b["features"], b["mask"])' if s.model_kind == "dual" else 'model(b["sequence"], b["mask"])'
    clip = ""
    if t["grad_clip"]:
        clip = ("            scaler.unscale_(optimizer)\n"
                f"            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm={t['grad_clip']!r})\n")
    warm = "            scheduler.step()\n" if t["scheduler"] == "warmup" else ""
    return f"""\
train_loader = DataLoader(ProteinDataset(split.train, {feats}), batch_size={t["batch_size"]!r}, shuffle=True,
                          collate_fn=collate_proteins)
val_loader = DataLoader(ProteinDataset(split.val, {feats}), batch_size={t["eval_batch_size"]!r}, collate_fn=collate_proteins)
test_loader = DataLoader(ProteinDataset(split.test, {feats}), batch_size={t["eval_batch_size"]!r}, collate_fn=collate_proteins)
ACCUM = {t["grad_accum_steps"]!r}  # mini-batches whose gradients add up before one optimizer step
USE_AMP = {bool(t["mixed_precision"])!r} and device.type == "cuda"  # mixed precision only on a GPU
AMP_DTYPE = torch.bfloat16 if USE_AMP and torch.cuda.is_bf16_supported() else torch.float16
scaler = torch.amp.GradScaler("cuda", enabled=USE_AMP and AMP_DTYPE == torch.float16)  # fp16 needs loss scaling


def to_device(b):
    \"\"\"Move every tensor of a batch to the model's device.\"\"\"
    return {{k: v.to(device) for k, v in b.items()}}


def train_one_epoch():
    \"\"\"One pass over the training set: forward, loss, backward and, every ACCUM batches, one step.\"\"\"
    model.train()
    total, n = 0.0, 0
    optimizer.zero_grad()
    for i, b in enumerate(train_loader):
        b = to_device(b)
        with torch.autocast(device.type, dtype=AMP_DTYPE, enabled=USE_AMP):
            logits = {call}  # (B, 2)
        loss = criterion(logits.float(), b["label"])
        if not torch.isfinite(loss):
            raise RuntimeError(f"The loss became {{loss.item()}} at batch {{i + 1}}: lower the learning rate.")
        group_start = (i // ACCUM) * ACCUM
        group_size = min(ACCUM, len(train_loader) - group_start)  # the last group may be shorter
        scaler.scale(loss / group_size).backward()  # gradients add up over the group
        if i + 1 - group_start == group_size:
{clip}            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()
{warm}        total += loss.item() * len(b["label"])
        n += len(b["label"])
    return total / n  # mean loss per training sequence


"""


def _eval_loop(t: Mapping[str, Any], call: str) -> str:
    """Evaluation and the epoch loop with scheduling and early stopping."""
    plateau = "    scheduler.step(val_loss)\n" if t["scheduler"] == "plateau" else ""
    stop = (f"    if bad_epochs >= {t['patience']!r}:\n        print(f\"Early stopping at epoch {{epoch}}\")\n"
            "        break\n") if t["patience"] else "    # patience 0: no early stopping\n"
    return f"""\
@torch.no_grad()
def evaluate(loader):
    \"\"\"Mean cross-entropy per sequence, true labels and P(soluble) on a held-out set.\"\"\"
    model.eval()
    total, ys, ps = 0.0, [], []
    for b in loader:
        b = to_device(b)
        logits = {call}.float()  # (B, 2)
        total += F.cross_entropy(logits, b["label"], reduction="sum").item()
        ys.append(b["label"].cpu())
        ps.append(F.softmax(logits, dim=-1)[:, 1].cpu())  # P(soluble)
    y, p = torch.cat(ys).numpy(), torch.cat(ps).numpy()
    return total / len(y), y, p


# ---------------------------------------------------------------- training with early stopping
best_val, best_state, bad_epochs = float("inf"), None, 0
for epoch in range(1, {t["epochs"]!r} + 1):
    train_loss = train_one_epoch()
    val_loss, y_val, p_val = evaluate(val_loader)
{plateau}    auc = roc_auc_score(y_val, p_val) if len(set(y_val)) == 2 else float("nan")
    print(f"Epoch {{epoch:3d}} | train_loss={{train_loss:.4f}} | val_loss={{val_loss:.4f}} | "
          f"val_auc={{auc:.3f}} | lr={{optimizer.param_groups[0]['lr']:.2e}}")
    if val_loss < best_val:  # keep a copy of the best weights so far
        best_val, bad_epochs = val_loss, 0
        best_state = {{k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
    else:
        bad_epochs += 1
{stop}
"""


def _evaluation() -> str:
    """Restore the best weights, then test-set metrics beside the majority-class baseline."""
    return """\
# ---------------------------------------------------------------- test-set evaluation
model.load_state_dict(best_state)
torch.save(model.state_dict(), "best_model.pt")
_, y_test, p_test = evaluate(test_loader)
pred = (p_test >= 0.5).astype(int)  # threshold 0.5
precision, recall, f1, _ = precision_recall_fscore_support(y_test, pred, average="binary", zero_division=0)
majority = int(np.bincount(labels[split.train], minlength=2).argmax())  # most common class in training
print(f"Accuracy:  {accuracy_score(y_test, pred):.4f}   (always predicting {majority}: {np.mean(y_test == majority):.4f})")
print(f"Precision: {precision:.4f}")
print(f"Recall:    {recall:.4f}")
print(f"F1 Score:  {f1:.4f}")
print(f"AUC-ROC:   {roc_auc_score(y_test, p_test) if len(set(y_test)) == 2 else float('nan'):.4f}   (chance: 0.5)")
print(f"MCC:       {matthews_corrcoef(y_test, pred):.4f}   (chance: 0)")
"""


def training_script(settings: TrainScriptSettings) -> str:
    """Return a runnable PyTorch script that repeats the Train page's run with these settings."""
    train_defaults, model_defaults = _defaults(settings.model_kind)
    t = _merged(train_defaults, settings.train_config)
    c = _merged(model_defaults, settings.model_config)
    settings = TrainScriptSettings(**{**settings.__dict__, "model_config": c, "train_config": t})
    model = dual_code(c) if settings.model_kind == "dual" else cnn_code(c)
    call = 'model(b["sequence"], b["features"], b["mask"])' if settings.model_kind == "dual" \
        else 'model(b["sequence"], b["mask"])'
    return (_header(settings) + _data(settings, t) + _dataset(settings) + model + _optimizer(t)
            + _train_loop(settings, t) + _eval_loop(t, call) + _evaluation())

