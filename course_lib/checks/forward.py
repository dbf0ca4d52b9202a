"""Checkers for notebook 02, the forward pass and its cache (syllabus sections 2 and 5.4).

Exercises: ``relu``, ``softmax`` (row-max shifted), ``cross_entropy`` (mean over
the batch, guarded against log 0) and ``forward(params, X) -> (Yhat, cache)``.
"""
from __future__ import annotations

import numpy as np

from .. import bugs, mlp
from ..activations import leaky_relu, relu
from ..losses import LOG_GUARD, cross_entropy, softmax
from ..snapshot import copy_data
from .cases import designed_case, logit_cases, network_cases, strided
from .compare import check_array, describe, scalar_dtype, unchanged
from .core import Finding, call, fail, finish, interleaved_forward, is_number, passed
from .recognise import BUG_HINTS, Variant, consistent_variant, matches

__all__ = ["check_relu", "check_softmax", "check_cross_entropy", "check_forward"]

# Why the backward pass reads each cache entry (the formula it appears in).
CACHE_NEEDS = {
    "X": "dL/dW1 = X^T delta1: the input of the first layer",
    "Z1": "delta1 = dL/dA1 * 1[Z1 > 0]: the ReLU gate is read off the pre-activation",
    "A1": "dL/dW2 = A1^T delta2: the input of the second layer",
    "Yhat": "delta2 = (Yhat - Y) / N: the fused softmax cross-entropy gradient",
}
UNSTABLE = "unstable_softmax"


# -------------------------------------------------------------------------- relu
def check_relu(fn, hidden: bool = False, seed: int = 0):
    """fn(Z: any shape) -> A: the same shape, max(0, Z) elementwise."""
    ex = "relu"
    inputs = [(f"Z1 of {case.label}", case.cache["Z1"]) for case in network_cases(hidden, seed)]
    inputs.append(("a row with an exact 0, a -0.0 and tiny values",
                   np.array([[0.0, -0.0, 1e-300, -1e-300, 2.5, -2.5]])))
    if hidden:
        rng = np.random.default_rng(seed)
        inputs += [("a 1-D vector", rng.standard_normal(7)),
                   ("a single negative entry", np.array([[-rng.uniform(0.1, 2.0)]])),
                   ("large values", 1e3 * rng.standard_normal((3, 4))),
                   ("a 3-D array", rng.standard_normal((2, 3, 2))),
                   ("Z a transposed strided view (4, 5)", strided(rng.standard_normal((4, 5)), rng, transpose=True))]
    for label, Z in inputs:
        done = call(ex, fn, Z, on=f"Z of shape {Z.shape} ({label})")
        variants = [Variant("That is |Z|: negative entries must become 0, not flip sign.", lambda: np.abs(Z)),
                    Variant("That is min(0, Z): ReLU keeps the positive part, max(0, Z).", lambda: np.minimum(Z, 0)),
                    Variant("That is leaky ReLU; this exercise is the plain ReLU, max(0, Z).", lambda: leaky_relu(Z)),
                    Variant("That is the 0/1 mask Z > 0, the ReLU's derivative; the ReLU itself is max(0, Z).",
                            lambda: (Z > 0).astype(float))]
        finish(ex, [unchanged({"Z": Z}, {"Z": done.args[0]},
                              read_only="Return a new array: np.maximum(Z, 0) does; `Z[Z < 0] = 0` overwrites the input."),
                    check_array(f"relu({label})", done.result, relu(Z), variants=variants)], label)
    return passed(ex, len(inputs))


# ----------------------------------------------------------------------- softmax
def _shifted(Z, shift, axis=1):
    E = np.exp(Z - shift)
    return E / E.sum(axis=axis, keepdims=True)


