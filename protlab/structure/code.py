"""Plain-PyTorch code for the lesson's 'Show me the PyTorch' panel: the per-residue model, masked loss and Q3.

The generated script needs only torch. It builds the same network as ResidueCNN or ResidueMLP (same
parameter names, so a ProtLab state_dict loads into it), pads a small batch, masks padding and unresolved
residues out of the loss with ignore_index, takes one optimizer step and prints Q3.
"""

from __future__ import annotations

from protlab.alphabet import AMINO_ACIDS
from protlab.structure.mlp import ResidueMLPConfig
from protlab.structure.model import ResidueCNNConfig

__all__ = ["structure_code"]

_HEADER = """import torch
import torch.nn as nn
import torch.nn.functional as F

AMINO_ACIDS = "{alphabet}"
AA_TO_IDX = {{aa: i + 1 for i, aa in enumerate(AMINO_ACIDS)}}  # 0 = padding, 21 = unknown
STATES = "HEC"  # class 0 helix, 1 strand, 2 coil
IGNORE = -100  # label of padding and unresolved residues: the loss and Q3 skip it


"""

_CNN = '''class ResidualBlock(nn.Module):
    def __init__(self, channels, kernel_size, dilation, dropout):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size,
                              padding=dilation * (kernel_size // 2), dilation=dilation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, keep):                     # x: (B, H, L), keep: (B, 1, L)
        return (x + self.dropout(F.relu(self.conv(x)))) * keep


class PerResidueCNN(nn.Module):
    """No pooling: one score per class at every position -> (B, L, 3)."""

    def __init__(self, vocab_size={vocab_size}, embed_dim={embed_dim}, channels={channels},
                 kernel_size={kernel_size}, dilations={dilations}, dropout={dropout},
                 num_classes={num_classes}):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.conv_in = nn.Conv1d(embed_dim, channels, kernel_size, padding=kernel_size // 2)
        self.blocks = nn.ModuleList(ResidualBlock(channels, kernel_size, d, dropout) for d in dilations)
        self.head = nn.Conv1d(channels, num_classes, 1)   # a Linear layer applied at every position

    def forward(self, tokens, mask):                # tokens (B, L) int64, mask (B, L): 1 residue, 0 padding
        keep = mask.unsqueeze(1).float()            # (B, 1, L)
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, L)
        x = F.relu(self.conv_in(x)) * keep          # (B, H, L); padding set back to 0
        for block in self.blocks:
            x = block(x, keep)                      # (B, H, L)
        return self.head(x).transpose(1, 2)         # (B, L, 3): the length is kept


'''

_MLP = '''class PerResidueMLP(nn.Module):
    """The intro note's Exercise 1: one-hot (B, L, 20) -> Linear/ReLU layers -> (B, L, 3), per residue."""

    def __init__(self, vocab_size={vocab_size}, hidden_dim={hidden_dim}, num_layers={num_layers},
                 dropout={dropout}, num_classes={num_classes}):
        super().__init__()
        self.vocab_size = vocab_size
        widths = [20] + [hidden_dim] * (num_layers - 1) + [num_classes]
        stack = [nn.Identity()]                     # index 0: where ProtLab's model one-hot encodes
        for a, b in zip(widths[:-2], widths[1:-1]):
            stack += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
        stack.append(nn.Linear(widths[-2], widths[-1]))
        self.layers = nn.Sequential(*stack)         # nn.Linear acts on the last axis: every position alike

    def forward(self, tokens, mask):                # tokens (B, L) int64; mask unused: positions never mix
        one_hot = F.one_hot(tokens, self.vocab_size)[..., 1:21].float()  # (B, L, 20); padding, unknown: 0
        return self.layers(one_hot)                 # (B, L, 20) -> (B, L, hidden) ... -> (B, L, 3)


'''

_COMMON = '''def encode_batch(sequences, ss3=None, resolved=None):
    """Pad to the longest sequence: tokens (B, L), mask (B, L) and labels (B, L) with IGNORE off-residue."""
    longest = max(len(s) for s in sequences)
    tokens = torch.zeros(len(sequences), longest, dtype=torch.long)
    mask = torch.zeros(len(sequences), longest)
    labels = torch.full((len(sequences), longest), IGNORE)
    for i, seq in enumerate(sequences):
        tokens[i, :len(seq)] = torch.tensor([AA_TO_IDX.get(aa, 21) for aa in seq])
        mask[i, :len(seq)] = 1.0
        if ss3 is not None:
            for j, state in enumerate(ss3[i]):
                if resolved is None or resolved[i][j] == "1":
                    labels[i, j] = STATES.index(state)
    return tokens, mask, labels


def masked_loss(logits, labels):
    """Cross-entropy over (B*L, 3) scores; positions labelled IGNORE do not count."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE)


def q3(logits, labels):
    """Fraction of scored residues whose predicted state is right."""
    scored = labels != IGNORE
    return ((logits.argmax(dim=-1) == labels) & scored).sum().item() / scored.sum().item()


sequences = ["{seq1}", "{seq2}"]
ss3 = ["{ss1}", "{ss2}"]
resolved = ["{res1}", "{res2}"]               # 0 = not seen in the crystal structure: not scored

torch.manual_seed(0)
model = {model_class}()
tokens, mask, labels = encode_batch(sequences, ss3, resolved)
logits = model(tokens, mask)
print("tokens", tuple(tokens.shape), "-> logits", tuple(logits.shape))
print("scored residues:", int((labels != IGNORE).sum()), "of", tokens.numel(), "positions")

optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
loss = masked_loss(logits, labels)
optimizer.zero_grad()
loss.backward()
optimizer.step()
print(f"loss {{loss.item():.4f}}, Q3 before the step {{q3(logits.detach(), labels):.3f}}")
'''

# a short example pair: a helical peptide and a hairpin-like strand peptide (the second is shorter: padding)
_EXAMPLE = (
    ("AEAAAKEAAAKEAAAKA", "CHHHHHHHHHHHHHHHC", "01111111111111110"),
    ("KTWTVEVNGKKYTVEV", "CEEEEECCCCEEEEEC", "1111111111111111"),
)


def structure_code(config: ResidueCNNConfig | ResidueMLPConfig | None = None) -> str:
    """A runnable torch-only script for the per-residue model with these settings, masked loss and Q3."""
    c = config or ResidueCNNConfig()
    c.validate()
    (seq1, ss1, res1), (seq2, ss2, res2) = _EXAMPLE
    if isinstance(c, ResidueMLPConfig):
        model = _MLP.format(
            vocab_size=c.vocab_size,
            hidden_dim=c.hidden_dim,
            num_layers=c.num_layers,
            dropout=c.dropout,
            num_classes=c.num_classes,
        )
    else:
        model = _CNN.format(
            vocab_size=c.vocab_size,
            embed_dim=c.embed_dim,
            channels=c.channels,
            kernel_size=c.kernel_size,
            dilations=tuple(c.dilations),
            dropout=c.dropout,
            num_classes=c.num_classes,
        )
    common = _COMMON.format(
        model_class="PerResidueMLP" if isinstance(c, ResidueMLPConfig) else "PerResidueCNN",
        seq1=seq1,
        seq2=seq2,
        ss1=ss1,
        ss2=ss2,
        res1=res1,
        res2=res2,
    )
    return _HEADER.format(alphabet=AMINO_ACIDS) + model + common
