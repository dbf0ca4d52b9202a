"""The catalogue of common backprop bugs (syllabus section 5), as data.

Each :class:`Bug` has a name, a one-line description, its syllabus section,
the reference function it breaks (``target``), a working buggy ``variant`` of
that function with the same signature, and the check that catches it
(``caught_by``: "grad_check" or the name of a function in this module).

Notebooks hand the variants out for bug hunts; the grader compares a wrong
answer with every variant to say which known bug it looks like.

Two registries share the :class:`Bug` record:

- :data:`CATALOGUE`: the two-layer network's bugs (syllabus section 5). Every
  entry's bare ``target`` ("affine_backward", "softmax", ...) is a piece of
  :mod:`course_lib.mlp`'s network, so :meth:`Bug.network` injects it there
  (the explorer, notebook 05 and the recognisers iterate over exactly these).
- :data:`EXTENDED_CATALOGUE`: the bugs of notebooks 09-12 (sections "9.x" to
  "12.x" of the course), in layers, optimizers, weight decay and the autodiff
  engine. Their ``target`` is dotted, "module.name" inside course_lib (e.g.
  "batchnorm.batchnorm_backward", "optim.Adam"), :attr:`Bug.reference` is that
  object, and ``caught_by`` names a check of this module that takes one
  argument, a candidate for the target, and returns a :class:`CheckResult`
  (failing the variant, passing the reference). They are not network bugs:
  :meth:`Bug.network` refuses them.

:func:`get` and :func:`for_target` search both (:data:`ALL_BUGS`).
"""
from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from . import activations, affine, bugs_autodiff, bugs_layers, bugs_training, data, losses, mlp, train
from .bugs_autodiff import (check_autodiff_broadcast, check_autodiff_fan_out, check_autodiff_order,  # noqa: F401
                            check_autodiff_repeated_backward)
from .bugs_layers import (check_batchnorm_backward, check_bce_extreme_logits, check_dropout_backward,  # noqa: F401
                          check_dropout_expectation)
from .bugs_training import (check_adam_steps, check_momentum_steps, check_weight_decay_gradient,  # noqa: F401
                            check_weight_decay_spares_biases)
from .check_result import CheckResult
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
    """Leaky ReLU backward written as ReLU's gate on the activation, dA * 1[A > 0].

    The mask equals 1[Z > 0] (leaky ReLU keeps the sign), so the fault is the 0/1
    gate: the slope alpha of the negative side is lost. dA, Z: (N, d) -> dZ: (N, d).
    """
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

    @property
    def in_two_layer_network(self) -> bool:
        """True for the section-5 bugs, whose bare target is a piece of the two-layer network."""
        return "." not in self.target

    @property
    def reference(self) -> Callable:
        """The correct function (or class) that ``variant`` replaces."""
        if self.in_two_layer_network:
            homes = {"forward": mlp, "softmax": losses, "softmax_cross_entropy_backward": losses,
                     "affine_backward": affine, "relu_backward": activations, "leaky_relu_backward": activations}
            return getattr(homes[self.target], self.target)
        module, name = self.target.rsplit(".", 1)
        return getattr(importlib.import_module(f"course_lib.{module}"), name)

    def _require_network(self) -> None:
        if not self.in_two_layer_network:
            raise ValueError(f"{self.name} breaks {self.target}, not the two-layer network: use bug.variant in "
                             f"place of bug.reference, and bugs.{self.caught_by} to catch it")

    def ops(self, activation: str | None = None) -> mlp.Ops:
        """The network's building blocks with this bug's variant swapped in."""
        self._require_network()
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
        self._require_network()
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
        Bug("relu_mask_from_activation", "Leaky ReLU with a 0/1 gate",
            "Leaky ReLU's backward is written as ReLU's 0/1 gate, dA * 1[A > 0]. The mask itself is right (leaky "
            "ReLU keeps the sign, so A > 0 exactly where Z > 0); the slope is lost: where Z < 0 the gradient "
            "must be alpha * dA, and a 0/1 gate passes 0.",
            "5.5", "leaky_relu_backward", leaky_relu_backward_mask_from_activation, "grad_check", "leaky_relu"),
        Bug("relu_mask_from_gradient", "ReLU mask from the gradient",
            "The ReLU gate is taken from the sign of the upstream gradient instead of the pre-activation Z.",
            "5.5", "relu_backward", relu_backward_mask_from_gradient, "grad_check"),
        Bug("in_place_cache_mutation", "In-place mutation of the cache",
            "The loss gradient is computed in the cached Yhat's own buffer, corrupting the cache for any later reader.",
            "5.6", "softmax_cross_entropy_backward", softmax_cross_entropy_backward_in_place, "check_cache_unchanged"),
    ]
}


