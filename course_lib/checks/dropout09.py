"""Checkers for notebook 09's inverted dropout, forward and backward.

A mask is random, so the forward is not compared with the reference's draw: it is judged by what
every correct inverted dropout does. Each entry of ``out`` is 0 or x / (1 - p); the cache holds
that scaled mask, ``(mask, drop_prob)`` as :class:`course_lib.dropout.DropoutCache` (mask None at
evaluation), and ``out`` is x times it; the share of entries kept is 1 - p within six standard
deviations of a binomial count; the same ``rng`` seed gives the same mask and another seed another
one; evaluation returns x. The backward is checked on caches of the reference forward.
"""
from __future__ import annotations

import numpy as np

from ..dropout import DropoutCache, dropout_backward, dropout_forward
from .cases import strided
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, passed
from .recognise import Variant, catalogued

__all__ = ["check_dropout_forward", "check_dropout_backward"]

SIGMAS = 6.0  # a correct dropout fails the kept-share test with probability ~2e-9


def _dropout_cases(hidden: bool, seed: int) -> list[tuple[str, np.ndarray, float, str, int]]:
    """(label, x, drop_prob, mode, rng seed): x of every sign, no exact zeros."""
    rng = np.random.default_rng(seed)

    def x_of(shape):
        return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)

    draw = lambda: int(rng.integers(1 << 31))  # noqa: E731
    cases = [("training, drop_prob=0.5, x: (40, 50)", x_of((40, 50)), 0.5, "train", draw()),
             ("training, drop_prob=0.2, x: (50, 40)", x_of((50, 40)), 0.2, "train", draw()),
             ("evaluation, drop_prob=0.5, x: (6, 7)", x_of((6, 7)), 0.5, "eval", draw())]
    if hidden:
        cases += [("training, drop_prob=0 (nothing is dropped), x: (30, 20)", x_of((30, 20)), 0.0, "train", draw()),
                  ("training, drop_prob=0.99 (nearly everything is dropped), x: (100, 200)", x_of((100, 200)), 0.99,
                   "train", draw()),
                  ("training, a batch of one, x: (1, 500), drop_prob=0.3", x_of((1, 500)), 0.3, "train", draw()),
                  ("training, a 3-D x: (4, 25, 20), drop_prob=0.6", x_of((4, 25, 20)), 0.6, "train", draw()),
                  ("training, x a transposed strided view (60, 30), drop_prob=0.4",
                   strided(x_of((60, 30)), rng, transpose=True), 0.4, "train", draw()),
                  ("evaluation, drop_prob=0.9, x: (3, 5)", x_of((3, 5)), 0.9, "eval", draw())]
    return cases


def _pair(ex, result, what, names, on):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(ex, f"{what} should return a pair {names}, got {describe(result)}.", [f"End with `return {names[1:-1]}`."],
             case=on, status="error")
    return result


def _forward(ex, fn, x, p, mode, rng, on):
    """The student's (out, mask, cache drop_prob) for one call, the shapes checked."""
    done = call(ex, fn, x, p, mode, rng, on=on)
    out, cache = _pair(ex, done.result, "dropout_forward", "(out, cache)", on)
    shape = None
    if mode == "train" and (type(out) is not np.ndarray or out.shape != x.shape
                            or not np.issubdtype(out.dtype, np.floating)):
        shape = Finding(f"out should be a float array of x's shape {x.shape}, got {describe(out)} ({on}).",
                        status="error")
    finish(ex, [unchanged({"x": x}, {"x": done.args[0]}, read_only="x is read-only: return x * mask, a new array "
                                                                      "(never x *= mask)."),
                check_array(f"out for {on}", out, x,
                            variants=[Variant("At evaluation inverted dropout is the identity: the scaling by "
                                              "1 / (1 - p) happened at train time, so return x unchanged.",
                                              lambda: x * (1 - p))]) if mode == "eval" else shape], on)
    if not isinstance(cache, (tuple, list)) or len(cache) != 2:
        fail(ex, f"the cache should be DropoutCache(mask, drop_prob), a pair; got {describe(cache)}.",
             ["dropout_backward reads the mask from the cache."], case=on, status="error")
    mask, cached_p = cache
    if not isinstance(cached_p, (int, float, np.floating, np.integer)) or not np.isclose(float(cached_p), p):
        fail(ex, f"the cache's second entry should be drop_prob = {p:g}, got {describe(cached_p)}.", case=on)
    return out, mask


