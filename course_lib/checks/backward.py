"""Checkers for notebook 03, the backward pass (syllabus section 3), and the judging of a whole
two-layer backward pass that notebook 05's ``fixed_backward`` shares."""
from __future__ import annotations

from itertools import permutations

import numpy as np

from .. import mlp
from ..activations import relu, relu_backward
from ..affine import affine_backward
from ..losses import softmax_cross_entropy_backward
from ..snapshot import copy_data
from .cases import network_cases
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, passed
from .recognise import Variant, catalogued, first_match, matches, network_variants

__all__ = ["check_softmax_cross_entropy_backward", "check_output_layer_backward", "check_relu_backward",
           "check_hidden_layer_backward", "check_backward", "check_sgd_step", "judge_two_layer_backward"]

# The role of each gradient, for the diagnosis of its shape and scale.
ROLES = {"W1": "weight_grad", "b1": "bias_grad", "W2": "weight_grad", "b2": "bias_grad",
         "dW": "weight_grad", "db": "bias_grad", "dX": "grad"}


def check_softmax_cross_entropy_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(Yhat: (N, C), Y: (N, C) one-hot) -> dZ2: (N, C) = (Yhat - Y) / N."""
    ex = "softmax_cross_entropy_backward"
    cases = network_cases(hidden, seed)
    for case in cases:
        done = call(ex, fn, case.Yhat, case.Y, on=f"Yhat: {case.Yhat.shape}, Y: {case.Y.shape} ({case.label})")
        mutated = unchanged({"Yhat": case.Yhat, "Y": case.Y}, dict(zip(("Yhat", "Y"), done.args)), cache=("Yhat",))
        Yhat, Y, N = case.Yhat, case.Y, case.N
        variants = catalogued("softmax_cross_entropy_backward", lambda bug: bug.variant(Yhat.copy(), Y))
        variants += [Variant("That is Y - Yhat: the gradient is (Yhat - Y) / N.", lambda: (Y - Yhat) / N),
                     Variant("The softmax was applied a second time: Yhat already holds the probabilities.",
                             lambda: (np.exp(Yhat) / np.exp(Yhat).sum(axis=1, keepdims=True) - Y) / N)]
        finish(ex, [mutated, check_array(f"dZ2 for {case.label}", done.result,
                                         softmax_cross_entropy_backward(Yhat, Y), role="delta", N=N, C=case.C,
                                         variants=variants)], case.label)
    return passed(ex, len(cases))


def _order_hint(got, expected, names) -> str:
    """A sentence when the returned arrays are the expected ones in another order."""
    if len(got) != len(expected):
        return ""
    for order in permutations(range(len(expected))):
        if order != tuple(range(len(expected))) and all(matches(got[i], expected[j]) for i, j in enumerate(order)):
            return f"The gradients are right but in the wrong order: return ({', '.join(names)})."
    return ""


def _check_affine_grads(ex, fn, inputs_of, names, keys, hidden, seed):
    """Shared by the output and hidden layer checkers: fn(*inputs_of(case)) must equal the
    reference affine_backward's gradients, picked and ordered by ``keys`` ("dX", "dW", "db"),
    shown to the student as ``names``."""
    cases = network_cases(hidden, seed)
    for case in cases:
        dZ, A, W = inputs_of(case)
        args = (dZ, A, W) if W is not None else (dZ, A)
        arg_names = ["dZ", "A", "W"][: len(args)]
        done = call(ex, fn, *args, on=", ".join(f"{n}: {a.shape}" for n, a in zip(arg_names, args)) + f" ({case.label})")
        got = done.result
        mutated = unchanged(dict(zip(arg_names, args)), dict(zip(arg_names, done.args)))
        if not isinstance(got, (tuple, list)) or len(got) != len(names):
            fail(ex, f"should return a tuple of {len(names)} arrays ({', '.join(names)}), got {describe(got)}.",
                 [f"End with `return {', '.join(names)}`."], case=case.label, status="error")
        W_ref = W if W is not None else np.zeros((A.shape[1], dZ.shape[1]))

        def pick(result):
            return tuple(dict(zip(("dX", "dW", "db"), result))[k] for k in keys)

        expected = pick(affine_backward(dZ, (A, W_ref)))
        extra = {"dW": [Variant("It is the transpose of (layer input)^T @ dZ: with a square W the shapes agree, but "
                                "dW = A.T @ dZ.", lambda: (A.T @ dZ).T if A.shape[1] == dZ.shape[1] else None)],
                 "dX": [Variant("dA = dZ @ W.T: the transpose of W carries the gradient back (with a square W the "
                                "shapes agree without it).", lambda: dZ @ W_ref if W_ref.shape[0] == W_ref.shape[1] else None)],
                 "db": [Variant("It was summed over axis 1, the units: a bias gradient sums over the batch, "
                                "dZ.sum(axis=0) (section 3.2).", lambda: dZ.sum(axis=1) if dZ.shape[0] == dZ.shape[1] else None)]}
        findings = [mutated]
        for name, key, g, e in zip(names, keys, got, expected):
            findings.append(check_array(f"{name} for {case.label}", g, e, role=ROLES[key], N=case.N, variants=extra[key]))
        if any(findings[1:]):
            whole = first_match(tuple(got), catalogued("affine_backward",
                                                       lambda bug: pick(bug.variant(dZ.copy(), (A.copy(), W_ref.copy())))),
                                expected)
            order = _order_hint(got, expected, names)
            if order:
                findings = [mutated, Finding(f"the gradients for {case.label} come back in the wrong order.", [order])]
            elif whole is not None:
                findings.append(Finding("", [whole.hint], whole.bug))
        finish(ex, [f for f in findings if f is not None and (f.message or f.hints)], case.label)
    return passed(ex, len(cases))


def check_output_layer_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(dZ2: (N, C), A1: (N, d1), W2: (d1, C)) -> (dW2: (d1, C), db2: (C,), dA1: (N, d1))."""
    def inputs(case):
        return softmax_cross_entropy_backward(case.Yhat, case.Y), case.cache["A1"], case.params["W2"]
    return _check_affine_grads("output_layer_backward", fn, inputs, ["dW2", "db2", "dA1"], ("dW", "db", "dX"),
                               hidden, seed)


