"""Checkers for notebook 01, the computational setting (syllabus section 1).

Exercises: ``layer_shapes`` (the shape of every tensor of the two-layer network),
``affine`` (Z = X W + b), ``count_parameters`` (weights and biases of an MLP) and
``finite_difference_passes`` (what central differences cost for one gradient).
"""
from __future__ import annotations

import numpy as np

from .. import mlp
from ..affine import affine_forward
from .cases import network_cases
from .core import CheckFailed, call_explained, check_not_mutated, compare, describe, matches, passed

__all__ = ["check_layer_shapes", "check_affine", "check_count_parameters", "check_finite_difference_passes"]


# ------------------------------------------------------------------ layer_shapes
SHAPE_KEYS = ("X", "W1", "b1", "Z1", "A1", "W2", "b2", "Z2", "Yhat")
# The same shapes in symbols, for messages.
SYMBOLS = {"X": ("N", "d0"), "W1": ("d0", "d1"), "b1": ("d1",), "Z1": ("N", "d1"), "A1": ("N", "d1"),
           "W2": ("d1", "C"), "b2": ("C",), "Z2": ("N", "C"), "Yhat": ("N", "C")}


def reference_shapes(N: int, d0: int, d1: int, C: int) -> dict:
    """The shape of every tensor of the two-layer network, read off a real forward pass."""
    params = mlp.init_params(d0, d1, C, seed=0)
    X = np.zeros((N, d0))
    Yhat, cache = mlp.forward(params, X)
    Z2 = affine_forward(cache["A1"], params["W2"], params["b2"])[0]
    arrays = {"X": X, "W1": params["W1"], "b1": params["b1"], "Z1": cache["Z1"], "A1": cache["A1"],
              "W2": params["W2"], "b2": params["b2"], "Z2": Z2, "Yhat": Yhat}
    return {k: tuple(arrays[k].shape) for k in SHAPE_KEYS}


def _as_shape(value):
    """A tuple of Python ints, or None when ``value`` is not a sequence of integers."""
    if not isinstance(value, (tuple, list)):
        return None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        return None
    return tuple(int(v) for v in value)


def _shape_hint(key: str, got: tuple, expected: tuple) -> str:
    if key.startswith("b") and len(got) == 2 and 1 in got and max(got) == expected[0]:
        return (" A bias is a vector with one entry per output unit, stored with shape (d,); "
                "numpy broadcasts it across the N rows of the batch.")
    if len(got) == 2 and got == expected[::-1]:
        if key.startswith("W"):
            return (" That is the transpose. The network computes X @ W1, so W1 has one row per input feature "
                    "and one column per hidden unit.")
        return " That is the transpose: every activation has one row per example in the batch."
    if key in ("Z1", "A1", "Z2", "Yhat", "X") and len(got) == 2 and got[0] != expected[0] and got[1] == expected[1]:
        return " Activations keep the batch as their first axis: one row per example."
    return ""


