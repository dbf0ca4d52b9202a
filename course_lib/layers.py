"""Layer objects for networks of any depth (syllabus section 7).

Each layer has ``forward(x) -> (out, cache)`` and
``backward(dout, cache) -> (dx, grads)`` where ``grads`` maps the layer's
parameter names to gradients of the same shapes. A layer keeps its parameters
in ``self.params`` and nothing else: the cache goes back to the caller, so two
forward passes never disturb each other's backward pass.
"""
from __future__ import annotations

import numpy as np

from . import activations
from .affine import affine_backward, affine_forward
from .losses import softmax, softmax_cross_entropy, softmax_cross_entropy_backward


class Layer:
    """Base class: a layer without parameters."""

    params: dict

    def __init__(self):
        self.params = {}

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, object]:
        """x: (N, d_in) -> (out: (N, d_out), cache for backward)."""
        raise NotImplementedError

    def backward(self, dout: np.ndarray, cache) -> tuple[np.ndarray, dict]:
        """dout: (N, d_out), the cache of forward -> (dx: (N, d_in), grads: param name -> gradient)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {v.shape}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


class Linear(Layer):
    """Affine layer y = x W + b. x: (N, d_in) -> y: (N, d_out).

    Build from arrays ``Linear(W, b)`` with W: (d_in, d_out), b: (d_out,),
    or with :meth:`Linear.init` from sizes.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray):
        super().__init__()
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"Linear needs W: (d_in, d_out) and b: (d_out,), got {W.shape} and {b.shape}")
        self.params = {"W": W, "b": b}

    @classmethod
    def init(cls, d_in: int, d_out: int, rng: np.random.Generator, gain: float = 2.0, dtype=np.float64) -> "Linear":
        """W ~ N(0, gain / d_in) (He for gain 2, LeCun for gain 1), b = 0.

        W: (d_in, d_out), b: (d_out,). Other schemes (Glorot, zeros...) are in
        :mod:`course_lib.init`, whose ``stack`` builds whole networks with them.
        """
        W = rng.standard_normal((d_in, d_out)) * np.sqrt(gain / d_in)
        return cls(W.astype(dtype), np.zeros(d_out, dtype=dtype))

    def forward(self, x):
        """x: (N, d_in) -> (out: (N, d_out), cache = (x, W))."""
        return affine_forward(x, self.params["W"], self.params["b"])

    def backward(self, dout, cache, need_dX: bool = True):
        """dout: (N, d_out) -> (dx: (N, d_in), or None without need_dX; {"W": (d_in, d_out), "b": (d_out,)})."""
        dx, dW, db = affine_backward(dout, cache, need_dX)
        return dx, {"W": dW, "b": db}


class _Elementwise(Layer):
    """An activation layer: the cache is its input, the pre-activation."""

    _forward = staticmethod(activations.relu)
    _backward = staticmethod(activations.relu_backward)

    def forward(self, x):
        return self._forward(x), x

    def backward(self, dout, cache):
        return self._backward(dout, cache), {}


class ReLU(_Elementwise):
    """max(0, x), elementwise. x: any shape -> same shape."""


class Tanh(_Elementwise):
    """tanh(x), elementwise. x: any shape -> same shape."""

    _forward = staticmethod(activations.tanh)
    _backward = staticmethod(activations.tanh_backward)


class Sigmoid(_Elementwise):
    """1 / (1 + exp(-x)), elementwise. x: any shape -> same shape."""

    _forward = staticmethod(activations.sigmoid)
    _backward = staticmethod(activations.sigmoid_backward)


class LeakyReLU(Layer):
    """x where x > 0, else alpha * x. x: any shape -> same shape."""

    def __init__(self, alpha: float = activations.LEAKY_SLOPE):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        """x: any shape -> (out: same shape, cache = x, the pre-activation)."""
        return activations.leaky_relu(x, self.alpha), x

    def backward(self, dout, cache):
        """dout: x's shape -> (dx: x's shape, {})."""
        return activations.leaky_relu_backward(dout, cache, self.alpha), {}


