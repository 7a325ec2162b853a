"""Two-parameter loss surfaces and torch.optim's own update steps across them, for the descent lesson."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from protlab.checks import Choice, FloatRange, IntRange, check_fields, setting
from protlab.lessons.lesson_optim import LessonOptimizer

OPTIMIZER_KINDS = ("sgd", "momentum", "adam")  # the optimizers a student can compare
OPTIMIZER_LABELS = {"sgd": "SGD", "momentum": "SGD + momentum", "adam": "Adam"}
_TRAINING_NAMES = {"sgd": "sgd", "momentum": "sgd_momentum", "adam": "adam"}  # kind -> protlab.training name
MAX_STEPS_PER_CALL = 1000  # most steps one "Run N" request may take
ESCAPE_FACTOR = 50.0  # a path this many half-widths away from the plotted domain has diverged
MAX_LOSS = 1e12  # a loss above this counts as exploding
START_RANGE = FloatRange(-1000, 1000, tip="Start on or near the map.")  # each start coordinate


# ---------------------------------------------------------------- the Tm data set


def tm_dataset(n: int = 40, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Return a small synthetic melting-temperature set: standardised GRAVY (x) and Tm in deg C (y)."""
    rng = np.random.default_rng(seed)
    gravy = rng.normal(-0.35, 0.4, size=n)  # raw GRAVY scores of n proteins
    tm = 58.0 + 9.0 * (gravy + 0.35) + rng.normal(0.0, 3.5, size=n)  # more hydrophobic -> more stable
    x = (gravy - gravy.mean()) / gravy.std()  # (n,) standardised: mean 0, std 1
    return x.astype(np.float64), tm.astype(np.float64)


_TM_X, _TM_Y = tm_dataset()


