"""Checkers for notebook 04, gradient checking (syllabus section 4)."""
from __future__ import annotations

import numpy as np

from .. import data, gradcheck, mlp
from ..references import reference_group_error
from ..snapshot import changes
from .cases import network_cases
from .compare import check_array, describe, scalar_dtype, unchanged
from .core import Finding, call, fail, finish, is_number, passed, quiet
from .recognise import Variant, consistent_variant, first_match

__all__ = ["check_numerical_gradient", "check_rel_error", "check_grad_check_group"]


# ------------------------------------------------------------ numerical_gradient
class _Probe:
    """A test function: the value of a smooth function of ``x``, read afresh at every call."""

    def __init__(self, x: np.ndarray, rng: np.random.Generator, kind: str):
        self.x = x
        self.kind = kind
        self.w = rng.standard_normal(x.shape)
        self.A = rng.standard_normal((3, x.shape[0]))
        self.calls = 0

    def value(self, x: np.ndarray) -> float:
        if self.kind == "sin":
            # Third derivative 27 cos: a visible truncation error when eps is large.
            return float(np.sum(self.w * np.sin(3.0 * x)) + 0.5 * np.sum(x * x))
        # Mixes the entries, so that every partial derivative depends on the others.
        return float(np.sum(np.tanh(np.tensordot(self.A, x, axes=1))) + np.sum(self.w * x ** 3) / 3.0)

    def __call__(self) -> float:
        self.calls += 1
        return self.value(self.x)


def _central(probe: _Probe, eps: float) -> np.ndarray:
    """The reference central differences of ``probe`` at its x (computed on a contiguous copy)."""
    xc = np.array(probe.x, dtype=np.float64, order="C", copy=True)
    return gradcheck.numerical_gradient(lambda: probe.value(xc), xc, eps)


def one_sided(f, x: np.ndarray, eps: float, sign: float) -> np.ndarray:
    """The one-sided difference sign * (f(x + sign*eps e_j) - f(x)) / eps, the O(eps) mistake. x is restored."""
    f0 = f()
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + sign * eps
        grad[idx] = sign * (f() - f0) / eps
        x[idx] = orig
    return grad


def _probe_one_sided(probe: _Probe, eps: float, sign: float) -> np.ndarray:
    xc = np.array(probe.x, dtype=np.float64, order="C", copy=True)
    return one_sided(lambda: probe.value(xc), xc, eps, sign)


# Values where undoing a nudge of 0.1 by arithmetic (x + eps - eps, x + eps - 2 eps + eps, ...) does
# not give x back exactly: at least one of them breaks every such pattern.
ROUNDING_VALUES = np.array([0.3, -0.3, 0.2, -0.7])


def _x_cases(hidden: bool, rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, float | None, str]]:
    """(label, x, base, eps, kind): x is the array handed over, base the array it lives in
    (x itself, or the larger array x is a view of); eps None means the default."""
    cases = []
    x = rng.standard_normal(5)
    cases.append(("a vector x of shape (5,)", x, x, None, "sin"))
    x = rng.standard_normal((3, 4))
    cases.append(("a matrix x of shape (3, 4) with eps=1e-2", x, x, 1e-2, "sin"))
    base = rng.standard_normal((4, 3))
    cases.append(("x = M.T, a transposed (non-contiguous) view of shape (3, 4)", base.T, base, None, "mix"))
    if hidden:
        x = rng.standard_normal(1)
        cases.append(("a single entry, x of shape (1,)", x, x, None, "mix"))
        base = rng.standard_normal((5, 6))
        cases.append(("x = M[1:4, ::2], a strided slice of shape (3, 3)", base[1:4, ::2], base, 1e-3, "sin"))
        x = rng.standard_normal((2, 3, 2))
        cases.append(("a 3-D x of shape (2, 3, 2)", x, x, None, "mix"))
        x = rng.permutation(ROUNDING_VALUES).reshape(2, 2)
        cases.append(("a (2, 2) x with eps=1e-1, holding values such as 0.3", x, x, 1e-1, "sin"))
    return cases


def restore_message(before: np.ndarray, after: np.ndarray, eps: float,
                    what: str = "x (or the array it is a view of)") -> str:
    """Why ``after`` differs from ``before``: a nudge left in place, or one undone by arithmetic."""
    diff = np.abs(after - before)
    changed = int(np.count_nonzero(diff))
    if np.all(diff <= 1e-3 * eps):
        how = ("by a rounding error only: you undid the nudge with arithmetic (x + eps - eps is not always x "
               "in floating point). Save the original entry and assign it back.")
    else:
        how = "by up to {:.3g}: an entry was left perturbed. Assign the saved original back after the two calls.".format(
            float(diff.max()))
    return f"{what} was not restored: {changed} entr{'y' if changed == 1 else 'ies'} changed {how}"


