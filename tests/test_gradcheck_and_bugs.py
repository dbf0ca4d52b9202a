"""Gradient checking, and the bug catalogue: every catalogued bug is caught by the check it names."""
import copy
import warnings

import numpy as np
import pytest

from course_lib import bugs, data, gradcheck, losses, mlp
from course_lib.gradcheck import KinkWarning, grad_check, numerical_gradient, rel_error


def test_numerical_gradient_restores_every_entry_even_when_f_raises():
    x = np.arange(6, dtype=float).reshape(2, 3)
    original = x.copy()
    calls = []

    def f():
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("boom")
        return float(np.sum(x ** 2))

    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    assert np.array_equal(x, original)
    assert np.allclose(numerical_gradient(lambda: float(np.sum(x ** 2)), x), 2 * x)
    assert np.array_equal(x, original)


def test_numerical_gradient_perturbs_views_and_refuses_integers():
    with pytest.raises(TypeError):
        numerical_gradient(lambda: 0.0, np.arange(3))
    base = np.arange(16, dtype=float).reshape(4, 4)
    view = base[:, ::2]  # strided: perturbing it must perturb base
    grad = numerical_gradient(lambda: float(np.sum(base ** 2)), view)
    assert np.allclose(grad, 2 * view)
    assert np.array_equal(base, np.arange(16, dtype=float).reshape(4, 4))


def test_rel_error_is_the_syllabus_formula():
    a, b = np.array([3.0, 4.0]), np.array([3.0, 5.0])
    assert rel_error(a, b) == pytest.approx(1.0 / (5.0 + np.sqrt(34.0) + 1e-12))
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError):
        rel_error(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("error,expected", [(1e-10, "excellent"), (1e-6, "acceptable"), (1e-4, "doubtful"),
                                            (1e-2, "bug"), (float("nan"), "bug")])
def test_verdict_bands(error, expected):
    assert gradcheck.verdict(error) == expected


def _network(activation="relu", seed=0, dtype=np.float64):
    params = mlp.init_params(5, 4, 3, seed=seed, dtype=dtype)
    X, Y = data.tiny_batch()
    return params, X.astype(dtype), Y.astype(dtype), mlp.reference_ops(activation)


def _check(params, X, Y, forward, backward, **kw):
    _, cache = forward(params, X)
    grads = backward(params, cache, Y)
    return grad_check(lambda: losses.cross_entropy(forward(params, X)[0], Y), params, grads, **kw)


def test_report_reads_well_in_a_notebook():
    params, X, Y, _ = _network()
    report = _check(params, X, Y, mlp.forward, mlp.backward)
    assert report.passed and report["W2"].verdict == "excellent"
    text, page = str(report), report._repr_html_()
    for name in ("W1", "b1", "W2", "b2"):
        assert name in text and name in page
    assert "excellent" in text and "<table>" in page


def test_float32_is_refused_unless_asked_for():
    params, X, Y, _ = _network(dtype=np.float32)
    with pytest.raises(TypeError, match="float32"):
        _check(params, X, Y, mlp.forward, mlp.backward)
    report = _check(params, X, Y, mlp.forward, mlp.backward, allow_float32=True)
    assert report.max_error > 1e-7  # float32 round-off swamps an eps of 1e-5


def test_kink_warning_names_the_units():
    params, X, Y, _ = _network()
    _, cache = mlp.forward(params, X)
    Z1 = cache["Z1"].copy()
    Z1[2, 1] = 3e-6
    with pytest.warns(KinkWarning, match=r"example 2, unit 1"):
        _check(params, X, Y, mlp.forward, mlp.backward, kinks={"Z1": Z1})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check(params, X, Y, mlp.forward, mlp.backward, kinks={"Z1": cache["Z1"]})


def test_fast_mode_uses_a_constant_number_of_loss_evaluations():
    counts = []
    for d0 in (5, 40):
        params = mlp.init_params(d0, 16, 3, seed=1)
        X = np.random.default_rng(0).standard_normal((6, d0))
        Y = losses.one_hot(np.array([0, 1, 2, 0, 1, 2]), 3)
        _, cache = mlp.forward(params, X)
        calls = []

        def loss():
            calls.append(1)
            return mlp.loss(params, X, Y)

        report = grad_check(loss, params, mlp.backward(params, cache, Y), fast=True, directions=5)
        assert report.passed and report.mode == "fast"
        counts.append(len(calls))
    assert counts == [10, 10]


def test_fast_mode_falls_back_to_say_where_a_bug_is():
    params, X, Y, _ = _network()
    forward, backward = bugs.get("wrong_transpose").network()
    report = _check(params, X, Y, forward, backward, fast=True)
    assert not report.passed and report.mode == "fast, then full"
    assert {g.name for g in report.failures()} == {"W1", "W2"}


GRADIENT_VISIBLE = [b for b in bugs.CATALOGUE.values() if b.caught_by == "grad_check"]
GRADIENT_BLIND = [b for b in bugs.CATALOGUE.values() if b.caught_by != "grad_check"]


def test_catalogue_entries_are_complete():
    assert {"wrong_transpose", "missing_batch_average", "stale_cache", "unstable_softmax",
            "relu_mask_from_activation", "in_place_cache_mutation"} <= set(bugs.CATALOGUE)
    for bug in bugs.CATALOGUE.values():
        assert bug.section.startswith("5.") and bug.description and callable(bug.variant)
        assert bug.caught_by == "grad_check" or hasattr(bugs, bug.caught_by)


@pytest.mark.parametrize("bug", GRADIENT_VISIBLE, ids=lambda b: b.name)
def test_grad_check_flags_the_bugs_it_can_see(bug):
    params, X, Y, _ = _network(bug.activation)
    forward, backward = bug.network()
    assert _check(params, X, Y, forward, backward).failures(), bug.name
    # the same network without the bug passes
    ops = mlp.reference_ops(bug.activation)
    assert _check(params, X, Y, lambda p, x: mlp.forward(p, x, ops), lambda p, c, y: mlp.backward(p, c, y, ops)).passed


def _run_named_check(bug, forward, backward, softmax_fn):
    check = getattr(bugs, bug.caught_by)
    if bug.caught_by == "check_extreme_logits":
        return check(softmax_fn)
    params, _, _, _ = _network()
    return check(forward, backward, params)


@pytest.mark.parametrize("bug", GRADIENT_BLIND, ids=lambda b: b.name)
def test_the_named_check_catches_what_grad_check_cannot(bug):
    params, X, Y, _ = _network()
    forward, backward = bug.network()
    # Invisible to a gradient check at ordinary logits...
    assert _check(copy.deepcopy(params), X, Y, forward, backward).passed
    # ...but the catalogue's own check sees it, and passes the reference.
    softmax_fn = bug.variant if bug.target == "softmax" else losses.softmax
    assert not _run_named_check(bug, forward, backward, softmax_fn)
    assert _run_named_check(bug, mlp.forward, mlp.backward, losses.softmax)


def test_unstable_softmax_breaks_training_at_large_logits():
    params, X, Y, _ = _network()
    params["W2"] *= 2000.0
    forward, backward = bugs.get("unstable_softmax").network()
    with np.errstate(all="ignore"):
        Yhat, _ = forward(params, X)
    assert not np.all(np.isfinite(Yhat))
    assert np.all(np.isfinite(mlp.forward(params, X)[0]))
