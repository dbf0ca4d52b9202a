"""Catalogued bugs of notebook 12's reverse-mode autodiff: working buggy versions of
:func:`course_lib.autodiff.backward`, and the checks that catch them.

Each check takes one argument, a candidate for ``backward(root)``, runs it on a small graph
built with :mod:`course_lib.autodiff`'s Tensors, and compares the leaves' gradients with
central differences of the same graph's forward values (no backward involved), returning a
:class:`course_lib.check_result.CheckResult`.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

import numpy as np

from .autodiff import Tensor, topological_order, unbroadcast, zero_grad
from .check_result import CheckResult
from .gradcheck import numerical_gradient, rel_error

TOL = 1e-7


# ---------------------------------------------------------------- the variants
def backward_overwriting_at_fan_out(root):
    """backward that assigns each share (parent.grad = share) instead of adding it: a node used
    twice keeps only the share visited last. Right on any graph where no node is reused."""
    order = topological_order(root)
    zero_grad(order)
    root.grad = np.ones_like(root.data)
    for node in reversed(order):
        for parent, vjp in zip(node.parents, node.vjps):
            parent.grad = unbroadcast(vjp(node.grad), parent.shape)


def backward_broadcast_not_summed(root):
    """backward that adds each share as it comes (parent.grad = parent.grad + share), never summing
    a broadcast operand's share back to its shape: a bias's gradient silently takes the batch's shape."""
    order = topological_order(root)
    zero_grad(order)
    root.grad = np.ones_like(root.data)
    for node in reversed(order):
        for parent, vjp in zip(node.parents, node.vjps):
            parent.grad = parent.grad + vjp(node.grad)


def backward_breadth_first(root):
    """backward that walks the graph breadth first from the loss, passing each node's gradient on
    as soon as the node is reached: a node reached by a short path (a skip connection) passes
    on its gradient before the longer path has added its share. Right on a chain."""
    order = topological_order(root)
    zero_grad(order)
    root.grad = np.ones_like(root.data)
    queue, seen = deque([root]), {id(root)}
    while queue:
        node = queue.popleft()
        for parent, vjp in zip(node.parents, node.vjps):
            parent.grad += unbroadcast(vjp(node.grad), parent.shape)
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)


def backward_without_reset(root):
    """backward that starts only new nodes at zero (grad is None): parameters, which live from one
    step to the next, keep adding every step's gradient to the last ones."""
    order = topological_order(root)
    for node in order:
        if node.grad is None:
            node.grad = np.zeros_like(node.data)
    root.grad = np.ones_like(root.data)
    for node in reversed(order):
        for parent, vjp in zip(node.parents, node.vjps):
            parent.grad += unbroadcast(vjp(node.grad), parent.shape)


# ------------------------------------------------------------------ the checks
def _leaf_report(build: Callable, arrays: dict, backward_fn: Callable) -> tuple[dict, list, list]:
    """Run backward_fn on build(leaves) and compare each leaf's gradient with central differences.
    Returns (gradients, names with the wrong shape, names with wrong values)."""
    leaves = {n: Tensor(a, requires_grad=True) for n, a in arrays.items()}
    backward_fn(build(leaves))
    grads = {n: t.grad for n, t in leaves.items()}
    value = lambda: float(build({n: Tensor(a) for n, a in arrays.items()}).data)  # noqa: E731
    bad_shape = [n for n, g in grads.items() if np.shape(g) != arrays[n].shape]
    bad_value = [n for n, g in grads.items()
                 if n not in bad_shape and rel_error(g, numerical_gradient(value, arrays[n])) > TOL]
    return grads, bad_shape, bad_value


def _arrays(seed: int, **shapes) -> dict:
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(s) for n, s in shapes.items()}


_X = np.random.default_rng(101).standard_normal((5, 3))


