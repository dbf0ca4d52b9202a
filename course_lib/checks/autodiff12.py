"""Checkers for notebook 12's primitives of a reverse-mode autodiff: ``unbroadcast`` and the
operations ``tensor_add``, ``tensor_matmul``, ``tensor_relu``, ``tensor_sum`` and
``tensor_log_softmax`` (the graph checkers, from ``topological_order`` on, are in :mod:`.graph12`).

A primitive is called with plain arrays (the notebook's ``as_tensor`` makes them leaves) and must
return the notebook's ``Tensor``: its ``data`` is the forward value, its ``parents`` the input
Tensors in order, and ``vjps[i](g)`` parent i's share of an upstream gradient ``g`` (the output's
shape). The student's Tensor is only read (``data``, ``parents``, ``vjps``) and its VJPs called, so
the same checks run on the grader's proxies. A share may have the parent's shape or, for an operand
broadcast in the forward pass, the output's: the backward pass sums it back (section 12.4), so the
checker does that with the reference ``unbroadcast`` before comparing. The expected values come
from :mod:`course_lib.autodiff`.
"""
from __future__ import annotations

import numpy as np

from .. import autodiff
from ..losses import log_softmax, softmax
from .cases import logit_cases, strided
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, passed
from .recognise import Variant, consistent_variant, first_match

__all__ = ["check_unbroadcast", "check_tensor_add", "check_tensor_matmul", "check_tensor_relu", "check_tensor_sum",
           "check_tensor_log_softmax", "read_attribute", "judge"]

BROADCAST_BUG = "autodiff_broadcast_not_summed"
SHARE_HINT = ("vjps[i] maps the output's gradient g to parent i's share: an array of the parent's shape (or, for an "
              "operand broadcast in the forward pass, of the output's shape, which backward sums back; section 12.4).")


def judge(name: str, got, expected: np.ndarray, variants=(), **kwargs) -> Finding | None:
    """:func:`check_array`, and when the shapes differ (where check_array stops at the shape), the known mistake
    that reproduces ``got`` as well: in this notebook a wrong shape is the usual sign of one."""
    finding = check_array(name, got, expected, variants=variants, **kwargs)
    if finding is not None and type(got) is np.ndarray and got.shape != expected.shape:
        match = first_match(got, variants, expected)
        if match is not None:
            finding.hints = [h for h in finding.hints if h] + [match.hint]
            finding.bug = match.bug
    return finding


# ------------------------------------------------------------------ unbroadcast
def _unbroadcast_cases(hidden: bool, rng: np.random.Generator) -> list[tuple[str, tuple, tuple]]:
    """(label, grad's shape, the operand's shape)."""
    cases = [("a bias b: (3,) added to 5 rows", (5, 3), (3,)),
             ("a row s: (1, 3) multiplying 5 rows", (5, 3), (1, 3)),
             ("nothing broadcast: (4, 2) to (4, 2)", (4, 2), (4, 2))]
    if hidden:
        cases += [("a batch of one: (1, 3) to a bias (3,)", (1, 3), (3,)),
                  ("a batch of one: (1, 3) to (1, 3), nothing to sum", (1, 3), (1, 3)),
                  ("a column c: (4, 1) added across 3 columns", (4, 3), (4, 1)),
                  ("two leading axes and a middle one: (2, 3, 4) to (3, 1)", (2, 3, 4), (3, 1)),
                  ("a scalar: (6,) to ()", (6,), ()),
                  ("a length-1 axis that was already 1: (2, 1, 4) to (1, 1, 4)", (2, 1, 4), (1, 1, 4)),
                  ("a 0-d gradient to ()", (), ())]
    return [(label, rng.standard_normal(g), s) for label, g, s in cases]


def _leading_only(grad, shape):
    extra = grad.ndim - len(shape)
    return grad.sum(axis=tuple(range(extra))) if extra > 0 else grad


def _no_keepdims(grad, shape):
    g = _leading_only(grad, shape)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched) if stretched else g


