"""Checkers for notebook 07, networks of any depth (syllabus section 7), and the helpers it uses.

The student writes layer classes with ``forward(x) -> (out, cache)`` and
``backward(dout, cache) -> (dx, param_grads)``, a ``Sequential`` that walks them,
the loss-and-gradients glue, a training loop and a deep network for the spirals.
Every checker compares with :mod:`course_lib.layers` (and :mod:`course_lib.mlp`),
and checks the contract of section 5.3: forward keeps nothing on ``self`` that
backward reads, so two forward passes never disturb each other's backward pass.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import data, layers, mlp
from ..losses import accuracy, softmax, softmax_cross_entropy_backward
from .cases import network_cases
from .core import (CheckFailed, call_explained, check_not_mutated, compare, describe, matches, passed, quiet,
                   recognise)

__all__ = ["check_Linear", "check_ReLU", "check_Tanh", "check_Sequential", "check_sequential_loss_and_grads",
           "check_train_sequential", "check_fit_spirals"]

# Sequential of reference layers must reproduce course_lib.mlp to this precision (same operations).
EXACT = 1e-12
# fit_spirals must classify this share of the training points (and, hidden, of a fresh draw).
SPIRALS_TRAIN_ACCURACY = 0.95
SPIRALS_FRESH_ACCURACY = 0.90
MIN_HIDDEN_LAYERS = 3


# ------------------------------------------------------------- notebook helpers
def initial_weights(sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) for each layer of widths ``sizes`` = [d0, d1, ..., C]: W: (d_in, d_out), b: (d_out,).

    He initialisation for hidden layers, Xavier-like for the last, as
    :func:`course_lib.layers.mlp_stack` draws them from ``default_rng(seed)``.
    """
    stack = layers.mlp_stack(sizes, seed=seed)
    return [(layer.params["W"], layer.params["b"]) for layer in stack.layers if layer.params]


def build_stack(sizes: list[int], linear: type, activation: type, sequential: type, seed: int = 0):
    """sequential([linear(W, b), activation(), ..., linear(W, b)]) for widths ``sizes`` = [d0, ..., C],
    with the weights of :func:`initial_weights`; the last layer has no activation (it gives logits)."""
    stack = []
    for W, b in initial_weights(sizes, seed):
        stack += [linear(W, b), activation()]
    return sequential(stack[:-1])


def reference_loss_and_grads(model, X: np.ndarray, labels: np.ndarray) -> tuple[float, dict]:
    """Mean cross entropy of the model's logits on (X: (N, d0), labels: (N,)) and the gradient
    of every parameter, keyed like ``model.named_params()``."""
    head = layers.SoftmaxCrossEntropy()
    logits, caches = model.forward(X)
    loss, head_cache = head.forward(logits, labels)
    _, grads = model.backward(head.backward(head_cache), caches)
    return loss, layers.Sequential.named_grads(grads)


def reference_train(model, X: np.ndarray, labels: np.ndarray, lr: float, steps: int) -> list[float]:
    """Full-batch gradient descent on ``model`` in place; the loss before each step."""
    losses = []
    for _ in range(steps):
        loss, grads = reference_loss_and_grads(model, X, labels)
        losses.append(loss)
        for name, p in model.named_params().items():
            p -= lr * grads[name]
    return losses


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


_ACTIVATIONS = [layers.ReLU, layers.Tanh, layers.LeakyReLU, layers.Sigmoid]


def _deep_layers(sizes: list[int], rng: np.random.Generator) -> list:
    """Reference layers Linear / activation / ... / Linear with varied activations."""
    out = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        out.append(layers.Linear.init(d_in, d_out, rng, gain=1.0 if i == len(sizes) - 2 else 2.0))
        out[-1].params["b"] = 0.1 * rng.standard_normal(d_out)
        if i < len(sizes) - 2:
            out.append(_ACTIVATIONS[i % len(_ACTIVATIONS)]())
    return out


