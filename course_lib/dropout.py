"""Inverted dropout, forward and backward (notebook 09).

In training each entry of x is zeroed with probability ``drop_prob`` and the
survivors are scaled by 1 / (1 - drop_prob), so that every entry keeps its
expected value and evaluation needs no correction: at evaluation dropout is
the identity. The mask (already scaled) travels in the cache; backward gates
dout with that same mask and never draws a new one.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .layers import Layer
from .rng import as_generator

MODES = ("train", "eval")


class DropoutCache(NamedTuple):
    """What dropout_backward reads: mask: x's shape, 0 or 1 / (1 - drop_prob) per entry,
    or None at evaluation (the identity); drop_prob: the probability of zeroing an entry."""

    mask: np.ndarray | None
    drop_prob: float


def dropout_forward(x: np.ndarray, drop_prob: float, mode: str,
                    rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout of x: any shape, usually (N, d).

    drop_prob: in [0, 1), the probability of zeroing each entry; mode: "train"
    or "eval"; rng: a Generator or an int seed for the mask (needed in
    training, where the same seed gives the same mask; unused at evaluation).
    -> out: x's shape, cache (a :class:`DropoutCache`). At evaluation ``out`` is x itself.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not 0.0 <= drop_prob < 1.0:
        raise ValueError(f"drop_prob must lie in [0, 1), got {drop_prob}")
    if mode == "eval":
        return x, DropoutCache(None, drop_prob)
    if rng is None:
        raise TypeError("dropout in training needs rng: a numpy Generator or an int seed for its mask")
    keep = 1.0 - drop_prob
    # Scaling by 1/keep at train time keeps E[out] = x, so evaluation is the plain identity.
    mask = ((as_generator(rng).random(x.shape) < keep) / keep).astype(x.dtype, copy=False)
    return x * mask, DropoutCache(mask, drop_prob)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """dout: x's shape, the cache of :func:`dropout_forward` -> dx: x's shape (the forward's own mask applied)."""
    mask, _ = cache
    return dout if mask is None else dout * mask


class Dropout(Layer):
    """Inverted dropout as a layer, without parameters. x: any shape -> same shape.

    ``training`` (True after construction) chooses the mode each forward pass
    uses. Masks are drawn from ``self.rng`` (from ``seed``), so a forward pass
    advances the generator; the mask itself goes into the cache, never onto
    the layer, so backward reads nothing but the cache.
    """

    def __init__(self, drop_prob: float = 0.5, seed: int | np.random.Generator = 0):
        super().__init__()
        if not 0.0 <= drop_prob < 1.0:
            raise ValueError(f"drop_prob must lie in [0, 1), got {drop_prob}")
        self.drop_prob = drop_prob
        self.rng = as_generator(seed)
        self.training = True

    def forward(self, x):
        """x: any shape -> (out: same shape, cache: a DropoutCache)."""
        return dropout_forward(x, self.drop_prob, "train" if self.training else "eval", self.rng)

    def backward(self, dout, cache):
        """dout: x's shape -> (dx: x's shape, {})."""
        return dropout_backward(dout, cache), {}

    def __repr__(self) -> str:
        return f"Dropout(drop_prob={self.drop_prob})"
