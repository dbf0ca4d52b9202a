"""The course's figures. Each function draws on ``ax`` (a new figure when None) and returns the Axes.

Every plot has a title and labelled axes; curves that are compared differ in
line style as well as colour, so they read in greyscale too.
"""
from __future__ import annotations

from typing import Callable

import matplotlib

import numpy as np

_STYLES = ["-", "--", ":", "-."]
_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def _axes(ax, figsize=(6, 4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_loss_curves(curves: dict, ax=None, title: str = "Training loss", log: bool = False,
                     xlabel: str = "Gradient descent step", ylabel: str = "Cross-entropy loss"):
    """Draw each curve of ``curves`` (label -> sequence of losses, one per step)."""
    ax = _axes(ax)
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(np.asarray(values, dtype=float), _STYLES[i % len(_STYLES)], color=_COLOURS[i % len(_COLOURS)],
                label=label, linewidth=2)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if len(curves) > 1:
        ax.legend()
    return ax


def decision_grid(X: np.ndarray, resolution: int = 120, margin: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid covering the 2-D points X: (N, 2): returns xx, yy: (r, r) and the points (r*r, 2)."""
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.c_[xx.ravel(), yy.ravel()]


def plot_decision_boundary(predict: Callable, X: np.ndarray, labels: np.ndarray, ax=None,
                           title: str = "Decision regions", resolution: int = 120):
    """Shade the class that ``predict`` (points (M, 2) -> labels (M,)) gives across the plane
    of X: (N, 2), and mark the points with their true labels (N,) by colour and marker."""
    ax = _axes(ax, figsize=(5, 5))
    xx, yy, grid = decision_grid(X, resolution)
    classes = int(max(labels.max(), 1)) + 1
    cmap = matplotlib.colors.ListedColormap(_COLOURS[:classes])
    ax.contourf(xx, yy, predict(grid).reshape(xx.shape), levels=np.arange(classes + 1) - 0.5, cmap=cmap, alpha=0.25)
    for c, marker in zip(range(classes), "os^vD*"):
        pts = X[labels == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=14, color=_COLOURS[c], marker=marker, edgecolor="k", linewidth=0.3,
                   label=f"class {c}")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_eps_sweep(eps_values, errors: dict, ax=None, title: str = "Gradient check error against eps"):
    """Relative error of the central difference against eps, one curve per label
    (e.g. "float64", "float32"): the U of truncation error (right) against round-off (left)."""
    ax = _axes(ax)
    for i, (label, errs) in enumerate(errors.items()):
        ax.loglog(eps_values, errs, _STYLES[i % len(_STYLES)], marker="os^D"[i % 4], color=_COLOURS[i % len(_COLOURS)],
                  label=label)
    ax.set_xlabel("eps (step of the central difference)")
    ax.set_ylabel("relative error against the analytic gradient")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def plot_gradient_magnitudes(grads: dict, ax=None, title: str = "Gradient magnitude per parameter group"):
    """Bar chart of the norm of each gradient in ``grads`` (name -> array)."""
    ax = _axes(ax)
    names = list(grads)
    norms = [float(np.linalg.norm(grads[n])) for n in names]
    ax.bar(names, norms, color=[_COLOURS[i % len(_COLOURS)] for i in range(len(names))], hatch="/")
    ax.set_xlabel("parameter group")
    ax.set_ylabel("gradient norm ||dL/dθ||")
    ax.set_title(title)
    return ax


def plot_layer_histograms(stats: list, ax=None, title: str = "Activations per layer", bins: int = 60,
                          xlabel: str = "value"):
    """One histogram per layer, drawn as a line so that ten layers stay readable on one Axes.

    stats: :class:`course_lib.diagnostics.LayerStats` records, first layer first (e.g.
    ``network_statistics(...).activations``); each legend entry gives the layer's std and
    fraction of exact zeros. The bins are shared, so the widths compare across layers.
    """
    ax = _axes(ax, figsize=(7, 4))
    finite = [s.values[np.isfinite(s.values)] for s in stats]
    everything = np.concatenate(finite) if finite else np.zeros(1)
    lo, hi = (float(everything.min()), float(everything.max())) if everything.size else (0.0, 1.0)
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    for i, (s, v) in enumerate(zip(stats, finite)):
        density, _ = np.histogram(v, bins=edges, density=True)
        ax.plot(centres, density, _STYLES[i % len(_STYLES)], color=_COLOURS[i % len(_COLOURS)], linewidth=1.5,
                label=f"{s.name}: std {s.std:.2g}, {s.fraction_zero:.0%} zero")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small")
    return ax


def plot_layer_statistics(curves: dict, ax=None, title: str = "Standard deviation per layer",
                          ylabel: str = "standard deviation (log scale)"):
    """The spread of each layer's values against depth, one line per label.

    curves: label -> list of :class:`course_lib.diagnostics.LayerStats` (or of plain standard
    deviations), first layer first (e.g. {"activations, He": stats.activations, "gradients, He":
    stats.activation_grads}).
    A straight line down is vanishing, up is exploding, flat is a healthy initialisation.
    """
    ax = _axes(ax)
    for i, (label, stats) in enumerate(curves.items()):
        ax.semilogy(np.arange(1, len(stats) + 1), [max(float(getattr(s, "std", s)), 1e-300) for s in stats], _STYLES[i % len(_STYLES)],
                    marker="os^D"[i % 4], color=_COLOURS[i % len(_COLOURS)], label=label)
    ax.set_xlabel("layer (1 = nearest the input)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    return ax
