"""The catalogue of common backprop bugs (syllabus section 5), as data.

Each :class:`Bug` has a name, a one-line description, its syllabus section,
the reference function it breaks (``target``), a working buggy ``variant`` of
that function with the same signature, and the check that catches it
(``caught_by``: "grad_check" or the name of a function in this module).

Notebooks hand the variants out for bug hunts; the grader compares a wrong
answer with every variant to say which known bug it looks like.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from . import activations, losses, mlp
from .snapshot import Change, changes, copy_data


# ---------------------------------------------------------------- the variants
def affine_backward_transposed(dZ, cache, need_dX=True):
    """affine_backward with dW computed as dZ^T X (the transpose of X^T dZ), forced into W's shape."""
    X, W = cache
    dW = (dZ.T @ X).reshape(W.shape)
    return (dZ @ W.T if need_dX else None), dW, dZ.sum(axis=0)


def affine_backward_bias_mean(dZ, cache, need_dX=True):
    """affine_backward that averages the bias gradient over the batch instead of summing it."""
    X, W = cache
    return (dZ @ W.T if need_dX else None), X.T @ dZ, dZ.mean(axis=0)


def softmax_cross_entropy_backward_no_average(Yhat, Y):
    """The fused gradient without the 1/N of the batch average."""
    return Yhat - losses.as_one_hot(Y, Yhat.shape[1], Yhat.dtype)


def softmax_cross_entropy_backward_in_place(Yhat, Y):
    """The fused gradient computed in the buffer of the cached Yhat, which it overwrites."""
    N, C = Yhat.shape
    Yhat -= losses.as_one_hot(Y, C, Yhat.dtype)
    Yhat /= N
    return Yhat


def softmax_unshifted(Z):
    """Softmax without subtracting the row maximum: exp overflows for large logits."""
    with np.errstate(over="ignore", invalid="ignore"):
        E = np.exp(Z)
        return E / E.sum(axis=1, keepdims=True)


def leaky_relu_backward_mask_from_activation(dA, Z, alpha=activations.LEAKY_SLOPE):
    """Leaky ReLU backward written as the ReLU gate on the activation, dA * 1[A > 0]: the alpha slope is lost."""
    A = activations.leaky_relu(Z, alpha)
    return dA * (A > 0)


def relu_backward_mask_from_gradient(dA, Z):
    """ReLU backward gated by the sign of the upstream gradient instead of the pre-activation."""
    return dA * (dA > 0)


_SHARED_CACHE: dict = {}


def forward_shared_cache(params, X, ops=mlp._RELU_OPS):
    """mlp.forward that keeps its cache in one dict reused by every call, like ``self.cache``."""
    Yhat, cache = mlp.forward(params, X, ops)
    _SHARED_CACHE.clear()
    _SHARED_CACHE.update(cache)
    return Yhat, _SHARED_CACHE


# -------------------------------------------------------------- the catalogue
@dataclass(frozen=True)
class Bug:
    """One entry of the catalogue."""

    name: str
    title: str
    description: str
    section: str
    target: str          # the reference function this breaks, e.g. "affine_backward"
    variant: Callable    # a working buggy version of it, same signature
    caught_by: str       # "grad_check" or a check function of this module
    activation: str = "relu"  # the hidden activation under which the bug shows

    def ops(self, activation: str | None = None) -> mlp.Ops:
        """The network's building blocks with this bug's variant swapped in."""
        base = mlp.reference_ops(activation or self.activation)
        if self.target == "relu_backward" or self.target == "leaky_relu_backward":
            act = base.activation
            return base._replace(activation=act._replace(backward=self.variant))
        if self.target in mlp.Ops._fields:
            return base._replace(**{self.target: self.variant})
        return base

    def network(self, activation: str | None = None) -> tuple[Callable, Callable]:
        """(forward(params, X), backward(params, cache, Y)) of the two-layer network with this bug
        injected. Partials of module functions, not lambdas, so that they can be pickled (the
        grader hands them to a sandboxed student process by value)."""
        ops = self.ops(activation)
        fwd = self.variant if self.target == "forward" else mlp.forward
        return partial(fwd, ops=ops), partial(mlp.backward, ops=ops)

    def __str__(self) -> str:
        return f"{self.title} (section {self.section}): {self.description}"


CATALOGUE: dict[str, Bug] = {
    b.name: b
    for b in [
        Bug("wrong_transpose", "Wrong transpose",
            "dW is computed as dZ^T X instead of X^T dZ and forced into W's shape.",
            "5.1", "affine_backward", affine_backward_transposed, "grad_check"),
        Bug("missing_batch_average", "Missing 1/N",
            "The loss averages over the batch but the gradient does not, so every gradient is N times too large.",
            "5.2", "softmax_cross_entropy_backward", softmax_cross_entropy_backward_no_average, "grad_check"),
        Bug("bias_gradient_averaged", "Averaged bias gradient",
            "The bias gradient averages over the batch instead of summing, so it is N times too small.",
            "5.2", "affine_backward", affine_backward_bias_mean, "grad_check"),
        Bug("stale_cache", "Stale cache",
            "Every forward pass overwrites one shared cache, so a backward pass can read a later batch's values.",
            "5.3", "forward", forward_shared_cache, "check_interleaved_forward"),
        Bug("unstable_softmax", "Unstable softmax",
            "Softmax exponentiates the raw logits without subtracting the row maximum: large logits give inf and NaN.",
            "5.4", "softmax", softmax_unshifted, "check_extreme_logits"),
        Bug("relu_mask_from_activation", "ReLU mask from the activation",
            "The activation's gate is taken from A > 0 rather than differentiated at Z: leaky ReLU loses its slope.",
            "5.5", "leaky_relu_backward", leaky_relu_backward_mask_from_activation, "grad_check", "leaky_relu"),
        Bug("relu_mask_from_gradient", "ReLU mask from the gradient",
            "The ReLU gate is taken from the sign of the upstream gradient instead of the pre-activation Z.",
            "5.5", "relu_backward", relu_backward_mask_from_gradient, "grad_check"),
        Bug("in_place_cache_mutation", "In-place mutation of the cache",
            "The loss gradient is computed in the cached Yhat's own buffer, corrupting the cache for any later reader.",
            "5.6", "softmax_cross_entropy_backward", softmax_cross_entropy_backward_in_place, "check_cache_unchanged"),
    ]
}


