"""Elementwise activations and their backward passes.

Every forward takes the pre-activation ``Z`` and returns ``A``; every backward
takes the upstream gradient ``dA`` and the *cached pre-activation* ``Z`` and
returns ``dZ``. The gate is always derived from ``Z``, the quantity the
activation differentiates against (syllabus section 5.5), never from ``A`` or
from ``dA``. Shapes: ``Z``, ``A``, ``dA`` and ``dZ`` all share one shape, any
shape at all (usually ``(N, d)``).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

LEAKY_SLOPE = 0.01


def relu(Z: np.ndarray) -> np.ndarray:
    """ReLU, ``max(0, Z)``. Z: (N, d) -> A: (N, d)."""
    return np.maximum(Z, 0)


def relu_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """dZ = dA * 1[Z > 0]. dA, Z: (N, d) -> dZ: (N, d)."""
    return dA * (Z > 0)


def leaky_relu(Z: np.ndarray, alpha: float = LEAKY_SLOPE) -> np.ndarray:
    """Leaky ReLU: Z where Z > 0, else ``alpha * Z``. Z: (N, d) -> A: (N, d)."""
    return np.where(Z > 0, Z, alpha * Z)


def leaky_relu_backward(dA: np.ndarray, Z: np.ndarray, alpha: float = LEAKY_SLOPE) -> np.ndarray:
    """dZ = dA where Z > 0, else ``alpha * dA``. dA, Z: (N, d) -> dZ: (N, d)."""
    return np.where(Z > 0, dA, alpha * dA)


def tanh(Z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent. Z: (N, d) -> A: (N, d)."""
    return np.tanh(Z)


def tanh_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """dZ = dA * (1 - tanh(Z)^2). dA, Z: (N, d) -> dZ: (N, d)."""
    A = np.tanh(Z)
    return dA * (1 - A * A)


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid, computed without overflow for large |Z|. Z: (N, d) -> A: (N, d)."""
    # exp(-|Z|) never overflows; the two branches are the same function.
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + E), E / (1 + E))


def sigmoid_backward(dA: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """dZ = dA * s(Z) * (1 - s(Z)). dA, Z: (N, d) -> dZ: (N, d)."""
    S = sigmoid(Z)
    return dA * S * (1 - S)


class Activation(NamedTuple):
    """An activation's forward and backward, looked up by name."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    backward: Callable[[np.ndarray, np.ndarray], np.ndarray]


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("relu", relu, relu_backward),
    "leaky_relu": Activation("leaky_relu", leaky_relu, leaky_relu_backward),
    "tanh": Activation("tanh", tanh, tanh_backward),
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_backward),
}


def get_activation(name: str) -> Activation:
    """The :class:`Activation` called ``name`` (one of :data:`ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None
