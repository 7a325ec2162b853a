"""Train a protein-solubility classifier in plain PyTorch, as ProtLab's Train page does.

Everything about the model and its training is written out below: the tokens,
length-bucketed batches, the model class, optimizer, learning-rate schedule, gradient
accumulation and clipping, early stopping and the scikit-learn metrics. ProtLab is used
only to read and split the data the way the app does, so run this file from the ProtLab
folder.

On a CPU, with the same settings and seed, this script repeats the Train page's run:
the same split, starting weights, batch order and dropout masks. The losses per epoch
agree with the app's to about six decimals, or about three when bfloat16 arithmetic is
on (CPU_BF16 on a CPU that has it): the app computes the first layer with an equivalent
but faster lookup, which rounds differently. On a GPU the runs drift further apart.
"""

import math
import random

import numpy as np
import torch
import torch.nn.functional as F
from Bio.SeqUtils.ProtParam import ProteinAnalysis
from sklearn import metrics
from torch import nn

from protlab.alphabet import AMINO_ACIDS
from protlab.data import homology_split, load_bundled, load_labelled, stratified_split

# ============================================================================= settings
DATA = "bundled"  # "bundled" (DeepSol, shipped with ProtLab) or your CSV or FASTA file
LABEL_CUTOFF = None  # measured labels (solubility in %): soluble at or above this
SAMPLE_SIZE = None  # train on this many proteins drawn at random; None: all of them
SPLIT = "stratified"  # "stratified" (the notes) or "homology" (relatives stay together)
IDENTITY = 0.4  # homology split: proteins at least this identical share a set
VAL_FRACTION = 0.1  # share of proteins in the validation set
TEST_FRACTION = 0.1  # share of proteins in the test set
MODEL = "cnn"  # "cnn" (SolubilityCNN) or "dual" (DualInputModel: + global features)
# the model's settings, passed to its class below
# (vocab_size 21: the notes' tokens; 22: one more token, for unknown residues)
MODEL_CONFIG = {
    "vocab_size": 21,
    "embed_dim": 64,
    "hidden_dim": 128,
    "kernel_size": 5,
    "num_layers": 2,
    "dropout": 0.3,
    "num_classes": 2,
}
OPTIMIZER = torch.optim.Adam  # the optimizer class; below, its settings (lr: step size)
OPTIMIZER_OPTIONS = {"lr": 0.001, "weight_decay": 0.0}
BATCH_SIZE = 32  # proteins per mini-batch
EPOCHS = 20  # passes over the training set
PATIENCE = 5  # stop after this many epochs without a lower validation loss (0: never)
SCHEDULER = "plateau"  # "plateau" (lower the lr when stuck), "warmup" or "none"
PLATEAU_FACTOR = 0.5  # plateau: multiply the learning rate by this ...
PLATEAU_PATIENCE = 2  # ... after this many epochs without a lower validation loss
WARMUP_STEPS = 0  # warmup: steps from lr x 1e-4 up to the lr (0: use the fraction)
WARMUP_FRACTION = 0.1  # ... else this share of the run's optimizer steps
GRAD_CLIP = 1.0  # largest allowed gradient norm; 0: no clipping
GRAD_ACCUM_STEPS = 1  # mini-batches whose gradients add up to one optimizer step
LABEL_SMOOTHING = 0.0  # cross-entropy label smoothing, 0 to 0.5
CLASS_WEIGHTING = "none"  # "none" or "balanced" (the rarer class counts more)
EVAL_BATCH_SIZE = 64  # proteins per batch when validating and testing
SEED = 42  # seeds the sample, split, starting weights, batch order and dropout
DEVICE = "auto"  # "auto" (a CUDA GPU when there is one), "cpu" or "cuda"
MIXED_PRECISION = False  # 16-bit arithmetic on a CUDA GPU
CPU_BF16 = True  # bfloat16 on CPUs with native bfloat16 units (faster, same AUC)
SAVE_TO = "best_model.pt"  # where the best weights are saved
# ====================================================================== end of settings