class SoftmaxCrossEntropy:
    """Softmax followed by the mean cross entropy, fused.

    ``forward(Z, Y) -> (loss, cache)`` with Z: (N, C) logits and Y: (N, C)
    one-hot or (N,) labels; ``backward(cache) -> dZ: (N, C)``.
    """

    def forward(self, Z: np.ndarray, Y: np.ndarray) -> tuple[float, tuple]:
        """Z: (N, C) logits, Y: (N, C) or (N,) -> (mean cross entropy, cache = (Yhat: (N, C), Y))."""
        return softmax_cross_entropy(Z, Y), (softmax(Z), Y)

    def backward(self, cache) -> np.ndarray:
        """The cache of forward -> dZ: (N, C) = (Yhat - Y) / N."""
        Yhat, Y = cache
        return softmax_cross_entropy_backward(Yhat, Y)


class Sequential:
    """Layers applied in order; the backward pass walks them in reverse.

    ``forward(X) -> (out, caches)`` where caches holds one cache per layer;
    ``backward(dout, caches) -> (dX, grads)`` where grads holds one dict per layer.
    """

    def __init__(self, layers: list):
        self.layers = list(layers)

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list]:
        """X: (N, d0) -> (out: (N, d_last), one cache per layer)."""
        caches = []
        out = X
        for layer in self.layers:
            out, cache = layer.forward(out)
            caches.append(cache)
        return out, caches

    def backward(self, dout: np.ndarray, caches: list, need_dX: bool = True) -> tuple[np.ndarray | None, list]:
        """With ``need_dX=False`` (training, where X is data) the first layer skips its input
        gradient, a matrix product as large as the forward's, and dX is None."""
        if len(caches) != len(self.layers):
            raise ValueError(f"got {len(caches)} caches for {len(self.layers)} layers")
        grads = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            if i == 0 and not need_dX and isinstance(layer, Linear):
                dout, grads[i] = layer.backward(dout, caches[i], need_dX=False)
            else:
                dout, grads[i] = layer.backward(dout, caches[i])
        return dout, grads

    def named_params(self) -> dict:
        """Every parameter array by a unique name like "0.W" (layer index, then name)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    @staticmethod
    def named_grads(grads: list) -> dict:
        """The per-layer grads of :meth:`backward`, keyed like :meth:`named_params`."""
        return {f"{i}.{k}": v for i, g in enumerate(grads) for k, v in g.items()}

    def __repr__(self) -> str:
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential([\n  {inner}\n])"


def mlp_stack(sizes: list[int], activation: type = ReLU, seed: int = 0, dtype=np.float64) -> Sequential:
    """Linear / activation / ... / Linear for the layer widths ``sizes`` = [d0, d1, ..., C].

    Hidden layers use He initialisation (variance 2/d_in), the last one LeCun's
    (variance 1/d_in, which the syllabus calls "Xavier-like"), drawn in order
    from ``default_rng(seed)``; for sizes [d0, d1, C] this equals
    :func:`course_lib.mlp.init_params` with the same seed. Other schemes:
    :func:`course_lib.init.stack`.
    """
    rng = np.random.default_rng(seed)
    layers: list = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Linear.init(d_in, d_out, rng, gain=1.0 if last else 2.0, dtype=dtype))
        if not last:
            layers.append(activation())
    return Sequential(layers)


# The activation layers by the names of course_lib.activations.ACTIVATIONS.
ACTIVATION_LAYERS: dict[str, type] = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def set_training(net: Sequential, training: bool) -> Sequential:
    """Switch every layer of ``net`` that has a train/eval mode (``training``: dropout,
    batch norm) to training (True) or evaluation (False); returns ``net``."""
    for layer in net.layers:
        if hasattr(layer, "training"):
            layer.training = bool(training)
    return net
