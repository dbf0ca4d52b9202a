"""L2 weight decay as a term of the loss (notebook 11).

    L_total = L_data + (lam / 2) * sum over weight matrices W of ||W||^2
    dL_total/dW = dL_data/dW + lam * W       (the 1/2 cancels the 2 of the square)

Only weights are decayed: a parameter with two or more axes (W of an affine
layer). Biases and batch norm's gamma and beta, (d,) vectors, are never decayed:
they do not multiply the inputs, so shrinking them does not make the function
any smoother, and pulling gamma towards 0 would fight the normalisation.
Every function returns new arrays and leaves its inputs alone.
"""
from __future__ import annotations

import numpy as np


def decayed_names(params: dict) -> list[str]:
    """The names of the parameters weight decay applies to: those with ndim >= 2 (weights)."""
    return [name for name, p in params.items() if np.ndim(p) >= 2]


def l2_penalty(params: dict, lam: float) -> float:
    """(lam / 2) * the sum of ||W||^2 over the weights of ``params`` (name -> array)."""
    return float(lam / 2 * sum(float(np.sum(params[n] * params[n])) for n in decayed_names(params)))


def l2_penalty_gradient(params: dict, lam: float) -> dict:
    """The gradient of :func:`l2_penalty`: {name: lam * W} for each weight, the weight's shape.
    Biases have no entry (their gradient from the penalty is 0)."""
    return {n: lam * params[n] for n in decayed_names(params)}


def add_weight_decay(grads: dict, params: dict, lam: float, penalty_gradient=l2_penalty_gradient) -> dict:
    """The gradients of the data loss plus the L2 penalty: a new dict, grads itself untouched.

    grads, params: name -> array, the same names and shapes. ``penalty_gradient``
    (params, lam) -> {name: array} is the penalty's gradient (swappable, so the bug
    catalogue can inject a broken one).
    """
    total = dict(grads)
    if lam:
        for name, g in penalty_gradient(params, lam).items():
            total[name] = grads[name] + g
    return total
