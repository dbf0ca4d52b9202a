"""Checkers for notebook 11's optimizers, ``Momentum`` and ``Adam``, against :mod:`course_lib.optim`
(early stopping and the training loop are in :mod:`.fit11`).

The student's optimizer class is built as ``cls(lr, ...)`` and stepped with ``opt.step(params, grads)``
(the notebook's base class gives ``step``, which calls the student's ``update``); the parameters it
updated in place are read back after every step and compared with the reference's, and a wrong
trajectory is named after the known mistake (a subclass of the reference) that reproduces it.
"""
from __future__ import annotations

import numpy as np

from .. import bugs_training, optim
from ..snapshot import copy_data
from .compare import check_array, describe
from .core import Finding, call, fail, finish, method, passed, quiet
from .recognise import Variant, first_match, matches

__all__ = ["check_Momentum", "check_Adam"]


# ------------------------------------------------------------------ optimizers
def _gradients(rng, shapes: dict, steps: int, zero_at: int | None = None) -> list[dict]:
    grads = [{n: rng.standard_normal(s) * rng.choice([0.01, 1.0, 50.0], size=s) for n, s in shapes.items()}
             for _ in range(steps)]
    if zero_at is not None:  # a step with no gradient at all: only the optimizer's memory moves the parameters
        grads[zero_at] = {n: np.zeros(s) for n, s in shapes.items()}
    return grads


class _Run:
    """One optimizer case: constructor arguments, starting parameters and a gradient per step;
    ``twin``: a second instance stepped in turn with the first (state must not be shared)."""

    def __init__(self, label, args, kwargs, params, grads, twin=False, hint=""):
        self.label, self.args, self.kwargs, self.params, self.grads, self.twin = label, args, kwargs, params, grads, twin
        self.hint = hint  # for the message when the student's code raises on this case


def _trajectory(cls, run: _Run) -> list[dict]:
    """The parameters after every step of a reference (or variant) optimizer class."""
    opt = cls(*run.args, **run.kwargs)
    params = copy_data(run.params)
    out = []
    for g in run.grads:
        opt.step(params, copy_data(g))
        out.append(copy_data(params))
    return out


def _student_trajectories(ex: str, cls, run: _Run) -> list[list[tuple[dict, object]]]:
    """(params after the step, what step returned) for every step, per instance (two when twin)."""
    shown = ", ".join([*map(repr, run.args), *(f"{k}={v!r}" for k, v in run.kwargs.items())])
    instances = [call(ex, cls, *run.args, on=f"{ex}({shown}) for {run.label}", **run.kwargs).result
                 for _ in range(2 if run.twin else 1)]
    steps = [method(ex, opt, "step", run.label) for opt in instances]
    params = [copy_data(run.params) for _ in instances]
    out = [[] for _ in instances]
    for k, g in enumerate(run.grads):
        for i, step in enumerate(steps):
            which = f" of the {'first' if i == 0 else 'second'} optimizer" if run.twin else ""
            done = call(ex, step, params[i], g, on=f"step {k + 1}{which} ({run.label})", hint=run.hint)
            params[i] = done.args[0]
            out[i].append((copy_data(params[i]), done.result))
    return out


def _judge_optimizer(ex: str, cls, reference, runs: list[_Run], variants_of, rule: str) -> None:
    """Step the student's optimizer through every run and compare each step with ``reference``'s;
    ``rule`` is the hint when no known mistake explains a wrong step."""
    for run in runs:
        expected = _trajectory(reference, run)
        for i, got in enumerate(_student_trajectories(ex, cls, run)):
            for k, ((params, updates), want) in enumerate(zip(got, expected)):
                which = f" (the {'first' if i == 0 else 'second'} of two optimizers stepped in turn)" if run.twin else ""
                findings = [check_array(f"{n} after step {k + 1} for {run.label}{which}", params.get(n), want[n],
                                        rtol=1e-10, atol=1e-13) for n in want]
                if any(findings):
                    with quiet():
                        match = first_match([p for p, _ in got], variants_of(run), expected)
                    if match is not None:
                        findings.append(Finding("", [match.hint], match.bug))
                    elif (run.twin and i == 1) or (k == 0 and _shares_state(ex, cls, run, params)):
                        findings.append(Finding("", ["A new optimizer must start from scratch: keep its state on self "
                                                     "(made in __init__), not in a class attribute that every "
                                                     "instance shares. " + rule]))
                    else:
                        findings.append(Finding("", [rule]))
                    finish(ex, findings, run.label)
                if not isinstance(updates, dict) or sorted(map(str, updates)) != sorted(want):
                    fail(ex, f"step should return the dict of updates it applied, keyed like grads; got "
                         f"{describe(updates)} (step {k + 1}, {run.label}).",
                         ["update(...) must return the change it wants added to the parameter (the base class's "
                          "step adds it in place and collects the updates)."], case=run.label, status="error")


