"""Batch normalisation for (N, d) activations, forward and backward (notebook 09).

Training mode normalises each feature with the batch's own mean and (biased)
variance, then scales and shifts it by the learned ``gamma`` and ``beta``:

    x_hat = (x - mean) / sqrt(var + eps),   out = gamma * x_hat + beta

and returns updated running averages of the mean and variance as NEW arrays
(the old ones are never written). Evaluation mode uses those running
statistics instead, so it is a fixed affine map of x, the same for one example
as for a batch.

Running averages follow CS231n's convention,
``running = momentum * running + (1 - momentum) * batch_statistic``, with the
biased batch variance (the one training normalises with); PyTorch keeps the
unbiased N / (N - 1) variance in its running average instead.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .layers import Layer

MODES = ("train", "eval")


class RunningStats(NamedTuple):
    """Running averages of a batch-norm layer's statistics. mean, var: (d,)."""

    mean: np.ndarray
    var: np.ndarray


class BatchNormCache(NamedTuple):
    """What batchnorm_backward reads. x_hat: (N, d), gamma: (d,), inv_std: (d,) = 1/sqrt(var + eps)."""

    mode: str
    x_hat: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, mode: str,
                      running_mean: np.ndarray, running_var: np.ndarray, momentum: float = 0.9,
                      eps: float = 1e-5) -> tuple[np.ndarray, BatchNormCache, RunningStats]:
    """Batch normalisation of x: (N, d), feature by feature.

    gamma, beta, running_mean, running_var: (d,); mode: "train" or "eval".
    -> out: (N, d), cache (a :class:`BatchNormCache`), and the running statistics
    as a :class:`RunningStats` of (d,) arrays: new arrays after a training step,
    the arrays passed in (unchanged) in evaluation mode.
    """
    _check_mode(mode)
    if x.ndim != 2 or gamma.shape != (x.shape[1],) or beta.shape != gamma.shape:
        raise ValueError(f"batchnorm needs x: (N, d), gamma and beta: (d,), got {x.shape}, {gamma.shape}, {beta.shape}")
    if mode == "train":
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        running = RunningStats(momentum * running_mean + (1 - momentum) * mean,
                               momentum * running_var + (1 - momentum) * var)
    else:
        mean, var = running_mean, running_var
        running = RunningStats(running_mean, running_var)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, BatchNormCache(mode, x_hat, gamma, inv_std), running


def batchnorm_backward(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of batch normalisation.

    dout: (N, d), the cache of :func:`batchnorm_forward`
    -> dx: (N, d), dgamma: (d,), dbeta: (d,).
    """
    mode, x_hat, gamma, inv_std = cache
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = dout.sum(axis=0)
    dx_hat = dout * gamma
    if mode == "eval":
        # The running statistics are constants here: out is an affine map of x.
        return dx_hat * inv_std, dgamma, dbeta
    # In training the mean and the variance are functions of every x in the batch. Their two
    # paths subtract dx_hat's mean (through the mean) and its projection on x_hat (through the
    # variance), leaving the part of dx_hat that normalisation can pass on.
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * np.mean(dx_hat * x_hat, axis=0))
    return dx, dgamma, dbeta


class BatchNorm(Layer):
    """Batch normalisation as a layer. x: (N, d) -> out: (N, d).

    ``params`` holds gamma and beta, (d,). ``training`` (True after construction)
    chooses the mode each forward pass uses; the cache records it, so backward
    never reads the layer's mode. A training-mode forward replaces
    ``running_mean`` and ``running_var`` with new arrays (never writing the old ones).
    """

    def __init__(self, d: int, momentum: float = 0.9, eps: float = 1e-5, dtype=np.float64):
        super().__init__()
        self.params = {"gamma": np.ones(d, dtype=dtype), "beta": np.zeros(d, dtype=dtype)}
        self.running_mean = np.zeros(d, dtype=dtype)
        self.running_var = np.ones(d, dtype=dtype)
        self.momentum, self.eps = momentum, eps
        self.training = True

    def forward(self, x):
        """x: (N, d) -> (out: (N, d), cache: a BatchNormCache)."""
        out, cache, running = batchnorm_forward(x, self.params["gamma"], self.params["beta"],
                                                "train" if self.training else "eval",
                                                self.running_mean, self.running_var, self.momentum, self.eps)
        self.running_mean, self.running_var = running
        return out, cache

    def backward(self, dout, cache):
        """dout: (N, d) -> (dx: (N, d), {"gamma": (d,), "beta": (d,)})."""
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        return dx, {"gamma": dgamma, "beta": dbeta}
