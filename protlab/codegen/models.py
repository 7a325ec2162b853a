"""PyTorch source of protlab's models for the generated training script (same layer names, so weights load)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["cnn_code", "dual_code"]


def cnn_code(c: Mapping[str, Any]) -> str:
    """The notes' 1D-CNN with the chosen widths, kernel, depth and dropout (same layer names as protlab's)."""
    return f'''\
# ---------------------------------------------------------------- model
class SolubilityCNN(nn.Module):
    """Embedding -> num_layers x (Conv1d + ReLU) -> masked average pooling -> linear classifier."""

    def __init__(self, vocab_size={c["vocab_size"]!r}, embed_dim={c["embed_dim"]!r}, hidden_dim={c["hidden_dim"]!r},
                 kernel_size={c["kernel_size"]!r}, num_layers={c["num_layers"]!r}, dropout={c["dropout"]!r}, num_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_INDEX)
        self.num_layers = num_layers
        for i in range(num_layers):  # conv1, conv2, ...: kernel_size residues per filter, length preserved
            width_in = embed_dim if i == 0 else hidden_dim
            setattr(self, f"conv{{i + 1}}", nn.Conv1d(width_in, hidden_dim, kernel_size, padding=kernel_size // 2))
        self.fc = nn.Linear(hidden_dim, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens, mask):
        x = self.embedding(tokens).transpose(1, 2)          # (B, embed_dim, L)
        keep = mask.unsqueeze(1)                            # (B, 1, L) 1 on residues, 0 on padding
        for i in range(self.num_layers):
            x = F.relu(getattr(self, f"conv{{i + 1}}")(x))  # (B, hidden_dim, L)
            if i < self.num_layers - 1:
                x = self.dropout(x) * keep                  # padding must not leak into the next convolution
        x = (x * keep).sum(dim=2) / keep.sum(dim=2).clamp(min=1)  # (B, hidden_dim) mean over real residues
        return self.fc(x)                                   # (B, 2) logits


model = SolubilityCNN()
'''


def dual_code(c: Mapping[str, Any]) -> str:
    """The fundamentals note's dual-input model (sequence branch + global-feature branch)."""
    return f'''\
# ---------------------------------------------------------------- model
class DualInputModel(nn.Module):
    """Sequence branch (embedding + Conv1d + pooling) joined with a small branch for global features."""

    def __init__(self, vocab_size={c["vocab_size"]!r}, embed_dim={c["embed_dim"]!r}, num_global_features=len(FEATURES),
                 hidden_dim={c["hidden_dim"]!r}, kernel_size={c["kernel_size"]!r}, global_dim={c["global_dim"]!r},
                 num_classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD_INDEX)
        self.conv = nn.Conv1d(embed_dim, hidden_dim, kernel_size, padding=kernel_size // 2)
        self.global_fc = nn.Linear(num_global_features, global_dim)
        self.classifier = nn.Linear(hidden_dim + global_dim, num_classes)

    def forward(self, tokens, features, mask):
        x = F.relu(self.conv(self.embedding(tokens).transpose(1, 2)))  # (B, hidden_dim, L)
        m = mask.unsqueeze(1)                                           # (B, 1, L)
        x = (x * m).sum(dim=2) / m.sum(dim=2).clamp(min=1)              # (B, hidden_dim)
        g = F.relu(self.global_fc(features))                            # (B, global_dim); features standardised
        return self.classifier(torch.cat([x, g], dim=1))                # (B, 2) logits


model = DualInputModel()
'''
