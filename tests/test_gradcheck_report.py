"""What a gradient-check report says: honest near a ReLU kink, and in fast mode only what was measured."""
import warnings

import numpy as np
import pytest

from course_lib import bugs, data, gradcheck, mlp
from course_lib.gradcheck import KinkWarning, grad_check

WRONG = "the analytic gradient is wrong"


def _syllabus():
    X, Y = data.tiny_batch()
    return mlp.init_params(5, 4, 3, seed=0), X, Y


def _kinked():
    """Notebook 04's demonstration: example 0's pre-activation of unit 0 moved to 4e-6, inside eps."""
    params, X, Y = _syllabus()
    _, cache = mlp.forward(params, X)
    params["b1"][0] -= cache["Z1"][0, 0] - 4e-6
    _, cache = mlp.forward(params, X)
    return params, X, Y, cache


def _check_kinked(**kw):
    params, X, Y, cache = _kinked()
    grads = mlp.backward(params, cache, Y)
    return grad_check(lambda: mlp.loss(params, X, Y), params, grads, **kw)


def test_the_syllabus_bands_are_unchanged():
    assert (gradcheck.EXCELLENT, gradcheck.ACCEPTABLE, gradcheck.BUG) == (1e-7, 1e-5, 1e-3)


def test_near_a_kink_a_failing_group_is_inconclusive_not_wrong():
    params, X, Y, cache = _kinked()
    with pytest.warns(KinkWarning, match=r"example 0, unit 0"):
        report = _check_kinked(kinks={"Z1": cache["Z1"]})
    assert report.kinks_near == 1
    assert not report.passed and report.inconclusive
    # The bands stay the syllabus's: W1 and b1 are still in the bug band, W2 and b2 excellent.
    assert report["W1"].verdict == report["b1"].verdict == "bug"
    assert report["W2"].verdict == report["b2"].verdict == "excellent"
    assert {g.name for g in report.failures()} == {"W1", "b1"}
    text, page = str(report), report._repr_html_()
    assert WRONG not in text and WRONG not in page
    assert "inconclusive" in text.splitlines()[0]
    for line in text.splitlines()[1:3]:  # the W1 and b1 rows
        assert "inconclusive" in line and "kink" in line
    assert "inconclusive" in page


def test_without_being_told_of_the_kink_the_report_cannot_know():
    report = _check_kinked()
    assert report.kinks_near == 0 and not report.inconclusive
    assert report["W1"].verdict == "bug" and WRONG in str(report)


def test_a_kink_warning_does_not_excuse_what_passes():
    params, X, Y = _syllabus()
    _, cache = mlp.forward(params, X)
    Z1 = cache["Z1"].copy()
    Z1[2, 1] = 3e-6  # a kink the check is told about, though the network itself is fine
    with pytest.warns(KinkWarning):
        report = grad_check(lambda: mlp.loss(params, X, Y), params, mlp.backward(params, cache, Y),
                            kinks={"Z1": Z1})
    assert report.kinks_near == 1 and report.passed and not report.inconclusive
    assert "inconclusive" not in str(report)


def test_a_real_bug_away_from_any_kink_is_called_wrong():
    params, X, Y = _syllabus()
    forward, backward = bugs.get("wrong_transpose").network()
    _, cache = forward(params, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pre-activation is near the kink here
        report = grad_check(lambda: mlp.loss(params, X, Y), params, backward(params, cache, Y),
                            kinks={"Z1": cache["Z1"]})
    assert report.kinks_near == 0 and not report.inconclusive
    assert report["W1"].verdict == "bug" and WRONG in str(report)


def test_a_passing_fast_check_reports_one_measurement_not_one_per_group():
    params, X, Y = _syllabus()
    _, cache = mlp.forward(params, X)
    calls = []

    def loss():
        calls.append(1)
        return mlp.loss(params, X, Y)

    report = grad_check(loss, params, mlp.backward(params, cache, Y), fast=True)
    assert report.passed and report.mode == "fast"
    assert report.groups == [] and report.failures() == []
    assert report.checked_together == ["W1", "b1", "W2", "b2"]
    assert report.parameters_together == 39
    assert len(report.directional_errors) == 6 and len(calls) == 12
    assert report.max_error == report.directional_error == max(report.directional_errors) < 1e-7
    text = str(report)
    assert "No group was checked on its own" in text
    assert "6 random directions through W1, b1, W2, b2 at once (39 parameters, 12 loss evaluations)" in text
    assert not any(line.split()[0] in report.checked_together for line in text.splitlines())  # no row per group
    assert "No group was checked on its own" in report._repr_html_()
    with pytest.raises(KeyError, match="not checked on its own"):
        report["W1"]


def test_a_failing_fast_check_falls_back_to_a_row_per_group():
    params, X, Y = _syllabus()
    forward, backward = bugs.get("relu_mask_from_gradient").network()
    _, cache = forward(params, X)
    report = grad_check(lambda: mlp.loss(params, X, Y), params, backward(params, cache, Y), fast=True)
    assert report.mode == "fast, then full" and not report.passed
    assert [g.name for g in report.groups] == ["W1", "b1", "W2", "b2"]
    assert {g.name for g in report.failures()} == {"W1", "b1"}
    assert report.max_error == max(g.rel_error for g in report.groups)
    assert len(report.directional_errors) == 6 and report.directional_error > gradcheck.BUG
    assert "the full check above, one group at a time, shows where" in str(report)


def test_a_fast_check_needs_a_direction():
    params, X, Y = _syllabus()
    _, cache = mlp.forward(params, X)
    with pytest.raises(ValueError, match="at least one direction"):
        grad_check(lambda: mlp.loss(params, X, Y), params, mlp.backward(params, cache, Y), fast=True, directions=0)


def test_a_fast_check_restores_the_parameters():
    params, X, Y = _syllabus()
    before = {k: v.copy() for k, v in params.items()}
    _, cache = mlp.forward(params, X)
    grad_check(lambda: mlp.loss(params, X, Y), params, mlp.backward(params, cache, Y), fast=True)
    assert all(np.array_equal(before[k], params[k]) for k in params)
