"""The training-throughput benchmark on a CUDA GPU with mixed precision; a clear skip line without one."""

from __future__ import annotations

import sys

import common  # noqa: F401  (puts the repository on sys.path)
import torch

SKIP_LINE = "GPU benchmark skipped: no CUDA device on this machine"


def main(argv: list[str]) -> int:
    """Run train_throughput on CUDA (mixed precision on), or print the skip line; returns the exit code."""
    if not torch.cuda.is_available():
        print(SKIP_LINE)
        return 0
    import train_throughput

    print(f"# GPU: {torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}")
    train_throughput.main(argv, default_device="cuda")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
