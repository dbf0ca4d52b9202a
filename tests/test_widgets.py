"""The loss-curve explorer of notebook 08 (course_lib.widgets): it builds, every control
retrains, the numbers it shows are course_lib's, the bug list is off where no bug applies, and
every control and plot is labelled and described."""
from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import asdict, replace

import ipywidgets
import numpy as np
import pytest
from PIL import Image

from course_lib import bugs, data, experiments, explorer_plot, init, mlp, train, widgets
from course_lib.losses import accuracy, cross_entropy
from course_lib.optim import make_optimizer

# One new value per control, each far enough from the default to change the run.
NEW_VALUES = {"lr": 0.1, "width": 8, "init_scale": 3.0, "steps": 50, "seed": 3, "activation": "tanh",
              "bug": "missing_batch_average", "dataset": "blobs", "optimizer": "adam", "weight_decay": 0.01,
              "init_scheme": "glorot", "depth": 4}
# Bugs that plain full-batch training with ReLU never trips over (notebook 08, questions 3 and 4).
HARMLESS_IN_TRAINING = ("stale_cache", "in_place_cache_mutation", "relu_mask_from_activation")


def course_lib_run(s: widgets.Settings) -> tuple[tuple, float, float]:
    """The same run written directly against course_lib: its loss curve, final loss and accuracy.

    The syllabus's own two-layer run (course_lib.mlp, plain SGD) where the settings allow it;
    otherwise course_lib.experiments.train_network for a correct network, and for a bug the
    two-layer network initialised by course_lib.init and scored with course_lib.mlp's forward."""
    make = data.spirals if s.dataset == "spirals" else data.blobs
    X, labels = make(n_per_class=widgets.POINTS_PER_CLASS, classes=3, seed=widgets.DATA_SEED)
    ops = mlp.reference_ops(s.activation)
    if s.bug == "none" and (s.depth, s.optimizer, s.init_scheme, s.weight_decay) != (2, "sgd", "he", 0.0):
        r = experiments.train_network((X, labels), depth=s.depth, width=s.width, activation=s.activation,
                                      init_scheme=s.init_scheme, init_scale=s.init_scale, optimizer=s.optimizer,
                                      lr=s.lr, weight_decay=s.weight_decay, steps=s.steps, seed=s.seed)
        return r.loss, r.final_loss, r.final_accuracy
    if s.init_scheme == "he":
        params = mlp.init_params(2, s.width, 3, seed=s.seed, scale=s.init_scale)
    else:
        first, _, last = init.stack([2, s.width, 3], s.activation, scheme=s.init_scheme, scale=s.init_scale,
                                    seed=s.seed).layers
        params = {"W1": first.params["W"].copy(), "b1": first.params["b"].copy(),
                  "W2": last.params["W"].copy(), "b2": last.params["b"].copy()}
    options = dict(optimizer=make_optimizer(s.optimizer, s.lr), weight_decay=s.weight_decay)
    if (s.optimizer, s.weight_decay) == ("sgd", 0.0):
        options = dict(lr=s.lr)  # the syllabus's loop, exactly
    if s.bug == "none":
        history = train.train(params, X, labels, steps=s.steps, ops=ops, **options)
    else:
        forward, backward = bugs.get(s.bug).network(s.activation)
        history = train.train(params, X, labels, steps=s.steps, forward=forward, backward=backward, **options)
    with np.errstate(all="ignore"):
        Yhat, _ = mlp.forward(params, X, ops)
    return tuple(history.loss), cross_entropy(Yhat, labels), accuracy(Yhat, labels)


@pytest.fixture(scope="module")
def explorer():
    return widgets.explorer()


def test_explorer_builds_a_layout_with_two_plots_a_readout_and_every_control(explorer):
    assert isinstance(explorer, ipywidgets.Box)
    assert explorer.figure.value.count("<img ") == 2
    assert "final loss" in explorer.readout.value
    assert explorer.settings == widgets.Settings()
    shown = [w for column in explorer.children[0].children for w in column.children]
    assert set(explorer.controls.values()) <= set(shown)
    assert [w for w in shown if w not in explorer.controls.values() and w is not explorer.bug_note] == [
        column.children[0] for column in explorer.children[0].children]  # a heading above each column
    assert set(widgets.TRAINING + widgets.NETWORK) == set(explorer.controls)


