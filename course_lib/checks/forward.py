"""Checkers for notebook 02, the forward pass and its cache (syllabus sections 2 and 5.4).

Exercises: ``relu``, ``softmax`` (row-max shifted), ``cross_entropy`` (mean over
the batch, guarded against log 0) and ``forward(params, X) -> (Yhat, cache)``.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import bugs, mlp
from ..activations import relu
from ..losses import LOG_GUARD, cross_entropy, softmax
from .cases import logit_cases, network_cases
from .core import CheckFailed, check_not_mutated, compare, describe, matches, passed, quiet, validate_array
from .core import call_explained

__all__ = ["check_relu", "check_softmax", "check_cross_entropy", "check_forward"]

# Why the backward pass reads each cache entry (the formula it appears in).
CACHE_NEEDS = {
    "X": "dL/dW1 = X^T delta1: the input of the first layer",
    "Z1": "delta1 = dL/dA1 * 1[Z1 > 0]: the ReLU gate is read off the pre-activation",
    "A1": "dL/dW2 = A1^T delta2: the input of the second layer",
    "Yhat": "delta2 = (Yhat - Y) / N: the fused softmax cross-entropy gradient",
}


SHIFT_HINT = ("exp(1000) overflows to inf and inf / inf is NaN. Subtract each row's maximum before "
              "exponentiating: softmax(Z) = softmax(Z - c) for any constant c per row.")


# -------------------------------------------------------------------------- relu
def check_relu(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(Z: any shape) -> A: the same shape, max(0, Z) elementwise."""
    ex = "relu"
    inputs = [(f"Z1 of {case.label}", case.cache["Z1"]) for case in network_cases(hidden, seed)]
    inputs.append(("a row with an exact 0, a -0.0 and tiny values",
                   np.array([[0.0, -0.0, 1e-300, -1e-300, 2.5, -2.5]])))
    if hidden:
        rng = np.random.default_rng(seed)
        inputs += [("a 1-D vector", rng.standard_normal(7)),
                   ("a single entry", np.array([[-rng.uniform(0.1, 2.0)]])),
                   ("large values", 1e3 * rng.standard_normal((3, 4)))]
    for label, Z in inputs:
        got, copies = call_explained(ex, fn, Z, on=f"Z of shape {Z.shape}")
        check_not_mutated(ex, (Z,), copies, ["Z"])
        expected = relu(Z)
        try:
            compare(ex, f"relu({label})", got, expected)
        except CheckFailed as failure:
            msg = str(failure).split(": ", 1)[1]
            if type(got) is np.ndarray and got.shape == Z.shape and np.allclose(got, np.abs(Z)):
                msg += "\n  That is |Z|: negative entries must become 0, not flip sign."
            elif type(got) is np.ndarray and got.shape == Z.shape and np.allclose(got, np.minimum(Z, 0)):
                msg += "\n  That is min(0, Z): ReLU keeps the positive part."
            raise CheckFailed(ex, msg) from None
    passed(ex, len(inputs))


# ----------------------------------------------------------------------- softmax
def _softmax_inputs(hidden: bool, seed: int) -> list[tuple[str, np.ndarray]]:
    cases = logit_cases(hidden, seed)
    labelled = [("ordinary logits (4, 3)", cases[0]), ("ordinary logits (5, 6)", cases[1])]
    # One visible case with large logits: the whole point of the exercise.
    labelled.append(("logits near 1000", np.array([[1000.0, 999.0, 998.0], [1000.0, 1000.0, -1000.0]])))
    if hidden:
        labelled += [("a single row", cases[2]), ("two classes", cases[3]), ("logits near 1e3 (3, 5)", cases[4]),
                     ("rows with ±1e3, equal logits, and all near -1e3", cases[5])]
    return labelled


