"""What a network's units and layers are doing (notebook 10): dead ReLUs, identical units,
and per-layer statistics of activations and gradients, ready for histograms.

A ReLU unit is *inactive* on an example when its pre-activation is <= 0: it outputs 0 and
passes no gradient back. A unit inactive on every example of a batch is *dead* on that
batch: nothing it receives from that batch can revive it. For a ReLU, A = 0 exactly where
Z <= 0, so these helpers accept either the pre-activations Z or the activations A.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .layers import Linear, Sequential, SoftmaxCrossEntropy


def inactive(Z_or_A: np.ndarray) -> np.ndarray:
    """Z_or_A: (N, d) ReLU pre-activations or activations -> (N, d) bool, True where the unit is off."""
    return np.asarray(Z_or_A) <= 0


def dead_units(Z_or_A: np.ndarray) -> np.ndarray:
    """(N, d) -> (d,) bool: the units inactive on every one of the N examples."""
    return inactive(Z_or_A).all(axis=0)


def dead_fraction(Z_or_A: np.ndarray) -> float:
    """The share of the d units that are dead on this batch of (N, d)."""
    return float(dead_units(Z_or_A).mean())


def inactive_examples(Z_or_A: np.ndarray) -> np.ndarray:
    """(N, d) -> (N,) bool: the examples on which every unit is inactive. Such an example sends
    no gradient into the layer below and its logits cannot depend on the input: in the syllabus's
    overfit run (seed 0, its tiny batch) examples 1, 4 and 6 start so, which is why its loss
    levels off near 0.24 instead of reaching 0."""
    return inactive(Z_or_A).all(axis=1)


def distinct_units(W: np.ndarray, atol: float = 1e-12) -> int:
    """The number of different hidden units among the d_out columns of W: (d_in, d_out),
    two columns counting as one when every entry agrees within ``atol``. After a constant
    (e.g. zero) initialisation every column is the same, and gradient descent keeps them so."""
    kept: list[np.ndarray] = []
    for column in np.asarray(W).T:
        if not any(np.allclose(column, k, rtol=0, atol=atol) for k in kept):
            kept.append(column)
    return len(kept)


@dataclass(frozen=True)
class LayerStats:
    """Summary of one layer's values: ``values`` flattened (for a histogram), their mean,
    standard deviation and fraction of exact zeros. ``index`` is the layer's position in the
    Sequential and ``name`` says which quantity (e.g. "3 ReLU output", "2 Linear dW")."""

    index: int
    name: str
    values: np.ndarray
    mean: float
    std: float
    fraction_zero: float

    @classmethod
    def of(cls, index: int, name: str, values: np.ndarray) -> "LayerStats":
        v = np.asarray(values, dtype=np.float64).ravel()
        return cls(index, name, v, float(v.mean()), float(v.std()), float(np.mean(v == 0)))


@dataclass(frozen=True)
class NetworkStats:
    """One forward and backward pass seen layer by layer, first layer first.

    ``activations``: the output of each activation layer; ``activation_grads``: the gradient
    of the loss with respect to those outputs; ``weight_grads``: dW of each Linear layer;
    ``update_scale``: for each Linear, std(dW) / std(W), the size of a plain gradient step
    relative to the weights (multiply by the learning rate)."""

    activations: list
    activation_grads: list
    weight_grads: list
    update_scale: list


def network_statistics(net: Sequential, X: np.ndarray, Y: np.ndarray) -> NetworkStats:
    """Per-layer statistics of ``net`` on X: (N, d0) with labels Y: (N,) or (N, C) one-hot, the
    softmax cross entropy as the loss. Layers other than Linear count as activations."""
    caches, outputs = [], []
    h = X
    for layer in net.layers:  # Sequential.forward's loop, keeping every layer's output
        h, cache = layer.forward(h)
        caches.append(cache)
        outputs.append(h)
    head = SoftmaxCrossEntropy()
    _, head_cache = head.forward(h, Y)
    dout = head.backward(head_cache)
    acts, act_grads, w_grads, scales = [], [], [], []
    for i in reversed(range(len(net.layers))):
        layer = net.layers[i]
        label = f"{i} {type(layer).__name__}"
        if isinstance(layer, Linear):
            dout, grads = layer.backward(dout, caches[i])
            W = layer.params["W"]
            w_grads.append(LayerStats.of(i, f"{label} dW", grads["W"]))
            scales.append(float(grads["W"].std() / W.std()) if W.std() > 0 else float("inf"))
        else:
            acts.append(LayerStats.of(i, f"{label} output", outputs[i]))
            act_grads.append(LayerStats.of(i, f"{label} output gradient", dout))
            dout, _ = layer.backward(dout, caches[i])
    return NetworkStats(acts[::-1], act_grads[::-1], w_grads[::-1], scales[::-1])
