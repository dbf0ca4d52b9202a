"""Numerical gradient checking (syllabus section 4).

``numerical_gradient`` estimates a gradient by central differences;
``numerical_gradient_array`` does the same for a layer with an array output,
against an upstream gradient (a vector-Jacobian product, so no loss is needed);
``rel_error`` compares two gradients exactly as the syllabus defines it;
``grad_check`` checks named parameter groups and returns a readable report.
"""
from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# The syllabus's verdict bands for the relative error.
EXCELLENT = 1e-7
ACCEPTABLE = 1e-5
BUG = 1e-3
# The small eta in the denominator of the relative error.
REL_ERROR_ETA = 1e-12


class KinkWarning(UserWarning):
    """A ReLU pre-activation lies so close to 0 that a nudge of eps crosses the kink."""


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central-difference estimate of df/dx, one entry at a time.

    f: a function of no arguments whose value depends on ``x``, which is
    perturbed in place (and every entry restored, even when f raises).
    x: any shape, a float array -> gradient: the same shape and dtype.
    Costs two calls of f per entry.
    """
    # A scalar loss is the VJP with dout = 1.
    return numerical_gradient_array(f, x, np.ones(()), eps)


def _float_copy(value) -> np.ndarray:
    value = np.asarray(value)
    return np.array(value, dtype=value.dtype if np.issubdtype(value.dtype, np.floating) else np.float64)


def numerical_gradient_array(f: Callable[[], np.ndarray], x: np.ndarray, dout: np.ndarray,
                             eps: float = 1e-5) -> np.ndarray:
    """Central-difference estimate of the vector-Jacobian product sum(dout * df/dx).

    The layer-level check (CS231n's ``eval_numerical_gradient_array``): for a
    layer ``out = f()`` and an upstream gradient ``dout``, entry j of the result
    is d/dx_j of sum(dout * f()), which is what ``backward(dout, cache)`` must
    return for x. f: a function of no arguments whose array value depends on
    ``x``, which is perturbed in place (and every entry restored, even when f
    raises). x: any shape, a float array; dout: f()'s shape
    -> gradient: x's shape and dtype. Costs two calls of f per entry of x.
    """
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"x must be a float array to be perturbed, got dtype {x.dtype}")
    dout = np.asarray(dout)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):  # indexes x itself, so views and strided arrays work too
        original = x[idx]
        try:
            x[idx] = original + eps
            # Copies (f may return x itself, or a view of it), kept in f's own precision so that an
            # extended-precision oracle (np.longdouble) is not rounded to float64 before subtracting.
            out_plus = _float_copy(f())
            x[idx] = original - eps
            out_minus = _float_copy(f())
        finally:
            x[idx] = original
        if out_plus.shape != dout.shape:
            raise ValueError(f"f() returned shape {out_plus.shape} but dout has shape {dout.shape}")
        grad[idx] = np.sum(dout * (out_plus - out_minus)) / (2 * eps)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray, eta: float = REL_ERROR_ETA) -> float:
    """||a - b|| / (||a|| + ||b|| + eta), with Frobenius norms. a, b: the same shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + eta))


def verdict(error: float) -> str:
    """The syllabus's reading of a relative error."""
    if not np.isfinite(error):
        return "bug"
    if error < EXCELLENT:
        return "excellent"
    if error < ACCEPTABLE:
        return "acceptable"
    if error <= BUG:
        return "doubtful"
    return "bug"


_ADVICE = {
    "excellent": "analytic and numerical gradients agree",
    "acceptable": "fine for smooth activations; look for ReLU kinks if you expected better",
    "doubtful": "too large for float64: look for a kink, float32, or a subtle bug",
    "bug": "the analytic gradient is wrong",
}


@dataclass
class GroupResult:
    """The check of one parameter group."""

    name: str
    shape: tuple
    rel_error: float
    verdict: str
    worst_index: tuple | None = None  # the entry with the largest disagreement