def _unbroadcast_variants(grad: np.ndarray, shape: tuple) -> list[Variant]:
    mean_of = lambda g: autodiff.unbroadcast(g, shape) * (np.prod(shape) / max(g.size, 1))  # noqa: E731
    return [
        Variant("It returned the gradient unchanged: an operand that was broadcast received a copy of its value in "
                "every row (or column), so its gradient is the sum of the shares of all the copies (section 12.4).",
                lambda: grad.copy(), BROADCAST_BUG),
        Variant("Only the leading axes that broadcasting added were summed; an axis where the operand has length 1 "
                "was stretched too and must be summed with keepdims=True (section 12.4).",
                lambda: _leading_only(grad, shape)),
        Variant("The axes where the operand has length 1 were summed without keepdims=True, so they vanished: "
                "keep them (sum(axis=i, keepdims=True)) so that the result has the operand's shape.",
                lambda: _no_keepdims(grad, shape)),
        Variant("That is the mean over the broadcast copies; every copy contributed its whole share, so sum them.",
                lambda: mean_of(grad)),
    ]


def check_unbroadcast(fn, hidden: bool = False, seed: int = 0):
    """fn(grad: the broadcast result's shape, shape: a tuple) -> grad summed back to ``shape``.

    Every case is run first: a mistake is named by the variant that reproduces the answers on every case
    (summing the leading axes only and returning grad unchanged agree wherever no axis was added)."""
    ex = "unbroadcast"
    runs = []
    for label, grad, shape in _unbroadcast_cases(hidden, np.random.default_rng(seed)):
        done = call(ex, fn, grad, shape, on=f"grad: {grad.shape} and shape {shape} ({label})")
        runs.append((label, grad, shape, done, np.asarray(autodiff.unbroadcast(grad, shape), dtype=float)))
    for label, grad, shape, done, expected in runs:
        finding = check_array(f"the result for {label}", done.result, expected)
        if finding is not None:
            named = consistent_variant([(d.result, e, _unbroadcast_variants(g, s)) for _, g, s, d, e in runs])
            if named is not None:
                finding.hints = [h for h in finding.hints if h] + [named.hint]
                finding.bug = named.bug
        finish(ex, [unchanged({"grad": grad}, {"grad": done.args[0]}), finding], label)
    return passed(ex, len(runs))


# ------------------------------------------------------------------ reading a Tensor
def read_attribute(ex: str, obj, name: str, on: str, what: str = "the result"):
    """``obj.name``, or a failed check (status "error") saying that obj is no Tensor or lacks the attribute.
    Plain data is never a Tensor (an array even has a .data of its own, a memoryview)."""
    if obj is None or isinstance(obj, (np.ndarray, np.generic, int, float, complex, str, bytes, list, tuple, dict)):
        fail(ex, f"{what} should be a Tensor, with .data, .parents and .vjps; got {describe(obj)} (on {on}).",
             ["Build the result with the notebook's Tensor(data, parents, vjps, op), its parents the input Tensors "
              "(as_tensor(a), not a.data)."], case=on, status="error")
    try:
        return getattr(obj, name)
    except AttributeError:
        fail(ex, f"{what} should be a Tensor, with .data, .parents and .vjps; it has no .{name} (got "
             f"{describe(obj)}) on {on}.",
             ["Build the result with the notebook's Tensor(data, parents, vjps, op)."], case=on, status="error")
    except Exception as err:  # a property of the student's that raises
        fail(ex, f"reading .{name} of {what} raised {type(err).__name__}: {err} (on {on}).", case=on, status="error")


def _sequence(ex: str, value, name: str, n: int, on: str) -> list:
    if not isinstance(value, (tuple, list)) or len(value) != n:
        got = f"{len(value)} entries" if isinstance(value, (tuple, list)) else describe(value)
        fail(ex, f"the result's .{name} should hold {n} entr{'y' if n == 1 else 'ies'}, one per input, got {got} "
             f"(on {on}).", [f"Pass ({', '.join(f'a{i}' for i in range(n))}) as parents and one function per "
                             "parent as vjps, in the same order."], case=on, status="error")
    return list(value)


def _share_in_shape(share, shape: tuple):
    """A share summed back to ``shape`` the way backward does it (the reference unbroadcast); values
    that cannot be (not an array, an impossible shape) are returned as they are, for the message."""
    if type(share) is not np.ndarray:
        return share
    if share.shape == shape:
        return share
    try:
        summed = autodiff.unbroadcast(share, shape)
    except Exception:  # a share whose shape broadcasting could not have produced
        return share
    return summed if summed.shape == shape else share


# --------------------------------------------------------------------- primitives
class _Op:
    """One primitive's case: the inputs it is called with, and the upstream gradient G (the output's shape)."""

    def __init__(self, label: str, inputs: tuple, G: np.ndarray):
        self.label, self.inputs, self.G = label, inputs, G