def check_numerical_gradient(fn, hidden: bool = False, seed: int = 0):
    """fn(f, x, eps=1e-5) -> grad: x's shape and dtype. f() reads x, which fn perturbs in place and restores."""
    ex = "numerical_gradient"
    rng = np.random.default_rng(seed)
    cases = _x_cases(hidden, rng)
    for label, x, base, eps, kind in cases:
        probe = _Probe(x, rng, kind)
        use_eps = 1e-5 if eps is None else eps
        expected = _central(probe, use_eps)
        base_before = base.copy()
        hint = ("x may have any number of axes: visit every index with `for idx in np.ndindex(x.shape)` "
                "(or np.nditer with flags=['multi_index']) and index x[idx]." if x.ndim != 2 else "")
        # f must read the very array x that fn perturbs: no copies.
        args = (probe, x) if eps is None else (probe, x, eps)
        got = call(ex, fn, *args, on=label, hint=hint, copy=False).result
        findings = []
        if changes(base_before, base):
            findings.append(Finding(f"for {label}: " + restore_message(base_before, base, use_eps)))
            base[...] = base_before
        if probe.calls == 0:
            findings.append(Finding(f"for {label}: f was never called.",
                                    ["Evaluate f() after each nudge of an entry of x."]))
        variants = [
            Variant("Every entry is 0: f never saw your nudges. You probably wrote into a copy of x (x.reshape(-1), "
                    "x.ravel() and x.flatten() copy a non-contiguous x). Index x itself, e.g. x[idx] for idx in "
                    "np.ndindex(x.shape).", lambda: np.zeros_like(expected)),
            Variant("Every entry is twice the expected value: divide the difference by 2*eps, the distance between "
                    "the two points.", lambda: 2 * expected),
            Variant("This is the one-sided difference (f(x + eps) - f(x)) / eps, whose error is O(eps). Use the "
                    "central difference (f(x + eps) - f(x - eps)) / (2 eps): its error is O(eps^2).",
                    lambda: _probe_one_sided(probe, use_eps, 1.0)),
            Variant("This is the one-sided difference (f(x) - f(x - eps)) / eps, whose error is O(eps). Use the "
                    "central difference (f(x + eps) - f(x - eps)) / (2 eps).", lambda: _probe_one_sided(probe, use_eps, -1.0)),
            Variant(f"It matches eps=1e-5 rather than the eps={use_eps:g} that was passed: use the eps argument.",
                    lambda: None if eps is None else _central(probe, 1e-5)),
            Variant("The sign is flipped: (f(x + eps) - f(x - eps)) / (2 eps), plus first.", lambda: -expected),
        ]
        result = check_array(f"the gradient for {label}", got, expected, rtol=1e-6, atol=1e-8, variants=variants)
        if result is not None and result.hints == [""] and type(got) is np.ndarray and got.shape == expected.shape:
            result.hints = ["Each entry is (f with x[idx] + eps  minus  f with x[idx] - eps) / (2 eps), all other "
                            "entries unchanged."]
        finish(ex, findings + [result], label)
    return passed(ex, len(cases))


# --------------------------------------------------------------------- rel_error
def _pair_cases(hidden: bool, rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray]]:
    g = rng.standard_normal((4, 3))
    cases = [("two close (4, 3) gradients", g, g + 1e-6 * rng.standard_normal((4, 3))),
             ("two different vectors", rng.standard_normal(5), rng.standard_normal(5)),
             ("two zero gradients (a parameter the loss ignores)", np.zeros((3, 2)), np.zeros((3, 2)))]
    if hidden:
        v = rng.standard_normal(6)
        t = 1e-13 * rng.standard_normal((2, 3))
        cases += [
            ("two equal gradients", v, v.copy()),
            ("opposite gradients, b = -a", v, -v),
            ("tiny gradients (~1e-13), where eta matters", t, 0.5 * t),
            ("large (2, 2, 3) gradients (~1e8)", 1e8 * rng.standard_normal((2, 2, 3)),
             1e8 * rng.standard_normal((2, 2, 3))),
            ("a single entry", np.array([0.3]), np.array([0.3001])),
        ]
    return cases


