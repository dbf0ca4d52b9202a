"""Deterministic data sets: the syllabus's tiny batch, 2-D toy problems, and the 8x8 digits.

Every function takes a seed and returns the same arrays for the same seed.
Labels are integer class indices (N,); use :func:`course_lib.losses.one_hot`
for one-hot (N, C).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .losses import one_hot

_DIGITS = Path(__file__).with_name("datasets") / "digits.npz"


def tiny_batch(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The syllabus's overfit batch: X: (8, 5) standard normal, Y: (8, 3) one-hot.

    Drawn from ``default_rng(seed)`` as the syllabus draws it (X, then labels).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((8, 5))
    labels = rng.integers(0, 3, size=8)
    return X, one_hot(labels, 3)


def spirals(n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved 2-D spiral arms, one per class: X: (n*classes, 2), labels: (n*classes,)."""
    rng = np.random.default_rng(seed)
    X = np.empty((n_per_class * classes, 2))
    labels = np.repeat(np.arange(classes), n_per_class)
    radius = np.linspace(0.0, 1.0, n_per_class)
    for c in range(classes):
        theta = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + rng.standard_normal(n_per_class) * noise
        rows = slice(c * n_per_class, (c + 1) * n_per_class)
        X[rows] = np.c_[radius * np.sin(theta), radius * np.cos(theta)]
    return X, labels


def blobs(n_per_class: int = 100, classes: int = 3, spread: float = 0.6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs around points on the unit circle: X: (n*classes, 2), labels: (n*classes,)."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(classes) / classes
    centres = 2.0 * np.c_[np.cos(angles), np.sin(angles)]
    labels = np.repeat(np.arange(classes), n_per_class)
    X = centres[labels] + spread * rng.standard_normal((labels.size, 2))
    return X, labels


@dataclass(frozen=True)
class Split:
    """A train/test split. X_*: (N, d) floats; y_*: (N,) integer labels."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int


def digits(test_fraction: float = 0.25, seed: int = 0) -> Split:
    """The 8x8 handwritten digits (1,797 images, 10 classes), shipped with the package.

    Pixels are scaled from 0..16 to [0, 1]; X: (N, 64). The split is a
    shuffle by ``default_rng(seed)``, stratified so that each digit keeps its
    share in both halves.
    """
    if not _DIGITS.exists():
        raise FileNotFoundError(f"the digits data set is missing at {_DIGITS}; reinstall the course package")
    with np.load(_DIGITS) as f:
        X = f["images"].reshape(-1, 64).astype(np.float64) / 16.0
        y = f["labels"].astype(np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(y.size, dtype=bool)
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: int(round(test_fraction * idx.size))]] = True
    train_idx = rng.permutation(np.flatnonzero(~test))
    test_idx = np.flatnonzero(test)
    return Split(X[train_idx], y[train_idx], X[test_idx], y[test_idx], 10)
