"""Checkers and helpers for notebook 06, verifying the whole system (syllabus section 6).

The integration test has two halves: a gradient check of every parameter group
and a run that overfits the syllabus's tiny batch (loss 1.1408 at step 0,
0.2514 at step 199). The notebook then trains the network for real, on the
8x8 digits, and draws decision regions on the 2-D spirals.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import bugs, data, gradcheck, mlp, train
from ..losses import one_hot
from .cases import network_cases
from .core import CheckFailed, call, check_not_mutated, describe, passed, quiet, say

__all__ = ["check_overfit_tiny_batch", "check_predict", "check_train_digits"]

# The syllabus's printed run: lr = 0.5, 200 full-batch steps from init_params(5, 4, 3, seed=0).
SYLLABUS_FIRST_LOSS = 1.1408
SYLLABUS_LAST_LOSS = 0.2514
SYLLABUS_LR = 0.5
SYLLABUS_STEPS = 200
# Every group's relative error in the syllabus's check is near 1e-10.
SYLLABUS_GRADCHECK_BOUND = 1e-9
DIGITS_TARGET = 0.95
# The loss curve must agree with the reference this closely (any equivalent loss formula passes).
CURVE_RTOL = 1e-6
CURVE_ATOL = 1e-9


# ------------------------------------------------------------------ helpers
def syllabus_gradient_check() -> gradcheck.GradCheckReport:
    """Section 6's check: all four groups of init_params(5, 4, 3, seed=0) on the tiny batch, before training."""
    X, Y = data.tiny_batch()
    params = mlp.init_params(5, 4, 3, seed=0)
    Yhat, cache = mlp.forward(params, X)
    grads = mlp.backward(params, cache, Y)
    return gradcheck.grad_check(lambda: mlp.loss(params, X, Y), params, grads, kinks={"Z1": cache["Z1"]})


def catalogue_curves(names: list[str], lr: float = SYLLABUS_LR, steps: int = SYLLABUS_STEPS) -> dict:
    """The syllabus's overfit run with each named catalogue bug injected: label -> losses (one per step).
    A run whose loss becomes non-finite stops there."""
    X, Y = data.tiny_batch()
    curves = {}
    for name in names:
        bug = bugs.get(name)
        forward, backward = bug.network()
        params = mlp.init_params(5, 4, 3, seed=0)
        curves[f"{bug.title} ({bug.activation})" if bug.activation != "relu" else bug.title] = train.train(
            params, X, Y, lr=lr, steps=steps, forward=forward, backward=backward).loss
    return curves


def validation_split(X: np.ndarray, y: np.ndarray, fraction: float = 0.2, seed: int = 0):
    """Carve a validation set out of training data: returns X_fit, y_fit, X_val, y_val.

    X: (N, d), y: (N,). Hyper-parameters are chosen on the validation part so that
    the test split stays unseen until the end.
    """
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = int(round(fraction * len(y)))
    val, fit = order[:n_val], order[n_val:]
    return X[fit], y[fit], X[val], y[val]


def sweep_learning_rates(X_fit, y_fit, X_val, y_val, lrs, d1: int = 64, steps: int = 1000,
                         batch_size: int = 64, seed: int = 0) -> dict:
    """Train one network per learning rate; returns lr -> validation accuracy."""
    C = int(max(y_fit.max(), y_val.max())) + 1
    out = {}
    for lr in lrs:
        params = mlp.init_params(X_fit.shape[1], d1, C, seed=seed)
        train.train(params, X_fit, one_hot(y_fit, C), lr=lr, steps=steps, batch_size=batch_size, seed=seed)
        with quiet():
            out[lr] = train.evaluate(params, X_val, y_val)
    return out