def _reference(op: str, inputs: tuple, G: np.ndarray) -> tuple[np.ndarray, list]:
    """(the output, every input's share of G) from course_lib.autodiff: the gradients of sum(G * out)."""
    leaves = [autodiff.Tensor(np.array(x, dtype=np.float64), requires_grad=True) for x in inputs]
    a = leaves[0]
    out = {"add": lambda: a + leaves[1], "matmul": lambda: a @ leaves[1], "relu": lambda: a.relu(),
           "sum": lambda: a.sum(), "log_softmax": lambda: a.log_softmax(axis=1)}[op]()
    autodiff.backward((out * G).sum())
    return out.data, [leaf.grad for leaf in leaves]


def _check_primitive(ex: str, fn, op: str, cases: list[_Op], forward_variants=None, share_variants=None):
    """The checks every primitive shares: the output's data, its parents, and each VJP's share.

    forward_variants(case) / share_variants(case, i) -> known wrong answers for that case."""
    for case in cases:
        on = f"{ex}({', '.join(f'{np.shape(x)}' for x in case.inputs)}), {case.label}"
        names = [f"a{i}" for i in range(len(case.inputs))] if len(case.inputs) > 1 else ["a"]
        done = call(ex, fn, *case.inputs, on=on)
        expected_out, expected_shares = _reference(op, case.inputs, case.G)
        out = done.result
        data = read_attribute(ex, out, "data", on)
        findings = [unchanged(dict(zip(names, case.inputs)), dict(zip(names, done.args))),
                    judge(f"the output's data for {case.label}", data, expected_out,
                          variants=forward_variants(case) if forward_variants else ())]
        finish(ex, findings, on)
        parents = _sequence(ex, read_attribute(ex, out, "parents", on), "parents", len(case.inputs), on)
        vjps = _sequence(ex, read_attribute(ex, out, "vjps", on), "vjps", len(case.inputs), on)
        for i, (parent, x) in enumerate(zip(parents, case.inputs)):
            pdata = read_attribute(ex, parent, "data", on, what=f"parents[{i}]")
            if type(pdata) is not np.ndarray or pdata.shape != np.shape(x) or not np.allclose(pdata, x, rtol=0, atol=0):
                fail(ex, f"parents[{i}] should be the Tensor of input {i} ({names[i]}, shape {np.shape(x)}), but "
                     f"its data is {describe(pdata)} (on {on}).",
                     ["List the inputs as parents in the order of the arguments, each the Tensor as_tensor made of it."],
                     case=on)
        for i, (vjp, x, expected) in enumerate(zip(vjps, case.inputs, expected_shares)):
            where = f"vjps[{i}](g), the share of {names[i]}: {np.shape(x)}, for {case.label}"
            share = call(ex, vjp, case.G, on=f"vjps[{i}](g) with g of shape {case.G.shape} ({on})")
            findings = [unchanged({"g": case.G}, {"g": share.args[0]},
                                  read_only="A VJP must not write into g: the same upstream gradient is handed to the "
                                            "VJP of every parent, so compute each share into a new array.")]
            got = _share_in_shape(share.result, np.shape(x))
            result = judge(where, got, np.asarray(expected, dtype=float),
                           variants=share_variants(case, i) if share_variants else ())
            if result is not None and not any(result.hints):
                result.hints = [SHARE_HINT]
            findings.append(result)
            finish(ex, findings, on)
    return passed(ex, len(cases))


def _cases(hidden: bool, seed: int, visible, extra) -> list[_Op]:
    """The visible cases, and the awkward ones too when hidden (the seed draws the values only)."""
    rng = np.random.default_rng(seed)
    return visible(rng) + (extra(rng) if hidden else [])


def _G(rng, shape) -> np.ndarray:
    return rng.standard_normal(shape)


def check_tensor_add(fn, hidden: bool = False, seed: int = 0):
    """fn(a, b) -> Tensor(a + b) with broadcasting; vjps: g -> g for both (backward sums a broadcast share back)."""
    def visible(rng):
        return [_Op("two (3, 4) arrays", (rng.standard_normal((3, 4)), rng.standard_normal((3, 4))), _G(rng, (3, 4))),
                _Op("a bias (3,) broadcast over 5 rows", (rng.standard_normal((5, 3)), rng.standard_normal(3)),
                    _G(rng, (5, 3)))]

    def extra(rng):
        return [_Op("a batch of one, (1, 3) + (3,)", (rng.standard_normal((1, 3)), rng.standard_normal(3)),
                    _G(rng, (1, 3))),
                _Op("a column (4, 1) broadcast across 3 columns", (rng.standard_normal((4, 3)), rng.standard_normal((4, 1))),
                    _G(rng, (4, 3))),
                _Op("a 0-d number plus a (2, 3) array", (np.array(rng.standard_normal()), rng.standard_normal((2, 3))),
                    _G(rng, (2, 3))),
                _Op("a transposed (non-contiguous) input", (rng.standard_normal((3, 4)).T, rng.standard_normal((4, 3))),
                    _G(rng, (4, 3)))]

    return _check_primitive("tensor_add", fn, "add", _cases(hidden, seed, visible, extra))


