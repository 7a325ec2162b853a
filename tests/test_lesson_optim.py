"""The lesson's optimizers against torch.optim's own objects, stepped side by side."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from protlab.lessons.lesson_optim import LessonOptimizer, torch_defaults

SETTINGS = {  # protlab.training optimizer name -> settings a student could pick
    "sgd": {"lr": 0.05},
    "sgd_momentum": {"lr": 0.02, "momentum": 0.6},
    "adam": {"lr": 0.1, "betas": (0.85, 0.95)},
}
REFERENCE = {  # the same optimizers written out by hand
    "sgd": lambda p: torch.optim.SGD([p], lr=0.05),
    "sgd_momentum": lambda p: torch.optim.SGD([p], lr=0.02, momentum=0.6),
    "adam": lambda p: torch.optim.Adam([p], lr=0.1, betas=(0.85, 0.95)),
}


def _rosenbrock(p: torch.Tensor) -> torch.Tensor:
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_steps_equal_the_torch_optimizer_bit_for_bit(name):
    ours = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_(True)
    lesson, reference = LessonOptimizer(ours, name, **SETTINGS[name]), REFERENCE[name](theirs)
    for _ in range(60):
        for optimizer, p in ((lesson, ours), (reference, theirs)):
            optimizer.zero_grad()
            (_rosenbrock(p) * 1e-2).backward()
            optimizer.step()
        assert torch.equal(ours, theirs)
    assert not torch.equal(ours, torch.tensor([-1.2, 1.0], dtype=torch.float64))  # it did move


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_its_settings_are_the_param_group_torch_builds(name):
    lesson = LessonOptimizer(torch.zeros(2), name, **SETTINGS[name])
    reference = REFERENCE[name](torch.zeros(2, requires_grad=True))
    expected = {k: v for k, v in reference.param_groups[0].items() if k != "params"}
    assert type(reference).__name__ == lesson.class_name and lesson.group == expected
    rebuilt = getattr(torch.optim, lesson.class_name)([torch.zeros(2, requires_grad=True)], **lesson.group)
    assert {k: v for k, v in rebuilt.param_groups[0].items() if k != "params"} == expected


def test_torch_defaults_are_read_from_the_constructor():
    adam = torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    assert torch_defaults("Adam")["eps"] == adam.defaults["eps"]
    assert torch_defaults("SGD")["momentum"] == 0


def test_a_missing_gradient_leaves_the_tensor_alone():
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    optimizer = LessonOptimizer(p, "adam", lr=0.1)
    optimizer.step()
    assert p.tolist() == [1.0, 2.0] and int(optimizer.step_count) == 0


def test_stepping_the_lesson_never_loads_the_compiler():
    code = (
        "import sys\n"
        "from protlab.lessons.landscape import SURFACES, OptimizerSpec, Trajectory, OPTIMIZER_KINDS\n"
        "for kind in OPTIMIZER_KINDS:\n"
        "    Trajectory(SURFACES['bowl'], OptimizerSpec(kind, 0.1), (1.0, 1.0)).step(5)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
