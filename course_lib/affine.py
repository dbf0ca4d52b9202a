"""The affine map Z = X W + b and its three gradients (syllabus section 3.2)."""
from __future__ import annotations

import numpy as np


def affine_forward(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Z = X @ W + b, with b broadcast across the batch.

    X: (N, d_in), W: (d_in, d_out), b: (d_out,) -> Z: (N, d_out), cache = (X, W).
    """
    return X @ W + b, (X, W)


def affine_backward(dZ: np.ndarray, cache: tuple, need_dX: bool = True) -> tuple:
    """Gradients of the affine map.

    dZ: (N, d_out), cache = (X: (N, d_in), W: (d_in, d_out))
    -> dX: (N, d_in), dW: (d_in, d_out), db: (d_out,).
    With ``need_dX=False`` (the first layer, whose input is data) dX is None:
    it costs as much as the forward matrix product and nothing reads it.
    """
    X, W = cache
    dX = dZ @ W.T if need_dX else None
    dW = X.T @ dZ
    # b is broadcast to every row, so its gradient accumulates over the batch.
    db = dZ.sum(axis=0)
    return dX, dW, db