def _rel_error_variants(a: np.ndarray, b: np.ndarray) -> list[Variant]:
    na, nb, nd = np.linalg.norm(a), np.linalg.norm(b), np.linalg.norm(a - b)
    eta = gradcheck.REL_ERROR_ETA
    tight = {"rtol": 1e-9, "atol": 0.0}
    return [
        Variant("The denominator has no eta: add eta = 1e-12 so that two zero gradients give 0, not NaN.",
                lambda: nd / (na + nb), **tight),
        Variant("The denominator is a single norm; it is the sum ||a|| + ||b|| + eta.", lambda: nd / (na + eta), **tight),
        Variant("The denominator is a single norm; it is the sum ||a|| + ||b|| + eta.", lambda: nd / (nb + eta), **tight),
        Variant("The denominator is the larger norm; it is the sum ||a|| + ||b|| + eta.",
                lambda: nd / (max(na, nb) + eta), **tight),
        Variant("The norms are sums of absolute values; use the Euclidean norm np.linalg.norm (square root of the "
                "sum of squares).", lambda: np.abs(a - b).sum() / (np.abs(a).sum() + np.abs(b).sum() + eta), **tight),
        Variant("This is the largest entry-wise difference; use the norm of the whole difference, "
                "np.linalg.norm(a - b).", lambda: np.abs(a - b).max() / (na + nb + eta), **tight),
        Variant("The numerator is squared: use the norm ||a - b||, not its square.",
                lambda: nd ** 2 / (na + nb + eta), **tight),
        *[Variant(f"It uses eta = {e:g}; the syllabus's formula has eta = 1e-12, which matters only where "
                  "both gradients are tiny.", (lambda e=e: nd / (na + nb + e)), **tight) for e in (1e-6, 1e-7, 1e-8,
                                                                                             1e-9, 1e-10, 1e-15)],
        Variant("eta belongs in the denominator only: ||a - b|| / (||a|| + ||b|| + eta).",
                lambda: (nd + eta) / (na + nb + eta), **tight),
        Variant("Entry-wise relative errors were averaged; the syllabus's formula uses norms of whole arrays: "
                "||a - b|| / (||a|| + ||b|| + eta).",
                lambda: float(np.mean(np.abs(a - b) / (np.abs(a) + np.abs(b) + eta))), **tight),
    ]


def check_rel_error(fn, hidden: bool = False, seed: int = 0):
    """fn(a, b) -> float: ||a - b|| / (||a|| + ||b|| + 1e-12). a, b: any shape, the same.

    Every case is run first; a wrong formula is named by the variant that gives the student's
    number on every case."""
    ex = "rel_error"
    rng = np.random.default_rng(seed)
    runs = []
    for label, a, b in _pair_cases(hidden, rng):
        done = call(ex, fn, a, b, on=f"a: {a.shape}, b: {b.shape} ({label})")
        got = done.result
        if got is None:
            fail(ex, f"the result for {label} is None.", ["Did the function forget to `return` it?"], case=label,
                 status="error")
        if not (is_number(got) or (type(got) is np.ndarray and got.shape == () and np.issubdtype(got.dtype, np.number))):
            fail(ex, f"for {label}: expected one number (a float), got {describe(got)}.",
                 ["The norms collapse the whole arrays: np.linalg.norm(a - b) is a single number."], case=label,
                 status="error")
        runs.append((label, a, b, got, unchanged({"a": a, "b": b}, dict(zip("ab", done.args)))))
    for label, a, b, got, mutated in runs:
        expected, value = gradcheck.rel_error(a, b), float(got)
        finding = scalar_dtype(f"the relative error for {label}", got)
        if finding is None and not (np.isclose(value, expected, rtol=1e-9, atol=1e-15)
                                    or (np.isnan(value) and np.isnan(expected))):
            finding = check_array(f"the relative error for {label}", np.float64(value), np.asarray(expected),
                                  rtol=1e-9, atol=1e-15)
            named = consistent_variant([(float(g), gradcheck.rel_error(p, q), _rel_error_variants(p, q))
                                        for _, p, q, g, _ in runs])
            finding.hints = [named.hint if named else
                             "Compute ||a - b|| / (||a|| + ||b|| + eta) with np.linalg.norm and eta = 1e-12."]
        finish(ex, [mutated, finding], label)
    return passed(ex, len(runs))


# --------------------------------------------------------------- grad_check_group
def _group_cases(hidden: bool, seed: int) -> list[tuple[str, dict, np.ndarray, np.ndarray, str, float | None]]:
    """(label, params, X, Y, name, eps): eps None means the default 1e-5."""
    X, Y = data.tiny_batch()
    params = mlp.init_params(5, 4, 3)
    cases = [(f"the syllabus's tiny batch, group {n}", params, X, Y, n, None) for n in mlp.PARAM_NAMES]
    a, b, *awkward = network_cases(hidden, seed)
    cases += [(f"{a.label}, group W2, eps=1e-2", a.params, a.X, a.Y, "W2", 1e-2),
              (f"{b.label}, group b1, eps=1e-2", b.params, b.X, b.Y, "b1", 1e-2)]
    if hidden:
        by_label = {c.label: c for c in awkward}
        picks = [("a batch of 1", "W1", 1e-2), ("one hidden unit", "b1", 1e-1), ("non-square", "W2", 1e-3),
                 ("non-square", "b2", None), ("exactly at zero", "b1", None), ("strided", "W1", 1e-2)]
        for key, name, eps in picks:
            case = next(c for lab, c in by_label.items() if key in lab)
            cases.append((f"{case.label}, group {name}" + ("" if eps is None else f", eps={eps:g}"),
                          case.params, case.X, case.Y, name, eps))
    return cases


