"""Checkers for notebook 10's dead ReLUs: finding the dead units and the silent examples of a layer,
and the leaky ReLU that cures them (a layer class, checked like notebook 07's)."""
from __future__ import annotations

import numpy as np

from .. import data, diagnostics, layers, mlp
from .cases import strided
from .compare import describe, unchanged
from .core import Finding, call, fail, finish, passed
from .layer import _check_layer, _layer_cases, _LayerCase
from .recognise import Variant, catalogued, first_match

__all__ = ["check_dead_units_and_examples", "check_LeakyReLU"]


# ------------------------------------------------------------ dead_units_and_examples
def syllabus_Z1() -> np.ndarray:
    """The hidden pre-activations of the syllabus's network at initialisation on its tiny batch: (8, 4)."""
    X, _ = data.tiny_batch()
    return mlp.forward(mlp.init_params(5, 4, 3, seed=0), X)[1]["Z1"]


def _planted(rng, N, d, dead_units=(), silent=()) -> np.ndarray:
    """Z: (N, d) whose dead units and silent examples are exactly the ones given: every other unit is
    positive on some example that is not silent, and every other example on some unit that is not dead."""
    Z = rng.standard_normal((N, d))
    alive_units = [j for j in range(d) if j not in dead_units]
    talking = [i for i in range(N) if i not in silent]
    for j in alive_units:
        Z[rng.choice(talking), j] = rng.uniform(0.5, 2.0)
    for i in talking:
        Z[i, rng.choice(alive_units)] = rng.uniform(0.5, 2.0)
    for j in dead_units:
        Z[:, j] = -np.abs(Z[:, j]) - 0.1
    for i in silent:
        Z[i, :] = -np.abs(Z[i, :]) - 0.1
    return Z


def _dead_cases(hidden: bool, seed: int) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    cases = [("the syllabus's Z1 at initialisation, (8, 4)", syllabus_Z1()),
             ("Z: (10, 6) with one dead unit and two silent examples", _planted(rng, 10, 6, (2,), (3, 7)))]
    if hidden:
        zeros = _planted(rng, 6, 5, (), ())
        zeros[:, 1] = 0.0                 # a unit whose pre-activation is exactly 0 everywhere: dead (gate 1[z > 0])
        zeros[4, :] = np.where(zeros[4, :] > 0, 0.0, zeros[4, :])   # an example exactly at 0 or below on every unit
        zeros[4, 1] = 0.0
        revives = _planted(rng, 7, 4, (0,), ())
        revives[:, 3] = -1.0
        revives[5, 3] = 1e-3              # positive on one example only: alive
        one = rng.standard_normal((1, 6))
        one[0, :2] = [0.7, -0.4]
        cases += [
            ("pre-activations exactly at 0: a unit and an example that are 0 or below everywhere", zeros),
            ("a unit that is positive on exactly one example (alive), next to a dead one", revives),
            ("a batch of one, Z: (1, 6)", one),
            ("a batch of one with every unit off", -np.abs(rng.standard_normal((1, 4)))),
            ("every unit dead, Z: (6, 3)", -np.abs(rng.standard_normal((6, 3))) - 0.1),
            ("nothing dead, nothing silent, Z: (9, 5)", _planted(rng, 9, 5)),
            ("activations A = relu(Z) instead of Z", np.maximum(_planted(rng, 8, 5, (1, 4), (0,)), 0.0)),
            ("one unit, Z: (6, 1)", np.array([[-1.0], [0.0], [-2.0], [-0.5], [-3.0], [-0.1]]) * rng.uniform(0.5, 2)),
            ("Z a transposed strided view (7, 5)", strided(_planted(rng, 7, 5, (3,), (2, 6)), rng, transpose=True)),
        ]
    return cases


def _indices(ex, value, what, on):
    if isinstance(value, (list, tuple)):
        value = np.asarray(value, dtype=int) if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                                     for v in value) else value
    if type(value) is np.ndarray and value.dtype == bool:
        fail(ex, f"{what} should be indices, got a boolean mask ({describe(value)}) for {on}.",
             ["np.flatnonzero(mask) turns a mask into the indices where it is True."], case=on)
    if type(value) is not np.ndarray or value.ndim != 1 or (value.size and not np.issubdtype(value.dtype, np.integer)):
        fail(ex, f"{what} should be a 1-D array of integer indices (np.flatnonzero gives one), got {describe(value)} "
             f"for {on}.", ["A count is not enough: return which units (or examples), e.g. np.array([0, 2])."]
             if not isinstance(value, (np.ndarray, list, tuple)) else [], case=on, status="error")
    return sorted(int(v) for v in value)