@pytest.mark.parametrize("name", list(NEW_VALUES))
def test_changing_each_control_retrains_and_redraws(name):
    explorer = widgets.explorer()
    before, figure_before, readout_before, alt_before = (explorer.result, explorer.figure.value,
                                                         explorer.readout.value, explorer.alt)
    explorer.controls[name].value = NEW_VALUES[name]
    assert getattr(explorer.settings, name) == NEW_VALUES[name]
    after = explorer.result
    assert after.settings == explorer.settings
    assert after.run.loss != before.run.loss
    assert after.run.final_loss != before.run.final_loss
    assert explorer.figure.value != figure_before
    assert explorer.readout.value != readout_before
    assert explorer.alt[0] != alt_before[0]  # the words follow the picture


@pytest.mark.parametrize("settings", [
    widgets.Settings(),
    widgets.Settings(bug="missing_batch_average", lr=0.3),
    widgets.Settings(bug="relu_mask_from_activation", activation="leaky_relu", width=10, steps=60, seed=2),
    widgets.Settings(bug="wrong_transpose", dataset="blobs", init_scale=0.5, steps=40),
    widgets.Settings(activation="sigmoid", lr=3.0, steps=30),
    widgets.Settings(bug="unstable_softmax", init_scale=10.0, lr=5.0, steps=80),  # diverges
    widgets.Settings(optimizer="adam", lr=0.01, depth=5, init_scheme="glorot", activation="tanh", steps=60),
    widgets.Settings(optimizer="momentum", lr=0.1, weight_decay=0.01, depth=3, init_scheme="lecun", steps=50),
    widgets.Settings(bug="missing_batch_average", optimizer="adam", lr=0.01, steps=40),
    widgets.Settings(bug="bias_gradient_averaged", optimizer="momentum", lr=0.3, weight_decay=0.003,
                     init_scheme="glorot", steps=40),
    widgets.Settings(bug="wrong_transpose", init_scheme="lecun", weight_decay=0.1, dataset="blobs", steps=30),
], ids=lambda s: f"{s.bug}-{s.activation}-{s.dataset}-{s.optimizer}-{s.init_scheme}-d{s.depth}-wd{s.weight_decay:g}")
def test_run_and_readout_equal_course_lib(settings):
    result = widgets.run(settings)
    loss, final_loss, final_accuracy = course_lib_run(settings)
    correct_loss_curve, correct_loss, correct_accuracy = course_lib_run(replace(settings, bug="none"))
    np.testing.assert_array_equal(result.run.loss, loss)
    np.testing.assert_array_equal(result.correct.loss, correct_loss_curve)
    np.testing.assert_equal(result.run.final_loss, final_loss)
    assert result.run.final_accuracy == final_accuracy
    assert result.correct.final_loss == correct_loss and result.correct.final_accuracy == correct_accuracy

    explorer = widgets.explorer(**asdict(settings))
    rows = explorer.readout.value.split("<tr>")[2:]  # after the header: this run, then the correct run
    assert f"<td>{final_loss:.4g}</td><td>{final_accuracy:.1%}</td>" in rows[0]
    assert f"<td>{correct_loss:.4g}</td><td>{correct_accuracy:.1%}</td>" in rows[1]
    if settings.bug != "none":
        assert html.escape(bugs.get(settings.bug).description) in explorer.readout.value


@pytest.mark.parametrize("bug", HARMLESS_IN_TRAINING)
@pytest.mark.parametrize("options", [dict(optimizer="adam", lr=0.01), dict(optimizer="momentum", lr=0.1),
                                     dict(init_scheme="glorot", weight_decay=0.03), dict(init_scheme="lecun")])
def test_a_bug_that_training_never_trips_over_gives_the_correct_curve_under_every_option(bug, options):
    """The bug's run (course_lib.mlp's network) and the correct run (course_lib.experiments's
    Sequential) are two code paths; where the bug changes nothing they must agree to the bit."""
    result = widgets.run(widgets.Settings(bug=bug, steps=60, **options))
    assert result.run is not result.correct
    assert result.run.loss == result.correct.loss
    assert result.run.final_loss == result.correct.final_loss


def test_the_default_run_is_the_syllabus_explorers_run():
    loss, final_loss, _ = course_lib_run(widgets.Settings())
    assert widgets.run().run.loss == loss and widgets.run().run.final_loss == final_loss


def test_a_diverging_run_says_so_in_the_table_and_in_words():
    result = widgets.run(widgets.Settings(bug="unstable_softmax", init_scale=10.0, lr=5.0, steps=80))
    assert result.run.diverged and not result.correct.diverged
    assert "diverged: training stopped at step" in widgets.readout_html(result)
    words = explorer_plot.loss_alt(result)
    assert f"at step {result.run.steps_run - 1}, where training stopped (diverged)" in words


