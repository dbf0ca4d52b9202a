"""Checkers for notebook 07's layer classes, Linear, ReLU and Tanh (syllabus section 7), and the checks
every layer-like object shares: forward and backward against :mod:`course_lib.layers`, nothing kept on
``self`` by a forward pass, the cache left as forward made it, and the interleaved-forward test.

A layer has ``forward(x) -> (out, cache)`` and ``backward(dout, cache) -> (dx, param_grads)``;
the student's object is only called and has attributes read (see :mod:`.core`).
"""
from __future__ import annotations

import copy

import numpy as np

from .. import layers
from ..losses import softmax_cross_entropy_backward
from ..snapshot import changes, copy_data
from .backward import relu_backward_variants
from .cases import network_cases
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, interleaved_forward, method, object_state, passed, state_changes
from .recognise import Variant, catalogued, first_match

__all__ = ["check_Linear", "check_ReLU", "check_Tanh"]

GRAD_ROLES = {"W": "weight_grad", "b": "bias_grad"}


# ------------------------------------------------------------------ test cases
class _LayerCase:
    """One layer's input x, a second input x_other of the same shape, the upstream gradient
    dout, and the constructor arguments, all taken from a real forward and backward pass."""

    def __init__(self, label, x, dout, args, rng):
        self.label, self.x, self.dout, self.args = label, x, dout, args
        self.x_other = rng.standard_normal(x.shape)


def _layer_cases(kind: str, hidden: bool, seed: int) -> list[_LayerCase]:
    rng = np.random.default_rng(seed + 1)
    cases = []
    for case in network_cases(hidden, seed):
        dZ2 = softmax_cross_entropy_backward(case.Yhat, case.Y)
        dA1 = dZ2 @ case.params["W2"].T
        Z1 = case.cache["Z1"]
        if kind == "linear":
            dZ1 = layers.ReLU().backward(dA1, Z1)[0]
            cases.append(_LayerCase(f"the first layer of {case.label}", case.X, dZ1,
                                    (case.params["W1"], case.params["b1"]), rng))
            cases.append(_LayerCase(f"the output layer of {case.label}", case.cache["A1"], dZ2,
                                    (case.params["W2"], case.params["b2"]), rng))
        else:
            cases.append(_LayerCase(f"the hidden layer of {case.label}", Z1, dA1, (), rng))
    return cases


# --------------------------------------------------------------- shared checks
def _pair(ex: str, result, what: str, names: str, case: str):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(ex, f"{what} should return a pair {names}, got {describe(result)}.", [f"End with `return {names[1:-1]}`."],
             case=case, status="error")
    return result


def _state_finding(ex: str, params_before, params_after, before, after, what: str) -> Finding | None:
    """What a forward pass changed on its object: its parameters, or state kept for backward (stale cache)."""
    changed = state_changes(before, after)
    if not changed:
        return None
    param_changes = changes(params_before, params_after, "self.params") if params_before is not None else []
    if param_changes and set(changed) <= {"params"}:
        return Finding(f"{what} changed its parameters: {', '.join(map(str, param_changes))}.",
                       ["forward must leave self.params as they were: b of shape (d_out,) broadcasts across the "
                        "rows as it is, so no reshape is needed (and a reshape stored back changes the layer)."])
    stored = [c for c in changed if c != "params"]
    return Finding(f"{what} changed self.{', self.'.join(stored or changed)}.",
                   ["A forward pass must keep nothing on self: return everything backward needs in the cache, so "
                    "that a second forward pass cannot overwrite it before the first one's backward (section 5.3)."],
                   "stale_cache")


def _read_params(obj):
    try:
        return copy_data(getattr(obj, "params", None))
    except Exception:
        return None


def _check_params(ex: str, layer, reference, case: str) -> list:
    try:
        params = getattr(layer, "params", None)
    except Exception:
        params = None
    if not isinstance(params, dict):
        keys = "empty" if not reference.params else f"with keys {sorted(reference.params)}"
        fail(ex, f"a {ex} layer should keep its parameters in self.params, a dict ({keys}); got {describe(params)}.",
             case=case, status="error")
    if sorted(map(str, params)) != sorted(reference.params):
        fail(ex, f"self.params should have the keys {sorted(reference.params)}, got {sorted(map(str, params))}.",
             case=case, status="error")
    return [check_array(f"self.params[{k!r}]", params[k], reference.params[k]) for k in reference.params]


def _arg(a) -> str:
    """A constructor argument in a case's label: an array by its shape, anything else (a slope) as itself."""
    return f"{a.shape}" if isinstance(a, np.ndarray) else repr(a)


