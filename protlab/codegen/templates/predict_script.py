"""Predict protein solubility in plain PyTorch from a ProtLab checkpoint.

The checkpoint is read with torch.load(weights_only=True), which takes only tensors
and plain values, so loading a file cannot run code. It holds the weights and a
description of the model (its kind and settings). The model classes below are plain
PyTorch with ProtLab's layer names, so the saved weights load into them as they are.
Run this file from the ProtLab folder (the bundled model is assets/models/default.pt).
"""

import numpy as np
import torch
import torch.nn.functional as F
from Bio.SeqUtils.ProtParam import ProteinAnalysis
from torch import nn

# ============================================================================= settings
CHECKPOINT = "assets/models/default.pt"  # a model file saved by ProtLab
# the proteins to predict, in FASTA format
FASTA = """
>sp|P0AA25|THIO_ECOLI
MSDKIIHLTDDSFDTDVLKADGAILVDFWAEWCGPCKMIAPILDEIADEYQGKLTVAKLN
IDQNPGTAPKYGIRGIPTLLLFKNGEVAASKVGALSKGQLKEFLDANLA
"""
THRESHOLD = 0.5  # P(soluble) at or above this is called soluble
TRAIN_PRIOR = 0.41731489484298473  # share of soluble proteins the model learned from
PRIOR = None  # the share you expect among your proteins (None: the model's own)
ATTRIBUTION = True  # also show which residues of the first protein drove its prediction
# ====================================================================== end of settings

names, sequences = [], []
for record in FASTA.strip().split(">")[1:]:  # one record per header line
    header, *lines = record.splitlines()
    names.append(header.split()[0])
    sequences.append("".join(lines))

checkpoint = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)  # a dict
# Tokens: 0 is padding, 1-20 the residues in the checkpoint's alphabet order; ambiguous
# letters (X, B, Z, ...) are 21, or padding (0) in the notes' 21-token vocabulary.
TOKEN = {aa: i + 1 for i, aa in enumerate(checkpoint["vocab"]["alphabet"])}
UNKNOWN = 21 if checkpoint["vocab"]["vocab_size"] == 22 else 0


def encode(sequence):
    """The protein as token indices."""
    return torch.tensor([TOKEN.get(aa, UNKNOWN) for aa in sequence])  # (L,) int64


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
        return self.fc(x)


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
        return self.classifier(torch.cat([x, g], dim=1))