def softmax_variants(Z: np.ndarray) -> list[Variant]:
    """The wrong softmaxes of logits Z: (N, C) that students write, each with what to do about it."""
    overflow = ("the largest exponent is then Z.max() - Z.min() of the row, and exp of anything above about 709 "
                "overflows to inf; inf / inf is NaN. Subtract each row's MAXIMUM instead (axis=1, keepdims=True), "
                "which makes every exponent <= 0.")
    return [
        Variant("exp of a logit above about 709 overflows to inf (exp(800) is inf in float64), and inf / inf is "
                "NaN. " + BUG_HINTS[UNSTABLE], lambda: bugs.softmax_unshifted(Z), UNSTABLE),
        Variant("It shifts by the maximum of the whole matrix. A row whose own maximum lies far below it has every "
                "exponential underflow to 0, and 0 / 0 is NaN. Shift each row by its own maximum: "
                "Z.max(axis=1, keepdims=True).", lambda: _shifted(Z, Z.max()), UNSTABLE),
        Variant("It shifts each row by its minimum: " + overflow, lambda: _shifted(Z, Z.min(axis=1, keepdims=True)),
                UNSTABLE),
        Variant("It shifts each row by its mean: " + overflow.replace("Z.max() - Z.min()", "Z.max() - Z.mean()"),
                lambda: _shifted(Z, Z.mean(axis=1, keepdims=True)), UNSTABLE),
        Variant("It shifts by each column's maximum (axis=0): a shift leaves softmax unchanged only when it is the "
                "same for a whole row, so take the maximum along axis=1.", lambda: _shifted(Z, Z.max(axis=0))),
        Variant("Each column sums to 1 instead of each row. A row is one example: take the max and the sum along "
                "axis=1, with keepdims=True.", lambda: _shifted(Z, Z.max(axis=0, keepdims=True), axis=0)),
        Variant("The max was taken without keepdims=True, so Z - max broadcast along the wrong axis (this matrix is "
                "square, so numpy did not complain). Use Z.max(axis=1, keepdims=True).",
                lambda: _shifted(Z, Z.max(axis=1)) if Z.shape[0] == Z.shape[1] else None),
        Variant("The sum was taken without keepdims=True, so the division broadcast along the wrong axis. Use "
                "E.sum(axis=1, keepdims=True).",
                lambda: (lambda E: E / E.sum(axis=1))(np.exp(Z - Z.max(axis=1, keepdims=True)))
                if Z.shape[0] == Z.shape[1] else None),
        Variant("It divides by the sum of the whole matrix: each ROW must sum to 1 (E.sum(axis=1, keepdims=True)).",
                lambda: (lambda E: E / E.sum())(np.exp(Z - Z.max()))),
        Variant("The exponentials are not normalised: divide each row by its sum.",
                lambda: np.exp(Z - Z.max(axis=1, keepdims=True))),
        Variant("That is the log of the softmax; return the probabilities themselves.",
                lambda: Z - Z.max(axis=1, keepdims=True) - np.log(np.exp(Z - Z.max(axis=1, keepdims=True))
                                                                  .sum(axis=1, keepdims=True))),
    ]


def check_softmax(fn, hidden: bool = False, seed: int = 0):
    """fn(Z: (N, C)) -> Yhat: (N, C), finite, rows summing to 1, Z unchanged."""
    ex = "softmax"
    inputs = logit_cases(hidden, seed)
    for label, Z in inputs:
        done = call(ex, fn, Z, on=f"logits of shape {Z.shape} ({label})",
                    hint="Reductions along a row need keepdims=True to broadcast back against Z.")
        got = done.result
        expected = softmax(Z)
        finding = check_array(f"softmax of {label}", got, expected, variants=softmax_variants(Z))
        if finding is not None and finding.bug is None and len(finding.hints) <= 1 and type(got) is np.ndarray \
                and got.shape == Z.shape and np.all(np.isfinite(got)) and not np.allclose(got.sum(axis=1), 1.0):
            finding.hints.append(f"The rows sum to {np.array2string(got.sum(axis=1)[:4], precision=4)} rather than 1.")
        finish(ex, [unchanged({"Z": Z}, {"Z": done.args[0]},
                              read_only="Subtracting the maximum must build a new array: `shifted = Z - m`, not "
                                        "`Z -= m`."), finding], label)
    return passed(ex, len(inputs))


# ----------------------------------------------------------------- cross_entropy
def _ce_inputs(hidden: bool, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    cases = network_cases(hidden, seed)
    inputs = [(case.label, case.Yhat, case.Y) for case in cases]
    # A prediction that is exactly 0 on a wrong class: Y * log(Yhat) there is 0 * log(0).
    inputs.append(("a prediction with probability exactly 0 on a wrong class",
                   np.array([[0.7, 0.3, 0.0], [0.2, 0.5, 0.3]]), np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])))
    # A confidently wrong prediction: log(0) unless guarded.
    inputs.append(("a prediction with probability exactly 0 on the true class",
                   np.array([[0.0, 0.1, 0.9], [0.6, 0.3, 0.1]]), np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])))
    # A perfect prediction: log(1) = 0 exactly; a clip at 1 - 1e-7 or a guard above 1e-12 shows here.
    inputs.append(("a perfect prediction", np.eye(4)[[2, 0, 3]], np.eye(4)[[2, 0, 3]]))
    if hidden:
        rng = np.random.default_rng(seed)
        p = rng.uniform(0.05, 0.95)
        inputs += [("two classes, the true one at probability exactly 0", np.array([[1.0, 0.0], [1 - p, p]]),
                    np.array([[0.0, 1.0], [0.0, 1.0]])),
                   ("Yhat a transposed strided view", strided(cases[4].Yhat.T.copy(), rng).T, cases[4].Y)]
    return inputs


