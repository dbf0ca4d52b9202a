"""Notebooks 09 and 10: the hidden cases hold their adversarial structures whatever the seed (the seed
draws values, never whether a batch of one, saturated logits, a drop probability of 0 or 0.99, an
identity layer or exact zeros are there)."""
import numpy as np
from hypothesis import given, settings, strategies as st

from course_lib.activations import sigmoid
from course_lib.checks import bce09, dead10, dropout09, init10, layers09, normalise09

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_vjp_cases_hold_views_an_identity_layer_and_a_scalar_output(seed):
    found = layers09._vjp_cases(True, np.random.default_rng(seed))
    kinds = {kind for *_, kind in found}
    assert {"identity", "view", "smooth"} <= kinds
    assert any(x.ndim == 3 for _, x, *_ in found)
    assert any(x.base is not None and not x.flags.c_contiguous for _, x, *_ in found)
    assert any(dout.shape == () for *_, dout, _, _ in found)
    assert any(eps == 1e-1 and sorted(x.ravel()) == sorted(layers09.ROUNDING_VALUES) for _, x, _, _, _, eps, _ in found)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_bce_cases_saturate_and_overflow(seed):
    found = bce09._bce_inputs(True, seed)
    with np.errstate(all="ignore"):
        P = [sigmoid(Z) for _, Z, _ in found]
        # a confident wrong answer where P has rounded to exactly 1, and logits where exp(z) overflows
        assert any(np.any((p == 1.0) & (Y == 0)) for p, (_, _, Y) in zip(P, found))
        assert any(np.any(np.isinf(np.exp(Z))) for _, Z, _ in found)
    assert any(Z.shape == (1,) for _, Z, _ in found) and any(Z.ndim == 2 and Z.shape[1] == 1 for _, Z, _ in found)
    assert any(not Z.flags.c_contiguous for _, Z, _ in found)
    # the visible test meets the saturation too
    assert any(np.any(sigmoid(Z) == 1.0) for _, Z, _ in bce09._bce_inputs(False, seed))


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_batchnorm_cases_hold_a_batch_of_one_a_constant_feature_and_a_large_mean(seed):
    found = normalise09._bn_cases(True, seed)
    assert any(c.x.shape[0] == 1 and c.mode == "train" for c in found)
    assert any(c.x.shape[0] == 1 and c.mode == "eval" for c in found)
    assert any(c.mode == "train" and np.any(c.x.var(axis=0) == 0) and c.x.shape[0] > 1 for c in found)
    assert any(np.abs(c.x.mean()) > 1e3 for c in found)
    assert any(not c.x.flags.c_contiguous for c in found)
    assert any(c.eps is not None and c.eps != 1e-5 for c in found)
    backward = normalise09._backward_cases(True, seed)
    assert any(cache.mode == "train" and dout.shape[0] == 1 for _, dout, cache in backward)
    assert any(np.any(cache.gamma == 0) and np.any(cache.gamma < 0) for _, _, cache in backward)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_dropout_cases_hold_p_zero_p_near_one_and_odd_shapes(seed):
    found = dropout09._dropout_cases(True, seed)
    probs = {p for _, _, p, mode, _ in found if mode == "train"}
    assert 0.0 in probs and 0.99 in probs and 0.2 in probs
    assert any(x.ndim == 3 for _, x, *_ in found) and any(x.shape[0] == 1 for _, x, *_ in found)
    assert any(not x.flags.c_contiguous for _, x, *_ in found)
    assert any(mode == "eval" for *_, mode, _ in found)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_dead_unit_cases_hold_exact_zeros_a_unit_alive_once_and_a_batch_of_one(seed):
    import course_lib.diagnostics as d

    found = dict(dead10._dead_cases(True, seed))
    zeros = next(Z for label, Z in found.items() if "exactly at 0" in label)
    assert np.any(np.all(zeros == 0, axis=0)) and d.dead_units(zeros).any() and not (zeros < 0).all(axis=0).any()
    assert d.inactive_examples(zeros).any()
    revives = next(Z for label, Z in found.items() if "exactly one example" in label)
    once = (revives > 0).sum(axis=0) == 1
    assert once.any() and d.dead_units(revives).any()
    assert any(Z.shape[0] == 1 for Z in found.values()) and any(Z.shape[1] == 1 for Z in found.values())
    planted = next(Z for label, Z in found.items() if "strided" in label)
    assert not planted.flags.c_contiguous
    assert np.flatnonzero(d.dead_units(planted)).tolist() == [3]
    assert np.flatnonzero(d.inactive_examples(planted)).tolist() == [2, 6]


@settings(max_examples=10, deadline=None)
@given(SEEDS)
def test_statistics_cases_hold_deep_exploding_vanishing_and_dead_layers(seed):
    found = init10._stats_cases(True, seed)
    depths = [sum(1 for layer in net.layers if layer.params) for _, net, _, _ in found]
    assert max(depths) >= 10 and any(X.shape[0] == 1 for _, _, X, _ in found)
    dead = next(net for label, net, _, _ in found if "dead" in label)
    assert np.all(dead.layers[2].params["b"] == -100.0)


def test_initialiser_shapes_tell_the_fans_apart_and_hold_enough_weights():
    for d_in, d_out in init10._shapes(True):
        assert d_in * d_out >= 40_000
    assert any(d_in != d_out for d_in, d_out in init10._shapes(False))
