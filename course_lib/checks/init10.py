"""Checkers for notebook 10, initialisation: an initialiser by name (He, Glorot/Xavier, LeCun, zeros)
and the per-layer statistics of a deep network. Dead units and the leaky ReLU are in :mod:`.dead10`.

Weights are random, so ``initialise`` is not compared with a particular draw: its sample variance
must be the scheme's within 5% on at least 40,000 weights (seven standard errors of a normal
sample's variance), its mean near 0, the same seed must give the same matrix and another seed
another one, and an unknown name must raise ValueError.
"""
from __future__ import annotations

import copy

import numpy as np

from .. import diagnostics, init, layers
from ..losses import softmax, softmax_cross_entropy_backward
from ..snapshot import changes
from .compare import check_array, describe, unchanged
from .core import Finding, call, fail, finish, is_number, passed, quiet
from .recognise import Variant, first_match

__all__ = ["check_initialise", "check_layer_statistics"]

NAMES = ("he", "glorot", "xavier", "lecun", "zeros")
VARIANCE_RTOL = 0.05


# ------------------------------------------------------------------ initialise
def expected_variance(name: str, d_in: int, d_out: int) -> float:
    return init.variance("glorot" if name == "xavier" else name, d_in, d_out)


def _variance_slips(name: str, d_in: int, d_out: int) -> list[tuple[float, str]]:
    """(the variance a wrong formula gives, what to do about it), most likely first."""
    v = expected_variance(name, d_in, d_out)
    fan = "d_in, the number of inputs each unit adds up (the fan-in)"
    slips = [(v * v, "It has the variance squared: multiply the standard normal draws by the standard deviation, "
                     "np.sqrt(variance), not by the variance.")]
    if name == "he":
        slips += [(1.0 / d_in, "That is LeCun's variance, 1 / d_in. He's doubles it, 2 / d_in, because a ReLU "
                               "zeroes half of its inputs and so halves the signal's second moment."),
                  (2.0 / d_out, f"It divides by d_out; He's variance divides by {fan}: 2 / d_in."),
                  (2.0 / d_in ** 2, "It is sqrt(2) / d_in: take the square root of the whole fraction, "
                                    "np.sqrt(2 / d_in).")]
    elif name in ("glorot", "xavier"):
        slips += [(1.0 / d_in, "That is LeCun's variance, 1 / d_in (the syllabus calls it \"Xavier-like\"). Glorot and "
                               "Bengio's (Xavier's) variance averages the two fans: 2 / (d_in + d_out)."),
                  (1.0 / (d_in + d_out), "The 2 is missing: Glorot's variance is 2 / (d_in + d_out), one over the "
                                         "average of the two fans."),
                  (6.0 / (d_in + d_out), "6 / (d_in + d_out) is the square of the bound a of Glorot's UNIFORM version; "
                                         "the variance of U(-a, a) is a**2 / 3 = 2 / (d_in + d_out)."),
                  (2.0 / (3 * (d_in + d_out)), "U(-a, a) has variance a**2 / 3: for Glorot's uniform version take "
                                                "a = sqrt(6 / (d_in + d_out)), or draw a normal with variance "
                                                "2 / (d_in + d_out)."),
                  (2.0 / (d_in * d_out), "It divides by d_in * d_out; Glorot's variance divides by the average of the "
                                         "fans: 2 / (d_in + d_out).")]
    elif name == "lecun":
        slips += [(2.0 / d_in, "That is He's variance, 2 / d_in; LeCun's is 1 / d_in."),
                  (1.0 / d_out, f"It divides by d_out; LeCun's variance divides by {fan}: 1 / d_in."),
                  (2.0 / (d_in + d_out), "That is Glorot's variance, 2 / (d_in + d_out); LeCun's is 1 / d_in.")]
    slips.append((1.0, "The weights have variance 1: scale the standard normal draws by the scheme's standard deviation."))
    return [(s, h) for s, h in slips if not np.isclose(s, v, rtol=3 * VARIANCE_RTOL)]


