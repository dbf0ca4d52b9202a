"""Catalogued bugs of notebook 11 (weight decay, momentum, Adam): working buggy variants,
and the checks that catch them.

Each check takes one argument, a candidate for what the bug breaks (an optimizer class
with the reference's constructor, or a function with the reference's signature), and
returns a :class:`course_lib.check_result.CheckResult`. The optimizer checks compare with
steps computed by hand from the update rules, not with :mod:`course_lib.optim`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .check_result import CheckResult
from .gradcheck import numerical_gradient, rel_error
from .optim import Adam, Momentum
from .weight_decay import decayed_names, l2_penalty

TOL = 1e-7


# ---------------------------------------------------------------- the variants
class AdamWithoutBiasCorrection(Adam):
    """Adam that divides the raw averages m / (sqrt(v) + eps), without m_hat and v_hat."""

    def _update(self, name, param, grad, lr):
        m = self.beta1 * self._slot(name, "m", param) + (1 - self.beta1) * grad
        v = self.beta2 * self._slot(name, "v", param) + (1 - self.beta2) * grad * grad
        self.state[name]["m"], self.state[name]["v"] = m, v
        return -lr * m / (np.sqrt(v) + self.eps)


class MomentumPreviousGradient(Momentum):
    """Momentum whose velocity takes the gradient of the step before (0 on the first step):
    v <- mu v - lr g_(t-1). Every update lags one gradient behind."""

    def _update(self, name, param, grad, lr):
        previous = self._slot(name, "previous_grad", param)
        velocity = self.mu * self._slot(name, "velocity", param) - lr * previous
        self.state[name]["velocity"], self.state[name]["previous_grad"] = velocity, np.array(grad)
        return velocity


def l2_penalty_gradient_with_biases(params, lam):
    """The L2 gradient lam * theta for every parameter, biases included."""
    return {n: lam * p for n, p in params.items()}


def l2_penalty_gradient_doubled(params, lam):
    """The gradient of (lam / 2) ||W||^2 written 2 lam W (the derivative of lam ||W||^2)."""
    return {n: 2 * lam * params[n] for n in decayed_names(params)}


# ------------------------------------------------------------------ the checks
_GRADS = [np.array([0.5, -1.0, 2.0]), np.array([0.25, 1.0, -4.0]), np.array([1.0, -0.5, 2.0])]
_START = np.array([1.0, -2.0, 3.0])


def _trajectory(optimizer) -> list[np.ndarray]:
    params = {"w": _START.copy()}
    path = []
    for g in _GRADS:
        optimizer.step(params, {"w": g.copy()})
        path.append(params["w"].copy())
    return path


def _describe(path) -> str:
    return "; ".join(np.array2string(p, precision=5) for p in path)


def check_momentum_steps(momentum_cls: Callable, lr: float = 0.1, mu: float = 0.9) -> CheckResult:
    """momentum_cls(lr, mu) must take the classical steps v <- mu v - lr g_t, w <- w + v, from v = 0,
    with this step's gradient (notebook 11, section 11.3)."""
    w, v, expected = _START.copy(), np.zeros(3), []
    for g in _GRADS:
        v = mu * v - lr * g
        w = w + v
        expected.append(w)
    got = _trajectory(momentum_cls(lr, mu=mu))
    if not all(np.allclose(a, b, rtol=1e-12, atol=1e-12) for a, b in zip(got, expected)):
        lag = " The first step did not move: the velocity used the previous step's gradient." \
            if np.allclose(got[0], _START) else ""
        return CheckResult("check_momentum_steps", False,
                           f"three momentum steps from {_START} should reach {_describe(expected)}, got "
                           f"{_describe(got)}.{lag} Use this step's gradient in v <- mu v - lr g (section 11.3)")
    return CheckResult("check_momentum_steps", True, "momentum takes the classical steps")


def check_adam_steps(adam_cls: Callable, lr: float = 0.1) -> CheckResult:
    """adam_cls(lr) (default betas 0.9, 0.999, eps 1e-8) must take bias-corrected steps; the first
    moves every entry by lr against its gradient's sign (notebook 11, section 11.4)."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    w, m, v, expected = _START.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(_GRADS, start=1):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        expected.append(w)
    got = _trajectory(adam_cls(lr))
    if not all(np.allclose(a, b, rtol=1e-10, atol=1e-12) for a, b in zip(got, expected)):
        first = np.abs(got[0] - _START)
        hint = (f" The first step moved each entry by {np.array2string(first, precision=4)} instead of lr = {lr:g}: "
                "without bias correction it is (1 - b1) / sqrt(1 - b2) = 3.16 times too large."
                if np.allclose(first, 3.1623 * lr, rtol=1e-3) else "")
        return CheckResult("check_adam_steps", False,
                           f"three Adam steps from {_START} should reach {_describe(expected)}, got "
                           f"{_describe(got)}.{hint} Divide m by 1 - b1^t and v by 1 - b2^t (section 11.4)")
    return CheckResult("check_adam_steps", True, "Adam takes bias-corrected steps")


def _decay_params(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal(4),
            "W2": rng.standard_normal((4, 2)), "b2": rng.standard_normal(2)}


def check_weight_decay_spares_biases(gradient_fn: Callable, lam: float = 0.1) -> CheckResult:
    """gradient_fn(params, lam) -> {name: gradient of the penalty} must leave biases out (or at 0)
    (notebook 11, section 11.2)."""
    params = _decay_params()
    got = gradient_fn({k: v.copy() for k, v in params.items()}, lam)
    decayed = [n for n in params if params[n].ndim < 2 and n in got and np.any(np.asarray(got[n]) != 0)]
    if decayed:
        return CheckResult("check_weight_decay_spares_biases", False,
                           f"weight decay gave the biases {decayed} a gradient: decay only the weights, whose "
                           "size sets how sharply the network can bend (section 11.2)")
    return CheckResult("check_weight_decay_spares_biases", True, "only the weights are decayed")


def check_weight_decay_gradient(gradient_fn: Callable, lam: float = 0.1) -> CheckResult:
    """gradient_fn(params, lam) must be the gradient of l2_penalty = (lam / 2) sum ||W||^2,
    checked against central differences (notebook 11, section 11.2)."""
    params = _decay_params()
    got = gradient_fn({k: v.copy() for k, v in params.items()}, lam)
    wrong, doubled = [], []
    for name, p in params.items():
        numeric = numerical_gradient(lambda: l2_penalty(params, lam), p)
        g = np.asarray(got.get(name, np.zeros_like(p)))
        if g.shape != p.shape or rel_error(g, numeric) > TOL:
            wrong.append(name)
            doubled += [name] if g.shape == p.shape and np.allclose(g, 2 * numeric) and np.any(numeric) else []
    if wrong:
        hint = (" They are exactly twice the right values: the 1/2 of (lam/2)||W||^2 cancels the 2 of the "
                "square, leaving lam W." if doubled and doubled == wrong else "")
        return CheckResult("check_weight_decay_gradient", False,
                           f"the penalty's gradient for {wrong} disagrees with central differences of "
                           f"(lam/2) sum ||W||^2.{hint} (section 11.2)")
    return CheckResult("check_weight_decay_gradient", True, "the penalty's gradient is lam W for the weights")