# ------------------------------------------------------------------ depth and the bug list
def test_a_bug_needs_the_two_layer_network():
    with pytest.raises(ValueError, match="needs depth 2"):
        widgets.run(widgets.Settings(bug="missing_batch_average", depth=3))
    with pytest.raises(ValueError, match="needs depth 2"):
        widgets.explorer(bug="missing_batch_average", depth=3)


def test_past_depth_2_the_bug_list_is_off_and_says_why():
    explorer = widgets.explorer(bug="missing_batch_average")
    bug = explorer.controls["bug"]
    assert not bug.disabled and explorer.bug_note.value == ""
    explorer.controls["depth"].value = 3
    assert explorer.settings == widgets.Settings(depth=3)  # the bug was taken out ...
    assert bug.disabled
    assert "Bug list off at depth 3" in explorer.bug_note.value
    assert "The bug missing_batch_average was taken out" in explorer.bug_note.value
    assert explorer.result.run is explorer.result.correct  # ... and the run trained without it
    assert explorer.result.run.loss == widgets.run(widgets.Settings(depth=3)).run.loss
    explorer.controls["depth"].value = 5
    assert "depth 5" in explorer.bug_note.value and "taken out" in explorer.bug_note.value
    explorer.controls["depth"].value = 2
    assert not bug.disabled and explorer.bug_note.value == ""
    assert bug.value == "none"
    bug.value = "wrong_transpose"
    assert explorer.result.run.loss != explorer.result.correct.loss


def test_a_depth_change_that_removes_a_bug_retrains_once(monkeypatch):
    explorer = widgets.explorer(bug="missing_batch_average")
    calls = []
    real = widgets.run
    monkeypatch.setattr(widgets, "run", lambda s: calls.append(s) or real(s))
    explorer.controls["depth"].value = 4
    assert calls == [widgets.Settings(depth=4)]


# ------------------------------------------------------------------ labels, plots and their words
def test_every_control_has_a_label_and_a_tooltip(explorer):
    assert set(explorer.controls) == set(widgets.Settings.__dataclass_fields__)
    for name, control in explorer.controls.items():
        assert len(control.description.strip()) >= 4, name
        assert len((control.tooltip or "").strip()) >= 20, name
    labels = [c.description for c in explorer.controls.values()]
    assert len(set(labels)) == len(labels)
    assert all(a not in b for a in labels for b in labels if a != b)  # no label is part of another
    assert isinstance(explorer.controls["lr"], ipywidgets.FloatLogSlider)
    assert explorer.controls["bug"].options[0][1] == "none"
    assert {v for _, v in explorer.controls["bug"].options} == {"none", *bugs.CATALOGUE}
    assert set(explorer.controls["activation"].options) == {"relu", "leaky_relu", "tanh", "sigmoid"}
    assert {v for _, v in explorer.controls["optimizer"].options} == {"sgd", "momentum", "adam"}
    assert {v for _, v in explorer.controls["init_scheme"].options} == {"he", "glorot", "lecun"}
    depth = explorer.controls["depth"]
    assert (depth.min, depth.max) == (2, 8)
    assert [v for _, v in explorer.controls["weight_decay"].options][0] == 0.0


def test_the_init_tooltips_name_lecuns_variance_and_glorots_right(explorer):
    """The syllabus's "Xavier-like" W2 is LeCun's N(0, 1/d_in); Glorot's is 2/(d_in + d_out)."""
    tips = " ".join(c.tooltip for c in explorer.controls.values())
    assert "Xavier-like" not in tips
    assert "LeCun's N(0, 1/d_in)" in explorer.controls["init_scale"].tooltip
    labels = dict((v, k) for k, v in explorer.controls["init_scheme"].options)
    assert labels["lecun"] == "LeCun: 1 / d_in" and labels["glorot"] == "Glorot: 2 / (d_in + d_out)"
    for name, label in labels.items():  # each label's formula is the variance course_lib.init draws
        formula = label.split(": ")[1]
        assert init.variance(name, 5, 7) == pytest.approx(eval(formula, {"d_in": 5, "d_out": 7}))


def test_plots_have_titles_labelled_axes_and_distinct_curves(explorer):
    for ax in (explorer.plot.loss_ax, explorer.plot.region_ax):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    run_line, correct_line = explorer.plot.run_line, explorer.plot.correct_line
    assert run_line.get_linestyle() != correct_line.get_linestyle()
    assert run_line.get_color() != correct_line.get_color()
    assert run_line.get_label() and correct_line.get_label()
    assert explorer.plot.loss_ax.get_legend() is not None


