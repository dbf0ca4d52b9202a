"""Checkers for notebook 11's small pieces of training: ``minibatches``, ``l2_penalty``,
``l2_penalty_gradient``, ``cosine_decay`` and ``update_to_weight_ratio`` (the optimizers, early
stopping and the training loop are in :mod:`.optim11`).

The references are :mod:`course_lib.train`, :mod:`course_lib.weight_decay` and
:mod:`course_lib.optim`. The sampler is judged first on properties, each with its own message (every example once per
epoch, the batch sizes, a fresh shuffle drawn from the generator it is given), then on the draw
itself: rng.permutation(N), the course's, so that a run can be replayed (``fit``'s test replays the
student's). The penalty's gradient is judged against the penalty's central differences.
"""
from __future__ import annotations

import numpy as np

from .. import bugs_training, optim, train, weight_decay
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, is_number, passed
from .recognise import Variant, first_match

__all__ = ["check_minibatches", "check_l2_penalty", "check_l2_penalty_gradient", "check_cosine_decay",
           "check_update_to_weight_ratio", "penalty_cases"]


# ------------------------------------------------------------------ minibatches
def _minibatch_cases(hidden: bool) -> list[tuple[int, int]]:
    """(N, batch_size): visible, one that leaves a shorter last batch and one that divides N; hidden adds
    a single example, a batch as large as N, a batch larger than N, batches of one, and a prime N."""
    cases = [(10, 4), (12, 3)]
    if hidden:
        cases += [(1, 1), (7, 7), (5, 8), (13, 1), (97, 10), (100, 32)]
    return cases


def _epoch(ex: str, got, N: int, on: str) -> list[np.ndarray]:
    """The batches of one epoch as integer arrays, or a failed check saying why they cannot be."""
    if not isinstance(got, (list, tuple)):
        fail(ex, f"should return a list of index arrays (one per batch), got {describe(got)} (on {on}).",
             ["Build the list of batches and return it (a generator with yield is not a list: wrap it in list(...))."],
             case=on, status="error")
    batches = []
    for i, batch in enumerate(got):
        arr = batch if type(batch) is np.ndarray else (np.asarray(batch) if isinstance(batch, (list, tuple)) else None)
        if arr is None or arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
            fail(ex, f"batch {i} should be a 1-D array of example indices (integers), got {describe(batch)} (on {on}).",
                 ["Slice an integer permutation: order[start:start + batch_size]."], case=on, status="error")
        batches.append(arr)
    return batches


def _sizes_hint(sizes: list[int], N: int, batch_size: int) -> str:
    full, rest = divmod(N, batch_size)
    if rest and sizes == [batch_size] * full:
        return (f"The last {rest} examples are never used: {N} = {full} x {batch_size} + {rest}, so the epoch ends with "
                f"a shorter batch of {rest}. Keep it (range(0, N, batch_size) does).")
    if rest and full and sizes == [batch_size] * (full - 1) + [batch_size + rest]:
        return f"The last {rest} examples were merged into the batch before; give them a batch of their own."
    if len(sizes) > 1 and max(sizes) - min(sizes) <= 1 and sizes != sorted(sizes, reverse=True)[:1] * len(sizes):
        return ("The batches were balanced (np.array_split does that); every batch should hold batch_size examples, "
                "except the last.")
    return f"Cut the shuffled order into slices of batch_size = {batch_size}: order[0:{batch_size}], ..., the last shorter."


