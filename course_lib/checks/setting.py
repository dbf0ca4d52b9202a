"""Checkers for notebook 01, the computational setting (syllabus section 1).

Exercises: ``layer_shapes`` (the shape of every tensor of the two-layer network),
``affine`` (Z = X W + b), ``count_parameters`` (weights and biases of an MLP) and
``finite_difference_passes`` (what central differences cost for one gradient).
"""
from __future__ import annotations

import numpy as np

from ..affine import affine_forward
from ..references import SHAPE_KEYS, reference_count, reference_shapes
from .cases import network_cases
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, passed
from .recognise import Variant

__all__ = ["check_layer_shapes", "check_affine", "check_count_parameters", "check_finite_difference_passes"]


# ------------------------------------------------------------------ layer_shapes
# The same shapes in symbols, for messages.
SYMBOLS = {"X": ("N", "d0"), "W1": ("d0", "d1"), "b1": ("d1",), "Z1": ("N", "d1"), "A1": ("N", "d1"),
           "W2": ("d1", "C"), "b2": ("C",), "Z2": ("N", "C"), "Yhat": ("N", "C")}


def _as_shape(value):
    """A tuple of Python ints, or None when ``value`` is not a tuple or list of integers."""
    if not isinstance(value, (tuple, list)):
        return None
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value):
        return None
    return tuple(int(v) for v in value)


def _shape_hint(key: str, got: tuple, expected: tuple) -> str:
    if key.startswith("b") and len(got) == 2 and 1 in got and max(got) == expected[0]:
        return (f"{key}: a bias is a vector with one entry per output unit, stored with shape (d,); "
                "numpy broadcasts it across the N rows of the batch.")
    if len(got) == 2 and got == expected[::-1] and got != expected:
        if key.startswith("W"):
            return (f"{key} is transposed. The network computes X @ W1, so W1 has one row per input feature "
                    "and one column per unit of the layer it feeds.")
        return f"{key} is transposed: every activation has one row per example in the batch."
    if key in ("Z1", "A1", "Z2", "Yhat", "X") and len(got) == 2 and got[0] != expected[0] and got[1] == expected[1]:
        return f"{key}: activations keep the batch as their first axis, one row per example."
    return ""


def _symbols(key: str) -> str:
    return "(" + ", ".join(SYMBOLS[key]) + ("," if len(SYMBOLS[key]) == 1 else "") + ")"


def check_layer_shapes(fn, hidden: bool = False, seed: int = 0):
    """fn(N, d0, d1, C) -> {"X": (N, d0), "W1": (d0, d1), "b1": (d1,), ..., "Yhat": (N, C)}."""
    ex = "layer_shapes"
    sizes = [(8, 5, 4, 3), (64, 784, 256, 10)]
    if hidden:
        rng = np.random.default_rng(seed)
        d = rng.choice(np.arange(2, 40), size=4, replace=False)
        sizes += [(1, 6, 3, 4),                 # a batch of one
                  (5, 7, 1, 2),                 # one hidden unit, two classes
                  tuple(int(v) for v in d)]     # four different sizes drawn from the seed
    findings, first = [], ""
    for N, d0, d1, C in sizes:
        call_on = f"layer_shapes(N={N}, d0={d0}, d1={d1}, C={C})"
        got = call(ex, fn, N, d0, d1, C, on=call_on).result
        expected = reference_shapes(N, d0, d1, C)
        if not isinstance(got, dict):
            fail(ex, f"{call_on} should return a dict mapping names to shape tuples, got {describe(got)}.",
                 case=call_on, status="error")
        missing = [k for k in SHAPE_KEYS if k not in got]
        if missing:
            near = [k for k in got if isinstance(k, str) and k.lower() in {m.lower() for m in missing}]
            fail(ex, f"{call_on} is missing the keys {missing}; it has {sorted(map(str, got))}.",
                 [f"Expected exactly {list(SHAPE_KEYS)}" + (f"; keys are case-sensitive ({near})." if near else ".")],
                 case=call_on, status="error")
        wrong, hints = [], []
        for key in SHAPE_KEYS:
            shape = _as_shape(got[key])
            if shape is None:
                wrong.append(f"{call_on}[{key!r}] should be a tuple of ints like {expected[key]}, got {describe(got[key])}.")
            elif shape != expected[key]:
                transposed = len(shape) == 2 and shape == expected[key][::-1]
                wrong.append(f"{call_on}[{key!r}] should be {_symbols(key)} = {expected[key]}, got {shape}"
                             + (", the transpose." if transposed else "."))
                hints.append(_shape_hint(key, shape, expected[key]))
        if wrong:
            first = first or call_on
            findings.append(Finding("\n".join(wrong), hints))
    finish(ex, findings, first)
    return passed(ex, len(sizes))