def _dead_variants(Z: np.ndarray) -> list[Variant]:
    idx = lambda mask: sorted(np.flatnonzero(mask).tolist())  # noqa: E731
    off = Z <= 0
    return [
        Variant("The two are swapped: a dead UNIT is a column that is inactive on every example (all over axis 0); "
                "a silent EXAMPLE is a row inactive on every unit (all over axis 1).",
                lambda: (idx(off.all(axis=1)), idx(off.all(axis=0)))),
        Variant("A pre-activation of exactly 0 is inactive too: the gate 1[z > 0] is closed there, so use z <= 0.",
                lambda: (idx((Z < 0).all(axis=0)), idx((Z < 0).all(axis=1)))),
        Variant("It lists units inactive on SOME example (any); a dead unit is inactive on EVERY example (all).",
                lambda: (idx(off.any(axis=0)), idx(off.any(axis=1)))),
        Variant("The indices start at 1; numpy counts from 0.",
                lambda: ([i + 1 for i in idx(off.all(axis=0))], [i + 1 for i in idx(off.all(axis=1))])),
    ]


def check_dead_units_and_examples(fn, hidden: bool = False, seed: int = 0):
    """fn(Z: (N, d) ReLU pre-activations or activations) -> (units, examples): the indices of the units
    inactive (z <= 0) on every example, and of the examples on which every unit is inactive."""
    ex = "dead_units_and_examples"
    cases = _dead_cases(hidden, seed)
    for label, Z in cases:
        on = f"{label}"
        done = call(ex, fn, Z, on=on)
        result = done.result
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            fail(ex, f"should return a pair (units, examples), got {describe(result)} for {on}.",
                 ["End with `return units, examples`."], case=label, status="error")
        units, examples = _indices(ex, result[0], "units", on), _indices(ex, result[1], "examples", on)
        want = (np.flatnonzero(diagnostics.dead_units(Z)).tolist(), np.flatnonzero(diagnostics.inactive_examples(Z)).tolist())
        findings = [unchanged({"Z": Z}, {"Z": done.args[0]})]
        if (units, examples) != tuple(want):
            lines = [f"for {on}:"]
            if units != want[0]:
                lines.append(f"  the dead units should be {want[0]}, got {units}.")
            if examples != want[1]:
                lines.append(f"  the silent examples should be {want[1]}, got {examples}.")
            match = first_match((units, examples), _dead_variants(np.asarray(Z)), tuple(want))
            findings.append(Finding("\n".join(lines), [match.hint] if match else [
                "A unit is dead when its column has no entry above 0 ((Z <= 0).all(axis=0)); an example is silent when "
                "its row has none ((Z <= 0).all(axis=1))."]))
        finish(ex, findings, label)
    return passed(ex, len(cases))


# ------------------------------------------------------------------ LeakyReLU
def _leaky_cases(hidden: bool, seed: int) -> list[_LayerCase]:
    """The activation cases of notebook 07 (exact zeros among the hidden ones), each with a slope:
    () for the default 0.01, or (alpha,)."""
    rng = np.random.default_rng(seed + 3)
    alphas = [(), (0.2,), (0.1,), (), (0.3,), (0.05,), (), (0.5,), (0.02,)]
    out = []
    for i, case in enumerate(_layer_cases("activation", hidden, seed)):
        args = alphas[i % len(alphas)]
        slope = f"alpha={args[0]:g}" if args else "the default alpha"
        out.append(_LayerCase(f"{case.label}, {slope}", case.x, case.dout, args, rng))
    return out


def check_LeakyReLU(cls, hidden: bool = False, seed: int = 0):
    """cls(alpha=0.01) with forward(x) -> (out, cache), out = x where x > 0 else alpha * x, and
    backward(dout, cache) -> (dx, {}) with dx = dout where x > 0 else alpha * dout; any shape."""
    def variants_of(case, exp_dx, exp_grads):
        x, d = case.x, case.dout
        alpha = case.args[0] if case.args else layers.LeakyReLU().alpha
        out = catalogued("leaky_relu_backward", lambda bug: (bug.variant(d.copy(), x.copy(), alpha), {}))
        return out + [
            Variant("At x = 0 exactly the gate is closed, as for ReLU: the slope there is alpha (np.where(x > 0, ...), "
                    "not x >= 0).", lambda: (np.where(x >= 0, d, alpha * d), {})),
            Variant("It uses the slope 0.01 whatever alpha the layer was built with: read self.alpha.",
                    lambda: (np.where(x > 0, d, 0.01 * d), {}) if alpha != 0.01 else None),
            Variant("The negative side's gradient is dout * alpha * x; the derivative of alpha * x is alpha alone.",
                    lambda: (np.where(x > 0, d, alpha * x * d), {})),
        ]
    return _check_layer("LeakyReLU", cls, layers.LeakyReLU, _leaky_cases(hidden, seed), variants_of)