def _network_cases(hidden: bool, seed: int) -> list[tuple[str, list, np.ndarray, np.ndarray, object]]:
    """(label, reference layers, X, labels, the two-layer Case or None) for the Sequential checks."""
    rng = np.random.default_rng(seed + 2)
    cases = []
    for case in network_cases(hidden, seed):
        p = case.params
        cases.append((f"[Linear, ReLU, Linear] on {case.label}",
                      [layers.Linear(p["W1"], p["b1"]), layers.ReLU(), layers.Linear(p["W2"], p["b2"])],
                      case.X, case.labels, case))
    shapes = [("depth 1: a single Linear layer, batch of 5", [4, 3], 5),
              ("depth 5: five Linear layers with ReLU, tanh, leaky ReLU and sigmoid", [3, 6, 5, 4, 6, 3], 7)]
    if hidden:
        shapes += [("depth 1 with a batch of 1 and two classes", [6, 2], 1),
                   ("depth 5 with a one-unit layer and a batch of 1", [5, 4, 1, 3, 2, 4], 1),
                   ("depth 6, non-square layers", [2, 9, 3, 7, 2, 8, 5], 6)]
    for label, sizes, N in shapes:
        X = rng.standard_normal((N, sizes[0]))
        cases.append((label, _deep_layers(sizes, rng), X, rng.integers(0, sizes[-1], N), None))
    return cases


# --------------------------------------------------------------- shared checks
def _state(obj) -> dict:
    """What an object holds, by value: its attributes, with arrays copied and containers walked.
    (By value, not identity: the grader may see the object through a proxy, where identities of
    containers are not kept; rebinding an attribute to an equal value changes nothing anyway.)"""
    def freeze(v):
        if isinstance(v, np.ndarray):
            return ("array", v.copy())
        if isinstance(v, dict):
            return ("dict", {k: freeze(x) for k, x in v.items()})
        if isinstance(v, (list, tuple)):
            return ("seq", [freeze(x) for x in v])
        if v is None or isinstance(v, (bool, int, float, str)):
            return ("value", v)
        if type(v).__module__.startswith("course_lib") and hasattr(v, "__dict__"):  # a reference layer
            return ("dict", {"__class__": ("value", type(v).__qualname__), **{k: freeze(x) for k, x in vars(v).items()}})
        return ("object", id(v))
    return {k: freeze(v) for k, v in getattr(obj, "__dict__", {}).items()}


def _same_state(a, b) -> bool:
    if not (isinstance(a, tuple) and isinstance(b, tuple)) or a[0] != b[0]:
        return a is None and b is None
    kind, x, y = a[0], a[1], b[1]
    if kind == "array":
        return x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
    if kind == "dict":
        return x.keys() == y.keys() and all(_same_state(x[k], y[k]) for k in x)
    if kind == "seq":
        return len(x) == len(y) and all(_same_state(p, q) for p, q in zip(x, y))
    return x == y


def _check_no_state(ex: str, obj, before: dict, what: str) -> None:
    after = _state(obj)
    changed = sorted(k for k in set(before) | set(after) if not _same_state(before.get(k), after.get(k)))
    if not changed:
        return
    raise CheckFailed(ex, f"{what} changed self.{', self.'.join(changed)}. A forward pass must keep nothing on self: "
                      "return everything backward needs in the cache, so that a second forward pass cannot "
                      "overwrite it before the first one's backward (section 5.3).", bug="stale_cache")


def _pair(ex: str, result, method: str, names: str):
    if not isinstance(result, tuple) or len(result) != 2:
        got = f"a tuple of length {len(result)}" if isinstance(result, tuple) else describe(result)
        raise CheckFailed(ex, f"{method} should return a pair {names}, got {got}.")
    return result


def _invoke(ex: str, method, *args, on: str, returns: str):
    """Call the student's ``method`` on copies of ``args``; return the pair it must return and the copies
    (to compare with ``args``). An exception in the student's code names the case it failed on."""
    result, copies = call_explained(ex, method, *args, on=on)
    return _pair(ex, result, getattr(method, "__name__", ex), returns), copies[0]


def _construct(ex: str, cls, args: tuple, on: str):
    if not isinstance(cls, type):
        raise CheckFailed(ex, f"expected a class, got {type(cls).__name__}. Write `class {ex}: ...`.")
    layer, _ = call_explained(ex, cls, *args, on=on)
    return layer


def _check_params(ex: str, layer, reference) -> None:
    params = getattr(layer, "params", None)
    if not isinstance(params, dict):
        keys = "empty" if not reference.params else f"with keys {sorted(reference.params)}"
        raise CheckFailed(ex, f"a {ex} layer should keep its parameters in self.params, a dict ({keys}); "
                          f"got {describe(params)}.")
    if sorted(params) != sorted(reference.params):
        raise CheckFailed(ex, f"self.params should have the keys {sorted(reference.params)}, got {sorted(params)}.")
    for k in params:
        compare(ex, f"self.params[{k!r}]", params[k], reference.params[k])