def _shapes(hidden: bool) -> list[tuple[int, int]]:
    # Non-square, so that d_in, d_out and d_in + d_out give different variances; >= 40,000 weights each.
    shapes = [(400, 100), (100, 400)]
    return shapes + [(1000, 60), (256, 256), (1, 40000), (20000, 2)] if hidden else shapes


def _weights(ex, fn, name, d_in, d_out, seed, on):
    hint = ('"xavier" is Glorot\'s other name (after Xavier Glorot): it must give Glorot\'s weights.'
            if name == "xavier" else "")
    W = call(ex, fn, name, d_in, d_out, seed, on=on, hint=hint).result
    if type(W) is not np.ndarray or W.shape != (d_in, d_out):
        fail(ex, f"should return W, a numpy array of shape ({d_in}, {d_out}), got {describe(W)} ({on}).",
             ["W has one row per input and one column per unit: (d_in, d_out)."] if type(W) is np.ndarray and
             W.shape == (d_out, d_in) else [], case=on, status="failed" if type(W) is np.ndarray else "error")
    if W.dtype != np.float64:
        fail(ex, f"W should hold float64 weights, got dtype {W.dtype} ({on}).",
             ["standard_normal draws float64 by default: keep that dtype, and scale by a float64 standard "
              "deviation (no np.float32, no astype)."], case=on)
    return W


def check_initialise(fn, hidden: bool = False, seed: int = 0):
    """fn(name, d_in, d_out, seed) -> W: (d_in, d_out), float64, drawn from default_rng(seed), with
    Var(W_ij) = 2/d_in ("he"), 2/(d_in + d_out) ("glorot", also called "xavier"), 1/d_in ("lecun"), or all
    zeros ("zeros"); ValueError for any other name."""
    ex = "initialise"
    count = 0
    rng = np.random.default_rng(seed)
    for d_in, d_out in _shapes(hidden):
        for name in NAMES:
            s = int(rng.integers(1 << 30))
            on = f"initialise({name!r}, {d_in}, {d_out}, seed={s})"
            W = _weights(ex, fn, name, d_in, d_out, s, on)
            count += 1
            v = expected_variance(name, d_in, d_out)
            if name == "zeros":
                if np.any(W != 0):
                    fail(ex, f"{on} should be all zeros, got {describe(W)}.", case=on)
                continue
            n = W.size
            mean, var = float(W.mean()), float(W.var())
            if abs(mean) > 6 * np.sqrt(v / n):
                fail(ex, f"{on}: the weights should have mean 0, got {mean:.4g} (their standard deviation is "
                     f"{np.sqrt(var):.4g}).", ["Draw from a distribution centred on 0: a normal, or a uniform on "
                                                "(-a, a)."], case=on)
            if abs(var / v - 1) > VARIANCE_RTOL:
                hint = next((h for slip, h in _variance_slips(name, d_in, d_out)
                             if abs(var / slip - 1) <= VARIANCE_RTOL), "")
                fail(ex, f"{on}: the weights should have variance {v:.4g}, got {var:.4g} over its {n} weights "
                     f"({var / v:.3g} times too {'large' if var > v else 'small'}).",
                     [hint or f"Scale the standard normal draws by np.sqrt({v:.4g})."], case=on)
            again = _weights(ex, fn, name, d_in, d_out, s, f"a second call of {on}")
            if not np.array_equal(again, W):
                fail(ex, f"two calls of {on} gave different weights.",
                     ["Draw from np.random.default_rng(seed): the same seed must give the same network."], case=on)
            other = _weights(ex, fn, name, d_in, d_out, s + 1, f"initialise({name!r}, {d_in}, {d_out}, seed={s + 1})")
            if np.array_equal(other, W):
                fail(ex, f"seeds {s} and {s + 1} gave the same weights ({name!r}, {d_in}, {d_out}).",
                     ["Use the seed argument: W = np.random.default_rng(seed).standard_normal(...) * std."], case=on)
    on = "initialise('xavier_like', 3, 2, seed=0), an unknown name"
    try:
        with quiet():
            got = fn("xavier_like", 3, 2, 0)
    except NotImplementedError:
        raise
    except ValueError:
        return passed(ex, count + 1)
    except Exception as err:
        fail(ex, f"{on} raised {type(err).__name__}: {err}; expected a ValueError.",
             ["End with `raise ValueError(f\"unknown initialiser {name!r}\")` for names you do not know."], case=on)
    fail(ex, f"{on} should raise a ValueError, got {describe(got)}.",
         ["A misspelt name must not quietly give some default: raise ValueError for names you do not know."], case=on)


