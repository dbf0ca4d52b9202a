"""Checkers for notebook 09's batch normalisation (training and evaluation, forward and backward).

The student's forward returns ``(out, cache, (running_mean, running_var))`` with the cache laid out
as :class:`course_lib.batchnorm.BatchNormCache`, ``(mode, x_hat, gamma, inv_std)``, so that the
backward exercise can be checked on caches of the reference forward, independently of the student's.
Dropout is in :mod:`.dropout09`.
"""
from __future__ import annotations

import numpy as np

from ..batchnorm import BatchNormCache, batchnorm_backward, batchnorm_forward
from ..snapshot import copy_data
from .cases import strided
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, passed
from .recognise import Variant, catalogued, first_match

__all__ = ["check_batchnorm_forward", "check_batchnorm_backward"]

MOMENTUM, EPS = 0.9, 1e-5


class _BNCase:
    """One call: x: (N, d), gamma, beta, running_mean, running_var: (d,), a mode, and momentum and eps
    (None: the defaults are not passed)."""

    def __init__(self, label, x, gamma, beta, mode, rm, rv, momentum=None, eps=None):
        self.label, self.x, self.gamma, self.beta, self.mode = label, x, gamma, beta, mode
        self.rm, self.rv, self.momentum, self.eps = rm, rv, momentum, eps

    @property
    def args(self) -> tuple:
        extra = () if self.momentum is None and self.eps is None else (
            MOMENTUM if self.momentum is None else self.momentum, EPS if self.eps is None else self.eps)
        return (self.x, self.gamma, self.beta, self.mode, self.rm, self.rv) + extra

    @property
    def m(self) -> float:
        return MOMENTUM if self.momentum is None else self.momentum

    @property
    def e(self) -> float:
        return EPS if self.eps is None else self.eps

    def reference(self):
        return batchnorm_forward(*copy_data(self.args))


def _bn_cases(hidden: bool, seed: int) -> list[_BNCase]:
    rng = np.random.default_rng(seed)

    def make(label, N, d, mode="train", scale=2.0, shift=1.0, x=None, **kw):
        x = scale * rng.standard_normal((N, d)) + shift if x is None else x
        gamma, beta = rng.standard_normal(d) + 1.5, rng.standard_normal(d)
        rm, rv = rng.standard_normal(d), rng.uniform(0.5, 2.0, d)
        return _BNCase(f"{mode} mode, {label}", x, gamma, beta, mode, rm, rv, **kw)

    cases = [make("a batch of 6 with d=4", 6, 4), make("a batch of 5 with d=3, running statistics given", 5, 3, "eval"),
             make("a batch of 8 with d=3, momentum=0.5 and eps=1e-2", 8, 3, momentum=0.5, eps=1e-2)]
    if hidden:
        constant = rng.standard_normal((5, 4))
        constant[:, 2] = 3.0
        cases += [
            make("a batch of 1 (the batch variance is 0)", 1, 5),
            make("a feature that is the same for every example (variance 0)", 5, 4, x=constant),
            make("features with mean 1e4 and spread 1e-2", 6, 3, scale=1e-2, shift=1e4),
            make("x a transposed strided view (7, 5)", 7, 5, x=strided(rng.standard_normal((7, 5)) + 2, rng, True)),
            make("a batch of 1", 1, 4, "eval"),
            make("d=1, a single feature, momentum=0.99 and eps=1e-3", 3, 1, momentum=0.99, eps=1e-3),
        ]
    return cases


def _normalise(x, mean, var, eps, inv=None):
    inv = 1.0 / np.sqrt(var + eps) if inv is None else inv
    return (x - mean) * inv