def get(name: str) -> Bug:
    """The catalogue entry called ``name``."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ValueError(f"no bug called {name!r}; the catalogue has {sorted(CATALOGUE)}") from None


def for_target(target: str) -> list[Bug]:
    """Every catalogued bug that breaks the reference function ``target``."""
    return [b for b in CATALOGUE.values() if b.target == target]


# ------------------------------------- checks for what a gradient check cannot see
@dataclass
class CheckResult:
    """The outcome of one system check: ``ok`` and a sentence saying why."""

    name: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok


def interleaving_changes(forward: Callable, backward: Callable, params: dict, X_a: np.ndarray, Y_a: np.ndarray,
                         X_b: np.ndarray) -> list[str]:
    """The gradients that differ when a forward pass on X_b comes between forward(X_a) and the backward
    pass with X_a's cache (section 5.3); [] when every cache belongs to its own call.

    forward(params, X) -> (Yhat, cache); backward(params, cache, Y) -> grads; X_a, X_b: (N, d0), Y_a: (N, C).
    The expected gradients come from a backward pass on a copy of a fresh cache, so that a backward
    that also writes into its cache is not mistaken for a shared one.
    """
    _, fresh = forward(params, X_a)
    expected = backward(copy_data(params), copy_data(fresh), Y_a)
    _, cache_a = forward(params, X_a)
    forward(params, X_b)
    got = backward(copy_data(params), cache_a, Y_a)
    return [k for k in expected if not np.allclose(expected[k], got[k], rtol=1e-10, atol=1e-12)]


def check_interleaved_forward(forward: Callable, backward: Callable, params: dict, seed: int = 0) -> CheckResult:
    """Forward batch A, forward batch B, then backward with A's cache: the gradient must be A's.

    forward(params, X) -> (Yhat, cache); backward(params, cache, Y) -> grads.
    Catches a cache shared between calls (section 5.3).
    """
    rng = np.random.default_rng(seed)
    d0, C = params["W1"].shape[0], params["W2"].shape[1]
    XA, XB = rng.standard_normal((6, d0)), rng.standard_normal((6, d0))
    YA = losses.one_hot(rng.integers(0, C, 6), C)
    bad = interleaving_changes(forward, backward, params, XA, YA, XB)
    if bad:
        return CheckResult("check_interleaved_forward", False,
                           f"after a second forward pass, backward with the first batch's cache gave different {bad}: "
                           "the cache is shared between calls (stale cache, section 5.3)")
    return CheckResult("check_interleaved_forward", True, "each forward pass returns a cache of its own")


def check_extreme_logits(softmax_fn: Callable, scale: float = 1e3) -> CheckResult:
    """softmax_fn must return finite rows summing to 1 for logits of size ``scale`` (section 5.4)."""
    Z = np.array([[scale, 0.0, -scale], [-scale, -scale, -scale + 1.0], [scale, scale, 0.0]])
    with np.errstate(all="ignore"):
        P = np.asarray(softmax_fn(Z))
    if P.shape != Z.shape or not np.all(np.isfinite(P)) or not np.allclose(P.sum(axis=1), 1.0):
        return CheckResult("check_extreme_logits", False,
                           f"softmax of logits near ±{scale:g} is not finite and normalised (first row {P[0] if P.ndim == 2 else P}): "
                           "subtract each row's maximum before exponentiating (section 5.4)")
    return CheckResult("check_extreme_logits", True, f"softmax stays finite and normalised at logits ±{scale:g}")


def backward_changes(forward: Callable, backward: Callable, params: dict, X: np.ndarray, Y: np.ndarray) -> list[Change]:
    """What one backward pass changes in the cache that forward made, and in params (section 5.6).

    Values written in place, entries rebound and keys added (gradients stored in the cache, say)
    all count: see :func:`course_lib.snapshot.changes`. X: (N, d0), Y: (N, C).
    """
    _, cache = forward(params, X)
    before = copy_data((cache, params))
    backward(params, cache, Y)
    return changes(before[0], cache, "cache") + changes(before[1], params, "params")


def check_cache_unchanged(forward: Callable, backward: Callable, params: dict, seed: int = 0) -> CheckResult:
    """Backward must leave the cache (and params) exactly as forward made it: no entry written in
    place, rebound, added or removed (section 5.6)."""
    rng = np.random.default_rng(seed)
    d0, C = params["W1"].shape[0], params["W2"].shape[1]
    X = rng.standard_normal((5, d0))
    Y = losses.one_hot(rng.integers(0, C, 5), C)
    changed = backward_changes(forward, backward, params, X, Y)
    if changed:
        return CheckResult("check_cache_unchanged", False,
                           f"backward changed {', '.join(map(str, changed))}: treat the cache and params as "
                           "read-only and return the gradients in a new dict (section 5.6)")
    return CheckResult("check_cache_unchanged", True, "backward leaves the cache and params untouched")