def check_minibatches(fn, hidden: bool = False, seed: int = 0):
    """fn(N, batch_size, rng: a numpy Generator) -> one epoch: a list of index arrays, batch_size each but the last,
    every index of range(N) exactly once, in the order rng.permutation(N) draws (a new one each call)."""
    ex = "minibatches"
    cases = _minibatch_cases(hidden)
    for i, (N, batch_size) in enumerate(cases):
        on = f"N={N}, batch_size={batch_size}"
        key = [int(seed) & 0xFFFFFFFF, 1101, i]
        rng = np.random.default_rng(key)
        first = _epoch(ex, call(ex, fn, N, batch_size, rng, on=on, copy=False).result, N, on)
        sizes = [b.size for b in first]
        flat = np.concatenate(first) if first else np.zeros(0, dtype=int)
        full, rest = divmod(N, batch_size)
        want = [batch_size] * full + ([rest] if rest else [])
        findings = []
        counts = np.bincount(flat[(flat >= 0) & (flat < N)], minlength=N) if flat.size else np.zeros(N, int)
        outside = flat[(flat < 0) | (flat >= N)]
        if outside.size:
            findings.append(Finding(f"the indices should lie in range({N}); got {outside[:4].tolist()} (on {on}).",
                                    ["Shuffle the indices 0..N-1 (rng.permutation(N)), not the data."]))
        elif np.any(counts != 1):
            twice, never = np.flatnonzero(counts > 1), np.flatnonzero(counts == 0)
            findings.append(Finding(f"every example must appear exactly once per epoch; here {twice.size} appear more "
                                    f"than once and {never.size} never (on {on}; batch sizes {sizes}).",
                                    [_sizes_hint(sizes, N, batch_size) if never.size and not twice.size else
                                     "Take each index once: slice one permutation into consecutive batches, without "
                                     "wrapping around or padding the last batch."]))
        if not findings and sizes != want:
            findings.append(Finding(f"the batch sizes should be {want}, got {sizes} (on {on}).",
                                    [_sizes_hint(sizes, N, batch_size)]))
        finish(ex, findings, on)
        second = _epoch(ex, call(ex, fn, N, batch_size, rng, on=f"a second epoch with the same rng ({on})",
                                 copy=False).result, N, on)
        again = _epoch(ex, call(ex, fn, N, batch_size, np.random.default_rng(key),
                                on=f"a new rng with the same seed ({on})", copy=False).result, N, on)
        same = lambda a, b: len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))  # noqa: E731
        if not same(first, again):
            finish(ex, [Finding(f"two generators made with the same seed gave different epochs ({on}).",
                                ["Draw the shuffle from the rng argument (rng.permutation(N)): np.random's global "
                                 "functions and a new default_rng() ignore it, so a run could never be replayed."])], on)
        if N >= 10 and np.array_equal(flat, np.arange(N)):
            finish(ex, [Finding(f"the examples come in their original order 0, 1, 2, ... ({on}).",
                                ["Shuffle first: order = rng.permutation(N), then cut order into batches."])], on)
        if N >= 10 and same(first, second):
            finish(ex, [Finding(f"two epochs drawn with the same rng came out in the same order ({on}).",
                                ["Draw a new permutation from the rng passed in at every call: a generator made inside "
                                 "with a fixed seed (default_rng(0)) repeats the same order every epoch."])], on)
        replay = list(train.minibatches(N, batch_size, np.random.default_rng(key)))
        if not same(first, replay):
            finish(ex, [Finding(f"the epoch is a valid shuffle, but not the one rng.permutation({N}) draws ({on}).",
                                ["Draw the order with rng.permutation(N) (rng.shuffle(np.arange(N)) draws the same): "
                                 "then anyone with the seed replays your run exactly, and fit's test can."])], on)
    return passed(ex, len(cases))


# ---------------------------------------------------------------- weight decay
def penalty_cases(hidden: bool, seed: int) -> list[tuple[str, dict, float]]:
    """(label, params, lam): a two-layer network and a deeper one; hidden adds batch norm's gamma and beta,
    a (1, d) weight, a 3-D kernel, lam = 0 and a large lam."""
    rng = np.random.default_rng(seed)
    draw = lambda **shapes: {n: rng.standard_normal(s) for n, s in shapes.items()}  # noqa: E731
    cases = [("the two-layer network's params, lam=0.1", draw(W1=(4, 5), b1=(5,), W2=(5, 3), b2=(3,)), 0.1),
             ("a deeper network's params, lam=1e-3", {**draw(**{"0.W": (3, 4), "0.b": (4,), "2.W": (4, 4)}),
                                                       **draw(**{"2.b": (4,), "4.W": (4, 2), "4.b": (2,)})}, 1e-3)]
    if hidden:
        cases += [("with batch norm's gamma (4,) and beta (4,), lam=0.05",
                   draw(W1=(3, 4), gamma=(4,), beta=(4,), W2=(4, 2), b2=(2,)), 0.05),
                  ("a (1, 6) weight (a matrix, so it is decayed), lam=0.3", draw(W=(1, 6), b=(6,)), 0.3),
                  ("a 3-D kernel (2, 3, 3), lam=0.2", draw(K=(2, 3, 3), bias=(2,)), 0.2),
                  ("lam=0: no decay at all", draw(W1=(2, 3), b1=(3,)), 0.0),
                  ("a large lam=5.0", draw(W1=(3, 2), b1=(2,), W2=(2, 2), b2=(2,)), 5.0)]
    return cases