# ------------------------------------------------------------------------ affine
def check_affine(fn, hidden: bool = False, seed: int = 0):
    """fn(X: (N, d_in), W: (d_in, d_out), b: (d_out,)) -> Z: (N, d_out)."""
    ex = "affine"
    triples = []
    for case in network_cases(hidden, seed):
        triples.append((f"X @ W1 + b1 for {case.label}", case.X, case.params["W1"], case.params["b1"]))
        triples.append((f"A1 @ W2 + b2 for {case.label}", case.cache["A1"], case.params["W2"], case.params["b2"]))
    for label, X, W, b in triples:
        on = f"X: {X.shape}, W: {W.shape}, b: {b.shape} ({label})"
        done = call(ex, fn, X, W, b, on=on, hint="X @ W needs X's columns to match W's rows.")
        got = done.result
        mutated = unchanged({"X": X, "W": W, "b": b}, dict(zip("XWb", done.args)))
        if isinstance(got, tuple):
            fail(ex, f"should return the array Z alone, got a tuple of {len(got)} items.",
                 ["course_lib's affine_forward returns (Z, cache); this exercise returns Z only."], case=label,
                 status="error")
        expected = affine_forward(X, W, b)[0]
        variants = [Variant("Z equals X @ W: the bias b is missing. It is added to every row (numpy broadcasts "
                            "b: (d_out,) across the N rows).", lambda: X @ W),
                    Variant("It looks like a sign error: Z = X W + b.", lambda: X @ W - b),
                    Variant("It looks like a sign error: Z = X W + b.", lambda: b - X @ W),
                    Variant("b was added down the columns (b[:, None]): it belongs to the output units, one entry "
                            "per column of Z, so add b: (d_out,) as it is.",
                            lambda: X @ W + b[:, None] if X.shape[0] == b.shape[0] else None)]
        finish(ex, [mutated, check_array(f"Z = {label}", got, expected, role="batch", variants=variants)], label)
    return passed(ex, len(triples))


# -------------------------------------------------------------- count_parameters
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
    if len(sizes) != 3:
        mistakes.append((reference_count(sizes[:3]) if len(sizes) > 3 else -1,
                         "That counts the first two layers only. " + LOOP_HINT))
    return mistakes


def _two_layer_formula(sizes) -> int | None:
    """What the two-layer formula d0*d1 + d1 + d1*C + C gives when it indexes sizes[0], [1], [2]."""
    if len(sizes) < 3:
        return None
    d0, d1, C = sizes[0], sizes[1], sizes[2]
    return d0 * d1 + d1 + d1 * C + C


def _integer(ex: str, got, call_on: str) -> int:
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        extra = ["Use integer arithmetic, or int(...)."] if isinstance(got, (float, np.floating)) else []
        fail(ex, f"{call_on} should return an int, got {describe(got)}.", extra, case=call_on,
             status="failed" if extra else "error")
    return int(got)


def _size_cases(hidden: bool, seed: int) -> list[list[int]]:
    # Visible: two and four widths besides the usual three, so that a two-layer formula cannot pass.
    sizes = [[784, 256, 10], [5, 4, 3], [3, 7], [6, 5, 4, 2]]
    if hidden:
        rng = np.random.default_rng(seed)
        sizes += [[1, 1],                                           # one layer, one weight, one bias
                  [int(v) for v in rng.integers(2, 300, size=2)],   # a single layer, drawn from the seed
                  [int(v) for v in rng.integers(1, 300, size=4)],   # three layers
                  [int(v) for v in rng.integers(1, 60, size=6)],    # five layers
                  [64, 1, 2]]                                       # one hidden unit, two classes
    return sizes


def _layers_text(sizes) -> str:
    parts = [f"{a}×{b} + {b}" for a, b in zip(sizes[:-1], sizes[1:])]
    return " + ".join(f"({p})" for p in parts)


def _check_counts(ex: str, fn, hidden: bool, seed: int, expected_of, explain):
    """Run ``fn`` on every size list; report every list it gets wrong (with ``explain``'s hint)."""
    cases = _size_cases(hidden, seed)
    findings, first = [], ""
    for sizes in cases:
        call_on = f"{ex}({sizes})"
        done = call(ex, fn, list(sizes), on=call_on, hint=LOOP_HINT)
        if done.args[0] != sizes:
            fail(ex, f"your function changed its argument layer_sizes to {describe(done.args[0])}.",
                 ["Leave the list as it was: read it, never append to it or sort it."], case=call_on)
        got = _integer(ex, done.result, call_on)
        expected, text = expected_of(sizes)
        if got != expected:
            first = first or call_on
            findings.append(Finding(f"{call_on} should be {text} = {expected:,}, got {got:,}.", [explain(sizes, got)]))
    finish(ex, findings, first)
    return passed(ex, len(cases))


def check_count_parameters(fn, hidden: bool = False, seed: int = 0):
    """fn(layer_sizes: list[int]) -> int, the number of weights and biases."""
    def explain(sizes, got):
        if got == _two_layer_formula(sizes) and len(sizes) != 3:
            return "That is the two-layer formula applied to the first three widths. " + LOOP_HINT
        return next((text for value, text in _count_mistakes(sizes) if value == got), "")
    return _check_counts("count_parameters", fn, hidden, seed,
                         lambda sizes: (reference_count(sizes), _layers_text(sizes)), explain)


# ------------------------------------------------------ finite_difference_passes
def check_finite_difference_passes(fn, hidden: bool = False, seed: int = 0):
    """fn(layer_sizes: list[int]) -> int, forward passes for one central-difference gradient (2 per parameter)."""
    def explain(sizes, got):
        P = reference_count(sizes)
        hints = {
            P: "That is one pass per parameter. A central difference evaluates the loss twice for each "
               "parameter, at θ_j + ε and at θ_j − ε.",
            P + 1: "That is the cost of one-sided differences (L(θ) once, then L(θ + ε e_j) per parameter). "
                   "Central differences use both θ_j + ε and θ_j − ε: two passes per parameter.",
            2 * P + 1: "Central differences never need L(θ) itself: just the two perturbed passes per parameter.",
            2 * _weights_only(sizes): "That counts the weights only: the biases are parameters too "
                                      "(check count_parameters).",
        }
        if len(sizes) != 3 and got == 2 * (_two_layer_formula(sizes) or -1):
            return "That is the two-layer count applied to the first three widths. " + LOOP_HINT
        return hints.get(got, "")
    return _check_counts("finite_difference_passes", fn, hidden, seed,
                         lambda sizes: (2 * reference_count(sizes), f"2 × {reference_count(sizes):,} parameters"),
                         explain)