EXTENDED_CATALOGUE: dict[str, Bug] = {
    b.name: b
    for b in [
        Bug("bce_saturated_probabilities", "BCE on saturated probabilities",
            "The binary cross entropy is computed from P = sigmoid(Z) and log P, log(1 - P): P rounds to exactly "
            "1 once Z passes about 37 (to 0 below about -745), and log 0 makes the loss inf or NaN.",
            "9.2", "binary_cross_entropy.sigmoid_binary_cross_entropy",
            bugs_layers.sigmoid_binary_cross_entropy_from_probabilities, "check_bce_extreme_logits"),
        Bug("batchnorm_no_variance_path", "Batch-norm backward without the variance path",
            "The backward pass differentiates through the batch mean but treats the batch variance as a "
            "constant, so dx misses the term -x_hat * mean(dx_hat * x_hat).",
            "9.3", "batchnorm.batchnorm_backward", bugs_layers.batchnorm_backward_without_variance_path,
            "check_batchnorm_backward"),
        Bug("dropout_mask_redrawn", "Dropout mask redrawn in backward",
            "The backward pass draws a new mask instead of reusing the forward's from the cache, so gradient "
            "flows through units that were dropped.",
            "9.4", "dropout.dropout_backward", bugs_layers.dropout_backward_redrawn_mask, "check_dropout_backward"),
        Bug("dropout_not_rescaled", "Dropout not rescaled",
            "Training-time dropout zeroes units but does not divide the survivors by 1 - p, so activations are "
            "smaller in training than at evaluation; forward and backward agree, so a gradient check passes.",
            "9.4", "dropout.dropout_forward", bugs_layers.dropout_forward_not_rescaled, "check_dropout_expectation"),
        Bug("weight_decay_on_biases", "Weight decay on the biases",
            "The L2 penalty's gradient is added to every parameter, biases included, instead of to the weights only.",
            "11.2", "weight_decay.l2_penalty_gradient", bugs_training.l2_penalty_gradient_with_biases,
            "check_weight_decay_spares_biases"),
        Bug("l2_gradient_doubled", "L2 gradient with an extra factor 2",
            "The penalty is (lam/2)||W||^2 but its gradient is written 2 lam W instead of lam W, doubling the decay.",
            "11.2", "weight_decay.l2_penalty_gradient", bugs_training.l2_penalty_gradient_doubled,
            "check_weight_decay_gradient"),
        Bug("momentum_previous_gradient", "Momentum with the previous gradient",
            "The velocity is updated with the previous step's gradient instead of this step's, so every update "
            "lags one gradient behind (and the first does not move).",
            "11.3", "optim.Momentum", bugs_training.MomentumPreviousGradient, "check_momentum_steps"),
        Bug("adam_no_bias_correction", "Adam without bias correction",
            "Adam divides the raw averages m / sqrt(v), which start at 0, without dividing by 1 - b1^t and "
            "1 - b2^t: the early steps are several times too large.",
            "11.4", "optim.Adam", bugs_training.AdamWithoutBiasCorrection, "check_adam_steps"),
        Bug("autodiff_wrong_order", "Wrong topological order",
            "The backward pass walks the graph breadth first from the loss, so a node reached by a short path "
            "passes its gradient on before a longer path has added its share.",
            "12.2", "autodiff.backward", bugs_autodiff.backward_breadth_first, "check_autodiff_order"),
        Bug("autodiff_overwrite_at_fan_out", "Overwriting at fan-out",
            "Each share of a gradient is assigned (=) to the parent instead of added (+=), so a node used twice "
            "keeps only one share; invisible until a node is reused.",
            "12.3", "autodiff.backward", bugs_autodiff.backward_overwriting_at_fan_out, "check_autodiff_fan_out"),
        Bug("autodiff_broadcast_not_summed", "Broadcast gradient not summed back",
            "The gradient of an operand broadcast in the forward pass (a bias over the batch) is not summed over "
            "the broadcast axes, so it takes the batch's shape.",
            "12.4", "autodiff.backward", bugs_autodiff.backward_broadcast_not_summed, "check_autodiff_broadcast"),
        Bug("autodiff_grad_not_reset", "Gradients not reset between steps",
            "The parameters' gradients are not set back to zero before a backward pass, so each step adds the new "
            "gradient to all the old ones.",
            "12.6", "autodiff.backward", bugs_autodiff.backward_without_reset, "check_autodiff_repeated_backward"),
    ]
}

ALL_BUGS: dict[str, Bug] = {**CATALOGUE, **EXTENDED_CATALOGUE}


def get(name: str) -> Bug:
    """The catalogue entry called ``name`` (either registry)."""
    try:
        return ALL_BUGS[name]
    except KeyError:
        raise ValueError(f"no bug called {name!r}; the catalogue has {sorted(ALL_BUGS)}") from None


def for_target(target: str) -> list[Bug]:
    """Every catalogued bug that breaks the reference function ``target`` (either registry)."""
    return [b for b in ALL_BUGS.values() if b.target == target]


def in_section(prefix: str) -> list[Bug]:
    """The catalogued bugs of a section or notebook: ``in_section("9.")`` gives notebook 09's."""
    return [b for b in ALL_BUGS.values() if b.section.startswith(prefix)]


def syllabus_overfit(name: str | None = None, activation: str = "relu", lr: float = 0.5, steps: int = 200) -> np.ndarray:
    """The losses of the syllabus's overfit run (init_params(5, 4, 3, seed=0), the tiny batch, full-batch
    SGD), with the bug ``name`` injected (None: the correct network), under ``activation``.
    Returns (steps,) losses, fewer if the loss became non-finite (the run stops there)."""
    X, Y = data.tiny_batch()
    if name is None:
        ops = mlp.reference_ops(activation)
        forward, backward = partial(mlp.forward, ops=ops), partial(mlp.backward, ops=ops)
    else:
        forward, backward = get(name).network(activation)
    history = train.train(mlp.init_params(5, 4, 3, seed=0), X, Y, lr=lr, steps=steps, forward=forward,
                          backward=backward)
    return np.asarray(history.loss)


def curve_gap(a, b) -> float:
    """The largest |a - b| over two loss curves (inf when their lengths differ)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")


# ------------------------------------- checks for what a gradient check cannot see
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