def check_l2_penalty(fn, hidden: bool = False, seed: int = 0):
    """fn(params, lam) -> (lam / 2) * the sum of ||W||^2 over the weights (arrays with 2 or more axes)."""
    ex = "l2_penalty"
    cases = penalty_cases(hidden, seed)
    for label, params, lam in cases:
        done = call(ex, fn, params, lam, on=label)
        got = done.result
        if not (is_number(got) or (type(got) is np.ndarray and got.shape == () and np.issubdtype(got.dtype, np.floating))):
            fail(ex, f"should return one number, got {describe(got)} (on {label}).",
                 ["Add up the squared entries of every weight into a single float."], case=label, status="error")
        weights = [p for p in params.values() if np.ndim(p) >= 2]
        squares = sum(float(np.sum(W * W)) for W in weights)
        everything = sum(float(np.sum(p * p)) for p in params.values())
        variants = [Variant("It includes the biases (and gamma, beta): decay only the weights, the parameters with two "
                            "or more axes (section 11.2).", lambda: np.float64(lam / 2 * everything)),
                    Variant("It is twice the penalty: the course's penalty is (lam/2) * sum ||W||^2, whose gradient is "
                            "then exactly lam * W.", lambda: np.float64(lam * squares)),
                    Variant("It uses the norms ||W||, not their squares: the penalty is (lam/2) * sum of W**2 over "
                            "every entry.", lambda: np.float64(lam / 2 * sum(np.linalg.norm(W) for W in weights))),
                    Variant("It is a mean over the entries; the penalty sums every squared entry.",
                            lambda: np.float64(lam / 2 * sum(float(np.mean(W * W)) for W in weights)))]
        expected = np.float64(weight_decay.l2_penalty(params, lam))
        finish(ex, [unchanged({"params": params}, {"params": done.args[0]}),
                    check_array(f"the penalty for {label}", np.float64(float(got)), expected, role=None,
                                rtol=1e-10, atol=1e-14, variants=variants)], label)
    return passed(ex, len(cases))


def _full(grads: dict, params: dict) -> dict:
    """A gradient dict with an entry for every parameter: biases the penalty leaves out count as zeros."""
    return {n: (grads[n] if n in grads else np.zeros_like(p)) for n, p in params.items()}


def check_l2_penalty_gradient(fn, hidden: bool = False, seed: int = 0):
    """fn(params, lam) -> {name: lam * W} for every weight (ndim >= 2); biases get no entry (or zeros).
    Judged against central differences of the penalty (lam / 2) sum ||W||^2."""
    ex = "l2_penalty_gradient"
    cases = penalty_cases(hidden, seed)
    for label, params, lam in cases:
        done = call(ex, fn, params, lam, on=label)
        got = done.result
        if not isinstance(got, dict) or not set(map(str, got)) <= set(params):
            extra = sorted(set(map(str, got)) - set(params)) if isinstance(got, dict) else None
            fail(ex, f"should return a dict keyed by parameter names, got {describe(got)}"
                 + (f" with names {extra} that are not parameters" if extra else "") + f" (on {label}).",
                 case=label, status="error")
        missing = [n for n in params if np.ndim(params[n]) >= 2 and n not in got]
        if missing:
            fail(ex, f"the weights {missing} have no gradient in the result (on {label}).",
                 ["Every parameter with two or more axes is a weight and is decayed."], case=label)
        # Central differences of the quadratic penalty agree with lam * W up to round-off (tests/checks
        # show it on every case); the closed form is the oracle, exact to the last digit.
        expected = _full(weight_decay.l2_penalty_gradient(params, lam), params)
        got_full = _full(got, params)
        variants = [Variant("Biases (and gamma, beta) got a gradient lam * b: decay only the weights; a parameter with "
                            "fewer than two axes gets nothing from the penalty (section 11.2).",
                            lambda: _full(bugs_training.l2_penalty_gradient_with_biases(params, lam), params),
                            "weight_decay_on_biases"),
                    Variant("Every entry is twice the derivative of (lam/2) ||W||^2: the 1/2 cancels the 2 of the "
                            "square, so the gradient is lam * W (section 11.2).",
                            lambda: _full(bugs_training.l2_penalty_gradient_doubled(params, lam), params),
                            "l2_gradient_doubled"),
                    Variant("Every entry is half the gradient: the derivative of (lam/2) W**2 is lam * W.",
                            lambda: {n: g / 2 for n, g in expected.items()}),
                    Variant("The sign is flipped: the penalty grows with |W|, so its gradient is +lam * W (the step "
                            "then subtracts it).", lambda: {n: -g for n, g in expected.items()})]
        findings = [unchanged({"params": params}, {"params": done.args[0]})]
        findings += [check_array(f"the gradient of {n!r} for {label}", got_full[n], expected[n], rtol=1e-10, atol=1e-14)
                     for n in params]
        if any(findings[1:]):
            match = first_match(got_full, variants, expected)
            if match is not None:
                findings.append(Finding("", [match.hint], match.bug))
            else:
                findings.append(Finding("", ["Central differences of (lam/2) sum ||W||^2 give lam * W for every weight "
                                             "and 0 for every bias (run grad_check on your penalty to see it)."]))
        finish(ex, findings, label)
    return passed(ex, len(cases))