@dataclass
class GradCheckReport:
    """What :func:`grad_check` found: one :class:`GroupResult` per group."""

    groups: list[GroupResult]
    eps: float
    mode: str = "full"
    directional_errors: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def passed(self) -> bool:
        """True when every group is excellent or acceptable."""
        return all(g.verdict in ("excellent", "acceptable") for g in self.groups)

    @property
    def max_error(self) -> float:
        """The largest relative error over the groups."""
        return max((g.rel_error for g in self.groups), default=0.0)

    def __getitem__(self, name: str) -> GroupResult:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(name)

    def failures(self) -> list[GroupResult]:
        """The groups whose verdict is doubtful or a bug."""
        return [g for g in self.groups if g.verdict not in ("excellent", "acceptable")]

    def __str__(self) -> str:
        head = f"Gradient check ({self.mode}, eps={self.eps:g}): {'passed' if self.passed else 'FAILED'}"
        lines = [head]
        for g in self.groups:
            where = f"  worst entry {g.worst_index}" if g.worst_index is not None and g.verdict == "bug" else ""
            lines.append(f"  {g.name:>6} {str(g.shape):>10}  rel error = {g.rel_error:.2e}  {g.verdict:<10} {_ADVICE[g.verdict]}{where}")
        if self.note:
            lines.append(f"  {self.note}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colours = {"excellent": "#1a7f37", "acceptable": "#4d7c0f", "doubtful": "#b45309", "bug": "#b91c1c"}
        rows = "".join(
            f"<tr><td><code>{html.escape(g.name)}</code></td><td>{g.shape}</td><td>{g.rel_error:.2e}</td>"
            f"<td style='color:{colours[g.verdict]};font-weight:bold'>{g.verdict}</td>"
            f"<td>{html.escape(_ADVICE[g.verdict])}</td></tr>"
            for g in self.groups
        )
        status = "passed" if self.passed else "FAILED"
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return (
            f"<div><b>Gradient check ({self.mode}, eps={self.eps:g}): {status}</b>"
            "<table><tr><th>group</th><th>shape</th><th>relative error</th><th>verdict</th><th>meaning</th></tr>"
            f"{rows}</table>{note}</div>"
        )


def _require_float64(params: dict, allow_float32: bool) -> None:
    low = [name for name, p in params.items() if p.dtype != np.float64]
    if low and not allow_float32:
        raise TypeError(
            f"parameters {low} are not float64 ({params[low[0]].dtype}); an eps-sized nudge is lost in "
            "float32 round-off, so the check would report errors that are not bugs. Convert with "
            ".astype(np.float64), or pass allow_float32=True to see the effect on purpose."
        )


def _warn_kinks(kinks: dict | None, eps: float) -> None:
    for name, Z in (kinks or {}).items():
        rows, cols = np.nonzero(np.abs(np.atleast_2d(Z)) < eps)
        if rows.size:
            units = ", ".join(f"(example {r}, unit {c})" for r, c in list(zip(rows, cols))[:5])
            more = f" and {rows.size - 5} more" if rows.size > 5 else ""
            warnings.warn(
                f"{name} has {rows.size} pre-activation(s) within eps={eps:g} of the ReLU kink at 0: "
                f"{units}{more}. There the numerical gradient straddles the kink and may legitimately "
                "disagree; nudge the inputs or check with a smooth activation.",
                KinkWarning,
                stacklevel=3,
            )


def _full_check(loss_fn, params, grads, eps, names) -> list[GroupResult]:
    results = []
    for name in names:
        numeric = numerical_gradient(loss_fn, params[name], eps)
        analytic = np.asarray(grads[name])
        if analytic.shape != numeric.shape:
            raise ValueError(
                f"the analytic gradient for {name} has shape {analytic.shape} but {name} has shape "
                f"{numeric.shape}: a gradient must have its parameter's shape (section 5.1)"
            )
        err = rel_error(analytic, numeric)
        diff = np.abs(analytic - numeric)
        worst = tuple(int(i) for i in np.unravel_index(np.argmax(diff), diff.shape)) if diff.size else None
        results.append(GroupResult(name, numeric.shape, err, verdict(err), worst))
    return results


def grad_check(
    loss_fn: Callable[[], float],
    params: dict,
    grads: dict,
    eps: float = 1e-5,
    *,
    names: list[str] | None = None,
    fast: bool = False,
    directions: int = 6,
    kinks: dict | None = None,
    allow_float32: bool = False,
    seed: int = 0,
) -> GradCheckReport:
    """Check analytic gradients against central differences, one group at a time.

    loss_fn: a function of no arguments returning the loss for the current
        values of ``params`` (which are perturbed in place and restored).
    params: name -> parameter array; grads: name -> analytic gradient, same shapes.
    names: the groups to check (default: every key of ``grads``).
    kinks: name -> pre-activations (N, d) of ReLU units; warns with a
        :class:`KinkWarning` naming the units within eps of 0.
    fast: check ``directions`` random directional derivatives of all groups
        at once (2 * directions loss evaluations, whatever the number of
        parameters); if any disagrees, fall back to the full check so that the
        report says which group is wrong.
    """
    names = list(grads) if names is None else list(names)
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"no parameter named {missing}; parameters are {sorted(params)}")
    _require_float64({n: params[n] for n in names}, allow_float32)
    _warn_kinks(kinks, eps)
    if not fast:
        return GradCheckReport(_full_check(loss_fn, params, grads, eps, names), eps)

    rng = np.random.default_rng(seed)
    errors = []
    for _ in range(directions):
        vs = {n: rng.standard_normal(params[n].shape) for n in names}
        norm = np.sqrt(sum(float(np.sum(v * v)) for v in vs.values()))
        originals = {n: params[n].copy() for n in names}
        try:
            for n in names:
                params[n][...] = originals[n] + eps * vs[n] / norm
            f_plus = loss_fn()
            for n in names:
                params[n][...] = originals[n] - eps * vs[n] / norm
            f_minus = loss_fn()
        finally:
            for n in names:
                params[n][...] = originals[n]
        numeric = (f_plus - f_minus) / (2 * eps)
        analytic = sum(float(np.sum(np.asarray(grads[n]) * vs[n])) for n in names) / norm
        errors.append(rel_error(np.array([analytic]), np.array([numeric])))
    worst = max(errors)
    if verdict(worst) in ("excellent", "acceptable"):
        groups = [GroupResult(n, params[n].shape, worst, verdict(worst)) for n in names]
        note = f"{directions} random directions checked with {2 * directions} loss evaluations; worst error {worst:.2e}"
        return GradCheckReport(groups, eps, "fast", errors, note)
    report = GradCheckReport(_full_check(loss_fn, params, grads, eps, names), eps, "fast, then full", errors)
    report.note = f"a random direction disagreed ({worst:.2e}); the full check shows where"
    return report


def eps_sweep(loss_fn: Callable[[], float], x: np.ndarray, analytic: np.ndarray, eps_values) -> np.ndarray:
    """Relative error of the central difference against ``analytic`` for each eps.

    x: the parameter (any shape) that ``loss_fn`` reads; analytic: its exact
    gradient, same shape. Returns errors: (len(eps_values),). Computed in x's
    dtype, so a float32 x shows the round-off floor of float32.
    """
    return np.array([rel_error(analytic, numerical_gradient(loss_fn, x, float(e))) for e in eps_values])
