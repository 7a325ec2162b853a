"""The lesson's optimizers: torch.optim's own update functions, stepped without building an Optimizer.

torch.optim.SGD.step and torch.optim.Adam.step keep their state (momentum buffer, running averages, step
count) on the optimizer object and then call the functions torch.optim.sgd.sgd and torch.optim.adam.adam.
LessonOptimizer keeps the same state itself and calls the same functions, so every number on the
Gradient-descent page is torch's, bit for bit (tests/test_lesson_optim.py steps both side by side).

Why not the Optimizer object: its constructor and every step import torch._dynamo (the compiler, 1-2
CPU-seconds) the first time any optimizer is used in a process. The web server would pay that on a
student's first visit to the lesson; the update functions do not need it.
"""

from __future__ import annotations

import inspect

import torch
from torch.optim.adam import adam
from torch.optim.sgd import sgd

from protlab.training.step import optimizer_recipe


def torch_defaults(class_name: str) -> dict:
    """The keyword defaults of torch.optim.<class_name>'s constructor (e.g. Adam's eps=1e-08)."""
    params = inspect.signature(getattr(torch.optim, class_name)).parameters
    return {name: p.default for name, p in params.items() if p.default is not inspect.Parameter.empty}


class LessonOptimizer:
    """torch.optim's SGD or Adam over one tensor, with the state its step() would keep."""

    def __init__(self, params: torch.Tensor, name: str, **settings: object) -> None:
        self.params = params  # the tensor being optimized; its .grad is read by step()
        self.class_name, kwargs = optimizer_recipe(name, **settings)  # e.g. ("Adam", {"lr": 0.1, ...})
        self.group = {**torch_defaults(self.class_name), **kwargs}  # what the optimizer's param group holds
        self.momentum_buffer: list[torch.Tensor | None] = [None]  # SGD: None until the first step
        self.exp_avg = torch.zeros_like(params)  # Adam: running mean of the gradient
        self.exp_avg_sq = torch.zeros_like(params)  # Adam: running mean of the squared gradient
        self.step_count = torch.tensor(0.0, dtype=torch.float32)  # Adam: steps taken (a tensor, as in torch)

    def zero_grad(self) -> None:
        """Drop the gradient (set_to_none, torch's default)."""
        self.params.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """Update params in place from params.grad, exactly as torch.optim.<class>.step() would."""
        grad = self.params.grad
        if grad is None:  # torch skips a parameter without a gradient
            return
        g = self.group
        if self.class_name == "SGD":
            sgd(
                [self.params],
                [grad],
                self.momentum_buffer,  # filled in place on the first momentum step
                weight_decay=g["weight_decay"],
                momentum=g["momentum"],
                lr=g["lr"],
                dampening=g["dampening"],
                nesterov=g["nesterov"],
                maximize=g["maximize"],
                foreach=g["foreach"],
                fused=g["fused"],
            )
            return
        beta1, beta2 = g["betas"]
        adam(
            [self.params],
            [grad],
            [self.exp_avg],
            [self.exp_avg_sq],
            [],  # the running maximum of exp_avg_sq, kept only with amsgrad
            [self.step_count],  # counted up in place before the update, as torch's step() does
            amsgrad=g["amsgrad"],
            beta1=beta1,
            beta2=beta2,
            lr=g["lr"],
            weight_decay=g["weight_decay"],
            eps=g["eps"],
            maximize=g["maximize"],
            foreach=g["foreach"],
            capturable=g["capturable"],
            differentiable=g["differentiable"],
            fused=g["fused"],
            decoupled_weight_decay=g["decoupled_weight_decay"],
        )