# ---------------------------------------------------------------- the schedule
def _schedule_cases(hidden: bool) -> list[tuple[str, float, int, float | None, list[int]]]:
    """(label, lr, total_steps, lr_min or None for the default, the steps t to ask about)."""
    cases = [("lr=0.1 over 100 steps (lr_min left at its default)", 0.1, 100, None, [0, 1, 25, 50, 75, 99, 100, 150]),
             ("lr=0.5 down to lr_min=0.01 over 10 steps", 0.5, 10, 0.01, list(range(11)))]
    if hidden:
        cases += [("past the end: t > total_steps stays at lr_min", 0.2, 8, 0.02, [7, 8, 9, 12, 16, 80]),
                  ("a schedule of one step", 1.0, 1, 0.1, [0, 1, 2]),
                  ("lr_min equal to lr: a flat schedule", 0.3, 5, 0.3, [0, 2, 5, 7]),
                  ("an odd number of steps, 7", 0.05, 7, 0.0, [0, 3, 4, 7])]
    return cases


def check_cosine_decay(fn, hidden: bool = False, seed: int = 0):
    """fn(t, lr, total_steps, lr_min=0.0) -> the rate at step t: lr_min + (lr - lr_min) (1 + cos(pi t / T)) / 2
    for t <= T = total_steps, and lr_min after."""
    ex = "cosine_decay"
    cases = _schedule_cases(hidden)
    for label, lr, total, lr_min, ts in cases:
        on = label
        values = []
        for t in ts:
            args = (t, lr, total)
            kwargs = {} if lr_min is None else {"lr_min": lr_min}
            got = call(ex, fn, *args, on=f"t={t}, {on}", **kwargs).result
            if not (is_number(got) or (type(got) is np.ndarray and got.shape == ())):
                fail(ex, f"should return one number, the learning rate at step t; got {describe(got)} (t={t}, {on}).",
                     case=on, status="error")
            values.append(float(got))
        low = 0.0 if lr_min is None else lr_min
        schedule = optim.CosineDecay(lr, total, low)
        expected = np.array([schedule(t) for t in ts])
        T = np.array(ts, dtype=float)
        variants = [Variant("After total_steps the rate climbs back up: the cosine must stop at t = total_steps and "
                            "stay at lr_min (use min(t, total_steps)).",
                            lambda: low + (lr - low) * (1 + np.cos(np.pi * T / total)) / 2),
                    Variant("It ignores lr_min: the curve runs from lr down to lr_min, "
                            "lr_min + (lr - lr_min) (1 + cos(pi t / T)) / 2.",
                            lambda: lr * (1 + np.cos(np.pi * np.minimum(T, total) / total)) / 2),
                    Variant("It is lr * cos(pi t / T), which goes negative: the half cosine is (1 + cos(pi t / T)) / 2, "
                            "from 1 down to 0.", lambda: lr * np.cos(np.pi * np.minimum(T, total) / total)),
                    Variant("That is a straight line from lr to lr_min; the schedule follows half a cosine, flat at "
                            "both ends.", lambda: lr - (lr - low) * np.minimum(T, total) / total)]
        finish(ex, [check_array(f"the rates at t = {ts} for {label}", np.array(values), expected, rtol=1e-12,
                                atol=1e-15, variants=variants)], on)
    return passed(ex, len(cases))


