"""The loss-curve explorer of notebook 08 (course_lib.widgets): it builds, every control
retrains, the numbers it shows are course_lib's, and every control and plot is labelled."""
from __future__ import annotations

import html

import ipywidgets
import numpy as np
import pytest

from course_lib import bugs, data, mlp, train, widgets
from course_lib.losses import accuracy, cross_entropy

# One new value per control, each far enough from the default to change the run.
NEW_VALUES = {"lr": 0.1, "width": 8, "init_scale": 3.0, "steps": 50, "seed": 3, "activation": "tanh",
              "bug": "missing_batch_average", "dataset": "blobs"}


def course_lib_run(settings: widgets.Settings) -> tuple[train.History, float, float]:
    """The same run written directly against course_lib: its history, final loss and accuracy."""
    make = data.spirals if settings.dataset == "spirals" else data.blobs
    X, labels = make(n_per_class=widgets.POINTS_PER_CLASS, classes=3, seed=widgets.DATA_SEED)
    params = mlp.init_params(2, settings.width, 3, seed=settings.seed, scale=settings.init_scale)
    if settings.bug == "none":
        history = train.train(params, X, labels, lr=settings.lr, steps=settings.steps,
                              ops=mlp.reference_ops(settings.activation))
    else:
        forward, backward = bugs.get(settings.bug).network(settings.activation)
        history = train.train(params, X, labels, lr=settings.lr, steps=settings.steps, forward=forward,
                              backward=backward)
    with np.errstate(all="ignore"):
        Yhat, _ = mlp.forward(params, X, mlp.reference_ops(settings.activation))
    return history, cross_entropy(Yhat, labels), accuracy(Yhat, labels)


@pytest.fixture(scope="module")
def explorer():
    return widgets.explorer()


def test_explorer_builds_a_layout_with_a_plot_and_a_readout(explorer):
    assert isinstance(explorer, ipywidgets.Box)
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    assert "final loss" in explorer.readout.value
    assert explorer.settings == widgets.Settings()
    shown = [w for box in explorer.children[0].children for w in box.children]
    assert set(shown) == set(explorer.controls.values())


@pytest.mark.parametrize("name", list(NEW_VALUES))
def test_changing_each_control_retrains_and_redraws(name):
    explorer = widgets.explorer()
    before, image_before, readout_before = explorer.result, bytes(explorer.image.value), explorer.readout.value
    explorer.controls[name].value = NEW_VALUES[name]
    assert getattr(explorer.settings, name) == NEW_VALUES[name]
    after = explorer.result
    assert after.settings == explorer.settings
    assert after.run.loss != before.run.loss
    assert after.run.final_loss != before.run.final_loss
    assert bytes(explorer.image.value) != image_before
    assert explorer.readout.value != readout_before


@pytest.mark.parametrize("settings", [
    widgets.Settings(),
    widgets.Settings(bug="missing_batch_average", lr=0.3),
    widgets.Settings(bug="relu_mask_from_activation", activation="leaky_relu", width=10, steps=60, seed=2),
    widgets.Settings(bug="wrong_transpose", dataset="blobs", init_scale=0.5, steps=40),
    widgets.Settings(activation="sigmoid", lr=3.0, steps=30),
    widgets.Settings(bug="unstable_softmax", init_scale=10.0, lr=5.0, steps=80),  # diverges
], ids=lambda s: f"{s.bug}-{s.activation}-{s.dataset}")
def test_run_and_readout_equal_course_lib(settings):
    result = widgets.run(settings)
    history, final_loss, final_accuracy = course_lib_run(settings)
    correct_history, correct_loss, correct_accuracy = course_lib_run(widgets.Settings(
        **{**settings.__dict__, "bug": "none"}))
    np.testing.assert_array_equal(result.run.loss, history.loss)
    np.testing.assert_array_equal(result.run.accuracy, history.accuracy)
    np.testing.assert_array_equal(result.correct.loss, correct_history.loss)
    np.testing.assert_equal(result.run.final_loss, final_loss)
    assert result.run.final_accuracy == final_accuracy
    assert result.correct.final_loss == correct_loss and result.correct.final_accuracy == correct_accuracy

    explorer = widgets.explorer(**settings.__dict__)
    rows = explorer.readout.value.split("<tr>")[2:]  # after the header: this run, then the correct run
    assert f"<td>{final_loss:.4g}</td><td>{final_accuracy:.1%}</td>" in rows[0]
    assert f"<td>{correct_loss:.4g}</td><td>{correct_accuracy:.1%}</td>" in rows[1]
    if settings.bug != "none":
        assert html.escape(bugs.get(settings.bug).description) in explorer.readout.value


def test_a_diverging_run_says_so():
    result = widgets.run(widgets.Settings(bug="unstable_softmax", init_scale=10.0, lr=5.0, steps=80))
    assert result.run.diverged and not result.correct.diverged
    assert "diverged: training stopped at step" in widgets.readout_html(result)


def test_every_control_has_a_label_and_a_tooltip(explorer):
    assert set(explorer.controls) == set(widgets.Settings.__dataclass_fields__)
    for name, control in explorer.controls.items():
        assert len(control.description.strip()) >= 4, name
        assert len((control.tooltip or "").strip()) >= 20, name
    assert isinstance(explorer.controls["lr"], ipywidgets.FloatLogSlider)
    assert explorer.controls["bug"].options[0][1] == "none"
    assert {v for _, v in explorer.controls["bug"].options} == {"none", *bugs.CATALOGUE}
    assert set(explorer.controls["activation"].options) == {"relu", "leaky_relu", "tanh", "sigmoid"}


def test_plots_have_titles_labelled_axes_and_distinct_curves(explorer):
    for ax in (explorer.plot.loss_ax, explorer.plot.region_ax):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    run_line, correct_line = explorer.plot.run_line, explorer.plot.correct_line
    assert run_line.get_linestyle() != correct_line.get_linestyle()
    assert run_line.get_color() != correct_line.get_color()
    assert run_line.get_label() and correct_line.get_label()
    assert explorer.plot.loss_ax.get_legend() is not None


def test_the_plot_shows_the_result():
    explorer = widgets.explorer(bug="missing_batch_average", steps=40)
    result = explorer.result
    np.testing.assert_array_equal(explorer.plot.run_line.get_ydata(), result.run.loss)
    np.testing.assert_array_equal(explorer.plot.correct_line.get_ydata(), result.correct.loss)
    assert "missing_batch_average" in explorer.plot.loss_ax.get_title()


def test_run_is_pure_and_rejects_unknown_settings():
    a = widgets.run(widgets.Settings(width=5, steps=20))
    b = widgets.run(widgets.Settings(width=5, steps=20))
    assert a.run.loss == b.run.loss
    assert not a.run.params["W1"].flags.writeable
    for bad in ({"activation": "softplus"}, {"bug": "typo"}, {"dataset": "moons"}):
        with pytest.raises(ValueError):
            widgets.run(widgets.Settings(**bad))
    with pytest.raises(TypeError):
        widgets.explorer(learning_rate=0.1)
