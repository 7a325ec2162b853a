"""'Show me the PyTorch' for the bias-variance lab: the sweep as one plain loop over widths and shares."""

from __future__ import annotations

from protlab.alphabet import AMINO_ACIDS
from protlab.lessons.bias_variance import TEST_FRACTION, VAL_FRACTION, SweepConfig

__all__ = ["sweep_code"]

_MODELS = {
    "mlp": '''def make_model(width):
    """Two hidden layers of `width` neurons on the amino-acid composition (20 fractions)."""
    return nn.Sequential(
        nn.Linear(20, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2)
    )


def inputs(rows):
    """The composition of each protein: (B, 20) fractions of the 20 amino acids."""
    counts = torch.zeros(len(rows), 20)
    for b, i in enumerate(rows):
        for aa in sequences[i]:
            if aa in AA_TO_IDX:
                counts[b, AA_TO_IDX[aa] - 1] += 1
        counts[b] /= len(sequences[i])
    return (counts,)
''',
    "cnn": '''class CNN(nn.Module):
    """The notes' 1D-CNN with one convolution of `width` filters (kernel 9), masked mean pooling."""

    def __init__(self, width):
        super().__init__()
        self.embedding = nn.Embedding(21, 16, padding_idx=0)  # 0 = padding (and unknown)
        self.conv = nn.Conv1d(16, width, kernel_size=9, padding=4)
        self.fc = nn.Linear(width, 2)

    def forward(self, tokens, mask):  # tokens (B, L) int64, mask (B, L) float32
        x = torch.relu(self.conv(self.embedding(tokens).transpose(1, 2)))  # (B, width, L)
        pooled = (x * mask.unsqueeze(1)).sum(2) / mask.sum(1, keepdim=True)  # (B, width)
        return self.fc(pooled)  # (B, 2) logits


def make_model(width):
    return CNN(width)


def inputs(rows):
    """Padded integer tokens (B, Lmax) and the mask of real residues (B, Lmax)."""
    longest = max(len(sequences[i]) for i in rows)
    tokens = torch.zeros(len(rows), longest, dtype=torch.long)
    for b, i in enumerate(rows):
        tokens[b, : len(sequences[i])] = torch.tensor([AA_TO_IDX.get(a, 0) for a in sequences[i]])
    return tokens, (tokens > 0).float()
''',
}


def sweep_code(config: SweepConfig) -> str:
    """Runnable code that trains every (width, share) point of the sweep and prints the final losses."""
    config.validate()
    settings = f'''import numpy as np
import torch
import torch.nn as nn
from sklearn.model_selection import train_test_split

from protlab.data import load_bundled  # the bundled DeepSol proteins and their 0/1 labels

# === the sweep (from the page)
WIDTHS = {sorted(set(config.widths))}  # model size: hidden width
FRACTIONS = {sorted(set(config.fractions))}  # training-set size: share of the training rows
SAMPLE_SIZE, MAX_LENGTH, SEED = {config.sample_size}, {config.max_length}, {config.seed}
EPOCHS, LR, BATCH_SIZE = {config.epochs}, {config.lr!r}, {config.batch_size}  # Adam, no early stopping
AA_TO_IDX = {{aa: i + 1 for i, aa in enumerate("{AMINO_ACIDS}")}}

data, _ = load_bundled()
short = [i for i, s in enumerate(data.sequences) if len(s) <= MAX_LENGTH]
rows = np.sort(np.random.default_rng(SEED).choice(short, SAMPLE_SIZE, replace=False))
sequences = [data.sequences[i] for i in rows]
labels = torch.tensor(data.labels[rows])  # (N,) int64

# one fixed validation set for every point: only the training rows change
index = np.arange(len(sequences))
train_rows, rest = train_test_split(
    index, test_size={VAL_FRACTION + TEST_FRACTION:g}, stratify=labels, random_state=SEED
)
val_rows, _test_rows = train_test_split(
    rest, test_size={TEST_FRACTION / (VAL_FRACTION + TEST_FRACTION):g}, stratify=labels[rest],
    random_state=SEED
)


'''
    loop = '''

def share_of(train_rows, fraction):
    """A seeded share of each class's training rows (smaller shares are subsets of larger ones)."""
    rng, kept = np.random.default_rng(SEED), []
    for label in (0, 1):
        rows_of_class = rng.permutation(train_rows[labels[train_rows].numpy() == label])
        kept.append(rows_of_class[: max(1, round(fraction * len(rows_of_class)))])
    return np.sort(np.concatenate(kept))


def mean_loss(model, rows, loss_fn):
    """Average cross-entropy over rows, without gradients (dropout off)."""
    model.eval()
    with torch.no_grad():
        return loss_fn(model(*inputs(rows)), labels[rows]).item()


def train(width, rows):
    """Train one width on these rows; return the (training, validation) loss of every epoch."""
    torch.manual_seed(SEED)
    model, loss_fn = make_model(width), nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    curve = []
    for epoch in range(EPOCHS):
        model.train()
        order, total = np.random.default_rng(SEED + epoch).permutation(rows), 0.0
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            loss = loss_fn(model(*inputs(batch)), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        curve.append((total / len(rows), mean_loss(model, val_rows, loss_fn)))
    return curve


results = {}
for width in WIDTHS:  # model size
    for fraction in FRACTIONS:  # training-set size
        rows_used = share_of(train_rows, fraction)
        curve = results[width, fraction] = train(width, rows_used)
        train_loss, val_loss = curve[-1]
        print(
            f"width {width:4d} | {len(rows_used):4d} training proteins | final training loss "
            f"{train_loss:.3f} | validation loss {val_loss:.3f} | gap {val_loss - train_loss:+.3f}"
        )
# under-fitting: both losses high and close; over-fitting: training low, validation well above it
'''
    return settings + _MODELS[config.model_kind] + loop
