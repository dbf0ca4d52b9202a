"""Weight initialisation by name (notebook 10): He, Glorot (Xavier), LeCun, zeros, a plain scaled normal.

Every initialiser has the signature ``(d_in, d_out, rng, dtype=float64) -> W: (d_in, d_out)``
and draws one ``rng.standard_normal((d_in, d_out))`` (or ``rng.uniform``) matrix,
so that networks drawn layer after layer from one generator are reproducible.
Their variances, for W = std * N(0, 1):

==============  =======================  ==============================================
name            Var(W_ij)                keeps stable, layer after layer
==============  =======================  ==============================================
he              2 / d_in                 the forward signal through ReLU (He et al. 2015)
glorot          2 / (d_in + d_out)       a compromise of forward and backward signal
                                         for tanh-like units (Glorot & Bengio 2010, "Xavier")
glorot_uniform  U(-a, a), a^2 = 6/(d_in + d_out), the same variance
lecun           1 / d_in                 the forward signal through linear or tanh-like
                                         units (LeCun et al. 1998)
==============  =======================  ==============================================

The syllabus draws W2 with variance 1 / d1 and calls it "Xavier-like"; that is
LeCun's variance. Glorot's (Xavier's) is 2 / (d_in + d_out), equal to it only
when d_in = d_out.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .layers import ACTIVATION_LAYERS, Linear, Sequential
from .rng import as_generator


def he(d_in: int, d_out: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """He (Kaiming) normal: W ~ N(0, 2 / d_in). -> W: (d_in, d_out)."""
    return (rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in)).astype(dtype, copy=False)


def lecun(d_in: int, d_out: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """LeCun normal: W ~ N(0, 1 / d_in) (the syllabus's "Xavier-like"). -> W: (d_in, d_out)."""
    return (rng.standard_normal((d_in, d_out)) * np.sqrt(1.0 / d_in)).astype(dtype, copy=False)


def glorot(d_in: int, d_out: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """Glorot (Xavier) normal: W ~ N(0, 2 / (d_in + d_out)). -> W: (d_in, d_out)."""
    return (rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / (d_in + d_out))).astype(dtype, copy=False)


def glorot_uniform(d_in: int, d_out: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """Glorot (Xavier) uniform: W ~ U(-a, a) with a = sqrt(6 / (d_in + d_out)), variance a^2 / 3
    = 2 / (d_in + d_out). -> W: (d_in, d_out)."""
    a = np.sqrt(6.0 / (d_in + d_out))
    return rng.uniform(-a, a, size=(d_in, d_out)).astype(dtype, copy=False)


def zeros(d_in: int, d_out: int, rng: np.random.Generator | None = None, dtype=np.float64) -> np.ndarray:
    """All zeros (draws nothing): every hidden unit computes the same thing and gets the same
    gradient, so they stay identical. -> W: (d_in, d_out)."""
    return np.zeros((d_in, d_out), dtype=dtype)


def scaled_normal(d_in: int, d_out: int, rng: np.random.Generator, std: float = 0.01,
                  dtype=np.float64) -> np.ndarray:
    """W ~ N(0, std^2) whatever the layer's size (a fixed scale such as 0.01 or 1). -> W: (d_in, d_out)."""
    return (rng.standard_normal((d_in, d_out)) * std).astype(dtype, copy=False)


INITIALISERS: dict[str, Callable] = {
    "he": he, "glorot": glorot, "glorot_uniform": glorot_uniform, "lecun": lecun, "zeros": zeros,
}


def variance(name: str, d_in: int, d_out: int) -> float:
    """The variance of each weight that the initialiser ``name`` aims for."""
    table = {"he": 2.0 / d_in, "glorot": 2.0 / (d_in + d_out), "glorot_uniform": 2.0 / (d_in + d_out),
             "lecun": 1.0 / d_in, "zeros": 0.0}
    get_initialiser(name)
    return table[name]


def get_initialiser(name: str) -> Callable:
    """The initialiser called ``name`` (one of :data:`INITIALISERS`)."""
    try:
        return INITIALISERS[name]
    except KeyError:
        raise ValueError(f"unknown initialiser {name!r}; choose one of {sorted(INITIALISERS)}") from None


def stack(sizes: list[int], activation: str | type = "relu", scheme: str = "he", output_scheme: str = "lecun",
          scale: float = 1.0, seed: int | np.random.Generator = 0, dtype=np.float64) -> Sequential:
    """Linear / activation / ... / Linear for the widths ``sizes`` = [d0, d1, ..., C].

    Hidden layers' weights come from ``scheme``, the last (the logits) from
    ``output_scheme``, each multiplied by ``scale``, drawn in order from
    ``default_rng(seed)``; biases are zero. activation: a name of
    :data:`course_lib.layers.ACTIVATION_LAYERS` or a layer class. The defaults (He, then LeCun, scale 1)
    give exactly :func:`course_lib.layers.mlp_stack`, and for sizes [d0, d1, C]
    :func:`course_lib.mlp.init_params`.
    """
    layer = ACTIVATION_LAYERS[activation] if isinstance(activation, str) else activation
    hidden, last = get_initialiser(scheme), get_initialiser(output_scheme)
    rng = as_generator(seed)
    layers: list = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        is_last = i == len(sizes) - 2
        W = (scale * (last if is_last else hidden)(d_in, d_out, rng)).astype(dtype)
        layers.append(Linear(W, np.zeros(d_out, dtype=dtype)))
        if not is_last:
            layers.append(layer())
    return Sequential(layers)


def stack_of(weights: list, activation: str | type = "relu", dtype=np.float64) -> Sequential:
    """Linear / activation / ... / Linear with the given weight matrices, W: (d_in, d_out) each, and zero
    biases; the last Linear gives the logits. activation: a name of
    :data:`course_lib.layers.ACTIVATION_LAYERS` or a layer class (e.g. a student's own)."""
    layer = ACTIVATION_LAYERS[activation] if isinstance(activation, str) else activation
    out: list = []
    for i, W in enumerate(weights):
        W = np.asarray(W, dtype=dtype)
        out.append(Linear(W, np.zeros(W.shape[1], dtype=dtype)))
        if i < len(weights) - 1:
            out.append(layer())
    return Sequential(out)
