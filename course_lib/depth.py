"""Notebook 07's helpers for building networks of any depth from the student's own layer classes."""
from __future__ import annotations

import numpy as np

from . import layers


def initial_weights(sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) for each layer of widths ``sizes`` = [d0, d1, ..., C]: W: (d_in, d_out), b: (d_out,).

    He initialisation for hidden layers, LeCun's (variance 1/d_in, which the syllabus calls
    "Xavier-like") for the last, as
    :func:`course_lib.layers.mlp_stack` draws them from ``default_rng(seed)``.
    """
    stack = layers.mlp_stack(sizes, seed=seed)
    return [(layer.params["W"], layer.params["b"]) for layer in stack.layers if layer.params]


def build_stack(sizes: list[int], linear: type, activation: type, sequential: type, seed: int = 0):
    """sequential([linear(W, b), activation(), ..., linear(W, b)]) for widths ``sizes`` = [d0, ..., C],
    with the weights of :func:`initial_weights`; the last layer has no activation (it gives logits)."""
    stack = []
    for W, b in initial_weights(sizes, seed):
        stack += [linear(W, b), activation()]
    return sequential(stack[:-1])
