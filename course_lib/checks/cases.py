"""Test cases shared by the checkers: small two-layer networks with real forward caches.

Visible cases are ordinary; hidden cases add what a hard-coded or half-right
answer gets wrong: a batch of 1, non-square layers, a single hidden unit, two
classes, logits near ±1e3, and ReLU pre-activations exactly at zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import mlp
from ..losses import one_hot


@dataclass
class Case:
    """One network and batch: params as for :func:`course_lib.mlp.init_params`,
    X: (N, d0), Y: (N, C) one-hot, labels: (N,), and the reference forward's
    Yhat: (N, C) and cache (keys X, Z1, A1, Yhat)."""

    label: str
    params: dict
    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray
    Yhat: np.ndarray
    cache: dict

    @property
    def N(self) -> int:
        return self.X.shape[0]


def make_case(label: str, N: int, d0: int, d1: int, C: int, rng: np.random.Generator,
              logit_scale: float = 1.0, zero_rows: int = 0) -> Case:
    """A random network and batch. ``logit_scale`` > 1 rescales the output layer so that
    the largest logit magnitude is exactly ``logit_scale`` (1e3 overflows exp in float64);
    the first ``zero_rows`` rows of X are zero and b1 is zero, so those rows'
    pre-activations Z1 are exactly 0."""
    params = mlp.init_params(d0, d1, C, seed=int(rng.integers(1 << 30)))
    if zero_rows == 0:
        params["b1"] = 0.1 * rng.standard_normal(d1)
        params["b2"] = 0.1 * rng.standard_normal(C)
    X = rng.standard_normal((N, d0))
    X[:zero_rows] = 0.0
    if logit_scale > 1:
        _, cache = mlp.forward(params, X)
        Z2 = cache["A1"] @ params["W2"] + params["b2"]
        factor = logit_scale / np.abs(Z2).max()
        params["W2"], params["b2"] = params["W2"] * factor, params["b2"] * factor
    labels = rng.integers(0, C, size=N)
    Yhat, cache = mlp.forward(params, X)
    if logit_scale > 1 and np.array_equal(labels, Yhat.argmax(axis=1)):
        # A saturated softmax that is right everywhere has a gradient of exactly 0: no test at all.
        labels[0] = (labels[0] + 1) % C
    Y = one_hot(labels, C)
    return Case(label, params, X, Y, labels, Yhat, cache)


def network_cases(hidden: bool = False, seed: int = 0) -> list[Case]:
    """The cases a checker runs: two ordinary ones, plus the awkward ones when ``hidden``."""
    rng = np.random.default_rng(seed)
    cases = [make_case("a batch of 4, d0=3, d1=5, C=3", 4, 3, 5, 3, rng),
             make_case("a batch of 6, d0=4, d1=4, C=4", 6, 4, 4, 4, rng)]
    if hidden:
        cases += [
            make_case("a batch of 1, d0=7, d1=2, C=4", 1, 7, 2, 4, rng),
            make_case("a batch of 5, d0=6, d1=1, C=2 (one hidden unit, two classes)", 5, 6, 1, 2, rng),
            make_case("non-square layers, d0=9, d1=3, C=5", 3, 9, 3, 5, rng),
            make_case("logits near ±1e3", 4, 5, 6, 3, rng, logit_scale=1e3),
            make_case("pre-activations exactly at zero", 4, 3, 5, 3, rng, zero_rows=2),
        ]
    return cases


def logit_cases(hidden: bool = False, seed: int = 0) -> list[np.ndarray]:
    """Logit matrices Z: (N, C) for softmax checks; hidden adds a 1-row batch, two classes,
    rows near ±1e3, a row of equal logits and a row with -1e3 beside 1e3."""
    rng = np.random.default_rng(seed)
    cases = [rng.standard_normal((4, 3)), 3 * rng.standard_normal((5, 6))]
    if hidden:
        cases += [
            rng.standard_normal((1, 4)),
            rng.standard_normal((3, 2)),
            1e3 + rng.standard_normal((3, 5)),
            np.array([[1e3, -1e3, 0.0], [7.0, 7.0, 7.0], [-1e3, -1e3 + 1.0, -1e3 + 2.0]]),
        ]
    return cases