def _shares_state(ex: str, cls, run: _Run, first: dict) -> bool:
    """Whether a new instance's first step differs from the one just taken by another new instance on the
    same parameters and gradient: then the instances share state (a class attribute)."""
    probe = call(ex, cls, *run.args, on=f"a new optimizer ({run.label})", **run.kwargs).result
    done = call(ex, method(ex, probe, "step", run.label), copy_data(run.params), run.grads[0],
                on=f"the first step of a new optimizer ({run.label})")
    return not matches(done.args[0], first, rtol=1e-12, atol=1e-15)


class _SGD(optim.Momentum):
    """Momentum that keeps no velocity: plain SGD."""

    def _update(self, name, param, grad, lr):
        return -lr * grad


class _Nesterov(optim.Momentum):
    def _update(self, name, param, grad, lr):
        velocity = self.mu * self._slot(name, "velocity", param) - lr * grad
        self.state[name]["velocity"] = velocity
        return self.mu * velocity - lr * grad


class _MuInside(optim.Momentum):
    def _update(self, name, param, grad, lr):
        velocity = self.mu * (self._slot(name, "velocity", param) - lr * grad)
        self.state[name]["velocity"] = velocity
        return velocity


def _momentum_runs(hidden: bool, seed: int) -> list[_Run]:
    rng = np.random.default_rng(seed + 31)
    shapes = {"W": (3, 4), "b": (4,)}
    start = lambda: {n: rng.standard_normal(s) for n, s in shapes.items()}  # noqa: E731
    runs = [_Run("lr=0.1, mu=0.9, four steps", (0.1,), {"mu": 0.9}, start(), _gradients(rng, shapes, 4))]
    if hidden:
        runs += [_Run("mu=0.5 and a step whose gradient is zero", (0.05,), {"mu": 0.5}, start(),
                      _gradients(rng, shapes, 5, zero_at=2)),
                 _Run("mu=0: momentum without memory is plain SGD", (0.2,), {"mu": 0.0}, start(),
                      _gradients(rng, shapes, 3)),
                 _Run("two optimizers stepped in turn", (0.1,), {"mu": 0.9}, start(), _gradients(rng, shapes, 3), twin=True),
                 _Run("a 0-d parameter and one of shape (1, 1)", (0.3,), {"mu": 0.8},
                      {"s": np.array(rng.standard_normal()), "M": rng.standard_normal((1, 1))},
                      _gradients(rng, {"s": (), "M": (1, 1)}, 4))]
    return runs


def check_Momentum(cls, hidden: bool = False, seed: int = 0):
    """cls(lr, mu=0.9): step(params, grads) takes the classical steps v <- mu v - lr g (this step's g),
    param <- param + v, v starting at 0 for each parameter."""
    def variants_of(run):
        return [Variant("Every update lags one gradient behind: the velocity must take this step's gradient, "
                        "v <- mu v - lr g_t (section 11.3).", lambda: _trajectory(bugs_training.MomentumPreviousGradient,
                                                                                  run), "momentum_previous_gradient"),
                Variant("These are plain SGD steps: keep the velocity of each parameter between steps (in "
                        "self.state[name]) and add mu times it to every new step.", lambda: _trajectory(_SGD, run)),
                Variant("That is Nesterov's look-ahead step, mu v_new - lr g; this exercise is classical momentum, "
                        "whose update is the velocity itself.", lambda: _trajectory(_Nesterov, run)),
                Variant("mu multiplies the gradient's term too, mu (v - lr g); only the old velocity decays: "
                        "v <- mu v - lr g.", lambda: _trajectory(_MuInside, run))]
    runs = _momentum_runs(hidden, seed)
    _judge_optimizer("Momentum", cls, optim.Momentum, runs, variants_of,
                     "Each step: v <- mu v - lr g with this step's g, then param <- param + v; v starts at 0 for each "
                     "parameter and is kept in self.state[name] (section 11.3).")
    return passed("Momentum", len(runs))