class SolubilityNet(nn.Module):
    """Conv1d filters of several widths (motifs) beside standardised statistics."""

    def __init__(
        self,
        vocab_size,
        embed_dim,
        kernel_sizes,
        channels,
        mix_channels,
        mix_kernel,
        terminal_window,
        use_motifs,
        use_dipeptides,
        dropout,
        stat_clip,
        num_classes,
    ):
        super().__init__()
        self.terminal_window, self.stat_clip = terminal_window, stat_clip
        self.use_motifs, self.use_dipeptides = use_motifs, use_dipeptides
        n_stats = 3 * vocab_size + (vocab_size**2 if use_dipeptides else 0) + 1
        # the statistics' mean and spread on the training set, saved with the weights
        self.register_buffer("stat_mean", torch.zeros(n_stats))  # (S,)
        self.register_buffer("stat_std", torch.ones(n_stats))  # (S,)
        # one-hot residues: an identity matrix (from the checkpoint; never trained)
        self.residue_onehot = nn.Embedding(vocab_size, vocab_size, padding_idx=0)
        width, self.mix = n_stats, None
        if use_motifs:
            self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
            self.convs = nn.ModuleList(
                nn.Conv1d(embed_dim, channels, k, padding=k // 2) for k in kernel_sizes
            )
            bank = channels * len(kernel_sizes)  # all the filters' outputs together
            if mix_channels:  # a second convolution mixes them
                self.mix = nn.Conv1d(
                    bank, mix_channels, mix_kernel, padding=mix_kernel // 2
                )
            width += 2 * (mix_channels or bank)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

    def statistics(self, onehot, mask):
        """Composition of the protein and its two ends, dipeptides and log length."""
        onehot = onehot * mask.unsqueeze(-1)  # (B, L, V) padding rows zeroed
        length = mask.sum(dim=1, keepdim=True).clamp(min=1)  # (B, 1)
        position = torch.arange(mask.shape[1], device=mask.device)[None]  # (1, L)
        n_end = (position < self.terminal_window).float() * mask  # (B, L) the first
        c_end = (position >= length - self.terminal_window).float() * mask  # the last
        parts = [onehot.sum(dim=1) / length]  # (B, V)
        for end in (n_end, c_end):
            counts = torch.bmm(end.unsqueeze(1), onehot).squeeze(1)  # (B, V)
            parts.append(counts / end.sum(dim=1, keepdim=True).clamp(min=1))
        if self.use_dipeptides:  # (B, V, V): residue i followed by residue j
            pairs = torch.bmm(onehot[:, :-1].transpose(1, 2), onehot[:, 1:])
            n_pairs = (mask[:, 1:] * mask[:, :-1]).sum(dim=1, keepdim=True).clamp(min=1)
            parts.append(pairs.flatten(1) / n_pairs)
        parts.append(torch.log(length))
        return torch.cat(parts, dim=1)  # (B, S)

    def forward(self, tokens, mask):
        stats = self.statistics(self.residue_onehot(tokens), mask)  # (B, S)
        stats = (stats - self.stat_mean) / self.stat_std  # standardised
        if self.stat_clip:
            stats = stats.clamp(-self.stat_clip, self.stat_clip)
        parts = [stats]
        if self.use_motifs:
            x = self.embedding(tokens).transpose(1, 2)  # (B, E, L)
            keep = mask.unsqueeze(1)  # (B, 1, L)
            maps = [F.relu(conv(x)) for conv in self.convs]  # K x (B, C, L)
            if self.mix is not None:
                maps = [F.relu(self.mix(torch.cat(maps, dim=1) * keep))]  # (B, M, L)
            for h in maps:
                h = h * keep  # ReLU >= 0, so the zeroed padding never wins the max
                mean = h.sum(dim=2) / mask.sum(dim=1, keepdim=True).clamp(min=1)
                parts += [h.amax(dim=2), mean]  # (B, C) each
        return self.head(self.dropout(torch.cat(parts, dim=1)))  # (B, 2) logits


class Ensemble(nn.Module):
    """Averages its members' probabilities (each with its share of the average);
    returns their log, which works as logits."""

    def __init__(self, members, weights=None):
        super().__init__()
        self.members = nn.ModuleList(members)
        weights = torch.tensor(weights or [1.0] * len(members), dtype=torch.float64)
        self.log_share = (weights / weights.sum()).float().log()  # (M,)

    def forward(self, tokens, mask, features=None):
        log_probs = [
            F.log_softmax(logits_of(m, tokens, mask, features), dim=1)
            for m in self.members
        ]  # M x (B, 2)
        stacked = torch.stack(log_probs) + self.log_share.view(-1, 1, 1)  # (M, B, 2)
        return torch.logsumexp(stacked, dim=0)


def logits_of(model, tokens, mask, features=None):
    """Any model's logits; dual-input models (also in an ensemble) read the features."""
    if isinstance(model, DualInputModel):
        return model(tokens, features, mask)
    if isinstance(model, Ensemble):
        return model(tokens, mask, features)
    return model(tokens, mask)


def sequence_stats(tokens, mask, window, positions, table=None, dipeptides=False):
    """Composition, terminal composition, terminal residues, log length (and, when
    asked, reduced-alphabet and dipeptide shares) of each protein.  # (B, S)"""
    onehot = F.one_hot(tokens.clamp(0, 21), 22).to(mask.dtype) * mask.unsqueeze(-1)
    residues = onehot[:, :, 1:21]  # (B, L, 20) the 20 residues only

    def fractions(x):  # (B, L, K) -> (B, K) shares among the counted rows
        counts = x.sum(dim=1)
        return counts / counts.sum(dim=1, keepdim=True).clamp(min=1)

    def pair_fractions(x):  # (B, L, K) -> (B, K*K) shares of adjacent pairs
        pairs = torch.bmm(x[:, :-1].transpose(1, 2), x[:, 1:]).flatten(1)
        return pairs / pairs.sum(dim=1, keepdim=True).clamp(min=1)

    length = mask.sum(dim=1, keepdim=True).clamp(min=1)  # (B, 1)
    pos = torch.arange(mask.shape[1]).unsqueeze(0)  # (1, L)
    first = ((pos < window).to(mask.dtype) * mask).unsqueeze(-1)  # (B, L, 1)
    last = ((pos >= length - window).to(mask.dtype) * mask).unsqueeze(-1)  # (B, L, 1)
    parts = [fractions(x) for x in (residues, residues * first, residues * last)]
    if positions:  # which residue sits at each of the first and last p positions
        padded = F.pad(residues, (0, 0, 0, positions))  # (B, L + p, 20)
        ends = (length.long() - 1 - torch.arange(positions)).clamp(min=-1)  # (B, p)
        rows = torch.arange(residues.shape[0]).unsqueeze(1)  # (B, 1)
        parts += [padded[:, :positions].flatten(1), padded[rows, ends].flatten(1)]
    parts.append(torch.log(length))
    if table is not None:
        classes = residues @ table.to(mask.dtype)  # (B, L, G)
        parts += [fractions(classes), pair_fractions(classes)]
    if dipeptides:
        parts.append(pair_fractions(residues))
    return torch.cat(parts, dim=1)  # (B, S)


class CompositionNet(nn.Module):
    """Logistic regression (or one hidden layer) on statistics of the sequence."""

    def __init__(
        self,
        vocab_size,
        terminal_window,
        terminal_positions,
        use_groups,
        groups,
        use_dipeptides,
        hidden_dim,
        dropout,
        stat_clip,
        num_classes,
    ):
        super().__init__()
        self.window, self.positions = terminal_window, terminal_positions
        self.stat_clip = stat_clip
        self.use_dipeptides = use_dipeptides
        # (20, G) one-hot class of each residue (token i + 1 is the i-th residue)
        table = torch.zeros(20, len(groups))
        for g, letters in enumerate(groups):
            for letter in letters:
                table[TOKEN[letter] - 1, g] = 1.0
        self.table = table if use_groups else None
        n_stats = 60 + 40 * terminal_positions + 1
        n_stats += len(groups) + len(groups) ** 2 if use_groups else 0
        n_stats += 400 if use_dipeptides else 0
        self.register_buffer("stat_mean", torch.zeros(n_stats))  # (S,)
        self.register_buffer("stat_std", torch.ones(n_stats))  # (S,)
        self.dropout = nn.Dropout(dropout)
        if hidden_dim:
            self.head = nn.Sequential(
                nn.Linear(n_stats, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 2)
            )
        else:
            self.head = nn.Linear(n_stats, num_classes)

    def forward(self, tokens, mask):
        window, positions, pairs = self.window, self.positions, self.use_dipeptides
        mask = mask.float()
        stats = sequence_stats(tokens, mask, window, positions, self.table, pairs)
        z = (stats - self.stat_mean) / self.stat_std  # (B, S)
        if self.stat_clip:
            z = z.clamp(-self.stat_clip, self.stat_clip)
        return self.head(self.dropout(z))  # (B, 2) logits


class BoostedTrees(nn.Module):
    """Gradient-boosted decision trees on the same statistics (no reduced alphabet,
    no pairs). Each tree is stored as arrays of node slots: the statistic a node
    splits on, its threshold (<= goes left), its children, and the log-odds a leaf
    adds. Every tree is walked at once, one level per step."""

    def __init__(self, vocab_size, terminal_window, terminal_positions, n_trees,
                 learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization,
                 num_classes):  # fmt: skip
        super().__init__()
        self.window, self.positions = terminal_window, terminal_positions
        t, n = n_trees, 2 * max_leaf_nodes - 1  # trees, node slots per tree
        self.register_buffer("feature", torch.zeros(t, n, dtype=torch.int64))
        self.register_buffer("threshold", torch.zeros(t, n, dtype=torch.float64))
        self.register_buffer("left", torch.zeros(t, n, dtype=torch.int64))
        self.register_buffer("right", torch.zeros(t, n, dtype=torch.int64))
        self.register_buffer("is_leaf", torch.ones(t, n, dtype=torch.bool))
        self.register_buffer("leaf_value", torch.zeros(t, n, dtype=torch.float64))
        self.register_buffer("baseline", torch.zeros((), dtype=torch.float64))
        self.register_buffer("levels", torch.zeros((), dtype=torch.int64))

    def forward(self, tokens, mask):
        stats = sequence_stats(tokens, mask.double(), self.window, self.positions)
        trees = torch.arange(self.feature.shape[0])  # (T,)
        node = torch.zeros(len(tokens), len(trees), dtype=torch.int64)  # (B, T) roots
        for _ in range(int(self.levels)):
            value = stats.gather(1, self.feature[trees, node])  # (B, T)
            go_left = value <= self.threshold[trees, node]
            left, right = self.left[trees, node], self.right[trees, node]
            child = torch.where(go_left, left, right)
            node = torch.where(self.is_leaf[trees, node], node, child)  # leaves stay
        z = self.baseline + self.leaf_value[trees, node].sum(dim=1)  # (B,) log-odds
        return torch.stack([torch.zeros_like(z), z], dim=1).float()  # (B, 2) logits


def build(kind, config):
    """The model a checkpoint describes by its kind and settings."""
    if kind == "ensemble":
        members = [build(m["kind"], m["config"]) for m in config["members"]]
        return Ensemble(members, config.get("weights"))
    classes = {
        "cnn": SolubilityCNN,
        "dual": DualInputModel,
        "solubility_net": SolubilityNet,
        "composition": CompositionNet,
        "boosted_trees": BoostedTrees,
    }
    if kind not in classes:
        raise SystemExit(
            f"This script knows the model kinds {sorted(classes)} and "
            f"'ensemble'; the checkpoint holds a {kind!r} model."
        )
    return classes[kind](**config)


# --------------------------------------------------------------------------- prediction
model = build(checkpoint["kind"], checkpoint["model_config"])
model.load_state_dict(checkpoint["state_dict"])
model.eval()  # dropout off
duals = [m for m in model.modules() if isinstance(m, DualInputModel)]
feature_names = duals[0].feature_names if duals else []


def inputs(batch):
    """Tokens padded to the longest protein, the mask of real residues, the features."""
    tokens = nn.utils.rnn.pad_sequence([encode(s) for s in batch], batch_first=True)
    lengths = torch.tensor([len(s) for s in batch])  # (B,)
    mask = (torch.arange(tokens.shape[1]) < lengths.unsqueeze(1)).float()  # (B, L)
    features = None  # (B, F) float32, for dual-input models only
    if feature_names:
        rows = [global_features(s, feature_names) for s in batch]
        features = torch.tensor(rows, dtype=torch.float32)
    return tokens, mask, features  # tokens (B, L): 0 after each protein's end


@torch.no_grad()
def predict(sequences, batch_size=64):
    """P(soluble) of each protein; similar lengths share a batch (little padding)."""
    p = np.zeros(len(sequences))
    order = np.argsort([len(s) for s in sequences], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        logits = logits_of(model, *inputs([sequences[i] for i in rows]))  # (B, 2)
        p[rows] = F.softmax(logits, dim=1)[:, 1].numpy()
    return p


def adjust_for_prior(p, train_prior, new_prior):
    """P(soluble) moved by Bayes' rule from one share of soluble proteins to another:
    the model's odds p / (1 - p) carry the training share's odds, so they are
    multiplied by the new share's odds over the training share's."""
    ratio = (new_prior / (1 - new_prior)) / (train_prior / (1 - train_prior))
    return p * ratio / (p * ratio + (1 - p))


model_score = predict(sequences)  # (N,) P(soluble) at the training share
p_soluble = model_score  # (N,)
if PRIOR is not None:
    p_soluble = adjust_for_prior(model_score, TRAIN_PRIOR, PRIOR)
    cut = adjust_for_prior(THRESHOLD, PRIOR, TRAIN_PRIOR)  # that call on the raw score
    print(
        f"P(soluble) is adjusted from the model's training share ({TRAIN_PRIOR:.1%} "
        f"soluble) to yours ({PRIOR:.1%}): a threshold of {THRESHOLD:.2f} is a model "
        f"score of {cut:.3f}."
    )
for name, sequence, p in zip(names, sequences, p_soluble):
    call = "soluble" if p >= THRESHOLD else "insoluble"
    print(f"{name}: {len(sequence)} residues, P(soluble) = {p:.3f} -> {call}")

if ATTRIBUTION:
    # Gradient x input: how much each residue's embedding pushes the model towards
    # "soluble" (logit soluble - logit insoluble), summed over the embedding's
    # dimensions and averaged over the model's embedding layers.
    captured = []

    def keep_output(module, args, output):
        """Make the embedding's output a leaf of the graph, so its gradient is kept."""
        output = output.detach().requires_grad_(True)
        captured.append(output)
        return output

    embeddings = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    hooks = [m.register_forward_hook(keep_output) for m in embeddings]
    logits = logits_of(model, *inputs(sequences[:1]))  # (1, 2)
    grads = torch.autograd.grad(logits[0, 1] - logits[0, 0], captured)
    for hook in hooks:
        hook.remove()
    contribution = sum((g * x).sum(dim=-1)[0] for g, x in zip(grads, captured))
    contribution = contribution / len(captured)  # (L,)
    print(f"\n{names[0]}: the residues that pushed hardest (+ soluble, - insoluble)")
    for i in contribution.abs().argsort(descending=True)[:10].tolist():
        print(f"  {sequences[0][i]}{i + 1}: {contribution[i]:+.4f}")
