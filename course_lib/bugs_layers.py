"""Catalogued bugs of notebook 09's layers (sigmoid with binary cross entropy, batch norm,
dropout): working buggy variants, and the checks that catch them.

Each check takes one argument, a candidate for the reference function the bug breaks
(same signature), and returns a :class:`course_lib.check_result.CheckResult`: it fails
the variant and passes the reference. The entries themselves are in :mod:`course_lib.bugs`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .activations import sigmoid
from .batchnorm import batchnorm_forward
from .binary_cross_entropy import sigmoid_binary_cross_entropy
from .check_result import CheckResult
from .dropout import DropoutCache, dropout_forward
from .gradcheck import numerical_gradient_array, rel_error

TOL = 1e-7


# ---------------------------------------------------------------- the variants
def sigmoid_binary_cross_entropy_from_probabilities(Z, Y):
    """The loss through P = sigmoid(Z) and log P, log(1 - P), unguarded: P rounds to exactly 1.0 for
    Z above about 37 (to 0.0 below about -745), and log 0 = -inf turns the loss into inf or NaN."""
    Z, Y = np.asarray(Z), np.asarray(Y, dtype=float)
    P = sigmoid(Z)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / Z.shape[0])


def batchnorm_backward_without_variance_path(dout, cache):
    """batchnorm_backward that differentiates through the batch mean but treats the batch
    variance as a constant: the term -x_hat * mean(dx_hat * x_hat) is missing."""
    mode, x_hat, gamma, inv_std = cache
    dx_hat = dout * gamma
    dx = dx_hat * inv_std if mode == "eval" else inv_std * (dx_hat - dx_hat.mean(axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)


def dropout_backward_redrawn_mask(dout, cache):
    """dropout_backward that draws a new mask instead of using the forward's, so the gradient
    flows through units other than the ones that were kept."""
    mask, drop_prob = cache
    if mask is None:
        return dout
    keep = 1.0 - drop_prob
    # A generator of its own, as `np.random.rand(...) < keep` in a backward pass would be.
    return dout * (np.random.default_rng().random(dout.shape) < keep) / keep


def dropout_forward_not_rescaled(x, drop_prob, mode, rng=None):
    """Dropout that zeroes entries without dividing the survivors by 1 - drop_prob. Its cache
    holds the same 0/1 mask, so forward and backward agree and a gradient check passes."""
    if mode == "eval":
        return x, DropoutCache(None, drop_prob)
    out, cache = dropout_forward(x, drop_prob, mode, rng)
    mask = (cache.mask != 0).astype(x.dtype)
    return x * mask, DropoutCache(mask, drop_prob)


# ------------------------------------------------------------------ the checks
def check_bce_extreme_logits(loss_fn: Callable, scale: float = 50.0) -> CheckResult:
    """loss_fn(Z, Y) -> float must stay finite and exact for logits of size ``scale``, confident
    both ways: right (a loss near 0) and wrong (a loss near |Z|) (notebook 09, section 9.2)."""
    Z = np.array([scale, -scale, scale, -scale, 0.5])
    Y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    expected = sigmoid_binary_cross_entropy(Z, Y)
    with np.errstate(all="ignore"):
        got = loss_fn(Z.copy(), Y.copy())
    if not np.isfinite(got) or abs(got - expected) > 1e-9 * max(1.0, abs(expected)):
        return CheckResult("check_bce_extreme_logits", False,
                           f"at logits ±{scale:g} the binary cross entropy should be {expected:.6g}, got {got!r}: "
                           "sigmoid(z) rounds to exactly 1 there, and log(1 - 1) = log 0 is -inf. Compute the loss from the "
                           "logits, max(z, 0) - z*y + log(1 + exp(-|z|)) (section 9.2)")
    return CheckResult("check_bce_extreme_logits", True, f"the loss stays finite and exact at logits ±{scale:g}")


def check_batchnorm_backward(backward_fn: Callable, seed: int = 0) -> CheckResult:
    """backward_fn(dout, cache) -> (dx, dgamma, dbeta) must match central differences of
    batchnorm_forward in training mode (notebook 09, section 9.3)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((6, 4)) * 2 + 1
    gamma, beta = rng.standard_normal(4) + 1.5, rng.standard_normal(4)
    rm, rv = np.zeros(4), np.ones(4)
    dout = rng.standard_normal((6, 4))
    _, cache, _ = batchnorm_forward(x, gamma, beta, "train", rm, rv)
    dx, dgamma, dbeta = backward_fn(dout, cache)
    out = lambda: batchnorm_forward(x, gamma, beta, "train", rm, rv)[0]  # noqa: E731
    wrong = [name for name, got, wrt in (("dx", dx, x), ("dgamma", dgamma, gamma), ("dbeta", dbeta, beta))
             if np.shape(got) != wrt.shape or rel_error(got, numerical_gradient_array(out, wrt, dout)) > TOL]
    if wrong:
        return CheckResult("check_batchnorm_backward", False,
                           f"{wrong} disagree with numerical_gradient_array in training mode. The batch mean "
                           "and the batch variance both depend on every x: dx needs a path through each "
                           "(section 9.3)")
    return CheckResult("check_batchnorm_backward", True, "dx, dgamma and dbeta match central differences")


def check_dropout_backward(backward_fn: Callable, seed: int = 0) -> CheckResult:
    """backward_fn(dout, cache) -> dx must use the forward's mask: it must match central
    differences of dropout_forward with the same seed (notebook 09, section 9.4)."""
    rng = np.random.default_rng(seed)
    x, dout = rng.standard_normal((6, 8)), rng.standard_normal((6, 8))
    _, cache = dropout_forward(x, 0.5, "train", seed)
    dx = backward_fn(dout, cache)
    numeric = numerical_gradient_array(lambda: dropout_forward(x, 0.5, "train", seed)[0], x, dout)
    if np.shape(dx) != x.shape or rel_error(dx, numeric) > TOL:
        return CheckResult("check_dropout_backward", False,
                           "dx disagrees with central differences of the same forward pass: backward must gate "
                           "dout with the mask in the cache, never draw a new one (section 9.4)")
    return CheckResult("check_dropout_backward", True, "dx uses the forward pass's own mask")


def check_dropout_expectation(forward_fn: Callable, drop_prob: float = 0.5, seed: int = 0) -> CheckResult:
    """forward_fn(x, drop_prob, mode, rng) -> (out, cache): in training E[out] = x (inverted
    dropout), and at evaluation out = x (notebook 09, section 9.4)."""
    x = np.ones((200, 500))
    out, _ = forward_fn(x, drop_prob, "train", seed)
    mean = float(np.mean(out))
    # 100,000 entries each 0 or 1/(1 - p): the mean's standard error is below 0.004.
    if abs(mean - 1.0) > 0.02:
        return CheckResult("check_dropout_expectation", False,
                           f"in training the mean of dropout(ones) should be about 1, got {mean:.3f} "
                           f"(about {1 - drop_prob:g} means the kept units are not divided by 1 - p): "
                           "scale at train time so that evaluation is the identity (section 9.4)")
    evaluated, _ = forward_fn(x, drop_prob, "eval", seed)
    if not np.array_equal(evaluated, x):
        return CheckResult("check_dropout_expectation", False, "at evaluation dropout must return x unchanged")
    return CheckResult("check_dropout_expectation", True, "E[out] = x in training, out = x at evaluation")