def _kept_share(ex, kept: int, n: int, p: float, on: str) -> Finding | None:
    keep = 1.0 - p
    sd = np.sqrt(n * p * keep)
    if abs(kept - n * keep) <= SIGMAS * sd + 1:
        return None
    swapped = abs(kept - n * p) <= SIGMAS * sd + 1 and p != 0.5
    hint = ("That is drop_prob's share: drop_prob is the probability of ZEROING an entry, so keep an entry where "
            "rng.random(x.shape) < 1 - drop_prob." if swapped else
            "Draw one uniform number per entry and keep the entry where it is below 1 - drop_prob.")
    return Finding(f"it kept {kept} of {n} entries ({kept / n:.1%}); with drop_prob={p:g} about {n * keep:.0f} "
                   f"({keep:.0%}) should survive ({on}).", [hint])


def check_dropout_forward(fn, hidden: bool = False, seed: int = 0):
    """fn(x, drop_prob, mode, rng) -> (out: x's shape, cache = (mask, drop_prob)): inverted dropout.
    rng: an int seed or a Generator (np.random.default_rng(rng) takes either)."""
    ex = "dropout_forward"
    cases = _dropout_cases(hidden, seed)
    for label, x, p, mode, rng in cases:
        on = f"{label}, rng={rng}"
        out, mask = _forward(ex, fn, x, p, mode, rng, on)
        if mode == "eval":
            if not (mask is None or (type(mask) is np.ndarray and np.all(mask == 1))):
                fail(ex, f"at evaluation the cache's mask should be None (dropout is the identity), got "
                     f"{describe(mask)} ({on}).", case=label)
            continue
        keep = 1.0 - p
        if type(mask) is not np.ndarray or mask.shape != x.shape:
            fail(ex, f"the cache's mask should be an array of x's shape {x.shape}, got {describe(mask)} ({on}).",
                 case=label, status="error")
        kept = mask != 0
        findings = [check_array(f"out for {on}, against x * the cache's mask", out, x * mask,
                                variants=[Variant("out keeps x unscaled where the mask is nonzero, but the mask in the "
                                                  "cache is scaled: it is not the one out was made with. Build out = "
                                                  "x * mask from the one scaled mask, and cache that.",
                                                  lambda: np.where(kept, x, 0.0)),
                                          Variant("out is scaled by 1 / (1 - p) but the mask in the cache is not: it "
                                                  "is not the one out was made with. Cache the scaled mask that out "
                                                  "= x * mask uses.", lambda: np.where(kept, x / keep, 0.0))])]
        scaled = np.where(kept, 1.0 / keep, 0.0)
        # Named only when out is made with that mask: forward and backward then agree, unscaled, as in the catalogue.
        unscaled = catalogued("dropout.dropout_forward",
                              lambda bug: kept.astype(float) if p > 0 and findings[0] is None else None,
                              {"dropout_not_rescaled": f"Divide the kept entries by 1 - drop_prob = {keep:g}: inverted "
                                                       "dropout scales at train time so that every entry keeps its "
                                                       "expected value, and evaluation needs no correction."})
        findings.append(check_array(f"the cache's mask for {on} (0 where dropped, 1 / (1 - p) where kept)", mask,
                                    scaled, rtol=1e-12, atol=0.0, variants=unscaled))
        findings.append(_kept_share(ex, int(kept.sum()), x.size, p, on))
        finish(ex, findings, label)
        again, mask_again = _forward(ex, fn, x, p, mode, rng, f"a second call with the same rng={rng}")
        if type(again) is not np.ndarray or again.shape != out.shape or not np.array_equal(again, out):
            fail(ex, f"two calls with the same rng={rng} gave different outputs ({label}).",
                 ["Draw the mask from the generator you are given, rng = np.random.default_rng(rng), not from "
                  "np.random's global state: the same seed must give the same mask."], case=label)
        if 0 < p:
            other, _ = _forward(ex, fn, x, p, mode, rng + 1, f"a call with another rng={rng + 1}")
            if type(other) is np.ndarray and np.array_equal(other, out):
                fail(ex, f"rng={rng} and rng={rng + 1} gave the same mask ({label}).",
                     ["Draw the mask from np.random.default_rng(rng), the rng argument, not from a seed of your own."],
                     case=label)
    return passed(ex, len(cases))