def check_tensor_matmul(fn, hidden: bool = False, seed: int = 0):
    """fn(a: (N, k), b: (k, m)) -> Tensor(a @ b): (N, m); vjps: g -> g @ b.T and g -> a.T @ g."""
    def visible(rng):
        return [_Op("two square (3, 3) matrices", (rng.standard_normal((3, 3)), rng.standard_normal((3, 3))),
                    _G(rng, (3, 3))),
                _Op("(4, 3) @ (3, 5)", (rng.standard_normal((4, 3)), rng.standard_normal((3, 5))), _G(rng, (4, 5)))]

    def extra(rng):
        return [_Op("a batch of one, (1, 3) @ (3, 4)", (rng.standard_normal((1, 3)), rng.standard_normal((3, 4))),
                    _G(rng, (1, 4))),
                _Op("an outer product, (5, 1) @ (1, 2)", (rng.standard_normal((5, 1)), rng.standard_normal((1, 2))),
                    _G(rng, (5, 2))),
                _Op("one output column, (3, 7) @ (7, 1)", (rng.standard_normal((3, 7)), rng.standard_normal((7, 1))),
                    _G(rng, (3, 1))),
                _Op("a strided a and a transposed b", (strided(rng.standard_normal((4, 3)), rng),
                                                       strided(rng.standard_normal((3, 2)), rng, transpose=True)),
                    _G(rng, (4, 2)))]

    def share_variants(case, i):
        a, b = case.inputs
        G = case.G
        if i == 0:
            return [Variant("The share of a is g @ b.T: the transpose of b carries the gradient back (with square "
                            "matrices the shapes agree without it).", lambda: G @ b if b.shape[0] == b.shape[1] else None)]
        return [Variant("The share of b is a.T @ g, of b's shape (k, m): g.T @ a is its transpose.", lambda: G.T @ a),
                Variant("The share of b is a.T @ g: without the transpose the product only fits square matrices.",
                        lambda: a @ G if a.shape[0] == a.shape[1] else None)]

    return _check_primitive("tensor_matmul", fn, "matmul", _cases(hidden, seed, visible, extra),
                            share_variants=share_variants)


def check_tensor_relu(fn, hidden: bool = False, seed: int = 0):
    """fn(a) -> Tensor(max(0, a)); vjp: g -> g * (a > 0), with the gate closed at exactly 0."""
    def visible(rng):
        return [_Op("a (4, 5) array", (rng.standard_normal((4, 5)),), _G(rng, (4, 5)))]

    def extra(rng):
        zeros = rng.standard_normal((3, 4))
        zeros[0, :2] = 0.0
        zeros[2, 3] = 0.0
        negative = rng.standard_normal((3, 3))
        negative[1] = -np.abs(negative[1]) - 0.1
        return [_Op("entries exactly at 0", (zeros,), _G(rng, (3, 4))),
                _Op("a row that is negative everywhere", (negative,), _G(rng, (3, 3))),
                _Op("a batch of one, (1, 3)", (rng.standard_normal((1, 3)),), _G(rng, (1, 3))),
                _Op("a vector (6,)", (rng.standard_normal(6),), _G(rng, 6))]

    def share_variants(case, i):
        (a,), G = case.inputs, case.G
        return [Variant("At a = 0 exactly the gate must be closed: use a > 0, not a >= 0 (ReLU's derivative is taken "
                        "as 0 at the kink, like the layer code's).", lambda: G * (a >= 0)),
                Variant("The gate comes from the input a (the value at which relu is differentiated): g * (a > 0), "
                        "whatever the sign of g (section 5.5).", lambda: G * (G > 0), "relu_mask_from_gradient"),
                Variant("It multiplies g by the output max(0, a); the derivative is the 0/1 gate (a > 0).",
                        lambda: G * np.maximum(a, 0))]

    return _check_primitive("tensor_relu", fn, "relu", _cases(hidden, seed, visible, extra),
                            share_variants=share_variants)


