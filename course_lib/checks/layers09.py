"""Checkers for notebook 09, checking any layer on its own: the layer-level numerical gradient
(a vector-Jacobian product by central differences) and the sigmoid with binary cross entropy,
its loss from the logits and its fused gradient. Batch norm and dropout are in :mod:`.normalise09`.
"""
from __future__ import annotations

import numpy as np

from .. import gradcheck
from ..activations import sigmoid
from ..binary_cross_entropy import sigmoid_binary_cross_entropy, sigmoid_binary_cross_entropy_backward
from ..snapshot import changes
from .cases import strided
from .compare import check_array, describe, scalar_dtype, unchanged
from .core import Finding, call, fail, finish, is_number, passed
from .gradient import ROUNDING_VALUES, restore_message
from .recognise import Variant, catalogued, consistent_variant

__all__ = ["check_numerical_gradient_array", "check_sigmoid_bce_loss", "check_sigmoid_bce_backward"]


# ------------------------------------------------------------ numerical_gradient_array
class _TestLayer:
    """A layer out = f(x) with an array output, read afresh from ``x`` at every call.

    kind "smooth": a tanh of a mix of every entry plus a square (each output depends on every entry);
    "identity": returns x itself; "view": returns x's transpose, a view of it. The last two are the
    layers whose output must be copied before x is nudged again."""

    def __init__(self, x: np.ndarray, out_shape: tuple, rng: np.random.Generator, kind: str = "smooth"):
        self.x, self.out_shape, self.kind, self.calls = x, tuple(out_shape), kind, 0
        m, n = int(np.prod(out_shape)), x.size
        self.B = rng.standard_normal((m, n)) / np.sqrt(n)
        self.C = rng.standard_normal((m, n)) / n

    def value(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "identity":
            return x
        if self.kind == "view":
            return x.T
        flat = np.asarray(x, dtype=np.float64).reshape(-1)  # reads x; a copy when x is a view, which is fine here
        return (np.tanh(3.0 * self.B @ flat) + self.C @ flat ** 2).reshape(self.out_shape)

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return self.value(self.x)


def _layer_numeric(layer: _TestLayer, dout, eps: float, **change) -> np.ndarray:
    """The reference VJP of ``layer`` at its x, on a contiguous copy (``change``: a known slip)."""
    xc = np.array(layer.x, dtype=np.float64, order="C", copy=True)
    f = lambda: layer.value(xc)  # noqa: E731
    if change.get("sides"):
        return _one_sided_vjp(f, xc, dout, eps, change["sides"])
    return gradcheck.numerical_gradient_array(f, xc, change.get("weights", dout), change.get("step", eps))


def _one_sided_vjp(f, x, dout, eps, sign):
    base = np.array(f(), dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + sign * eps
        grad[idx] = sign * np.sum(dout * (np.array(f(), dtype=np.float64) - base)) / eps
        x[idx] = orig
    return grad


def _vjp_cases(hidden: bool, rng: np.random.Generator) -> list[tuple]:
    """(label, x, base, out_shape, dout, eps, kind): x is handed over, base is the array x lives in."""
    def smooth(label, x, base, out_shape, eps=None, kind="smooth"):
        shape = x.T.shape if kind == "view" else x.shape if kind == "identity" else out_shape
        return (label, x, base, shape, rng.standard_normal(shape), eps, kind)

    x = rng.standard_normal(5)
    cases = [smooth("a layer from x: (5,) to out: (3,)", x, x, (3,))]
    x = rng.standard_normal((3, 4))
    cases.append(smooth("a layer from x: (3, 4) to out: (3, 4), eps=1e-2", x, x, (3, 4), 1e-2))
    base = rng.standard_normal((4, 3))
    cases.append(smooth("x = M.T, a transposed view (3, 4), to out: (2, 5)", base.T, base, (2, 5)))
    if hidden:
        x = rng.standard_normal(1)
        cases.append(smooth("a single entry, x: (1,), to out: (1,)", x, x, (1,)))
        base = rng.standard_normal((5, 6))
        cases.append(smooth("x = M[1:4, ::2], a strided slice (3, 3), to out: (4,), eps=1e-3", base[1:4, ::2],
                            base, (4,), 1e-3))
        x = rng.standard_normal((2, 3, 2))
        cases.append(smooth("a 3-D x: (2, 3, 2) to out: (2, 3)", x, x, (2, 3)))
        x = rng.permutation(ROUNDING_VALUES).reshape(2, 2)
        cases.append(smooth("x: (2, 2) holding values such as 0.3, eps=1e-1", x, x, (3,), 1e-1))
        x = rng.standard_normal((2, 3))
        cases.append(smooth("the identity layer: f() returns x itself", x, x, None, kind="identity"))
        x = rng.standard_normal((3, 2))
        cases.append(smooth("a layer whose f() returns x.T, a view of x", x, x, None, kind="view"))
        x = rng.standard_normal((2, 2))
        label, x, base, _, _, eps, kind = smooth("a layer with one number out (shape ()), dout = 2.5", x, x, ())
        cases.append((label, x, base, (), np.array(2.5), eps, kind))
    return cases


def _vjp_variants(layer: _TestLayer, dout, eps: float, given_eps, expected) -> list[Variant]:
    same = "f() returned x itself, or a view of it" if layer.kind != "smooth" else ""
    zero_hint = (f"Every entry is 0: {same}, so the two results you subtracted were one and the same array, "
                 "changed in between. Copy f()'s result before nudging x again (np.array(f()) or f().copy()), or "
                 "reduce it to np.sum(dout * f()) at once." if same else
                 "Every entry is 0: f never saw your nudges. You probably wrote into a copy of x (x.reshape(-1), "
                 "x.ravel() and x.flatten() copy a non-contiguous x). Index x itself, x[idx] for idx in "
                 "np.ndindex(x.shape).")
    return [
        Variant(zero_hint, lambda: np.zeros_like(expected)),
        Variant("It ignores dout: entry j must be the sum over every output of dout times the change of that output, "
                "np.sum(dout * (f_plus - f_minus)) / (2 eps).",
                lambda: _layer_numeric(layer, dout, eps, weights=np.ones_like(dout))),
        Variant("It averages over the outputs (np.mean); the vector-Jacobian product sums them: np.sum(dout * ...).",
                lambda: expected / dout.size if dout.size > 1 else None),
        Variant("Every entry is twice the expected value: divide the difference by 2*eps, the distance between "
                "the two points.", lambda: 2 * expected),
        Variant("This is the one-sided difference (f(x + eps) - f(x)) / eps, whose error is O(eps). Use the central "
                "difference (f(x + eps) - f(x - eps)) / (2 eps): its error is O(eps^2).",
                lambda: _layer_numeric(layer, dout, eps, sides=1.0)),
        Variant("This is the one-sided difference (f(x) - f(x - eps)) / eps, whose error is O(eps). Use the central "
                "difference.", lambda: _layer_numeric(layer, dout, eps, sides=-1.0)),
        Variant(f"It matches eps=1e-5 rather than the eps={eps:g} that was passed: use the eps argument.",
                lambda: None if given_eps is None else _layer_numeric(layer, dout, eps, step=1e-5)),
        Variant("The sign is flipped: (f(x + eps) - f(x - eps)) / (2 eps), plus first.", lambda: -expected),
    ]


def check_numerical_gradient_array(fn, hidden: bool = False, seed: int = 0):
    """fn(f, x, dout, eps=1e-5) -> grad: x's shape, entry j = sum(dout * (f(x + eps e_j) - f(x - eps e_j))) / (2 eps).
    f() returns an array of dout's shape computed from x, which fn perturbs in place and restores."""
    ex = "numerical_gradient_array"
    rng = np.random.default_rng(seed)
    cases = _vjp_cases(hidden, rng)
    for label, x, base, out_shape, dout, eps, kind in cases:
        layer = _TestLayer(x, out_shape if kind == "smooth" else x.shape, rng, kind)
        use_eps = 1e-5 if eps is None else eps
        expected = _layer_numeric(layer, dout, use_eps)
        base_before, dout_given = base.copy(), dout.copy()
        hint = ("x may have any number of axes: visit every index with `for idx in np.ndindex(x.shape)` and index "
                "x[idx]." if x.ndim != 2 else "")
        args = (layer, x, dout_given) if eps is None else (layer, x, dout_given, eps)
        got = call(ex, fn, *args, on=label, hint=hint, copy=False).result
        findings = []
        if changes(base_before, base):
            findings.append(Finding(f"for {label}: " + restore_message(base_before, base, use_eps)))
            base[...] = base_before
        findings.append(unchanged({"dout": dout}, {"dout": dout_given},
                                  read_only="dout is read-only: multiply it into a new array, never into dout itself."))
        if layer.calls == 0:
            findings.append(Finding(f"for {label}: f was never called.", ["Evaluate f() after each nudge of an entry of x."]))
        shape_hint = []
        if type(got) is np.ndarray and got.shape == dout.shape != x.shape:
            shape_hint = ["That has the shape of the layer's output: each entry of the gradient is ONE number, the sum "
                          "over every output of dout times that output's change."]
        result = check_array(f"the gradient for {label}", got, expected, rtol=1e-6, atol=1e-8,
                             variants=_vjp_variants(layer, dout, use_eps, eps, expected))
        if result is not None:
            result.hints = shape_hint + [h for h in result.hints if h] or [
                "Entry j is np.sum(dout * (f() with x[j] + eps  minus  f() with x[j] - eps)) / (2 eps), every other "
                "entry of x unchanged."]
        finish(ex, findings + [result], label)
    return passed(ex, len(cases))


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
