"""Numerical gradient checking (syllabus section 4).

``numerical_gradient`` estimates a gradient by central differences;
``numerical_gradient_array`` does the same for a layer with an array output,
against an upstream gradient (a vector-Jacobian product, so no loss is needed);
``rel_error`` compares two gradients exactly as the syllabus defines it;
``grad_check`` checks named parameter groups and returns a readable report.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from .gradreport import ACCEPTABLE, BUG, EXCELLENT, PASSING, GradCheckReport, GroupResult, verdict  # noqa: F401

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


def _require_float64(params: dict, allow_float32: bool) -> None:
    low = [name for name, p in params.items() if p.dtype != np.float64]
    if low and not allow_float32:
        raise TypeError(
            f"parameters {low} are not float64 ({params[low[0]].dtype}); an eps-sized nudge is lost in "
            "float32 round-off, so the check would report errors that are not bugs. Convert with "
            ".astype(np.float64), or pass allow_float32=True to see the effect on purpose."
        )


def _warn_kinks(kinks: dict | None, eps: float) -> int:
    """Warn about every pre-activation within eps of 0; return how many there are."""
    near = 0
    for name, Z in (kinks or {}).items():
        rows, cols = np.nonzero(np.abs(np.atleast_2d(Z)) < eps)
        near += rows.size
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
    return near


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
        :class:`KinkWarning` naming the units within eps of 0, counts them in
        ``report.kinks_near``, and a group that then fails reads "inconclusive"
        (its verdict band is unchanged): at the kink a correct gradient fails too.
    fast: check ``directions`` random directional derivatives of all groups
        at once (2 * directions loss evaluations, whatever the number of
        parameters). If every direction agrees, the report says just that (mode
        "fast", no group checked on its own, ``report.groups`` empty); if any
        disagrees, it falls back to the full check so that the report says which
        group is wrong (mode "fast, then full").
    """
    if fast and directions < 1:
        raise ValueError(f"a fast check needs at least one direction, got directions={directions}")
    names = list(grads) if names is None else list(names)
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"no parameter named {missing}; parameters are {sorted(params)}")
    _require_float64({n: params[n] for n in names}, allow_float32)
    kinks_near = _warn_kinks(kinks, eps)
    if not fast:
        return GradCheckReport(_full_check(loss_fn, params, grads, eps, names), eps, kinks_near=kinks_near)

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
    together = dict(checked_together=names, parameters_together=sum(int(params[n].size) for n in names),
                    kinks_near=kinks_near)
    if verdict(worst) in PASSING:
        # One number for all groups together: no group gets a row of its own that it did not earn.
        return GradCheckReport([], eps, "fast", errors, **together)
    note = (f"a random direction disagreed (worst of {directions}: {worst:.2e}); the full check above, "
            "one group at a time, shows where")
    return GradCheckReport(_full_check(loss_fn, params, grads, eps, names), eps, "fast, then full", errors, note,
                           **together)


def eps_sweep(loss_fn: Callable[[], float], x: np.ndarray, analytic: np.ndarray, eps_values) -> np.ndarray:
    """Relative error of the central difference against ``analytic`` for each eps.

    x: the parameter (any shape) that ``loss_fn`` reads; analytic: its exact
    gradient, same shape. Returns errors: (len(eps_values),). Computed in x's
    dtype, so a float32 x shows the round-off floor of float32.
    """
    return np.array([rel_error(analytic, numerical_gradient(loss_fn, x, float(e))) for e in eps_values])
