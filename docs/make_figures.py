"""Draw the README's pictures of the course's plots: python docs/make_figures.py

Each figure is the one a notebook shows, made with the same course_lib calls.
"""
from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from course_lib import bugs, data, gradcheck, losses, mlp, plots, train  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"


def save(fig, name):
    fig.tight_layout()
    fig.savefig(OUT / name, dpi=90)
    plt.close(fig)
    print(OUT / name)


def loss_curves():
    X, Y = data.tiny_batch()
    curves = {"correct backward": train.train(mlp.init_params(5, 4, 3), X, Y, lr=0.5, steps=200).loss}
    for name in ("missing_batch_average", "wrong_transpose"):
        fwd, bwd = bugs.get(name).network()
        curves[f"with {name}"] = train.train(mlp.init_params(5, 4, 3), X, Y, lr=0.5, steps=200, forward=fwd, backward=bwd).loss
    fig, ax = plt.subplots(figsize=(6, 4))
    plots.plot_loss_curves(curves, ax=ax, title="Overfitting the syllabus's tiny batch (lr 0.5)")
    save(fig, "loss_curves.png")


def decision_boundary():
    X, y = data.spirals()
    params = mlp.init_params(2, 64, 3, seed=0)
    train.train(params, X, y, lr=1.0, steps=3000)
    fig, ax = plt.subplots(figsize=(5, 5))
    plots.plot_decision_boundary(lambda P: mlp.predict(params, P), X, y, ax=ax,
                                 title="Decision regions of a 2-64-3 network on spirals")
    save(fig, "decision_boundary.png")


def eps_sweep():
    eps = np.logspace(-1, -12, 23)
    errors = {}
    for dtype in (np.float64, np.float32):
        X, Y = data.tiny_batch()
        X, Y = X.astype(dtype), Y.astype(dtype)
        params = mlp.init_params(5, 4, 3, dtype=dtype, seed=0)
        params["b1"] += dtype(0.1)  # keep pre-activations away from the ReLU kink
        _, cache = mlp.forward(params, X)
        exact = mlp.backward({k: v.astype(np.float64) for k, v in params.items()},
                             mlp.forward({k: v.astype(np.float64) for k, v in params.items()}, X.astype(np.float64))[1],
                             Y.astype(np.float64))["W2"]
        errors[np.dtype(dtype).name] = gradcheck.eps_sweep(lambda: losses.cross_entropy(mlp.forward(params, X)[0], Y),
                                                           params["W2"], exact, eps)
    fig, ax = plt.subplots(figsize=(6, 4))
    plots.plot_eps_sweep(eps, errors, ax=ax, title="Truncation against round-off: the error of dL/dW2 against eps")
    save(fig, "eps_sweep.png")


def gradient_magnitudes():
    X, Y = data.tiny_batch()
    params = mlp.init_params(5, 4, 3)
    _, cache = mlp.forward(params, X)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    plots.plot_gradient_magnitudes(mlp.backward(params, cache, Y), ax=ax,
                                   title="Gradient norm per parameter group, at initialisation")
    save(fig, "gradient_magnitudes.png")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    loss_curves()
    decision_boundary()
    eps_sweep()
    gradient_magnitudes()