def plot_sweep(results: dict, ax=None, title: str = "Validation accuracy against the learning rate"):
    """results: lr -> accuracy, as :func:`sweep_learning_rates` returns."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    lrs = sorted(results)
    ax.semilogx(lrs, [results[lr] for lr in lrs], "o-", color="#1f77b4")
    ax.axhline(DIGITS_TARGET, color="k", linestyle="--", linewidth=1, label=f"target {DIGITS_TARGET:.0%}")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower left")
    return ax


def show_digits(X: np.ndarray, labels: np.ndarray, predicted: np.ndarray | None = None, count: int = 10,
                title: str = "Digits"):
    """Draw the first ``count`` images of X: (N, 64) in a row, titled with the label
    (and the prediction, when ``predicted``: (N,) is given)."""
    import matplotlib.pyplot as plt

    count = min(count, len(X))
    fig, axes = plt.subplots(1, max(count, 1), figsize=(1.3 * max(count, 1), 1.8), squeeze=False)
    for i, ax in enumerate(axes[0]):
        ax.axis("off")
        if i >= count:
            continue
        ax.imshow(X[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        text = f"{labels[i]}" if predicted is None else f"true {labels[i]}\nsaid {predicted[i]}"
        ax.set_title(text, fontsize="small")
    fig.suptitle(title, y=1.08 if predicted is not None else 1.02)
    return axes[0]


# ----------------------------------------------------------------- checkers
def _reference_losses(params, X, Y, lr, steps, forward=None, backward=None) -> np.ndarray:
    with quiet():
        history = train.train(copy.deepcopy(params), X, Y, lr=lr, steps=steps, forward=forward, backward=backward)
    return np.asarray(history.loss, dtype=float)


def _as_curve(ex: str, got) -> np.ndarray:
    if got is None:
        raise CheckFailed(ex, "returned None. Collect the losses in a list and `return` it.")
    if isinstance(got, np.ndarray) and got.ndim == 1:
        values = list(got)
    elif isinstance(got, (list, tuple)):
        values = list(got)
    else:
        raise CheckFailed(ex, f"should return a list of floats, one loss per step; got {describe(got)}.")
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (float, int, np.floating, np.integer)):
            raise CheckFailed(ex, f"entry {i} of your list is {describe(v)}, not a number. Append the loss as a float "
                              "(cross_entropy returns one).")
    return np.asarray(values, dtype=float)


def _curve_same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=CURVE_RTOL, atol=CURVE_ATOL))


def _overfit_cases(hidden: bool, seed: int) -> list[tuple]:
    """(label, params, X, Y, kwargs, lr, steps); kwargs are what the checker passes (the syllabus case passes none)."""
    X, Y = data.tiny_batch()
    cases = [("the syllabus's run (init_params(5, 4, 3, seed=0), the tiny batch, the defaults lr=0.5, steps=200)",
              mlp.init_params(5, 4, 3, seed=0), X, Y, {}, SYLLABUS_LR, SYLLABUS_STEPS)]
    rng = np.random.default_rng(seed)
    shapes = [(6, 4, 6, 2, 0.2, 30)]
    if hidden:
        shapes += [(10, 5, 4, 3, round(float(rng.uniform(0.1, 1.0)), 3), int(rng.integers(40, 90))),
                   (1, 7, 2, 4, round(float(rng.uniform(0.1, 1.0)), 3), int(rng.integers(5, 30))),
                   (5, 3, 1, 2, round(float(rng.uniform(0.1, 1.0)), 3), int(rng.integers(5, 30))),
                   (8, 5, 4, 3, round(float(rng.uniform(0.1, 1.0)), 3), 1)]
    for N, d0, d1, C, lr, steps in shapes:
        params = mlp.init_params(d0, d1, C, seed=int(rng.integers(1 << 30)))
        Xc = rng.standard_normal((N, d0))
        Yc = one_hot(rng.integers(0, C, N), C)
        cases.append((f"N={N}, d0={d0}, d1={d1}, C={C} with lr={lr}, steps={steps}", params, Xc, Yc,
                      {"lr": lr, "steps": steps}, lr, steps))
    return cases


def check_overfit_tiny_batch(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(params, X: (N, d0), Y: (N, C), lr=0.5, steps=200) -> list of `steps` losses, each the full-batch
    loss BEFORE that step's SGD update; the first case must reproduce the syllabus's 1.1408 -> 0.2514."""
    ex = "overfit_tiny_batch"
    cases = _overfit_cases(hidden, seed)
    for label, params, X, Y, kwargs, lr, steps in cases:
        got, copies = call(ex, fn, params, X, Y, **kwargs)
        check_not_mutated(ex, (X, Y), ((copies[0][1], copies[0][2]), {}), ["X", "Y"])
        curve = _as_curve(ex, got)
        expected = _reference_losses(params, X, Y, lr, steps)
        syllabus = not kwargs
        figures = (f" The syllabus's run starts at {SYLLABUS_FIRST_LOSS} and ends at {SYLLABUS_LAST_LOSS}"
                   + (f"; yours starts at {curve[0]:.4f} and ends at {curve[-1]:.4f}." if curve.size else ".")
                   if syllabus else "")
        if curve.size != steps:
            hint = ""
            if curve.size == steps + 1:
                hint = " Record the loss before each update only; do not add one more after the loop."
            elif curve.size == SYLLABUS_STEPS and steps != SYLLABUS_STEPS:
                hint = " Use the `steps` argument instead of a fixed 200."
            raise CheckFailed(ex, f"for {label}: expected {steps} losses (one per step), got {curve.size}.{hint}"
                              + figures)
        if not np.all(np.isfinite(curve)):
            raise CheckFailed(ex, f"for {label}: the losses contain inf or NaN: {describe(curve)}.{figures}")
        if _curve_same(curve, expected):
            continue
        diff = np.flatnonzero(~np.isclose(curve, expected, rtol=CURVE_RTOL, atol=CURVE_ATOL))
        i = int(diff[0])
        msg = (f"for {label}: the loss at step {i} should be {expected[i]:.6f}, got {curve[i]:.6f}."
               f"\n  expected {describe(expected)}\n  got      {describe(curve)}.")
        if steps > 1 and np.allclose(curve[:-1], expected[1:], rtol=CURVE_RTOL, atol=CURVE_ATOL):
            msg += (" Your curve is the expected one moved one step to the left: record the loss BEFORE each "
                    "update (step 0 is the untrained network's loss).")
        elif i == 0:
            msg += " The very first loss is already different: compute the mean cross entropy of the untrained network."
        elif kwargs and _curve_same(curve, _reference_losses(params, X, Y, SYLLABUS_LR, steps)):
            msg += " This is the run with lr=0.5: use the `lr` argument."
        bug = None
        for candidate in bugs.CATALOGUE.values():
            if candidate.target in ("forward", "softmax") or candidate.activation != "relu":
                continue
            forward, backward = candidate.network()
            buggy = _reference_losses(params, X, Y, lr, steps, forward, backward)
            if not _curve_same(buggy, expected) and _curve_same(curve, buggy):
                bug = candidate.name
                break
        raise CheckFailed(ex, msg + figures, bug=bug)
    passed(ex, len(cases))


