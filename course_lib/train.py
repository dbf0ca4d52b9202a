"""Training loops: the syllabus's SGD loop (:func:`train`), and an epoch loop with any
optimizer, weight decay, validation curves and early stopping (:func:`fit`, notebook 11).

Both train a params dict in place through ``forward(params, X) -> (Yhat, cache)``
and ``backward(params, cache, Y) -> grads``, :mod:`course_lib.mlp`'s by default;
:func:`sequential_network` gives the same pair for a :class:`course_lib.layers.Sequential`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterator

import numpy as np

from . import mlp
from .layers import Sequential, set_training
from .losses import accuracy, cross_entropy, softmax, softmax_cross_entropy_backward
from .optim import Optimizer, update_to_weight_ratio
from .rng import as_generator
from .weight_decay import add_weight_decay, l2_penalty


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
    optimizer: Optimizer | None = None,
    weight_decay: float = 0.0,
) -> History:
    """Run ``steps`` SGD steps on ``params`` (updated in place) and return the history.

    X: (N, d0); Y: (N, C) one-hot or (N,) labels. ``batch_size=None`` is full
    batch (the syllabus's setting: the loss recorded at each step is the loss
    before that step's update); otherwise minibatches are drawn by reshuffling
    with ``default_rng(seed)`` every epoch. ``forward``/``backward`` default to
    :mod:`course_lib.mlp` with ``ops``; pass others (a student's, or a bug's
    from :meth:`course_lib.bugs.Bug.network`) to train those instead.
    A run that diverges (a non-finite loss) stops early.

    ``optimizer`` (a :class:`course_lib.optim.Optimizer`, which carries its own
    learning rate: ``lr`` is then unused) replaces the plain SGD step;
    ``weight_decay`` lam > 0 adds the L2 penalty's gradient lam * W to every
    weight's gradient (:mod:`course_lib.weight_decay`). The recorded loss is the
    data loss, without the penalty.
    """
    ops = ops or mlp.reference_ops()
    update = optimizer.step if optimizer is not None else partial(mlp.sgd_step, lr=lr)
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
        step_loss, Yhat, _ = _step(params, Xb, Yb, forward, backward, weight_decay, update)
        history.loss.append(step_loss)
        history.accuracy.append(accuracy(Yhat, Yb))
        if not np.isfinite(step_loss):
            break
    if X_test is not None:
        history.test_accuracy.append(evaluate(params, X_test, y_test, forward))
    return history


def _step(params: dict, Xb: np.ndarray, Yb: np.ndarray, forward: Callable, backward: Callable,
          weight_decay: float, update: Callable) -> tuple[float, np.ndarray, object]:
    """One training step on a batch Xb: (n, d0), Yb: (n, C) or (n,): forward, data loss, backward,
    the L2 gradient, then update(params, grads). Returns (the loss before the update, Yhat: (n, C),
    what update returned); a non-finite loss skips the backward pass and the update (None)."""
    # A diverging run overflows on the way to its non-finite loss: the loss says so, not a warning.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        Yhat, cache = forward(params, Xb)
        loss = cross_entropy(Yhat, Yb)
        if not np.isfinite(loss):
            return loss, Yhat, None
        grads = add_weight_decay(backward(params, cache, Yb), params, weight_decay)
        return loss, Yhat, update(params, grads)


def evaluate(params: dict, X: np.ndarray, Y: np.ndarray, forward=None) -> float:
    """Accuracy of the network on X: (N, d0) against Y: (N, C) or (N,)."""
    forward = forward or mlp.forward
    Yhat, _ = forward(params, X)
    return accuracy(Yhat, Y)


# ------------------------------------------------------------ the epoch loop
def minibatches(N: int, batch_size: int, rng: np.random.Generator | int) -> Iterator[np.ndarray]:
    """One epoch of minibatches: index arrays (batch_size,) into N examples, the last one shorter
    when batch_size does not divide N. A fresh shuffle from ``rng`` (a Generator, or an int
    seed), so every example appears exactly once per epoch."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = as_generator(rng).permutation(N)
    for start in range(0, N, batch_size):
        yield order[start:start + batch_size]


@dataclass
class EarlyStopping:
    """Stop when the validation loss has not improved by ``min_delta`` for ``patience`` epochs.

    The state is on the object: ``best_loss``, ``best_epoch``, ``bad_epochs``, and
    ``best_params``, a copy of the parameters at the best epoch, for restoring.
    """

    patience: int = 5
    min_delta: float = 0.0
    best_loss: float = float("inf")
    best_epoch: int = -1
    bad_epochs: int = 0
    best_params: dict | None = None

    def update(self, val_loss: float, epoch: int, params: dict) -> bool:
        """Record this epoch's validation loss; True when training should stop."""
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, epoch, 0
            self.best_params = copy.deepcopy(params)
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience


@dataclass
class FitHistory:
    """What :func:`fit` recorded. Per step: ``step_loss`` (the minibatch's data loss before its
    update) and ``update_ratio`` ({name: ||update|| / ||theta||}). Per epoch, after it:
    ``train_loss``, ``train_accuracy`` on the whole training set and, with validation data,
    ``val_loss`` and ``val_accuracy``; ``penalty``, the L2 term at that point."""

    step_loss: list = field(default_factory=list)
    update_ratio: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    penalty: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    diverged: bool = False


def _score(forward, params, X, Y) -> tuple[float, float]:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        Yhat, _ = forward(params, X)
        return cross_entropy(Yhat, Y), accuracy(Yhat, Y)


def fit(params: dict, X: np.ndarray, Y: np.ndarray, optimizer: Optimizer, *, epochs: int = 20,
        batch_size: int = 64, seed: int = 0, weight_decay: float = 0.0, X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None, early_stopping: EarlyStopping | None = None,
        forward: Callable = mlp.forward, backward: Callable = mlp.backward,
        eval_forward: Callable | None = None) -> FitHistory:
    """Train ``params`` (in place) for up to ``epochs`` epochs of shuffled minibatches.

    X: (N, d0); Y: (N, C) one-hot or (N,) labels; X_val, y_val likewise. Each epoch
    visits every example once (:func:`minibatches`, from ``default_rng(seed)``);
    each step adds the L2 gradient when ``weight_decay`` > 0 and calls
    ``optimizer.step``. ``eval_forward`` (default ``forward``) scores the epochs:
    pass an evaluation-mode forward for networks with dropout or batch norm.
    With ``early_stopping`` (which needs validation data) training stops when the
    validation loss stalls and ``params`` are set back to the best epoch's values.
    A non-finite loss stops the run.
    """
    if early_stopping is not None and X_val is None:
        raise ValueError("early stopping needs validation data (X_val, y_val)")
    eval_forward = eval_forward or forward
    rng = np.random.default_rng(seed)
    history = FitHistory()
    for epoch in range(epochs):
        for rows in minibatches(X.shape[0], batch_size, rng):
            loss, _, updates = _step(params, X[rows], Y[rows], forward, backward, weight_decay, optimizer.step)
            history.step_loss.append(loss)
            if updates is None:
                history.diverged = True
                return history
            history.update_ratio.append(update_to_weight_ratio(updates, params))
        for loss_list, acc_list, (Xs, Ys) in ((history.train_loss, history.train_accuracy, (X, Y)),
                                              (history.val_loss, history.val_accuracy, (X_val, y_val))):
            if Xs is not None:
                loss, acc = _score(eval_forward, params, Xs, Ys)
                loss_list.append(loss)
                acc_list.append(acc)
        history.penalty.append(l2_penalty(params, weight_decay))
        if early_stopping is not None and early_stopping.update(history.val_loss[-1], epoch, params):
            history.stopped_early = True
            break
    if early_stopping is not None and early_stopping.best_params is not None:
        history.best_epoch = early_stopping.best_epoch
        for name, best in early_stopping.best_params.items():
            params[name][...] = best
    return history


def sequential_network(net: Sequential, training: bool = True) -> tuple[Callable, Callable]:
    """(forward, backward) with :mod:`course_lib.mlp`'s signatures for a Sequential that outputs
    logits, with the softmax cross entropy as its loss.

    forward(params, X: (N, d0)) -> (Yhat: (N, C), cache); backward(params, cache, Y) -> grads
    keyed like ``net.named_params()``, which is the ``params`` to pass (the layers' own arrays:
    an optimizer's in-place step updates the network). forward first switches the network's
    dropout and batch-norm layers to training (``training=True``) or evaluation mode.
    """
    def forward(params, X):
        set_training(net, training)
        logits, caches = net.forward(X)
        Yhat = softmax(logits)
        return Yhat, (Yhat, caches)

    def backward(params, cache, Y):
        Yhat, caches = cache
        _, grads = net.backward(softmax_cross_entropy_backward(Yhat, Y), caches, need_dX=False)
        return Sequential.named_grads(grads)

    return forward, backward