# ------------------------------------------------------------ layer_statistics
def _walk(net: layers.Sequential, X: np.ndarray, labels: np.ndarray):
    """Every layer's output, the gradient at each output and at each input, for the mean softmax cross entropy."""
    outputs, caches, h = [], [], X
    for layer in net.layers:
        h, cache = layer.forward(h)
        outputs.append(h)
        caches.append(cache)
    dout = softmax_cross_entropy_backward(softmax(h), labels)
    grad_out, grad_in = [None] * len(net.layers), [None] * len(net.layers)
    for i in reversed(range(len(net.layers))):
        grad_out[i] = dout
        dout, _ = net.layers[i].backward(dout, caches[i])
        grad_in[i] = dout
    return outputs, grad_out, grad_in


def _stats_cases(hidden: bool, seed: int):
    """(label, net, X, labels): deep stacks of the course's layers."""
    rng = np.random.default_rng(seed)
    s = lambda: int(rng.integers(1 << 30))  # noqa: E731

    def case(label, sizes, activation="relu", scheme="he", scale=1.0, N=16):
        net = init.stack(sizes, activation, scheme=scheme, scale=scale, seed=s())
        return (label, net, rng.standard_normal((N, sizes[0])), rng.integers(0, sizes[-1], N))

    cases = [case("[8, 16, 16, 16, 3], ReLU, He, a batch of 32", [8, 16, 16, 16, 3], N=32),
             case("six tanh layers, Glorot x 0.5 (vanishing), a batch of 16", [10] + [20] * 6 + [4], "tanh",
                  "glorot", 0.5)]
    if hidden:
        cases += [case("ten ReLU layers, He x 2 (exploding), a batch of 20", [12] + [24] * 9 + [3], scale=2.0, N=20),
                  case("ten ReLU layers, He x 0.5 (vanishing), a batch of 20", [12] + [24] * 9 + [3], scale=0.5,
                       N=20),
                  case("a batch of one, two classes", [5, 7, 7, 2], N=1)]
        label, net, X, y = case("a layer whose every unit is dead (its biases are -100)", [6, 8, 8, 8, 3], N=10)
        net.layers[2].params["b"] = np.full(8, -100.0)
        cases.append((label, net, X, y))
        r = np.random.default_rng(s())
        mixed = layers.Sequential([layers.Linear.init(4, 6, r), layers.Sigmoid(), layers.Linear.init(6, 5, r),
                                   layers.LeakyReLU(0.1), layers.Linear.init(5, 3, r, gain=1.0)])
        cases.append(("sigmoid, then leaky ReLU", mixed, rng.standard_normal((9, 4)), rng.integers(0, 3, 9)))
    return cases