def _ce(Yhat, Y, log=np.log, guard=LOG_GUARD, clip=None):
    P = np.clip(Yhat, clip, 1 - clip) if clip else Yhat + guard
    return -np.sum(Y * log(P)) / Yhat.shape[0]


BINARY = ("That is the binary cross entropy: it adds (1 - Y) log(1 - Yhat) for every class. With softmax outputs "
          "and one-hot labels the loss is -(1/N) sum Y log(Yhat + 1e-12) alone.")


def cross_entropy_variants(Yhat: np.ndarray, Y: np.ndarray) -> list[Variant]:
    """The wrong losses students write for (Yhat, Y), each with what to do about it."""
    N, C = Yhat.shape
    g = LOG_GUARD
    exact = {"rtol": 1e-10, "atol": 1e-13}  # tell a 1e-7 guard from 1e-12 on ordinary probabilities
    out = [Variant(f"log(0) = -inf (and 0 * log(0) is NaN). Guard the log as the course does: log(Yhat + {g:g}).",
                   lambda: _ce(Yhat, Y, guard=0.0))]
    for other in (1e-3, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-13, 1e-14, 1e-15, 1e-16):
        out.append(Variant(f"It matches a guard of {other:g} inside the log; the course adds exactly {g:g}: "
                           f"log(Yhat + {g:g}). The guard decides the loss wherever a probability is 0 (here "
                           f"-log({other:g}) = {-np.log(other):.4g} against -log({g:g}) = {-np.log(g):.4g}).",
                           lambda other=other: _ce(Yhat, Y, guard=other), **exact))
    for other in (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-15):
        out.append(Variant(f"It matches np.clip(Yhat, {other:g}, 1 - {other:g}); the course does not clip: it adds "
                           f"exactly {g:g} inside the log, log(Yhat + {g:g}).",
                           lambda other=other: _ce(Yhat, Y, clip=other), **exact))
        out.append(Variant(f"It matches np.maximum(Yhat, {other:g}) inside the log; the course adds exactly {g:g}: "
                           f"log(Yhat + {g:g}).",
                           lambda other=other: -np.sum(Y * np.log(np.maximum(Yhat, other))) / N, **exact))
    out += [
        Variant(BINARY, lambda: -np.sum(Y * np.log(Yhat + g) + (1 - Y) * np.log(1 - Yhat + g)) / N),
        Variant(BINARY, lambda: -np.sum(Y * np.log(Yhat) + (1 - Y) * np.log(1 - Yhat)) / N),
        Variant(f"It is the sum over the batch: divide by N = {N} (the loss is a mean).",
                lambda: _ce(Yhat, Y) * N if N > 1 else None),
        Variant(f"np.mean over every entry divides by N*C = {N * C}: sum over the classes, then divide by N only.",
                lambda: _ce(Yhat, Y) / C),
        Variant("It has the wrong sign: the loss is MINUS the mean of Y log Yhat, a positive number.",
                lambda: -_ce(Yhat, Y)),
        Variant("That is log base 2: use the natural log, np.log.", lambda: _ce(Yhat, Y, log=np.log2)),
        Variant("That is log base 10: use the natural log, np.log.", lambda: _ce(Yhat, Y, log=np.log10)),
        Variant("It averages the log of the probability of the PREDICTED class; the loss uses the TRUE class, "
                "where Y is 1.", lambda: -np.mean(np.log(Yhat.max(axis=1) + g))),
    ]
    return out


