"""Class-wide run settings: how many runs train at once, queue size, epoch cap and where runs execute.

Read from PROTLAB_* environment variables, on top of an optional $PROTLAB_HOME/class.toml with the same keys
in lower case (the environment wins):

    workers = 2            # runs training at once; 0 = auto (cores // threads_per_run, or the cluster's CPUs)
    max_queued = 200       # runs waiting in the queue
    epoch_cap = 30         # largest number of epochs a student may ask for (leave out for no cap)
    executor = "local"     # "local" (worker processes on this machine) or "ray" (a Ray cluster)
    ray_address = "auto"   # with executor = "ray": the cluster address, or "local" to start one here
    threads_per_run = 1    # torch CPU threads of each run
    gpus_per_run = 0       # with executor = "ray": GPUs asked for each run (fractions allowed)

threads_per_run defaults to 1: the course's small CNNs gain little from a second thread (short convolutions
on batches of ~32 proteins), a two-thread run stalls whenever the other core is busy, and one-thread runs
let twice as many students train at once on the same cores, which is what a class waiting in a queue needs.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from protlab.checks import Choice, FloatRange, IntRange, check_fields, setting
from protlab.errors import ConfigError
from protlab.home import protlab_home

__all__ = ["EXECUTORS", "ClassSettings"]

EXECUTORS = ("local", "ray", "inprocess")  # "inprocess" trains inside the server (comparison benchmark only)
_ENV = {
    "workers": "PROTLAB_WORKERS",
    "max_queued": "PROTLAB_MAX_QUEUED",
    "epoch_cap": "PROTLAB_EPOCH_CAP",
    "executor": "PROTLAB_EXECUTOR",
    "ray_address": "PROTLAB_RAY_ADDRESS",
    "threads_per_run": "PROTLAB_THREADS_PER_RUN",
    "gpus_per_run": "PROTLAB_GPUS_PER_RUN",
}


@dataclass(frozen=True)
class ClassSettings:
    """How the server runs the class's training runs."""

    # runs training at once; 0 = auto (cores // threads_per_run, or the Ray cluster's CPUs)
    workers: int = setting(0, IntRange(0, 1024, note="0 = one per threads_per_run cores"))
    max_queued: int = setting(
        200, IntRange(1, 100_000)
    )  # runs accepted into the queue (waiting, not yet training)
    # most epochs one run may ask for; None = no cap beyond TrainConfig's 1000
    epoch_cap: int | None = setting(None, IntRange(1, 1000, note="leave it out for no cap", optional=True))
    executor: str = setting(
        "local", Choice(EXECUTORS)
    )  # 'local' processes, 'ray' cluster, 'inprocess' (benchmark)
    ray_address: str | None = None  # Ray address: 'auto', 'ray://host:10001', or 'local' (start one here)
    threads_per_run: int = setting(1, IntRange(1, 256))  # torch CPU threads per run
    gpus_per_run: float = setting(0.0, FloatRange(0, 64))  # GPUs per run on Ray (0 = CPU only)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError naming the first setting outside its allowed range."""
        check_fields(self)
        address = self.ray_address
        if address is not None and (not isinstance(address, str) or not address.strip()):
            raise ConfigError(
                f"ray_address must be a non-empty text such as 'auto' or 'ray://head:10001'; "
                f"got {self.ray_address!r}."
            )

    @property
    def resolved_workers(self) -> int:
        """Runs training at once on this machine: workers, or cores // threads_per_run when it is 0."""
        if self.workers:
            return self.workers
        return max(1, (os.cpu_count() or 1) // self.threads_per_run)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, home: Path | str | None = None) -> ClassSettings:
        """Settings from $PROTLAB_HOME/class.toml (if present), overridden by PROTLAB_* variables."""
        environ = dict(os.environ if environ is None else environ)
        if home is None:
            home = protlab_home(environ)
        values = _read_toml(Path(home) / "class.toml")
        for name, var in _ENV.items():
            text = environ.get(var)
            if text is not None:
                values[name] = _parse_env(name, var, text)
        return cls(**values)


def _read_toml(path: Path) -> dict:
    """The settings in class.toml (empty when there is no such file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise ConfigError(f"{path} cannot be read ({err.strerror}); check its permissions.") from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML ({err}); fix the line it names.") from None
    known = [f.name for f in fields(ClassSettings)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{path} has unknown setting(s) {unknown}; allowed settings are {known}.")
    if values.get("gpus_per_run") is not None and isinstance(values["gpus_per_run"], int):
        values["gpus_per_run"] = float(values["gpus_per_run"])
    return values


def _parse_env(name: str, var: str, text: str) -> object:
    """One PROTLAB_* variable as the setting's type, with a message naming the variable."""
    text = text.strip()
    if name == "executor":
        return text
    if name == "ray_address":
        return text or None
    if name == "epoch_cap" and text.lower() in ("", "none"):
        return None
    try:
        return float(text) if name == "gpus_per_run" else int(text)
    except ValueError:
        kind = "a number" if name == "gpus_per_run" else "a whole number"
        raise ConfigError(f"{var} must be {kind}; got {text!r}.") from None
