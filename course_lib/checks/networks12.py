"""Checkers for the networks notebook 12 builds on the student's own autodiff: the syllabus's two-layer
network (``mlp_loss_and_grads``, against the hand-written backward of :mod:`course_lib.mlp`), a network
with a residual block that uses its weight twice (``residual_loss_and_grads``, a gradient no layer's
backward was ever written for) and full-batch training with persistent leaves (``train_autodiff``,
the syllabus's run 1.1408 -> 0.2514).

Each takes plain arrays and returns plain data, so it is judged on values alone. A wrong answer is
named after the catalogued engine bug whose backward pass, run on the same network built from
:mod:`course_lib.autodiff`'s Tensors, reproduces it.
"""
from __future__ import annotations

import numpy as np

from .. import autodiff, bugs, bugs_autodiff, data, mlp
from ..autodiff import Tensor, as_tensor
from ..losses import softmax_cross_entropy
from ..snapshot import copy_data
from .cases import network_cases, strided
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, is_number, passed, quiet
from .graph12 import BUG_HINTS, RESET_BUG, Graph, _named_bug, _passes
from .recognise import matches

__all__ = ["check_mlp_loss_and_grads", "check_residual_loss_and_grads", "check_train_autodiff",
           "reference_residual_loss", "residual_params", "engine_bug_table"]

# The engine must agree with the hand-written backward to round-off: the 1e-10 in float64.
EXACT_RTOL = 1e-10
EXACT_ATOL = 1e-12


def reference_residual_loss(P: dict, X, Y) -> Tensor:
    """The network of ``residual_loss_and_grads`` from course_lib.autodiff's Tensors (P: leaf Tensors):
    H = relu(X W1 + b1);  R = H + relu(H V + c) V;  loss = cross_entropy(R W2 + b2, Y).
    W1: (d0, d1), b1: (d1,), V: (d1, d1), c: (d1,), W2: (d1, C), b2: (C,); X: (N, d0); Y: (N, C)."""
    H = (as_tensor(X) @ P["W1"] + P["b1"]).relu()
    R = H + (H @ P["V"] + P["c"]).relu() @ P["V"]
    return autodiff.cross_entropy(R @ P["W2"] + P["b2"], Y)


def residual_params(d0: int, d1: int, C: int, rng: np.random.Generator) -> dict:
    """Parameters for the residual network: He-scaled weights, small random biases, V scaled so that the
    residual branch neither vanishes nor dominates."""
    return {"W1": rng.standard_normal((d0, d1)) * np.sqrt(2 / d0), "b1": 0.1 * rng.standard_normal(d1),
            "V": rng.standard_normal((d1, d1)) * np.sqrt(1 / d1), "c": 0.1 * rng.standard_normal(d1),
            "W2": rng.standard_normal((d1, C)) * np.sqrt(1 / d1), "b2": 0.1 * rng.standard_normal(C)}


