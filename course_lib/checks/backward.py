"""Checkers for notebook 03, the backward pass (syllabus section 3)."""
from __future__ import annotations

import copy

import numpy as np

from .. import bugs, mlp
from ..activations import relu_backward
from ..affine import affine_backward
from ..losses import softmax_cross_entropy_backward
from .cases import network_cases
from .core import CheckFailed, call, check_not_mutated, compare, matches, passed, quiet, recognise


def _compare_or_name_bug(ex, name, got, expected, batch, target, make_expected, whole=None):
    """compare(), but a failure names the catalogued bug whose variant reproduces ``whole`` (default got)."""
    try:
        compare(ex, name, got, expected, batch=batch)
    except CheckFailed as failure:
        bug = recognise(got if whole is None else whole, target, make_expected)
        if bug is None:
            raise
        raise CheckFailed(ex, str(failure).split(": ", 1)[1], bug=bug) from None


def _bias_axis_message(name: str, got, expected: np.ndarray, dZ: np.ndarray) -> str | None:
    """A message when the bias gradient ``got`` is dZ: (N, d) summed over the wrong axis or kept 2-D; else None."""
    if type(got) is not np.ndarray or expected.ndim != 1:
        return None
    N, d = dZ.shape
    why = ("The bias is shared by every example, so its gradient sums the rows of dZ over the batch: "
           "dZ.sum(axis=0) (section 3.2).")
    if got.shape == (N,) and N != d:
        return (f"{name} should have shape ({d},), one entry per unit, but got shape ({N},), one entry per example: "
                f"it was summed over axis 1, the units. {why}")
    if got.shape == (d,) and N == d and matches(got, dZ.sum(axis=1)) and not matches(got, expected):
        return (f"{name} has the right shape, but only because this batch has as many examples as units ({N}): "
                f"its values are dZ summed over axis 1, the units. {why}")
    if got.shape == (1, d):
        return (f"{name} should be a vector of shape ({d},), got shape (1, {d}): the sum over the batch is right but "
                "keepdims=True kept the summed axis. Drop keepdims so that the gradient has b's shape.")
    if got.shape == (N, 1):
        return (f"{name} should be a vector of shape ({d},), got shape ({N}, 1): it was summed over axis 1, the "
                "units, with keepdims=True. Sum over the batch instead: dZ.sum(axis=0).")
    return None