def set_seed(seed):
    """Seed Python, NumPy and PyTorch, so the run can be repeated exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------------- data
if DATA == "bundled":
    data, report = load_bundled()
else:
    data, report = load_labelled(DATA, label_cutoff=LABEL_CUTOFF)
print("\n".join(report.summary_lines()))  # what was read, and any rows dropped and why
sequences = list(data.sequences)
labels = np.asarray(data.labels, dtype=np.int64)  # (N,) 1: soluble, 0: insoluble
if SAMPLE_SIZE is not None and SAMPLE_SIZE < len(sequences):
    rng = np.random.default_rng(SEED)
    keep = np.sort(rng.choice(len(sequences), size=SAMPLE_SIZE, replace=False))
    sequences, labels = [sequences[i] for i in keep], labels[keep]
fractions = {"val_fraction": VAL_FRACTION, "test_fraction": TEST_FRACTION, "seed": SEED}
if SPLIT == "homology":  # clusters of proteins >= IDENTITY identical go to one set
    split = homology_split(sequences, labels, identity=IDENTITY, **fractions)
else:  # each set keeps the same share of soluble proteins
    split = stratified_split(labels, **fractions)
print(
    f"Train: {len(split.train)}, validation: {len(split.val)}, "
    f"test: {len(split.test)} proteins"
)

# Tokens: 0 is padding, 1-20 the residues in AMINO_ACIDS order; ambiguous letters
# (X, B, Z, ...) are 21, or padding (0) in the notes' 21-token vocabulary.
# Every residue is kept: nothing is cut off.
TOKEN = {aa: i + 1 for i, aa in enumerate(AMINO_ACIDS)}
UNKNOWN = 21 if MODEL_CONFIG["vocab_size"] == 22 else 0
tokens = [np.array([TOKEN.get(aa, UNKNOWN) for aa in s], np.int64) for s in sequences]
lengths = np.array([len(s) for s in sequences])  # (N,)

PROTPARAM = {  # dual-input models: global feature -> its Biopython ProtParam function
    "molecular_weight": ProteinAnalysis.molecular_weight,
    "isoelectric_point": ProteinAnalysis.isoelectric_point,
    "gravy": ProteinAnalysis.gravy,
    "instability_index": ProteinAnalysis.instability_index,
    "aromaticity": ProteinAnalysis.aromaticity,
    "net_charge_ph7": lambda protparam: protparam.charge_at_pH(7.0),
}


def global_features(sequence, names):
    """Whole-protein numbers (ProtParam skips X, B, Z, ...; length counts them)."""
    standard = "".join(aa for aa in sequence if aa in TOKEN)
    protparam = ProteinAnalysis(standard)
    values = []
    for name in names:
        if name == "length":
            values.append(len(sequence))
        elif name.startswith("comp_"):  # share of one residue among the standard ones
            values.append(standard.count(name[len("comp_") :]) / len(standard))
        else:
            values.append(PROTPARAM[name](protparam))
    return values


if MODEL == "dual":
    names = MODEL_CONFIG["feature_names"]
    features = np.array([global_features(s, names) for s in sequences], np.float32)


# ------------------------------------------------------------------------------ batches
CHUNK_BATCHES = 100  # batches per random chunk sorted by length (more: less padding)


def batch_rows(rows, batch_size, epoch=None):
    """Batches of similar length: shuffled by (SEED, epoch) to train, else sorted."""
    rows = np.asarray(rows)
    if epoch is None:  # evaluation: shortest proteins first
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
    rng = np.random.default_rng([SEED, epoch])
    rows = rows[rng.permutation(len(rows))]
    batches, chunk_size = [], batch_size * CHUNK_BATCHES
    for start in range(0, len(rows), chunk_size):
        chunk = rows[start : start + chunk_size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]  # little padding
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]  # a new order each epoch


def make_batch(rows):
    """Pad the rows' tokens to the longest of them; everything on the device."""
    width = lengths[rows].max()
    x = torch.zeros(len(rows), width, dtype=torch.int64)  # (B, L) 0 = padding
    mask = torch.zeros(len(rows), width)  # (B, L) 1.0 on residues, 0.0 on padding
    for i, row in enumerate(rows):
        x[i, : lengths[row]] = torch.from_numpy(tokens[row])
        mask[i, : lengths[row]] = 1.0
    batch = {"tokens": x, "mask": mask, "labels": torch.from_numpy(labels[rows])}
    if MODEL == "dual":
        batch["features"] = torch.from_numpy(features[rows])  # (B, F) float32
    return {name: value.to(device) for name, value in batch.items()}


