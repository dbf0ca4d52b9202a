"""The hidden cases hold their adversarial structures whatever the seed: the seed draws values, never
whether a batch of one, exact zeros, overflowing logits or a strided input are there."""
import numpy as np
from hypothesis import given, settings, strategies as st

from course_lib.checks import cases, setting
from course_lib.checks.digits import digits_setting
from course_lib.checks.gradient import ROUNDING_VALUES, _x_cases

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_network_cases_hold_every_awkward_structure(seed):
    found = cases.network_cases(hidden=True, seed=seed)
    assert any(c.N == 1 for c in found)
    assert any(c.params["W1"].shape[1] == 1 and c.C == 2 for c in found)
    assert any(c.X.shape[1] != c.params["W1"].shape[1] != c.C for c in found)
    assert any(np.any(c.cache["Z1"] == 0.0) for c in found)
    assert any(np.isclose(np.abs(c.Z2).max(), 1e3) for c in found)
    designed = next(c for c in found if "800 and 900" in c.label)
    Z2 = designed.Z2
    row_max = Z2.max(axis=1)
    assert np.any(np.sort(Z2, axis=1)[:, -2] > 710)           # two entries of one row overflow exp
    assert row_max.max() - row_max.min() > 1500                # rows whose maxima lie far apart
    assert np.any(designed.labels != Z2.argmax(axis=1))        # a non-zero gradient
    view = next(c for c in found if "strided" in c.label)
    assert not view.X.flags.c_contiguous and not view.params["W1"].flags.c_contiguous


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_logit_cases_defeat_every_wrong_shift(seed):
    Zs = [Z for _, Z in cases.logit_cases(hidden=True, seed=seed)]
    for wrong_shift in (lambda Z: Z.max(), lambda Z: Z.min(axis=1, keepdims=True),
                        lambda Z: Z.mean(axis=1, keepdims=True), lambda Z: 0.0):
        with np.errstate(all="ignore"):
            assert any(not np.all(np.isfinite(np.exp(Z - wrong_shift(Z)) / np.exp(Z - wrong_shift(Z)).sum(1, keepdims=True)))
                       for Z in Zs)
    assert any(not Z.flags.c_contiguous for Z in Zs)
    assert any(Z.shape[0] == 1 for Z in Zs) and any(Z.shape[1] == 2 for Z in Zs)


def test_the_visible_softmax_case_defeats_every_wrong_shift_too():
    Zs = [Z for _, Z in cases.logit_cases(hidden=False)]
    for wrong_shift in (lambda Z: Z.max(), lambda Z: Z.min(axis=1, keepdims=True),
                        lambda Z: Z.mean(axis=1, keepdims=True), lambda Z: 0.0):
        with np.errstate(all="ignore"):
            assert any(not np.all(np.isfinite(np.exp(Z - wrong_shift(Z)) / np.exp(Z - wrong_shift(Z)).sum(1, keepdims=True)))
                       for Z in Zs)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_numerical_gradient_cases_hold_views_three_axes_and_rounding_values(seed):
    found = _x_cases(True, np.random.default_rng(seed))
    assert any(x.ndim == 3 for _, x, _, _, _ in found)
    assert any(x.base is not None and not x.flags.c_contiguous for _, x, _, _, _ in found)
    eps_big = [(x, eps) for _, x, _, eps, _ in found if eps == 1e-1]
    assert eps_big and sorted(eps_big[0][0].ravel()) == sorted(ROUNDING_VALUES)


@settings(max_examples=25, deadline=None)
@given(SEEDS)
def test_size_cases_hold_one_two_and_many_layers(seed):
    sizes = setting._size_cases(True, seed)
    lengths = {len(s) for s in sizes}
    assert {2, 3}.issubset(lengths) and max(lengths) >= 5
    assert {len(s) for s in setting._size_cases(False, 0)} >= {2, 3, 4}


@settings(max_examples=10, deadline=None)
@given(SEEDS)
def test_the_digits_split_and_pixel_order_come_from_the_seed(seed):
    split, order, train_seed, where = digits_setting(True, seed)
    again = digits_setting(True, seed)
    assert np.array_equal(order, again[1]) and np.array_equal(split.y_test, again[0].y_test)
    assert sorted(order) == list(range(64)) and not np.array_equal(order, np.arange(64))
    assert "pixels shuffled" in where
    other = digits_setting(True, seed + 1)
    assert not np.array_equal(other[1], order)
