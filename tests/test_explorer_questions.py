"""Notebook 08's questions on the optimizer, initialisation-at-depth and weight-decay controls:
every figure they quote is what course_lib.widgets.run gives for settings the controls can
reach, and the notebook prints it as the explorer's table does (four significant digits)."""
from __future__ import annotations

import math
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib import init, widgets

ROOT = Path(__file__).resolve().parents[1]
S = widgets.Settings


@pytest.fixture(scope="module")
def text() -> str:
    """The markdown of solutions/08, line breaks read as spaces."""
    nb = nbformat.read(ROOT / "solutions" / "08_explorer" / "loss_curve_explorer.ipynb", 4)
    return " ".join("\n".join(c.source for c in nb.cells if c.cell_type == "markdown").split())


def final(**settings) -> str:
    """The final loss of this run as the explorer's table prints it."""
    return f"{widgets.run(S(**settings)).run.final_loss:.4g}"


def stops(name: str) -> list[float]:
    """Every value the slider ``name`` can take (a log slider's stops as base ** exponent)."""
    control = widgets.explorer().controls[name]
    if hasattr(control, "options"):
        return [v for _, v in control.options]
    if not hasattr(control, "base"):
        return list(range(control.min, control.max + 1, control.step))
    n = int(round((control.max - control.min) / control.step))
    return [control.base ** (control.min + k * control.step) for k in range(n + 1)]


def reachable(name: str, value: float) -> float:
    """The slider's stop at ``value`` (to 0.1%); fails when the slider has none there."""
    near = min(stops(name), key=lambda v: abs(v - value))
    assert near == pytest.approx(value, rel=1e-3), f"{name} has no stop at {value}"
    return near


def test_question_8_momentum_moves_like_sgd_at_ten_times_the_rate(text):
    lr = {k: reachable("lr", v) for k, v in (("1", 1.0), ("0.1", 0.1), ("0.01", 0.01))}
    sgd, momentum = final(lr=lr["1"]), final(optimizer="momentum", lr=lr["0.1"])
    assert f"plain SGD at $\\eta = 1$ ends at {sgd}" in text
    assert f"bring $\\eta$ down ten stops to 0.1: it ends at {momentum}" in text
    assert abs(float(momentum) - float(sgd)) < 0.01  # the pattern the question asks the reader to see
    slow_momentum, slow_sgd = final(optimizer="momentum", lr=lr["0.01"]), final(lr=lr["0.1"])
    assert f"momentum at $\\eta = 0.01$ ends at {slow_momentum}, SGD at 0.1 at {slow_sgd}" in text
    assert abs(float(slow_momentum) - float(slow_sgd)) < 0.01


@pytest.mark.parametrize("bug", ["missing_batch_average", "bias_gradient_averaged"])
def test_question_8_adam_hides_a_gradient_wrong_by_a_constant_factor(text, bug):
    lr = reachable("lr", 0.01)
    result = widgets.run(S(optimizer="adam", lr=lr, bug=bug))
    adam = f"{result.correct.final_loss:.4g}"
    assert f"pick *Adam* at $\\eta = 0.01$: {adam}" in text
    assert f"{result.run.final_loss:.4g}" == adam and f"the table still says {adam}" in text
    assert np.max(np.abs(np.subtract(result.run.loss, result.correct.loss))) < 1e-4  # curves on top of each other
    assert bug in text
    # Under SGD the same bug is plain to see.
    sgd = widgets.run(S(lr=lr, bug=bug))
    assert abs(sgd.run.final_loss - sgd.correct.final_loss) > 0.01


def test_question_9_depth_separates_the_initialisation_schemes(text):
    lr, deepest = reachable("lr", 0.1), max(stops("depth"))
    assert deepest == 8
    deep = [final(depth=8, init_scheme=s, lr=lr) for s in ("he", "lecun", "glorot")]
    assert (f"With He's initialisation the network ends at {deep[0]}; with LeCun's at {deep[1]}; with "
            f"Glorot's at {deep[2]}") in text
    assert float(deep[0]) < float(deep[1]) < float(deep[2])
    shallow = [final(init_scheme=s, lr=lr) for s in ("he", "lecun", "glorot")]
    assert f"the three are close ({shallow[0]}, {shallow[1]} and {shallow[2]})" in text
    assert max(map(float, shallow)) - min(map(float, shallow)) < 0.1 < float(deep[2]) - float(deep[0])
    # The variances the explanation quotes.
    assert init.variance("glorot", 32, 32) == init.variance("lecun", 32, 32) == 1 / 32
    assert f"{init.variance('glorot', 2, 32):.3f}" == "0.059" and init.variance("lecun", 2, 32) == 0.5
    assert math.sqrt(init.variance("lecun", 2, 32) / init.variance("glorot", 2, 32)) == pytest.approx(3, rel=0.05)


def test_question_9_the_init_scale_compounds_with_depth(text):
    lr = reachable("lr", 0.1)
    small, large = reachable("init_scale", 10 ** -0.3), reachable("init_scale", 10 ** 0.3)
    assert (f"{small:#.3g}", f"{large:#.3g}") == ("0.501", "2.00")  # what the slider's readout shows
    stuck = widgets.run(S(depth=8, init_scale=small, lr=lr)).run
    assert f"Down to 0.501: the loss stays at {stuck.final_loss:.4g}, next to $\\ln 3$" in text
    assert abs(stuck.final_loss - math.log(3)) < 0.01 and abs(stuck.loss[0] - math.log(3)) < 0.001
    blown = widgets.run(S(depth=8, init_scale=large, lr=lr)).run
    assert blown.diverged and blown.loss[0] > 12
    assert f"training diverges at step {blown.steps_run}" in text  # as the table reports it
    assert "diverged: training stopped at step 9" in widgets.readout_html(widgets.run(S(depth=8, init_scale=large,
                                                                                         lr=lr)))
    two = [final(init_scale=small, lr=lr), final(init_scale=large, lr=lr)]
    assert f"At depth 2 the same two scales end at {two[0]} and {two[1]}" in text
    assert round(1 / small ** 8) in range(245, 256) and "0.501^8 \\approx 1/250" in text


def test_question_9_adam_trains_every_scheme_at_depth_8(text):
    lr = reachable("lr", 0.01)
    losses = [widgets.run(S(depth=8, init_scheme=s, optimizer="adam", lr=lr)).run.final_loss
              for s in ("he", "glorot", "lecun")]
    assert all(abs(v - 0.019) < 0.0015 for v in losses), losses
    assert "all three schemes now reach about 0.019 at depth 8" in text


def test_question_10_weight_decay_raises_the_training_loss(text):
    lam = reachable("weight_decay", 0.01)
    assert f"({final()} at $\\lambda = 0$, {final(weight_decay=lam)} at 0.01)" in text
    curve = [float(final(weight_decay=v)) for v in stops("weight_decay")]
    assert curve == sorted(curve)  # each stop up raises it
    adam_lr = reachable("lr", 0.1)
    adam = final(weight_decay=lam, optimizer="adam", lr=adam_lr)
    assert f"switch to Adam at $\\eta = 0.1$: it ends at {adam}, close to SGD" in text
    free = final(optimizer="adam", lr=adam_lr)
    assert f"almost seven-fold ({final()} and {free})" in text
    assert 6.5 < float(final()) / float(free) < 7 and abs(float(adam) - float(final(weight_decay=lam))) < 0.02
