"""Every backward in course_lib agrees with central differences, over random shapes."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import activations, layers, losses, mlp
from course_lib.affine import affine_backward, affine_forward
from course_lib.gradcheck import numerical_gradient, rel_error

TOL = 1e-7
# Batch size 1, one hidden unit and two classes are all inside these ranges.
sizes = st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(1, 5), st.integers(2, 4))
seeds = st.integers(0, 2**31 - 1)


def away_from_kink(rng, shape, margin=0.1):
    """Values whose magnitude is at least ``margin``, so an eps-nudge never crosses 0."""
    return rng.choice([-1.0, 1.0], size=shape) * (margin + rng.random(shape) * 2)


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 5)), seed=seeds)
@settings(max_examples=25, deadline=None)
def test_activation_backward_matches_numerical(name, shape, seed):
    rng = np.random.default_rng(seed)
    act = activations.get_activation(name)
    Z = away_from_kink(rng, shape)
    dA = rng.standard_normal(shape)
    numeric = numerical_gradient(lambda: float(np.sum(dA * act.forward(Z))), Z)
    assert rel_error(act.backward(dA, Z), numeric) < TOL


@given(sizes=sizes, seed=seeds)
@settings(max_examples=30, deadline=None)
def test_affine_backward_matches_numerical(sizes, seed):
    N, d_in, d_out, _ = sizes
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((N, d_in)), rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
    dZ = rng.standard_normal((N, d_out))
    f = lambda: float(np.sum(dZ * affine_forward(X, W, b)[0]))  # noqa: E731
    dX, dW, db = affine_backward(dZ, (X, W))
    assert rel_error(dX, numerical_gradient(f, X)) < TOL
    assert rel_error(dW, numerical_gradient(f, W)) < TOL
    assert rel_error(db, numerical_gradient(f, b)) < TOL


@given(sizes=sizes, seed=seeds, integer_labels=st.booleans())
@settings(max_examples=30, deadline=None)
def test_fused_softmax_cross_entropy_gradient(sizes, seed, integer_labels):
    N, _, _, C = sizes
    rng = np.random.default_rng(seed)
    # Unit-scale logits: at a saturated softmax (p ~ 1 - 1e-6) the loss itself is ~1e-6 and the
    # central-difference oracle loses its digits to round-off, whatever the analytic gradient.
    Z = rng.standard_normal((N, C))
    labels = rng.integers(0, C, size=N)
    Y = labels if integer_labels else losses.one_hot(labels, C)
    numeric = numerical_gradient(lambda: losses.softmax_cross_entropy(Z, Y), Z)
    assert rel_error(losses.softmax_cross_entropy_backward(losses.softmax(Z), Y), numeric) < TOL


def extended_precision_loss(params, X, Y, ops):
    """The oracle's loss: the network in extended precision (np.longdouble), from its logits
    through log_softmax, never rounded to float64.

    A saturated network has gradients near 1e-9, below what float64 central differences
    resolve (round-off ~1e-16 |L| / eps); and mlp.loss's 1e-12 guard inside the log (the
    syllabus's) shifts the derivative by ~1e-12 / p. Neither is a property of the backward
    pass under test, which stays in float64.
    """
    wide = {k: v.astype(np.longdouble) for k, v in params.items()}
    X, Y = X.astype(np.longdouble), Y.astype(np.longdouble)

    def loss():
        _, cache = mlp.forward(wide, X, ops)
        Z2 = cache["A1"] @ wide["W2"] + wide["b2"]
        return -np.sum(Y * losses.log_softmax(Z2)) / X.shape[0]

    return wide, loss


def _random_network(sizes, seed):
    N, d0, d1, C = sizes
    rng = np.random.default_rng(seed)
    params = mlp.init_params(d0, d1, C, seed=seed)
    params["b1"] = rng.standard_normal(d1)
    params["b2"] = rng.standard_normal(C)
    X = rng.standard_normal((N, d0))
    Y = losses.one_hot(rng.integers(0, C, size=N), C)
    return params, X, Y


@pytest.mark.parametrize("activation", sorted(activations.ACTIVATIONS))
@given(sizes=sizes, seed=seeds)
@settings(max_examples=20, deadline=None)
def test_mlp_backward_matches_numerical(activation, sizes, seed):
    params, X, Y = _random_network(sizes, seed)
    ops = mlp.reference_ops(activation)
    Yhat, cache = mlp.forward(params, X, ops)
    if activation in ("relu", "leaky_relu"):
        # Keep every pre-activation clear of the kink, where finite differences legitimately disagree.
        cache_Z1 = cache["Z1"]
        params["b1"] = params["b1"] + np.where(np.abs(cache_Z1).min(axis=0) < 1e-3, 0.01, 0.0)
        Yhat, cache = mlp.forward(params, X, ops)
        if np.abs(cache["Z1"]).min() < 1e-4:
            return
    grads = mlp.backward(params, cache, Y, ops)
    wide, loss = extended_precision_loss(params, X, Y, ops)
    for name in mlp.PARAM_NAMES:
        assert grads[name].shape == params[name].shape
        numeric = numerical_gradient(loss, wide[name])
        assert rel_error(grads[name], numeric) < TOL, name


@given(widths=st.lists(st.integers(1, 5), min_size=2, max_size=5), N=st.integers(1, 5), seed=seeds,
       layer=st.sampled_from([layers.Tanh, layers.Sigmoid, layers.ReLU, layers.LeakyReLU]))
@settings(max_examples=25, deadline=None)
def test_sequential_backward_matches_numerical(widths, N, seed, layer):
    widths = widths + [2]
    rng = np.random.default_rng(seed)
    net = layers.mlp_stack(widths, activation=layer, seed=seed)
    for lin in net.layers[::2]:
        lin.params["b"][...] = rng.choice([-1.0, 1.0], size=lin.params["b"].shape) * (0.5 + rng.random(lin.params["b"].shape))
    X = rng.standard_normal((N, widths[0]))
    Y = rng.integers(0, 2, size=N)
    head = layers.SoftmaxCrossEntropy()
    out, caches = net.forward(X)
    pre = [c for c, lay in zip(caches, net.layers) if isinstance(lay, (layers.ReLU, layers.LeakyReLU))]
    if any(np.abs(z).min() < 1e-4 for z in pre):
        return  # a pre-activation at the kink: finite differences are not meaningful there
    _, lcache = head.forward(out, Y)
    dX, grads = net.backward(head.backward(lcache), caches)

    # The oracle runs on an extended-precision copy: a deep sigmoid chain has gradients near
    # 1e-5, below what float64 central differences resolve (round-off ~1e-16 |L| / eps).
    wide = copy.deepcopy(net)
    for lay in wide.layers:
        lay.params = {k: v.astype(np.longdouble) for k, v in lay.params.items()}
    X_wide = X.astype(np.longdouble)

    Y_wide = losses.one_hot(Y, 2, np.longdouble)

    def loss():  # kept in extended precision: no float() rounding to float64
        return -np.sum(Y_wide * losses.log_softmax(wide.forward(X_wide)[0])) / N

    named, named_grads = wide.named_params(), net.named_grads(grads)
    assert named.keys() == named_grads.keys()
    for name, p in named.items():
        assert named_grads[name].shape == p.shape
        assert rel_error(named_grads[name], numerical_gradient(loss, p)) < TOL, name
    assert rel_error(dX, numerical_gradient(loss, X_wide)) < TOL
