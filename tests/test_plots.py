"""Every course figure has a title and labelled axes, and compared curves differ in style."""
import matplotlib.pyplot as plt
import numpy as np

from course_lib import data, mlp, plots, train


def _labelled(ax):
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_loss_curves_differ_in_colour_and_line_style():
    ax = plots.plot_loss_curves({"correct": [3, 2, 1], "buggy": [3, 2.5, 2.4]})
    _labelled(ax)
    a, b = ax.get_lines()
    assert a.get_linestyle() != b.get_linestyle() and a.get_color() != b.get_color()
    plt.close("all")


def test_decision_boundary_eps_sweep_and_gradient_bars():
    X, y = data.spirals(n_per_class=30)
    params = mlp.init_params(2, 16, 3)
    train.train(params, X, y, lr=1.0, steps=50)
    _labelled(plots.plot_decision_boundary(lambda P: mlp.predict(params, P), X, y, resolution=40))
    eps = np.logspace(-1, -8, 5)
    _labelled(plots.plot_eps_sweep(eps, {"float64": eps ** 2, "float32": eps ** 2 + 1e-3}))
    _labelled(plots.plot_gradient_magnitudes({"W1": np.ones((2, 2)), "b1": np.ones(2)}))
    plt.close("all")