def _column_softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def check_softmax(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(Z: (N, C)) -> Yhat: (N, C), finite, rows summing to 1, Z unchanged."""
    ex = "softmax"
    inputs = _softmax_inputs(hidden, seed)
    for label, Z in inputs:
        got, copies = call_explained(ex, fn, Z, on=f"logits of shape {Z.shape}",
                                     hint="Reductions along a row need keepdims=True to broadcast back against Z.")
        if not np.array_equal(copies[0][0], Z):
            raise CheckFailed(ex, f"your function changed its input Z in place (on {label}). Subtracting the "
                              "maximum must build a new array: `Z = Z - m` (or `shifted = Z - m`), not `Z -= m`.")
        expected = softmax(Z)
        try:
            compare(ex, f"softmax of {label}", got, expected)
        except CheckFailed as failure:
            msg = str(failure).split(": ", 1)[1]
            bug = None
            with quiet():
                naive = bugs.softmax_unshifted(Z.copy())
            if matches(got, naive):
                bug = "unstable_softmax"
                msg += "\n  " + SHIFT_HINT
            elif type(got) is np.ndarray and not np.all(np.isfinite(got)):
                msg += ("\n  Shift each row by its own maximum (axis=1, keepdims=True). One shift for the whole "
                        "matrix leaves rows far below it whose exponentials all underflow to 0, and 0 / 0 is NaN.")
            elif type(got) is np.ndarray and got.shape == Z.shape and matches(got, _column_softmax(Z)):
                msg += ("\n  Each column sums to 1 instead of each row. A row is one example: take the max and the "
                        "sum along axis=1, with keepdims=True.")
            elif type(got) is np.ndarray and got.shape == Z.shape and np.all(np.isfinite(got)):
                sums = got.sum(axis=1)
                if not np.allclose(sums, 1.0):
                    msg += f"\n  The rows sum to {np.array2string(sums[:4], precision=4)} rather than 1."
            raise CheckFailed(ex, msg, bug=bug) from None
    passed(ex, len(inputs))


# ----------------------------------------------------------------- cross_entropy
def _ce_inputs(hidden: bool, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    cases = network_cases(hidden, seed)
    inputs = [(f"{case.label}", case.Yhat, case.Y) for case in cases]
    # A prediction that is exactly 0 on a wrong class: Y * log(Yhat) there is 0 * log(0).
    inputs.append(("a prediction with probability exactly 0 on a wrong class",
                   np.array([[0.7, 0.3, 0.0], [0.2, 0.5, 0.3]]), np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])))
    # A confidently wrong prediction: log(0) unless guarded.
    inputs.append(("a prediction with probability exactly 0 on the true class",
                   np.array([[0.0, 0.1, 0.9], [0.6, 0.3, 0.1]]), np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])))
    if hidden:
        rng = np.random.default_rng(seed)
        p = rng.uniform(0.05, 0.95)
        inputs += [("two classes, the true one at probability exactly 0", np.array([[1.0, 0.0], [1 - p, p]]),
                    np.array([[0.0, 1.0], [0.0, 1.0]])),
                   ("a perfect prediction", np.eye(4)[[2, 0, 3]], np.eye(4)[[2, 0, 3]])]
    return inputs


def check_cross_entropy(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(Yhat: (N, C), Y: (N, C) one-hot) -> L, a float: -(1/N) sum Y log(Yhat + 1e-12)."""
    ex = "cross_entropy"
    inputs = _ce_inputs(hidden, seed)
    for label, Yhat, Y in inputs:
        N, C = Yhat.shape
        got, copies = call_explained(ex, fn, Yhat, Y, on=f"Yhat: {Yhat.shape}, Y: {Y.shape}")
        check_not_mutated(ex, (Yhat, Y), copies, ["Yhat", "Y"])
        if isinstance(got, np.ndarray) and got.shape != ():
            raise CheckFailed(ex, f"should return a single number (the mean over the batch), got {describe(got)}. "
                              "Sum over the classes and average over the rows.")
        expected = np.asarray(cross_entropy(Yhat, Y))
        try:
            compare(ex, f"the loss for {label}", got, expected, batch=N)
        except CheckFailed as failure:
            msg = str(failure).split(": ", 1)[1]
            numeric = isinstance(got, (float, np.floating)) or (type(got) is np.ndarray and got.shape == ()
                                                                 and np.issubdtype(got.dtype, np.floating))
            value = float(got) if numeric else None
            with quiet():
                unguarded = -np.sum(Y * np.log(Yhat)) / N
            if value is not None and (not np.isfinite(value) or (np.isfinite(unguarded) and np.isclose(value, unguarded)
                                                                  and not np.isclose(unguarded, expected))):
                msg += (f"\n  log(0) = -inf (and 0 * log(0) is NaN). Guard the log as the course does: "
                        f"log(Yhat + {LOG_GUARD:g}).")
            elif value is not None and np.any(Yhat == 0) and np.isfinite(value) and value > expected + 1:
                msg += (f"\n  The guard changes the answer where a probability is 0: add exactly {LOG_GUARD:g} "
                        f"inside the log, as course_lib.losses does.")
            elif value is not None and C > 1 and np.isclose(value * C, expected, rtol=1e-6) and N * C > 1:
                msg += f"\n  You divided by N*C = {N * C}: average over the N rows only, summing over the classes."
            raise CheckFailed(ex, msg) from None
    passed(ex, len(inputs))


# ----------------------------------------------------------------------- forward
def _reference_with_bug(bug_name: str, params, X):
    fwd, _ = bugs.get(bug_name).network()
    with quiet():
        return fwd(copy.deepcopy(params), X.copy())


def check_forward(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(params, X: (N, d0)) -> (Yhat: (N, C), cache) with cache keys "X", "Z1", "A1", "Yhat"."""
    ex = "forward"
    cases = network_cases(hidden, seed)
    for case in cases:
        on = f"{case.label} (X: {case.X.shape})"
        got, copies = call_explained(ex, fn, case.params, case.X, on=on)
        check_not_mutated(ex, (case.params, case.X), copies, ["params", "X"])
        if not isinstance(got, tuple) or len(got) != 2:
            raise CheckFailed(ex, f"should return a tuple (Yhat, cache), got {describe(got)}"
                              + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "") + ".")
        Yhat, cache = got
        expected_Yhat, expected_cache = mlp.forward(case.params, case.X)
        try:
            compare(ex, f"Yhat for {on}", Yhat, expected_Yhat)
        except CheckFailed as failure:
            msg = str(failure).split(": ", 1)[1]
            bug = None
            if matches(Yhat, _reference_with_bug("unstable_softmax", case.params, case.X)[0]):
                bug = "unstable_softmax"
                msg += "\n  The softmax inside forward overflows. " + SHIFT_HINT
            raise CheckFailed(ex, msg, bug=bug) from None
        if not isinstance(cache, dict):
            raise CheckFailed(ex, f"the cache should be a dict, got {describe(cache)}.")
        for key, why in CACHE_NEEDS.items():
            if key not in cache:
                near = [k for k in cache if isinstance(k, str) and k.lower() == key.lower()]
                raise CheckFailed(ex, f"the cache has no entry {key!r} (it has {sorted(map(str, cache))}). "
                                  f"The backward pass needs it for {why}."
                                  + (f" Keys are case-sensitive: you wrote {near[0]!r}." if near else ""))
            entry = validate_array(ex, f"cache[{key!r}]", cache[key], expected_cache[key])
            try:
                compare(ex, f"cache[{key!r}] for {on}", entry, expected_cache[key])
            except CheckFailed as failure:
                message = str(failure).split(": ", 1)[1]
                raise CheckFailed(ex, message + f"\n  The backward pass reads it in {why}.") from None
        _check_fresh_cache(ex, fn, case, cache, on)
    passed(ex, len(cases))


def _check_fresh_cache(ex, fn, case, cache, on) -> None:
    """A second forward pass on another batch must leave the first call's cache as it was."""
    before = {k: np.array(v, copy=True) for k, v in cache.items() if isinstance(v, np.ndarray)}
    X_other = np.random.default_rng(case.N).standard_normal(case.X.shape) + 1.0
    second, _ = call_explained(ex, fn, case.params, X_other, on=f"a second batch for {on}")
    cache_other = second[1] if isinstance(second, tuple) and len(second) == 2 else None
    changed = [k for k in before if k not in cache or not np.array_equal(before[k], cache[k])]
    if changed or cache_other is cache:
        raise CheckFailed(ex, f"a second call of forward on another batch changed the first call's cache "
                          f"(entries {changed or sorted(before)}). Build a new dict inside forward on every call "
                          "and return it, so that each backward pass reads the cache of its own batch.",
                          bug="stale_cache")