def _tm_mse(w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """MSE (deg C squared) of the line Tm = w * x + b on the Tm data; broadcasts over w and b."""
    x = torch.as_tensor(_TM_X, dtype=w.dtype)  # (n,)
    y = torch.as_tensor(_TM_Y, dtype=w.dtype)  # (n,)
    residual = w.unsqueeze(-1) * x + b.unsqueeze(-1) - y  # (..., n)
    return (residual**2).mean(dim=-1)


def _tm_mse_grad(w: float, b: float) -> tuple[float, float]:
    """Exact MSE gradient: dL/dw = 2/n sum x_i r_i, dL/db = 2/n sum r_i with r_i = w x_i + b - y_i."""
    residual = w * _TM_X + b - _TM_Y
    return float(2.0 * np.mean(_TM_X * residual)), float(2.0 * np.mean(residual))


# ---------------------------------------------------------------- surfaces


@dataclass(frozen=True)
class Surface:
    """A loss surface over two parameters, with its own hand-derived gradient."""

    key: str  # short id used in widgets and generated code
    title: str  # name shown to students
    description: str  # one or two sentences on what this surface teaches
    formula: str  # the loss as students would write it (plain text)
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # torch loss of (p1, p2), broadcasting
    grad: Callable[[float, float], tuple[float, float]]  # gradient by hand (calculus), for checking autograd
    domain: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max of the plotted view
    start: tuple[float, float]  # suggested start point
    minima: tuple[tuple[float, float], ...]  # known minima, drawn as stars
    axis_labels: tuple[str, str] = ("parameter 1", "parameter 2")  # axis titles with units
    loss_label: str = "loss"  # what the loss measures, with units
    log_contours: bool = False  # colour the contours by log10(1 + loss) when the range is huge
    code: str = ""  # the loss as a Python expression of p1, p2 for generated code
    default_lr: tuple[float, float, float] = (0.1, 0.05, 0.1)  # stable learning rates for sgd, momentum, adam

    def suggested_lr(self, kind: str) -> float:
        """Return a learning rate that descends this surface without diverging."""
        return self.default_lr[OPTIMIZER_KINDS.index(kind)]

    def value(self, point: tuple[float, float]) -> float:
        """Return the loss at one point."""
        p1, p2 = (torch.tensor(v, dtype=torch.float64) for v in point)
        return float(self.loss(p1, p2))

    def grid(self, n: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (xs (n,), ys (n,), Z (n, n)) with Z[i, j] the loss at (xs[j], ys[i])."""
        x_min, x_max, y_min, y_max = self.domain
        xs = torch.linspace(x_min, x_max, n, dtype=torch.float64)  # (n,)
        ys = torch.linspace(y_min, y_max, n, dtype=torch.float64)  # (n,)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")  # (n, n) each
        return xs.numpy(), ys.numpy(), self.loss(xx, yy).numpy()


_MINIMUM_W = float(np.mean(_TM_X * _TM_Y) / np.mean(_TM_X**2))  # least squares with standardised x
_MINIMUM_B = float(np.mean(_TM_Y))

SURFACES: dict[str, Surface] = {
    s.key: s
    for s in [
        Surface(
            key="bowl",
            title="Round bowl",
            description="The friendliest landscape: one minimum, and every direction curves equally.",
            formula="L = p1² + p2²",
            loss=lambda a, b: a**2 + b**2,
            grad=lambda a, b: (2 * a, 2 * b),
            domain=(-4.0, 4.0, -4.0, 4.0),
            start=(-3.0, 2.5),
            minima=((0.0, 0.0),),
            code="p1 ** 2 + p2 ** 2",
        ),
        Surface(
            key="valley",
            title="Narrow valley (ill-conditioned)",
            description=(
                "Steep walls across, a gentle slope along: plain SGD zig-zags; "
                "momentum rolls along the floor."
            ),
            formula="L = 0.5 · (p1² + 25 · p2²)",
            loss=lambda a, b: 0.5 * (a**2 + 25 * b**2),
            grad=lambda a, b: (a, 25 * b),
            domain=(-5.0, 5.0, -2.0, 2.0),
            start=(-4.5, 1.2),
            minima=((0.0, 0.0),),
            code="0.5 * (p1 ** 2 + 25 * p2 ** 2)",
            default_lr=(0.07, 0.02, 0.2),
        ),
        Surface(
            key="himmelblau",
            title="Himmelblau (four minima)",
            description="Four valleys of equal depth: where you start decides which one you end in.",
            formula="L = (p1² + p2 − 11)² + (p1 + p2² − 7)²",
            loss=lambda a, b: (a**2 + b - 11) ** 2 + (a + b**2 - 7) ** 2,
            grad=lambda a, b: (
                4 * a * (a**2 + b - 11) + 2 * (a + b**2 - 7),
                2 * (a**2 + b - 11) + 4 * b * (a + b**2 - 7),
            ),
            domain=(-5.0, 5.0, -5.0, 5.0),
            start=(-0.5, -0.5),
            minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
            log_contours=True,
            code="(p1 ** 2 + p2 - 11) ** 2 + (p1 + p2 ** 2 - 7) ** 2",
            default_lr=(0.01, 0.002, 0.1),
        ),
        Surface(
            key="saddle",
            title="Saddle between two valleys",
            description=(
                "At (0, 0) the slope is flat but it is not a minimum: "
                "a path that starts on the ridge line p2 = 0 stalls there."
            ),
            formula="L = p1² + p2⁴/4 − p2²/2",
            loss=lambda a, b: a**2 + b**4 / 4 - b**2 / 2,
            grad=lambda a, b: (2 * a, b**3 - b),
            domain=(-2.0, 2.0, -2.0, 2.0),
            start=(-1.8, 0.02),
            minima=((0.0, 1.0), (0.0, -1.0)),
            code="p1 ** 2 + p2 ** 4 / 4 - p2 ** 2 / 2",
        ),
        Surface(
            key="tm_mse",
            title="Real MSE: melting temperature vs GRAVY",
            description=(
                f"The loss of the line Tm = w · x + b fitted to {len(_TM_X)} proteins, where x is their "
                "standardised GRAVY score. Every point of this map is a different line."
            ),
            formula="L(w, b) = mean over proteins of (w · x_i + b − Tm_i)²",
            loss=_tm_mse,
            grad=_tm_mse_grad,
            domain=(-15.0, 25.0, 20.0, 90.0),
            start=(-10.0, 25.0),
            minima=((_MINIMUM_W, _MINIMUM_B),),
            axis_labels=("w: slope (°C per standard deviation of GRAVY)", "b: intercept (°C)"),
            loss_label="MSE (°C²)",
            log_contours=True,
            code="((w * x + b - tm) ** 2).mean()",
            default_lr=(0.1, 0.05, 1.0),
        ),
    ]
}


def get_surface(key: str) -> Surface:
    """Return the surface with this key, or raise ConfigError naming the allowed keys."""
    Choice(tuple(SURFACES), tip="Pick one from the list.").check(key, "surface")
    return SURFACES[key]


def autograd_gradient(surface: Surface, point: tuple[float, float]) -> tuple[float, float]:
    """Return the gradient at a point computed by torch.autograd."""
    params = torch.tensor(point, dtype=torch.float64, requires_grad=True)  # (2,)
    surface.loss(params[0], params[1]).backward()
    return float(params.grad[0]), float(params.grad[1])


# ---------------------------------------------------------------- optimizers


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer a student wants to run on the surface."""

    kind: str = setting(check=Choice(OPTIMIZER_KINDS))  # "sgd", "momentum" or "adam"
    lr: float = setting(check=FloatRange(0, 10_000, low_open=True, tip="Try 0.1."))  # step size
    momentum: float = setting(0.9, FloatRange(0, 1, high_open=True, tip="Try 0.9."))  # "momentum" only
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's decay rates for the two running averages

    @property
    def label(self) -> str:
        """Return the legend label, e.g. 'Adam (lr 0.1)'."""
        return f"{OPTIMIZER_LABELS[self.kind]} (lr {self.lr:g})"

    @property
    def settings(self) -> dict:
        """The protlab.training optimizer settings of this spec (each optimizer uses the ones it needs)."""
        return {"lr": self.lr, "momentum": self.momentum, "betas": tuple(self.betas)}

    @property
    def optimizer(self) -> str:
        """The protlab.training optimizer name of this kind ('momentum' is 'sgd_momentum')."""
        return _TRAINING_NAMES[self.kind]

    def validate(self) -> None:
        """Raise ConfigError if a setting is outside its allowed range."""
        check_fields(self, {"kind": "optimizer", "lr": "learning rate"})


@dataclass
class StepRecord:
    """Where one optimizer stood at one step, and what it saw there."""

    step: int  # 0 is the start point
    p1: float  # first parameter
    p2: float  # second parameter
    grad1: float  # dL/dp1 at this point (NaN once diverged)
    grad2: float  # dL/dp2 at this point
    loss: float  # loss at this point


@dataclass
class Trajectory:
    """One optimizer's path over a surface: a real 2-parameter tensor moved by torch.optim's updates."""

    surface: Surface  # the landscape being descended
    spec: OptimizerSpec  # which optimizer, with which settings
    start: tuple[float, float]  # start point
    records: list[StepRecord] = field(default_factory=list)  # one per visited point, start included
    diverged: bool = False  # True once the path exploded; no more steps are taken
    diverged_reason: str = ""  # a sentence saying what exploded and when

    def __post_init__(self) -> None:
        self.spec.validate()
        for i, value in enumerate(self.start, 1):
            START_RANGE.check(value, f"start{i}", label=f"start parameter {i}")
        self.params = torch.tensor(self.start, dtype=torch.float64, requires_grad=True)  # (2,) float64
        self.optimizer = LessonOptimizer(self.params, self.spec.optimizer, **self.spec.settings)
        self._record(0, *self._loss_and_grad())

    def _loss_and_grad(self) -> tuple[float, float, float]:
        """Compute loss and gradient at the current point with autograd (gradient left in params.grad)."""
        self.optimizer.zero_grad()
        loss = self.surface.loss(self.params[0], self.params[1])
        loss.backward()
        return float(loss.detach()), float(self.params.grad[0]), float(self.params.grad[1])

    def _record(self, step: int, loss: float, g1: float, g2: float) -> None:
        p1, p2 = (float(v) for v in self.params.detach())
        self.records.append(StepRecord(step, p1, p2, g1, g2, loss))

    def _exploded(self, record: StepRecord) -> str:
        """Return a reason if this point counts as diverged, else an empty string."""
        values = (record.p1, record.p2, record.loss, record.grad1, record.grad2)
        if not all(np.isfinite(v) for v in values):
            return f"the numbers became infinite or NaN at step {record.step}"
        x_min, x_max, y_min, y_max = self.surface.domain
        far_x = abs(record.p1 - (x_min + x_max) / 2) > ESCAPE_FACTOR * (x_max - x_min) / 2
        far_y = abs(record.p2 - (y_min + y_max) / 2) > ESCAPE_FACTOR * (y_max - y_min) / 2
        if far_x or far_y:
            return f"the parameters flew far outside the map by step {record.step}"
        if record.loss > MAX_LOSS:
            return f"the loss exceeded {MAX_LOSS:.0e} at step {record.step}"
        return ""

    def step(self, n: int = 1) -> int:
        """Take up to n optimizer steps (fewer if the path diverges); return how many were taken."""
        IntRange(1, MAX_STEPS_PER_CALL).check(n, "n", label="number of steps")
        taken = 0
        while taken < n and not self.diverged:
            self.optimizer.step()  # uses the gradient left in params.grad by the last evaluation
            with torch.no_grad():
                finite = bool(torch.isfinite(self.params).all())
            loss, g1, g2 = self._loss_and_grad() if finite else (float("nan"),) * 3
            taken += 1
            self._record(len(self.records), loss, g1, g2)
            reason = self._exploded(self.records[-1])
            if reason:
                self.diverged = True
                self.diverged_reason = reason
        return taken

    @property
    def last(self) -> StepRecord:
        """Return the most recent record."""
        return self.records[-1]

    def diverged_at(self) -> int | None:
        """The one step at which this path is reported as diverged, or None.

        A path diverges when it exploded (see _exploded), or when it is off the map with a loss that rose
        over its last three steps and is above the starting loss; the step named is the first one off the
        map (the step of the explosion when it never left the map).
        """
        left = self.left_domain_at()
        if self.diverged:
            return left if left is not None else self.records[-1].step
        recent = [r.loss for r in self.records[-3:]]
        growing = len(self.records) > 3 and recent == sorted(recent) and recent[-1] > self.records[0].loss
        return left if left is not None and growing else None

    def left_domain_at(self) -> int | None:
        """Return the first step whose point lies outside the plotted domain, or None."""
        x_min, x_max, y_min, y_max = self.surface.domain
        for r in self.records:
            inside = x_min <= r.p1 <= x_max and y_min <= r.p2 <= y_max
            if not (np.isfinite(r.p1) and np.isfinite(r.p2)) or not inside:
                return r.step
        return None


def path_table(trajectory: Trajectory) -> pd.DataFrame:  # noqa: F821 - pandas imported lazily
    """Return one row per step: parameters, gradient and loss."""
    import pandas as pd

    names = {"tm_mse": ("w", "b"), "real_slice": ("α", "β")}  # surfaces whose parameters have names
    p1_name, p2_name = names.get(trajectory.surface.key, ("p1", "p2"))
    rows = [
        {
            "step": r.step,
            p1_name: r.p1,
            p2_name: r.p2,
            f"dL/d{p1_name}": r.grad1,
            f"dL/d{p2_name}": r.grad2,
            "loss": r.loss,
        }
        for r in trajectory.records
    ]
    return pd.DataFrame(rows)
