"""Notebook 06's helpers: verifying the whole system, then training on the digits (syllabus section 6).

The integration test has two halves: a gradient check of every parameter group
(:func:`syllabus_gradient_check`) and a run that overfits the syllabus's tiny batch (loss 1.1408
at step 0, 0.2514 at step 199; :func:`catalogue_curves` draws the same run with a bug injected).
The notebook then chooses a learning rate on a validation split and trains on the 8x8 digits.
"""
from __future__ import annotations

import numpy as np

from . import bugs, data, gradcheck, mlp, train
from .losses import one_hot

# The syllabus's printed run: lr = 0.5, 200 full-batch steps from init_params(5, 4, 3, seed=0).
SYLLABUS_FIRST_LOSS = 1.1408
SYLLABUS_LAST_LOSS = 0.2514
SYLLABUS_LR = 0.5
SYLLABUS_STEPS = 200
# Every group's relative error in the syllabus's check is near 1e-10.
SYLLABUS_GRADCHECK_BOUND = 1e-9
# The share of held-out digits a trained network must classify (notebook 06's last exercise).
DIGITS_TARGET = 0.95


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
    """Train one network per learning rate; returns lr -> validation accuracy.
    X_fit: (N, d0), y_fit: (N,), X_val: (M, d0), y_val: (M,)."""
    C = int(max(y_fit.max(), y_val.max())) + 1
    out = {}
    for lr in lrs:
        params = mlp.init_params(X_fit.shape[1], d1, C, seed=seed)
        train.train(params, X_fit, one_hot(y_fit, C), lr=lr, steps=steps, batch_size=batch_size, seed=seed)
        with np.errstate(all="ignore"):
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
