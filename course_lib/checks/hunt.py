"""Checkers and helpers for notebook 05, the bug hunt (syllabus section 5).

The notebook hands out six broken networks ("suspects" A to F). Students
gradient-check them with :func:`gradient_check_suspect`, write two detectors
for what a gradient check cannot see (``cache_unchanged`` and
``interleaved_forward_ok``), name each suspect's bug (``answers``) and write a
``fixed_backward``. Every network here has the interface of
:mod:`course_lib.mlp`: ``forward(params, X) -> (Yhat, cache)`` and
``backward(params, cache, Y) -> grads``.
"""
from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from .. import bugs, data, gradcheck, mlp
from ..losses import cross_entropy
from .backward import recognise_backward_bug, validate_grads_dict
from .cases import network_cases
from .core import CheckFailed, call, check_not_mutated, compare, matches, passed, quiet, say

__all__ = ["check_cache_unchanged", "check_interleaved_forward_ok", "check_answers", "check_fixed_backward"]

SUSPECTS = ("A", "B", "C", "D", "E", "F")
# Weights this many times larger push the tiny batch's logits far beyond exp's range (section 5.4).
LARGE_LOGIT_SCALE = 400.0


# ------------------------------------------------------------- the evidence
def tiny_setting(seed: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """The syllabus's setting: params of init_params(5, 4, 3, seed), the tiny batch X: (8, 5), Y: (8, 3)."""
    X, Y = data.tiny_batch()
    return mlp.init_params(5, 4, 3, seed=seed), X, Y


@dataclass
class SuspectGradients:
    """A gradient check of one network, with the ratio ||analytic|| / ||numeric|| per group."""

    report: gradcheck.GradCheckReport
    ratios: dict

    @property
    def passed(self) -> bool:
        return self.report.passed

    def __str__(self) -> str:
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in self.ratios.items())
        return f"{self.report}\n  size ratio ||analytic|| / ||numeric||: {ratios}"

    __repr__ = __str__


def gradient_check_suspect(forward: Callable, backward: Callable, seed: int = 0) -> SuspectGradients:
    """Gradient-check a network on the syllabus's tiny batch (section 4).

    The loss is the mean cross entropy of ``forward``'s own output; the analytic
    gradients come from one ``backward`` right after one ``forward``.
    """
    params, X, Y = tiny_setting(seed)
    with quiet():
        _, cache = forward(params, X)
        grads = backward(params, cache, Y)
        report = gradcheck.grad_check(lambda: cross_entropy(forward(params, X)[0], Y), params, grads,
                                      names=list(mlp.PARAM_NAMES))
        numeric = {k: gradcheck.numerical_gradient(lambda: cross_entropy(forward(params, X)[0], Y), params[k])
                   for k in mlp.PARAM_NAMES}
    ratios = {k: float(np.linalg.norm(grads[k]) / max(np.linalg.norm(numeric[k]), 1e-300)) for k in mlp.PARAM_NAMES}
    return SuspectGradients(report, ratios)


def large_logits_finite(forward: Callable, scale: float = LARGE_LOGIT_SCALE) -> bool:
    """True when ``forward`` still returns finite probabilities once the weights are ``scale`` times larger."""
    _, X, _ = tiny_setting()
    big = mlp.init_params(5, 4, 3, seed=0, scale=scale)
    with quiet():
        Yhat, _ = forward(big, X)
    return bool(np.all(np.isfinite(Yhat)))


