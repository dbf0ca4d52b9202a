"""A minimal SGD training loop for the two-layer network."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import mlp
from .losses import accuracy, cross_entropy


@dataclass
class History:
    """Per-step records of a run: the loss and accuracy on the batch each step used,
    and (when test data were given) the test accuracy after each epoch."""

    loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        """The loss recorded at the last step (NaN for an empty history)."""
        return self.loss[-1] if self.loss else float("nan")


def train(
    params: dict,
    X: np.ndarray,
    Y: np.ndarray,
    lr: float = 0.5,
    steps: int = 200,
    batch_size: int | None = None,
    seed: int = 0,
    ops: mlp.Ops | None = None,
    forward=None,
    backward=None,
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> History:
    """Run ``steps`` SGD steps on ``params`` (updated in place) and return the history.

    X: (N, d0); Y: (N, C) one-hot or (N,) labels. ``batch_size=None`` is full
    batch (the syllabus's setting: the loss recorded at each step is the loss
    before that step's update); otherwise minibatches are drawn by reshuffling
    with ``default_rng(seed)`` every epoch. ``forward``/``backward`` default to
    :mod:`course_lib.mlp` with ``ops``; pass others (a student's, or a bug's
    from :meth:`course_lib.bugs.Bug.network`) to train those instead.
    A run that diverges (a non-finite loss) stops early.
    """
    ops = ops or mlp.reference_ops()
    forward = forward or (lambda p, Xb: mlp.forward(p, Xb, ops))
    backward = backward or (lambda p, c, Yb: mlp.backward(p, c, Yb, ops))
    N = X.shape[0]
    rng = np.random.default_rng(seed)
    order = np.arange(N)
    start = N
    history = History()
    for _ in range(steps):
        if batch_size is None or batch_size >= N:
            Xb, Yb = X, Y
        else:
            if start + batch_size > N:
                order, start = rng.permutation(N), 0
                if X_test is not None and history.loss:
                    history.test_accuracy.append(evaluate(params, X_test, y_test, forward))
            rows = order[start:start + batch_size]
            start += batch_size
            Xb, Yb = X[rows], Y[rows]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            Yhat, cache = forward(params, Xb)
            step_loss = cross_entropy(Yhat, Yb)
            history.loss.append(step_loss)
            history.accuracy.append(accuracy(Yhat, Yb))
            if not np.isfinite(step_loss):
                break
            mlp.sgd_step(params, backward(params, cache, Yb), lr)
    if X_test is not None:
        history.test_accuracy.append(evaluate(params, X_test, y_test, forward))
    return history


def evaluate(params: dict, X: np.ndarray, Y: np.ndarray, forward=None) -> float:
    """Accuracy of the network on X: (N, d0) against Y: (N, C) or (N,)."""
    forward = forward or mlp.forward
    Yhat, _ = forward(params, X)
    return accuracy(Yhat, Y)