# ------------------------------------------------------------------ backward
def _backward_cases(hidden: bool, seed: int) -> list[tuple[str, np.ndarray, DropoutCache]]:
    rng = np.random.default_rng(seed + 1)
    out = []
    for label, x, p, mode, s in _dropout_cases(hidden, seed):
        _, cache = dropout_forward(x, p, mode, s)
        dout = rng.standard_normal(x.shape)
        if "strided" in label:
            dout = strided(dout, rng, transpose=True)
        out.append((label.replace("x a transposed", "dout a transposed"), dout, cache))
    return out


def _redrawn(got, dout: np.ndarray, cache: DropoutCache):
    """What ``got`` is when it is dout times another dropout mask of the same drop_prob: dout gated by a
    fresh draw, with the survivors scaled as they should be. None otherwise."""
    mask, p = cache
    if mask is None or type(got) is not np.ndarray or got.shape != dout.shape:
        return None
    keep = 1.0 - p
    other = np.where(got != 0, 1.0 / keep, 0.0)
    return dout * other


def check_dropout_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(dout: x's shape, cache = (mask, drop_prob)) -> dx: dout * mask, or dout at evaluation (mask None)."""
    ex = "dropout_backward"
    cases = _backward_cases(hidden, seed)
    for label, dout, cache in cases:
        on = f"{label} (dout: {dout.shape})"
        done = call(ex, fn, dout, cache, on=on,
                    hint="At evaluation the cache's mask is None: backward is then the identity, dx = dout."
                    if cache.mask is None else "")
        dx = done.result
        expected = dropout_backward(dout, cache)
        mask, p = cache
        keep = 1.0 - p
        again = call(ex, fn, dout, cache, on=f"a second call of backward with the same cache ({label})").result
        differs = type(again) is np.ndarray and type(dx) is np.ndarray and not np.array_equal(again, dx)
        variants = catalogued("dropout.dropout_backward", lambda bug: _redrawn(dx, dout, cache), {
            "dropout_mask_redrawn": "Gate dout with the mask in the cache, dx = dout * mask: the forward pass's own "
                                    "draw, never a new one."})
        if mask is not None:
            variants += [Variant("The cache's mask is already scaled by 1 / (1 - p): dx = dout * mask, with no "
                                 "second division.", lambda: dout * mask / keep if p > 0 else None),
                         Variant("It gates dout with a 0/1 mask: the kept entries were scaled by 1 / (1 - p) in the "
                                 "forward pass, so their gradient is too. dx = dout * mask.",
                                 lambda: dout * (mask != 0) if p > 0 else None)]
        findings = [unchanged({"dout": dout}, {"dout": done.args[0]}),
                    unchanged({"cache": cache}, {"cache": done.args[1]}, cache=("cache",)),
                    check_array(f"dx for {on}", dx, expected, variants=variants)]
        if differs and findings[-1] is None:
            findings[-1] = Finding(f"two calls with the same cache gave different dx ({on}).")
        if differs and findings[-1].bug is None:
            findings.append(Finding("", ["backward draws a mask of its own: gate dout with the mask in the cache, "
                                         "dx = dout * mask."], "dropout_mask_redrawn"))
        finish(ex, findings, label)
    return passed(ex, len(cases))