def test_the_plot_shows_the_result():
    explorer = widgets.explorer(bug="missing_batch_average", steps=40, optimizer="momentum", lr=0.01)
    result = explorer.result
    np.testing.assert_array_equal(explorer.plot.run_line.get_ydata(), result.run.loss)
    np.testing.assert_array_equal(explorer.plot.correct_line.get_ydata(), result.correct.loss)
    title = explorer.plot.loss_ax.get_title()
    assert "missing_batch_average" in title and "momentum" in title and "depth 2" in title
    np.testing.assert_array_equal(explorer.plot.predicted.ravel(),
                                  explorer_plot.predict(result.run.net, explorer.plot._grid))


def images(figure_html: str) -> list[dict]:
    """The <img> elements of the figure widget: their class, alt text and decoded picture."""
    out = []
    for tag in re.findall(r"<img [^>]*>", figure_html):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        png = base64.b64decode(attrs["src"].split(",", 1)[1])
        out.append({**attrs, "alt": html.unescape(attrs["alt"]), "image": Image.open(io.BytesIO(png))})
    return out


def test_each_plot_is_an_image_with_alt_text_that_says_what_it_shows():
    explorer = widgets.explorer(bug="missing_batch_average", lr=0.01)
    result = explorer.result
    loss, regions = images(explorer.figure.value)
    assert (loss["class"], regions["class"]) == ("explorer-loss", "explorer-regions")
    # The two pictures are the two halves of the drawn figure, side by side.
    width, height = explorer.plot.canvas.get_width_height()
    assert loss["image"].size[0] + regions["image"].size[0] == width
    assert loss["image"].size[1] == regions["image"].size[1] == height
    assert (int(loss["width"]), int(loss["height"])) == loss["image"].size
    # The loss curve's words carry the curve's own numbers, for both runs.
    first, last = result.run.loss[0], result.run.loss[-1]
    assert loss["alt"].startswith("Loss curves, log scale, over 200 training steps (SGD, learning rate 0.01, depth 2)")
    assert f"with the bug missing_batch_average, falls from {first:#.3g} to {last:#.3g}" in loss["alt"]
    assert f"the dashed correct run falls from {result.correct.loss[0]:#.3g} to {result.correct.loss[-1]:#.3g}" \
        in loss["alt"]
    # The regions' words: the data set, the accuracy, and the share of the plane each class gets.
    shares = np.bincount(explorer.plot.predicted.ravel(), minlength=3) / explorer.plot.predicted.size
    assert "on the spirals data set: 180 training points" in regions["alt"]
    assert f"classifies {result.run.final_accuracy:.1%} of them correctly" in regions["alt"]
    assert f"class 0 on {shares[0]:.0%}, 1 on {shares[1]:.0%}, 2 on {shares[2]:.0%}" in regions["alt"]
    assert (loss["alt"], regions["alt"]) == explorer.alt


def test_the_words_follow_every_redraw():
    explorer = widgets.explorer()
    assert "No bug is injected, so the dashed correct run is the same curve" in explorer.alt[0]
    explorer.controls["bug"].value = "stale_cache"
    assert "the dashed correct run is exactly the same curve" in explorer.alt[0]
    explorer.controls["bug"].value = "missing_batch_average"
    assert "rises from" in explorer.alt[0]  # 180 times too large a step: the loss climbs
    explorer.controls["dataset"].value = "blobs"
    assert "on the blobs data set" in explorer.alt[1]
    assert [i["alt"] for i in images(explorer.figure.value)] == list(explorer.alt)


def test_the_accessibility_script_ships_with_the_explorer(explorer):
    script = explorer.children[-1]
    assert isinstance(script, ipywidgets.Output) and script.layout.display == "none"
    source = script.outputs[0]["data"]["application/javascript"]
    assert "aria-labelledby" in source and "aria-valuetext" in source and ".course-explorer" in source
    assert "course-explorer" in explorer._dom_classes


def test_run_is_pure_and_rejects_unknown_settings():
    a = widgets.run(widgets.Settings(width=5, steps=20))
    b = widgets.run(widgets.Settings(width=5, steps=20))
    assert a.run.loss == b.run.loss
    assert not a.run.net.named_params()["0.W"].flags.writeable
    for bad in ({"activation": "softplus"}, {"bug": "typo"}, {"dataset": "moons"}, {"optimizer": "rmsprop"},
                {"init_scheme": "zeros"}, {"depth": 0}):
        with pytest.raises(ValueError):
            widgets.run(widgets.Settings(**bad))
    with pytest.raises(TypeError):
        widgets.explorer(learning_rate=0.1)