def _check_cache_kept(ex: str, before, after) -> None:
    """backward must leave the cache it was given as forward made it (section 5.6)."""
    if matches(before, before) and not matches(after, before):
        raise CheckFailed(ex, "backward changed the cache in place. Treat the cache as read-only and allocate "
                          "new arrays (section 5.6).", bug="in_place_cache_mutation")


def _check_layer(ex: str, cls, reference_cls, cases: list[_LayerCase], diagnose=None) -> None:
    """The checks every layer class shares: forward, backward, no state, two forwards then one backward.

    diagnose(case, (dx, grads)) -> (catalogued bug name or None, extra advice) explains a wrong backward.
    """
    for case in cases:
        on = case.label
        reference = reference_cls(*copy.deepcopy(case.args))
        layer = _construct(ex, cls, case.args, on)
        _check_params(ex, layer, reference)
        before = _state(layer)
        (out, cache), x_after = _invoke(ex, layer.forward, case.x, on=on, returns="(out, cache)")
        check_not_mutated(ex, (case.x,), (x_after, {}), ["x"])
        _check_no_state(ex, layer, before, "forward")
        exp_out, exp_cache = reference.forward(case.x)
        compare(ex, f"forward's out for {on}", out, exp_out)
        (dx, grads), (dout_after, cache_after) = _invoke(ex, layer.backward, case.dout, cache, on=on,
                                                         returns="(dx, param_grads)")
        check_not_mutated(ex, (case.dout,), ((dout_after,), {}), ["dout"])
        _check_cache_kept(ex, cache, cache_after)
        exp_dx, exp_grads = reference.backward(case.dout, exp_cache)
        if not isinstance(grads, dict) or sorted(grads) != sorted(exp_grads):
            want = "{}" if not exp_grads else f"a dict with keys {sorted(exp_grads)}"
            got = sorted(grads) if isinstance(grads, dict) else describe(grads)
            raise CheckFailed(ex, f"backward's param_grads should be {want}, got {got}.")
        try:
            compare(ex, f"backward's dx for {on}", dx, exp_dx, batch=case.x.shape[0])
            for k in exp_grads:
                compare(ex, f"backward's d{k} for {on}", grads[k], exp_grads[k], batch=case.x.shape[0])
        except CheckFailed as failure:
            bug, extra = diagnose(case, (dx, grads)) if diagnose else (None, "")
            raise CheckFailed(ex, str(failure).split(": ", 1)[1] + extra, bug=bug) from None
        # Two forward passes, then the first one's backward: it must still get the first batch's gradients.
        with quiet():
            _, cache_first = _pair(ex, layer.forward(case.x.copy()), "forward", "(out, cache)")
            layer.forward(case.x_other.copy())
            again = _pair(ex, layer.backward(case.dout.copy(), cache_first), "backward", "(dx, param_grads)")
        if not matches(again, (exp_dx, exp_grads)):
            raise CheckFailed(ex, f"after forward(x1), forward(x2), backward(dout, cache1) for {on}, the "
                              "gradients are not those of x1: backward reads something that the second forward "
                              "pass overwrote. Read every input of backward from its cache argument (section 5.3).",
                              bug="stale_cache")
    passed(ex, len(cases))


# ------------------------------------------------------------------- checkers
def check_Linear(cls, hidden: bool = False, seed: int = 0) -> None:
    """cls(W: (d_in, d_out), b: (d_out,)) with forward(x: (N, d_in)) -> (out: (N, d_out), cache)
    and backward(dout: (N, d_out), cache) -> (dx: (N, d_in), {"W": dW, "b": db})."""
    def diagnose(case, got):
        def as_layer(variant):
            dx, dW, db = variant(case.dout.copy(), (case.x.copy(), case.args[0].copy()))
            return dx, {"W": dW, "b": db}
        return recognise(got, "affine_backward", as_layer), ""
    _check_layer("Linear", cls, layers.Linear, _layer_cases("linear", hidden, seed), diagnose)


def check_ReLU(cls, hidden: bool = False, seed: int = 0) -> None:
    """cls() with forward(x) -> (max(0, x), cache) and backward(dout, cache) -> (dx, {}); any shape."""
    def diagnose(case, got):
        if np.any(case.x == 0) and matches(got[0], case.dout * (case.x >= 0)):
            return None, " Where x is exactly 0 the gate must be closed: the mask is 1[x > 0], strictly greater."
        return recognise(got[0], "relu_backward", lambda v: v(case.dout.copy(), case.x.copy())), ""
    _check_layer("ReLU", cls, layers.ReLU, _layer_cases("activation", hidden, seed), diagnose)


