"""One training run of a network of any depth on the explorer's 2-D data (for the explorer's
optimizer, weight-decay, initialisation and depth controls, and notebooks 10 and 11).

:func:`train_network` is a pure function of its arguments: the same settings give the same
curve. With depth 2, He initialisation, SGD and no weight decay it is exactly the run the
explorer makes today with :func:`course_lib.mlp.init_params` and :func:`course_lib.train.train`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import init, train
from .layers import Sequential
from .losses import accuracy, cross_entropy
from .optim import make_optimizer

CLASSES = 3


@dataclass(frozen=True)
class NetworkRun:
    """One run. ``loss``, ``accuracy``: per step, measured before each update (as
    :class:`course_lib.train.History`); ``final_loss``, ``final_accuracy``: the trained network
    on the whole data set; ``net``: the trained network; ``steps``: the steps asked for."""

    loss: tuple
    accuracy: tuple
    final_loss: float
    final_accuracy: float
    net: Sequential
    steps: int

    @property
    def steps_run(self) -> int:
        return len(self.loss)

    @property
    def diverged(self) -> bool:
        """The loss became inf or NaN (training stops there)."""
        return self.steps_run < self.steps or not np.isfinite(self.final_loss)


def _data(dataset) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(dataset, str):
        from .widgets import dataset as explorer_dataset  # here, not at the top: widgets may import this module
        return explorer_dataset(dataset)
    X, labels = dataset
    return np.asarray(X), np.asarray(labels)


def train_network(dataset: str | tuple = "spirals", *, depth: int = 2, width: int = 32, activation: str = "relu",
                  init_scheme: str = "he", init_scale: float = 1.0, optimizer: str = "sgd", lr: float = 1.0,
                  weight_decay: float = 0.0, steps: int = 200, seed: int = 0) -> NetworkRun:
    """Train a network of ``depth`` Linear layers full batch and return its loss curve.

    dataset: a name of the explorer's data sets ("spirals", "blobs") or (X: (N, 2), labels: (N,))
    with labels in 0..2. The network is 2 -> width -> ... -> width -> 3 (depth - 1 hidden
    layers of ``activation``, one of :data:`course_lib.layers.ACTIVATION_LAYERS`); hidden
    weights use ``init_scheme`` (a name of :data:`course_lib.init.INITIALISERS`), the output
    layer LeCun's, all times ``init_scale``, drawn from ``default_rng(seed)``.
    optimizer: "sgd", "momentum" (mu = 0.9) or "adam" (default betas), with learning rate
    ``lr``; weight_decay: the L2 coefficient lam (weights only). A diverging run stops early.
    """
    if depth < 1:
        raise ValueError(f"depth counts Linear layers and must be at least 1, got {depth}")
    X, labels = _data(dataset)
    net = init.stack([X.shape[1]] + [width] * (depth - 1) + [CLASSES], activation, scheme=init_scheme,
                     scale=init_scale, seed=seed)
    forward, backward = train.sequential_network(net)
    params = net.named_params()
    history = train.train(params, X, labels, steps=steps, forward=forward, backward=backward,
                          optimizer=make_optimizer(optimizer, lr), weight_decay=weight_decay)
    with np.errstate(all="ignore"):
        Yhat, _ = forward(params, X)
        final_loss, final_accuracy = cross_entropy(Yhat, labels), accuracy(Yhat, labels)
    return NetworkRun(tuple(history.loss), tuple(history.accuracy), final_loss, final_accuracy, net, steps)