def _upstream(case) -> dict:
    """The reference's intermediate gradients for a case: dZ2, dA1 and dZ1."""
    dZ2 = softmax_cross_entropy_backward(case.Yhat, case.Y)
    dA1 = dZ2 @ case.params["W2"].T
    return {"dZ2": dZ2, "dA1": dA1, "dZ1": relu_backward(dA1, case.cache["Z1"])}


def check_hidden_layer_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(dZ1: (N, d1), X: (N, d0)) -> (dW1: (d0, d1), db1: (d1,))."""
    def inputs(case):
        return _upstream(case)["dZ1"], case.X, None
    return _check_affine_grads("hidden_layer_backward", fn, inputs, ["dW1", "db1"], ("dW", "db"), hidden, seed)


def relu_backward_variants(dA: np.ndarray, Z: np.ndarray) -> list[Variant]:
    """Wrong ReLU backward passes for (dA, Z), each with what to do about it."""
    out = catalogued("relu_backward", lambda bug: bug.variant(dA.copy(), Z.copy()))
    out += [Variant("Where Z is exactly 0 the gate must be closed: the mask is 1[Z > 0], strictly greater.",
                    lambda: dA * (Z >= 0)),
            Variant("It multiplies by Z itself; the ReLU's derivative is the 0/1 gate 1[Z > 0].", lambda: dA * Z),
            Variant("It multiplies by relu(Z); the ReLU's derivative is the 0/1 gate 1[Z > 0].", lambda: dA * relu(Z)),
            Variant("That is the gate alone: multiply it by the upstream gradient dA.", lambda: (Z > 0).astype(float)),
            Variant("The gate is missing: dZ = dA * (Z > 0).", lambda: dA.copy()),
            Variant("The gate is inverted: it must pass the gradient where Z > 0.", lambda: dA * (Z <= 0))]
    return out


def check_relu_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(dA1: (N, d1), Z1: (N, d1)) -> dZ1: (N, d1), the gate taken from Z1 > 0."""
    ex = "relu_backward"
    cases = network_cases(hidden, seed)
    for case in cases:
        dA1, Z1 = _upstream(case)["dA1"], case.cache["Z1"]
        done = call(ex, fn, dA1, Z1, on=f"dA1: {dA1.shape}, Z1: {Z1.shape} ({case.label})")
        mutated = unchanged({"dA1": dA1, "Z1": Z1}, dict(zip(("dA1", "Z1"), done.args)), cache=("Z1",),
                            read_only="Return a new array (dA1 * (Z1 > 0)); `dA1[Z1 <= 0] = 0` writes into the "
                                      "upstream gradient, which its caller may still need.")
        finish(ex, [mutated, check_array(f"dZ1 for {case.label}", done.result, relu_backward(dA1, Z1),
                                         variants=relu_backward_variants(dA1, Z1))], case.label)
    return passed(ex, len(cases))