def plot_gradient_checks(suspects: dict, ax=None):
    """Bar chart (log scale) of each network's worst relative error, with the syllabus's bands.

    suspects: label -> (forward, backward).
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    labels = list(suspects)
    errors = [max(gradient_check_suspect(*suspects[k]).report.max_error, 1e-16) for k in labels]
    colours = ["#d62728" if e > gradcheck.BUG else "#1f77b4" for e in errors]
    ax.bar(labels, errors, color=colours, hatch="/", edgecolor="k", linewidth=0.5)
    ax.set_yscale("log")
    for level, text, style in [(gradcheck.EXCELLENT, "excellent below 1e-7", ":"),
                               (gradcheck.ACCEPTABLE, "acceptable below 1e-5", "--"),
                               (gradcheck.BUG, "a bug above 1e-3", "-")]:
        ax.axhline(level, color="k", linestyle=style, linewidth=1)
        ax.text(-0.45, level * 1.6, text, ha="left", fontsize="small",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    ax.set_ylim(1e-13, 10)
    ax.set_xlabel("network")
    ax.set_ylabel("worst relative error over W1, b1, W2, b2")
    ax.set_title("Gradient check of every suspect (tiny batch)")
    return ax


def _run_detector(detector, *args) -> str:
    if detector is None:
        return "-"
    try:
        with quiet():
            return "yes" if bool(detector(*copy.deepcopy(args))) else "NO"
    except NotImplementedError:
        return "not written"
    except Exception as e:  # a detector that crashes is evidence too
        return f"error: {type(e).__name__}"


def evidence_table(suspects: dict, cache_unchanged: Callable | None = None,
                   interleaved_forward_ok: Callable | None = None) -> str:
    """One row per network: the gradient check, your two detectors, and finite probabilities at large logits.

    suspects: label -> (forward, backward). Returns the table as text (print it).
    """
    params, X, Y = tiny_setting()
    X_b = np.random.default_rng(7).standard_normal(X.shape)
    head = ["network", "gradient check", "cache unchanged", "interleaved forward ok", "finite at large logits"]
    rows = []
    for label, (forward, backward) in suspects.items():
        grads = gradient_check_suspect(forward, backward)
        rows.append([str(label),
                     f"{'passed' if grads.passed else 'FAILED'} ({grads.report.max_error:.1e})",
                     _run_detector(cache_unchanged, forward, backward, params, X, Y),
                     _run_detector(interleaved_forward_ok, forward, backward, params, X, Y, X_b),
                     "yes" if large_logits_finite(forward) else "NO"])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def catalogue_listing() -> str:
    """The bug catalogue as text: name, section and what goes wrong."""
    return "\n".join(f"{b.name:<26} section {b.section}, caught by {b.caught_by}\n    {b.description}"
                     for b in bugs.CATALOGUE.values())


# ------------------------------------------- networks the detectors are tested on
def _backward_overwrites_activation(params, cache, Y):
    """Right gradients, but dZ1 is built in the buffer of the cached A1 (the syllabus's example)."""
    grads = mlp.backward(params, copy.deepcopy(cache), Y)
    dA1 = mlp.softmax_cross_entropy_backward(cache["Yhat"], Y) @ params["W2"].T
    dZ1 = cache["A1"]
    dZ1[...] = dA1
    dZ1 *= cache["Z1"] > 0
    return grads


def _backward_rebinds_cache_entry(params, cache, Y):
    """Right gradients, but the cache's Yhat entry is replaced by the loss gradient."""
    grads = mlp.backward(params, cache, Y)
    cache["Yhat"] = cache["Yhat"] - Y
    return grads


def _backward_decays_weights(params, cache, Y):
    """Right gradients, but W2 is shrunk in place (weight decay applied inside backward)."""
    grads = mlp.backward(params, cache, Y)
    params["W2"] *= 0.999
    return grads


def _backward_centres_inputs(params, cache, Y):
    """Centres the cached inputs X in place before using them."""
    X = cache["X"]
    X -= X.mean(axis=0)
    return mlp.backward(params, cache, Y)


_BUFFERS: dict = {}


def _forward_reuses_buffers(params, X):
    """A fresh cache dict per call, but every array lives in one preallocated buffer per shape."""
    def buffer(name, shape):
        key = (name, shape)
        if key not in _BUFFERS:
            _BUFFERS[key] = np.empty(shape)
        return _BUFFERS[key]

    N, d1, C = X.shape[0], params["W1"].shape[1], params["W2"].shape[1]
    Z1 = buffer("Z1", (N, d1))
    np.matmul(X, params["W1"], out=Z1)
    Z1 += params["b1"]
    A1 = buffer("A1", (N, d1))
    np.maximum(Z1, 0, out=A1)
    Yhat = buffer("Yhat", (N, C))
    Yhat[...] = mlp.softmax(A1 @ params["W2"] + params["b2"])
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}