def check_autodiff_fan_out(backward_fn: Callable, seed: int = 0) -> CheckResult:
    """A weight used twice, W in tanh(tanh(X W) W), must get the sum of both uses' gradients
    (notebook 12, section 12.3)."""
    def build(P):
        return ((_X @ P["W"]).tanh() @ P["W"]).tanh().sum()

    _, bad_shape, bad_value = _leaf_report(build, _arrays(seed, W=(3, 3)), backward_fn)
    if bad_shape or bad_value:
        return CheckResult("check_autodiff_fan_out", False,
                           "W is used twice, and its gradient disagrees with central differences: each use "
                           "contributes a share, and the shares must be added (+=), not assigned (section 12.3)")
    return CheckResult("check_autodiff_fan_out", True, "a node used twice receives both shares")


def check_autodiff_broadcast(backward_fn: Callable, seed: int = 0) -> CheckResult:
    """A bias b: (3,) broadcast over 5 rows, and a scale s: (1, 3), must get gradients of their own
    shapes, summed over the broadcast axes (notebook 12, section 12.4)."""
    def build(P):
        return ((_X @ P["W"] + P["b"]) * P["s"]).tanh().sum()

    grads, bad_shape, bad_value = _leaf_report(build, _arrays(seed, W=(3, 3), b=(3,), s=(1, 3)), backward_fn)
    if bad_shape:
        shapes = ", ".join(f"{n}: {np.shape(grads[n])}" for n in bad_shape)
        return CheckResult("check_autodiff_broadcast", False,
                           f"gradients of the wrong shape ({shapes}; b is (3,), s is (1, 3)): an operand that was "
                           "broadcast in the forward pass must have its gradient summed back over the broadcast "
                           "axes (section 12.4)")
    if bad_value:
        return CheckResult("check_autodiff_broadcast", False,
                           f"the gradients of {bad_value} disagree with central differences (section 12.4)")
    return CheckResult("check_autodiff_broadcast", True, "broadcast operands get gradients of their own shapes")


def check_autodiff_order(backward_fn: Callable, seed: int = 0) -> CheckResult:
    """A residual block, H + tanh(H V) with H = tanh(X W): H is reached by a short and a long path,
    and W's gradient is right only if H passes its gradient on after both arrive (section 12.2)."""
    def build(P):
        H = (_X @ P["W"]).tanh()
        return (H + (H @ P["V"]).tanh()).tanh().sum()

    _, bad_shape, bad_value = _leaf_report(build, _arrays(seed, W=(3, 3), V=(3, 3)), backward_fn)
    if bad_shape or bad_value:
        return CheckResult("check_autodiff_order", False,
                           f"with a skip connection the gradients of {bad_shape + bad_value} disagree with central "
                           "differences: a node may pass its gradient on only after every node that uses it "
                           "has added its share, which a reverse topological order guarantees (section 12.2)")
    return CheckResult("check_autodiff_order", True, "every node is visited after all of its users")


def check_autodiff_repeated_backward(backward_fn: Callable, seed: int = 0) -> CheckResult:
    """Two training steps' backward passes (a new graph on the same parameters each time, nothing
    changed in between) must give the same gradients, not their sum (section 12.6)."""
    arrays = _arrays(seed, W=(3, 2))
    W = Tensor(arrays["W"], requires_grad=True)
    first = []
    for _ in range(2):
        backward_fn((_X @ W).tanh().sum())
        first.append(np.array(W.grad))
    if not np.allclose(first[0], first[1], rtol=1e-12, atol=1e-15):
        ratio = float(np.sum(first[1] * first[0]) / max(np.sum(first[0] * first[0]), 1e-300))
        return CheckResult("check_autodiff_repeated_backward", False,
                           f"the second backward pass gave {ratio:.3g} times the first one's gradient: gradients "
                           "must start at zero on every pass, or each step adds the old ones again (section 12.6)")
    return CheckResult("check_autodiff_repeated_backward", True, "each backward pass starts from zero gradients")