def _residual_cases(hidden: bool, seed: int) -> list[tuple[str, dict, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed + 12)
    shapes = [("a batch of 4, d0=3, d1=5, C=3", 4, 3, 5, 3), ("a batch of 6, d0=4, d1=4, C=4", 6, 4, 4, 4)]
    if hidden:
        shapes += [("a batch of 1, d0=5, d1=3, C=2", 1, 5, 3, 2), ("one hidden unit, d1=1", 5, 3, 1, 2),
                   ("non-square layers, d0=7, d1=2, C=5", 3, 7, 2, 5), ("X a transposed strided view", 5, 4, 6, 3)]
    cases = []
    for label, N, d0, d1, C in shapes:
        params = residual_params(d0, d1, C, rng)
        X = rng.standard_normal((N, d0))
        if "strided" in label:
            X = strided(X, rng, transpose=True)
        cases.append((label, params, X, np.eye(C)[rng.integers(0, C, N)]))
    return cases


def _loss_and_grads(ex: str, got, names: list, on: str) -> tuple[float, dict]:
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(ex, f"should return a pair (loss, grads), got {describe(got)} (on {on}).",
             ["End with `return float(loss.data), {name: leaf.grad for name, leaf in leaves.items()}`."], case=on,
             status="error")
    loss, grads = got
    if not (is_number(loss) or (type(loss) is np.ndarray and loss.size == 1 and np.issubdtype(loss.dtype, np.floating))):
        fail(ex, f"the loss should be a number, got {describe(loss)} (on {on}).",
             ["float(loss_tensor.data) turns the root's 0-d array into a float."], case=on, status="error")
    if not isinstance(grads, dict) or sorted(map(str, grads)) != sorted(names):
        fail(ex, f"grads should be a dict with the keys of params, {sorted(names)}; got {describe(grads)} (on {on}).",
             ["Make one leaf Tensor per parameter and read each leaf's .grad after backward."], case=on, status="error")
    return float(np.asarray(loss).reshape(())), grads


def _judge_network(ex: str, fn, cases: list, reference_loss, expected_of) -> None:
    """Call fn(params, X, Y) on every case and compare (loss, grads) with expected_of(params, X, Y);
    name the engine bug that reproduces a wrong answer on reference_loss's graph."""
    for label, params, X, Y in cases:
        on = label
        done = call(ex, fn, params, X, Y, on=on)
        findings = [unchanged({"params": params, "X": X, "Y": Y}, dict(zip(("params", "X", "Y"), done.args)),
                              read_only="Only compute the loss and the gradients: leave params, X and Y as they are.")]
        loss, grads = _loss_and_grads(ex, done.result, list(params), on)
        exp_loss, exp_grads = expected_of(params, X, Y)
        N, C = Y.shape
        findings.append(check_array(f"the loss for {label}", np.float64(loss), np.asarray(exp_loss), role="loss",
                                    N=N, C=C, rtol=EXACT_RTOL, atol=EXACT_ATOL))
        for name, e in exp_grads.items():
            g = grads[name]
            if g is None:
                findings.append(Finding(f"grads[{name!r}] is None for {label}: the leaf's grad was never set.",
                                        ["Run backward from the loss before reading the leaves' .grad."], status="error"))
            else:
                findings.append(check_array(f"grads[{name!r}] for {label}", g, e, rtol=EXACT_RTOL, atol=EXACT_ATOL))
        if any(findings[1:]):
            graph = Graph(label, copy_data(params), lambda P, X=X, Y=Y: reference_loss(P, X, Y))
            with quiet():
                bug = _named_bug(graph, [grads], exp_grads)
            if bug is not None:
                findings.append(Finding("", [BUG_HINTS[bug]], bug))
        finish(ex, findings, on)


def _mlp_expected(params, X, Y):
    Yhat, cache = mlp.forward(params, X)
    Z2 = cache["A1"] @ params["W2"] + params["b2"]
    return softmax_cross_entropy(Z2, Y), mlp.backward(params, cache, Y)


def check_mlp_loss_and_grads(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X: (N, d0), Y: (N, C) one-hot) -> (loss, grads) for the syllabus's two-layer network,
    computed by the student's autodiff; must equal course_lib.mlp's hand-written backward to 1e-10."""
    ex = "mlp_loss_and_grads"
    cases = [(c.label, c.params, c.X, c.Y) for c in network_cases(hidden, seed)]
    _judge_network(ex, fn, cases, autodiff.mlp_loss, _mlp_expected)
    return passed(ex, len(cases))


def _residual_expected(params, X, Y):
    leaves = {n: Tensor(np.array(a), requires_grad=True) for n, a in params.items()}
    loss = reference_residual_loss(leaves, X, Y)
    autodiff.backward(loss)
    return float(loss.data), {n: t.grad for n, t in leaves.items()}


def check_residual_loss_and_grads(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X: (N, d0), Y: (N, C)) -> (loss, grads) of H = relu(X W1 + b1), R = H + relu(H V + c) V,
    logits R W2 + b2: H and V are each used twice."""
    ex = "residual_loss_and_grads"
    cases = _residual_cases(hidden, seed)
    _judge_network(ex, fn, cases, reference_residual_loss, _residual_expected)
    return passed(ex, len(cases))


# ----------------------------------------------------------------- train_autodiff
def _reference_train(params: dict, X, Y, lr: float, steps: int) -> tuple[np.ndarray, dict]:
    """The hand-written network's full-batch run: the exact loss before each step, and the final params."""
    params = copy_data(params)
    losses = []
    for _ in range(steps):
        _, cache = mlp.forward(params, X)
        losses.append(softmax_cross_entropy(cache["A1"] @ params["W2"] + params["b2"], Y))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
    return np.asarray(losses), params


def _autodiff_train(params: dict, X, Y, lr: float, steps: int, backward) -> np.ndarray:
    """The same run on course_lib.autodiff's graph with persistent leaves and the given backward pass."""
    leaves = {n: Tensor(np.array(a), requires_grad=True) for n, a in params.items()}
    losses = []
    for _ in range(steps):
        loss = autodiff.mlp_loss(leaves, X, Y)
        backward(loss)
        losses.append(float(loss.data))
        for t in leaves.values():
            t.data -= lr * t.grad
    return np.asarray(losses)


def _train_cases(hidden: bool, seed: int) -> list[tuple]:
    X, Y = data.tiny_batch()
    cases = [("the syllabus's run: init_params(5, 4, 3, seed=0), the tiny batch, lr=0.5, 200 steps",
              mlp.init_params(5, 4, 3, seed=0), X, Y, 0.5, 200)]
    rng = np.random.default_rng(seed + 13)
    shapes = [("a batch of 6, d0=4, d1=6, C=3", 6, 4, 6, 3, 0.3, 20)]
    if hidden:
        shapes += [("a batch of 1, d0=3, d1=4, C=2", 1, 3, 4, 2, None, None),
                   ("one hidden unit, d1=1", 5, 3, 1, 2, None, None),
                   ("a batch of 8, d0=5, d1=4, C=3", 8, 5, 4, 3, None, None)]
    for label, N, d0, d1, C, lr, steps in shapes:
        params = mlp.init_params(d0, d1, C, seed=int(rng.integers(1 << 30)))
        params["b1"] = 0.1 * rng.standard_normal(d1)
        lr = lr if lr is not None else round(float(rng.uniform(0.1, 0.9)), 3)
        steps = steps if steps is not None else int(rng.integers(3, 13))
        cases.append((f"{label}, lr={lr}, {steps} steps", params, rng.standard_normal((N, d0)),
                      np.eye(C)[rng.integers(0, C, N)], lr, steps))
    return cases


def check_train_autodiff(fn, hidden: bool = False, seed: int = 0):
    """fn(params, X: (N, d0), Y: (N, C), lr, steps) -> losses (one per step, before its update); trains the
    two-layer network in place by full-batch gradient descent with the student's autodiff."""
    ex = "train_autodiff"
    cases = _train_cases(hidden, seed)
    for label, params, X, Y, lr, steps in cases:
        on = label
        expected, final = _reference_train(params, X, Y, lr, steps)
        given = copy_data(params)
        arrays = dict(given)  # the caller's arrays: the leaves share their memory and must train them in place
        X_given, Y_given = copy_data(X), copy_data(Y)
        done = call(ex, fn, given, X_given, Y_given, lr, steps, on=on, copy=False,
                    hint="If the error is about shapes: each leaf's grad must have the leaf's shape, so "
                         "autodiff_backward must sum a broadcast share back with unbroadcast (section 12.4).")
        got = done.result
        if not isinstance(got, (list, tuple, np.ndarray)) or len(got) != steps:
            length = f" of length {len(got)}" if isinstance(got, (list, tuple, np.ndarray)) else ""
            fail(ex, f"should return one loss per step ({steps}), got {describe(got)}{length} (on {on}).",
                 ["Append float(loss.data) to a list at every step, and return the list."], case=on,
                 status="failed" if length else "error")
        try:
            losses = np.asarray([float(v) for v in got])
        except (TypeError, ValueError):
            fail(ex, f"the losses should be numbers, got {describe(got)} (on {on}).", case=on, status="error")
        findings = [unchanged({"X": X, "Y": Y}, {"X": X_given, "Y": Y_given})]
        curve = check_array(f"the losses for {label}", losses, expected, rtol=1e-9, atol=1e-12)
        if curve is not None:
            with quiet():
                if steps > 1 and matches(losses[:-1], expected[1:], rtol=1e-9, atol=1e-12):
                    curve.hints.insert(0, "Each loss is one step late: record the loss before that step's update.")
                elif matches(losses, _autodiff_train(params, X, Y, lr, steps, bugs_autodiff.backward_without_reset),
                             rtol=1e-9, atol=1e-12):
                    curve.hints.append(BUG_HINTS[RESET_BUG])
                    curve.bug = RESET_BUG
        findings.append(curve)
        if curve is None:
            if matches(arrays, params, rtol=0, atol=0):
                findings.append(Finding(f"the params arrays you were given did not change ({on}).",
                                        ["Update each leaf's data in place, leaf.data -= lr * leaf.grad: the leaves "
                                         "share memory with the params arrays, so the caller's arrays train too "
                                         "(leaf.data = leaf.data - ..., or params[name] = ..., makes new arrays)."]))
            else:
                findings += [check_array(f"params[{n!r}] after {steps} steps for {label}", arrays[n], final[n],
                                         rtol=1e-8, atol=1e-12) for n in final]
        finish(ex, findings, on)
    return passed(ex, len(cases))


# ------------------------------------------------------------ for the notebook
def engine_bug_table(seed: int = 0) -> list[dict]:
    """Each catalogued backward-pass bug of notebook 12 (``bugs.in_section("12.")``) run on the two-layer network
    and on the residual network, two backward passes over the same leaves each (so that the reset bug shows):
    {"name", "title", "mlp", "residual"}, the last two the worst relative error of a group's gradient against
    course_lib.autodiff.backward's, as text ("wrong shape" when a gradient does not even have its group's shape)."""
    from ..gradcheck import rel_error

    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((6, 4)), np.eye(3)[rng.integers(0, 3, 6)]
    two_layer = mlp.init_params(4, 5, 3, seed=seed)
    two_layer["b1"] = 0.1 * rng.standard_normal(5)
    networks = {"mlp": Graph("mlp", two_layer, lambda P: autodiff.mlp_loss(P, X, Y), repeated=True),
                "residual": Graph("residual", residual_params(4, 5, 3, rng),
                                  lambda P: reference_residual_loss(P, X, Y), repeated=True)}
    rows = []
    for bug in bugs.in_section("12."):
        row = {"name": bug.name, "title": bug.title}
        for key, graph in networks.items():
            right = graph.expected()
            with quiet():
                wrong = _passes(graph, bug.variant)[-1]
            if any(np.shape(wrong[n]) != right[n].shape for n in right):
                row[key] = "wrong shape"
            else:
                worst = max(rel_error(wrong[n], right[n]) for n in right)
                row[key] = f"{worst:.1e}" if worst > 1e-12 else "0 (invisible)"
        rows.append(row)
    return rows
