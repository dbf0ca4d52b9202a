"""The syllabus's two-layer network as functions over a params dict.

    Z1 = X W1 + b1,  A1 = phi(Z1),  Z2 = A1 W2 + b2,  Yhat = softmax(Z2)

Shapes: X: (N, d0), W1: (d0, d1), b1: (d1,), W2: (d1, C), b2: (C,),
Y: (N, C) one-hot or (N,) integer labels, Yhat: (N, C).

The cache is a value returned by :func:`forward` and passed to
:func:`backward`; nothing is kept between calls (syllabus section 5.3).
A step can swap in other building blocks through ``ops`` (the bug catalogue
uses this to inject one broken piece into an otherwise correct network).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from . import init
from .activations import Activation, get_activation
from .affine import affine_backward, affine_forward
from .losses import cross_entropy, softmax, softmax_cross_entropy_backward

PARAM_NAMES = ("W1", "b1", "W2", "b2")


class Ops(NamedTuple):
    """The building blocks one forward and backward pass is made of."""

    activation: Activation
    softmax: Callable = softmax
    affine_forward: Callable = affine_forward
    affine_backward: Callable = affine_backward
    softmax_cross_entropy_backward: Callable = softmax_cross_entropy_backward


def reference_ops(activation: str = "relu") -> Ops:
    """The correct building blocks, with the named hidden activation."""
    return Ops(get_activation(activation))


_RELU_OPS = reference_ops("relu")


def init_params(d0: int, d1: int, C: int, seed: int = 0, dtype=np.float64, scale: float = 1.0) -> dict:
    """Initial parameters: He for W1 (variance 2/d0), LeCun for W2 (variance 1/d1), zero biases.

    The syllabus calls W2's initialisation "Xavier-like"; variance 1/d_in is
    LeCun's (Glorot's, or Xavier's, is 2/(d_in + d_out)): see :mod:`course_lib.init`.
    Draws W1 then W2 from ``default_rng(seed)``, the syllabus's order, so that
    seed 0 reproduces its figures. ``scale`` multiplies both weight matrices
    (1.0 is the standard initialisation).
    Returns {"W1": (d0, d1), "b1": (d1,), "W2": (d1, C), "b2": (C,)}.
    """
    rng = np.random.default_rng(seed)
    W1 = init.he(d0, d1, rng)
    W2 = init.lecun(d1, C, rng)
    return {
        "W1": (scale * W1).astype(dtype),
        "b1": np.zeros(d1, dtype=dtype),
        "W2": (scale * W2).astype(dtype),
        "b2": np.zeros(C, dtype=dtype),
    }


def forward(params: dict, X: np.ndarray, ops: Ops = _RELU_OPS) -> tuple[np.ndarray, dict]:
    """Forward pass. X: (N, d0) -> Yhat: (N, C) and the cache.

    The cache holds exactly what the backward pass reads: every tensor on the
    right-hand side of a gradient formula (X, Z1, A1) and Yhat for the fused
    loss gradient. Its keys: "X" (N, d0), "Z1" (N, d1), "A1" (N, d1), "Yhat" (N, C).
    """
    Z1, _ = ops.affine_forward(X, params["W1"], params["b1"])
    A1 = ops.activation.forward(Z1)
    Z2, _ = ops.affine_forward(A1, params["W2"], params["b2"])
    Yhat = ops.softmax(Z2)
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}


def backward(params: dict, cache: dict, Y: np.ndarray, ops: Ops = _RELU_OPS) -> dict:
    """Backward pass from the cache of :func:`forward`.

    Y: (N, C) one-hot or (N,) labels. Returns grads with the keys and shapes
    of ``params``: "W1" (d0, d1), "b1" (d1,), "W2" (d1, C), "b2" (C,).
    """
    dZ2 = ops.softmax_cross_entropy_backward(cache["Yhat"], Y)           # (N, C)
    dA1, dW2, db2 = ops.affine_backward(dZ2, (cache["A1"], params["W2"]))  # (N, d1)
    dZ1 = ops.activation.backward(dA1, cache["Z1"])                      # (N, d1)
    _, dW1, db1 = ops.affine_backward(dZ1, (cache["X"], params["W1"]), need_dX=False)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def loss(params: dict, X: np.ndarray, Y: np.ndarray, ops: Ops = _RELU_OPS) -> float:
    """Mean cross entropy of the network on (X: (N, d0), Y: (N, C) or (N,))."""
    Yhat, _ = forward(params, X, ops)
    return cross_entropy(Yhat, Y)


def sgd_step(params: dict, grads: dict, lr: float) -> None:
    """theta <- theta - lr * grad for every parameter, in place.

    Updating the arrays in place (not rebinding the dict entries) keeps every
    other reference to the parameters valid.
    """
    for name, grad in grads.items():
        params[name] -= lr * grad


def predict(params: dict, X: np.ndarray, ops: Ops = _RELU_OPS) -> np.ndarray:
    """Predicted class per row. X: (N, d0) -> labels: (N,)."""
    Yhat, _ = forward(params, X, ops)
    return Yhat.argmax(axis=1)
