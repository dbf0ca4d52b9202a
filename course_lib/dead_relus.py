"""Dead ReLUs: where a ReLU network passes no gradient at all (notebook 06).

A ReLU is *inactive* on an example when its pre-activation is <= 0: its output
is 0 and its slope is 0 (the course's gate is 1[Z > 0], closed at exactly 0),
so nothing flows back through it. A *dead unit* is inactive on every example
of the data: its incoming weights and bias get a gradient of exactly zero, and
gradient descent on that data can never switch it back on. The mirror image is
an example on which *every* unit is inactive: its hidden row A1[i] is all zeros,
it contributes exactly nothing to dW1, db1 and dW2, and the network's output for
it is softmax(b2), the same for every such example.

Shapes: X: (N, d0), Y: (N, C) one-hot, Z1 and the masks: (N, d1).

The tests themselves are :mod:`course_lib.diagnostics`'s (which works on any ReLU layer of any
network, notebook 10); the helpers here give their answers as indices, for the two-layer network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import diagnostics, mlp
from .losses import accuracy, as_one_hot, cross_entropy


def inactive(Z1: np.ndarray) -> np.ndarray:
    """Where each ReLU passes no gradient: Z1 <= 0. Z1: (N, d1) -> bool (N, d1)."""
    return diagnostics.inactive(Z1)


def dead_units(Z1: np.ndarray) -> np.ndarray:
    """The hidden units inactive on every example (columns of Z1 with no positive entry). -> indices (k,).
    The indices of :func:`course_lib.diagnostics.dead_units`'s mask."""
    return np.flatnonzero(diagnostics.dead_units(Z1))


def examples_with_every_unit_off(Z1: np.ndarray) -> np.ndarray:
    """The examples on which every hidden unit is inactive (rows of Z1 with no positive entry). -> indices (k,).
    The indices of :func:`course_lib.diagnostics.inactive_examples`'s mask."""
    return np.flatnonzero(diagnostics.inactive_examples(Z1))


def hidden_delta(params: dict, cache: dict, Y: np.ndarray, ops: mlp.Ops = mlp.reference_ops()) -> np.ndarray:
    """delta_1 = dL/dZ1 of the two-layer network, (N, d1): the ReLU gate applied to dZ2 W2^T.
    A row is exactly zero where the example has every unit off."""
    dZ2 = ops.softmax_cross_entropy_backward(cache["Yhat"], Y)
    return ops.activation.backward(dZ2 @ params["W2"].T, cache["Z1"])


def shared_output_floor(Y: np.ndarray, rows) -> float:
    """The lowest mean cross entropy of the whole batch while the examples ``rows`` all get one and
    the same output (every other example counted as perfectly fitted).

    For n such examples, n_c of them in class c, the best shared output is p_c = n_c / n, which costs
    -(1/N) sum_c n_c log(n_c / n). Y: (N, C) one-hot or (N,) labels; rows: indices.
    """
    Y = np.asarray(Y)
    labels = Y.argmax(axis=1) if Y.ndim == 2 else Y
    counts = np.bincount(labels[np.asarray(rows, dtype=int)])
    counts = counts[counts > 0]
    return float(-np.sum(counts * np.log(counts / counts.sum())) / len(labels))


@dataclass
class ReluWatch:
    """A full-batch run with the ReLUs watched at every step.

    loss, accuracy: (steps,), recorded before each update, as train.train records them.
    all_off: bool (steps, N): example i had every unit off at step s.
    dead: bool (steps, d1): unit j was inactive on every example at step s.
    """

    loss: np.ndarray
    accuracy: np.ndarray
    all_off: np.ndarray
    dead: np.ndarray

    def always_off(self) -> np.ndarray:
        """The examples with every unit off at every step. -> indices."""
        return np.flatnonzero(self.all_off.all(axis=0))

    def ever_off(self) -> np.ndarray:
        """The examples with every unit off at one step at least. -> indices."""
        return np.flatnonzero(self.all_off.any(axis=0))

    def steps_on(self, example: int) -> int:
        """At how many steps the example had at least one unit on."""
        return int((~self.all_off[:, example]).sum())


def watch_relus(params: dict, X: np.ndarray, Y: np.ndarray, lr: float, steps: int) -> ReluWatch:
    """Full-batch gradient descent on ``params`` (updated in place), the ReLU network of
    course_lib.mlp, recording which ReLUs are inactive at every step. Y: (N, C) one-hot or (N,)."""
    Y = as_one_hot(Y, params["W2"].shape[1])
    losses, accuracies, all_off, dead = [], [], [], []
    for _ in range(steps):
        Yhat, cache = mlp.forward(params, X)
        off = inactive(cache["Z1"])
        losses.append(cross_entropy(Yhat, Y))
        accuracies.append(accuracy(Yhat, Y))
        all_off.append(off.all(axis=1))
        dead.append(off.all(axis=0))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
    return ReluWatch(np.array(losses), np.array(accuracies), np.array(all_off), np.array(dead))
