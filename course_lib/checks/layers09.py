"""Checkers for notebook 09, checking any layer on its own: the layer-level numerical gradient (a
vector-Jacobian product by central differences). The notebook's other checkers: the sigmoid with
binary cross entropy in :mod:`.bce09`, batch norm in :mod:`.normalise09`, dropout in :mod:`.dropout09`.
"""
from __future__ import annotations

import numpy as np

from .. import gradcheck
from ..snapshot import changes
from .compare import check_array, unchanged
from .core import Finding, call, finish, passed
from .gradient import ROUNDING_VALUES, restore_message
from .recognise import Variant

__all__ = ["check_numerical_gradient_array"]


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
