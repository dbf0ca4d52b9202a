"""Checkers for notebook 11's optimizers (``Momentum``, ``Adam``), ``EarlyStopping`` and the training
loop ``fit``, against :mod:`course_lib.optim` and :mod:`course_lib.train`.

The student's optimizer class is built as ``cls(lr, ...)`` and stepped with ``opt.step(params, grads)``
(the notebook's base class gives ``step``, which calls the student's ``update``); the parameters it
updated in place are read back after every step. ``fit`` is given the course's own optimizer and
early-stopping objects and must replay :func:`course_lib.train.fit`'s run step for step.
"""
from __future__ import annotations

import numpy as np

from .. import bugs_training, data, mlp, optim, train, weight_decay
from ..snapshot import copy_data
from .compare import check_array, describe
from .core import Finding, call, fail, finish, method, passed, quiet
from .recognise import Variant, first_match

__all__ = ["check_Momentum", "check_Adam", "check_EarlyStopping", "check_fit"]


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
                    elif run.twin and i == 1:
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
                 _Run("mu=0: momentum without memory is plain SGD", (0.2,), {"mu": 0.0}, start(), _gradients(rng, shapes, 3)),
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


# ------------------------------------------------------------------ early stopping
_NAN = float("nan")


def _stopping_cases(hidden: bool) -> list[tuple[str, list, int, float]]:
    """(label, validation losses, patience, min_delta)."""
    cases = [("losses that fall, then rise, patience=2", [1.0, 0.8, 0.7, 0.75, 0.9, 1.1], 2, 0.0),
             ("a plateau, patience=3", [1.0, 0.9, 0.9, 0.85, 0.86, 0.85, 0.87, 0.9], 3, 0.0)]
    if hidden:
        cases += [("equal losses (a tie is not an improvement), patience=2", [0.5, 0.5, 0.5, 0.4], 2, 0.0),
                  ("improvements smaller than min_delta=0.05 do not count", [1.0, 0.97, 0.96, 0.93, 0.9, 0.89, 0.88],
                   3, 0.05),
                  ("patience=1", [1.0, 0.9, 0.95, 0.8], 1, 0.0),
                  ("an improvement resets the count, patience=2", [1.0, 1.1, 0.9, 1.0, 0.85, 0.95, 1.2, 1.3], 2, 0.0),
                  ("a NaN loss (a diverged epoch) never improves, patience=2", [1.0, _NAN, 0.9, _NAN, _NAN], 2, 0.0)]
    return cases


def _read(ex: str, obj, name: str, on: str):
    try:
        return getattr(obj, name)
    except AttributeError:
        fail(ex, f"the EarlyStopping object should have an attribute {name} (on {on}).",
             ["Keep best_loss, best_epoch and best_params on self; __init__ sets them to inf, -1 and None."], case=on,
             status="error")


