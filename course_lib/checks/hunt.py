"""Checkers for notebook 05, the bug hunt (syllabus section 5).

Students write two detectors for what a gradient check cannot see (``cache_unchanged`` and
``interleaved_forward_ok``), name each suspect's bug (``answers``) and write a ``fixed_backward``.
The detectors are run on networks whose truth is known; the helpers the notebook uses
(``gradient_check_suspect``, ``evidence_table``, ...) live in :mod:`course_lib.bughunt` and are
re-exported here so that ``from course_lib.checks import hunt`` keeps working.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from .. import bugs, mlp
from ..bughunt import (LARGE_LOGIT_SCALE, SUSPECTS, SuspectGradients, catalogue_listing,  # noqa: F401 (re-exported)
                       evidence_table, gradient_check_suspect, large_logits_finite, plot_gradient_checks, tiny_setting)
from ..snapshot import copy_data
from .backward import judge_two_layer_backward
from .cases import network_cases
from .compare import describe
from .core import call, fail, passed, quiet, say
from .outcome import Outcome

__all__ = ["check_cache_unchanged", "check_interleaved_forward_ok", "check_answers", "check_fixed_backward"]


# ------------------------------------------- networks the detectors are tested on
def _backward_overwrites_activation(params, cache, Y):
    """Right gradients, but dZ1 is built in the buffer of the cached A1 (the syllabus's example)."""
    grads = mlp.backward(params, copy_data(cache), Y)
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


def _backward_stores_deltas(params, cache, Y):
    """Right gradients, but the deltas are stored in the cache under new keys."""
    grads = mlp.backward(params, cache, Y)
    cache["dZ2"] = mlp.softmax_cross_entropy_backward(cache["Yhat"], Y)
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
        _Net("a network whose backward stores dZ2 in the cache under a new key", ref_f, _backward_stores_deltas,
             False, True, changes="backward adds the key 'dZ2' to the cache"),
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


def _as_bool(ex: str, got, what: str, case: str) -> bool:
    if not isinstance(got, (bool, np.bool_)):
        fail(ex, f"should return True or False ({what}), got {describe(got)}.",
             ["Return a bool: e.g. `return bool(same_cache and same_params)`."], case=case, status="error")
    return bool(got)


def _truly_unchanged(net, case) -> bool:
    """Whether backward really leaves this case's cache and params as they were. A network that
    writes in place can still leave equal values behind (zeros over zeros when every ReLU is
    off), and then no detector can see it: the answer expected is what really happened."""
    with quiet():
        return not bugs.backward_changes(net.forward, net.backward, copy_data(case.params), case.X.copy(),
                                         case.Y.copy())


def _interleaving_verdict(net, case, X_b) -> bool | None:
    """True when backward with X_a's cache gives exactly X_a's gradients after forward(X_b); False when
    it gives clearly other ones (beyond np.allclose's defaults, which a detector may use); None in
    between, where no detector's verdict can be expected."""
    with quiet():
        _, fresh = net.forward(copy_data(case.params), case.X.copy())
        expected = net.backward(copy_data(case.params), copy_data(fresh), case.Y.copy())
        params = copy_data(case.params)
        _, cache_a = net.forward(params, case.X.copy())
        net.forward(params, X_b.copy())
        got = net.backward(params, cache_a, case.Y.copy())
    if all(np.allclose(got[k], expected[k], rtol=1e-10, atol=1e-12) for k in expected):
        return True
    if not all(np.allclose(got[k], expected[k]) for k in expected):
        return False
    return None


# ----------------------------------------------------------------- checkers
def check_cache_unchanged(fn, hidden: bool = False, seed: int = 0):
    """fn(forward, backward, params, X: (N, d0), Y: (N, C)) -> bool: True when backward leaves
    the cache that forward made, and params, exactly as they were (no value written, no entry
    rebound, no key added)."""
    ex = "cache_unchanged"
    cases = network_cases(hidden, seed)
    nets = [n for n in _detector_networks(hidden) if n.cache_unchanged is not None]
    for case in cases:
        for net in nets:
            if not net.cache_unchanged and _truly_unchanged(net, case):
                continue  # the write leaves equal values behind here: no detector could see it
            on = f"{net.label}, with {case.label}"
            got = _as_bool(ex, call(ex, fn, net.forward, net.backward, case.params, case.X, case.Y, on=on).result,
                           "whether backward left the cache and params untouched", on)
            if got == net.cache_unchanged:
                continue
            if net.cache_unchanged:
                fail(ex, f"on {on}: backward leaves the cache and params untouched, but your function returned False.",
                     ["Compare values (np.array_equal on each entry), not object identity, and take your snapshot "
                      "before backward runs."], case=on)
            where = "params" if "params" in net.changes else "the cache"
            hints = ["Snapshot it before calling backward with copies of the arrays (copy.deepcopy, or "
                     "{k: v.copy() for k, v in ...}); a shallow dict(...) shares the arrays and changes along with "
                     "them. Check params as well as every cache entry."]
            if "new key" in net.label:
                hints = ["Compare the keys too: set(cache) == set(cache_before) before comparing the entries."]
            fail(ex, f"on {on}: {net.changes}, but your function returned True.", hints, case=on)
    return passed(ex, len(cases) * len(nets))


def check_interleaved_forward_ok(fn, hidden: bool = False, seed: int = 0):
    """fn(forward, backward, params, X_a: (N, d0), Y_a: (N, C), X_b: (N, d0)) -> bool: True when a
    backward pass with X_a's cache gives X_a's gradients even after a forward pass on X_b."""
    ex = "interleaved_forward_ok"
    rng = np.random.default_rng(seed + 11)
    cases = network_cases(hidden, seed)
    nets = [n for n in _detector_networks(hidden) if n.interleaved_ok is not None]
    for case in cases:
        X_b = rng.standard_normal(case.X.shape)
        for net in nets:
            truth = _interleaving_verdict(net, case, X_b)
            if truth is None or (not net.interleaved_ok and truth):
                continue  # here the second batch happens to give the first one's gradients: nothing to see
            on = f"{net.label}, with {case.label}"
            done = call(ex, fn, net.forward, net.backward, case.params, case.X, case.Y, X_b, on=on)
            got = _as_bool(ex, done.result, "whether a second forward pass leaves the first cache usable", on)
            if got == net.interleaved_ok:
                continue
            if net.interleaved_ok and net.changes:
                fail(ex, f"on {on}: its forward passes are independent, but your function returned False. This "
                     f"network has another bug ({net.changes}), which your test mistook for a stale cache.",
                     ["Keep the test specific: take the expected gradients from a fresh forward pass (or from a deep "
                      "copy of the cache), then forward(X_a), forward(X_b), backward with the X_a cache."], case=on)
            if net.interleaved_ok:
                fail(ex, f"on {on}: each forward pass returns a cache of its own, but your function returned False.",
                     ["Compare the gradients with np.allclose, from two backward passes on X_a's cache (one before "
                      "and one after the forward pass on X_b)."], case=on)
            fail(ex, f"on {on}: after forward(X_b) the cache that forward(X_a) returned holds X_b's values, so "
                 "backward gives the wrong gradients, but your function returned True.",
                 ["Run forward(X_a), then forward(X_b), then backward with the first cache, and compare with the "
                  "gradients of X_a alone."], case=on)
    return passed(ex, len(cases) * len(nets))


def check_answers(answers, hidden: bool = False, seed: int = 0, suspect: str | None = None,
                  key: str | None = None):
    """answers: {"A": catalogue name, ...} for every suspect. Without ``key`` only the format is
    checked; with ``key`` (the hidden tests), ``answers[suspect]`` must be that catalogue name."""
    ex = "answers"
    names = sorted(bugs.CATALOGUE)
    valid = "The catalogue's names are: " + ", ".join(repr(n) for n in names) + "."
    if not isinstance(answers, dict):
        fail(ex, f"answers should be a dict like {{'A': 'stale_cache', ...}}, got {describe(answers)}.", [valid],
             case="the answers dict", status="error")
    missing = [s for s in SUSPECTS if s not in answers]
    extra = [s for s in answers if s not in SUSPECTS]
    if missing or extra:
        fail(ex, f"answers needs exactly the keys {list(SUSPECTS)}; "
             + (f"missing {missing}. " if missing else "") + (f"unexpected {extra}." if extra else ""), [valid],
             case="the answers dict", status="error")
    wrong = []
    for s in SUSPECTS:
        name = answers[s]
        if not isinstance(name, str) or name not in bugs.CATALOGUE:
            close = difflib.get_close_matches(str(name).strip().lower().replace(" ", "_").replace("-", "_"), names, n=1)
            wrong.append(f"suspect {s}: {describe(name)} is not a name from the catalogue."
                         + (f" Did you mean {close[0]!r}?" if close else ""))
    if wrong:
        fail(ex, "\n".join(wrong), [valid], case=f"suspect {wrong[0].split(':')[0][8:]}")
    if key is None:
        which = f"suspect {suspect}'s" if suspect else "each"
        say(f"✔ answers: every suspect is named with a bug from the catalogue "
            f"({which} answer is marked when your notebook is graded).")
        return Outcome("answers", True, "ok", "every suspect is named with a bug from the catalogue.", cases=len(SUSPECTS))
    if suspect not in SUSPECTS or key not in bugs.CATALOGUE:
        raise ValueError(f"the hidden test needs a suspect in {SUSPECTS} and a catalogue name, "
                         f"got {suspect!r}, {key!r}")
    if answers[suspect] != key:
        entry = bugs.get(key)
        tool = "the gradient check" if entry.caught_by == "grad_check" else f"a test like bugs.{entry.caught_by}"
        fail(ex, f"suspect {suspect} is not '{answers[suspect]}'.",
             [f"Its bug shows up in {tool}; section {entry.section} of the syllabus describes it."],
             case=f"suspect {suspect}")
    return passed(f"answers (suspect {suspect})", 1)


def check_fixed_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(params, cache, Y: (N, C)) -> grads {"W1", "b1", "W2", "b2"}: the ReLU network's gradients,
    with cache and params left untouched (no value written, no key added)."""
    cases = network_cases(hidden, seed)
    for case in cases:
        judge_two_layer_backward("fixed_backward", fn, case)
    return passed("fixed_backward", len(cases))
