"""Checkers for notebook 07, networks of any depth (syllabus section 7): ``Sequential``, the
loss-and-gradients glue, the training loop and a deep network for the spirals (the layer classes'
checkers are in :mod:`.layer`).

The student writes layer classes with ``forward(x) -> (out, cache)`` and
``backward(dout, cache) -> (dx, param_grads)``, a ``Sequential`` that walks them,
the loss-and-gradients glue, a training loop and a deep network for the spirals.
Every checker compares with :mod:`course_lib.layers` (and :mod:`course_lib.mlp`),
and checks the contract of section 5.3: forward keeps nothing on ``self`` that
backward reads, so two forward passes never disturb each other's backward pass.
The notebook's helpers (``initial_weights``, ``build_stack``) live in :mod:`course_lib.depth`
and the references (``reference_loss_and_grads``, ``reference_train``) in
:mod:`course_lib.references`; both are re-exported here.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import data, layers, mlp
from ..depth import build_stack, initial_weights  # noqa: F401 (re-exported for the notebook)
from ..losses import accuracy, one_hot, softmax, softmax_cross_entropy_backward
from ..references import reference_loss_and_grads, reference_train  # noqa: F401 (re-exported)
from ..snapshot import copy_data
from .cases import network_cases
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, interleaved_forward, method, object_state, passed, quiet
from .forward import cross_entropy_variants
from .layer import GRAD_ROLES, _pair, _read_params, _state_finding
from .layer import check_Linear, check_ReLU, check_Tanh  # noqa: F401 (the notebook's checks, in one place)
from .recognise import Variant, catalogued, first_match, matches

__all__ = ["check_Linear", "check_ReLU", "check_Tanh", "check_Sequential", "check_sequential_loss_and_grads",
           "check_train_sequential", "check_fit_spirals"]

# Sequential of reference layers must reproduce course_lib.mlp to this precision (same operations).
EXACT = 1e-12
# fit_spirals must classify this share of the training points (and, hidden, of a fresh draw).
SPIRALS_TRAIN_ACCURACY = 0.95
SPIRALS_FRESH_ACCURACY = 0.90
MIN_HIDDEN_LAYERS = 3
REVERSE_HINT = ("backward visits the layers from last to first (for i in reversed(range(len(self.layers)))), "
                "handing each layer's dx on as the next layer's dout.")


# ------------------------------------------------------------------ test cases
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



def _forward_walk(layer_list, dout, caches):
    """What a backward that visits the layers first to last returns (when the shapes allow it)."""
    grads = []
    for layer, cache in zip(layer_list, caches):
        dout, g = layer.backward(dout, cache)
        grads.append(g)
    return dout, grads


def check_Sequential(cls, hidden: bool = False, seed: int = 0):
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
        given = copy.deepcopy(layer_list)  # the checker's own layers, handed to the student's class
        model = call(ex, cls, given, on=f"Sequential(layers) for {label}").result
        forward, backward = method(ex, model, "forward", label), method(ex, model, "backward", label)
        before = object_state(model)
        fwd = call(ex, forward, X, on=f"forward on {label}")
        state = _state_finding(ex, None, None, before, object_state(model), "forward")
        out, caches = _pair(ex, fwd.result, "forward", "(out, caches)", label)
        findings = [unchanged({"X": X}, {"X": fwd.args[0]}), state,
                    check_array(f"forward's out for {label}", out, exp_out, rtol=EXACT, atol=EXACT)]
        if two_layer is not None and findings[-1] is None:
            findings.append(check_array(f"softmax of forward's out for {label}, against course_lib.mlp.forward",
                                        softmax(out), two_layer.Yhat, rtol=EXACT, atol=EXACT))
        finish(ex, findings, label)
        caches_before = copy_data(caches)
        bwd = call(ex, backward, dout, caches, on=f"backward on {label}", hint=f"Check the order: {REVERSE_HINT}")
        dX, grads = _pair(ex, bwd.result, "backward", "(dX, grads)", label)
        findings = [unchanged({"dout": dout}, {"dout": bwd.args[0]}),
                    unchanged({"caches": caches_before}, {"caches": bwd.args[1]}, cache=("caches",))]
        if not isinstance(grads, (list, tuple)) or len(grads) != len(layer_list):
            got = f"{len(grads)} entries" if isinstance(grads, (list, tuple)) else describe(grads)
            fail(ex, f"backward should return a list with one dict of gradients per layer ({len(layer_list)} for "
                 f"{label}), got {got}.", case=label, status="error")
        grads = list(grads)
        if len(grads) > 1 and not matches(grads, exp_grads) and matches(grads[::-1], exp_grads):
            finish(ex, findings + [Finding(f"backward's grads for {label} are right but in reverse order.",
                                           [f"grads[i] must belong to layers[i]. {REVERSE_HINT} Fill the list by index "
                                            "(grads[i] = ...) or reverse it at the end."])], label)
        for i, (g, e) in enumerate(zip(grads, exp_grads)):
            if not isinstance(g, dict) or sorted(map(str, g)) != sorted(e):
                findings.append(Finding(f"grads[{i}] should be layers[{i}]'s parameter gradients, a dict with keys "
                                        f"{sorted(e)}, got {describe(g)}.", status="error"))
                continue
            findings += [check_array(f"grads[{i}][{k!r}] for {label}", g[k], e[k], rtol=EXACT, atol=EXACT,
                                     role=GRAD_ROLES.get(k), N=X.shape[0]) for k in e]
        findings.append(check_array(f"backward's dX for {label}", dX, exp_dX, rtol=EXACT, atol=EXACT, role="grad"))
        if any(findings[2:]):
            walk = first_match((dX, grads), [Variant(f"It looks like backward walks the layers first to last: "
                                                     f"{REVERSE_HINT}",
                                                     lambda: _forward_walk(copy.deepcopy(layer_list), dout, exp_caches))],
                               (exp_dX, exp_grads))
            if walk is not None:
                findings.append(Finding("", [walk.hint]))
        finish(ex, findings, label)
        X_other = rng.standard_normal(X.shape)

        def observe(result, label=label, backward=backward, dout=dout):
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                return None
            return copy_data(call(ex, backward, dout, copy_data(result[1]), on=f"backward on {label}").result)
        finish(ex, [interleaved_forward(ex, forward, X, X_other, observe, on=label,
                                        what="the gradients of backward with the caches")], label)
    return passed(ex, len(cases))


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


def check_sequential_loss_and_grads(fn, hidden: bool = False, seed: int = 0):
    """fn(model, X: (N, d0), labels: (N,)) -> (loss: float, grads: dict keyed like model.named_params())."""
    ex = "sequential_loss_and_grads"
    cases = _model_cases(hidden, seed)
    for label, model, X, labels in cases:
        exp_loss, exp_grads = reference_loss_and_grads(copy.deepcopy(model), X, labels)
        guarded_loss, _ = reference_loss_and_grads(copy.deepcopy(model), X, labels, guarded=True)
        given = copy.deepcopy(model)
        done = call(ex, fn, given, X, labels, on=label)
        findings = [unchanged({"X": X, "labels": labels, "the model's parameters": model.named_params()},
                              {"X": done.args[1], "labels": done.args[2],
                               "the model's parameters": given.named_params()},
                              read_only="Only compute the loss and the gradients: the training loop updates the "
                                        "parameters.")]
        loss, grads = _pair(ex, done.result, ex, "(loss, grads)", label)
        if not (isinstance(loss, (int, float, np.floating)) or (type(loss) is np.ndarray and loss.shape == ())):
            fail(ex, f"loss should be a float, got {describe(loss)}.", case=label, status="error")
        N = X.shape[0]
        Yhat = softmax(copy.deepcopy(model).forward(X)[0])
        exp_loss = _exact_or_guarded(loss, exp_loss, guarded_loss)
        findings.append(check_array(f"the loss for {label}", np.asarray(loss, dtype=float), np.asarray(exp_loss),
                                    role="loss", N=N, C=Yhat.shape[1],
                                    variants=cross_entropy_variants(Yhat, one_hot(labels, Yhat.shape[1]))))
        if not isinstance(grads, dict) or sorted(map(str, grads)) != sorted(exp_grads):
            fail(ex, f"grads should be a dict with the keys of model.named_params(), {sorted(exp_grads)}; got "
                 f"{describe(grads)}.", ["model.named_grads(per_layer_grads) builds it."], case=label, status="error")
        wrong = [check_array(f"grads[{name!r}] for {label}", grads[name], exp_grads[name], N=N,
                             role=GRAD_ROLES.get(name.split(".")[-1])) for name in exp_grads]
        if any(wrong):
            def with_variant(bug, model=model):
                m = copy.deepcopy(model)
                out, caches = m.forward(X)
                _, per_layer = m.backward(bug.variant(softmax(out), labels), caches)
                return layers.Sequential.named_grads(per_layer)
            variants = catalogued("softmax_cross_entropy_backward", with_variant)
            variants.append(Variant("The upstream gradient of the logits is (softmax(logits) - Y) / N: the softmax "
                                    "is missing.", lambda: _grads_for(model, X, labels, lambda out: (out - one_hot(
                                        labels, out.shape[1])) / N)))
            match = first_match(dict(grads), variants, exp_grads)
            if match is not None:
                wrong.append(Finding("", [match.hint], match.bug))
        finish(ex, findings + wrong, label)
    return passed(ex, len(cases))


def _exact_or_guarded(got, exact, guarded):
    """The loss to compare with: the exact one, or the guarded one when that is what ``got`` is.
    cross_entropy(softmax(logits)) adds 1e-12 inside the log; log_softmax needs no guard. Both are
    right, and they part where a true class's probability is below about 1e-10 (a deep network's
    logits get there): an answer is held to the formula it used."""
    try:
        with np.errstate(all="ignore"):
            g = np.asarray(got, dtype=np.float64)
            off_exact = float(np.max(np.abs(g - np.asarray(exact))))
            off_guarded = float(np.max(np.abs(g - np.asarray(guarded))))
        if off_guarded < off_exact:
            return guarded
    except (TypeError, ValueError):  # an answer of the wrong kind is judged against the exact loss
        pass
    return exact


def _grads_for(model, X, labels, dout_of):
    m = copy.deepcopy(model)
    out, caches = m.forward(X)
    return layers.Sequential.named_grads(m.backward(dout_of(out), caches)[1])


def _losses(ex: str, losses, steps: int | None, case: str) -> np.ndarray:
    """The returned losses as a float array, or a failed check saying what was wrong with them."""
    want = f"one loss per step ({steps} for steps={steps})" if steps else "the loss of every training step"
    if not isinstance(losses, (list, tuple, np.ndarray)) or (steps is not None and len(losses) != steps):
        length = f" of length {len(losses)}" if isinstance(losses, (list, tuple, np.ndarray)) else ""
        fail(ex, f"should return {want}, got {describe(losses)}{length}.", case=case,
             status="failed" if length else "error")
    try:
        return np.asarray([float(v) for v in losses])
    except (TypeError, ValueError):
        fail(ex, f"should return {want} as numbers, got {describe(losses)}.", case=case, status="error")


def check_train_sequential(fn, hidden: bool = False, seed: int = 0):
    """fn(model, X: (N, d0), labels: (N,), lr, steps) -> losses, one per step (before its update);
    updates the model's parameters in place by full-batch gradient descent."""
    ex = "train_sequential"
    rng = np.random.default_rng(seed + 5)
    cases = _model_cases(hidden, seed)
    for label, model, X, labels in cases:
        lr, steps = float(rng.uniform(0.1, 0.8)), int(rng.integers(3, 12))
        expected_model = copy.deepcopy(model)
        expected = np.asarray(reference_train(expected_model, X, labels, lr, steps))
        guarded = np.asarray(reference_train(copy.deepcopy(model), X, labels, lr, steps, guarded=True))
        on = f"{label}, lr={lr:.3f}, {steps} steps"
        given = copy.deepcopy(model)
        done = call(ex, fn, given, X, labels, lr, steps, on=on)
        findings = [unchanged({"X": X, "labels": labels}, {"X": done.args[1], "labels": done.args[2]})]
        losses = _losses(ex, done.result, steps, on)
        expected = _exact_or_guarded(losses, expected, guarded)
        if matches(given.named_params(), model.named_params(), rtol=0, atol=0):
            fail(ex, f"the model's parameters did not change ({on}).",
                 ["`p = p - lr * g` only rebinds the name p; update the arrays in place with `p -= lr * g` "
                  "(or p[...] = p - lr * g)."], case=on)
        hints = []
        if steps > 1 and matches(losses[:-1], expected[1:]):
            hints.append("Each loss is one step late: record the loss computed before that step's update.")
        elif steps > 1 and matches(losses, np.asarray(reference_train(copy.deepcopy(model), X, labels, 0.1, steps))):
            hints.append("This is the run with lr=0.1: use the lr argument.")
        curve = check_array(f"the losses for {label} (lr={lr:.3f}, {steps} steps)", losses, expected)
        if curve is not None:
            curve.hints = hints + curve.hints
        findings.append(curve)
        want = expected_model.named_params()
        if curve is None:
            findings += [check_array(f"parameter {name!r} after {steps} steps for {label}", p, want[name])
                         for name, p in given.named_params().items()]
        finish(ex, findings, on)
    return passed(ex, len(cases))