def check_EarlyStopping(cls, hidden: bool = False, seed: int = 0):
    """cls(patience=5, min_delta=0.0) with update(val_loss, epoch, params) -> bool (stop now?) and the attributes
    best_loss, best_epoch and best_params (a copy of the parameters at the best epoch)."""
    ex = "EarlyStopping"
    rng = np.random.default_rng(seed + 41)
    cases = _stopping_cases(hidden)
    for label, losses, patience, min_delta in cases:
        on = label
        stopper = call(ex, cls, on=f"EarlyStopping(patience={patience}, min_delta={min_delta}) for {on}",
                       patience=patience, min_delta=min_delta).result
        update = method(ex, stopper, "update", on)
        reference = train.EarlyStopping(patience=patience, min_delta=min_delta)
        params = {"W": rng.standard_normal((2, 3)), "b": rng.standard_normal(3)}
        for epoch, loss in enumerate(losses):
            # Training moves the parameters in place between epochs: a stored reference would move with them.
            for p in params.values():
                p += 0.1 * rng.standard_normal(p.shape)
            want = reference.update(loss, epoch, params)
            got = call(ex, update, loss, epoch, params, on=f"epoch {epoch} of {on}", copy=False).result
            if not isinstance(got, (bool, np.bool_)) or bool(got) != want:
                history = ", ".join("nan" if v != v else f"{v:g}" for v in losses[:epoch + 1])
                fail(ex, f"after the validation losses [{history}] update should return {want}, got {describe(got)} "
                     f"({on}).", [_stopping_hint(losses[:epoch + 1], patience, min_delta, got)], case=on)
            if want:
                break
        best_epoch, best_loss, best_params = (_read(ex, stopper, n, on) for n in ("best_epoch", "best_loss", "best_params"))
        findings = []
        if best_epoch != reference.best_epoch:
            findings.append(Finding(f"best_epoch should be {reference.best_epoch}, got {describe(best_epoch)} ({on}).",
                                    ["Record the epoch whenever the loss improves on the best by more than min_delta."]))
        findings.append(check_array(f"best_loss for {on}", np.float64(best_loss) if isinstance(best_loss, (int, float))
                                    else best_loss, np.float64(reference.best_loss)))
        if not isinstance(best_params, dict) or sorted(map(str, best_params)) != sorted(params):
            findings.append(Finding(f"best_params should be a dict with the keys of params, got {describe(best_params)} "
                                    f"({on}).", status="error"))
        else:
            wrong = [check_array(f"best_params[{n!r}] for {on}", best_params[n], reference.best_params[n])
                     for n in params]
            if any(wrong):
                moved = all(type(best_params[n]) is np.ndarray and best_params[n].shape == params[n].shape
                            and np.allclose(best_params[n], params[n]) for n in params)
                findings += wrong
                if moved:
                    findings.append(Finding("", ["best_params holds the current parameters, not those of the best "
                                                 "epoch: training changes the arrays in place, so keep copies "
                                                 "({n: p.copy() for n, p in params.items()}), not the dict or its "
                                                 "arrays themselves."]))
        finish(ex, findings, on)
    return passed(ex, len(cases))


def _stopping_hint(losses: list, patience: int, min_delta: float, got) -> str:
    if any(v != v for v in losses):
        return ("A NaN loss is not an improvement: test `val_loss < best_loss - min_delta`, which is False for NaN, "
                "rather than its negation.")
    if len(set(losses)) < len(losses):
        return "A loss equal to the best is not an improvement: it must be smaller than best_loss - min_delta."
    if min_delta:
        return f"An improvement must beat the best by more than min_delta = {min_delta:g}."
    return (f"Count the epochs since the last improvement and stop once that count reaches patience = {patience}; "
            "an improvement sets the count back to 0.")


# ------------------------------------------------------------------ fit
class _FitCase:
    def __init__(self, label, params, X, Y, X_val, Y_val, make_optimizer, epochs, batch_size, seed, weight_decay=0.0,
                 patience=None):
        self.label, self.params, self.X, self.Y, self.X_val, self.Y_val = label, params, X, Y, X_val, Y_val
        self.make_optimizer, self.epochs, self.batch_size, self.seed = make_optimizer, epochs, batch_size, seed
        self.weight_decay, self.patience = weight_decay, patience


def reference_fit(case: _FitCase, penalty_gradient=weight_decay.l2_penalty_gradient) -> tuple[dict, dict]:
    """(history, the final params) of the run ``fit`` must make (with another L2 gradient, a variant's)."""
    params = copy_data(case.params)
    opt = case.make_optimizer()
    stopper = train.EarlyStopping(patience=case.patience) if case.patience else None
    history = {"train_loss": [], "val_loss": [], "update_ratio": [], "best_epoch": None}
    rng = np.random.default_rng(case.seed)
    for epoch in range(case.epochs):
        for rows in train.minibatches(len(case.X), case.batch_size, rng):
            _, cache = mlp.forward(params, case.X[rows])
            grads = weight_decay.add_weight_decay(mlp.backward(params, cache, case.Y[rows]), params, case.weight_decay,
                                                  penalty_gradient)
            history["update_ratio"].append(optim.update_to_weight_ratio(opt.step(params, grads), params))
        history["train_loss"].append(mlp.loss(params, case.X, case.Y))
        history["val_loss"].append(mlp.loss(params, case.X_val, case.Y_val))
        if stopper is not None and stopper.update(history["val_loss"][-1], epoch, params):
            break
    if stopper is not None:
        history["best_epoch"] = stopper.best_epoch
        for n, best in stopper.best_params.items():
            params[n][...] = best
    return history, params


