"""Facts notebooks 09 and 10 state in prose, computed with course_lib and looked up in the notebook's text
(as tests/test_notebook_claims.py does for the earlier notebooks)."""
import numpy as np
import pytest

from course_lib import batchnorm, data, diagnostics, init, layers, mlp, train
from course_lib.activations import sigmoid
from test_notebook_claims import prose, says

NB09, NB10 = "09_checking_layers/checking_layers.ipynb", "10_initialisation/initialisation.ipynb"


# ------------------------------------------------------------------ 09
def test_sigmoid_rounds_to_one_from_37_and_a_guard_caps_the_loss_at_27_6():
    assert sigmoid(np.array(36.0)) < 1.0 and sigmoid(np.array(37.0)) == 1.0
    assert np.exp(-37) < np.spacing(1.0) / 2 < np.exp(-36)      # below half the gap between 1 and its neighbour
    assert -np.log(1e-12) == pytest.approx(27.6, abs=0.05)
    text = prose(NB09)
    assert says(text, "$s(37)$ rounds to exactly $1.0$") and says(text, r"$-\log(10^{-12}) \approx 27.6$")


def test_batchnorm_dx_sums_to_zero_and_is_orthogonal_to_x_hat_only_up_to_eps():
    rng = np.random.default_rng(0)
    x = 3 * rng.standard_normal((8, 3)) + 2
    gamma, beta, dout = rng.standard_normal(3) + 1.5, rng.standard_normal(3), rng.standard_normal((8, 3))
    _, cache, _ = batchnorm.batchnorm_forward(x, gamma, beta, "train", np.zeros(3), np.ones(3))
    dx, _, _ = batchnorm.batchnorm_backward(dout, cache)
    assert np.abs(dx.sum(axis=0)).max() < 1e-13
    var = x.var(axis=0)
    share = np.abs((dx * cache.x_hat).sum(axis=0)) / np.abs((dout * gamma * cache.x_hat).sum(axis=0))
    # exactly the share eps / (var + eps), times the inverse standard deviation's scale of dx
    assert np.allclose((dx * cache.x_hat).sum(axis=0),
                       cache.inv_std * (dout * gamma * cache.x_hat).sum(axis=0) * 1e-5 / (var + 1e-5), rtol=1e-6)
    assert np.all(share < 1e-5) and np.all(share > 1e-8)
    assert says(prose(NB09), r"a share $\epsilon / (\sigma^2 + \epsilon)$")


# ------------------------------------------------------------------ 10
def _syllabus(bias=0.0, steps=2000, activation="relu"):
    X, Y = data.tiny_batch()
    p = mlp.init_params(5, 4, 3, seed=0)
    p["b1"] = p["b1"] + bias
    silent = np.flatnonzero(diagnostics.inactive_examples(X @ p["W1"] + p["b1"])).tolist()
    history = train.train(p, X, Y, lr=0.5, steps=steps, ops=mlp.reference_ops(activation))
    return silent, history.loss


def test_the_syllabus_run_levels_off_near_0_24_and_a_positive_bias_does_not_save_this_draw():
    silent, losses = _syllabus(steps=3000)
    assert silent == [1, 4, 6] and 0.235 < losses[-1] < 0.245
    silent, losses = _syllabus(0.5)
    assert silent == [4, 6] and losses[-1] > 0.1
    silent, losses = _syllabus(1.0)
    assert silent == [] and 0.165 < losses[-1] < 0.18
    text = prose(NB10)
    assert says(text, "with $b_1 = 0.5$ examples 4 and 6 still start silent")
    assert says(text, "the loss stalls near 0.17") and says(text, "levels off near 0.24")


def test_the_leaky_slope_of_0_1_leaves_the_plateau_within_200_steps():
    X, Y = data.tiny_batch()
    for alpha, below in [(0.1, 200), (0.01, None)]:
        p = mlp.init_params(5, 4, 3, seed=0)
        net = layers.Sequential([layers.Linear(p["W1"], p["b1"]), layers.LeakyReLU(alpha), layers.Linear(p["W2"], p["b2"])])
        forward, backward = train.sequential_network(net)
        loss = np.array(train.train(net.named_params(), X, Y, lr=0.5, steps=2000, forward=forward, backward=backward).loss)
        if below:
            assert np.argmax(loss < 0.05) < below
        else:  # crawls below the plateau for about a thousand steps, then leaves it
            assert 0.1 < loss[900] < 0.24 and loss[-1] < 0.01
    assert says(prose(NB10), r"$\alpha = 0.1$ it is below 0.05 within 200 steps")


def test_scaling_the_weights_never_changes_which_relus_are_dead():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 64))
    counts = []
    for scale in (1.0, 0.1, 2.0):
        net = init.stack([64] * 10 + [10], "relu", scheme="he", scale=scale)
        _, caches = net.forward(X)
        counts.append([int(diagnostics.dead_units(c).sum()) for layer, c in zip(net.layers, caches)
                       if isinstance(layer, layers.ReLU)])
    assert counts[0] == counts[1] == counts[2] and counts[0][-1] > counts[0][0]
    assert says(prose(NB10), "no choice among them changes which units are dead")


def test_lecun_loses_about_sqrt2_per_relu_layer_and_he_keeps_the_spread():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 64)), rng.integers(0, 10, 200)
    sizes = [64] * 10 + [10]
    he = diagnostics.network_statistics(init.stack(sizes, "relu", scheme="he"), X, y)
    lecun = diagnostics.network_statistics(init.stack(sizes, "relu", scheme="lecun"), X, y)
    a = [s.std for s in lecun.activations]
    assert 10 < a[0] / a[-1] < 40 and a[0] / a[-1] == pytest.approx(np.sqrt(2) ** 8, rel=1)
    g = [s.std for s in lecun.activation_grads]
    assert g[-1] / g[0] > 10
    stds = [s.std for s in he.activations]
    assert max(stds) / min(stds) < 2
    assert says(prose(NB10), r"lose a factor of about $\sqrt 2$ per layer: more than ten in all")


def test_scaling_every_weight_by_c_scales_the_kth_relu_output_by_exactly_c_to_the_k():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 64)), rng.integers(0, 10, 200)
    stats = {c: diagnostics.network_statistics(init.stack([64] * 10 + [10], "relu", scheme="he", scale=c), X, y)
             for c in (0.5, 1.0, 2.0)}
    for c in (0.5, 2.0):
        ratios = [a.std / b.std for a, b in zip(stats[c].activations, stats[1.0].activations)]
        assert np.allclose(ratios, c ** np.arange(1, 10), rtol=1e-9)
    assert says(prose(NB10), r"multiplies the $k$-th layer's output by exactly $c^k$")