def check_Tanh(cls, hidden: bool = False, seed: int = 0) -> None:
    """cls() with forward(x) -> (tanh(x), cache) and backward(dout, cache) -> (dx, {}); any shape."""
    def diagnose(case, got):
        if matches(got[0], case.dout * (1 - case.x ** 2)):
            return None, (" It equals dout * (1 - x**2) with the input x; the derivative is 1 - tanh(x)**2, "
                          "one minus the square of the layer's output.")
        if matches(got[0], case.dout * np.tanh(case.x) ** 2):
            return None, " It equals dout * tanh(x)**2; the derivative of tanh is 1 - tanh(x)**2."
        return None, ""
    _check_layer("Tanh", cls, layers.Tanh, _layer_cases("activation", hidden, seed), diagnose)


def _sequential_grads_hint(grads, expected) -> str:
    if isinstance(grads, (list, tuple)) and len(grads) == len(expected) and len(grads) > 1 \
            and matches(list(grads)[::-1], expected):
        return (" Your list is in reverse order: grads[i] must belong to layers[i]. Backward visits the layers "
                "from last to first, so fill the list by index or reverse it at the end.")
    return ""


def check_Sequential(cls, hidden: bool = False, seed: int = 0) -> None:
    """cls(layers) with forward(X) -> (out, caches) and backward(dout, caches) -> (dX, grads), where
    grads[i] is layers[i]'s dict of parameter gradients. Checked with course_lib's layers; the
    two-layer network must agree with course_lib.mlp to 1e-12."""
    ex = "Sequential"
    cases = _network_cases(hidden, seed)
    rng = np.random.default_rng(seed + 3)
    for label, layer_list, X, labels, two_layer in cases:
        reference = layers.Sequential(copy.deepcopy(layer_list))
        exp_out, exp_caches = reference.forward(X)
        dout = softmax_cross_entropy_backward(softmax(exp_out), labels)
        exp_dX, exp_grads = reference.backward(dout, exp_caches)
        if two_layer is not None:  # the reference Sequential is the syllabus's network
            mlp_grads = mlp.backward(two_layer.params, two_layer.cache, two_layer.Y)
            exp_grads = [{"W": mlp_grads["W1"], "b": mlp_grads["b1"]}, {},
                         {"W": mlp_grads["W2"], "b": mlp_grads["b2"]}]
        model = _construct(ex, cls, (layer_list,), label)
        if not hasattr(model, "forward") or not hasattr(model, "backward"):
            raise CheckFailed(ex, "a Sequential needs the methods forward(X) and backward(dout, caches).")
        before = _state(model)
        (out, caches), X_after = _invoke(ex, model.forward, X, on=label, returns="(out, caches)")
        check_not_mutated(ex, (X,), (X_after, {}), ["X"])
        _check_no_state(ex, model, before, "forward")
        compare(ex, f"forward's out for {label}", out, exp_out, rtol=EXACT, atol=EXACT)
        if two_layer is not None:
            compare(ex, f"softmax of forward's out for {label}, against course_lib.mlp.forward",
                    softmax(out), two_layer.Yhat, rtol=EXACT, atol=EXACT)
        (dX, grads), (dout_after, caches_after) = _invoke(ex, model.backward, dout, caches, on=label,
                                                          returns="(dX, grads)")
        check_not_mutated(ex, (dout,), ((dout_after,), {}), ["dout"])
        _check_cache_kept(ex, caches, caches_after)
        if not isinstance(grads, (list, tuple)) or len(grads) != len(layer_list):
            got = f"{len(grads)} entries" if isinstance(grads, (list, tuple)) else describe(grads)
            raise CheckFailed(ex, f"backward should return a list with one dict of gradients per layer "
                              f"({len(layer_list)} for {label}), got {got}.")
        if not matches(list(grads), exp_grads):
            hint = _sequential_grads_hint(grads, exp_grads)
            for i, (g, e) in enumerate(zip(grads, exp_grads)):
                if not isinstance(g, dict) or sorted(g) != sorted(e):
                    got = sorted(g) if isinstance(g, dict) else describe(g)
                    raise CheckFailed(ex, f"grads[{i}] should be layers[{i}]'s parameter gradients, a dict with "
                                      f"keys {sorted(e)}, got {got}.{hint}")
                for k in e:
                    try:
                        compare(ex, f"grads[{i}][{k!r}] for {label}", g[k], e[k], rtol=EXACT, atol=EXACT)
                    except CheckFailed as failure:
                        raise CheckFailed(ex, str(failure).split(": ", 1)[1] + hint) from None
        compare(ex, f"backward's dX for {label}", dX, exp_dX, rtol=EXACT, atol=EXACT)
        # Two forward passes, then the first one's backward.
        X_other = rng.standard_normal(X.shape)
        with quiet():
            _, caches_first = _pair(ex, model.forward(X.copy()), "forward", "(out, caches)")
            model.forward(X_other)
            dX1, grads1 = _pair(ex, model.backward(dout.copy(), caches_first), "backward", "(dX, grads)")
        if not matches((dX1, list(grads1)), (exp_dX, exp_grads)):
            raise CheckFailed(ex, f"after forward(X1), forward(X2), backward(dout, caches1) for {label}, the "
                              "gradients are not those of X1: backward must read only the caches it is given "
                              "(section 5.3).", bug="stale_cache")
    passed(ex, len(cases))


