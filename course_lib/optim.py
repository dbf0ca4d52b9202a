"""Optimizers and learning-rate schedules over a params dict (notebook 11).

An optimizer's ``step(params, grads)`` updates every array named in ``grads``
in place (so other references to the arrays, such as the layers behind
:meth:`course_lib.layers.Sequential.named_params`, see the new values) and
returns the update it applied to each, for the update-to-weight ratio. All of
its state is on the object and can be read: ``t`` (steps taken) and ``state``
(parameter name -> dict of arrays, keyed by name, so pass the same names every step).

Momentum is the classical form CS231n teaches, ``v <- mu v - lr g;  theta <- theta + v``;
PyTorch writes ``v <- mu v + g;  theta <- theta - lr v``, the same steps for a fixed lr.
Weight decay is not an optimizer's business here: it is a term of the loss
(:mod:`course_lib.weight_decay`), whose gradient is added before the step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np


# ------------------------------------------------------------------ schedules
@dataclass(frozen=True)
class StepDecay:
    """lr * factor ** (t // every): the rate drops by ``factor`` every ``every`` steps."""

    lr: float
    factor: float = 0.1
    every: int = 1000

    def __call__(self, t: int) -> float:
        return self.lr * self.factor ** (t // self.every)


@dataclass(frozen=True)
class CosineDecay:
    """From lr at t = 0 down to lr_min at t = total_steps along half a cosine, then lr_min."""

    lr: float
    total_steps: int
    lr_min: float = 0.0

    def __call__(self, t: int) -> float:
        progress = min(t, self.total_steps) / self.total_steps
        return self.lr_min + (self.lr - self.lr_min) * (1 + math.cos(math.pi * progress)) / 2


# ----------------------------------------------------------------- optimizers
class Optimizer:
    """Base class. lr: a float, or a schedule t -> lr (t = the number of steps already taken)."""

    def __init__(self, lr: float | Callable[[int], float]):
        self.lr = lr
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def learning_rate(self) -> float:
        """The learning rate the next step will use."""
        return float(self.lr(self.t)) if callable(self.lr) else float(self.lr)

    def step(self, params: dict, grads: dict) -> dict:
        """Update ``params[name]`` in place for every name in ``grads`` (same shapes);
        returns {name: the update added to that parameter}."""
        lr = self.learning_rate()
        self.t += 1
        updates = {}
        for name, grad in grads.items():
            param = params[name]
            if np.shape(grad) != param.shape:
                raise ValueError(f"the gradient for {name} has shape {np.shape(grad)}, the parameter {param.shape}")
            update = self._update(name, param, np.asarray(grad), lr)
            param += update
            updates[name] = update
        return updates

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
        raise NotImplementedError

    def _slot(self, name: str, key: str, like: np.ndarray) -> np.ndarray:
        return self.state.setdefault(name, {}).setdefault(key, np.zeros_like(like))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr!r}, t={self.t})"


class SGD(Optimizer):
    """theta <- theta - lr * g. With a fixed lr it is exactly :func:`course_lib.mlp.sgd_step`."""

    def _update(self, name, param, grad, lr):
        return -lr * grad


class Momentum(Optimizer):
    """Classical momentum: v <- mu v - lr g (this step's g), theta <- theta + v; v starts at 0.

    state[name]["velocity"]: the parameter's shape.
    """

    def __init__(self, lr: float | Callable[[int], float], mu: float = 0.9):
        super().__init__(lr)
        self.mu = mu

    def _update(self, name, param, grad, lr):
        velocity = self.mu * self._slot(name, "velocity", param) - lr * grad
        self.state[name]["velocity"] = velocity
        return velocity


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction.

    m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2  (both start at 0),
    theta <- theta - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t).
    m and v start at 0, so early on they underestimate the gradient's moments; the corrections
    undo that. Without them each step is (1 - b1^t) / sqrt(1 - b2^t) times the corrected one:
    with the default betas 3.2 times too large on the first step, 6.5 times around t = 10,
    still 1.26 times at t = 1000 (v's average takes thousands of steps to warm up).
    state[name]: "m" and "v", the parameter's shape.
    """

    def __init__(self, lr: float | Callable[[int], float] = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _update(self, name, param, grad, lr):
        m = self.beta1 * self._slot(name, "m", param) + (1 - self.beta1) * grad
        v = self.beta2 * self._slot(name, "v", param) + (1 - self.beta2) * grad * grad
        self.state[name]["m"], self.state[name]["v"] = m, v
        # self.t was counted before this update: t = 1 on the first step.
        m_hat = m / (1 - self.beta1 ** self.t)
        v_hat = v / (1 - self.beta2 ** self.t)
        return -lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS: dict[str, type] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, lr: float | Callable[[int], float], **options) -> Optimizer:
    """The optimizer called ``name`` ("sgd", "momentum" or "adam") with learning rate ``lr``."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}") from None
    return cls(lr, **options)


def update_to_weight_ratio(updates: dict, params: dict) -> dict:
    """||update|| / ||theta|| per parameter (Frobenius norms), after a step.

    updates: what :meth:`Optimizer.step` returned; params: the parameters (same names).
    Around 1e-3 is the usual sign of a healthy learning rate (CS231n's rule of
    thumb); far above it the steps are too large, far below, training crawls. A
    parameter still at zero (a bias at the start) gives inf.
    """
    out = {}
    for name, update in updates.items():
        norm = float(np.linalg.norm(params[name]))
        step = float(np.linalg.norm(update))
        out[name] = step / norm if norm > 0 else (0.0 if step == 0 else float("inf"))
    return out
