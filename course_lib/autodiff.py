"""A small reverse-mode automatic differentiation over numpy arrays (notebook 12).

A :class:`Tensor` holds an array (``data``), and, once :func:`backward` has run,
the gradient of the final scalar with respect to it (``grad``, data's shape).
Every primitive operation makes a new Tensor that records its ``parents`` and,
for each, a local vector-Jacobian product: a function from the gradient of the
output to that parent's share of it. The rule sits right beside the forward it
differentiates.

:func:`backward` visits the graph in reverse topological order (each node after
every node that uses it) and adds (+=) each share into the parent's gradient:
a node used twice receives both shares. Broadcasting is undone in one place,
:func:`unbroadcast`: an operand broadcast in the forward pass has its gradient
summed back over the broadcast axes. Each call starts every gradient of the
graph at zero, so gradients never leak from one training step into the next.

Leaves are ``Tensor(array, requires_grad=True)`` for parameters, plain arrays or
``Tensor(array)`` for data; nothing is recorded for what needs no gradient. A
Tensor shares memory with the array it was made from (no copy), so changing the
array in place (a gradient check, an optimizer step) changes the Tensor.
"""
from __future__ import annotations

import numpy as np

from .losses import as_one_hot


class Tensor:
    """An array in a computation graph: ``data`` (any shape), ``grad`` (data's shape, or None
    before :func:`backward`), ``parents`` and their ``vjps``, and ``op``, the primitive's name."""

    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False):
        data = np.asarray(data)
        self.data = data if np.issubdtype(data.dtype, np.floating) else data.astype(np.float64)
        self.requires_grad = requires_grad
        self.grad = None
        self.parents: tuple = ()
        self.vjps: tuple = ()
        self.op = "leaf"

    @property
    def shape(self) -> tuple:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, op={self.op!r}, requires_grad={self.requires_grad})"

    def backward(self) -> None:
        """Gradients of this scalar with respect to every node it depends on (see :func:`backward`)."""
        backward(self)

    # --------------------------------------------- primitives, each with its VJP
    def __add__(self, other):
        other = as_tensor(other, self.data.dtype)
        return _node(self.data + other.data, "add", (self, lambda g: g), (other, lambda g: g))

    def __sub__(self, other):
        other = as_tensor(other, self.data.dtype)
        return _node(self.data - other.data, "sub", (self, lambda g: g), (other, lambda g: -g))

    def __mul__(self, other):
        other = as_tensor(other, self.data.dtype)
        return _node(self.data * other.data, "mul", (self, lambda g: g * other.data), (other, lambda g: g * self.data))

    def __truediv__(self, other):
        other = as_tensor(other, self.data.dtype)
        return _node(self.data / other.data, "div", (self, lambda g: g / other.data),
                     (other, lambda g: -g * self.data / (other.data * other.data)))

    def __neg__(self):
        return _node(-self.data, "neg", (self, lambda g: -g))

    def __matmul__(self, other):
        other = as_tensor(other, self.data.dtype)
        if self.data.ndim != 2 or other.data.ndim != 2:
            raise ValueError(f"matmul here is for matrices, (N, k) @ (k, m); got {self.shape} @ {other.shape}")
        # Z = A B: dA = dZ B^T, dB = A^T dZ (section 3.2's two products).
        return _node(self.data @ other.data, "matmul", (self, lambda g: g @ other.data.T),
                     (other, lambda g: self.data.T @ g))

    __radd__ = __add__
    __rmul__ = __mul__

    def __rsub__(self, other):
        return as_tensor(other, self.data.dtype) - self

    def __rtruediv__(self, other):
        return as_tensor(other, self.data.dtype) / self

    def __rmatmul__(self, other):
        return as_tensor(other, self.data.dtype) @ self

    def relu(self):
        mask = self.data > 0
        return _node(np.maximum(self.data, 0), "relu", (self, lambda g: g * mask))

    def tanh(self):
        t = np.tanh(self.data)
        return _node(t, "tanh", (self, lambda g: g * (1 - t * t)))

    def exp(self):
        e = np.exp(self.data)
        return _node(e, "exp", (self, lambda g: g * e))

    def log(self):
        return _node(np.log(self.data), "log", (self, lambda g: g / self.data))

    def sum(self, axis=None, keepdims: bool = False):
        shape = self.shape

        def vjp(g):  # sum in forward, broadcast in backward
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return np.broadcast_to(g, shape)

        return _node(self.data.sum(axis=axis, keepdims=keepdims), "sum", (self, vjp))

    def mean(self, axis=None, keepdims: bool = False):
        count = self.data.size if axis is None else np.prod([self.shape[a] for a in np.atleast_1d(axis)])
        return self.sum(axis, keepdims) * (1.0 / count)

    def reshape(self, *shape):
        return _node(self.data.reshape(*shape), "reshape", (self, lambda g: g.reshape(self.shape)))

    @property
    def T(self):
        return _node(self.data.T, "transpose", (self, lambda g: g.T))

    def log_softmax(self, axis: int = -1):
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        # d log_softmax: g minus softmax times the row sum of g.
        return _node(out, "log_softmax", (self, lambda g: g - np.exp(out) * g.sum(axis=axis, keepdims=True)))


