"""The one recogniser of known mistakes: which wrong answer reproduces what the student returned.

A :class:`Variant` is a known wrong answer for the case at hand, computed on demand: a catalogued
bug of :mod:`course_lib.bugs` (then it names the bug) or an uncatalogued slip (a column-wise
softmax, a 1e-7 guard, the binary cross entropy). :func:`first_match` tries a list of them in
order and returns the first whose answer the student's reproduces, skipping any that happens to
equal the right answer on this case. :func:`catalogued` builds the variants of every catalogued
bug that breaks a given piece of the network.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from .. import bugs

# What to do about each catalogued bug, in a sentence (the catalogue itself says what it is).
BUG_HINTS = {
    "wrong_transpose": "A weight gradient is (layer input)^T @ dZ, of shape (d_in, d_out): dZ^T @ X is its transpose, "
                       "and reshaping that into W's shape scrambles the entries (section 5.1).",
    "missing_batch_average": "Divide by the batch size N once, in dZ2 = (Yhat - Y) / N: every gradient downstream "
                             "inherits it (section 5.2).",
    "bias_gradient_averaged": "A bias gradient sums dZ over the batch, dZ.sum(axis=0); a mean divides by N a second "
                              "time (section 5.2).",
    "stale_cache": "Build a new cache on every call and return it; keep nothing on self or in a shared dict that a "
                   "second forward pass can overwrite (section 5.3).",
    "unstable_softmax": "Subtract each row's own maximum before exponentiating (axis=1, keepdims=True): softmax is "
                        "unchanged by a shift per row, and every exponent is then <= 0 (section 5.4).",
    "relu_mask_from_activation": "Differentiate the activation at its pre-activation Z: for leaky ReLU the gate is "
                                 "1 where Z > 0 and alpha elsewhere, not a 0/1 mask (section 5.5).",
    "relu_mask_from_gradient": "The ReLU gate comes from the cached pre-activation: dZ = dA * (Z > 0), whatever the "
                               "sign of dA (section 5.5).",
    "in_place_cache_mutation": "Compute the gradient in a new array (dZ = (Yhat - Y) / N), never in the cached "
                               "Yhat's buffer (section 5.6).",
}


@dataclass
class Variant:
    """A known wrong answer: ``compute()`` gives what it returns on the case at hand; ``hint`` says
    what to do about it; ``bug`` is its catalogue name, or None for an uncatalogued slip."""

    hint: str
    compute: Callable[[], object]
    bug: str | None = None
    rtol: float = 1e-6   # how closely the student's answer must reproduce this one
    atol: float = 1e-9


def matches(got, expected, rtol: float = 1e-6, atol: float = 1e-9, keys=None) -> bool:
    """True when ``got`` equals ``expected`` within a loose tolerance, NaN matching NaN: arrays
    (genuine ndarrays of the same shape) and numbers, walked through tuples, lists and dicts
    (only the dict entries of ``keys``, when given)."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return False
        wanted = expected.keys() if keys is None else keys
        return all(k in got and k in expected and matches(got[k], expected[k], rtol, atol) for k in wanted)
    if isinstance(expected, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(expected)
                and all(matches(g, e, rtol, atol) for g, e in zip(got, expected)))
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        if type(got) is not np.ndarray and not (np.ndim(expected) == 0 and _number(got)):
            return False
        g, e = np.asarray(got), np.asarray(expected)
        if g.shape != e.shape:
            return False
        if not (np.issubdtype(g.dtype, np.number) and np.issubdtype(e.dtype, np.number)):
            return bool(np.array_equal(g, e))
        with np.errstate(all="ignore"):
            return bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True))
    if _number(expected) and _number(got):
        with np.errstate(all="ignore"):
            return bool(np.isclose(float(got), float(expected), rtol=rtol, atol=atol, equal_nan=True))
    return got is expected or (isinstance(got, str) and got == expected)


def _number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def first_match(got, variants: Iterable[Variant], expected=None, keys=None) -> Variant | None:
    """The first variant whose answer ``got`` reproduces (entries ``keys`` of a dict only, when
    given), skipping variants that fail to run and those that equal ``expected`` here."""
    for variant in variants:
        try:
            with np.errstate(all="ignore"):
                wrong = variant.compute()
        except Exception:  # a variant may not apply to this case's shapes
            continue
        if wrong is None or (expected is not None and matches(wrong, expected, variant.rtol, variant.atol, keys)):
            continue
        if matches(got, wrong, variant.rtol, variant.atol, keys):
            return variant
    return None


def catalogued(target: str | Iterable[str], build: Callable[[bugs.Bug], object],
               hints: dict | None = None) -> list[Variant]:
    """A :class:`Variant` for every catalogued bug that breaks ``target`` (a name of
    :attr:`course_lib.bugs.Bug.target`, or several; either registry: "affine_backward", or
    "batchnorm.batchnorm_backward" for notebook 09's): ``build(bug)`` is what the exercise returns
    when built on that bug."""
    targets = {target} if isinstance(target, str) else set(target)
    hints = {**BUG_HINTS, **(hints or {})}
    return [Variant(hints.get(b.name, ""), (lambda b=b: build(b)), b.name)
            for b in bugs.ALL_BUGS.values() if b.target in targets]


# The pieces of the two-layer ReLU network a catalogued bug can break (network-level recognition).
NETWORK_TARGETS = ("affine_backward", "softmax_cross_entropy_backward", "relu_backward")


def network_variants(build: Callable[[bugs.Bug], object]) -> list[Variant]:
    """The catalogued bugs of a two-layer ReLU network's backward pass: ``build(bug)`` runs the
    network with the bug injected (``bug.network()``) on the case at hand."""
    return catalogued(NETWORK_TARGETS, build)


def consistent_variant(runs: list[tuple[object, object, list[Variant]]]) -> Variant | None:
    """The first variant that reproduces the student's answer on EVERY case: ``runs`` holds, per case,
    (the student's answer, the right answer, that case's variants, listed in the same order for every
    case). Two slips can agree on one case (a single norm and the larger norm, when one gradient is
    the larger): judged on all cases, only the student's own remains. A variant that does not apply
    to a case (computes None) is not held against it there; one that equals the right answer on
    every case is no mistake at all."""
    if not runs:
        return None
    for i in range(len(runs[0][2])):
        agree, differs = True, False
        for got, expected, variants in runs:
            variant = variants[i]
            try:
                with np.errstate(all="ignore"):
                    wrong = variant.compute()
            except Exception:
                agree = False
                break
            if wrong is None:
                continue
            if not matches(got, wrong, variant.rtol, variant.atol):
                agree = False
                break
            differs = differs or not matches(wrong, expected, variant.rtol, variant.atol)
        if agree and differs:
            return runs[0][2][i]
    return None