def _model_cases(hidden: bool, seed: int):
    """(label, reference Sequential, X, labels) for the loss and training checks."""
    rng = np.random.default_rng(seed + 4)
    shapes = [("[Linear, ReLU, Linear], batch of 6", [3, 5, 3], layers.ReLU, 6),
              ("three hidden tanh layers, batch of 8", [2, 6, 5, 4, 3], layers.Tanh, 8)]
    if hidden:
        shapes += [("a batch of 1", [4, 3, 3], layers.ReLU, 1),
                   ("two classes and a one-unit layer", [5, 4, 1, 2], layers.Tanh, 5),
                   ("four hidden ReLU layers, non-square", [7, 3, 8, 2, 6, 4], layers.ReLU, 9)]
    cases = []
    for label, sizes, act, N in shapes:
        model = layers.mlp_stack(sizes, act, seed=int(rng.integers(1 << 30)))
        for layer in model.layers:
            if layer.params:
                layer.params["b"] += 0.1 * rng.standard_normal(layer.params["b"].shape)
        cases.append((label, model, rng.standard_normal((N, sizes[0])), rng.integers(0, sizes[-1], N)))
    return cases


def check_sequential_loss_and_grads(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(model, X: (N, d0), labels: (N,)) -> (loss: float, grads: dict keyed like model.named_params())."""
    ex = "sequential_loss_and_grads"
    cases = _model_cases(hidden, seed)
    for label, model, X, labels in cases:
        exp_loss, exp_grads = reference_loss_and_grads(copy.deepcopy(model), X, labels)
        got, copies = call_explained(ex, fn, model, X, labels, on=label)
        check_not_mutated(ex, (X, labels), ((copies[0][1], copies[0][2]), {}), ["X", "labels"])
        if not matches(copies[0][0].named_params(), model.named_params()):
            raise CheckFailed(ex, "the function changed the model's parameters; it should only compute the loss "
                              "and the gradients.")
        loss, grads = _pair(ex, got, ex, "(loss, grads)")
        if not isinstance(loss, (float, np.floating)) and not (isinstance(loss, np.ndarray) and loss.shape == ()):
            raise CheckFailed(ex, f"loss should be a float, got {describe(loss)}.")
        compare(ex, f"the loss for {label}", np.asarray(loss, dtype=float), np.asarray(exp_loss))
        if not isinstance(grads, dict) or sorted(grads) != sorted(exp_grads):
            got = sorted(grads) if isinstance(grads, dict) else describe(grads)
            raise CheckFailed(ex, f"grads should be a dict with the keys of model.named_params(), "
                              f"{sorted(exp_grads)}; got {got}. model.named_grads(per_layer_grads) builds it.")
        for name in exp_grads:
            try:
                compare(ex, f"grads[{name!r}] for {label}", grads[name], exp_grads[name], batch=X.shape[0])
            except CheckFailed as failure:
                def with_variant(variant, model=model, X=X, labels=labels):
                    logits, caches = model.forward(X)
                    _, per_layer = model.backward(variant(softmax(logits), labels), caches)
                    return layers.Sequential.named_grads(per_layer)
                bug = recognise(grads, "softmax_cross_entropy_backward", with_variant)
                raise CheckFailed(ex, str(failure).split(": ", 1)[1], bug=bug) from None
    passed(ex, len(cases))


def _losses(ex: str, losses, steps: int | None = None) -> np.ndarray:
    """The returned losses as a float array, or a CheckFailed saying what was wrong with them."""
    want = f"one loss per step ({steps} for steps={steps})" if steps else "the loss of every training step"
    if not hasattr(losses, "__len__") or (steps is not None and len(losses) != steps):
        length = f" of length {len(losses)}" if hasattr(losses, "__len__") else ""
        raise CheckFailed(ex, f"should return {want}, got {describe(losses)}{length}.")
    try:
        return np.asarray([float(v) for v in losses])
    except (TypeError, ValueError):
        raise CheckFailed(ex, f"should return {want} as numbers, got {describe(losses)}.") from None


def check_train_sequential(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(model, X: (N, d0), labels: (N,), lr, steps) -> losses, one per step (before its update);
    updates the model's parameters in place by full-batch gradient descent."""
    ex = "train_sequential"
    rng = np.random.default_rng(seed + 5)
    cases = _model_cases(hidden, seed)
    for label, model, X, labels in cases:
        lr, steps = float(rng.uniform(0.1, 0.8)), int(rng.integers(3, 12))
        expected_model = copy.deepcopy(model)
        expected = np.asarray(reference_train(expected_model, X, labels, lr, steps))
        on = f"{label}, lr={lr:.3f}, {steps} steps"
        losses, copies = call_explained(ex, fn, model, X, labels, lr, steps, on=on)
        trained = copies[0][0]
        check_not_mutated(ex, (X, labels), (copies[0][1:3], {}), ["X", "labels"])
        losses = _losses(ex, losses, steps)
        if matches(trained.named_params(), model.named_params()):
            raise CheckFailed(ex, "the model's parameters did not change. `p = p - lr * g` only rebinds the name "
                              "p; update the arrays in place with `p -= lr * g`.")
        late = ""
        if steps > 1 and matches(losses[:-1], expected[1:]):
            late = " Each loss is one step late: record the loss computed before that step's update."
        try:
            compare(ex, f"the losses for {label} (lr={lr:.3f}, {steps} steps)", losses, expected)
        except CheckFailed as failure:
            raise CheckFailed(ex, str(failure).split(": ", 1)[1] + late) from None
        want = expected_model.named_params()
        for name, p in trained.named_params().items():
            compare(ex, f"parameter {name!r} after {steps} steps for {label}", p, want[name])
    passed(ex, len(cases))


def check_fit_spirals(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(X: (N, 2), labels: (N,)) -> (model, losses): a network with at least three hidden layers,
    trained on the spirals to classify at least 95% of the training points. Hidden: trained on
    the draw ``seed`` of the spirals, and at least 90% right on the next draw, which it never saw."""
    ex = "fit_spirals"
    draw = int(seed) if hidden else 0
    X, labels = data.spirals(seed=draw)
    got, _ = call_explained(ex, fn, X, labels, on=f"spirals(seed={draw})")
    model, losses = _pair(ex, got, "fit_spirals", "(model, losses)")
    linear = [layer for layer in getattr(model, "layers", []) if getattr(layer, "params", None)]
    if len(linear) < MIN_HIDDEN_LAYERS + 1:
        raise CheckFailed(ex, f"the model should have at least {MIN_HIDDEN_LAYERS} hidden layers, that is at least "
                          f"{MIN_HIDDEN_LAYERS + 1} Linear layers in model.layers; found {len(linear)}.")
    losses = _losses(ex, losses)
    if losses.size < 2 or not np.all(np.isfinite(losses)) or not losses[-1] < losses[0]:
        raise CheckFailed(ex, f"the loss should fall from step to step and stay finite; got {describe(losses)}.")
    scored = [(f"the training points of spirals(seed={draw})", X, labels, SPIRALS_TRAIN_ACCURACY)]
    if hidden:
        scored.append((f"a fresh draw, spirals(seed={draw + 1}), that it never saw",
                       *data.spirals(seed=draw + 1), SPIRALS_FRESH_ACCURACY))
    for what, X_eval, labels_eval, needed in scored:
        with quiet():
            share = accuracy(np.asarray(model.forward(X_eval)[0]), labels_eval)
        if share < needed:
            raise CheckFailed(ex, f"the trained model classifies {share:.1%} of {what}; at least {needed:.0%} is "
                              "needed. Try more steps, another learning rate or wider layers, and make sure the "
                              "choice works for other draws of the data too.")
    passed(ex, len(scored))