def _stats_variants(net, X, labels, N) -> list[Variant]:
    outputs, grad_out, grad_in = _walk(copy.deepcopy(net), X, labels)
    acts = [i for i, layer in enumerate(net.layers) if not layer.params]
    std = lambda vs: [float(np.std(v)) for v in vs]  # noqa: E731
    a, g = std([outputs[i] for i in acts]), std([grad_out[i] for i in acts])
    return [
        Variant("The gradients are taken after each activation's backward, at its input Z; the exercise wants the "
                "gradient at the activation's OUTPUT, the dout that arrives at the activation layer.",
                lambda: (a, std([grad_in[i] for i in acts]))),
        Variant("The activation statistics are those of each activation layer's input (the pre-activations); take "
                "the layer's output.", lambda: (std([outputs[i - 1] for i in acts]), g)),
        Variant("The gradients are listed last layer first; list them first layer first, like the activations.",
                lambda: (a, g[::-1])),
        Variant(f"The gradients are N = {N} times too large: the loss is the MEAN cross entropy, so the gradient at "
                "the logits is (softmax(out) - Y) / N.", lambda: (a, [N * v for v in g]) if N > 1 else None),
        Variant("These are variances: take the standard deviation, np.std.",
                lambda: ([v * v for v in a], [v * v for v in g])),
        Variant("It averages the units' own standard deviations (np.std along axis 0); take the standard deviation "
                "of every entry of the layer's values together, np.std(values).",
                lambda: ([float(np.std(outputs[i], axis=0).mean()) for i in acts],
                         [float(np.std(grad_out[i], axis=0).mean()) for i in acts])),
    ]


def _numbers(ex, value, what, k, on):
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = list(value)
    if not isinstance(value, (list, tuple)) or not all(is_number(v) for v in value):
        fail(ex, f"{what} should be a list of numbers, one per activation layer ({k} for {on}); got "
             f"{describe(value)}.", case=on, status="error")
    if len(value) != k:
        fail(ex, f"{what} should have one number per activation layer (every layer without parameters): {k} for "
             f"{on}, got {len(value)}.", ["Skip the Linear layers: only the activations' outputs count."]
             if len(value) > k else [], case=on)
    return np.asarray([float(v) for v in value])


def check_layer_statistics(fn, hidden: bool = False, seed: int = 0):
    """fn(net, X: (N, d0), labels: (N,)) -> (activation_std, gradient_std): for each activation layer of
    ``net`` (a course Sequential), first layer first, the standard deviation of every entry of its output,
    and of the gradient of the mean softmax cross entropy with respect to that output."""
    ex = "layer_statistics"
    cases = _stats_cases(hidden, seed)
    for label, net, X, labels in cases:
        on = f"{label} (X: {X.shape})"
        stats = diagnostics.network_statistics(copy.deepcopy(net), X, labels)
        expected = (np.array([s.std for s in stats.activations]), np.array([s.std for s in stats.activation_grads]))
        given = copy.deepcopy(net)
        done = call(ex, fn, given, X, labels, on=on)
        moved = changes(net.named_params(), given.named_params(), "the network's parameters")
        findings = [unchanged({"X": X, "labels": labels}, {"X": done.args[1], "labels": done.args[2]}),
                    Finding(f"your function changed {', '.join(map(str, moved))}.",
                            ["Only measure: a forward and a backward pass change no parameter."]) if moved else None]
        result = done.result
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(ex, f"should return a pair (activation_std, gradient_std), got {describe(result)}.", case=label,
                 status="error")
        k = len(expected[0])
        got = (_numbers(ex, result[0], "activation_std", k, on), _numbers(ex, result[1], "gradient_std", k, on))
        wrong = [check_array(f"activation_std for {on}", got[0], expected[0], rtol=1e-7, atol=1e-300),
                 check_array(f"gradient_std for {on}", got[1], expected[1], rtol=1e-7, atol=1e-300, N=X.shape[0])]
        if any(wrong):
            match = first_match(tuple(list(g) for g in got), _stats_variants(net, X, labels, X.shape[0]),
                                tuple(list(e) for e in expected))
            if match is not None:
                wrong.append(Finding("", [match.hint]))
        finish(ex, findings + wrong, label)
    return passed(ex, len(cases))
