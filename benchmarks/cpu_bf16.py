"""CPU bf16 autocast versus fp32 for the default CNN: epoch speed (interleaved) and held-out accuracy.

protlab.training.train_model uses mixed precision on CUDA only. This benchmark
measures what bf16 autocast would give on a CPU with native bf16 (AVX512-BF16 /
AMX): both runs use protlab's tokenised, length-bucketed batches, the default
SolubilityCNN, Adam(1e-3), clip 1.0, the same seed and the notes' stratified
80/10/10 split; epochs alternate fp32, bf16, fp32, ... so both see the same load.
"""

from __future__ import annotations

import time

import common  # noqa: F401  (puts the repository on sys.path)
import torch
import torch.nn.functional as F
from common import base_parser, has_cpu_bf16, load_deepsol, machine_header, median, result_line, set_threads
from sklearn.metrics import accuracy_score, roc_auc_score

from protlab.alphabet import NOTES_VOCAB_SIZE
from protlab.data import TokenizedSet, batch_indices, make_batch, stratified_split
from protlab.models import SolubilityCNN
from protlab.training import evaluate


class Run:
    """One model trained in one precision: its optimizer, per-epoch seconds and the autocast switch."""

    def __init__(self, bf16: bool, seed: int) -> None:
        torch.manual_seed(seed)
        self.bf16 = bf16  # autocast the forward pass to bfloat16 on the CPU
        self.model = SolubilityCNN()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.seconds: list[float] = []  # wall time of each training epoch
        self.cpu_seconds: list[
            float
        ] = []  # CPU time of each training epoch (one thread: load does not count)

    def autocast(self) -> torch.autocast:
        """The autocast context of this run (disabled for fp32)."""
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16)

    def epoch(self, data: TokenizedSet, epoch: int) -> float:
        """Train one epoch (the same batch order as train_model) and return its mean loss."""
        self.model.train()
        start, cpu_start, total = time.perf_counter(), time.process_time(), 0.0
        for idx in batch_indices(data, batch_size=32, shuffle=True, seed=42, epoch=epoch):
            batch = make_batch(data, idx)
            with self.autocast():
                logits = self.model(batch.tokens, batch.mask)  # (B, 2)
            loss = F.cross_entropy(logits.float(), batch.labels)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
            total += loss.item() * len(idx)
        self.seconds.append(time.perf_counter() - start)
        self.cpu_seconds.append(time.process_time() - cpu_start)
        return total / len(data)

    def scores(self, data: TokenizedSet, *, autocast: bool) -> tuple[float, float]:
        """(accuracy, AUC) on data, scored with sklearn; autocast=True evaluates in bf16."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            _, probs, labels = evaluate(self.model, data, "cpu", 64)
        return accuracy_score(labels, probs >= 0.5), roc_auc_score(labels, probs)


def main() -> None:
    """Train fp32 and bf16 side by side; print epoch-time ratio and val/test accuracy and AUC."""
    parser = base_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    threads = set_threads(args.threads)
    print(machine_header("CPU bf16 autocast vs fp32 (default CNN, protlab batching)", threads))
    print(f"# native CPU bf16 (avx512_bf16/amx_bf16): {'yes' if has_cpu_bf16() else 'no (bf16 is emulated)'}")
    sequences, labels = load_deepsol(120 if args.quick else None, seed=0)
    epochs = 1 if args.quick else args.epochs
    split = stratified_split(labels, val_fraction=0.1, test_fraction=0.1, seed=42)
    full = TokenizedSet.from_sequences(sequences, labels, vocab_size=NOTES_VOCAB_SIZE, max_length=2000)
    train, val, test = full.subset(split.train), full.subset(split.val), full.subset(split.test)
    print(f"# data: train {len(train)}, val {len(val)}, test {len(test)} sequences; {epochs} epoch(s) each")
    runs = {"fp32": Run(False, 0), "bf16": Run(True, 0)}
    for epoch in range(epochs):
        losses = {name: run.epoch(train, epoch) for name, run in runs.items()}
        print(f"epoch {epoch + 1}: train loss fp32 {losses['fp32']:.4f}, bf16 {losses['bf16']:.4f}")
    for name, run in runs.items():
        va, vauc = run.scores(val, autocast=run.bf16)
        ta, tauc = run.scores(test, autocast=run.bf16)
        print(
            f"{name}: epoch wall s {', '.join(f'{s:.1f}' for s in run.seconds)}, CPU s "
            f"{', '.join(f'{s:.1f}' for s in run.cpu_seconds)}; "
            f"val acc {va:.4f} auc {vauc:.4f}; test acc {ta:.4f} auc {tauc:.4f}"
        )
    fa, fauc = runs["fp32"].scores(test, autocast=False)
    ba, bauc = runs["bf16"].scores(test, autocast=False)
    print(
        f"test, both scored in fp32: fp32-trained acc {fa:.4f} auc {fauc:.4f}; "
        f"bf16-trained acc {ba:.4f} auc {bauc:.4f}"
    )
    wall_ratio = median([f / b for f, b in zip(runs["fp32"].seconds, runs["bf16"].seconds)])
    ratio = median([f / b for f, b in zip(runs["fp32"].cpu_seconds, runs["bf16"].cpu_seconds)])
    print(f"bf16 epoch speedup: CPU time x{ratio:.2f}, wall x{wall_ratio:.2f}")
    print(result_line("bf16_epoch_speedup", ratio) + " " + result_line("test_auc_delta", bauc - fauc, 4))


if __name__ == "__main__":
    main()
