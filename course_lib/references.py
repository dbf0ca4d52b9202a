"""Reference answers to the exercises that have no function of their own elsewhere in course_lib.

Most exercises are compared with a building block of the package (``losses.softmax``,
``mlp.backward``, ...). These are the rest: the shapes of notebook 01, the parameter and
forward-pass counts, one group's gradient check (notebook 04), and the loss-and-gradients glue
and training loop of notebook 07. The checkers in :mod:`course_lib.checks` compare with them;
the grader forbids a graded function to call the reference it is compared with.
"""
from __future__ import annotations

import copy
from functools import lru_cache

import numpy as np

from . import gradcheck, layers, losses, mlp
from .affine import affine_forward

# The tensors of the two-layer network, in the order of the forward pass.
SHAPE_KEYS = ("X", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "Yhat")


def reference_shapes(N: int, d0: int, d1: int, C: int) -> dict:
    """The shape of every tensor of the two-layer network, read off a real forward pass.

    Returns {"X": (N, d0), "W1": (d0, d1), "b1": (d1,), "Z1": (N, d1), "A1": (N, d1),
    "W2": (d1, C), "b2": (C,), "Z2": (N, C), "Yhat": (N, C)}.
    """
    return dict(_shapes(int(N), int(d0), int(d1), int(C)))


@lru_cache(maxsize=256)
def _shapes(N: int, d0: int, d1: int, C: int) -> tuple:
    params = mlp.init_params(d0, d1, C, seed=0)
    X = np.zeros((N, d0))
    Yhat, cache = mlp.forward(params, X)
    Z2 = affine_forward(cache["A1"], params["W2"], params["b2"])[0]
    arrays = {"X": X, "W1": params["W1"], "b1": params["b1"], "Z1": cache["Z1"], "A1": cache["A1"],
              "W2": params["W2"], "b2": params["b2"], "Z2": Z2, "Yhat": Yhat}
    return tuple((k, tuple(arrays[k].shape)) for k in SHAPE_KEYS)


def reference_count(layer_sizes) -> int:
    """Weights and biases of the MLP with widths layer_sizes = [d0, d1, ..., C]."""
    return sum(d_in * d_out + d_out for d_in, d_out in zip(layer_sizes[:-1], layer_sizes[1:]))


def reference_finite_difference_passes(layer_sizes) -> int:
    """Forward passes for one central-difference gradient: two per parameter."""
    return 2 * reference_count(layer_sizes)


def reference_group_error(params: dict, X: np.ndarray, Y: np.ndarray, name: str, eps: float = 1e-5) -> float:
    """The relative error of parameter group ``name`` of the two-layer network: analytic gradient
    (mlp.backward) against central differences of mlp.loss. X: (N, d0), Y: (N, C); params unchanged."""
    params = copy.deepcopy(params)
    _, cache = mlp.forward(params, X)
    analytic = mlp.backward(params, cache, Y)[name]
    numeric = gradcheck.numerical_gradient(lambda: mlp.loss(params, X, Y), params[name], eps)
    return gradcheck.rel_error(analytic, numeric)


def reference_loss_and_grads(model, X: np.ndarray, labels: np.ndarray,
                             guarded: bool = False) -> tuple[float, dict]:
    """Mean cross entropy of the model's logits on (X: (N, d0), labels: (N,)) and the gradient
    of every parameter, keyed like ``model.named_params()``.

    The loss is exact (through log_softmax); ``guarded=True`` gives instead what
    ``cross_entropy(softmax(logits), labels)`` gives, with its 1e-12 inside the log. The two agree
    unless some probability of a true class is below about 1e-10, which a deep network's logits
    reach: both are right answers, and the checkers accept either."""
    head = layers.SoftmaxCrossEntropy()
    logits, caches = model.forward(X)
    loss, head_cache = head.forward(logits, labels)
    if guarded:
        loss = losses.cross_entropy(losses.softmax(logits), labels)
    _, grads = model.backward(head.backward(head_cache), caches)
    return loss, layers.Sequential.named_grads(grads)


def reference_train(model, X: np.ndarray, labels: np.ndarray, lr: float, steps: int,
                    guarded: bool = False) -> list[float]:
    """Full-batch gradient descent on ``model`` in place; the loss before each step (exact, or
    ``guarded`` as in :func:`reference_loss_and_grads`). X: (N, d0), labels: (N,)."""
    curve = []
    for _ in range(steps):
        loss, grads = reference_loss_and_grads(model, X, labels, guarded)
        curve.append(loss)
        for name, p in model.named_params().items():
            p -= lr * grads[name]
    return curve
