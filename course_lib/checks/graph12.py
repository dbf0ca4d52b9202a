"""Checkers for notebook 12's graph code, ``topological_order`` and ``autodiff_backward``, judged on
graphs of :mod:`course_lib.autodiff` Tensors (the same attributes as the notebook's: ``data``,
``grad``, ``parents``, ``vjps``); the networks built on the student's engine are in :mod:`.networks12`.

The student's functions receive the checker's graphs and fill in their ``grad`` attributes; the
checker reads them back. A node the student returns (in a topological order) is recognised as the
checker's own, or, through a proxy, by its data (every node of these graphs holds distinct values).
Every known mistake is reproduced on a fresh copy of the same graph before it is named.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from .. import autodiff, bugs_autodiff
from ..autodiff import Tensor
from .compare import check_array, describe
from .core import Finding, call, fail, finish, passed, same_object

__all__ = ["check_topological_order", "check_autodiff_backward", "graph_cases", "Graph"]

ORDER_BUG, FAN_OUT_BUG, BROADCAST_BUG, RESET_BUG = ("autodiff_wrong_order", "autodiff_overwrite_at_fan_out",
                                                    "autodiff_broadcast_not_summed", "autodiff_grad_not_reset")
BUG_HINTS = {
    ORDER_BUG: "Visit the nodes in reverse topological order (root first, each node only after every node that "
               "uses it): walking breadth first from the loss lets a node reached by a short path (the skip "
               "connection) pass its gradient on before the long path has added its share (section 12.2).",
    FAN_OUT_BUG: "Add each share into the parent's gradient (parent.grad += share): a node used twice receives one "
                 "share from each use, and an assignment keeps only the last one (section 12.3).",
    BROADCAST_BUG: "Sum each share back to its parent's shape with unbroadcast before adding it: an operand broadcast "
                   "in the forward pass (a bias over the batch) gets a share of the output's shape (section 12.4).",
    RESET_BUG: "Start every gradient of the graph at zero at the beginning of each backward pass (for every node in "
               "the order, node.grad = np.zeros_like(node.data)), not only those still None: parameters live from "
               "one step to the next and would add every old gradient to the new one (section 12.6).",
}


# ------------------------------------------------------------------ the graphs
class Graph:
    """A graph to differentiate: ``build(leaves)`` makes its root (a 0-d Tensor) from leaf Tensors named
    like ``arrays``; ``repeated``: run backward twice, on two graphs built over the same leaves."""

    def __init__(self, label: str, arrays: dict, build, repeated: bool = False):
        self.label, self.arrays, self.build, self.repeated = label, arrays, build, repeated

    def leaves(self) -> dict:
        return {n: Tensor(a.copy(), requires_grad=True) for n, a in self.arrays.items()}

    def expected(self) -> dict:
        leaves = self.leaves()
        autodiff.backward(self.build(leaves))
        return {n: t.grad for n, t in leaves.items()}


def graph_cases(hidden: bool, seed: int) -> list[Graph]:
    """The visible graphs: a chain with a broadcast bias, a weight used twice, a skip connection and two
    backward passes over the same leaves (one of each catalogued engine bug's structures); hidden adds,
    whatever the seed, x * x, a batch of one, a (1, 3) scale, a ladder of diamonds (2^6 paths) and a
    cross-entropy head."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 3))
    x1 = rng.standard_normal((1, 3))
    Y = np.eye(3)[rng.integers(0, 3, 5)]
    draw = lambda **shapes: {n: rng.standard_normal(s) for n, s in shapes.items()}  # noqa: E731

    def ladder(P):
        node = P["x"]
        for _ in range(6):  # each rung uses the node below it twice: 2^6 paths from the root to x
            node = (node * 0.8).tanh() + node * node * 0.3
        return node.sum()

    cases = [Graph("a chain with a bias broadcast over the batch, tanh(X W + b).sum()", draw(W=(3, 4), b=(4,)),
                   lambda P: (X @ P["W"] + P["b"]).tanh().sum()),
             Graph("a weight used twice, tanh(tanh(X W) W).sum()", draw(W=(3, 3)),
                   lambda P: ((X @ P["W"]).tanh() @ P["W"]).tanh().sum()),
             Graph("a skip connection, H + tanh(H V) with H = tanh(X W)", draw(W=(3, 3), V=(3, 3)),
                   lambda P: _skip(X, P)),
             Graph("two backward passes on two graphs over the same leaves", draw(W=(3, 2)),
                   lambda P: (X @ P["W"]).tanh().sum(), repeated=True)]
    if hidden:
        cases += [
            Graph("x * x, one node that is both parents of another", draw(x=(4,)), lambda P: (P["x"] * P["x"]).sum()),
            Graph("a batch of one, tanh(x W + b) with x: (1, 3) and b: (4,)", draw(W=(3, 4), b=(4,)),
                  lambda P: (x1 @ P["W"] + P["b"]).tanh().sum()),
            Graph("a scale s: (1, 3) and a bias b: (3,) broadcast over 5 rows", draw(W=(3, 3), b=(3,), s=(1, 3)),
                  lambda P: ((X @ P["W"] + P["b"]) * P["s"]).tanh().sum()),
            Graph("a ladder of 6 diamonds, each node used twice by the next", {"x": rng.uniform(0.2, 0.9, 4)}, ladder),
            Graph("the cross entropy of a linear layer's logits", draw(W=(3, 3), b=(3,)),
                  lambda P: autodiff.cross_entropy(X @ P["W"] + P["b"], Y)),
        ]
    return cases


def _skip(X, P):
    """H is reached by the skip (short) and through V (long): its gradient is complete only after both."""
    H = (X @ P["W"]).tanh()
    return (H + (H @ P["V"]).tanh()).tanh().sum()


# ------------------------------------------------------------ orders of a graph
def _depth_first(root, flip: bool = False) -> list:
    """Every node after its parents (a post-order), visiting each node's parents in order or reversed."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        parents = list(node.parents)
        stack.extend((p, False) for p in (parents if flip else parents[::-1]) if id(p) not in seen)
    return order


def _breadth_first(root, flip: bool = False) -> list:
    """The nodes as a breadth-first walk from the root meets them (root first)."""
    order, seen, queue = [root], {id(root)}, deque([root])
    while queue:
        node = queue.popleft()
        parents = list(node.parents)
        for p in (parents[::-1] if flip else parents):
            if id(p) not in seen:
                seen.add(id(p))
                order.append(p)
                queue.append(p)
    return order


def _nodes(root) -> list:
    return _depth_first(root)


def _is_topological(order: list) -> bool:
    position = {id(n): i for i, n in enumerate(order)}
    return all(position[id(p)] < position[id(n)] for n in order for p in n.parents)


# ------------------------------------------------------------ topological_order
def _identify(item, nodes: list):
    """The checker's node that ``item`` (what the student returned) is, or None."""
    for node in nodes:
        if same_object(item, node):
            return node
    try:
        data = getattr(item, "data", None)
    except Exception:
        return None
    if type(data) is not np.ndarray:
        return None
    found = [n for n in nodes if n.data.shape == data.shape and np.array_equal(n.data, data)]
    return found[0] if len(found) == 1 else None


def _same_nodes(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _name(node, names: dict) -> str:
    return names.get(id(node), f"a {node.op} node of shape {node.shape}")


def check_topological_order(fn, hidden: bool = False, seed: int = 0):
    """fn(root) -> a list of every node root depends on, root included, each exactly once and each after
    all of its parents (the root last)."""
    ex = "topological_order"
    cases = graph_cases(hidden, seed)
    for case in cases:
        leaves = case.leaves()
        root = case.build(leaves)
        nodes = _nodes(root)
        names = {id(t): f"the leaf {n}" for n, t in leaves.items()}
        names[id(root)] = "the root"
        on = case.label
        got = call(ex, fn, root, on=on, copy=False).result
        if not isinstance(got, (list, tuple)):
            fail(ex, f"should return a list of nodes, got {describe(got)} (on {on}).",
                 ["Collect the nodes in a list as the walk finishes each one, and return the list."], case=on,
                 status="error")
        found = [_identify(item, nodes) for item in got]
        if any(f is None for f in found):
            i = next(i for i, f in enumerate(found) if f is None)
            fail(ex, f"entry {i} of the list is not a node of the graph (it is {describe(got[i])}; on {on}).",
                 ["Put the Tensors themselves in the list (root, then its parents, ...), not their data."], case=on)
        counts = {}
        for f in found:
            counts[id(f)] = counts.get(id(f), 0) + 1
        twice = [f for f in nodes if counts.get(id(f), 0) > 1]
        missing = [f for f in nodes if id(f) not in counts]
        findings = []
        if twice:
            worst = max(twice, key=lambda f: counts[id(f)])
            findings.append(Finding(f"{len(twice)} node(s) appear more than once ({_name(worst, names)} "
                                    f"{counts[id(worst)]} times) in the order for {on}.",
                                    ["Keep a set of the nodes already visited (by id(node)) and skip them: a node "
                                     "reached by several paths must be listed once, or backward would pass its "
                                     "gradient on several times."]))
        if missing:
            findings.append(Finding(f"{len(missing)} of the graph's {len(nodes)} nodes are missing from the order for "
                                    f"{on} (first: {_name(missing[0], names)}).",
                                    ["Visit every parent of every node, down to the leaves."]))
        finish(ex, findings, on)
        if not _is_topological(found):
            hints = []
            if _is_topological(found[::-1]):
                hints.append("The order is reversed: list each node after its parents, so that the root comes last "
                             "(backward then walks the list in reverse).")
                bug = None
            else:
                walks = [_breadth_first(root, flip) for flip in (False, True)]
                bug = ORDER_BUG if any(_same_nodes(found, w) or _same_nodes(found, w[::-1]) for w in walks) else None
                hints.append(BUG_HINTS[ORDER_BUG] if bug else
                             "Add a node to the list only once all of its parents are in it: a depth-first walk "
                             "that appends each node after visiting its parents does exactly that.")
            position = {id(n): i for i, n in enumerate(found)}
            child = next(n for n in found if any(position[id(p)] > position[id(n)] for p in n.parents))
            parent = next(p for p in child.parents if position[id(p)] > position[id(child)])
            finish(ex, [Finding(f"in the order for {on}, {_name(child, names)} (position {position[id(child)]}) comes "
                                f"before its parent {_name(parent, names)} (position {position[id(parent)]}).",
                                hints, bug)], on)
    return passed(ex, len(cases))


# ------------------------------------------------------------ autodiff_backward
def _wrong_backward(root, kind: str, flip: bool) -> None:
    """A known wrong backward pass: "overwrite" (= instead of +=) or "breadth" (a breadth-first walk), over
    either order of the parents, so that it reproduces the student's walk whichever order theirs takes."""
    order = _depth_first(root, flip)
    for node in order:
        node.grad = np.zeros_like(node.data)
    root.grad = np.ones_like(root.data)
    walk = _breadth_first(root, flip) if kind == "breadth" else order[::-1]
    for node in walk:
        for parent, vjp in zip(node.parents, node.vjps):
            share = autodiff.unbroadcast(vjp(node.grad), parent.shape)
            if kind == "overwrite":
                parent.grad = share
            else:
                parent.grad = parent.grad + share


def _overwriting(root):
    _wrong_backward(root, "overwrite", False)


def _overwriting_flipped(root):
    _wrong_backward(root, "overwrite", True)


def _breadth(root):
    _wrong_backward(root, "breadth", False)


def _breadth_flipped(root):
    _wrong_backward(root, "breadth", True)


VARIANTS = [(FAN_OUT_BUG, _overwriting), (FAN_OUT_BUG, _overwriting_flipped), (ORDER_BUG, _breadth),
            (ORDER_BUG, _breadth_flipped), (BROADCAST_BUG, bugs_autodiff.backward_broadcast_not_summed),
            (RESET_BUG, bugs_autodiff.backward_without_reset)]


def _passes(case: Graph, backward) -> list[dict]:
    """The leaves' gradients after each backward pass of ``case`` (one, or two when repeated)."""
    leaves = case.leaves()
    grads = []
    for _ in range(2 if case.repeated else 1):
        backward(case.build(leaves))
        grads.append({n: t.grad if t.grad is None else np.array(t.grad) for n, t in leaves.items()})
    return grads


def _same_grads(a: dict, b: dict) -> bool:
    return all(type(a[n]) is np.ndarray and type(b[n]) is np.ndarray and a[n].shape == b[n].shape
               and np.allclose(a[n], b[n], rtol=1e-9, atol=1e-12) for n in a)


def _named_bug(case: Graph, got: list[dict], expected: dict) -> str | None:
    """The catalogued mistake whose backward pass, run on a fresh copy of the graph, gives the student's gradients."""
    for bug, variant in VARIANTS:
        with np.errstate(all="ignore"):
            try:
                wrong = _passes(case, variant)
            except Exception:  # the variant cannot run on this graph (a share that cannot be added, say)
                continue
        if not all(_same_grads(w, expected) for w in wrong) and all(_same_grads(g, w) for g, w in zip(got, wrong)):
            return bug
    return None


def check_autodiff_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(root) fills in ``grad`` (the node's shape) of every node of root's graph with d root / d node;
    every call starts from zero gradients."""
    ex = "autodiff_backward"
    cases = graph_cases(hidden, seed)
    for case in cases:
        on = case.label
        expected = case.expected()
        leaves = case.leaves()
        got = []
        for k in range(2 if case.repeated else 1):
            call(ex, fn, case.build(leaves), on=on if k == 0 else f"a second backward pass ({on})", copy=False)
            # copies: a second pass may add into the very arrays the first one filled
            got.append({n: np.array(t.grad) if type(t.grad) is np.ndarray else t.grad for n, t in leaves.items()})
        findings = []
        for k, grads in enumerate(got):
            when = " after the second pass" if k else ""
            for n, g in grads.items():
                if g is None:
                    findings.append(Finding(f"the leaf {n}'s grad is None after backward ({on}).",
                                            ["Set node.grad for every node of the topological order, leaves included."],
                                            status="error"))
                else:
                    findings.append(check_array(f"the gradient of the leaf {n}{when} for {on}", g, expected[n]))
        if any(findings):
            bug = _named_bug(case, got, expected)
            if bug is not None:
                findings.append(Finding("", [BUG_HINTS[bug]], bug))
        finish(ex, findings, on)
    return passed(ex, len(cases))