def check_tensor_sum(fn, hidden: bool = False, seed: int = 0):
    """fn(a) -> Tensor(the sum of every entry of a), a 0-d array; vjp: g (0-d) -> g copied into a's shape."""
    def upstream(rng):
        return np.array(rng.uniform(0.5, 3.0))  # not 1: a VJP that ignores g must show

    def visible(rng):
        return [_Op("a (3, 4) array", (rng.standard_normal((3, 4)),), upstream(rng))]

    def extra(rng):
        return [_Op("a vector (5,)", (rng.standard_normal(5),), upstream(rng)),
                _Op("a (1, 1) array", (rng.standard_normal((1, 1)),), upstream(rng)),
                _Op("a 3-D array (2, 3, 2)", (rng.standard_normal((2, 3, 2)),), upstream(rng)),
                _Op("a transposed (non-contiguous) input", (rng.standard_normal((2, 5)).T,), -upstream(rng))]

    def forward_variants(case):
        (a,) = case.inputs
        return [Variant("It summed over one axis only: the loss is one number, the sum of every entry, a.sum().",
                        lambda: a.sum(axis=0)),
                Variant("That is the mean: this primitive is the plain sum (the loss divides by N itself).",
                        lambda: np.asarray(a.mean()))]

    def share_variants(case, i):
        (a,) = case.inputs
        return [Variant("Every entry of the share must be g: each entry of a enters the sum once, with slope 1, "
                        "so the share is g copied into a's shape (np.ones_like(a.data) * g), not a plain array of ones.",
                        lambda: np.ones_like(a))]

    cases = _cases(hidden, seed, visible, extra)
    for case in cases:
        case.label += f", g = {float(case.G):.3g}"
    return _check_primitive("tensor_sum", fn, "sum", cases, forward_variants, share_variants)


def check_tensor_log_softmax(fn, hidden: bool = False, seed: int = 0):
    """fn(a: (N, C)) -> Tensor(log softmax of each row); vjp: g -> g - softmax(a) * (the row sums of g)."""
    rng = np.random.default_rng(seed + 1)
    cases = [_Op(label, (Z,), rng.standard_normal(Z.shape)) for label, Z in logit_cases(hidden, seed)]

    def forward_variants(case):
        (Z,) = case.inputs
        with np.errstate(all="ignore"):
            E = np.exp(Z)
            global_shift = Z - Z.max()
        return [Variant("It exponentiates the raw logits: exp overflows to inf above about 709 (and a row far below "
                        "0 underflows to log 0). Subtract each row's own maximum first: log softmax is unchanged by "
                        "a shift per row (section 5.4).", lambda: np.log(E / E.sum(axis=1, keepdims=True)),
                        "unstable_softmax"),
                Variant("It subtracts the maximum of the whole array; rows whose maxima lie far apart still "
                        "underflow. Take each row's own maximum (axis=1, keepdims=True).",
                        lambda: global_shift - np.log(np.exp(global_shift).sum(axis=1, keepdims=True))),
                Variant("It adds a small guard inside the log of the softmax: log(softmax + 1e-12) is wrong wherever "
                        "a probability is small. Compute shifted - log(sum(exp(shifted))) directly.",
                        lambda: np.log(softmax(Z) + 1e-12), rtol=1e-9, atol=1e-12),
                Variant("The normalisation runs down the columns (axis=0); each row is one example and normalises "
                        "over its classes, axis=1.", lambda: log_softmax(Z.T).T)]

    def share_variants(case, i):
        (Z,), G = case.inputs, case.G
        S = softmax(Z)
        return [Variant("That is g - softmax(a): every row of the Jacobian involves the whole row of g, so the "
                        "share is g - softmax(a) * g.sum(axis=1, keepdims=True).", lambda: G - S),
                Variant("That is the diagonal of the Jacobian only, g * (1 - softmax(a)); the off-diagonal terms "
                        "give g - softmax(a) * g.sum(axis=1, keepdims=True).", lambda: G * (1 - S)),
                Variant("The sums of g run down the columns; they must be each row's sum, "
                        "g.sum(axis=1, keepdims=True).", lambda: G - S * G.sum(axis=0, keepdims=True))]

    return _check_primitive("tensor_log_softmax", fn, "log_softmax", cases, forward_variants, share_variants)

