"""Notebook 09's layers: numerical_gradient_array, sigmoid with binary cross entropy, batch norm
and dropout, each backward against central differences over random shapes (batch of 1, one
unit, strided inputs), and none of them writing into an input or a cache."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import activations, batchnorm, binary_cross_entropy as bce, bugs_layers, dropout, layers, losses
from course_lib.gradcheck import numerical_gradient, numerical_gradient_array, rel_error

TOL = 1e-7
seeds = st.integers(0, 2**31 - 1)
shapes = st.tuples(st.integers(1, 6), st.integers(1, 5))


def strided(rng, shape, spread=None):
    """A float array of ``shape`` that is a non-contiguous view (every other column of a wider one)."""
    N, d = shape
    base = rng.standard_normal((N, 2 * d))
    if spread is not None:
        base += spread
    view = base[:, ::2]
    assert not view.flags.c_contiguous or d == 1
    return view


# ----------------------------------------------------------- numerical_gradient_array
def test_vjp_of_a_linear_map_is_dout_times_the_transpose():
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    dout = rng.standard_normal((4, 5))
    assert np.allclose(numerical_gradient_array(lambda: x @ W, x, dout), dout @ W.T, rtol=1e-8, atol=1e-10)


def test_vjp_survives_a_function_that_returns_its_input_itself():
    x = np.arange(6, dtype=float).reshape(2, 3)
    dout = np.linspace(-1, 1, 6).reshape(2, 3)
    # f returns x (not a copy): the estimate must not see x move back when it is restored.
    assert np.allclose(numerical_gradient_array(lambda: x, x, dout), dout)
    assert np.allclose(numerical_gradient_array(lambda: x[:, ::-1], x, dout), dout[:, ::-1])


def test_vjp_perturbs_views_restores_on_error_and_refuses_integers():
    base = np.arange(12, dtype=float).reshape(3, 4)
    view = base[:, 1::2]
    dout = np.ones((3, 4))
    grad = numerical_gradient_array(lambda: base ** 2, view, dout)
    assert np.allclose(grad, 2 * view)
    assert np.array_equal(base, np.arange(12, dtype=float).reshape(3, 4))
    calls = []

    def f():
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return base * 1.0

    with pytest.raises(RuntimeError):
        numerical_gradient_array(f, base, dout)
    assert np.array_equal(base, np.arange(12, dtype=float).reshape(3, 4))
    with pytest.raises(TypeError):
        numerical_gradient_array(lambda: base, np.arange(3), np.ones(3))
    with pytest.raises(ValueError, match="shape"):
        numerical_gradient_array(lambda: base, base, np.ones((4, 3)))


# ----------------------------------------------------------- sigmoid + binary cross entropy
@given(shape=shapes, seed=seeds, column=st.booleans(), soft=st.booleans())
@settings(max_examples=40, deadline=None)
def test_bce_fused_gradient_matches_central_differences(shape, seed, column, soft):
    rng = np.random.default_rng(seed)
    N, k = shape
    shape = (N,) if column else (N, k)
    Z = rng.standard_normal(shape) * 2
    Y = rng.random(shape) if soft else rng.integers(0, 2, shape).astype(float)
    numeric = numerical_gradient(lambda: bce.sigmoid_binary_cross_entropy(Z, Y), Z)
    P = activations.sigmoid(Z)
    fused = bce.sigmoid_binary_cross_entropy_backward(P, Y)
    assert rel_error(fused, numeric) < TOL
    # The fused gradient is the chain rule through the sigmoid, computed in one step.
    unfused = activations.sigmoid_backward(bce.binary_cross_entropy_backward(P, Y), Z)
    assert np.allclose(unfused, fused, rtol=1e-9, atol=1e-12)
    # From the logits or from the probabilities, the same loss where nothing saturates.
    assert bce.sigmoid_binary_cross_entropy(Z, Y) == pytest.approx(bce.binary_cross_entropy(P, Y), rel=1e-9, abs=1e-9)
    head = bce.SigmoidBinaryCrossEntropy()
    loss, cache = head.forward(Z, Y)
    assert loss == bce.sigmoid_binary_cross_entropy(Z, Y) and np.array_equal(head.backward(cache), fused)


def test_bce_from_logits_is_finite_and_exact_at_extreme_logits():
    Z = np.array([1000.0, -1000.0, 1000.0, -1000.0, 40.0])
    Y = np.array([1.0, 0.0, 0.0, 1.0, 0.0])
    # Right with confidence costs ~0; wrong with confidence costs |z|.
    assert bce.sigmoid_binary_cross_entropy(Z, Y) == pytest.approx((1000 + 1000 + 40 + np.log1p(np.exp(-40))) / 5)
    assert np.all(np.isfinite(bce.sigmoid_binary_cross_entropy_backward(activations.sigmoid(Z), Y)))
    # The guarded probability version stays finite but caps the loss near -log(1e-12) = 27.6 per entry.
    assert bce.binary_cross_entropy(activations.sigmoid(Z), Y) < 3 * 27.7 / 5


def test_bce_refuses_shapes_that_would_broadcast():
    with pytest.raises(ValueError, match="one shape"):
        bce.sigmoid_binary_cross_entropy(np.zeros((4, 1)), np.zeros(4))


# ----------------------------------------------------------- batch normalisation
def _bn_inputs(rng, shape):
    N, d = shape
    # Rows spread apart (an offset per row): a batch of near-identical rows has a variance near 0,
    # where 1/sqrt(var + eps) is so steep that eps-sized differences lose their digits.
    x = strided(rng, shape, spread=10.0 * rng.permutation(N)[:, None])
    gamma, beta = rng.standard_normal(d) + 2.0, rng.standard_normal(d)
    return x, gamma, beta


@given(shape=shapes, seed=seeds, mode=st.sampled_from(["train", "eval"]))
@settings(max_examples=40, deadline=None)
def test_batchnorm_backward_matches_central_differences(shape, seed, mode):
    rng = np.random.default_rng(seed)
    x, gamma, beta = _bn_inputs(rng, shape)
    rm, rv = rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5
    dout = rng.standard_normal(shape)
    forward = lambda: batchnorm.batchnorm_forward(x, gamma, beta, mode, rm, rv)[0]  # noqa: E731
    _, cache, _ = batchnorm.batchnorm_forward(x, gamma, beta, mode, rm, rv)
    dx, dgamma, dbeta = batchnorm.batchnorm_backward(dout, cache)
    assert rel_error(dgamma, numerical_gradient_array(forward, gamma, dout)) < TOL
    assert rel_error(dbeta, numerical_gradient_array(forward, beta, dout)) < TOL
    # dx is measured against the size its terms have before they cancel, |dout * gamma| / std.
    # With two examples per feature x_hat = +-1 whatever x is, so the true dx is ~1e-9 (it comes
    # only through eps) and a plain relative error would compare round-off with round-off.
    scale = float(np.linalg.norm(dout * gamma * cache.inv_std))
    numeric = numerical_gradient_array(forward, x, dout)
    assert dx.shape == x.shape and rel_error(dx, numeric, eta=scale) < TOL
    if mode == "train" and shape[0] >= 2:
        # The measure still sees the catalogued bug, along a dout that has a variance path to drop
        # (a random dout may be nearly orthogonal to x_hat, where the missing term is small).
        along = cache.x_hat + 0.1
        buggy = bugs_layers.batchnorm_backward_without_variance_path(along, cache)[0]
        right = batchnorm.batchnorm_backward(along, cache)[0]
        assert rel_error(buggy, right, eta=float(np.linalg.norm(along * gamma * cache.inv_std))) > 1e-2


def test_batchnorm_training_normalises_and_returns_new_running_statistics():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 0.0]
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0])
    rm, rv = np.zeros(3), np.ones(3)
    out, cache, running = batchnorm.batchnorm_forward(x, gamma, beta, "train", rm, rv, momentum=0.9)
    assert np.allclose(out.mean(axis=0), beta) and np.allclose(out.std(axis=0), gamma, rtol=1e-3)
    assert np.allclose(running.mean, 0.1 * x.mean(axis=0)) and np.allclose(running.var, 0.9 + 0.1 * x.var(axis=0))
    assert running.mean is not rm and np.array_equal(rm, np.zeros(3)) and np.array_equal(rv, np.ones(3))
    # Evaluation uses the running statistics and hands them back untouched; one example at a
    # time gives the same as the whole batch (no batch statistics are involved).
    out_eval, _, same = batchnorm.batchnorm_forward(x, gamma, beta, "eval", *running)
    assert same.mean is running.mean and same.var is running.var
    row = batchnorm.batchnorm_forward(x[3:4], gamma, beta, "eval", *running)[0]
    assert np.allclose(row, out_eval[3:4])
    with pytest.raises(ValueError, match="mode"):
        batchnorm.batchnorm_forward(x, gamma, beta, "training", rm, rv)


def test_batchnorm_layer_mode_is_read_by_forward_and_recorded_in_the_cache():
    rng = np.random.default_rng(2)
    bn = batchnorm.BatchNorm(4)
    x, dout = rng.standard_normal((8, 4)) * 3 + 1, rng.standard_normal((8, 4))
    out, cache = bn.forward(x)
    expected = bn.backward(dout, cache)
    assert not np.allclose(bn.running_mean, 0)  # a training step moved the running mean
    bn.training = False
    again = bn.backward(dout, cache)  # the cache, not the layer, says it was a training pass
    assert all(np.array_equal(a, b) for a, b in zip([expected[0], *expected[1].values()], [again[0], *again[1].values()]))
    frozen = bn.running_mean.copy()
    bn.forward(x)
    assert np.array_equal(bn.running_mean, frozen)


# ----------------------------------------------------------- dropout
@given(shape=shapes, seed=seeds, drop_prob=st.sampled_from([0.0, 0.2, 0.5, 0.9]))
@settings(max_examples=40, deadline=None)
def test_dropout_backward_matches_central_differences(shape, seed, drop_prob):
    rng = np.random.default_rng(seed)
    x, dout = strided(rng, shape), rng.standard_normal(shape)
    # An int seed draws the same mask on every call, so the forward is a fixed function of x.
    forward = lambda: dropout.dropout_forward(x, drop_prob, "train", seed)[0]  # noqa: E731
    out, cache = dropout.dropout_forward(x, drop_prob, "train", seed)
    assert rel_error(dropout.dropout_backward(dout, cache), numerical_gradient_array(forward, x, dout)) < TOL
    keep = 1 - drop_prob
    assert set(np.unique(cache.mask)) <= {0.0, 1 / keep}
    assert np.array_equal(out, x * cache.mask)


def test_dropout_keeps_the_expectation_and_is_the_identity_at_evaluation():
    x = np.ones((400, 250))
    out, _ = dropout.dropout_forward(x, 0.3, "train", np.random.default_rng(0))
    assert abs(out.mean() - 1.0) < 0.01 and abs(np.mean(out == 0) - 0.3) < 0.01
    same, cache = dropout.dropout_forward(x, 0.3, "eval")
    assert same is x and cache.mask is None
    dout = np.full_like(x, 2.0)
    assert dropout.dropout_backward(dout, cache) is dout


def test_dropout_masks_come_from_the_rng_it_is_given():
    x = np.ones((3, 7))
    a, _ = dropout.dropout_forward(x, 0.5, "train", 4)
    b, _ = dropout.dropout_forward(x, 0.5, "train", 4)
    assert np.array_equal(a, b)
    rng = np.random.default_rng(4)
    first, second = dropout.dropout_forward(x, 0.5, "train", rng)[0], dropout.dropout_forward(x, 0.5, "train", rng)[0]
    assert np.array_equal(first, a) and not np.array_equal(first, second)  # the Generator advances
    with pytest.raises(TypeError, match="rng"):
        dropout.dropout_forward(x, 0.5, "train")
    with pytest.raises(ValueError):
        dropout.dropout_forward(x, 1.0, "train", 0)


# ----------------------------------------------------------- the layers in a Sequential
def test_batchnorm_and_dropout_compose_in_sequential_and_pass_a_gradient_check():
    rng = np.random.default_rng(5)
    net = layers.Sequential([layers.Linear.init(4, 6, rng), batchnorm.BatchNorm(6), layers.Tanh(),
                             dropout.Dropout(0.3, seed=1), layers.Linear.init(6, 3, rng, gain=1.0)])
    net.layers[1].params["gamma"][...] = rng.random(6) + 0.5
    X, Y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    head = layers.SoftmaxCrossEntropy()
    mask_seed = 11

    def run():
        net.layers[3].rng = np.random.default_rng(mask_seed)  # the same mask on every evaluation
        return net.forward(X)

    out, caches = run()
    _, lcache = head.forward(out, Y)
    dX, grads = net.backward(head.backward(lcache), caches)
    loss = lambda: head.forward(run()[0], Y)[0]  # noqa: E731
    named, named_grads = net.named_params(), net.named_grads(grads)
    assert set(named) == {"0.W", "0.b", "1.gamma", "1.beta", "4.W", "4.b"}
    # Batch norm subtracts the batch mean, so the bias of the layer before it changes nothing.
    assert np.max(np.abs(named_grads.pop("0.b"))) < 1e-12
    assert np.max(np.abs(numerical_gradient(loss, named.pop("0.b")))) < 1e-9
    for name, p in named.items():
        assert rel_error(named_grads[name], numerical_gradient(loss, p)) < TOL, name
    assert rel_error(dX, numerical_gradient(loss, X)) < TOL
    layers.set_training(net, False)
    assert not net.layers[1].training and not net.layers[3].training
    out_a, out_b = net.forward(X)[0], net.forward(X)[0]
    assert np.array_equal(out_a, out_b)  # evaluation is deterministic


# ----------------------------------------------------------- nothing writes its inputs or a cache
def _calls():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    gamma, beta, rm, rv = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4), rng.random(4) + 0.5
    Z, Y = rng.standard_normal((5, 2)), rng.integers(0, 2, (5, 2)).astype(float)
    _, bn_cache, _ = batchnorm.batchnorm_forward(x, gamma, beta, "train", rm, rv)
    _, do_cache = dropout.dropout_forward(x, 0.5, "train", 0)
    P = activations.sigmoid(Z)
    return [
        ("batchnorm_forward", batchnorm.batchnorm_forward, (x, gamma, beta, "train", rm, rv)),
        ("batchnorm_forward eval", batchnorm.batchnorm_forward, (x, gamma, beta, "eval", rm, rv)),
        ("batchnorm_backward", batchnorm.batchnorm_backward, (dout, bn_cache)),
        ("dropout_forward", dropout.dropout_forward, (x, 0.5, "train", 0)),
        ("dropout_backward", dropout.dropout_backward, (dout, do_cache)),
        ("sigmoid_binary_cross_entropy", bce.sigmoid_binary_cross_entropy, (Z, Y)),
        ("binary_cross_entropy", bce.binary_cross_entropy, (P, Y)),
        ("binary_cross_entropy_backward", bce.binary_cross_entropy_backward, (P, Y)),
        ("sigmoid_binary_cross_entropy_backward", bce.sigmoid_binary_cross_entropy_backward, (P, Y)),
        ("numerical_gradient_array", numerical_gradient_array, (lambda: losses.softmax(x), x, dout)),
    ]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return True


@pytest.mark.parametrize("name,fn,args", _calls(), ids=[c[0] for c in _calls()])
def test_no_new_function_writes_its_inputs_or_a_cache(name, fn, args):
    before = copy.deepcopy(args)
    fn(*args)
    assert _same(before, args), f"{name} wrote into an argument"