def _forward_variants(c: _BNCase) -> list[Variant]:
    """Wrong outputs ``out`` for the case, each with what to do about it."""
    x, g, b, e = c.x, c.gamma, c.beta, c.e
    mu, var = x.mean(axis=0), x.var(axis=0)
    with np.errstate(all="ignore"):
        unbiased = x.var(axis=0, ddof=1) if x.shape[0] > 1 else np.full(x.shape[1], np.nan)
        train_out = g * _normalise(x, mu, var, e) + b
        out = [
            Variant("It normalises with the unbiased variance (ddof=1, dividing by N - 1). Batch norm uses the batch's "
                    "own, biased variance, the mean of (x - mean)**2: with a batch of one, N - 1 = 0.",
                    lambda: g * _normalise(x, mu, unbiased, e) + b if c.mode == "train" else None),
            Variant("eps belongs inside the square root: (x - mean) / sqrt(var + eps).",
                    lambda: g * (x - mu) / (np.sqrt(var) + e) + b if c.mode == "train" else None),
            Variant(f"It matches eps=1e-5 rather than the eps={e:g} that was passed: use the eps argument.",
                    lambda: g * _normalise(x, mu, var, EPS) + b if c.eps is not None and c.mode == "train" else None),
            Variant("It normalises each example over its features (axis=1; that is layer normalisation). Batch norm "
                    "normalises each feature over the batch: mean and variance along axis=0.",
                    lambda: g * _normalise(x, x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True), e) + b),
            Variant("gamma and beta are missing: out = gamma * x_hat + beta.",
                    lambda: _normalise(x, mu, var, e) if c.mode == "train" else _normalise(x, c.rm, c.rv, e)),
            Variant("In evaluation mode it uses the batch's statistics; it must use the running averages it was given, "
                    "so that an example's output does not depend on the rest of its batch.",
                    lambda: train_out if c.mode == "eval" else None),
            Variant("In training mode it normalises with the running averages; training uses the batch's own mean "
                    "and variance (and updates the running averages with them).",
                    lambda: g * _normalise(x, c.rm, c.rv, e) + b if c.mode == "train" else None),
            Variant("It divides by sqrt(var), not sqrt(var + eps): a feature with variance 0 gives 0/0.",
                    lambda: g * (x - mu) / np.sqrt(var) + b if c.mode == "train" else None),
        ]
    return out


def _running_variants(c: _BNCase, N: int) -> list[Variant]:
    m, x = c.m, c.x
    mu, var = x.mean(axis=0), x.var(axis=0)
    if c.mode == "eval":
        return [Variant("In evaluation mode the running statistics stay as they are: return the arrays you were given.",
                        lambda: (m * c.rm + (1 - m) * mu, m * c.rv + (1 - m) * var))]
    return [
        Variant("The momentum weighs the wrong term: running = momentum * running + (1 - momentum) * batch statistic.",
                lambda: ((1 - m) * c.rm + m * mu, (1 - m) * c.rv + m * var)),
        Variant("The running averages were not updated: in training, blend in this batch's mean and variance.",
                lambda: (c.rm, c.rv)),
        Variant("The running variance is the unbiased one (PyTorch's convention). The course keeps CS231n's: the "
                "biased batch variance, the one the batch was normalised with.",
                lambda: (m * c.rm + (1 - m) * mu, m * c.rv + (1 - m) * x.var(axis=0, ddof=1)) if N > 1 else None),
        Variant("The running average takes the standard deviation; it averages the variance.",
                lambda: (m * c.rm + (1 - m) * mu, m * c.rv + (1 - m) * x.std(axis=0))),
    ]


def _triple(ex, result, on):
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(ex, f"should return a triple (out, cache, (running_mean, running_var)), got {describe(result)}.",
             ["End with `return out, cache, (running_mean, running_var)`."], case=on, status="error")
    return result


def _pair(ex, value, what, on):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        fail(ex, f"{what} should be a pair (running_mean, running_var), got {describe(value)}.", case=on,
             status="error")
    return value


