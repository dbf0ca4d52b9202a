"""A sigmoid output with binary cross entropy, and its fused gradient (notebook 09).

For logits Z and targets Y in {0, 1} (or in [0, 1]) of one shape, (N,) or (N, k)
for k independent yes/no outputs, the loss sums over the outputs and averages
over the N examples, as the softmax cross entropy does:

    L = -(1/N) sum [ Y log s(Z) + (1 - Y) log(1 - s(Z)) ],   s = sigmoid

Computed from the logits it is exact and finite for any finite Z; computed from
probabilities, s(Z) rounds to exactly 1.0 once Z > ~37 in float64, and log(1 - 1)
is -inf. Its gradient at the logits collapses, like softmax's, to (s(Z) - Y) / N.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid
from .losses import LOG_GUARD


def _same_shape(A: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    A, Y = np.asarray(A), np.asarray(Y)
    # (N, 1) against (N,) would broadcast to (N, N): refuse rather than average the wrong thing.
    if A.shape != Y.shape or A.ndim == 0:
        raise ValueError(f"binary cross entropy needs predictions and targets of one shape (N,) or (N, k), "
                         f"got {A.shape} and {Y.shape}")
    return A, Y.astype(A.dtype if np.issubdtype(A.dtype, np.floating) else np.float64, copy=False)


def sigmoid_binary_cross_entropy(Z: np.ndarray, Y: np.ndarray) -> float:
    """Mean binary cross entropy of sigmoid(Z) against Y, from the logits.

    Z: (N,) or (N, k) logits; Y: Z's shape, targets in [0, 1]. Returns a Python float.
    """
    Z, Y = _same_shape(Z, Y)
    # -[y log s(z) + (1-y) log(1-s(z))] = max(z, 0) - z y + log(1 + exp(-|z|)): exp never overflows.
    per_entry = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
    return float(per_entry.sum() / Z.shape[0])


def binary_cross_entropy(P: np.ndarray, Y: np.ndarray) -> float:
    """Mean binary cross entropy of probabilities P against Y, with the 1e-12 guard inside each log.

    P: (N,) or (N, k) probabilities; Y: P's shape. The guard keeps the loss finite at
    P = 0 or 1 but caps it near 27.6 per entry; prefer :func:`sigmoid_binary_cross_entropy`.
    """
    P, Y = _same_shape(P, Y)
    return float(-np.sum(Y * np.log(P + LOG_GUARD) + (1 - Y) * np.log(1 - P + LOG_GUARD)) / P.shape[0])


def binary_cross_entropy_backward(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Gradient of the (unguarded) mean binary cross entropy with respect to the probabilities.

    P: (N,) or (N, k), strictly inside (0, 1); Y: P's shape -> dP: P's shape. Chained with
    :func:`course_lib.activations.sigmoid_backward` it equals the fused gradient.
    """
    P, Y = _same_shape(P, Y)
    return (P - Y) / (P * (1 - P)) / P.shape[0]


def sigmoid_binary_cross_entropy_backward(P: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The fused gradient at the logits: dZ = (P - Y) / N, where P = sigmoid(Z).

    P: (N,) or (N, k) sigmoid outputs; Y: P's shape -> dZ: P's shape.
    """
    P, Y = _same_shape(P, Y)
    # s'(z) = s(1 - s) cancels the 1 / (s(1 - s)) of d(loss)/ds, as the softmax Jacobian does.
    return (P - Y) / P.shape[0]


class SigmoidBinaryCrossEntropy:
    """Sigmoid followed by the mean binary cross entropy, fused: the loss head for yes/no outputs.

    ``forward(Z, Y) -> (loss, cache)`` with Z: (N,) or (N, k) logits and Y: Z's shape;
    ``backward(cache) -> dZ``: Z's shape. (The sigmoid as a hidden layer is
    :class:`course_lib.layers.Sigmoid`.)
    """

    def forward(self, Z: np.ndarray, Y: np.ndarray) -> tuple[float, tuple]:
        """Z, Y: (N,) or (N, k) -> (mean binary cross entropy, cache = (P = sigmoid(Z), Y))."""
        return sigmoid_binary_cross_entropy(Z, Y), (sigmoid(Z), Y)

    def backward(self, cache) -> np.ndarray:
        """The cache of forward -> dZ = (P - Y) / N, Z's shape."""
        P, Y = cache
        return sigmoid_binary_cross_entropy_backward(P, Y)