# ------------------------------------------------------------------------------- models
def dropout_mask(x, p, keep):
    """x's dropout multiplier: 0 with chance p, else 1 / (1 - p); 0 on padding.

    16 random bits per activation, four per 64-bit draw: cheaper than nn.Dropout's
    one double per activation, and the app's own dropout (so the masks agree).
    """
    b, h, length = x.shape
    n = x.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device)
    bits = words.random_(-(2**63), None).view(torch.int16)[:n]
    bits = bits.view(b, length, h)  # drawn position by position, as the app draws them
    dropped = round(p * 65536)  # this many of the 65536 values drop an activation
    kept = (bits >= dropped - 32768).to(x.dtype).transpose(1, 2)  # (B, H, L) 1.0 = kept
    return kept.mul_(keep.to(x.dtype) * (65536 / (65536 - dropped)))


class SolubilityCNN(nn.Module):
    """The notes' 1D-CNN: embedding, Conv1d + ReLU layers, residue mean, linear."""

    def __init__(
        self,
        vocab_size,
        embed_dim,
        hidden_dim,
        kernel_size,
        num_layers,
        dropout,
        num_classes,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.num_layers = num_layers
        for i in range(num_layers):  # conv1, conv2, ...: the length is preserved
            width = embed_dim if i == 0 else hidden_dim
            conv = nn.Conv1d(width, hidden_dim, kernel_size, padding=kernel_size // 2)
            setattr(self, f"conv{i + 1}", conv)
        self.fc = nn.Linear(hidden_dim, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens, mask):
        x = self.embedding(tokens).transpose(1, 2)  # (B, embed_dim, L)
        keep = mask.unsqueeze(1)  # (B, 1, L)
        for i in range(self.num_layers):
            x = F.relu(getattr(self, f"conv{i + 1}")(x))  # (B, hidden_dim, L)
            if i < self.num_layers - 1:  # padding must not leak into the next layer
                on = self.dropout.training and self.dropout.p > 0
                x = x * (dropout_mask(x, self.dropout.p, keep) if on else keep)
        x = (x * keep).sum(dim=2) / mask.sum(dim=1, keepdim=True).clamp(min=1)  # (B, H)
        return self.fc(x)  # (B, 2) logits


class DualInputModel(nn.Module):
    """The notes' dual-input model: a Conv1d branch and a global-feature branch."""

    def __init__(
        self,
        vocab_size,
        embed_dim,
        hidden_dim,
        kernel_size,
        global_dim,
        num_classes,
        feature_names,
    ):
        super().__init__()
        self.feature_names = list(feature_names)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.conv = nn.Conv1d(
            embed_dim, hidden_dim, kernel_size, padding=kernel_size // 2
        )
        self.global_fc = nn.Linear(len(feature_names), global_dim)
        self.classifier = nn.Linear(hidden_dim + global_dim, num_classes)
        # the training set's mean and spread of each feature, saved with the weights
        self.register_buffer("feature_mean", torch.zeros(len(feature_names)))  # (F,)
        self.register_buffer("feature_std", torch.ones(len(feature_names)))  # (F,)

    def forward(self, tokens, features, mask):
        x = F.relu(self.conv(self.embedding(tokens).transpose(1, 2)))  # (B, H, L)
        keep = mask.unsqueeze(1)  # (B, 1, L)
        x = (x * keep).sum(dim=2) / mask.sum(dim=1, keepdim=True).clamp(min=1)  # (B, H)
        z = (features - self.feature_mean) / self.feature_std  # (B, F) standardised
        g = F.relu(self.global_fc(z))  # (B, global_dim)
        return self.classifier(torch.cat([x, g], dim=1))  # (B, 2) logits


def forward(batch):
    """The model's logits for a batch; the dual-input model also reads the features."""
    if MODEL == "dual":
        return model(batch["tokens"], batch["features"], batch["mask"])
    return model(batch["tokens"], batch["mask"])


# ------------------------------------------------------------------ model and optimizer
if DEVICE == "auto":
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
else:
    device = torch.device(DEVICE)
set_seed(SEED)
if MODEL == "dual":
    model = DualInputModel(**MODEL_CONFIG)
    # standardise the features with the training set's mean and spread
    mean, std = features[split.train].mean(axis=0), features[split.train].std(axis=0)
    model.feature_mean.copy_(torch.from_numpy(mean))  # (F,)
    model.feature_std.copy_(torch.from_numpy(np.where(std > 1e-8, std, 1.0)))  # (F,)
else:
    model = SolubilityCNN(**MODEL_CONFIG)
model = model.to(device)
print(f"{type(model).__name__}: {sum(p.numel() for p in model.parameters()):,} weights")
set_seed(SEED)  # seeded again as the app does, so dropout draws the same numbers

optimizer = OPTIMIZER(model.parameters(), **OPTIMIZER_OPTIONS)
scheduler = None  # "none": a constant learning rate
if SCHEDULER == "plateau":  # stepped once per epoch with the validation loss
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE
    )


batches_per_epoch = math.ceil(len(split.train) / BATCH_SIZE)
# optimizer steps in the whole run
total_steps = EPOCHS * math.ceil(batches_per_epoch / GRAD_ACCUM_STEPS)
warmup_steps = WARMUP_STEPS or max(1, round(WARMUP_FRACTION * total_steps))


def warmup_lr(step):
    """Warm-up: the learning rate of optimizer step `step` (0, 1, ...), then lr."""
    lr = OPTIMIZER_OPTIONS["lr"]
    return lr * (1e-4 + (1 - 1e-4) * min(step / warmup_steps, 1.0))


class_weight = None  # (2,) weight of each class in the loss
if CLASS_WEIGHTING == "balanced":  # both classes weigh as much in total
    counts = np.bincount(labels[split.train], minlength=2)  # (2,) proteins per class
    weights = counts.sum() / (2.0 * np.maximum(counts, 1))
    class_weight = torch.tensor(weights, dtype=torch.float32, device=device)

# Mixed precision: float16 (or bfloat16) on a CUDA GPU when asked, and bfloat16 on
# CPUs with native bfloat16 units (when CPU_BF16)
cuda_amp = MIXED_PRECISION and device.type == "cuda"
cpu_amp = (
    CPU_BF16
    and device.type == "cpu"
    and torch.backends.mkldnn.is_available()
    and torch.ops.mkldnn._is_mkldnn_bf16_supported()
)
use_amp = cuda_amp or cpu_amp
half = cuda_amp and not torch.cuda.is_bf16_supported()  # an older GPU: float16
amp_dtype = torch.float16 if half else torch.bfloat16
scaler = torch.amp.GradScaler("cuda", enabled=use_amp and half)  # float16 needs it


# ----------------------------------------------------------------- training and metrics
steps = 0  # optimizer steps taken so far


def train_one_epoch(epoch):
    """One pass over the training set; GRAD_ACCUM_STEPS batches make one step."""
    global steps
    model.train()
    batches = batch_rows(split.train, BATCH_SIZE, epoch)
    total, seen = 0.0, 0
    optimizer.zero_grad(set_to_none=True)
    for i, rows in enumerate(batches):
        batch = make_batch(rows)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
            logits = forward(batch)  # (B, 2)
        loss = F.cross_entropy(
            logits.float(),
            batch["labels"],
            weight=class_weight,
            label_smoothing=LABEL_SMOOTHING,
        )
        if not math.isfinite(loss.item()) or loss.item() > 1e4:
            raise RuntimeError(
                f"The loss became {loss.item():.3g} (epoch {epoch}, "
                f"batch {i + 1}): lower the learning rate."
            )
        group_start = i - i % GRAD_ACCUM_STEPS
        group_size = min(GRAD_ACCUM_STEPS, len(batches) - group_start)  # last: shorter
        scaler.scale(loss / group_size).backward()  # the group acts as one big batch
        if i + 1 - group_start == group_size:  # the group's last batch: one step
            if SCHEDULER == "warmup":
                for group in optimizer.param_groups:
                    group["lr"] = warmup_lr(steps)
            if GRAD_CLIP > 0:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            steps += 1
        total += loss.item() * len(rows)
        seen += len(rows)
    return total / seen  # mean loss per training protein


@torch.no_grad()
def evaluate(rows):
    """Mean cross-entropy, labels and P(soluble) of rows (shortest proteins first)."""
    model.eval()
    total, order, probs = 0.0, [], []
    for chunk in batch_rows(rows, EVAL_BATCH_SIZE):
        batch = make_batch(chunk)
        logits = forward(batch).float()  # (B, 2)
        total += F.cross_entropy(logits, batch["labels"], reduction="sum").item()
        order.append(chunk)
        probs.append(F.softmax(logits, dim=1)[:, 1].cpu().numpy())  # (B,) P(soluble)
    return total / len(rows), labels[np.concatenate(order)], np.concatenate(probs)


def scores(y, p, threshold=0.5):
    """scikit-learn's metrics of P(soluble) p against labels y."""
    pred = (p >= threshold).astype(np.int64)
    both = 0 < y.sum() < len(y)  # AUC needs soluble and insoluble proteins
    return {
        "accuracy": metrics.accuracy_score(y, pred),
        "precision": metrics.precision_score(y, pred, zero_division=0),
        "recall": metrics.recall_score(y, pred, zero_division=0),
        "f1": metrics.f1_score(y, pred, zero_division=0),
        "auc": metrics.roc_auc_score(y, p) if both else float("nan"),
        "mcc": metrics.matthews_corrcoef(y, pred),
    }


torch.set_flush_denormal(True)  # tiny subnormal numbers count as 0: faster on a CPU
history, best_loss, best_state, waited = [], math.inf, None, 0
for epoch in range(1, EPOCHS + 1):
    train_loss = train_one_epoch(epoch)
    val_loss, y_val, p_val = evaluate(split.val)
    if not math.isfinite(val_loss):
        raise RuntimeError(f"The validation loss became {val_loss} (epoch {epoch}).")
    if SCHEDULER == "plateau":
        scheduler.step(val_loss)
    lr = optimizer.param_groups[0]["lr"]
    val = scores(y_val, p_val)
    history.append(
        {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            **val,
            "lr": lr,
        }
    )
    print(
        f"Epoch {epoch:3d} | train loss {train_loss:.4f} | val loss {val_loss:.4f} "
        f"| val AUC {val['auc']:.3f} | lr {lr:.2e}"
    )
    if val_loss < best_loss:  # keep a copy of the best weights so far
        best_loss, waited = val_loss, 0
        best_state = {k: v.cpu().clone() for k, v in model.state_dict().items()}
    else:
        waited += 1
    if PATIENCE and waited >= PATIENCE:
        print(f"Early stopping: no lower validation loss for {PATIENCE} epochs.")
        break

# ----------------------------------------------------------------------------- test set
model.load_state_dict(best_state)  # the epoch with the lowest validation loss
torch.save(model.state_dict(), SAVE_TO)
_, y_test, p_test = evaluate(split.test)
test_metrics = scores(y_test, p_test)
majority = int(2 * labels[split.train].sum() >= len(split.train))  # ties: soluble
baseline = scores(y_test, np.full(len(y_test), float(majority)))  # always that class
baseline["auc"] = 0.5  # a constant answer ranks no protein above another
print(f"\nTest set: {len(y_test)} proteins       model   always {majority}")
for name, value in test_metrics.items():
    print(f"{name:>9} {value:21.3f} {baseline[name]:10.3f}")
