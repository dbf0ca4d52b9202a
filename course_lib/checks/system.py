"""Checkers for notebook 06, verifying the whole system (syllabus section 6): ``overfit_tiny_batch``
(the syllabus's run, 1.1408 -> 0.2514, with params trained in place) and ``predict``; the digits
checker is in :mod:`.digits`.

The helpers the notebook uses (``syllabus_gradient_check``, ``catalogue_curves``,
``validation_split``, ``sweep_learning_rates``, ``plot_sweep``, ``show_digits`` and the syllabus's
figures) live in :mod:`course_lib.system` and are re-exported here, so that
``from course_lib.checks import system`` keeps working.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import bugs, data, mlp, train
from ..losses import one_hot
from ..snapshot import copy_data
from ..system import (DIGITS_TARGET, SYLLABUS_FIRST_LOSS, SYLLABUS_GRADCHECK_BOUND,  # noqa: F401 (re-exported)
                      SYLLABUS_LAST_LOSS, SYLLABUS_LR, SYLLABUS_STEPS, catalogue_curves, plot_sweep, show_digits,
                      sweep_learning_rates, syllabus_gradient_check, validation_split)
from .cases import designed_case, network_cases
from .compare import describe, unchanged
from .core import Finding, call, fail, finish, is_number, passed, quiet
from .digits import check_train_digits, digits_setting, training_diagnosis  # noqa: F401 (notebook 06's checks)
from .forward import softmax_variants
from .recognise import BUG_HINTS, NETWORK_TARGETS, Variant, catalogued, first_match, matches

__all__ = ["check_overfit_tiny_batch", "check_predict", "check_train_digits"]

# The loss curve must agree with the reference this closely (any equivalent loss formula passes).
CURVE_RTOL = 1e-6
CURVE_ATOL = 1e-9


# ------------------------------------------------------------ overfit_tiny_batch
def _reference_run(params, X, Y, lr, steps, forward=None, backward=None) -> tuple[np.ndarray, dict]:
    """The losses of the reference run, and the parameters it ends with."""
    params = copy_data(params)
    with quiet():
        history = train.train(params, X, Y, lr=lr, steps=steps, forward=forward, backward=backward)
    return np.asarray(history.loss, dtype=float), params


def _as_curve(ex: str, got, case: str) -> np.ndarray:
    if got is None:
        fail(ex, f"returned None for {case}.", ["Collect the losses in a list and `return` it."], case=case,
             status="error")
    if isinstance(got, np.ndarray) and got.ndim == 1:
        values = list(got)
    elif isinstance(got, (list, tuple)):
        values = list(got)
    else:
        fail(ex, f"should return a list of floats, one loss per step; got {describe(got)}.", case=case, status="error")
    for i, v in enumerate(values):
        if not (is_number(v) or (type(v) is np.ndarray and v.shape == () and np.issubdtype(v.dtype, np.number))):
            fail(ex, f"entry {i} of your list is {describe(v)}, not a number.",
                 ["Append the loss as a float (cross_entropy returns one)."], case=case, status="error")
    return np.asarray([float(v) for v in values], dtype=float)


def _curve_same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=CURVE_RTOL, atol=CURVE_ATOL))


def _overfit_cases(hidden: bool, seed: int) -> list[tuple]:
    """(label, params, X, Y, kwargs, lr, steps); kwargs are what the checker passes (the syllabus case passes none)."""
    X, Y = data.tiny_batch()
    cases = [("the syllabus's run (init_params(5, 4, 3, seed=0), the tiny batch, the defaults lr=0.5, steps=200)",
              mlp.init_params(5, 4, 3, seed=0), X, Y, {}, SYLLABUS_LR, SYLLABUS_STEPS)]
    rng = np.random.default_rng(seed)
    shapes = [(6, 4, 6, 2, 0.2, 30)]
    if hidden:
        shapes += [(10, 5, 4, 3, round(float(rng.uniform(0.1, 1.0)), 3), int(rng.integers(40, 90))),
                   (1, 7, 2, 4, round(float(rng.uniform(0.1, 1.0)), 3), int(rng.integers(5, 30))),
                   (5, 3, 1, 2, round(float(rng.uniform(0.1, 1.0)), 3), int(rng.integers(5, 30))),
                   (8, 5, 4, 3, round(float(rng.uniform(0.1, 1.0)), 3), 1)]
    for N, d0, d1, C, lr, steps in shapes:
        params = mlp.init_params(d0, d1, C, seed=int(rng.integers(1 << 30)))
        Xc = rng.standard_normal((N, d0))
        Yc = one_hot(rng.integers(0, C, N), C)
        cases.append((f"N={N}, d0={d0}, d1={d1}, C={C} with lr={lr}, steps={steps}", params, Xc, Yc,
                      {"lr": lr, "steps": steps}, lr, steps))
    return cases


@lru_cache(maxsize=64)
def _bug_curves(key: tuple) -> tuple:
    """(bug name, losses) of the run with each catalogued two-layer bug injected: the same for every
    checker call on the same case, so computed once."""
    (params_items, X_bytes, X_shape, Y_bytes, Y_shape, lr, steps) = key
    params = {k: np.frombuffer(b, dtype=np.float64).reshape(s).copy() for k, b, s in params_items}
    X = np.frombuffer(X_bytes).reshape(X_shape)
    Y = np.frombuffer(Y_bytes).reshape(Y_shape)
    out = []
    for candidate in bugs.CATALOGUE.values():
        if candidate.target in NETWORK_TARGETS:
            forward, backward = candidate.network()
            out.append((candidate.name, _reference_run(params, X, Y, lr, steps, forward, backward)[0]))
    return tuple(out)


def _case_key(params, X, Y, lr, steps) -> tuple:
    items = tuple((k, np.ascontiguousarray(v).tobytes(), v.shape) for k, v in params.items())
    return (items, np.ascontiguousarray(X).tobytes(), X.shape, np.ascontiguousarray(Y).tobytes(), Y.shape, lr, steps)


def check_overfit_tiny_batch(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X: (N, d0), Y: (N, C), lr=0.5, steps=200) -> list of `steps` losses, each the full-batch
    loss BEFORE that step's SGD update, with params trained in place; the first case must reproduce the
    syllabus's 1.1408 -> 0.2514."""
    ex = "overfit_tiny_batch"
    cases = _overfit_cases(hidden, seed)
    for label, params, X, Y, kwargs, lr, steps in cases:
        done = call(ex, fn, params, X, Y, on=label, **kwargs)
        trained = done.args[0]
        findings = [unchanged({"X": X, "Y": Y}, {"X": done.args[1], "Y": done.args[2]})]
        curve = _as_curve(ex, done.result, label)
        expected, expected_params = _reference_run(params, X, Y, lr, steps)
        syllabus = not kwargs
        figures = (f"The syllabus's run starts at {SYLLABUS_FIRST_LOSS} and ends at {SYLLABUS_LAST_LOSS}"
                   + (f"; yours starts at {curve[0]:.4f} and ends at {curve[-1]:.4f}." if curve.size else ".")
                   if syllabus else "")
        if curve.size != steps:
            hint = ""
            if curve.size == steps + 1:
                hint = "Record the loss before each update only; do not add one more after the loop."
            elif curve.size == SYLLABUS_STEPS and steps != SYLLABUS_STEPS:
                hint = "Use the `steps` argument instead of a fixed 200."
            findings.append(Finding(f"for {label}: expected {steps} losses (one per step), got {curve.size}.",
                                    [hint, figures]))
        elif not np.all(np.isfinite(curve)):
            findings.append(Finding(f"for {label}: the losses contain inf or NaN: {describe(curve)}.", [figures]))
        elif not _curve_same(curve, expected):
            diff = np.flatnonzero(~np.isclose(curve, expected, rtol=CURVE_RTOL, atol=CURVE_ATOL))
            i = int(diff[0])
            hints = []
            if steps > 1 and np.allclose(curve[:-1], expected[1:], rtol=CURVE_RTOL, atol=CURVE_ATOL):
                hints.append("Your curve is the expected one moved one step to the left: record the loss BEFORE each "
                             "update (step 0 is the untrained network's loss).")
            elif i == 0:
                hints.append("The very first loss is already different: compute the mean cross entropy of the "
                             "untrained network.")
            elif kwargs and _curve_same(curve, _reference_run(params, X, Y, SYLLABUS_LR, steps)[0]):
                hints.append("This is the run with lr=0.5: use the `lr` argument.")
            elif steps > 1 and np.allclose(curve, expected[0], rtol=1e-12, atol=1e-12):
                hints.append("The loss never changes: the parameters the loss is computed from are not the ones "
                             "being updated.")
            curves = dict(_bug_curves(_case_key(params, X, Y, lr, steps)))
            match = first_match(curve, catalogued(NETWORK_TARGETS, lambda bug: curves.get(bug.name),
                                                  hints={name: f"The curve is the one a network with this bug draws. "
                                                                f"{hint}" for name, hint in BUG_HINTS.items()}),
                                expected)
            findings.append(Finding(f"for {label}: the loss at step {i} should be {expected[i]:.6f}, got {curve[i]:.6f}."
                                    f"\n  expected {describe(expected)}\n  got      {describe(curve)}.",
                                    hints + [match.hint if match else "", figures], match.bug if match else None))
        if not findings[1:] and not matches(trained, expected_params, rtol=1e-6, atol=1e-9):
            untouched = isinstance(trained, dict) and matches(trained, params, rtol=0.0, atol=0.0)
            findings.append(Finding(
                f"for {label}: the losses are right, but the params dict your function was given "
                + ("never changed: the caller's network is still untrained." if untouched else
                   "does not hold the trained parameters."),
                ["Train the caller's parameters in place: `params = {...}` (or a copy of params) inside the function "
                 "builds a new dict that nobody outside sees. Update the arrays themselves (mlp.sgd_step does)."]))
        finish(ex, findings, label)
    return passed(ex, len(cases))


