"""Notebook 10: initialisers by their real names and variances, the syllabus's draws unchanged,
symmetry after a zero initialisation, dead ReLUs in the syllabus's own run, per-layer
statistics of a deep stack, and their plots."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_lib import data, diagnostics, experiments, init, layers, mlp, plots, train, widgets


def test_init_params_draws_exactly_what_the_syllabus_draws():
    params = mlp.init_params(5, 4, 3, seed=0)
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((5, 4)) * np.sqrt(2.0 / 5)   # He, then
    W2 = rng.standard_normal((4, 3)) * np.sqrt(1.0 / 4)   # LeCun (the syllabus's "Xavier-like")
    assert np.array_equal(params["W1"], W1) and np.array_equal(params["W2"], W2)
    stack = init.stack([5, 4, 3], seed=0).named_params()
    assert all(np.array_equal(a, b) for a, b in zip(stack.values(), params.values()))
    deep = init.stack([6, 5, 5, 2], "tanh", seed=3).named_params()
    assert all(np.array_equal(a, b) for a, b in zip(deep.values(), layers.mlp_stack([6, 5, 5, 2], layers.Tanh, 3).named_params().values()))


@pytest.mark.parametrize("name", ["he", "glorot", "glorot_uniform", "lecun"])
def test_each_initialiser_has_its_named_variance(name):
    d_in, d_out = 400, 100
    W = init.get_initialiser(name)(d_in, d_out, np.random.default_rng(0))
    assert W.shape == (d_in, d_out) and abs(W.mean()) < 0.1 * np.sqrt(init.variance(name, d_in, d_out))
    assert W.var() == pytest.approx(init.variance(name, d_in, d_out), rel=0.02)
    if name == "glorot_uniform":
        assert np.abs(W).max() <= np.sqrt(6 / (d_in + d_out))


def test_variances_by_their_formulas_and_unknown_names():
    assert init.variance("he", 10, 30) == 0.2 and init.variance("lecun", 10, 30) == 0.1
    assert init.variance("glorot", 10, 30) == 0.05 and init.variance("zeros", 10, 30) == 0.0
    assert np.array_equal(init.zeros(2, 3), np.zeros((2, 3)))
    assert init.scaled_normal(300, 300, np.random.default_rng(0), std=0.01).std() == pytest.approx(0.01, rel=0.02)
    with pytest.raises(ValueError, match="unknown initialiser"):
        init.get_initialiser("xavier_like")


def test_zero_initialisation_keeps_every_hidden_unit_identical_and_he_breaks_it():
    X, Y = data.tiny_batch()
    net = init.stack([5, 6, 3], "sigmoid", scheme="zeros", output_scheme="zeros")
    forward, backward = train.sequential_network(net)
    train.train(net.named_params(), X, Y, lr=0.5, steps=100, forward=forward, backward=backward)
    W1, W2 = net.layers[0].params["W"], net.layers[2].params["W"]
    assert np.abs(W1).max() > 1e-3                       # the units learned something...
    assert diagnostics.distinct_units(W1) == 1          # ...all the same thing
    assert diagnostics.distinct_units(W2.T) == 1        # each unit's outgoing weights too
    broken = init.stack([5, 6, 3], "sigmoid", seed=0)
    assert diagnostics.distinct_units(broken.layers[0].params["W"]) == 6


def test_the_syllabus_run_starts_with_examples_1_4_and_6_dead_and_plateaus():
    params = mlp.init_params(5, 4, 3, seed=0)
    X, Y = data.tiny_batch()
    _, cache = mlp.forward(params, X)
    assert list(np.flatnonzero(diagnostics.inactive_examples(cache["Z1"]))) == [1, 4, 6]
    assert list(np.flatnonzero(diagnostics.inactive_examples(cache["A1"]))) == [1, 4, 6]  # A or Z alike
    assert not diagnostics.dead_units(cache["Z1"]).any()  # every unit fires on some example
    history = train.train(params, X, Y, lr=0.5, steps=3000)
    assert 0.2 < history.loss[-1] < 0.26 and history.loss[-1000] - history.loss[-1] < 0.01
    # Leaky ReLU lets the inactive examples' gradient through, and the loss does not level off there.
    leaky = mlp.init_params(5, 4, 3, seed=0)
    assert train.train(leaky, X, Y, lr=0.5, steps=3000, ops=mlp.reference_ops("leaky_relu")).loss[-1] < 0.1


def test_dead_units_and_fractions():
    Z = np.array([[-1.0, 2.0, 0.0], [-3.0, -1.0, 0.0], [-0.5, 0.1, 0.0]])
    assert list(diagnostics.dead_units(Z)) == [True, False, True]
    assert diagnostics.dead_fraction(Z) == pytest.approx(2 / 3)
    assert list(diagnostics.inactive_examples(Z)) == [False, True, False]


def test_network_statistics_show_vanishing_and_healthy_signals():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 32)), rng.integers(0, 3, 200)
    sizes = [32] + [64] * 9 + [3]
    healthy = diagnostics.network_statistics(init.stack(sizes, "relu", scheme="he"), X, y)
    vanishing = diagnostics.network_statistics(init.stack(sizes, "relu", scheme="he", scale=0.5), X, y)
    assert len(healthy.activations) == len(healthy.activation_grads) == 9 and len(healthy.weight_grads) == 10
    stds = [s.std for s in healthy.activations]
    assert max(stds) / min(stds) < 3                                  # He keeps ReLU signals level
    assert vanishing.activations[-1].std < 1e-2 * vanishing.activations[0].std
    assert all(0.3 < s.fraction_zero < 0.7 for s in healthy.activations)
    assert healthy.activations[0].values.size == 200 * 64
    assert healthy.activations[0].name == "1 ReLU output" and healthy.weight_grads[-1].name == "18 Linear dW"
    assert all(np.isfinite(s) and s > 0 for s in healthy.update_scale)


def test_layer_plots_are_labelled_and_distinguishable():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((100, 8)), rng.integers(0, 3, 100)
    stats = diagnostics.network_statistics(init.stack([8] + [16] * 5 + [3], "tanh", scheme="glorot"), X, y)
    ax = plots.plot_layer_histograms(stats.activations)
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and len(ax.get_lines()) == 5
    a, b = ax.get_lines()[:2]
    assert a.get_linestyle() != b.get_linestyle() and a.get_color() != b.get_color()
    ax = plots.plot_layer_statistics({"activations": stats.activations, "gradients": stats.activation_grads})
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and len(ax.get_lines()) == 2
    plt.close("all")


# ------------------------------------------------------------------ the explorer's new training function
def test_train_network_at_depth_2_is_exactly_todays_explorer_run():
    settings = widgets.Settings()
    today = widgets.run(settings).run
    run = experiments.train_network(settings.dataset, width=settings.width, lr=settings.lr, steps=settings.steps,
                                    seed=settings.seed, init_scale=settings.init_scale)
    assert run.loss == today.loss and run.final_loss == today.final_loss
    assert run.final_accuracy == today.final_accuracy and not run.diverged


def test_train_network_with_depth_optimizer_decay_and_init_scheme():
    deep = experiments.train_network("blobs", depth=6, width=16, activation="tanh", init_scheme="glorot",
                                     optimizer="adam", lr=0.01, weight_decay=1e-3, steps=150, seed=2)
    assert len(deep.loss) == 150 and deep.loss[-1] < deep.loss[0] and deep.final_accuracy > 0.8
    assert len(deep.net.layers) == 11
    again = experiments.train_network("blobs", depth=6, width=16, activation="tanh", init_scheme="glorot",
                                      optimizer="adam", lr=0.01, weight_decay=1e-3, steps=150, seed=2)
    assert again.loss == deep.loss  # a pure function of its settings
    exploding = experiments.train_network("spirals", depth=8, init_scale=30.0, lr=5.0, steps=50)
    assert exploding.diverged and exploding.steps_run < 50
    X, labels = data.blobs(n_per_class=20, seed=1)
    momentum = experiments.train_network((X, labels), depth=3, optimizer="momentum", lr=0.1, steps=40)
    assert momentum.loss[-1] < momentum.loss[0]
    with pytest.raises(ValueError):
        experiments.train_network("spirals", depth=0)