def check_softmax_cross_entropy_backward(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(Yhat: (N, C), Y: (N, C) one-hot) -> dZ2: (N, C)."""
    ex = "softmax_cross_entropy_backward"
    cases = network_cases(hidden, seed)
    for case in cases:
        got, copies = call(ex, fn, case.Yhat, case.Y)
        if type(got) is np.ndarray and not np.array_equal(copies[0][0], case.Yhat):
            raise CheckFailed(ex, "your function wrote into Yhat, the cached softmax output. A later reader of "
                              "the cache would see your gradient instead of the probabilities.",
                              bug="in_place_cache_mutation")
        check_not_mutated(ex, (case.Yhat, case.Y), copies, ["Yhat", "Y"], bug="in_place_cache_mutation")
        expected = softmax_cross_entropy_backward(case.Yhat, case.Y)
        _compare_or_name_bug(ex, f"dZ2 for {case.label}", got, expected, case.N, "softmax_cross_entropy_backward",
                             lambda v: v(case.Yhat.copy(), case.Y))
    passed(ex, len(cases))


def _check_affine_grads(ex, fn, inputs_of, names, keys, hidden, seed):
    """Shared by the output and hidden layer checkers: fn(*inputs_of(case)) must equal the
    reference affine_backward's gradients, picked and ordered by ``keys`` ("dX", "dW", "db"),
    shown to the student as ``names``."""
    cases = network_cases(hidden, seed)
    for case in cases:
        dZ, A, W = inputs_of(case)
        args = (dZ, A, W) if W is not None else (dZ, A)
        got, copies = call(ex, fn, *args)
        check_not_mutated(ex, args, copies, ["dZ", "A", "W"][: len(args)])
        want_n = len(names)
        if not isinstance(got, tuple) or len(got) != want_n:
            raise CheckFailed(ex, f"should return a tuple of {want_n} arrays ({', '.join(names)}), got {type(got).__name__}"
                              + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "") + ".")
        W_for_ref = W if W is not None else np.zeros((A.shape[1], dZ.shape[1]))

        def pick(result):
            return tuple(dict(zip(("dX", "dW", "db"), result))[k] for k in keys)

        expected = pick(affine_backward(dZ, (A, W_for_ref)))
        for name, g, e in zip(names, got, expected):
            if name.startswith("db"):
                axis_message = _bias_axis_message(f"{name} for {case.label}", g, e, dZ)
                if axis_message:
                    raise CheckFailed(ex, axis_message)
            _compare_or_name_bug(ex, f"{name} for {case.label}", g, e, case.N, "affine_backward",
                                 lambda v: pick(v(dZ.copy(), (A.copy(), W_for_ref.copy()))), whole=got)
    passed(ex, len(cases))


def check_output_layer_backward(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(dZ2: (N, C), A1: (N, d1), W2: (d1, C)) -> (dW2: (d1, C), db2: (C,), dA1: (N, d1))."""
    def inputs(case):
        return softmax_cross_entropy_backward(case.Yhat, case.Y), case.cache["A1"], case.params["W2"]
    _check_affine_grads("output_layer_backward", fn, inputs, ["dW2", "db2", "dA1"], ("dW", "db", "dX"), hidden, seed)


def check_hidden_layer_backward(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(dZ1: (N, d1), X: (N, d0)) -> (dW1: (d0, d1), db1: (d1,))."""
    def inputs(case):
        grads_in = _upstream(case)
        return grads_in["dZ1"], case.X, None
    _check_affine_grads("hidden_layer_backward", fn, inputs, ["dW1", "db1"], ("dW", "db"), hidden, seed)


def _upstream(case) -> dict:
    """The reference's intermediate gradients for a case: dZ2, dA1 and dZ1."""
    dZ2 = softmax_cross_entropy_backward(case.Yhat, case.Y)
    dA1 = dZ2 @ case.params["W2"].T
    return {"dZ2": dZ2, "dA1": dA1, "dZ1": relu_backward(dA1, case.cache["Z1"])}


def check_relu_backward(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(dA1: (N, d1), Z1: (N, d1)) -> dZ1: (N, d1), the gate taken from Z1 > 0."""
    ex = "relu_backward"
    cases = network_cases(hidden, seed)
    for case in cases:
        dA1, Z1 = _upstream(case)["dA1"], case.cache["Z1"]
        got, copies = call(ex, fn, dA1, Z1)
        check_not_mutated(ex, (dA1, Z1), copies, ["dA1", "Z1"])
        expected = relu_backward(dA1, Z1)
        extra = ""
        if type(got) is np.ndarray and got.shape == expected.shape and np.any(Z1 == 0):
            at_zero = Z1 == 0
            if not np.allclose(got[at_zero], 0.0):
                extra = (" Where Z1 is exactly 0 the gate must be closed: the mask is 1[Z1 > 0], strictly greater.")
        try:
            compare(ex, f"dZ1 for {case.label}", got, expected)
        except CheckFailed as failure:
            bug = recognise(got, "relu_backward", lambda v: v(dA1.copy(), Z1.copy()))
            raise CheckFailed(ex, str(failure).split(": ", 1)[1] + extra, bug=bug) from None
    passed(ex, len(cases))


def _grads_message(case, got, expected) -> list[str]:
    return [k for k in expected if not (type(got.get(k)) is np.ndarray and got[k].shape == expected[k].shape
                                        and np.allclose(got[k], expected[k], rtol=1e-7, atol=1e-10))]


def validate_grads_dict(ex: str, got) -> None:
    """A two-layer backward must return a dict with the four gradients W1, b1, W2, b2."""
    if not isinstance(got, dict):
        raise CheckFailed(ex, f"should return a dict with keys W1, b1, W2, b2, got {type(got).__name__}.")
    missing = [k for k in mlp.PARAM_NAMES if k not in got]
    if missing:
        raise CheckFailed(ex, f"the gradients dict is missing {missing}; it has {sorted(got)}.")


def recognise_backward_bug(got: dict, wrong: list, case) -> str | None:
    """The catalogued bug whose two-layer backward explains every wrong gradient in ``got``.

    A bug in one piece only spoils the gradients downstream of it, so it is named when each
    wrong gradient is what the buggy network gives for that gradient."""
    for candidate in bugs.CATALOGUE.values():
        if candidate.target in ("forward", "softmax", "leaky_relu_backward"):
            continue
        _, bwd = candidate.network("relu")
        try:
            with quiet():
                buggy = bwd(case.params, copy.deepcopy(case.cache), case.Y)
        except Exception:
            continue
        if all(k in buggy and matches(got[k], buggy[k]) for k in wrong):
            return candidate.name
    return None


def check_backward(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(params, cache, Y: (N, C)) -> grads {"W1", "b1", "W2", "b2"} with the params' shapes."""
    ex = "backward"
    cases = network_cases(hidden, seed)
    for case in cases:
        cache_before = copy.deepcopy(case.cache)
        got, copies = call(ex, fn, case.params, case.cache, case.Y)
        args_after = copies[0]
        mutated = [k for k in cache_before if not np.array_equal(cache_before[k], args_after[1][k])]
        if mutated:
            raise CheckFailed(ex, f"backward changed the cache entries {mutated} in place. Treat cached tensors as "
                              "read-only and allocate new arrays for gradients.", bug="in_place_cache_mutation")
        check_not_mutated(ex, (case.params,), (args_after[:1], {}), ["params"])
        validate_grads_dict(ex, got)
        expected = mlp.backward(case.params, case.cache, case.Y)
        upstream = _upstream(case)
        for key, dZ in (("b2", upstream["dZ2"]), ("b1", upstream["dZ1"])):
            axis_message = _bias_axis_message(f"grads[{key!r}] for {case.label}", got[key], expected[key], dZ)
            if axis_message:
                raise CheckFailed(ex, axis_message)
        wrong = _grads_message(case, got, expected)
        if not wrong:
            continue
        bug = recognise_backward_bug(got, wrong, case)
        first = wrong[0]
        try:
            compare(ex, f"grads[{first!r}] for {case.label}", got[first], expected[first], batch=case.N)
        except CheckFailed as failure:
            msg = str(failure).split(": ", 1)[1]
            raise CheckFailed(ex, f"{msg}\n  Wrong gradients: {wrong}.", bug=bug) from None
    passed(ex, len(cases))


def check_sgd_step(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(params, grads, lr) updates params in place: theta <- theta - lr * grad."""
    ex = "sgd_step"
    rng = np.random.default_rng(seed)
    cases = network_cases(hidden, seed)
    for case in cases:
        params = copy.deepcopy(case.params)
        ids = {k: id(v) for k, v in params.items()}
        grads = mlp.backward(params, case.cache, case.Y)
        lr = float(rng.uniform(0.05, 1.0))
        expected = {k: case.params[k] - lr * grads[k] for k in params}
        grads_before = copy.deepcopy(grads)
        with quiet():
            returned = fn(params, grads, lr)
        if all(np.array_equal(params[k], case.params[k]) for k in params):
            extra = (" It returned a new dict, which the caller ignores." if isinstance(returned, dict) else "")
            raise CheckFailed(ex, f"the parameters are unchanged after a step with lr={lr:.3f}.{extra} Update every "
                              "array in place, params[name] -= lr * grads[name], so that everyone holding params "
                              "sees the step.")
        for k in params:
            if id(params[k]) != ids[k]:
                raise CheckFailed(ex, f"params[{k!r}] was replaced by a new array; update it in place "
                                  f"(params[{k!r}] -= ...) so that other references see the step.")
            compare(ex, f"params[{k!r}] after one step with lr={lr:.3f}", params[k], expected[k])
        check_not_mutated(ex, (grads_before,), ((grads,), {}), ["grads"])
    passed(ex, len(cases))