# ----------------------------------------------------------------------- predict
def _predict_cases(hidden: bool, seed: int):
    cases = network_cases(hidden, seed)
    if not hidden:  # one designed case in the visible test too: the point of a stable softmax
        cases.append(designed_case("logits 800 and 900 in one row, and rows whose maxima differ by 1700",
                                   np.random.default_rng(seed + 1)))
    return cases


def check_predict(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X: (N, d0)) -> labels: (N,) integers, the most probable class of each row."""
    ex = "predict"
    cases = _predict_cases(hidden, seed)
    for case in cases:
        done = call(ex, fn, case.params, case.X, on=case.label)
        mutated = unchanged({"params": case.params, "X": case.X}, {"params": done.args[0], "X": done.args[1]})
        got = done.result
        expected = mlp.predict(case.params, case.X)
        if isinstance(got, (list, tuple)) and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                  for v in got):
            got = np.asarray(got, dtype=np.int64)
        elif is_number(got):  # np.argmax without an axis: one number, judged by its shape below
            got = np.asarray(got)
        if type(got) is not np.ndarray:
            fail(ex, f"should return a numpy array of {case.N} labels, got {describe(got)}.", case=case.label,
                 status="error")
        findings = [mutated]
        if got.shape != expected.shape:
            hint = ""
            if got.shape == case.Yhat.shape:
                hint = "That is one row of probabilities per example: take the arg-max of each row (axis=1)."
            elif got.shape == (case.C,):
                hint = "That is one value per class: the arg-max must run along each row (axis=1), not down the columns."
            elif got.shape == ():
                hint = "That is a single number: np.argmax without axis=1 flattens the matrix."
            findings.append(Finding(f"for {case.label}: expected labels of shape {expected.shape}, got {got.shape}.",
                                    [hint]))
        elif not (np.issubdtype(got.dtype, np.integer)):
            findings.append(Finding(f"for {case.label}: labels should be integers (argmax gives them), got dtype "
                                    f"{got.dtype}.", ["Return the class indices, not probabilities or floats."]))
        elif not np.array_equal(got, expected):
            wrong = np.flatnonzero(got != expected)
            Z2 = case.Z2
            variants = [Variant(v.hint + " Where the probabilities are NaN, np.argmax returns the index of the first "
                                "NaN, so those rows get a wrong class.", (lambda v=v: np.argmax(v.compute(), axis=1)),
                                v.bug, rtol=0, atol=0) for v in softmax_variants(Z2)[:4]]
            variants.append(Variant("That is the least probable class: np.argmin where np.argmax belongs.",
                                    lambda: np.argmin(Z2, axis=1), rtol=0, atol=0))
            variants.append(_wrong_where_softmax_overflows(got, expected, Z2))
            match = first_match(got, variants, expected)
            findings.append(Finding(f"for {case.label}: rows {wrong.tolist()[:5]} get the wrong class."
                                    f"\n  expected {describe(expected)}\n  got      {describe(got)}.",
                                    [match.hint] if match else [], match.bug if match else None))
        finish(ex, findings, case.label)
    return passed(ex, len(cases))


def _wrong_where_softmax_overflows(got: np.ndarray, expected: np.ndarray, Z2: np.ndarray) -> Variant:
    """The unstable softmax, however its NaNs were turned into labels: the answer that is right on
    every row where the unshifted softmax is finite and free (the student's) on the rows where it is not."""
    with np.errstate(all="ignore"):
        broken = ~np.all(np.isfinite(bugs.softmax_unshifted(Z2)), axis=1)
    return Variant(f"The labels are wrong only on rows where exp of the raw logits overflows or underflows (rows "
                   f"{np.flatnonzero(broken).tolist()} here) and the softmax becomes NaN. Subtract each row's maximum "
                   "before exponentiating (or take the arg-max of the logits themselves: softmax keeps their order).",
                   lambda: np.where(broken, got, expected), "unstable_softmax", rtol=0, atol=0)
