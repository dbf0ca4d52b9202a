"""The checker of notebook 06's last exercise, ``train_digits``: a network trained on the 8x8 digits must
classify at least 95% of a held-out split it never saw (syllabus section 6).

The hidden test draws its split from its seed and shows the 64 pixels of every image in an order
shuffled by that seed (the same for training and test images), so that the grade depends on how the
network is trained, not on which digits are public; a run that misses the target is diagnosed from
its loss curve (diverged, underfit, or trained on something else).
"""
from __future__ import annotations

import math

import numpy as np

from .. import data, mlp
from ..system import DIGITS_TARGET
from .compare import describe, unchanged
from .core import Finding, call, fail, finish, passed, quiet, say

__all__ = ["check_train_digits"]


def _validate_params(ex: str, params, d0: int, C: int, case: str) -> None:
    if not isinstance(params, dict):
        fail(ex, f"the first thing returned should be the params dict, got {describe(params)}.", case=case,
             status="error")
    missing = [k for k in mlp.PARAM_NAMES if k not in params]
    if missing:
        fail(ex, f"params is missing {missing}; it has {sorted(map(str, params))}.", case=case, status="error")
    for k in mlp.PARAM_NAMES:
        v = params[k]
        if type(v) is not np.ndarray or not np.issubdtype(v.dtype, np.floating):
            fail(ex, f"params[{k!r}] should be a numpy float array, got {describe(v)}.", case=case, status="error")
        if not np.all(np.isfinite(v)):
            fail(ex, f"params[{k!r}] contains inf or NaN: the training diverged.",
                 ["Lower the learning rate: each step overshot until the weights overflowed."], case=case)
    W1 = params["W1"]
    d1 = W1.shape[1] if W1.ndim == 2 else -1
    want = {"W1": (d0, d1), "b1": (d1,), "W2": (d1, C), "b2": (C,)}
    for k, shape in want.items():
        if params[k].shape != shape or d1 < 1:
            fail(ex, f"params[{k!r}] has shape {params[k].shape}; a network for {d0} pixels and {C} classes with W1 "
                 f"of {W1.shape} needs {k}: {shape}.", case=case)


def _losses_of(history) -> list | None:
    """The per-step losses of what train_digits returned as its history: a History (its .loss) or a list."""
    if isinstance(history, (list, tuple, np.ndarray)):
        losses = history
    else:
        try:
            losses = getattr(history, "loss", None)
        except Exception:
            losses = None
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) == 0:
        return None
    try:
        return [float(v) for v in losses]
    except (TypeError, ValueError):
        return None


def training_diagnosis(losses: list, train_acc: float, C: int) -> str:
    """What a run that missed the target did wrong, read off its per-step losses.

    Diverged (the steps are too large): a loss that is not finite, that spiked more than 1 above
    where it started, or that ended near ln C (the loss of guessing) far above its best. Underfit:
    the loss fell but the training accuracy is low too. Otherwise it memorised the training set.
    """
    L = np.asarray(losses, dtype=float)
    if not np.all(np.isfinite(L)):
        return ("The training loss became inf or NaN: the steps are so large that training diverged. Lower the "
                "learning rate.")
    n = max(1, L.size // 10)
    first, last, best, worst = float(L[:n].mean()), float(L[-n:].mean()), float(L.min()), float(L.max())
    chance = math.log(C)
    if worst > L[0] + 1.0 or last > first or (last > 0.8 * chance and last > best + 0.5):
        return (f"Training diverged: the loss jumped as high as {worst:.3g} and ended near {last:.3g}"
                + (f", close to ln {C} = {chance:.2f}, the loss of guessing" if last > 0.8 * chance else "")
                + ". The steps are too large: lower the learning rate (plain SGD on the digits is stable up to "
                  "about 1).")
    if last < 0.5 and train_acc < 0.9:
        return (f"Its training loss ended low ({last:.3g}), yet it classifies only {train_acc:.1%} of the training "
                "digits it was given: it was not trained on them. Train on the X_train and y_train passed in (the "
                "hidden test shuffles the pixels, so a network fitted to other images gains nothing).")
    if train_acc < 0.97:
        return (f"The training accuracy is low too ({train_acc:.1%}), so the network underfits (its loss ended at "
                f"{last:.3g}): train for more steps, use more hidden units, or raise a small learning rate "
                "(plain SGD diverges above about 1 here).")
    return ("The training accuracy is high: the network memorises the training set without generalising; "
            "try fewer steps or a smaller network.")


def digits_setting(hidden: bool, seed: int):
    """(split, pixel order, train seed, description). Visible: split seed 0, pixels in their order.
    Hidden: the split is drawn with a seed derived from ``seed`` and the 64 pixels of every image are
    shuffled by a permutation drawn from it, the same for training and test images."""
    if not hidden:
        return data.digits(seed=0), np.arange(64), 0, "the 450 held-out test digits of split seed 0"
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 6103])
    split_seed = int(rng.integers(1 << 32))
    order = rng.permutation(64)
    split = data.digits(seed=split_seed)
    return (split, order, int(seed) & 0xFFFFFFFF,
            f"the {len(split.y_test)} held-out test digits of split seed {split_seed} (pixels shuffled)")


def check_train_digits(fn, hidden: bool = False, seed: int = 0):
    """fn(X_train: (N, 64), y_train: (N,), seed=...) -> (params, history); the params must classify the
    held-out test split (never shown to fn) with at least 95% accuracy.

    The hidden test trains and tests on a split of the digits chosen by its seed, and shows every image
    with its 64 pixels in an order shuffled by that seed (the same order for the training and the test
    images). A fully connected network learns just as well from shuffled pixels, so a sound training
    run passes; a network that memorised the public test images gains nothing.
    """
    ex = "train_digits"
    split, order, train_seed, where = digits_setting(hidden, seed)
    X_train, X_test = split.X_train[:, order], split.X_test[:, order]
    on = f"training on {len(split.y_train)} digits, seed={train_seed}" + (" (pixels shuffled)" if hidden else "")
    done = call(ex, fn, X_train, split.y_train, seed=train_seed, on=on)
    findings = [unchanged({"X_train": X_train, "y_train": split.y_train},
                          {"X_train": done.args[0], "y_train": done.args[1]})]
    got = done.result
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(ex, f"should return a pair (params, history), got {describe(got)}.",
             ["End with `return params, history` (train.train returns the history)."], case=on, status="error")
    params, history = got
    _validate_params(ex, params, X_train.shape[1], split.classes, on)
    losses = _losses_of(history)
    if losses is None:
        fail(ex, f"history should be the course_lib.train.History of the run (train.train returns one), with its "
             f"per-step losses in history.loss; got {describe(history)}.", case=on, status="error")
    with quiet():
        test_acc = float(np.mean(mlp.predict(params, X_test) == split.y_test))
        train_acc = float(np.mean(mlp.predict(params, X_train) == split.y_train))
    if test_acc < DIGITS_TARGET:
        shuffled = (" (This hidden test uses another split and shuffles the order of the 64 pixels, the same way for "
                    "training and test images: a network trained soundly on the data it is given does as well.)"
                    if hidden else "")
        findings.append(Finding(f"your network gets {test_acc:.1%} of {where} right (training accuracy "
                                f"{train_acc:.1%}); the target is {DIGITS_TARGET:.0%}.{shuffled}",
                                [training_diagnosis(losses, train_acc, split.classes)]))
    finish(ex, findings, on)
    say(f"  test accuracy {test_acc:.1%} on {where} (training accuracy {train_acc:.1%})")
    return passed(ex, 1)
