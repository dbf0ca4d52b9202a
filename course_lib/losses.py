"""Softmax, cross entropy and their fused gradient (syllabus sections 1, 3.1 and 5.4).

Shapes: logits ``Z`` and probabilities ``Yhat`` are ``(N, C)``; labels ``Y``
are either one-hot ``(N, C)`` or integer class indices ``(N,)``.
"""
from __future__ import annotations

import numpy as np

# Added inside the log so that a probability of exactly 0 gives a large finite loss.
LOG_GUARD = 1e-12


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax. Z: (N, C) -> Yhat: (N, C), rows summing to 1.

    Softmax is unchanged by subtracting a constant from a row, so subtracting
    the row maximum makes every exponent <= 0: nothing overflows, and the
    largest term is exactly 1, so the denominator is never 0.
    """
    shifted = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    return E / E.sum(axis=1, keepdims=True)


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise log of the softmax, stable for any finite logits. Z: (N, C) -> (N, C)."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def one_hot(labels: np.ndarray, C: int, dtype=np.float64) -> np.ndarray:
    """Integer labels: (N,) with values in [0, C) -> one-hot matrix: (N, C)."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {labels.shape} and dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(f"labels must lie in [0, {C}), got values from {labels.min()} to {labels.max()}")
    return np.eye(C, dtype=dtype)[labels]


def as_one_hot(Y: np.ndarray, C: int, dtype=np.float64) -> np.ndarray:
    """Y as one-hot (N, C): integer labels (N,) are expanded, one-hot (N, C) is returned as is."""
    Y = np.asarray(Y)
    if Y.ndim == 1:
        return one_hot(Y, C, dtype)
    if Y.shape[1] != C:
        raise ValueError(f"one-hot labels have {Y.shape[1]} columns but there are {C} classes")
    return Y


def cross_entropy(Yhat: np.ndarray, Y: np.ndarray) -> float:
    """Mean cross entropy L = -(1/N) sum_i sum_c Y_ic log Yhat_ic.

    Yhat: (N, C) probabilities; Y: (N, C) one-hot or (N,) integer labels.
    Returns a Python float.
    """
    N, C = Yhat.shape
    Y = as_one_hot(Y, C, Yhat.dtype)
    return float(-np.sum(Y * np.log(Yhat + LOG_GUARD)) / N)


def softmax_cross_entropy(Z: np.ndarray, Y: np.ndarray) -> float:
    """Mean cross entropy computed from the logits through log_softmax: exact (no guard
    needed) and finite for any finite logits. Z: (N, C); Y: (N, C) one-hot or (N,) labels."""
    N, C = Z.shape
    return float(-np.sum(as_one_hot(Y, C, Z.dtype) * log_softmax(Z)) / N)


def softmax_cross_entropy_backward(Yhat: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Gradient of the mean cross entropy with respect to the logits.

    Yhat: (N, C) softmax output; Y: (N, C) one-hot or (N,) labels -> dZ: (N, C).
    """
    N, C = Yhat.shape
    # The softmax Jacobian and d(log) cancel to Yhat - Y; 1/N is the batch average.
    return (Yhat - as_one_hot(Y, C, Yhat.dtype)) / N


def accuracy(Yhat: np.ndarray, Y: np.ndarray) -> float:
    """Fraction of rows whose arg-max matches the label. Yhat: (N, C); Y: (N, C) or (N,)."""
    Y = np.asarray(Y)
    labels = Y.argmax(axis=1) if Y.ndim == 2 else Y
    return float(np.mean(Yhat.argmax(axis=1) == labels))