@dataclass
class _Net:
    label: str
    forward: Callable
    backward: Callable
    cache_unchanged: bool | None          # what cache_unchanged must say (None: not asked)
    interleaved_ok: bool | None           # what interleaved_forward_ok must say
    changes: str = ""                     # what backward changes, for the message


def _catalogued(name: str, activation: str = "relu", **kw) -> _Net:
    bug = bugs.get(name)
    fwd, bwd = bug.network(activation)
    return _Net(f"a network with the bug '{bug.title}' (section {bug.section})", fwd, bwd, **kw)


def _detector_networks(hidden: bool) -> list[_Net]:
    ref_f, ref_b = mlp.forward, mlp.backward
    leaky = mlp.reference_ops("leaky_relu")
    nets = [
        _Net("the correct network (course_lib.mlp)", ref_f, ref_b, True, True),
        _catalogued("in_place_cache_mutation", cache_unchanged=False, interleaved_ok=True,
                    changes="backward writes the loss gradient into cache['Yhat']"),
        _catalogued("stale_cache", cache_unchanged=True, interleaved_ok=False),
        _catalogued("wrong_transpose", cache_unchanged=True, interleaved_ok=True),
        _Net("a network whose backward shrinks params['W2'] in place", ref_f, _backward_decays_weights, False, None,
             changes="backward multiplies params['W2'] by 0.999 in place"),
    ]
    if hidden:
        nets += [
            _Net("the correct network with leaky ReLU", partial(mlp.forward, ops=leaky),
                 partial(mlp.backward, ops=leaky), True, True),
            _catalogued("relu_mask_from_activation", "leaky_relu", cache_unchanged=True, interleaved_ok=True),
            _catalogued("missing_batch_average", cache_unchanged=True, interleaved_ok=True),
            _Net("a network whose backward builds dZ1 in the buffer of cache['A1']", ref_f,
                 _backward_overwrites_activation, False, True, changes="backward overwrites cache['A1'] with dZ1"),
            _Net("a network whose backward replaces cache['Yhat'] by a new array", ref_f,
                 _backward_rebinds_cache_entry, False, True, changes="backward rebinds cache['Yhat'] to Yhat - Y"),
            _Net("a network whose backward centres cache['X'] in place", ref_f, _backward_centres_inputs, False, None,
                 changes="backward subtracts the column means from cache['X'] in place"),
            _Net("a network whose forward passes return new dicts over shared buffers", _forward_reuses_buffers,
                 ref_b, True, False),
        ]
    return nets


def _as_bool(ex: str, got, what: str) -> bool:
    if not isinstance(got, (bool, np.bool_)):
        raise CheckFailed(ex, f"should return True or False ({what}), got {type(got).__name__} {got!r:.60}.")
    return bool(got)


def _leaves_everything(net, case) -> bool:
    """Whether backward really left this case's cache and params as they were. A network that
    writes in place can still leave equal values behind (zeros over zeros when every ReLU is
    off), and then no detector can see it: the answer expected is what really happened."""
    params = copy.deepcopy(case.params)
    with quiet():
        _, cache = net.forward(params, case.X.copy())
        before = copy.deepcopy((cache, params))
        net.backward(params, cache, case.Y.copy())
    return all(np.array_equal(before[0][k], cache[k]) for k in before[0]) and \
        all(np.array_equal(before[1][k], params[k]) for k in params)


