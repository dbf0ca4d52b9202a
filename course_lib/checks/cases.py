"""Test cases shared by the checkers: small two-layer networks with real forward caches.

Visible cases are ordinary. Hidden cases add, whatever the seed, the structures a hard-coded or
half-right answer gets wrong: a batch of 1, one hidden unit with two classes, non-square layers,
logits of size 1e3, ReLU pre-activations exactly at zero, designed logits (800 and 900 in one row,
rows whose maxima lie 1700 apart), and inputs that are transposed and strided views. The seed
draws the values; it never decides whether a structure is present.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import mlp
from ..activations import relu
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

    @property
    def C(self) -> int:
        return self.Y.shape[1]

    @property
    def Z2(self) -> np.ndarray:
        """The logits of the case, (N, C)."""
        return self.cache["A1"] @ self.params["W2"] + self.params["b2"]


def _finish(label: str, params: dict, X: np.ndarray, labels: np.ndarray, C: int) -> Case:
    Yhat, cache = mlp.forward(params, X)
    return Case(label, params, X, one_hot(labels, C), labels, Yhat, cache)


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
    Yhat, _ = mlp.forward(params, X)
    if logit_scale > 1 and np.array_equal(labels, Yhat.argmax(axis=1)):
        # A saturated softmax that is right everywhere has a gradient of exactly 0: no test at all.
        labels[0] = (labels[0] + 1) % C
    return _finish(label, params, X, labels, C)


# Designed logits (before the seed's jitter): a row where exp overflows for two entries, an ordinary
# row, a row far below the others (exp underflows everywhere unless the row's own max is taken off),
# and a row with one huge entry. Row maxima: 900, 3, -800 and 750.
DESIGNED_LOGITS = np.array([[800.0, 900.0, 0.0],
                            [1.0, 3.0, 2.0],
                            [-900.0, -800.0, -850.0],
                            [0.5, -0.5, 750.0]])
DESIGNED_LABELS = np.array([0, 2, 2, 1])  # wrong where the softmax is saturated: the gradient is not 0


def designed_case(label: str, rng: np.random.Generator, logits: np.ndarray = DESIGNED_LOGITS,
                  labels: np.ndarray = DESIGNED_LABELS) -> Case:
    """A network whose logits Z2 are ``logits`` (N, C) jittered by at most 0.25 an entry: the
    hidden layer has full row rank, and W2 solves A1 W2 + b2 = logits exactly (least squares)."""
    N, C = logits.shape
    d0, d1 = N + 1, N + 2
    target = logits + rng.uniform(-0.25, 0.25, size=logits.shape)
    for _ in range(100):
        params = mlp.init_params(d0, d1, C, seed=int(rng.integers(1 << 30)))
        params["b1"] = 1.0 + 0.1 * rng.standard_normal(d1)  # mostly active units
        X = rng.standard_normal((N, d0))
        A1 = relu(X @ params["W1"] + params["b1"])
        if np.linalg.matrix_rank(A1) == N:
            break
    params["b2"] = 0.1 * rng.standard_normal(C)
    params["W2"] = np.linalg.lstsq(A1, target - params["b2"], rcond=None)[0]
    return _finish(label, params, X, labels.copy(), C)


def strided(a: np.ndarray, rng: np.random.Generator, transpose: bool = False) -> np.ndarray:
    """``a``'s values as a non-contiguous view: every other column of a larger buffer (whose other
    entries are random), and optionally stored transposed."""
    rows, cols = a.shape
    if transpose:
        base = rng.standard_normal((cols, 2 * rows))
        base[:, ::2] = a.T
        return base[:, ::2].T
    base = rng.standard_normal((rows, 2 * cols))
    base[:, 1::2] = a
    return base[:, 1::2]


def strided_case(label: str, rng: np.random.Generator) -> Case:
    """An ordinary case whose X is a transposed strided view, W1 a strided view and W2 Fortran-ordered."""
    case = make_case(label, 5, 4, 6, 3, rng)
    params = dict(case.params)
    params["W1"] = strided(case.params["W1"], rng)
    params["W2"] = np.asfortranarray(case.params["W2"])
    X = strided(case.X, rng, transpose=True)
    return _finish(label, params, X, case.labels, case.C)


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
            designed_case("logits 800 and 900 in one row, and rows whose maxima differ by 1700", rng),
            strided_case("X a transposed strided view, W1 strided, W2 in Fortran order", rng),
        ]
    return cases


def logit_cases(hidden: bool = False, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """(label, Z: (N, C)) for softmax checks. Visible: two ordinary matrices and large logits whose
    rows have different maxima (1000 and -998), so that neither a shift by the global maximum nor
    one by each row's minimum or mean survives. Hidden adds a 1-row batch, two classes, rows near 1e3, the
    designed rows (800 and 900, maxima 1700 apart), equal logits, and a transposed strided view."""
    rng = np.random.default_rng(seed)
    cases = [("ordinary logits (4, 3)", rng.standard_normal((4, 3))),
             ("ordinary logits (5, 6)", 3 * rng.standard_normal((5, 6))),
             ("logits near ±1000, rows with different maxima",
              np.array([[1000.0, 999.0, 998.0], [-1000.0, -999.0, -998.0], [1000.0, -1000.0, -1000.0]]))]
    if hidden:
        cases += [
            ("a single row", rng.standard_normal((1, 4))),
            ("two classes", rng.standard_normal((3, 2))),
            ("logits near 1e3 (3, 5)", 1e3 + rng.standard_normal((3, 5))),
            ("logits 800 and 900 in one row, and rows whose maxima differ by 1700",
             DESIGNED_LOGITS + rng.uniform(-0.25, 0.25, size=DESIGNED_LOGITS.shape)),
            ("rows of equal logits, and ±1e3 side by side",
             np.array([[1e3, -1e3, 0.0], [7.0, 7.0, 7.0], [-1e3, -1e3 + 1.0, -1e3 + 2.0]])),
            ("Z a transposed strided view (5, 4)", strided(3 * rng.standard_normal((5, 4)), rng, transpose=True)),
        ]
    return cases
