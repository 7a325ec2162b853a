"""Real loss landscape speed: a 21 x 21 slice of the default model's CNN on 256 bundled proteins, one core.

Times protlab.lessons.compute_landscape (what the background job does: load the model and the data, sample,
filter-normalised directions, 441 loss evaluations) and reports wall and CPU seconds, since the class's
worker may share its core. Target: well under a minute on one core.
"""

from __future__ import annotations

import time

import common  # noqa: F401  (puts the repository on sys.path)
from common import base_parser, machine_header, result_line, set_threads

from protlab.lessons import SliceSettings, compute_landscape, default_source

TARGET_SECONDS = 60.0  # the page promises about half a minute; a minute is the limit


def main() -> None:
    """Print the time of one landscape computation with the page's default settings."""
    args = base_parser(__doc__.splitlines()[0]).parse_args()
    threads = set_threads(args.threads)
    settings = SliceSettings(n_proteins=16, grid=5) if args.quick else SliceSettings()
    source = default_source()
    print(machine_header("Real loss landscape", threads))
    print(
        f"# model: {source.label}; grid {settings.grid} x {settings.grid} on {settings.n_proteins} proteins "
        f"({settings.grid**2} loss evaluations)"
    )
    cpu = time.process_time()
    wall = time.perf_counter()
    result = compute_landscape(source, settings)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"compute_landscape  {wall:.1f} s wall, {cpu:.1f} s CPU  "
        f"({settings.grid**2 / cpu:.1f} loss evaluations per CPU second)"
    )
    print(
        f"loss at the trained weights {result.slice.centre_loss:.4f}; slice from "
        f"{result.slice.losses.min():.3f} to {result.slice.losses.max():.3f}"
    )
    print(
        f"target: under {TARGET_SECONDS:.0f} s of CPU on one core: "
        f"{'met' if cpu < TARGET_SECONDS else 'MISSED'}"
    )
    print(result_line("landscape_seconds", wall, 1))


if __name__ == "__main__":
    main()