# ------------------------------------------------------- update-to-weight ratio
def _ratio_cases(hidden: bool, seed: int) -> list[tuple[str, dict, dict]]:
    """(label, updates, params)."""
    rng = np.random.default_rng(seed + 7)
    params = {"W1": rng.standard_normal((4, 5)), "b1": 0.1 * rng.standard_normal(5),
              "W2": rng.standard_normal((5, 3)), "b2": 0.1 * rng.standard_normal(3)}
    updates = {n: 1e-3 * rng.standard_normal(p.shape) for n, p in params.items()}
    cases = [("an ordinary step of the two-layer network", updates, params)]
    if hidden:
        zero_bias = {"W": rng.standard_normal((3, 3)), "b": np.zeros(3)}
        cases += [("a bias still at zero (the ratio is inf)", {n: 0.01 * rng.standard_normal(p.shape)
                                                              for n, p in zero_bias.items()}, zero_bias),
                  ("a parameter at zero that did not move (the ratio is 0)", {"W": 1e-3 * rng.standard_normal((2, 2)),
                                                                              "b": np.zeros(2)},
                   {"W": rng.standard_normal((2, 2)), "b": np.zeros(2)}),
                  ("updates for some of the parameters only", {"W2": 0.1 * rng.standard_normal((5, 3))}, params),
                  ("steps of very different sizes", {"W": 1e-6 * rng.standard_normal((3, 2)),
                                                     "V": 10.0 * rng.standard_normal((2, 2))},
                   {"W": rng.standard_normal((3, 2)), "V": rng.standard_normal((2, 2))})]
    return cases


def check_update_to_weight_ratio(fn, hidden: bool = False, seed: int = 0):
    """fn(updates, params) -> {name: ||update|| / ||param||} for every name of updates (Frobenius norms);
    inf where the parameter is zero and the update is not, 0 where both are."""
    ex = "update_to_weight_ratio"
    cases = _ratio_cases(hidden, seed)
    for label, updates, params in cases:
        done = call(ex, fn, updates, params, on=label)
        got = done.result
        expected = optim.update_to_weight_ratio(updates, params)
        if not isinstance(got, dict) or sorted(map(str, got)) != sorted(expected):
            fail(ex, f"should return a dict with one ratio per name of updates, {sorted(expected)}; got {describe(got)} "
                 f"(on {label}).", ["Loop over updates.items(): only the parameters that were updated have a ratio."],
                 case=label, status="error")
        for name, value in got.items():
            if not (is_number(value) or (type(value) is np.ndarray and value.shape == ())):
                fail(ex, f"the ratio of {name!r} should be a number, got {describe(value)} (on {label}).",
                     ["np.linalg.norm of the whole array is one number."], case=label, status="error")
        names = sorted(expected)
        arr = np.array([float(got[n]) for n in names])
        exp = np.array([expected[n] for n in names])
        norm = lambda d, n: float(np.linalg.norm(d[n]))  # noqa: E731
        with np.errstate(all="ignore"):
            variants = [Variant("It is upside down: the ratio is ||update|| / ||param||, small (about 1e-3) when "
                                "training is healthy.",
                                lambda: np.array([norm(params, n) / norm(updates, n) for n in names])),
                        Variant("It uses squared norms: take np.linalg.norm of each, then divide.",
                                lambda: np.array([norm(updates, n) ** 2 / norm(params, n) ** 2 for n in names])),
                        Variant("It averages the entry-wise ratios |update| / |param|; the ratio is of the whole "
                                "arrays' norms.", lambda: np.array([float(np.mean(np.abs(updates[n]) / np.abs(params[n])))
                                                                    for n in names]))]
        finding = check_array(f"the ratios of {names} for {label}", arr, exp, rtol=1e-10, atol=1e-15, variants=variants)
        if finding is not None and (not np.all(np.isfinite(exp)) or np.any(exp == 0)):
            finding.hints.append("A parameter still at zero has ||param|| = 0: its ratio is inf when it moved and 0 when "
                                 "it did not (math.inf, or float('inf')), rather than a division by zero.")
        finish(ex, [unchanged({"updates": updates, "params": params}, dict(zip(("updates", "params"), done.args))),
                    finding], label)
    return passed(ex, len(cases))