class _EpsInside(optim.Adam):
    def _update(self, name, param, grad, lr):
        m = self.beta1 * self._slot(name, "m", param) + (1 - self.beta1) * grad
        v = self.beta2 * self._slot(name, "v", param) + (1 - self.beta2) * grad * grad
        self.state[name]["m"], self.state[name]["v"] = m, v
        return -lr * (m / (1 - self.beta1 ** self.t)) / np.sqrt(v / (1 - self.beta2 ** self.t) + self.eps)


class _LateCount(optim.Adam):
    """Bias correction with t + 1 (a step counter incremented twice, or counted from 1 before the step)."""

    def _update(self, name, param, grad, lr):
        m = self.beta1 * self._slot(name, "m", param) + (1 - self.beta1) * grad
        v = self.beta2 * self._slot(name, "v", param) + (1 - self.beta2) * grad * grad
        self.state[name]["m"], self.state[name]["v"] = m, v
        t = self.t + 1
        return -lr * (m / (1 - self.beta1 ** t)) / (np.sqrt(v / (1 - self.beta2 ** t)) + self.eps)


def _adam_runs(hidden: bool, seed: int) -> list[_Run]:
    rng = np.random.default_rng(seed + 37)
    shapes = {"W": (3, 4), "b": (4,)}
    start = lambda: {n: rng.standard_normal(s) for n, s in shapes.items()}  # noqa: E731
    runs = [_Run("lr=0.01 and the default betas, four steps", (0.01,), {}, start(), _gradients(rng, shapes, 4))]
    if hidden:
        runs += [_Run("beta1=0.5, beta2=0.9, eps=1e-3 and a step whose gradient is zero", (0.05,),
                      {"beta1": 0.5, "beta2": 0.9, "eps": 1e-3}, start(), _gradients(rng, shapes, 5, zero_at=1)),
                 _Run("a cosine schedule as lr (update must use its lr argument)", (optim.CosineDecay(0.1, 4, 0.01),), {},
                      start(), _gradients(rng, shapes, 5),
                      hint="update receives lr, the rate of this step (a schedule gives a new one every step): use "
                           "that argument, not self.lr, which may be the schedule itself."),
                 _Run("two optimizers stepped in turn", (0.02,), {}, start(), _gradients(rng, shapes, 3), twin=True),
                 _Run("one step only (the bias correction matters most there)", (0.1,), {"beta2": 0.99}, start(),
                      _gradients(rng, shapes, 1))]
    return runs


def check_Adam(cls, hidden: bool = False, seed: int = 0):
    """cls(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8): step(params, grads) takes Adam's bias-corrected steps,
    -lr m_hat / (sqrt(v_hat) + eps), with t = 1 on the first step."""
    def variants_of(run):
        return [Variant("The first steps are several times too large: without bias correction m and v, which start "
                        "at 0, underestimate the gradient's moments. Divide m by 1 - beta1**t and v by "
                        "1 - beta2**t (section 11.4).", lambda: _trajectory(bugs_training.AdamWithoutBiasCorrection,
                                                                            run), "adam_no_bias_correction"),
                Variant("eps is inside the square root; Adam divides by sqrt(v_hat) + eps (it matters where v_hat "
                        "is tiny, a gradient that was zero).", lambda: _trajectory(_EpsInside, run)),
                Variant("The bias correction uses t + 1: the base class's step has already counted this step, so "
                        "self.t is 1 on the first call of update.", lambda: _trajectory(_LateCount, run))]
    runs = _adam_runs(hidden, seed)
    _judge_optimizer("Adam", cls, optim.Adam, runs, variants_of,
                     "Each step: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g**2 (both kept per parameter, from 0), "
                     "then param <- param - lr m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - b1**t), "
                     "v_hat = v / (1 - b2**t) (section 11.4).")
    return passed("Adam", len(runs))
