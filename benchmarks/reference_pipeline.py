"""The course notes' own training pipeline (intro note, sections 6-7), rebuilt as the speed baseline.

Kept deliberately faithful, slow parts included: every sequence is padded to
max_len=512 and encoded with a Python loop per residue inside __getitem__,
batches come from a plain DataLoader(batch_size=32, shuffle=True), and the
model is the case-study 1D-CNN (124,738 parameters).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from protlab.alphabet import AA_TO_INDEX

REFERENCE_MAX_LEN = 512  # the notes' ProteinDataset default: longer sequences are cut here
REFERENCE_BATCH_SIZE = 32  # the notes' training batch size


class ReferenceDataset(Dataset):
    """The notes' ProteinDataset: one padded, loop-encoded tensor per __getitem__ call."""

    def __init__(self, sequences: Sequence[str], labels: Sequence[int], max_len: int = REFERENCE_MAX_LEN):
        self.sequences = list(sequences)
        self.labels = [int(v) for v in labels]
        self.max_len = max_len
        self.aa_to_idx = dict(AA_TO_INDEX)  # letter -> 1..20; anything else -> 0 (as in the notes)

    def __len__(self) -> int:
        """Number of sequences."""
        return len(self.sequences)

    def __getitem__(self, idx: int) -> dict[str, torch.Tensor]:
        """Encode one sequence residue by residue into a fixed-length tensor plus its mask."""
        seq = self.sequences[idx]
        encoded = torch.zeros(self.max_len, dtype=torch.long)  # (max_len,) int64
        for i, aa in enumerate(seq[: self.max_len]):
            encoded[i] = self.aa_to_idx.get(aa, 0)
        mask = torch.zeros(self.max_len, dtype=torch.float)  # (max_len,) float32
        mask[: min(len(seq), self.max_len)] = 1.0
        return {"sequence": encoded, "mask": mask, "label": torch.tensor(self.labels[idx], dtype=torch.long)}


class ReferenceCNN(nn.Module):
    """The notes' ProteinSolubilityClassifier: embedding, two k=5 convolutions, masked mean, linear."""

    def __init__(
        self, vocab_size: int = 21, embed_dim: int = 64, hidden_dim: int = 128, num_classes: int = 2
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.conv1 = nn.Conv1d(embed_dim, hidden_dim, kernel_size=5, padding=2)
        self.conv2 = nn.Conv1d(hidden_dim, hidden_dim, kernel_size=5, padding=2)
        self.fc = nn.Linear(hidden_dim, num_classes)
        self.dropout = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Map tokens (B, L) int64 and mask (B, L) float32 to logits (B, 2)."""
        h = self.embedding(x).transpose(1, 2)  # (B, E, L)
        h = self.dropout(F.relu(self.conv1(h)))  # (B, H, L)
        h = F.relu(self.conv2(h))  # (B, H, L)
        if mask is not None:
            m = mask.unsqueeze(1)  # (B, 1, L)
            h = (h * m).sum(dim=2) / m.sum(dim=2).clamp(min=1)  # (B, H)
        else:
            h = h.mean(dim=2)  # (B, H)
        return self.fc(h)  # (B, 2)


def reference_loader(sequences: Sequence[str], labels: Sequence[int], *, seed: int = 0) -> DataLoader:
    """Build the notes' training DataLoader (batch 32, shuffled, main-process loading)."""
    generator = torch.Generator().manual_seed(seed)
    dataset = ReferenceDataset(sequences, labels)
    return DataLoader(dataset, batch_size=REFERENCE_BATCH_SIZE, shuffle=True, generator=generator)


def reference_epoch(
    model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, device: torch.device
) -> float:
    """The notes' train_one_epoch (with the mask passed to the model); returns the mean batch loss."""
    criterion = nn.CrossEntropyLoss()
    model.train()
    total = 0.0
    for batch in loader:
        tokens, mask = batch["sequence"].to(device), batch["mask"].to(device)  # (B, 512) each
        logits = model(tokens, mask)  # (B, 2)
        loss = criterion(logits, batch["label"].to(device))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        total += loss.item()
    return total / max(1, len(loader))


def run_reference_epoch(
    sequences: Sequence[str], labels: Sequence[int], *, seed: int = 0, device: str = "cpu"
) -> tuple[float, float]:
    """Build model, optimizer and loader, train one epoch on `device`; return (seconds, mean loss)."""
    torch.manual_seed(seed)
    dev = torch.device(device)
    start = time.perf_counter()
    model = ReferenceCNN().to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = reference_epoch(model, reference_loader(sequences, labels, seed=seed), optimizer, dev)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, loss