def _group_variants(params, X, Y, name, eps) -> list[Variant]:
    def analytic_and_f():
        p = {k: np.array(v, copy=True) for k, v in params.items()}
        _, cache = mlp.forward(p, X)
        return p, mlp.backward(p, cache, Y)[name], (lambda: mlp.loss(p, X, Y))

    def with_numeric(make):
        def compute():
            p, analytic, f = analytic_and_f()
            return gradcheck.rel_error(analytic, make(f, p[name]))
        return compute

    loose = {"rtol": 1e-3, "atol": 1e-9}
    return [
        Variant("The numerical gradient is twice the analytic one: divide by 2*eps.",
                with_numeric(lambda f, x: 2 * gradcheck.numerical_gradient(f, x, eps)), **loose),
        Variant("The numerical gradient is a one-sided difference, with an O(eps) error: use the central difference.",
                with_numeric(lambda f, x: one_sided(f, x, eps, 1.0)), **loose),
        Variant("The numerical gradient is N times too large: the loss must be the mean over the batch, mlp.loss.",
                with_numeric(lambda f, x: X.shape[0] * gradcheck.numerical_gradient(f, x, eps)), **loose),
        Variant(f"It matches eps=1e-5 rather than the eps={eps:g} that was passed: pass eps on to the numerical "
                "gradient.", with_numeric(lambda f, x: gradcheck.numerical_gradient(f, x, 1e-5)) if eps != 1e-5
                else (lambda: None), **loose),
    ]


def check_grad_check_group(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X: (N, d0), Y: (N, C), name, eps=1e-5) -> float, the relative error of group ``name``."""
    ex = "grad_check_group"
    cases = _group_cases(hidden, seed)
    for label, params, X, Y, name, eps in cases:
        args = (params, X, Y, name) if eps is None else (params, X, Y, name, eps)
        done = call(ex, fn, *args, on=label)
        got, copied = done.result, done.args
        use_eps = 1e-5 if eps is None else eps
        moved = {k: changes(params[k], copied[0].get(k), f"params[{k!r}]") for k in params}
        findings = [Finding(f"for {label}: " + restore_message(params[k], copied[0][k], use_eps, f"params[{k!r}]"))
                    for k, found in moved.items() if found and all(c.kind == "values" for c in found)]
        others = {k for k, found in moved.items() if any(c.kind != "values" for c in found)} or set(copied[0]) - set(params)
        findings.append(unchanged({"X": X, "Y": Y, **({"params": params} if others else {})},
                                  {"X": copied[1], "Y": copied[2], **({"params": copied[0]} if others else {})}))
        if got is None:
            fail(ex, f"the result for {label} is None.", ["Did the function forget to `return` the relative error?"],
                 case=label, status="error")
        if not (is_number(got) or (type(got) is np.ndarray and got.shape == () and np.issubdtype(got.dtype, np.floating))):
            fail(ex, f"for {label}: expected one float (the relative error), got {describe(got)}.", case=label,
                 status="error")
        value = float(got)
        expected = reference_group_error(params, X, Y, name, use_eps)
        # Near 1e-10 the error is round-off, which an equivalent computation changes in its last digits;
        # with a large eps or at a kink it is a definite number that must match.
        if not (np.isfinite(value) and abs(value - expected) <= 1e-4 * expected + 1e-8):
            message = f"for {label}: expected a relative error of {expected:.4e}, got {value:.4e}."
            if np.isclose(value, 1.0, rtol=1e-6):
                hints = ["A relative error of exactly 1 means one of the two gradients is all zero: the loss f must "
                         "read the very array you perturb (params[name], not a copy of it)."]
            elif value < 1e-8 and expected > 1e-6:
                hints = [f"Yours is at round-off level, but a step of eps={use_eps:g} leaves a truncation error of "
                         f"about {expected:.0e}: is the eps argument passed on to the numerical gradient?"]
            else:
                with quiet():
                    match = first_match(value, _group_variants(params, X, Y, name, use_eps), expected)
                hints = [match.hint] if match else [
                    "Run mlp.forward, read mlp.backward(...)[name] (the analytic gradient), estimate the numerical "
                    "gradient of `lambda: mlp.loss(params, X, Y)` with respect to params[name] with the eps given, "
                    "and return rel_error of the two."]
            findings.append(Finding(message, hints))
        finish(ex, findings, label)
    return passed(ex, len(cases))