def _check_layer(ex: str, cls, reference_cls, cases: list[_LayerCase], variants_of=None):
    """The checks every layer class shares: forward, backward, no state, two forwards then one backward.

    variants_of(case, expected_dx, expected_grads) -> known wrong (dx, grads) answers for that case.
    """
    for case in cases:
        on = case.label
        reference = reference_cls(*copy.deepcopy(case.args))
        layer = call(ex, cls, *case.args, on=f"{ex}({', '.join(_arg(a) for a in case.args)}) for {on}").result
        finish(ex, _check_params(ex, layer, reference, on), on)
        forward, backward = method(ex, layer, "forward", on), method(ex, layer, "backward", on)
        params_before, before = _read_params(layer), object_state(layer)
        fwd = call(ex, forward, case.x, on=f"forward on {on}")
        state = _state_finding(ex, params_before, _read_params(layer), before, object_state(layer), "forward")
        out, cache = _pair(ex, fwd.result, "forward", "(out, cache)", on)
        exp_out, exp_cache = reference.forward(case.x)
        finish(ex, [unchanged({"x": case.x}, {"x": fwd.args[0]}), state,
                    check_array(f"forward's out for {on}", out, exp_out)], on)
        cache_before = copy_data(cache)
        bwd = call(ex, backward, case.dout, cache, on=f"backward on {on}")
        dx, grads = _pair(ex, bwd.result, "backward", "(dx, param_grads)", on)
        exp_dx, exp_grads = reference.backward(case.dout, exp_cache)
        findings = [unchanged({"dout": case.dout}, {"dout": bwd.args[0]}),
                    unchanged({"cache": cache_before}, {"cache": bwd.args[1]}, cache=("cache",))]
        if not isinstance(grads, dict) or sorted(map(str, grads)) != sorted(exp_grads):
            want = "{}" if not exp_grads else f"a dict with keys {sorted(exp_grads)}"
            fail(ex, f"backward's param_grads should be {want}, got {describe(grads)}.", case=on, status="error")
        N = case.x.shape[0]
        wrong = [check_array(f"backward's dx for {on}", dx, exp_dx, role="grad", N=N)]
        wrong += [check_array(f"backward's d{k} for {on}", grads[k], exp_grads[k], role=GRAD_ROLES.get(k), N=N)
                  for k in exp_grads]
        if any(wrong) and variants_of is not None:
            match = first_match((dx, dict(grads)), variants_of(case, exp_dx, exp_grads), (exp_dx, exp_grads))
            if match is not None:
                wrong.append(Finding("", [match.hint], match.bug))
        finish(ex, findings + wrong, on)

        def observe(result, dout=case.dout, backward=backward, on=on):
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                return None
            return copy_data(call(ex, backward, dout, copy_data(result[1]), on=f"backward on {on}").result)
        finish(ex, [interleaved_forward(ex, forward, case.x, case.x_other, observe, on=on,
                                        what="the gradients of backward with the cache")], on)
    return passed(ex, len(cases))


# ------------------------------------------------------------------- checkers
def check_Linear(cls, hidden: bool = False, seed: int = 0):
    """cls(W: (d_in, d_out), b: (d_out,)) with forward(x: (N, d_in)) -> (out: (N, d_out), cache)
    and backward(dout: (N, d_out), cache) -> (dx: (N, d_in), {"W": dW, "b": db})."""
    def variants_of(case, exp_dx, exp_grads):
        def as_layer(bug):
            dx, dW, db = bug.variant(case.dout.copy(), (case.x.copy(), case.args[0].copy()))
            return dx, {"W": dW, "b": db}
        return catalogued("affine_backward", as_layer)
    return _check_layer("Linear", cls, layers.Linear, _layer_cases("linear", hidden, seed), variants_of)


def check_ReLU(cls, hidden: bool = False, seed: int = 0):
    """cls() with forward(x) -> (max(0, x), cache) and backward(dout, cache) -> (dx, {}); any shape."""
    def variants_of(case, exp_dx, exp_grads):
        return [Variant(v.hint.replace("Z", "x").replace("dA", "dout"), (lambda v=v: (v.compute(), {})), v.bug)
                for v in relu_backward_variants(case.dout, case.x)]
    return _check_layer("ReLU", cls, layers.ReLU, _layer_cases("activation", hidden, seed), variants_of)


def check_Tanh(cls, hidden: bool = False, seed: int = 0):
    """cls() with forward(x) -> (tanh(x), cache) and backward(dout, cache) -> (dx, {}); any shape."""
    def variants_of(case, exp_dx, exp_grads):
        x, d = case.x, case.dout
        return [Variant("It equals dout * (1 - x**2) with the input x; the derivative is 1 - tanh(x)**2, one minus "
                        "the square of the layer's output.", lambda: (d * (1 - x ** 2), {})),
                Variant("It equals dout * tanh(x)**2; the derivative of tanh is 1 - tanh(x)**2.",
                        lambda: (d * np.tanh(x) ** 2, {})),
                Variant("It equals dout * (1 - tanh(x)); the derivative is 1 - tanh(x)**2, with the square.",
                        lambda: (d * (1 - np.tanh(x)), {})),
                Variant("It equals dout * (1 - tanh(tanh(x))**2): backward applied tanh to a cache that already "
                        "holds the output tanh(x).", lambda: (d * (1 - np.tanh(np.tanh(x)) ** 2), {}))]
    return _check_layer("Tanh", cls, layers.Tanh, _layer_cases("activation", hidden, seed), variants_of)
