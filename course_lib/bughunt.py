"""The evidence of notebook 05, the bug hunt (syllabus section 5).

The notebook hands out six broken networks ("suspects" A to F). Students gradient-check them
with :func:`gradient_check_suspect`, run their own detectors over all of them with
:func:`evidence_table`, and read the catalogue with :func:`catalogue_listing`. Every network
has the interface of :mod:`course_lib.mlp`: ``forward(params, X) -> (Yhat, cache)`` and
``backward(params, cache, Y) -> grads``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import bugs, data, gradcheck, mlp
from .losses import cross_entropy

SUSPECTS = ("A", "B", "C", "D", "E", "F")
# Weights this many times larger push the tiny batch's logits far beyond exp's range (section 5.4).
LARGE_LOGIT_SCALE = 400.0


def tiny_setting(seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """The syllabus's setting: params of init_params(5, 4, 3, seed), the tiny batch X: (8, 5), Y: (8, 3)."""
    X, Y = data.tiny_batch()
    return mlp.init_params(5, 4, 3, seed=seed), X, Y


@dataclass
class SuspectGradients:
    """A gradient check of one network, with the ratio ||analytic|| / ||numeric|| per group."""

    report: gradcheck.GradCheckReport
    ratios: dict

    @property
    def passed(self) -> bool:
        return self.report.passed

    def __str__(self) -> str:
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in self.ratios.items())
        return f"{self.report}\n  size ratio ||analytic|| / ||numeric||: {ratios}"

    __repr__ = __str__


def gradient_check_suspect(forward: Callable, backward: Callable, seed: int = 0) -> SuspectGradients:
    """Gradient-check a network on the syllabus's tiny batch (section 4).

    The loss is the mean cross entropy of ``forward``'s own output; the analytic
    gradients come from one ``backward`` right after one ``forward``.
    """
    params, X, Y = tiny_setting(seed)
    with np.errstate(all="ignore"):
        _, cache = forward(params, X)
        grads = backward(params, cache, Y)
        report = gradcheck.grad_check(lambda: cross_entropy(forward(params, X)[0], Y), params, grads,
                                      names=list(mlp.PARAM_NAMES))
        numeric = {k: gradcheck.numerical_gradient(lambda: cross_entropy(forward(params, X)[0], Y), params[k])
                   for k in mlp.PARAM_NAMES}
    ratios = {k: float(np.linalg.norm(grads[k]) / max(np.linalg.norm(numeric[k]), 1e-300)) for k in mlp.PARAM_NAMES}
    return SuspectGradients(report, ratios)


def large_logits_finite(forward: Callable, scale: float = LARGE_LOGIT_SCALE) -> bool:
    """True when ``forward`` still returns finite probabilities once the weights are ``scale`` times larger."""
    _, X, _ = tiny_setting()
    big = mlp.init_params(5, 4, 3, seed=0, scale=scale)
    with np.errstate(all="ignore"):
        Yhat, _ = forward(big, X)
    return bool(np.all(np.isfinite(Yhat)))


def plot_gradient_checks(suspects: dict, ax=None):
    """Bar chart (log scale) of each network's worst relative error, with the syllabus's bands.

    suspects: label -> (forward, backward).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    labels = list(suspects)
    errors = [max(gradient_check_suspect(*suspects[k]).report.max_error, 1e-16) for k in labels]
    colours = ["#d62728" if e > gradcheck.BUG else "#1f77b4" for e in errors]
    ax.bar(labels, errors, color=colours, hatch="/", edgecolor="k", linewidth=0.5)
    ax.set_yscale("log")
    for level, text, style in [(gradcheck.EXCELLENT, "excellent below 1e-7", ":"),
                               (gradcheck.ACCEPTABLE, "acceptable below 1e-5", "--"),
                               (gradcheck.BUG, "a bug above 1e-3", "-")]:
        ax.axhline(level, color="k", linestyle=style, linewidth=1)
        ax.text(-0.45, level * 1.6, text, ha="left", fontsize="small",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.set_ylim(1e-13, 10)
    ax.set_xlabel("network")
    ax.set_ylabel("worst relative error over W1, b1, W2, b2")
    ax.set_title("Gradient check of every suspect (tiny batch)")
    return ax


def _run_detector(detector, *args) -> str:
    if detector is None:
        return "-"
    try:
        with np.errstate(all="ignore"):
            return "yes" if bool(detector(*copy.deepcopy(args))) else "NO"
    except NotImplementedError:
        return "not written"
    except Exception as e:  # a detector that crashes is evidence too
        return f"error: {type(e).__name__}"


def evidence_table(suspects: dict, cache_unchanged: Callable | None = None,
                   interleaved_forward_ok: Callable | None = None) -> str:
    """One row per network: the gradient check, your two detectors, and finite probabilities at large logits.

    suspects: label -> (forward, backward). Returns the table as text (print it).
    """
    params, X, Y = tiny_setting()
    X_b = np.random.default_rng(7).standard_normal(X.shape)
    head = ["network", "gradient check", "cache unchanged", "interleaved forward ok", "finite at large logits"]
    rows = []
    for label, (forward, backward) in suspects.items():
        grads = gradient_check_suspect(forward, backward)
        rows.append([str(label),
                     f"{'passed' if grads.passed else 'FAILED'} ({grads.report.max_error:.1e})",
                     _run_detector(cache_unchanged, forward, backward, params, X, Y),
                     _run_detector(interleaved_forward_ok, forward, backward, params, X, Y, X_b),
                     "yes" if large_logits_finite(forward) else "NO"])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def catalogue_listing() -> str:
    """The bug catalogue as text: name, section and what goes wrong."""
    return "\n".join(f"{b.name:<26} section {b.section}, caught by {b.caught_by}\n    {b.description}"
                     for b in bugs.CATALOGUE.values())
