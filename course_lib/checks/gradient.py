"""Checkers for notebook 04, gradient checking (syllabus section 4)."""
from __future__ import annotations

import copy

import numpy as np

from .. import data, gradcheck, mlp
from .cases import network_cases
from .core import CheckFailed, call, check_not_mutated, describe, passed, quiet

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


def _one_sided(f, x: np.ndarray, eps: float, sign: float) -> np.ndarray:
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
    return _one_sided(lambda: probe.value(xc), xc, eps, sign)


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
        x = np.round(rng.standard_normal((2, 2)), 1) + 0.1  # values like 0.3 where x + eps - eps != x
        cases.append(("a (2, 2) x with eps=1e-1", x, x, 1e-1, "sin"))
    return cases


def _restore_message(before: np.ndarray, after: np.ndarray, eps: float,
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


def check_numerical_gradient(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(f, x, eps=1e-5) -> grad: x's shape. f() reads x, which fn perturbs in place and restores."""
    ex = "numerical_gradient"
    if not callable(fn):
        raise CheckFailed(ex, f"expected a function, got {type(fn).__name__}")
    rng = np.random.default_rng(seed)
    cases = _x_cases(hidden, rng)
    for label, x, base, eps, kind in cases:
        probe = _Probe(x, rng, kind)
        use_eps = 1e-5 if eps is None else eps
        expected = _central(probe, use_eps)
        base_before = base.copy()
        # Called directly, not through core.call: f must read the very array x that fn perturbs.
        with quiet():
            got = fn(probe, x) if eps is None else fn(probe, x, eps)
        if not np.array_equal(base, base_before):
            raise CheckFailed(ex, f"for {label}: " + _restore_message(base_before, base, use_eps))
        if probe.calls == 0:
            raise CheckFailed(ex, f"for {label}: f was never called. Evaluate f() after each nudge of an entry of x.")
        _compare_gradient(ex, label, got, expected, probe, use_eps, eps is None)
    passed(ex, len(cases))


def _compare_gradient(ex, label, got, expected, probe, eps, default_eps) -> None:
    if got is None:
        raise CheckFailed(ex, f"for {label}: the result is None. Did the function forget to `return` the gradient?")
    if type(got) is not np.ndarray:
        raise CheckFailed(ex, f"for {label}: expected a numpy array of shape {expected.shape}, got {describe(got)}.")
    if got.shape != expected.shape:
        raise CheckFailed(ex, f"for {label}: the gradient should have x's shape {expected.shape}, got {got.shape}. "
                          "Allocate it with np.zeros_like(x) and fill it entry by entry.")
    if not np.issubdtype(got.dtype, np.floating):
        raise CheckFailed(ex, f"for {label}: the gradient should hold floats, got dtype {got.dtype}. "
                          "np.zeros_like(x) of a float x is a float array.")
    if np.allclose(got, expected, rtol=1e-6, atol=1e-8):
        return
    head = f"for {label}, the gradient is wrong.\n  expected {describe(expected)}\n  got      {describe(got)}."
    if np.all(got == 0) and np.any(expected != 0):
        hint = ("Every entry is 0: f never saw your nudges. You probably wrote into a copy of x "
                "(x.reshape(-1), x.ravel() and x.flatten() copy a non-contiguous x). Index x itself, "
                "e.g. x[idx] for idx in np.ndindex(x.shape).")
    elif np.allclose(got, 2 * expected, rtol=1e-6, atol=1e-8):
        hint = "Every entry is twice the expected value: divide the difference by 2*eps, the distance between the two points."
    elif any(np.allclose(got, _probe_one_sided(probe, eps, s), rtol=1e-6, atol=1e-8) for s in (1.0, -1.0)):
        hint = ("This is the one-sided difference (f(x + eps) - f(x)) / eps, whose error is O(eps). Use the central "
                "difference (f(x + eps) - f(x - eps)) / (2 eps): its error is O(eps^2).")
    elif not default_eps and np.allclose(got, _central(probe, 1e-5), rtol=1e-6, atol=1e-8):
        hint = f"It matches eps=1e-5 rather than the eps={eps:g} that was passed: use the eps argument."
    else:
        flat = np.argmax(np.abs(got - expected))
        worst = tuple(int(i) for i in np.unravel_index(flat, got.shape))
        hint = (f"The largest difference is at index {worst}: expected {expected[worst]:.6g}, got {got[worst]:.6g}. "
                "Each entry is (f with x[idx] + eps  minus  f with x[idx] - eps) / (2 eps), all other entries unchanged.")
    raise CheckFailed(ex, f"{head}\n  {hint}")


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


def _rel_error_hint(a: np.ndarray, b: np.ndarray, got: float) -> str:
    na, nb, nd = np.linalg.norm(a), np.linalg.norm(b), np.linalg.norm(a - b)
    eta = gradcheck.REL_ERROR_ETA
    variants = {
        "the denominator has no eta: add eta = 1e-12 so that two zero gradients give 0, not NaN":
            (lambda: nd / (na + nb),),
        "the denominator is a single norm (or the larger of the two); it is the sum ||a|| + ||b|| + eta":
            (lambda: nd / (na + eta), lambda: nd / (nb + eta)),
        "the norms are sums of absolute values; use the Euclidean norm np.linalg.norm (square root of the sum of squares)":
            (lambda: np.abs(a - b).sum() / (np.abs(a).sum() + np.abs(b).sum() + eta),),
        "this is the largest entry-wise difference; use the norm of the whole difference, np.linalg.norm(a - b)":
            (lambda: np.abs(a - b).max() / (na + nb + eta),),
        "the numerator is squared: use the norm ||a - b||, not its square":
            (lambda: nd ** 2 / (na + nb + eta),),
    }
    with np.errstate(all="ignore"):
        for hint, formulas in variants.items():
            for formula in formulas:
                value = formula()
                if (np.isnan(got) and np.isnan(value)) or np.isclose(got, value, rtol=1e-9, atol=0):
                    return " It looks like " + hint + "."
    return " Compute ||a - b|| / (||a|| + ||b|| + eta) with np.linalg.norm and eta = 1e-12."


def check_rel_error(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(a, b) -> float: ||a - b|| / (||a|| + ||b|| + 1e-12). a, b: any shape, the same."""
    ex = "rel_error"
    rng = np.random.default_rng(seed)
    cases = _pair_cases(hidden, rng)
    for label, a, b in cases:
        got, copies = call(ex, fn, a, b)
        check_not_mutated(ex, (a, b), copies, ["a", "b"])
        expected = gradcheck.rel_error(a, b)
        if got is None:
            raise CheckFailed(ex, "the result is None. Did the function forget to `return` it?")
        if np.ndim(got) != 0 or isinstance(got, (bool, np.bool_)) or not np.issubdtype(np.asarray(got).dtype, np.number):
            raise CheckFailed(ex, f"for {label}: expected one number (a float), got {describe(got)}. The norms "
                              "collapse the whole arrays: np.linalg.norm(a - b) is a single number.")
        value = float(got)
        if np.isclose(value, expected, rtol=1e-9, atol=1e-15):
            continue
        raise CheckFailed(ex, f"for {label}: expected {expected:.6e}, got {value:.6e}."
                          + _rel_error_hint(a, b, value))
    passed(ex, len(cases))


# --------------------------------------------------------------- grad_check_group
def reference_group_error(params: dict, X: np.ndarray, Y: np.ndarray, name: str, eps: float = 1e-5) -> float:
    """The relative error of one parameter group of the two-layer network, as the reference computes it."""
    params = copy.deepcopy(params)
    _, cache = mlp.forward(params, X)
    analytic = mlp.backward(params, cache, Y)[name]
    numeric = gradcheck.numerical_gradient(lambda: mlp.loss(params, X, Y), params[name], eps)
    return gradcheck.rel_error(analytic, numeric)


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
                 ("non-square", "b2", None), ("exactly at zero", "b1", None)]
        for key, name, eps in picks:
            case = next(c for lab, c in by_label.items() if key in lab)
            cases.append((f"{case.label}, group {name}" + ("" if eps is None else f", eps={eps:g}"),
                          case.params, case.X, case.Y, name, eps))
    return cases


def _group_hint(params, X, Y, name, eps, value, expected) -> str:
    if np.isclose(value, 1.0, rtol=1e-6):
        return (" A relative error of exactly 1 means one of the two gradients is all zero: the loss f must read the "
                "very array you perturb (params[name], not a copy of it).")
    if value < 1e-8 and expected > 1e-6:
        return (f" Yours is at round-off level, but a step of eps={eps:g} leaves a truncation error of about "
                f"{expected:.0e}: is the eps argument passed on to the numerical gradient?")
    p = copy.deepcopy(params)
    _, cache = mlp.forward(p, X)
    analytic = mlp.backward(p, cache, Y)[name]
    f = lambda: mlp.loss(p, X, Y)  # noqa: E731
    variants = {
        "the numerical gradient is twice the analytic one: divide by 2*eps":
            lambda: gradcheck.rel_error(analytic, 2 * gradcheck.numerical_gradient(f, p[name], eps)),
        "the numerical gradient is a one-sided difference, with an O(eps) error: use the central difference":
            lambda: gradcheck.rel_error(analytic, _one_sided(f, p[name], eps, 1.0)),
        "the numerical gradient is N times too large: the loss must be the mean over the batch, mlp.loss":
            lambda: gradcheck.rel_error(analytic, X.shape[0] * gradcheck.numerical_gradient(f, p[name], eps)),
    }
    with quiet():
        for hint, v in variants.items():
            if np.isclose(value, v(), rtol=1e-3, atol=1e-9):
                return " It looks like " + hint + "."
    return (" Run mlp.forward, read mlp.backward(...)[name] (the analytic gradient), estimate the numerical gradient "
            "of `lambda: mlp.loss(params, X, Y)` with respect to params[name] with the eps given, and return "
            "rel_error of the two.")


def check_grad_check_group(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(params, X: (N, d0), Y: (N, C), name, eps=1e-5) -> float, the relative error of group ``name``."""
    ex = "grad_check_group"
    cases = _group_cases(hidden, seed)
    for label, params, X, Y, name, eps in cases:
        args = (params, X, Y, name) if eps is None else (params, X, Y, name, eps)
        got, (copied, _) = call(ex, fn, *args)
        use_eps = 1e-5 if eps is None else eps
        for key in params:
            if not np.array_equal(params[key], copied[0][key]):
                raise CheckFailed(ex, f"for {label}: " + _restore_message(params[key], copied[0][key], use_eps,
                                                                         f"params[{key!r}]"))
        check_not_mutated(ex, (X, Y), (copied[1:3], {}), ["X", "Y"])
        expected = reference_group_error(params, X, Y, name, use_eps)
        if got is None:
            raise CheckFailed(ex, "the result is None. Did the function forget to `return` the relative error?")
        if np.ndim(got) != 0 or not np.issubdtype(np.asarray(got).dtype, np.floating):
            raise CheckFailed(ex, f"for {label}: expected one float (the relative error), got {describe(got)}.")
        value = float(got)
        # Near 1e-10 the error is round-off, which an equivalent computation changes in its last digits;
        # with a large eps or at a kink it is a definite number that must match.
        if np.isfinite(value) and abs(value - expected) <= 1e-4 * expected + 1e-8:
            continue
        raise CheckFailed(ex, f"for {label}: expected a relative error of {expected:.4e}, got {value:.4e}."
                          + _group_hint(params, X, Y, name, use_eps, value, expected))
    passed(ex, len(cases))