# ------------------------------------------------------------- whole backward
def validate_grads_dict(ex: str, got, case: str = "") -> None:
    """A two-layer backward must return a dict with the four gradients W1, b1, W2, b2."""
    if not isinstance(got, dict):
        fail(ex, f"should return a dict with keys W1, b1, W2, b2, got {describe(got)}.", case=case, status="error")
    missing = [k for k in mlp.PARAM_NAMES if k not in got]
    if missing:
        near = {k: m for m in missing for k in got if isinstance(k, str) and k.lstrip("d").lower() == m.lower()}
        hint = (f"Name the gradients after their parameters: {near} should be {list(near.values())}."
                if near else "The gradients dict has the keys of params.")
        fail(ex, f"the gradients dict is missing {missing}; it has {sorted(map(str, got))}.", [hint], case=case,
             status="error")


def _network_slips(case) -> list[Variant]:
    """Uncatalogued mistakes in a whole two-layer backward, as the grads they give on ``case``."""
    p, c, Y = case.params, case.cache, case.Y

    def grads(dZ1_of, A_for_W2="A1"):
        dZ2 = (c["Yhat"] - Y) / case.N
        dA1 = dZ2 @ p["W2"].T
        dZ1 = dZ1_of(dA1)
        return {"W1": c["X"].T @ dZ1, "b1": dZ1.sum(axis=0), "W2": c[A_for_W2].T @ dZ2, "b2": dZ2.sum(axis=0)}

    return [Variant("The ReLU gate is missing: dZ1 = dA1 * (Z1 > 0).", lambda: grads(lambda dA: dA)),
            Variant("Where Z1 is exactly 0 the gate must be closed: the mask is 1[Z1 > 0], strictly greater.",
                    lambda: grads(lambda dA: dA * (c["Z1"] >= 0))),
            Variant("dW2 = A1^T dZ2 reads the activation A1, not the pre-activation Z1.",
                    lambda: grads(lambda dA: dA * (c["Z1"] > 0), "Z1"))]


def judge_two_layer_backward(ex: str, fn, case, label: str | None = None) -> None:
    """Call a two-layer backward(params, cache, Y) on ``case`` and raise CheckFailed with every
    problem seen: inputs changed (values, rebound entries, new keys), a malformed result, each wrong
    gradient with its own diagnosis, and the catalogued bug that explains all the wrong ones."""
    label = label or case.label
    done = call(ex, fn, case.params, case.cache, case.Y, on=label)
    params_after, cache_after, Y_after = done.args
    mutated = unchanged({"params": case.params, "cache": case.cache, "Y": case.Y},
                        {"params": params_after, "cache": cache_after, "Y": Y_after}, cache=("cache",))
    got = done.result
    if mutated is not None and not isinstance(got, dict):
        finish(ex, [mutated], label)
    validate_grads_dict(ex, got, label)
    expected = mlp.backward(case.params, case.cache, case.Y)
    upstream = _upstream(case)
    findings = {}
    for key in mlp.PARAM_NAMES:
        dZ = upstream["dZ2"] if key.endswith("2") else upstream["dZ1"]
        variants = [Variant("It was summed over axis 1, the units: a bias gradient sums over the batch, "
                            "dZ.sum(axis=0) (section 3.2).", lambda dZ=dZ: dZ.sum(axis=1) if dZ.shape[0] == dZ.shape[1]
                            else None)] if key.startswith("b") else []
        findings[key] = check_array(f"grads[{key!r}] for {label}", got[key], expected[key], role=ROLES[key],
                                    N=case.N, variants=variants)
    wrong = [k for k, f in findings.items() if f is not None]
    out = [mutated] + [findings[k] for k in wrong]
    if wrong:
        summary = ("  All four gradients are wrong." if len(wrong) == len(mlp.PARAM_NAMES) else
                   f"  Wrong gradients: {wrong}; the others are right.")
        whole = first_match(got, network_variants(lambda bug: bug.network("relu")[1](case.params, copy_data(case.cache),
                                                                                      case.Y))
                            + _network_slips(case), expected, keys=wrong)
        if whole is not None:
            out.append(Finding(summary, [whole.hint], whole.bug))
        elif len(wrong) > 1:
            out.append(Finding(summary,
                               ["A mistake early in the backward pass (at dZ2) spoils every gradient after it; "
                                "one late (at dZ1) spoils W1 and b1 only: fix the earliest wrong one first."]))
    finish(ex, out, label)


