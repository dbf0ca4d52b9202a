"""course_lib's stated properties: stable softmax, no writes to inputs or caches, the syllabus's figures."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import activations, affine, data, layers, losses, mlp, train
from course_lib.gradcheck import grad_check


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(rows=st.integers(1, 6), C=st.integers(2, 6), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=30, deadline=None)
def test_softmax_finite_and_normalised_at_extreme_logits(dtype, rows, C, seed):
    rng = np.random.default_rng(seed)
    Z = (rng.choice([-1e4, 1e4], size=(rows, C)) + rng.standard_normal((rows, C))).astype(dtype)
    P = losses.softmax(Z)
    assert P.dtype == dtype
    assert np.all(np.isfinite(P))
    assert np.allclose(P.sum(axis=1), 1.0, atol=1e-5 if dtype == np.float32 else 1e-12)
    L = losses.log_softmax(Z)
    assert L.dtype == dtype and np.all(np.isfinite(L))
    labels = rng.integers(0, C, size=rows)
    assert np.isfinite(losses.cross_entropy(P, labels))
    assert np.isfinite(losses.softmax_cross_entropy(Z, labels))


def test_log_softmax_and_cross_entropy_agree_with_definitions():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((5, 4))
    assert np.allclose(losses.log_softmax(Z), np.log(losses.softmax(Z)))
    labels = rng.integers(0, 4, size=5)
    Y = losses.one_hot(labels, 4)
    assert losses.cross_entropy(losses.softmax(Z), labels) == pytest.approx(losses.cross_entropy(losses.softmax(Z), Y))
    assert losses.cross_entropy(losses.softmax(Z), Y) == pytest.approx(-np.mean(np.log(losses.softmax(Z)[np.arange(5), labels])))
    # log 0 is guarded: a certain wrong prediction costs a large but finite loss
    assert losses.cross_entropy(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-np.log(1e-12))


def test_float32_in_float32_out():
    params = mlp.init_params(5, 4, 3, dtype=np.float32)
    X, Y = data.tiny_batch()
    Yhat, cache = mlp.forward(params, X.astype(np.float32))
    grads = mlp.backward(params, cache, Y.astype(np.float32))
    assert Yhat.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


def _calls():
    """(name, function, args) for every public function that takes arrays."""
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((4, 3))
    dA = rng.standard_normal((4, 3))
    X, W, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    Y = losses.one_hot(rng.integers(0, 3, 4), 3)
    params = mlp.init_params(5, 6, 3, seed=4)
    _, cache = mlp.forward(params, X)
    calls = [(f"{n}.forward", a.forward, (Z,)) for n, a in activations.ACTIVATIONS.items()]
    calls += [(f"{n}.backward", a.backward, (dA, Z)) for n, a in activations.ACTIVATIONS.items()]
    calls += [
        ("softmax", losses.softmax, (Z,)), ("log_softmax", losses.log_softmax, (Z,)),
        ("cross_entropy", losses.cross_entropy, (losses.softmax(Z), Y)),
        ("softmax_cross_entropy_backward", losses.softmax_cross_entropy_backward, (losses.softmax(Z), Y)),
        ("affine_forward", affine.affine_forward, (X, W, b)),
        ("affine_backward", affine.affine_backward, (dA, (X, W))),
        ("mlp.forward", mlp.forward, (params, X)),
        ("mlp.backward", mlp.backward, (params, cache, Y)),
        ("mlp.loss", mlp.loss, (params, X, Y)),
    ]
    net = layers.mlp_stack([5, 6, 3], seed=4)
    out, caches = net.forward(X)
    calls += [("Sequential.forward", net.forward, (X,)), ("Sequential.backward", net.backward, (dA, caches))]
    return calls


@pytest.mark.parametrize("name,fn,args", _calls(), ids=[c[0] for c in _calls()])
def test_no_function_writes_its_inputs_or_a_cache(name, fn, args):
    before = copy.deepcopy(args)
    fn(*args)

    def same(a, b):
        if isinstance(a, np.ndarray):
            return np.array_equal(a, b)
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, (tuple, list)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return True

    assert same(before, args), f"{name} wrote into an argument"


def test_gradient_shapes_equal_parameter_shapes():
    params = mlp.init_params(7, 3, 4)
    X = np.random.default_rng(0).standard_normal((2, 7))
    _, cache = mlp.forward(params, X)
    grads = mlp.backward(params, cache, np.array([0, 3]))
    assert {k: g.shape for k, g in grads.items()} == {k: p.shape for k, p in params.items()}


def syllabus_run():
    params = mlp.init_params(5, 4, 3, seed=0)
    X, Y = data.tiny_batch()
    return params, X, Y


def test_syllabus_gradient_checks_below_1e9():
    params, X, Y = syllabus_run()
    _, cache = mlp.forward(params, X)
    report = grad_check(lambda: mlp.loss(params, X, Y), params, mlp.backward(params, cache, Y))
    assert [g.name for g in report.groups] == ["W1", "b1", "W2", "b2"]
    for group in report.groups:
        assert group.rel_error < 1e-9, group
        assert group.verdict == "excellent"


def test_syllabus_overfit_figures():
    params, X, Y = syllabus_run()
    history = train.train(params, X, Y, lr=0.5, steps=200)
    assert len(history.loss) == 200
    assert f"{history.loss[0]:.4f}" == "1.1408"
    assert f"{history.loss[-1]:.4f}" == "0.2514"
    # The loss falls steadily; lr 0.5 leaves a few bumps of well under 1e-3 on the way down.
    assert max(np.diff(history.loss)) < 1e-3


def test_sequential_agrees_with_mlp():
    params = mlp.init_params(6, 5, 4, seed=2)
    rng = np.random.default_rng(9)
    params["b1"] += rng.standard_normal(5)
    params["b2"] += rng.standard_normal(4)
    X = rng.standard_normal((7, 6))
    Y = losses.one_hot(rng.integers(0, 4, 7), 4)
    net = layers.Sequential([layers.Linear(params["W1"].copy(), params["b1"].copy()), layers.ReLU(),
                             layers.Linear(params["W2"].copy(), params["b2"].copy())])
    head = layers.SoftmaxCrossEntropy()
    logits, caches = net.forward(X)
    loss, lcache = head.forward(logits, Y)
    _, grads = net.backward(head.backward(lcache), caches)
    Yhat, cache = mlp.forward(params, X)
    ref = mlp.backward(params, cache, Y)
    assert np.max(np.abs(losses.softmax(logits) - Yhat)) < 1e-12
    assert abs(loss - mlp.loss(params, X, Y)) < 1e-10  # mlp.loss carries the 1e-12 log guard
    for (i, key), name in zip([(0, "W"), (0, "b"), (2, "W"), (2, "b")], ["W1", "b1", "W2", "b2"]):
        assert np.max(np.abs(grads[i][key] - ref[name])) < 1e-12


def test_sequential_runs_any_depth_and_forward_keeps_no_state():
    net = layers.mlp_stack([4, 8, 8, 8, 8, 3], activation=layers.Tanh, seed=1)
    rng = np.random.default_rng(0)
    XA, XB = rng.standard_normal((5, 4)), rng.standard_normal((2, 4))
    out_a, caches_a = net.forward(XA)
    expected = net.backward(np.ones_like(out_a), caches_a)
    net.forward(XB)  # a second forward pass must not disturb the first one's backward
    again = net.backward(np.ones_like(out_a), caches_a)
    assert np.array_equal(expected[0], again[0])
    assert len(net.layers) == 9 and out_a.shape == (5, 3)
    dX, grads = net.backward(np.ones_like(out_a), caches_a, need_dX=False)
    assert dX is None and all(np.array_equal(g["W"], e["W"]) for g, e in zip(grads[::2], expected[1][::2]))


def test_mlp_stack_matches_init_params():
    p = mlp.init_params(5, 4, 3, seed=0)
    stack = layers.mlp_stack([5, 4, 3], seed=0).named_params()
    assert all(np.array_equal(a, b) for a, b in zip(p.values(), stack.values()))


def test_sgd_step_updates_in_place():
    params = mlp.init_params(3, 2, 2)
    W1 = params["W1"]
    grads = {k: np.ones_like(v) for k, v in params.items()}
    before = W1.copy()
    mlp.sgd_step(params, grads, 0.1)
    assert params["W1"] is W1 and np.allclose(W1, before - 0.1)


def test_data_is_deterministic_and_digits_split_is_clean():
    assert all(np.array_equal(a, b) for a, b in zip(data.tiny_batch(), data.tiny_batch()))
    X, y = data.spirals(seed=3)
    assert X.shape == (300, 2) and np.array_equal(np.bincount(y), [100, 100, 100])
    assert np.array_equal(X, data.spirals(seed=3)[0])
    Xb, yb = data.blobs(n_per_class=20, classes=4)
    assert Xb.shape == (80, 2) and set(yb) == {0, 1, 2, 3}
    split = data.digits()
    assert split.X_train.shape[1] == 64 and split.X_train.shape[0] + split.X_test.shape[0] == 1797
    assert 0.0 <= split.X_train.min() and split.X_train.max() <= 1.0
    train_rows = {r.tobytes() for r in split.X_train}
    assert sum(r.tobytes() in train_rows for r in split.X_test) < 5  # only genuine duplicates in the data set
    assert np.array_equal(np.unique(split.y_test), np.arange(10))


def test_training_on_digits_reaches_95_percent():
    split = data.digits()
    params = mlp.init_params(64, 64, 10, seed=0)
    history = train.train(params, split.X_train, split.y_train, lr=0.5, steps=1500, batch_size=64,
                          X_test=split.X_test, y_test=split.y_test)
    assert history.test_accuracy[-1] >= 0.95
    assert train.evaluate(params, split.X_test, split.y_test) == history.test_accuracy[-1]


def test_diverging_run_stops_early():
    params, X, Y = syllabus_run()
    history = train.train(params, X, Y, lr=1e4, steps=200)
    assert len(history.loss) < 200
    assert not np.isfinite(history.loss[-1]) and np.all(np.isfinite(history.loss[:-1]))