def check_layer_shapes(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(N, d0, d1, C) -> {"X": (N, d0), "W1": (d0, d1), "b1": (d1,), ..., "Yhat": (N, C)}."""
    ex = "layer_shapes"
    sizes = [(8, 5, 4, 3), (64, 784, 256, 10)]
    if hidden:
        rng = np.random.default_rng(seed)
        d = rng.choice(np.arange(2, 40), size=4, replace=False)
        sizes += [(1, 6, 3, 4),                 # a batch of one
                  (5, 7, 1, 2),                 # one hidden unit, two classes
                  tuple(int(v) for v in d)]     # four different sizes drawn from the seed
    for N, d0, d1, C in sizes:
        call_on = f"layer_shapes(N={N}, d0={d0}, d1={d1}, C={C})"
        got, _ = call_explained(ex, fn, N, d0, d1, C, on=call_on)
        expected = reference_shapes(N, d0, d1, C)
        if not isinstance(got, dict):
            raise CheckFailed(ex, f"{call_on} should return a dict mapping names to shape tuples, got {describe(got)}.")
        missing = [k for k in SHAPE_KEYS if k not in got]
        if missing:
            raise CheckFailed(ex, f"{call_on} is missing the keys {missing}; it has {sorted(got)}. "
                              f"Expected exactly {list(SHAPE_KEYS)} (names are case-sensitive).")
        for key in SHAPE_KEYS:
            shape = _as_shape(got[key])
            symbols = "(" + ", ".join(SYMBOLS[key]) + ("," if len(SYMBOLS[key]) == 1 else "") + ")"
            if shape is None:
                raise CheckFailed(ex, f"{call_on}[{key!r}] should be a tuple of ints like {expected[key]}, "
                                  f"got {got[key]!r}.")
            if shape != expected[key]:
                raise CheckFailed(ex, f"{call_on}[{key!r}] should be {symbols} = {expected[key]}, got {shape}."
                                  + _shape_hint(key, shape, expected[key]))
    passed(ex, len(sizes))


# ------------------------------------------------------------------------ affine
def check_affine(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(X: (N, d_in), W: (d_in, d_out), b: (d_out,)) -> Z: (N, d_out)."""
    ex = "affine"
    triples = []
    for case in network_cases(hidden, seed):
        triples.append((f"X @ W1 + b1 for {case.label}", case.X, case.params["W1"], case.params["b1"]))
        triples.append((f"A1 @ W2 + b2 for {case.label}", case.cache["A1"], case.params["W2"], case.params["b2"]))
    for label, X, W, b in triples:
        on = f"X: {X.shape}, W: {W.shape}, b: {b.shape}"
        got, copies = call_explained(ex, fn, X, W, b, on=on,
                                     hint="X @ W needs X's columns to match W's rows.")
        check_not_mutated(ex, (X, W, b), copies, ["X", "W", "b"])
        if isinstance(got, tuple):
            raise CheckFailed(ex, f"should return the array Z alone, got a tuple of {len(got)} items.")
        expected = affine_forward(X, W, b)[0]
        try:
            compare(ex, f"Z = {label}", got, expected)
        except CheckFailed as failure:
            if matches(got, X @ W) and np.any(b != 0):
                raise CheckFailed(ex, "Z equals X @ W: the bias b is missing. It is added to every row "
                                  "(numpy broadcasts b: (d_out,) across the N rows).") from None
            if matches(got, X @ W - b) or matches(got, -(X @ W) + b):
                message = str(failure).split(": ", 1)[1]
                raise CheckFailed(ex, message + "\n  It looks like a sign error: Z = X W + b.") from None
            raise
    passed(ex, len(triples))


# -------------------------------------------------------------- count_parameters
def reference_count(layer_sizes) -> int:
    """Weights and biases of the MLP with widths layer_sizes = [d0, d1, ..., C]."""
    return sum(d_in * d_out + d_out for d_in, d_out in zip(layer_sizes[:-1], layer_sizes[1:]))


LOOP_HINT = ("A network may have any number of layers, one per consecutive pair of widths: "
             "loop over zip(layer_sizes[:-1], layer_sizes[1:]).")


def _weights_only(sizes) -> int:
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def _count_mistakes(sizes) -> list[tuple[int, str]]:
    """Plausible wrong counts for ``sizes`` and what each one means."""
    w = _weights_only(sizes)
    mistakes = [
        (w, "That is the weights alone: each layer also has one bias per output unit "
            "(b1 has d1 entries, b2 has C)."),
        (w + sum(sizes), "You gave every width a bias, the input included. Biases belong to the layers: "
                         "a layer mapping d_in to d_out has d_out of them, and the input layer X has none."),
        (w + sum(sizes[:-1]), "You counted the biases with the input width of each layer; a layer mapping "
                              "d_in to d_out adds d_out biases, one per output unit."),
        (reference_count(sizes[:-1]), "The last layer is missing: widths [d0, ..., C] give len(sizes) - 1 layers, "
                                      "one per consecutive pair."),
        (reference_count(sizes[1:]), "The first layer is missing: widths [d0, ..., C] give len(sizes) - 1 layers, "
                                     "one per consecutive pair."),
    ]
    if len(sizes) > 3:
        mistakes.append((reference_count(sizes[:3]), "That counts the first two layers only: loop over every "
                                                     "consecutive pair of widths."))
    return mistakes


def _check_integer(ex: str, got, call_on: str) -> int:
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        extra = " (use integer arithmetic, or int(...))" if isinstance(got, (float, np.floating)) else ""
        raise CheckFailed(ex, f"{call_on} should return an int{extra}, got {describe(got)}.")
    return int(got)


def _size_cases(hidden: bool, seed: int) -> list[list[int]]:
    sizes = [[784, 256, 10], [5, 4, 3]]
    if hidden:
        rng = np.random.default_rng(seed)
        sizes += [[1, 1],                                           # one layer, one weight, one bias
                  [3, 7],                                           # a single layer
                  [int(v) for v in rng.integers(1, 300, size=4)],   # three layers, drawn from the seed
                  [int(v) for v in rng.integers(1, 60, size=6)],    # five layers
                  [64, 1, 2]]                                       # one hidden unit, two classes
    return sizes


def _layers_text(sizes) -> str:
    parts = [f"{a}×{b} + {b}" for a, b in zip(sizes[:-1], sizes[1:])]
    return " + ".join(f"({p})" for p in parts)


def check_count_parameters(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(layer_sizes: list[int]) -> int, the number of weights and biases."""
    ex = "count_parameters"
    cases = _size_cases(hidden, seed)
    for sizes in cases:
        call_on = f"count_parameters({sizes})"
        got, copies = call_explained(ex, fn, list(sizes), on=call_on, hint=LOOP_HINT)
        if copies[0][0] != sizes:
            raise CheckFailed(ex, f"your function changed its argument layer_sizes to {copies[0][0]}; "
                              "leave it as it was.")
        got = _check_integer(ex, got, call_on)
        expected = reference_count(sizes)
        if got != expected:
            why = next((text for value, text in _count_mistakes(sizes) if value == got and value != expected), "")
            raise CheckFailed(ex, f"{call_on} should be {_layers_text(sizes)} = {expected:,}, got {got:,}."
                              + (f"\n  {why}" if why else ""))
    passed(ex, len(cases))


# ------------------------------------------------------ finite_difference_passes
def check_finite_difference_passes(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(layer_sizes: list[int]) -> int, forward passes for one central-difference gradient (2 per parameter)."""
    ex = "finite_difference_passes"
    cases = _size_cases(hidden, seed)
    for sizes in cases:
        call_on = f"finite_difference_passes({sizes})"
        got, _ = call_explained(ex, fn, list(sizes), on=call_on, hint=LOOP_HINT)
        got = _check_integer(ex, got, call_on)
        P = reference_count(sizes)
        expected = 2 * P
        if got == expected:
            continue
        hints = {
            P: "That is one pass per parameter. A central difference evaluates the loss twice for each "
               "parameter, at θ_j + ε and at θ_j − ε.",
            P + 1: "That is the cost of one-sided differences (L(θ) once, then L(θ + ε e_j) per parameter). "
                   "Central differences use both θ_j + ε and θ_j − ε: two passes per parameter.",
            2 * P + 1: "Central differences never need L(θ) itself: just the two perturbed passes per parameter.",
            2 * _weights_only(sizes): "That counts the weights only: the biases are parameters too "
                                      "(check count_parameters).",
        }
        why = hints.get(got, "")
        raise CheckFailed(ex, f"{call_on} should be 2 × {P:,} parameters = {expected:,}, got {got:,}."
                          + (f"\n  {why}" if why else ""))
    passed(ex, len(cases))
