"""Facts the notebooks state in prose, computed with course_lib and looked up in the notebook's text.

Each test computes a figure or a fact from course_lib and checks that the notebook says exactly
that, so neither can drift from the other: the dead ReLUs of the tiny batch (06), which catalogued
bugs leave the syllabus's overfit curve unchanged (06), the ReLU-gate facts of section 5.5 (03, 08),
and the explorer's learning-rate question (08).
"""
import math

import nbformat
import numpy as np
import pytest

from course_lib import activations, bugs, data, dead_relus, mlp, train, widgets
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def prose(notebook: str) -> str:
    """Every markdown cell of a solutions notebook, joined."""
    nb = nbformat.read(ROOT / "solutions" / notebook, 4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def says(text: str, phrase: str) -> bool:
    """``phrase`` occurs in ``text`` (line breaks in the markdown count as spaces)."""
    return phrase in " ".join(text.split())


# ------------------------------------------------------------- 06: dead ReLUs
@pytest.fixture(scope="module")
def long_run():
    X, Y = data.tiny_batch()
    return dead_relus.watch_relus(mlp.init_params(5, 4, 3, seed=0), X, Y, lr=0.5, steps=20_000)


def test_three_examples_have_every_relu_off_at_initialisation():
    X, Y = data.tiny_batch()
    params = mlp.init_params(5, 4, 3, seed=0)
    _, cache = mlp.forward(params, X)
    off = dead_relus.examples_with_every_unit_off(cache["Z1"])
    assert off.tolist() == [1, 4, 6] and dead_relus.dead_units(cache["Z1"]).size == 0
    delta = dead_relus.hidden_delta(params, cache, Y)
    assert np.all(delta[off] == 0) and np.all(cache["A1"][off] == 0)
    # The delta is the one mlp.backward uses: it gives the same dW1 and db1.
    grads = mlp.backward(params, cache, Y)
    assert np.allclose(X.T @ delta, grads["W1"], rtol=0, atol=1e-15)
    assert np.allclose(delta.sum(axis=0), grads["b1"], rtol=0, atol=1e-15)
    # Their rows add nothing to dW1 or dW2: dropping them from the sums changes nothing.
    keep = np.setdiff1d(np.arange(8), off)
    assert np.array_equal(X[keep].T @ delta[keep], X.T @ delta)
    assert np.allclose(cache["A1"][keep].T @ (cache["Yhat"] - Y)[keep] / 8, grads["W2"], rtol=0, atol=1e-15)
    assert says(prose("06_whole_system/whole_system.ipynb"), "examples 1, 4 and 6 (counting from 0")


def test_the_shared_output_floor_is_a_floor(long_run):
    X, Y = data.tiny_batch()
    floor = dead_relus.shared_output_floor(Y, [1, 4, 6])
    assert floor == pytest.approx((2 * math.log(1.5) + math.log(3)) / 8, rel=1e-12)
    all_three_off = long_run.all_off[:, [1, 4, 6]].all(axis=1)
    assert all_three_off.sum() > 19_000
    assert np.all(long_run.loss[all_three_off] > floor)
    assert says(prose("06_whole_system/whole_system.ipynb"), f"floor of {floor:.4f}")


def test_the_tiny_batch_plateaus_with_dead_relus(long_run):
    X, Y = data.tiny_batch()
    syllabus = train.train(mlp.init_params(5, 4, 3, seed=0), X, Y, lr=0.5, steps=200).loss
    assert np.array_equal(long_run.loss[:200], syllabus)  # the same run, watched
    assert f"{long_run.loss[0]:.4f}" == "1.1408" and f"{long_run.loss[199]:.4f}" == "0.2514"
    assert long_run.accuracy[-1] == 7 / 8
    assert long_run.loss[199] - long_run.loss[-1] < 0.015  # 100 times the steps buy almost nothing
    assert long_run.always_off().tolist() == [1]
    assert long_run.ever_off().tolist() == [1, 4, 6]
    assert not long_run.dead.any()  # no unit is dead on the whole batch at any step
    text = prose("06_whole_system/whole_system.ipynb")
    assert says(text, f"stops near {long_run.loss[-1]:.4f}")
    assert says(text, f"{long_run.steps_on(4)} and {long_run.steps_on(6)} times in 20,000 steps")


def test_a_leaky_relu_or_a_wider_layer_fits_the_tiny_batch():
    X, Y = data.tiny_batch()
    for params, activation in [(mlp.init_params(5, 4, 3, seed=0), "leaky_relu"),
                               (mlp.init_params(5, 8, 3, seed=0), "relu")]:
        run = train.train(params, X, Y, lr=0.5, steps=2_000, ops=mlp.reference_ops(activation))
        assert run.loss[-1] < 0.01 and run.accuracy[-1] == 1.0, activation
    assert says(prose("06_whole_system/whole_system.ipynb"), "In a tenth of those steps, a leaky ReLU")


def test_which_bugs_leave_the_syllabus_curve_unchanged():
    correct = bugs.syllabus_overfit()
    assert f"{correct[0]:.4f}" == "1.1408" and f"{correct[-1]:.4f}" == "0.2514"
    gaps = {name: bugs.curve_gap(bugs.syllabus_overfit(name), correct) for name in bugs.CATALOGUE}
    unchanged = {name for name, gap in gaps.items() if gap <= 1e-15}
    assert unchanged == {"stale_cache", "in_place_cache_mutation", "unstable_softmax", "relu_mask_from_activation"}
    assert all(gap > 1e-3 for name, gap in gaps.items() if name not in unchanged)
    assert gaps["unstable_softmax"] > 0  # one rounding step, not exactly equal
    assert says(prose("06_whole_system/whole_system.ipynb"), "Four bugs from the catalogue are missing from this plot")


def test_curve_gap_of_curves_of_different_lengths_is_infinite():
    assert bugs.curve_gap([1.0, 2.0], [1.0]) == math.inf
    assert bugs.curve_gap([1.0, 2.0], [1.0, 2.5]) == 0.5


# ------------------------------------------------- 03 and 08: the gate of section 5.5
def test_a_mask_from_a_is_the_mask_from_z_for_relu_and_leaky_relu_but_not_sigmoid():
    Z = np.random.default_rng(0).standard_normal((50, 7))
    Z[0, :3] = 0.0
    assert np.array_equal(activations.relu(Z) > 0, Z > 0)
    assert np.array_equal(activations.leaky_relu(Z) > 0, Z > 0)
    assert np.all(activations.sigmoid(Z) > 0) and not np.all(Z > 0)
    dA = np.random.default_rng(1).standard_normal(Z.shape)
    buggy = bugs.leaky_relu_backward_mask_from_activation(dA, Z)
    right = activations.leaky_relu_backward(dA, Z)
    assert np.array_equal(buggy, dA * (Z > 0))  # what is lost is the slope, not the mask
    assert np.allclose(right - buggy, np.where(Z > 0, 0.0, activations.LEAKY_SLOPE * dA))


def test_the_catalogue_and_the_notebooks_blame_the_slope_not_the_mask():
    entry = bugs.get("relu_mask_from_activation")
    assert entry.target == "leaky_relu_backward" and entry.activation == "leaky_relu"
    assert "A > 0 exactly where Z > 0" in entry.description and "alpha" in entry.description
    assert says(prose("03_backward/backward.ipynb"), "The syllabus (§5.5) puts this differently")
    assert says(prose("08_explorer/loss_curve_explorer.ipynb"), "The syllabus (§5.5) blames the mask for leaky ReLU")


def test_explorer_question_on_the_wrong_gate():
    same = widgets.run(widgets.Settings(bug="relu_mask_from_activation"))
    assert same.run.loss == same.correct.loss
    leaky = widgets.run(widgets.Settings(bug="relu_mask_from_activation", activation="leaky_relu"))
    assert leaky.run.loss != leaky.correct.loss
    text = prose("08_explorer/loss_curve_explorer.ipynb")
    assert says(text, f"final loss {leaky.run.final_loss:.4g} against {leaky.correct.final_loss:.4g}")
    gate = widgets.run(widgets.Settings(bug="relu_mask_from_gradient")).run.loss
    falls = int(np.argmax(np.diff(gate) > 0))  # steps before the loss first goes up
    assert falls == 5 and gate[-1] == pytest.approx(math.log(3), abs=1e-6)
    assert says(text, "its loss falls for five steps, then climbs back to $\\ln 3 \\approx 1.0986$")


# ------------------------------------------------- 08: the missing 1/N as a learning rate
def test_explorer_question_on_the_missing_average_can_be_done_with_the_slider():
    slider = widgets.explorer().controls["lr"]
    stops = [slider.base ** (slider.min + k * slider.step)
             for k in range(int(round((slider.max - slider.min) / slider.step)) + 1)]
    N = 3 * widgets.POINTS_PER_CLASS
    assert N == 180
    assert min(abs(s * N - 1) for s in stops) > 0.05  # no stop undoes the factor exactly ...
    low, high = max(s for s in stops if s < 1 / N), min(s for s in stops if s > 1 / N)
    text = prose("08_explorer/loss_curve_explorer.ipynb")
    assert says(text, f"nearest stops are {low:.3g} and {high:.3g}")  # ... so the question uses its neighbours
    correct_at_1 = widgets.run(widgets.Settings(lr=1.0)).run.final_loss
    finals = []
    for lr in (low, high):
        buggy = widgets.run(widgets.Settings(bug="missing_batch_average", lr=lr)).run
        same_steps = widgets.run(widgets.Settings(lr=N * lr)).run
        np.testing.assert_allclose(buggy.loss, same_steps.loss, rtol=1e-9)
        finals.append(buggy.final_loss)
    assert finals[0] > correct_at_1 > finals[1]
    assert says(text, f"ends at {finals[0]:.4g} and at {finals[1]:.4g}, on either side of the {correct_at_1:.4g}")


def test_too_large_a_learning_rate_kills_every_relu_on_the_digits():
    from course_lib.checks import system
    from course_lib.losses import one_hot

    split = data.digits()
    X_fit, y_fit, _, _ = system.validation_split(split.X_train, split.y_train, fraction=0.2, seed=0)
    params = mlp.init_params(64, 64, 10, seed=0)
    run = train.train(params, X_fit, one_hot(y_fit, 10), lr=2.0, steps=1000, batch_size=64, seed=0)
    _, cache = mlp.forward(params, X_fit)
    assert dead_relus.dead_units(cache["Z1"]).size == 64
    assert np.all(np.isfinite(run.loss)) and len(run.loss) == 1000  # no divergence to inf or NaN
    assert abs(run.loss[-1] - math.log(10)) < 0.1
    assert says(prose("06_whole_system/whole_system.ipynb"), "At $\\text{lr} = 2$ that happens to all of them")