def _cache_findings(ex, cache, expected: BatchNormCache, on: str) -> list:
    if not isinstance(cache, (tuple, list)) or len(cache) != 4:
        return [Finding(f"the cache should be BatchNormCache(mode, x_hat, gamma, inv_std), four values in that order; "
                        f"got {describe(cache)}.", ["The backward pass reads exactly these four."], status="error")]
    mode, x_hat, gamma, inv_std = cache
    findings = []
    if not (isinstance(mode, str) and mode == expected.mode):
        findings.append(Finding(f"cache[0], the mode, should be {expected.mode!r}, got {describe(mode)}.",
                                ["The backward pass needs the mode: the formulas differ in training and evaluation."]))
    findings.append(check_array(f"cache[1] (x_hat) for {on}", x_hat, expected.x_hat))
    findings.append(check_array(f"cache[2] (gamma) for {on}", gamma, expected.gamma))
    inv = check_array(f"cache[3] (inv_std = 1 / sqrt(var + eps)) for {on}", inv_std, expected.inv_std,
                      variants=[Variant("That is sqrt(var + eps) itself; the cache holds its inverse, "
                                        "1 / sqrt(var + eps).", lambda: 1.0 / expected.inv_std)])
    return findings + [inv]


def check_batchnorm_forward(fn, hidden: bool = False, seed: int = 0):
    """fn(x: (N, d), gamma, beta, mode, running_mean, running_var, momentum=0.9, eps=1e-5)
    -> (out: (N, d), cache = (mode, x_hat, gamma, inv_std), (new running_mean, new running_var))."""
    ex = "batchnorm_forward"
    cases = _bn_cases(hidden, seed)
    for c in cases:
        on = f"{c.label} (x: {c.x.shape})"
        done = call(ex, fn, *c.args, on=on)
        out, cache, running = _triple(ex, done.result, on)
        names = ("x", "gamma", "beta", "mode", "running_mean", "running_var")
        mutated = unchanged(dict(zip(names, c.args)), dict(zip(names, done.args)),
                            read_only="Inputs are read-only: compute the new running averages into NEW arrays "
                                      "(running_mean = momentum * running_mean + ...), never with += or [...] =.")
        exp_out, exp_cache, exp_running = c.reference()
        findings = [mutated, check_array(f"out for {on}", out, exp_out, variants=_forward_variants(c))]
        if findings[-1] is not None and "mean 1e4" in c.label and type(out) is np.ndarray and out.shape == exp_out.shape:
            with np.errstate(all="ignore"):
                close = np.allclose(out, exp_out, rtol=1e-2, atol=1e-2)
            if close:
                findings[-1].hints.append(
                    "It is right to a few digits only: the variance computed as mean(x**2) - mean(x)**2 subtracts two "
                    "numbers near 1e8 to get one near 1e-4, and loses almost every digit. Use the mean of squared "
                    "deviations, ((x - mean)**2).mean(axis=0), or x.var(axis=0).")
        if findings[-1] is None:  # a wrong out makes a wrong x_hat: report the cache only when out is right
            findings += _cache_findings(ex, cache, exp_cache, on)
        new_mean, new_var = _pair(ex, running, "the third value", on)
        running_findings = [check_array(f"the new running_mean for {on}", new_mean, exp_running.mean),
                            check_array(f"the new running_var for {on}", new_var, exp_running.var)]
        if any(running_findings):
            match = first_match((new_mean, new_var), _running_variants(c, c.x.shape[0]), tuple(exp_running))
            if match is not None:
                running_findings.append(Finding("", [match.hint]))
        finish(ex, findings + running_findings, c.label)
    return passed(ex, len(cases))