def _affine_model(ex: str, forward, X: np.ndarray, on: str) -> bool:
    """Whether the model's logits are an affine function of its input (no nonlinearity anywhere):
    f(a x + (1 - a) y) = a f(x) + (1 - a) f(y) on the points given."""
    rng = np.random.default_rng(0)
    x, y = X[: min(len(X), 32)], X[rng.permutation(len(X))[: min(len(X), 32)]]
    outs = [call(ex, forward, v, on=on).result for v in (x, y, 0.3 * x + 0.7 * y)]
    logits = [o[0] if isinstance(o, (tuple, list)) and len(o) == 2 else None for o in outs]
    if not all(type(v) is np.ndarray for v in logits):
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(logits[2], 0.3 * logits[0] + 0.7 * logits[1], rtol=1e-7, atol=1e-9))


def check_fit_spirals(fn, hidden: bool = False, seed: int = 0):
    """fn(X: (N, 2), labels: (N,)) -> (model, losses): a network with at least three hidden layers,
    trained on the spirals to classify at least 95% of the training points. Hidden: trained on
    the draw ``seed`` of the spirals, and at least 90% right on the next draw, which it never saw."""
    ex = "fit_spirals"
    draw = int(seed) & 0xFFFFFFFF if hidden else 0
    X, labels = data.spirals(seed=draw)
    on = f"spirals(seed={draw})"
    got = call(ex, fn, X, labels, on=on).result
    model, losses = _pair(ex, got, "fit_spirals", "(model, losses)", on)
    try:
        stack = getattr(model, "layers", None)
    except Exception:
        stack = None
    if not isinstance(stack, (list, tuple)):
        fail(ex, f"the model should keep its layers in model.layers, a list; got {describe(stack)}.", case=on,
             status="error")
    linear = [layer for layer in stack if isinstance(_read_params(layer), dict) and _read_params(layer)]
    if len(linear) < MIN_HIDDEN_LAYERS + 1:
        fail(ex, f"the model should have at least {MIN_HIDDEN_LAYERS} hidden layers, that is at least "
             f"{MIN_HIDDEN_LAYERS + 1} Linear layers in model.layers; found {len(linear)}.", case=on)
    losses = _losses(ex, losses, None, on)
    if losses.size < 2 or not np.all(np.isfinite(losses)) or not losses[-1] < losses[0]:
        fail(ex, f"the loss should fall from step to step and stay finite; got {describe(losses)}.",
             ["A loss that grows or turns NaN means steps too large: lower the learning rate."], case=on)
    forward = method(ex, model, "forward", on)
    scored = [(f"the training points of spirals(seed={draw})", X, labels, SPIRALS_TRAIN_ACCURACY)]
    if hidden:
        scored.append((f"a fresh draw, spirals(seed={draw + 1}), that it never saw",
                       *data.spirals(seed=draw + 1), SPIRALS_FRESH_ACCURACY))
    for what, X_eval, labels_eval, needed in scored:
        result = call(ex, forward, X_eval, on=f"the trained model's forward on {what}").result
        logits = _pair(ex, result, "forward", "(out, caches)", on)[0]
        if type(logits) is not np.ndarray or logits.shape != (len(labels_eval), 3):
            fail(ex, f"the model's forward should give logits of shape {(len(labels_eval), 3)}, got "
                 f"{describe(logits)}.", case=on, status="error")
        with quiet():
            share = accuracy(logits, labels_eval)
        if share < needed:
            if _affine_model(ex, forward, X_eval, on):
                hint = ("Your model is affine: Linear layers with no activation between them compose into a single "
                        "affine map, whose decision regions are separated by straight lines, and no straight lines "
                        "separate three interleaved spirals. Put an activation (ReLU, Tanh) after every hidden Linear "
                        "layer; more steps or wider layers cannot help without one.")
            else:
                hint = ("Try more steps, another learning rate or wider layers, and make sure the choice works for "
                        "other draws of the data too.")
            fail(ex, f"the trained model classifies {share:.1%} of {what}; at least {needed:.0%} is needed.", [hint],
                 case=on)
    return passed(ex, len(scored))