def check_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(params, cache, Y: (N, C)) -> grads {"W1", "b1", "W2", "b2"} with the params' shapes."""
    cases = network_cases(hidden, seed)
    for case in cases:
        judge_two_layer_backward("backward", fn, case)
    return passed("backward", len(cases))


# ------------------------------------------------------------------- sgd_step
def check_sgd_step(fn, hidden: bool = False, seed: int = 0):
    """fn(params, grads, lr) updates params in place: theta <- theta - lr * grad."""
    ex = "sgd_step"
    rng = np.random.default_rng(seed)
    cases = network_cases(hidden, seed)
    for case in cases:
        params = copy_data(case.params)
        alias = dict(params)  # a second holder of the same arrays: an in-place step reaches it too
        grads = mlp.backward(case.params, case.cache, case.Y)
        grads_given = copy_data(grads)
        lr = float(rng.uniform(0.05, 1.0))
        on = f"lr={lr:.3f}, {case.label}"
        expected = {k: case.params[k] - lr * grads[k] for k in params}
        done = call(ex, fn, params, grads_given, lr, on=on, copy=False)
        findings = [unchanged({"grads": grads}, {"grads": grads_given},
                              read_only="Read the gradients, never write into them.")]
        if sorted(params) != sorted(expected):
            findings.append(Finding(f"after the step params has the keys {sorted(map(str, params))}, expected "
                                    f"{sorted(expected)}.", ["Update the four arrays; add no keys to params."]))
        elif all(np.array_equal(params[k], case.params[k]) for k in expected):
            extra = ["It returned a new dict, which the caller ignores."] if isinstance(done.result, dict) else []
            findings.append(Finding(f"the parameters are unchanged after a step with {on}.",
                                    extra + ["Update every array in place, params[name] -= lr * grads[name], so that "
                                             "everyone holding params sees the step."]))
        else:
            for k in expected:
                variants = [Variant("It moved up the gradient: theta <- theta - lr * grad.",
                                    lambda k=k: case.params[k] + lr * grads[k]),
                            Variant("The learning rate is missing: theta <- theta - lr * grad.",
                                    lambda k=k: case.params[k] - grads[k]),
                            Variant("It uses another learning rate than the lr argument.",
                                    lambda k=k: case.params[k] - 0.1 * grads[k])]
                findings.append(check_array(f"params[{k!r}] after one step with {on}", params[k], expected[k],
                                            variants=variants))
            stale = [k for k in expected if not matches(alias[k], expected[k], rtol=1e-12, atol=1e-14)]
            if not any(findings[1:]) and stale:
                findings.append(Finding(f"{', '.join(f'params[{k!r}]' for k in stale)} "
                                        f"{'was' if len(stale) == 1 else 'were'} replaced by new arrays: another "
                                        "holder of the old arrays still sees the parameters before the step.",
                                        [f"Update in place (params[{stale[0]!r}] -= lr * grads[{stale[0]!r}]), "
                                         "not params[name] = params[name] - ..., which rebinds the entry."]))
        finish(ex, findings, case.label)
    return passed(ex, len(cases))