def as_tensor(x, dtype=None) -> Tensor:
    """x itself if it is a Tensor, else a constant Tensor (no gradient) around it. A Python number
    takes ``dtype`` (the other operand's), so that float32 stays float32 as it would in numpy."""
    if isinstance(x, Tensor):
        return x
    if dtype is not None and isinstance(x, (int, float)):
        return Tensor(np.asarray(x, dtype=dtype))
    return Tensor(x)


def _node(data, op: str, *pairs) -> Tensor:
    """The output of primitive ``op``: pairs are (parent, vjp), vjp mapping the output's gradient
    (data's shape) to the parent's share (before unbroadcasting). Parents that need no gradient
    are dropped, so their VJPs (say the dX of a first layer) are never computed."""
    live = [(p, vjp) for p, vjp in pairs if p.requires_grad]
    out = Tensor(data, requires_grad=bool(live))
    out.op = op
    out.parents = tuple(p for p, _ in live)
    out.vjps = tuple(vjp for _, vjp in live)
    return out


# ------------------------------------------------------------------ the engine
def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum grad (of the broadcast result's shape) back to an operand's ``shape``: over the
    leading axes broadcasting added, and over the axes where the operand had length 1."""
    grad = np.asarray(grad)
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def topological_order(root: Tensor) -> list[Tensor]:
    """Every node ``root`` depends on that needs a gradient, each after all of its parents
    (a depth-first post-order, iterative so that deep graphs never hit the recursion limit)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        stack.extend((p, False) for p in node.parents if id(p) not in visited)
    return order


def zero_grad(nodes) -> None:
    """Set the gradient of every Tensor in ``nodes`` to zeros of its shape."""
    for node in nodes:
        node.grad = np.zeros_like(node.data)


def backward(root: Tensor) -> None:
    """Fill ``grad`` of every node ``root`` depends on (that needs one) with d root / d node.

    root: a Tensor of one element (the loss). Gradients start at zero on every call.
    """
    if root.data.size != 1:
        raise ValueError(f"backward starts from a scalar (the loss); this Tensor has shape {root.shape}")
    if not root.requires_grad:
        raise ValueError("nothing to differentiate: no leaf of this graph has requires_grad=True")
    order = topological_order(root)
    zero_grad(order)
    root.grad = np.ones_like(root.data)
    for node in reversed(order):  # a node's gradient is complete once every user has added its share
        for parent, vjp in zip(node.parents, node.vjps):
            parent.grad += unbroadcast(vjp(node.grad), parent.shape)


# --------------------------------------------------------------- conveniences
def cross_entropy(logits: Tensor, Y) -> Tensor:
    """Mean cross entropy of softmax(logits) from the logits: logits: (N, C); Y: (N, C) one-hot
    or (N,) labels -> a scalar Tensor. (No 1e-12 guard is needed: log_softmax is finite.)"""
    N, C = logits.shape
    return -(as_one_hot(np.asarray(Y), C, logits.data.dtype) * logits.log_softmax(axis=1)).sum() / N


def value_and_grad(loss_fn, params: dict, *args) -> tuple[float, dict]:
    """loss_fn(tensors, *args) -> scalar Tensor, where tensors maps the names of ``params``
    (name -> array) to leaf Tensors sharing their memory. Returns (the loss, {name: gradient})."""
    leaves = {name: Tensor(p, requires_grad=True) for name, p in params.items()}
    loss = loss_fn(leaves, *args)
    backward(loss)
    return float(loss.data), {name: t.grad for name, t in leaves.items()}


def mlp_loss(P: dict, X, Y) -> Tensor:
    """The syllabus's two-layer network and its loss, from primitives. P: {"W1": (d0, d1),
    "b1": (d1,), "W2": (d1, C), "b2": (C,)} as Tensors; X: (N, d0); Y: (N, C) or (N,)."""
    A1 = (as_tensor(X) @ P["W1"] + P["b1"]).relu()
    return cross_entropy(A1 @ P["W2"] + P["b2"], Y)


def residual_mlp_loss(P: dict, X, Y) -> Tensor:
    """The two-layer network with a residual block that uses its weight twice:
    H = relu(X W1 + b1);  R = H + relu(H U + c) @ U^T;  logits = R W2 + b2. U: (d1, k), c: (k,).
    Neither the skip connection nor the reuse of U is in any layer's hand-written backward."""
    H = (as_tensor(X) @ P["W1"] + P["b1"]).relu()
    R = H + (H @ P["U"] + P["c"]).relu() @ P["U"].T
    return cross_entropy(R @ P["W2"] + P["b2"], Y)