# ------------------------------------------------------------------ backward
def _backward_cases(hidden: bool, seed: int) -> list[tuple[str, np.ndarray, BatchNormCache]]:
    rng = np.random.default_rng(seed + 1)
    out = []
    for c in _bn_cases(hidden, seed):
        if "mean 1e4" in c.label:
            continue  # the forward's own numerics; its cache is an ordinary one
        _, cache, _ = c.reference()
        out.append((c.label, rng.standard_normal(c.x.shape), cache))
    if hidden:
        c = _bn_cases(False, seed)[0]
        gamma = np.array([0.0, -1.5, 2.0, 0.7])
        _, cache, _ = batchnorm_forward(c.x, gamma, c.beta, "train", c.rm, c.rv)
        out.append(("train mode, gamma with a zero and a negative entry", rng.standard_normal(c.x.shape), cache))
        out.append(("train mode, dout a transposed strided view (6, 4)",
                    strided(rng.standard_normal(c.x.shape), rng, transpose=True), cache))
        x2 = rng.standard_normal((2, 3))
        _, cache2, _ = batchnorm_forward(x2, np.ones(3), np.zeros(3), "train", np.zeros(3), np.ones(3))
        out.append(("train mode, a batch of 2", rng.standard_normal((2, 3)), cache2))
    return out


def _backward_variants(dout: np.ndarray, cache: BatchNormCache) -> list[Variant]:
    mode, x_hat, gamma, inv_std = cache
    dgamma, dbeta = np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
    dx_hat = dout * gamma
    full = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * np.mean(dx_hat * x_hat, axis=0))
    out = catalogued("batchnorm.batchnorm_backward", lambda bug: bug.variant(dout.copy(), cache), {
        "batchnorm_no_variance_path": "The variance depends on every x as well: its path adds "
                                      "-x_hat * mean(dx_hat * x_hat, axis=0) inside the bracket, "
                                      "dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) "
                                      "(section 9.3)."})
    out += [
        Variant("In training mode the batch mean and variance are functions of x: dx needs their two paths, "
                "dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)). Only in evaluation mode "
                "are they constants, and dx = dx_hat * inv_std.",
                lambda: (dx_hat * inv_std, dgamma, dbeta) if mode == "train" else None),
        Variant("In evaluation mode the running statistics are constants: out is an affine map of x, and "
                "dx = gamma * inv_std * dout. The paths through the batch statistics exist in training only.",
                lambda: (full, dgamma, dbeta) if mode == "eval" else None),
        Variant("dx is missing gamma: out = gamma * x_hat + beta, so dx_hat = dout * gamma.",
                lambda: (inv_std * (dout - dout.mean(axis=0) - x_hat * np.mean(dout * x_hat, axis=0))
                         if mode == "train" else dout * inv_std, dgamma, dbeta)),
    ]
    return out


def check_batchnorm_backward(fn, hidden: bool = False, seed: int = 0):
    """fn(dout: (N, d), cache = (mode, x_hat, gamma, inv_std)) -> (dx: (N, d), dgamma: (d,), dbeta: (d,))."""
    ex = "batchnorm_backward"
    cases = _backward_cases(hidden, seed)
    for label, dout, cache in cases:
        on = f"{label} (dout: {dout.shape})"
        done = call(ex, fn, dout, cache, on=on)
        result = done.result
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            fail(ex, f"should return a triple (dx, dgamma, dbeta), got {describe(result)}.",
                 ["End with `return dx, dgamma, dbeta`."], case=label, status="error")
        dx, dgamma, dbeta = result
        expected = batchnorm_backward(dout, cache)
        N = dout.shape[0]
        findings = [unchanged({"dout": dout}, {"dout": done.args[0]}),
                    unchanged({"cache": cache}, {"cache": done.args[1]}, cache=("cache",)),
                    check_array(f"dx for {on}", dx, expected[0], N=N),
                    check_array(f"dgamma for {on}", dgamma, expected[1], role="bias_grad", N=N),
                    check_array(f"dbeta for {on}", dbeta, expected[2], role="bias_grad", N=N)]
        if any(findings[2:]):
            match = first_match((dx, dgamma, dbeta), _backward_variants(dout, cache), expected)
            if match is not None:
                findings.append(Finding("", [match.hint], match.bug))
        finish(ex, findings, label)
    return passed(ex, len(cases))