def _blobs(rng, n_per_class: int, d1: int, half_wrong: bool = False):
    """(params, X, labels, X_val, labels_val) for three blobs in the plane; with ``half_wrong`` the second
    half of the validation labels is shifted to a wrong class."""
    X, y = data.blobs(n_per_class=n_per_class, classes=3, spread=1.0, seed=int(rng.integers(1 << 30)))
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    cut = int(0.6 * len(y))
    y_val = y[cut:].copy()
    if half_wrong:
        y_val[len(y_val) // 2:] = (y_val[len(y_val) // 2:] + 1) % 3
    params = mlp.init_params(2, d1, 3, seed=int(rng.integers(1 << 30)))
    return params, X[:cut], y[:cut], X[cut:], y_val


def _stopping_case(label: str, rng, weight_decay: float = 0.0, epochs: int = 15) -> _FitCase:
    """A run whose validation loss falls, then rises, so that early stopping ends it after its best epoch, 1 or
    later. Half the validation labels are wrong: the validation loss is lowest when the network is about half
    sure of each answer, which training passes on its way to certainty (about 70% of draws show it; drawn until
    one does)."""
    for _ in range(200):
        params, X, Y, X_val, Y_val = _blobs(rng, 10, 16, half_wrong=True)
        case = _FitCase(label, params, X, Y, X_val, Y_val, lambda: optim.Adam(0.01), epochs, 6, int(rng.integers(1000)),
                        weight_decay=weight_decay, patience=2)
        history, _ = reference_fit(case)
        if 1 <= history["best_epoch"] and len(history["val_loss"]) < epochs:
            return case
    raise RuntimeError("no run with early stopping found")  # pragma: no cover (tests show one is always found)


def fit_cases(hidden: bool, seed: int) -> list[_FitCase]:
    """Visible: SGD with a shorter last batch; Adam with weight decay and early stopping that stops the run.
    Hidden adds momentum with weight decay and batches of one, one batch larger than the data, and another
    stopped run."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 1109])
    p, X, Y, Xv, Yv = _blobs(rng, 15, 6)
    cases = [_FitCase("SGD(0.5), 27 examples in batches of 8 (the last has 3), 3 epochs", p, X, Y, Xv, Yv,
                      lambda: optim.SGD(0.5), 3, 8, int(rng.integers(1000)))]
    cases.append(_stopping_case("Adam(0.01), weight_decay=1e-3, early stopping with patience=2", rng, 1e-3))
    if hidden:
        p, X, Y, Xv, Yv = _blobs(rng, 5, 4)
        cases.append(_FitCase("Momentum(0.1, mu=0.9), weight_decay=0.01, batches of one, 2 epochs", p, X, Y, Xv, Yv,
                              lambda: optim.Momentum(0.1, mu=0.9), 2, 1, int(rng.integers(1000)), weight_decay=0.01))
        p, X, Y, Xv, Yv = _blobs(rng, 8, 5)
        cases.append(_FitCase("a batch larger than the data (one step per epoch), weight_decay=0.1", p, X, Y, Xv, Yv,
                              lambda: optim.Adam(0.02), 4, 50, int(rng.integers(1000)), weight_decay=0.1))
        cases.append(_stopping_case("another run that early stopping ends, patience=2, no weight decay", rng))
    return cases


def _history(ex: str, got, on: str) -> dict:
    keys = ["train_loss", "val_loss", "update_ratio", "best_epoch"]
    if not isinstance(got, dict) or not set(keys) <= set(map(str, got)):
        fail(ex, f"should return the history, a dict with the keys {keys}; got {describe(got)} (on {on}).",
             case=on, status="error")
    for k in ("train_loss", "val_loss", "update_ratio"):
        if not isinstance(got[k], (list, tuple)):
            fail(ex, f"history[{k!r}] should be a list, got {describe(got[k])} (on {on}).", case=on, status="error")
    return got


def check_fit(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X, Y, X_val, Y_val, optimizer, epochs, batch_size, seed=0, weight_decay=0.0, early_stopping=None)
    -> history {"train_loss", "val_loss" (per epoch), "update_ratio" (per step), "best_epoch"}; trains params in
    place (set back to the best epoch's with early stopping), exactly as course_lib.train.fit would."""
    ex = "fit"
    cases = fit_cases(hidden, seed)
    for case in cases:
        on = case.label
        with quiet():
            expected, final = reference_fit(case)
        stopper = train.EarlyStopping(patience=case.patience) if case.patience else None
        done = call(ex, fn, case.params, case.X, case.Y, case.X_val, case.Y_val, case.make_optimizer(), case.epochs,
                    case.batch_size, seed=case.seed, weight_decay=case.weight_decay, early_stopping=stopper, on=on)
        got = _history(ex, done.result, on)
        findings = []
        for k in ("train_loss", "val_loss"):
            findings.append(check_array(f"history[{k!r}] for {on}", np.asarray(got[k], dtype=float)
                                        if all(isinstance(v, (int, float, np.floating)) for v in got[k]) else got[k],
                                        np.asarray(expected[k]), rtol=1e-9, atol=1e-12))
        ratios = got["update_ratio"]
        if len(ratios) != len(expected["update_ratio"]):
            findings.append(Finding(f"history['update_ratio'] should have one entry per step, "
                                    f"{len(expected['update_ratio'])}, got {len(ratios)} ({on}).",
                                    ["Append update_to_weight_ratio(updates, params) after every optimizer step."]))
        elif not all(isinstance(r, dict) and sorted(map(str, r)) == sorted(e) for r, e in zip(ratios, expected["update_ratio"])):
            findings.append(Finding(f"each entry of history['update_ratio'] should be the dict update_to_weight_ratio "
                                    f"returns, one ratio per parameter ({on}).", status="error"))
        else:
            names = sorted(case.params)
            findings.append(check_array(f"history['update_ratio'] for {on} (steps by parameters {names})",
                                        np.array([[float(r[n]) for n in names] for r in ratios]),
                                        np.array([[e[n] for n in names] for e in expected["update_ratio"]]),
                                        rtol=1e-8, atol=1e-12))
        if got["best_epoch"] != expected["best_epoch"]:
            findings.append(Finding(f"history['best_epoch'] should be {expected['best_epoch']}, got "
                                    f"{describe(got['best_epoch'])} ({on}).",
                                    ["With early stopping, record early_stopping.best_epoch; without it, None."]))
        if not any(findings):
            findings += [check_array(f"params[{n!r}] after training, {on}", done.args[0].get(n), final[n],
                                     rtol=1e-8, atol=1e-12) for n in final]
        if any(findings):
            findings.append(_fit_diagnosis(case, got, expected))
        finish(ex, findings, on)
    return passed(ex, len(cases))


def _fit_diagnosis(case: _FitCase, got: dict, expected: dict) -> Finding | None:
    """What a run that does not replay the reference did differently, when a known variant explains it."""
    losses = got["train_loss"]
    with quiet():
        variants = [Variant("The weight decay reaches the biases too: add l2_penalty_gradient's entries, which exist "
                            "for the weights only (section 11.2).",
                            lambda: reference_fit(case, bugs_training.l2_penalty_gradient_with_biases)[0]["train_loss"],
                            "weight_decay_on_biases"),
                    Variant("The weight decay is twice too strong: its gradient is lam * W, not 2 lam W (section 11.2).",
                            lambda: reference_fit(case, bugs_training.l2_penalty_gradient_doubled)[0]["train_loss"],
                            "l2_gradient_doubled")]
        match = first_match(list(map(float, losses)) if all(isinstance(v, (int, float, np.floating)) for v in losses)
                            else losses, [v for v in variants if case.weight_decay], expected["train_loss"])
    if match is not None:
        return Finding("", [match.hint], match.bug)
    return Finding("", ["Replay the run exactly: one rng = np.random.default_rng(seed) before the first epoch, "
                        "train.minibatches(len(X), batch_size, rng) every epoch, the L2 gradient added to the data "
                        "gradients, optimizer.step, then the losses of the whole training and validation sets."])