def _interleaving_harmless(net, case, X_b) -> bool:
    """Whether backward with X_a's cache still gives X_a's gradients after forward(X_b) on this
    case (with every ReLU off, a shared cache can give the same gradients for both batches)."""
    with quiet():
        _, fresh = net.forward(copy.deepcopy(case.params), case.X.copy())
        expected = net.backward(copy.deepcopy(case.params), copy.deepcopy(fresh), case.Y.copy())
        params = copy.deepcopy(case.params)
        _, cache_a = net.forward(params, case.X.copy())
        net.forward(params, X_b.copy())
        got = net.backward(params, cache_a, case.Y.copy())
    return all(np.allclose(got[k], expected[k], rtol=1e-10, atol=1e-12) for k in expected)


# ----------------------------------------------------------------- checkers
def check_cache_unchanged(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(forward, backward, params, X: (N, d0), Y: (N, C)) -> bool: True when backward leaves
    the cache that forward made, and params, exactly as they were."""
    ex = "cache_unchanged"
    cases = network_cases(hidden, seed)
    nets = [n for n in _detector_networks(hidden) if n.cache_unchanged is not None]
    for case in cases:
        for net in nets:
            if not net.cache_unchanged and _leaves_everything(net, case):
                continue  # the write leaves equal values behind here: no detector could see it
            got, _ = call(ex, fn, net.forward, net.backward, case.params, case.X, case.Y)
            got = _as_bool(ex, got, "whether backward left the cache and params untouched")
            if got == net.cache_unchanged:
                continue
            if net.cache_unchanged:
                raise CheckFailed(ex, f"on {net.label}, with {case.label}: backward leaves the cache and params "
                                  "untouched, but your function returned False. Compare values "
                                  "(np.array_equal on each entry), not object identity, and take your snapshot "
                                  "before backward runs.")
            where = "params" if "params" in net.changes else "the cache"
            raise CheckFailed(ex, f"on {net.label}, with {case.label}: {net.changes}, but your function returned "
                              f"True. Snapshot {where} before calling backward with copies of the arrays "
                              "(copy.deepcopy, or {k: v.copy() for k, v in ...}); a shallow dict(...) shares the "
                              "arrays and changes along with them. Check params as well as every cache entry.")
    passed(ex, len(cases) * len(nets))


def check_interleaved_forward_ok(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(forward, backward, params, X_a: (N, d0), Y_a: (N, C), X_b: (N, d0)) -> bool: True when a
    backward pass with X_a's cache gives X_a's gradients even after a forward pass on X_b."""
    ex = "interleaved_forward_ok"
    rng = np.random.default_rng(seed + 11)
    cases = network_cases(hidden, seed)
    nets = [n for n in _detector_networks(hidden) if n.interleaved_ok is not None]
    for case in cases:
        X_b = rng.standard_normal(case.X.shape)
        for net in nets:
            if not net.interleaved_ok and _interleaving_harmless(net, case, X_b):
                continue  # here the second batch happens to give the first one's gradients: nothing to see
            got, _ = call(ex, fn, net.forward, net.backward, case.params, case.X, case.Y, X_b)
            got = _as_bool(ex, got, "whether a second forward pass leaves the first cache usable")
            if got == net.interleaved_ok:
                continue
            if net.interleaved_ok and net.changes:
                raise CheckFailed(ex, f"on {net.label}, with {case.label}: its forward passes are independent, "
                                  f"but your function returned False. This network has another bug ({net.changes}), "
                                  "which your test mistook for a stale cache. Keep the test specific: take the "
                                  "expected gradients from a fresh forward pass (or from a deep copy of the cache), "
                                  "then forward(X_a), forward(X_b), backward with the X_a cache.")
            if net.interleaved_ok:
                raise CheckFailed(ex, f"on {net.label}, with {case.label}: each forward pass returns a cache of "
                                  "its own, but your function returned False. Compare the gradients with "
                                  "np.allclose, from two backward passes on X_a's cache (one before and one after "
                                  "the forward pass on X_b).")
            raise CheckFailed(ex, f"on {net.label}, with {case.label}: after forward(X_b) the cache that "
                              "forward(X_a) returned holds X_b's values, so backward gives the wrong gradients, but "
                              "your function returned True. Run forward(X_a), then forward(X_b), then backward with "
                              "the first cache, and compare with the gradients of X_a alone.")
    passed(ex, len(cases) * len(nets))


def check_answers(answers, hidden: bool = False, seed: int = 0, suspect: str | None = None,
                  key: str | None = None) -> None:
    """answers: {"A": catalogue name, ...} for every suspect. Without ``key`` only the format is
    checked; with ``key`` (the hidden tests), ``answers[suspect]`` must be that catalogue name."""
    ex = "answers"
    names = sorted(bugs.CATALOGUE)
    valid = "The catalogue's names are: " + ", ".join(repr(n) for n in names) + "."
    if not isinstance(answers, dict):
        raise CheckFailed(ex, "answers should be a dict like {'A': 'stale_cache', ...}, "
                          f"got {type(answers).__name__}.")
    missing = [s for s in SUSPECTS if s not in answers]
    extra = [s for s in answers if s not in SUSPECTS]
    if missing or extra:
        raise CheckFailed(ex, f"answers needs exactly the keys {list(SUSPECTS)}; "
                          + (f"missing {missing}. " if missing else "") + (f"unexpected {extra}. " if extra else "")
                          + valid)
    for s in SUSPECTS:
        name = answers[s]
        if not isinstance(name, str) or name not in bugs.CATALOGUE:
            close = difflib.get_close_matches(str(name).strip().lower().replace(" ", "_").replace("-", "_"), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise CheckFailed(ex, f"suspect {s}: {name!r} is not a name from the catalogue.{hint} {valid}")
    if key is None:
        which = f"suspect {suspect}'s" if suspect else "each"
        say(f"✔ answers: every suspect is named with a bug from the catalogue "
              f"({which} answer is marked when your notebook is graded).")
        return
    if suspect not in SUSPECTS or key not in bugs.CATALOGUE:
        raise ValueError(f"the hidden test needs a suspect in {SUSPECTS} and a catalogue name, "
                         f"got {suspect!r}, {key!r}")
    if answers[suspect] != key:
        entry = bugs.get(key)
        tool = "the gradient check" if entry.caught_by == "grad_check" else f"a test like bugs.{entry.caught_by}"
        raise CheckFailed(ex, f"suspect {suspect} is not '{answers[suspect]}'. Its bug shows up in {tool}; "
                          f"section {entry.section} of the syllabus describes it.")
    passed(f"answers (suspect {suspect})", 1)


def check_fixed_backward(fn, hidden: bool = False, seed: int = 0) -> None:
    """fn(params, cache, Y: (N, C)) -> grads {"W1", "b1", "W2", "b2"}: the ReLU network's gradients,
    the same on a second call, with cache and params left untouched."""
    ex = "fixed_backward"
    cases = network_cases(hidden, seed)
    for case in cases:
        got, copies = call(ex, fn, case.params, case.cache, case.Y)
        (params_after, cache_after, _), _ = copies
        changed = [k for k in case.cache if not np.array_equal(case.cache[k], cache_after[k])]
        if changed:
            raise CheckFailed(ex, f"with {case.label}: fixed_backward changed the cache entries {changed} in place. "
                              "Treat cached tensors as read-only and build new arrays for the gradients.",
                              bug="in_place_cache_mutation")
        check_not_mutated(ex, (case.params,), ((params_after,), {}), ["params"])
        validate_grads_dict(ex, got)
        expected = mlp.backward(case.params, case.cache, case.Y)
        wrong = [k for k in mlp.PARAM_NAMES if not matches(got[k], expected[k])]
        if not wrong:
            for k in mlp.PARAM_NAMES:
                compare(ex, f"grads[{k!r}] for {case.label}", got[k], expected[k], batch=case.N)
            continue
        bug = recognise_backward_bug(got, wrong, case)
        try:
            compare(ex, f"grads[{wrong[0]!r}] for {case.label}", got[wrong[0]], expected[wrong[0]], batch=case.N)
        except CheckFailed as failure:
            raise CheckFailed(ex, f"{str(failure).split(': ', 1)[1]}\n  Wrong gradients: {wrong}.", bug=bug) from None
    passed(ex, len(cases))