def check_cross_entropy(fn, hidden: bool = False, seed: int = 0):
    """fn(Yhat: (N, C), Y: (N, C) one-hot) -> L, a float: -(1/N) sum Y log(Yhat + 1e-12).

    Every case is run first; a wrong answer is then named by the variant that reproduces the
    student's loss on EVERY case (a 1e-7 guard and a clip at 1e-7 agree where a probability is 0,
    and differ on a perfect prediction)."""
    ex = "cross_entropy"
    runs = []
    for label, Yhat, Y in _ce_inputs(hidden, seed):
        N, C = Yhat.shape
        done = call(ex, fn, Yhat, Y, on=f"Yhat: {Yhat.shape}, Y: {Y.shape} ({label})")
        got = done.result
        mutated = unchanged({"Yhat": Yhat, "Y": Y}, dict(zip(("Yhat", "Y"), done.args)))
        if type(got) is np.ndarray and got.shape != ():
            hint = ("That is one loss per example: average them." if got.shape == (N,) else
                    "It is one number inside an array: drop keepdims=True, or return float(...)." if got.size == 1
                    else "Sum over the classes and average over the rows.")
            fail(ex, f"should return a single number (the mean over the batch), got {describe(got)}.", [hint],
                 case=label)
        if not (is_number(got) or (type(got) is np.ndarray and got.shape == ())):
            fail(ex, f"should return a single number (a float) for {label}, got {describe(got)}.", case=label,
                 status="error")
        runs.append((label, Yhat, Y, got, mutated))
    for label, Yhat, Y, got, mutated in runs:
        N, C = Yhat.shape
        expected = np.asarray(cross_entropy(Yhat, Y))
        dtype = scalar_dtype(f"the loss for {label}", got)
        value = None if dtype else check_array(f"the loss for {label}", np.asarray(got, dtype=np.float64), expected,
                                               role="loss", N=N, C=C)
        if value is not None:
            named = consistent_variant([(float(g), cross_entropy(P, T), cross_entropy_variants(P, T))
                                        for _, P, T, g, _ in runs])
            if named is not None:
                value.hints = [named.hint]
        finish(ex, [mutated, dtype, value], label)
    return passed(ex, len(runs))


# ----------------------------------------------------------------------- forward
def forward_variants(case) -> list[Variant]:
    """Wrong forward passes, as the Yhat they give on ``case``."""
    p, X = case.params, case.X
    Z2 = case.Z2
    out = [Variant(v.hint, (lambda v=v: v.compute()), v.bug) for v in softmax_variants(Z2)[:4]]
    out += [Variant("Yhat is the logits Z2: apply the softmax to them.", lambda: Z2),
            Variant("The ReLU is missing between the layers (or the second layer reads Z1): A1 = relu(Z1) feeds "
                    "the second layer.",
                    lambda: softmax((X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])),
            Variant("The biases are missing: Z = X W + b in both layers.",
                    lambda: softmax(relu(X @ p["W1"]) @ p["W2"]))]
    return out


def _cache_findings(cache, expected_cache: dict, on: str) -> list:
    if not isinstance(cache, dict):
        return [Finding(f"the cache should be a dict, got {describe(cache)}.", status="error")]
    findings = []
    for key, why in CACHE_NEEDS.items():
        if key not in cache:
            near = [k for k in cache if isinstance(k, str) and k.lower() == key.lower()]
            findings.append(Finding(f"the cache has no entry {key!r} (it has {sorted(map(str, cache))}).",
                                    [f"The backward pass needs {key} for {why}."
                                     + (f" Keys are case-sensitive: you wrote {near[0]!r}." if near else "")],
                                    status="error"))
            continue
        finding = check_array(f"cache[{key!r}] for {on}", cache[key], expected_cache[key])
        if finding is not None:
            finding.hints.append(f"The backward pass reads it in {why}.")
            findings.append(finding)
    return findings


def check_forward(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X: (N, d0)) -> (Yhat: (N, C), cache) with cache keys "X", "Z1", "A1", "Yhat"."""
    ex = "forward"
    cases = network_cases(hidden, seed)
    if not hidden:  # the visible test meets logits of 800 and 900 too: the reason for a stable softmax
        cases.append(designed_case("logits 800 and 900 in one row, and rows whose maxima differ by 1700",
                                   np.random.default_rng(seed + 1)))
    for case in cases:
        on = f"{case.label} (X: {case.X.shape})"
        done = call(ex, fn, case.params, case.X, on=on)
        got = done.result
        mutated = unchanged({"params": case.params, "X": case.X}, {"params": done.args[0], "X": done.args[1]})
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(ex, f"should return a pair (Yhat, cache), got {describe(got)}.",
                 ["End with `return Yhat, cache`."], case=case.label, status="error")
        Yhat, cache = got
        expected_Yhat, expected_cache = mlp.forward(case.params, case.X)
        yhat = check_array(f"Yhat for {on}", Yhat, expected_Yhat, variants=forward_variants(case))
        cached = _cache_findings(cache, expected_cache, on)
        if yhat is not None and isinstance(cache, dict) and matches(cache.get("Yhat"), Yhat, 0, 0):
            cached = [f for f in cached if not f.message.startswith("cache['Yhat']")]  # the same mistake again
        finish(ex, [mutated, yhat] + cached, case.label)
        params = copy_data(case.params)
        X_other = np.random.default_rng(case.N).standard_normal(case.X.shape) + 1.0
        finish(ex, [interleaved_forward(ex, lambda X: fn(params, X), case.X, X_other,
                                        lambda result: copy_data(result[1]) if isinstance(result, (tuple, list))
                                        and len(result) == 2 else None,
                                        on=on, what="the cache")], case.label)
    return passed(ex, len(cases))
