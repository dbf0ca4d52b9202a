"""Checkers for notebook 09's sigmoid with binary cross entropy: the loss computed from the logits (finite
for any finite logit) and its fused gradient (P - Y) / N (finite where the sigmoid has saturated)."""
from __future__ import annotations

import numpy as np

from ..activations import sigmoid
from ..binary_cross_entropy import sigmoid_binary_cross_entropy, sigmoid_binary_cross_entropy_backward
from .cases import strided
from .compare import check_array, describe, scalar_dtype, unchanged
from .core import call, fail, finish, is_number, passed
from .recognise import Variant, catalogued, consistent_variant

__all__ = ["check_sigmoid_bce_loss", "check_sigmoid_bce_backward"]


# ------------------------------------------------------------------ sigmoid_bce_loss
SATURATED_Z = np.array([50.0, -50.0, 50.0, -50.0, 0.5, -2.0])
SATURATED_Y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])   # right and wrong, both confident
OVERFLOW_Z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 3.0])
OVERFLOW_Y = np.array([1.0, 0.0, 0.0, 1.0, 0.0])


def _bce_inputs(hidden: bool, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    labels = lambda shape: rng.integers(0, 2, size=shape).astype(float)  # noqa: E731
    cases = [("logits Z: (6,), targets 0 or 1", 2 * rng.standard_normal(6), labels(6)),
             ("logits Z: (5, 3), three yes/no outputs per example", 2 * rng.standard_normal((5, 3)), labels((5, 3))),
             ("logits of ±50, confidently right and confidently wrong",
              SATURATED_Z + rng.uniform(-0.5, 0.5, 6), SATURATED_Y.copy())]
    if hidden:
        cases += [
            ("a batch of 1, Z: (1,)", rng.standard_normal(1), labels(1)),
            ("one output per example, Z: (4, 1)", 2 * rng.standard_normal((4, 1)), labels((4, 1))),
            ("logits of ±1000, where exp(z) overflows", OVERFLOW_Z + rng.uniform(-1, 1, 5), OVERFLOW_Y.copy()),
            ("Z a transposed strided view (4, 3)", strided(3 * rng.standard_normal((4, 3)), rng, transpose=True),
             labels((4, 3))),
        ]
    return cases


def _nonfinite_alike(got, wrong):
    """``wrong`` with each non-finite entry replaced by ``got``'s where got is non-finite too: a loss
    that is inf where another formula gives NaN comes from the same log(0)."""
    if wrong is None or got is None:
        return wrong
    w, g = np.asarray(wrong, dtype=float), np.asarray(got, dtype=float)
    if w.shape != g.shape:
        return wrong
    with np.errstate(all="ignore"):
        both = ~np.isfinite(w) & ~np.isfinite(g)
    return np.where(both, g, w) if w.ndim else (g if both else w)


def _from_probabilities_where(Z, Y):
    P = 1 / (1 + np.exp(-Z))
    return float(-np.sum(np.where(Y == 1, np.log(P), np.log(1 - P))) / Z.shape[0])


def bce_loss_variants(Z: np.ndarray, Y: np.ndarray, got) -> list[Variant]:
    """The wrong losses students write for (Z, Y), each with what to do about it."""
    N, k = Z.shape[0], int(np.prod(Z.shape[1:], dtype=int))
    P = sigmoid(Z)
    exact = {"rtol": 1e-9, "atol": 1e-12}
    saturated = ("P = sigmoid(Z) rounds to exactly 1.0 once z passes about 37 (and to 0.0 below about -745), and "
                 "log(1 - 1) = log 0 = -inf. Compute the loss from the logits: each entry is max(z, 0) - z*y + "
                 "log(1 + exp(-|z|)), with np.log1p (section 9.2).")
    out = catalogued("binary_cross_entropy.sigmoid_binary_cross_entropy",
                     lambda bug: _nonfinite_alike(got, bug.variant(Z.copy(), Y.copy())),
                     {"bce_saturated_probabilities": saturated})
    out.append(Variant(saturated, lambda: _nonfinite_alike(got, _from_probabilities_where(Z, Y)),
                       "bce_saturated_probabilities"))
    for guard in (1e-7, 1e-8, 1e-10, 1e-12, 1e-15):
        out.append(Variant(f"It matches log(P + {guard:g}) and log(1 - P + {guard:g}): the guard keeps the loss finite, "
                           f"but caps each entry at -log({guard:g}) = {-np.log(guard):.3g}, while a logit of 50 on the "
                           "wrong side costs 50. Compute the loss from the logits: max(z, 0) - z*y + log(1 + exp(-|z|)).",
                           lambda g=guard: float(-np.sum(Y * np.log(P + g) + (1 - Y) * np.log(1 - P + g)) / N), **exact))
        out.append(Variant(f"It matches np.clip(P, {guard:g}, 1 - {guard:g}): clipping keeps the loss finite but wrong "
                           "wherever sigmoid saturates. Compute the loss from the logits: max(z, 0) - z*y + "
                           "log(1 + exp(-|z|)).",
                           lambda g=guard: float(-np.sum(Y * np.log(np.clip(P, g, 1 - g)) + (1 - Y) *
                                                        np.log(1 - np.clip(P, g, 1 - g))) / N), **exact))
    overflow = ("exp(z) overflows to inf once z passes about 709: log(1 + exp(z)) is inf there (and 0 * inf is NaN). "
                "Use the form that only exponentiates -|z|: max(z, 0) - z*y + np.log1p(np.exp(-np.abs(z))).")
    with np.errstate(all="ignore"):
        out += [
            Variant(overflow, lambda: _nonfinite_alike(got, float(np.sum(np.log1p(np.exp(Z)) - Z * Y) / N))),
            Variant(overflow, lambda: _nonfinite_alike(got, float(np.sum(Y * np.log1p(np.exp(-Z)) + (1 - Y) *
                                                                        np.log1p(np.exp(Z))) / N))),
            Variant("np.mean over every entry divides by N*k, for k outputs per example: sum over an example's "
                    "outputs and divide by N, the number of examples, only.",
                    lambda: sigmoid_binary_cross_entropy(Z, Y) / k if k > 1 else None),
            Variant("It is the sum over the batch: divide by N, the number of examples (the loss is a mean over them).",
                    lambda: sigmoid_binary_cross_entropy(Z, Y) * N if N > 1 else None),
            Variant("It has the wrong sign: the loss is MINUS the mean log-likelihood, a positive number.",
                    lambda: -sigmoid_binary_cross_entropy(Z, Y)),
            Variant("It swaps the roles of y and 1 - y: the y = 1 term is log sigmoid(z), the probability of a yes.",
                    lambda: sigmoid_binary_cross_entropy(Z, 1 - Y)),
        ]
    return out


def check_sigmoid_bce_loss(fn, hidden: bool = False, seed: int = 0):
    """fn(Z, Y) -> float: the mean over the N examples of sum over outputs of -[y log s(z) + (1-y) log(1-s(z))],
    computed from the logits. Z: (N,) or (N, k); Y: Z's shape, 0 or 1.

    Every case is run first; a wrong formula is then named by the variant that gives the student's
    loss on EVERY case (a 1e-7 guard and a clip at 1e-7 agree at ±50 but not on ordinary logits)."""
    ex = "sigmoid_bce_loss"
    runs = []
    for label, Z, Y in _bce_inputs(hidden, seed):
        done = call(ex, fn, Z, Y, on=f"Z: {Z.shape}, Y: {Y.shape} ({label})")
        got = done.result
        mutated = unchanged({"Z": Z, "Y": Y}, dict(zip(("Z", "Y"), done.args)))
        if type(got) is np.ndarray and got.shape != ():
            hint = ("That is one loss per example: average them over the batch." if got.shape == (Z.shape[0],) else
                    "It is one number inside an array: return float(...)." if got.size == 1 else
                    "Sum over the outputs and average over the examples: one number.")
            fail(ex, f"should return a single number (the mean over the batch), got {describe(got)}.", [hint],
                 case=label)
        if not (is_number(got) or (type(got) is np.ndarray and got.shape == ())):
            fail(ex, f"should return a single number (a float) for {label}, got {describe(got)}.", case=label,
                 status="error")
        runs.append((label, Z, Y, got, mutated))
    for label, Z, Y, got, mutated in runs:
        expected = np.asarray(sigmoid_binary_cross_entropy(Z, Y))
        dtype = scalar_dtype(f"the loss for {label}", got)
        value = None if dtype else check_array(f"the loss for {label}", np.asarray(got, dtype=np.float64), expected,
                                               rtol=1e-9, atol=1e-12)
        if value is not None:
            named = consistent_variant([(float(g), sigmoid_binary_cross_entropy(z, y), bce_loss_variants(z, y, float(g)))
                                        for _, z, y, g, _ in runs])
            value.hints = [named.hint] if named else [
                "Compute every entry from the logit z: max(z, 0) - z*y + log(1 + exp(-|z|)) (use np.log1p), sum over "
                "the outputs and divide by N."]
            value.bug = named.bug if named else None
        finish(ex, [mutated, dtype, value], label)
    return passed(ex, len(runs))


# --------------------------------------------------------------- sigmoid_bce_backward
def _bce_backward_inputs(hidden: bool, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, P = sigmoid(Z), Y) from the loss's cases: P holds exact 0s and 1s where Z saturates."""
    return [(f"P = sigmoid(Z) for {label}", sigmoid(Z), Y) for label, Z, Y in _bce_inputs(hidden, seed + 1)]


def bce_backward_variants(P: np.ndarray, Y: np.ndarray, got) -> list[Variant]:
    N, k = P.shape[0], int(np.prod(P.shape[1:], dtype=int))
    right = sigmoid_binary_cross_entropy_backward(P, Y)
    with np.errstate(all="ignore"):
        dP = (P - Y) / (P * (1 - P)) / N
        chained = dP * (P * (1 - P))
    return [
        Variant("The chain dL/dP * dP/dZ is right on paper, but where sigmoid saturates P is exactly 1 or 0 and "
                "P(1 - P) is 0: 0/0 is NaN. The two factors cancel on paper, so cancel them in the code: "
                "dZ = (P - Y) / N, the fused gradient.", lambda: _nonfinite_alike(got, chained)),
        Variant("That is dL/dP, the gradient with respect to the probabilities; the exercise wants dL/dZ. Chained with "
                "sigmoid's derivative P(1 - P), the denominators cancel: dZ = (P - Y) / N.",
                lambda: _nonfinite_alike(got, dP)),
        Variant("It multiplies by sigmoid's derivative P(1 - P) once more: the fused (P - Y) / N already includes it.",
                lambda: right * P * (1 - P)),
        Variant(f"It divides by N*k = {N * k}: the loss sums over the k = {k} outputs and averages over the N "
                "examples only, so divide by N.", lambda: right / k if k > 1 else None),
        Variant("Every entry has the wrong sign: dZ = (P - Y) / N, prediction minus target.", lambda: -right),
    ]


def check_sigmoid_bce_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(P, Y) -> dZ: P's shape, the gradient of the mean binary cross entropy at the logits,
    (P - Y) / N. P = sigmoid(Z): (N,) or (N, k) (exactly 0 or 1 where Z saturates); Y: P's shape."""
    ex = "sigmoid_bce_backward"
    cases = _bce_backward_inputs(hidden, seed)
    for label, P, Y in cases:
        done = call(ex, fn, P, Y, on=f"P: {P.shape}, Y: {Y.shape} ({label})")
        mutated = unchanged({"P": P, "Y": Y}, dict(zip(("P", "Y"), done.args)), cache=("P",))
        expected = sigmoid_binary_cross_entropy_backward(P, Y)
        got = done.result
        value = check_array(f"dZ for {label}", got, expected, N=P.shape[0],
                            variants=bce_backward_variants(P, Y, got if type(got) is np.ndarray else None))
        finish(ex, [mutated, value], label)
    return passed(ex, len(cases))