def check_predict(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(params, X: (N, d0)) -> labels: (N,) integers, the most probable class of each row."""
    ex = "predict"
    cases = network_cases(hidden, seed)
    for case in cases:
        got, copies = call(ex, fn, case.params, case.X)
        check_not_mutated(ex, (case.params, case.X), copies, ["params", "X"])
        expected = mlp.predict(case.params, case.X)
        if type(got) is not np.ndarray:
            raise CheckFailed(ex, f"should return a numpy array of {case.N} labels, got {describe(got)}.")
        if got.shape != expected.shape:
            hint = ""
            if got.shape == case.Yhat.shape:
                hint = " That is one row of probabilities per example: take the arg-max of each row (axis=1)."
            elif got.shape == (case.Yhat.shape[1],):
                hint = (" That is one value per class: the arg-max must run along each row (axis=1), "
                        "not down the columns.")
            raise CheckFailed(ex, f"for {case.label}: expected labels of shape {expected.shape}, "
                              f"got {got.shape}.{hint}")
        if not np.issubdtype(got.dtype, np.integer):
            raise CheckFailed(ex, f"for {case.label}: labels should be integers (argmax gives them), "
                              f"got dtype {got.dtype}.")
        if not np.array_equal(got, expected):
            wrong = np.flatnonzero(got != expected)
            bug = None
            with quiet():
                A1 = np.maximum(case.X @ case.params["W1"] + case.params["b1"], 0)
                Z2 = A1 @ case.params["W2"] + case.params["b2"]
                if np.array_equal(got, np.nan_to_num(bugs.softmax_unshifted(Z2), nan=-1.0).argmax(axis=1)):
                    bug = "unstable_softmax"
            raise CheckFailed(ex, f"for {case.label}: rows {wrong.tolist()[:5]} get the wrong class."
                              f"\n  expected {describe(expected)}\n  got      {describe(got)}.", bug=bug)
    passed(ex, len(cases))


def _validate_params(ex: str, params, d0: int, C: int) -> None:
    if not isinstance(params, dict):
        raise CheckFailed(ex, f"the first thing returned should be the params dict, got {describe(params)}.")
    missing = [k for k in mlp.PARAM_NAMES if k not in params]
    if missing:
        raise CheckFailed(ex, f"params is missing {missing}; it has {sorted(params)}.")
    for k in mlp.PARAM_NAMES:
        v = params[k]
        if type(v) is not np.ndarray or not np.issubdtype(v.dtype, np.floating):
            raise CheckFailed(ex, f"params[{k!r}] should be a numpy float array, got {describe(v)}.")
        if not np.all(np.isfinite(v)):
            raise CheckFailed(ex, f"params[{k!r}] contains inf or NaN: the training diverged. Lower the learning rate.")
    W1, b1, W2, b2 = (params[k] for k in mlp.PARAM_NAMES)
    d1 = W1.shape[1] if W1.ndim == 2 else -1
    want = {"W1": (d0, d1), "b1": (d1,), "W2": (d1, C), "b2": (C,)}
    for k, shape in want.items():
        if params[k].shape != shape or d1 < 1:
            raise CheckFailed(ex, f"params[{k!r}] has shape {params[k].shape}; a network for {d0} pixels and {C} "
                              f"classes with W1 of {W1.shape} needs {k}: {shape}.")


def check_train_digits(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(X_train: (N, 64), y_train: (N,), seed=...) -> (params, history); the params must classify
    the held-out test split (never shown to fn) with at least 95% accuracy."""
    ex = "train_digits"
    splits = [(0, 0)] if not hidden else [(1 + seed % 9, seed)]
    for split_seed, train_seed in splits:
        split = data.digits(seed=split_seed)
        got, copies = call(ex, fn, split.X_train, split.y_train, seed=train_seed)
        check_not_mutated(ex, (split.X_train, split.y_train), copies, ["X_train", "y_train"])
        if not isinstance(got, tuple) or len(got) != 2:
            raise CheckFailed(ex, f"should return a tuple (params, history), got {describe(got)}.")
        params, history = got
        _validate_params(ex, params, split.X_train.shape[1], split.classes)
        losses = getattr(history, "loss", None)
        if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) == 0:
            raise CheckFailed(ex, "history should be the course_lib.train.History of the run (train.train returns "
                              f"one), with its per-step losses in history.loss; got {describe(history)}.")
        with quiet():
            test_acc = float(np.mean(mlp.predict(params, split.X_test) == split.y_test))
            train_acc = float(np.mean(mlp.predict(params, split.X_train) == split.y_train))
        where = f"the {len(split.y_test)} held-out test digits of split seed {split_seed}"
        if test_acc < DIGITS_TARGET:
            first, last = float(losses[0]), float(losses[-1])
            if not np.isfinite(last) or last >= first:
                hint = (f"The training loss did not fall (from {first:.3g} to {last:.3g}): the steps are too large "
                        "and training diverged. Lower the learning rate.")
            elif train_acc < 0.97:
                hint = ("The training accuracy is low too, so the network underfits: train for more steps, or "
                        "raise the learning rate (but above about 1 plain SGD diverges here).")
            else:
                hint = "The training accuracy is high: the network memorises the training set; try fewer steps."
            raise CheckFailed(ex, f"your network classifies {test_acc:.1%} of {where} correctly (training accuracy "
                              f"{train_acc:.1%}); the target is {DIGITS_TARGET:.0%}. {hint}")
        say(f"  test accuracy {test_acc:.1%} on {where} (training accuracy {train_acc:.1%})")
    passed(ex, len(splits))
