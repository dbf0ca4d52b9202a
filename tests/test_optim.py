"""Notebook 11's training pieces: optimizers against steps computed by hand, schedules, L2 weight
decay against central differences, the minibatch sampler's once-per-epoch property, early
stopping, and the training loops (the old one unchanged, the new one on the digits)."""
import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import data, init, layers, mlp, optim, train, weight_decay as wd
from course_lib.gradcheck import grad_check, numerical_gradient, rel_error


# ------------------------------------------------------------------ optimizers
def test_sgd_is_exactly_the_syllabus_step_and_reproduces_its_figures():
    params = mlp.init_params(5, 4, 3, seed=0)
    X, Y = data.tiny_batch()
    reference = copy.deepcopy(params)
    _, cache = mlp.forward(params, X)
    grads = mlp.backward(params, cache, Y)
    W1 = params["W1"]
    optim.SGD(0.5).step(params, grads)
    mlp.sgd_step(reference, grads, 0.5)
    assert params["W1"] is W1 and all(np.array_equal(params[k], reference[k]) for k in params)
    history = train.train(mlp.init_params(5, 4, 3, seed=0), X, Y, steps=200, optimizer=optim.SGD(0.5))
    assert f"{history.loss[0]:.4f}" == "1.1408" and f"{history.loss[-1]:.4f}" == "0.2514"
    assert history.loss == train.train(mlp.init_params(5, 4, 3, seed=0), X, Y, lr=0.5, steps=200).loss


def test_momentum_by_hand():
    opt = optim.Momentum(0.1, mu=0.5)
    p = {"w": np.array([1.0, 2.0])}
    g1, g2 = np.array([1.0, -1.0]), np.array([2.0, 0.0])
    opt.step(p, {"w": g1})
    assert np.allclose(p["w"], [0.9, 2.1])                          # v1 = -0.1 g1
    assert np.allclose(opt.state["w"]["velocity"], [-0.1, 0.1])
    updates = opt.step(p, {"w": g2})
    assert np.allclose(updates["w"], [0.5 * -0.1 - 0.2, 0.5 * 0.1])  # v2 = mu v1 - lr g2
    assert np.allclose(p["w"], [0.65, 2.15]) and opt.t == 2


def test_adam_by_hand_with_bias_correction():
    opt = optim.Adam(0.01)
    p = {"w": np.array([1.0, -1.0, 0.5])}
    g = np.array([3.0, -0.002, 40.0])
    opt.step(p, {"w": g})
    # With bias correction m_hat = g and v_hat = g^2: the first step is lr * g / (|g| + eps).
    assert np.allclose(p["w"], np.array([1.0, -1.0, 0.5]) - 0.01 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    g2 = np.array([1.0, 1.0, 1.0])
    opt.step(p, {"w": g2})
    m = 0.9 * 0.1 * g + 0.1 * g2
    v = 0.999 * 0.001 * g * g + 0.001 * g2 * g2
    step2 = 0.01 * (m / (1 - 0.9 ** 2)) / (np.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    assert np.allclose(p["w"], np.array([1.0, -1.0, 0.5]) - 0.01 * g / (np.abs(g) + 1e-8) - step2, rtol=1e-12)
    assert set(opt.state["w"]) == {"m", "v"}


def test_schedules_and_an_optimizer_that_follows_one():
    step = optim.StepDecay(1.0, factor=0.5, every=3)
    assert [step(t) for t in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    cos = optim.CosineDecay(1.0, total_steps=10, lr_min=0.1)
    assert cos(0) == 1.0 and cos(10) == pytest.approx(0.1) and cos(50) == pytest.approx(0.1)
    assert cos(5) == pytest.approx(0.55)
    opt = optim.SGD(step)
    p = {"w": np.zeros(1)}
    for _ in range(4):
        opt.step(p, {"w": np.ones(1)})
    assert p["w"][0] == pytest.approx(-(1 + 1 + 1 + 0.5)) and opt.learning_rate() == 0.5


def test_optimizers_update_a_sequential_through_named_params():
    net = layers.mlp_stack([3, 4, 2], seed=1)
    params = net.named_params()
    W = net.layers[0].params["W"].copy()
    grads = {k: np.ones_like(v) for k, v in params.items()}
    optim.make_optimizer("adam", 0.1).step(params, grads)
    assert np.allclose(net.layers[0].params["W"], W - 0.1, atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        optim.SGD(0.1).step(params, {"0.W": np.ones(3)})
    with pytest.raises(ValueError, match="unknown optimizer"):
        optim.make_optimizer("rmsprop", 0.1)


def test_update_to_weight_ratio():
    params = {"W": np.full((2, 2), 3.0), "b": np.zeros(2)}
    ratio = optim.update_to_weight_ratio({"W": np.full((2, 2), 0.003), "b": np.zeros(2)}, params)
    assert ratio["W"] == pytest.approx(1e-3) and ratio["b"] == 0.0
    assert optim.update_to_weight_ratio({"b": np.ones(2)}, params)["b"] == math.inf


# ------------------------------------------------------------------ weight decay
@given(seed=st.integers(0, 2**31 - 1), lam=st.floats(1e-3, 10.0))
@settings(max_examples=30, deadline=None)
def test_l2_gradient_matches_central_differences_and_spares_biases(seed, lam):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal(2), "0.gamma": rng.standard_normal(2),
              "W2": rng.standard_normal((2, 4))[:, ::2]}  # strided
    grad = wd.l2_penalty_gradient(params, lam)
    assert set(grad) == {"W1", "W2"}
    for name, p in params.items():
        numeric = numerical_gradient(lambda: wd.l2_penalty(params, lam), p)
        assert rel_error(grad.get(name, np.zeros_like(p)), numeric) < 1e-7, name
    assert wd.l2_penalty(params, lam) == pytest.approx(lam / 2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2)))


def test_weight_decay_passes_the_gradient_check_of_the_penalised_loss():
    params = mlp.init_params(5, 4, 3, seed=0)
    X, Y = data.tiny_batch()
    lam = 0.3
    _, cache = mlp.forward(params, X)
    grads = mlp.backward(params, cache, Y)
    before = copy.deepcopy(grads)
    total = wd.add_weight_decay(grads, params, lam)
    assert all(np.array_equal(before[k], grads[k]) for k in grads)  # the data gradients are untouched
    assert total["b1"] is grads["b1"]
    report = grad_check(lambda: mlp.loss(params, X, Y) + wd.l2_penalty(params, lam), params, total)
    assert report.passed and report.max_error < 1e-8, report
    assert wd.add_weight_decay(grads, params, 0.0) == grads


# ------------------------------------------------------------------ minibatches
@given(N=st.integers(1, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=60, deadline=None)
def test_every_example_exactly_once_per_epoch_last_batch_partial(N, batch_size, seed):
    rng = np.random.default_rng(seed)
    epoch = list(train.minibatches(N, batch_size, rng))
    assert np.array_equal(np.sort(np.concatenate(epoch)), np.arange(N))
    assert len(epoch) == -(-N // batch_size)
    assert all(len(b) == batch_size for b in epoch[:-1]) and 1 <= len(epoch[-1]) <= batch_size
    assert len(epoch[-1]) == (N % batch_size or batch_size)


def test_minibatches_reshuffle_every_epoch_and_follow_the_seed():
    rng = np.random.default_rng(0)
    first, second = np.concatenate(list(train.minibatches(50, 8, rng))), np.concatenate(list(train.minibatches(50, 8, rng)))
    assert not np.array_equal(first, second)
    assert np.array_equal(np.concatenate(list(train.minibatches(50, 8, 3))), np.concatenate(list(train.minibatches(50, 8, 3))))
    with pytest.raises(ValueError):
        next(train.minibatches(5, 0, 0))


# ------------------------------------------------------------------ early stopping and fit
def test_early_stopping_waits_patience_epochs_and_keeps_the_best():
    stopper = train.EarlyStopping(patience=2)
    p = {"w": np.zeros(1)}
    decisions = []
    for epoch, loss in enumerate([1.0, 0.5, 0.6, 0.4, 0.45, 0.41, 0.9]):
        p["w"][0] = epoch
        decisions.append(stopper.update(loss, epoch, p))
    assert decisions == [False, False, False, False, False, True, True]
    assert stopper.best_epoch == 3 and stopper.best_loss == 0.4 and stopper.best_params["w"][0] == 3


@pytest.fixture(scope="module")
def digits():
    return data.digits()


@pytest.mark.parametrize("name,lr", [("sgd", 0.3), ("momentum", 0.03), ("adam", 3e-3)])
def test_fit_trains_the_digits_with_each_optimizer(digits, name, lr):
    params = mlp.init_params(64, 64, 10, seed=0)
    history = train.fit(params, digits.X_train, digits.y_train, optim.make_optimizer(name, lr), epochs=15,
                        batch_size=50, X_val=digits.X_test, y_val=digits.y_test, weight_decay=1e-4)
    steps = 15 * -(-digits.X_train.shape[0] // 50)
    assert len(history.step_loss) == len(history.update_ratio) == steps
    assert len(history.val_accuracy) == len(history.train_loss) == 15
    assert max(history.val_accuracy) >= 0.95, history.val_accuracy
    assert history.train_loss[-1] < history.train_loss[0]
    ratios = [r["W1"] for r in history.update_ratio]
    assert 1e-5 < np.median(ratios) < 1e-1  # a healthy rate, by the update-to-weight ratio


def test_fit_with_early_stopping_restores_the_best_epoch(digits):
    params = mlp.init_params(64, 64, 10, seed=0)
    stopper = train.EarlyStopping(patience=3)
    # Only 100 training examples and a large Adam rate: validation loss turns up within a few epochs.
    history = train.fit(params, digits.X_train[:100], digits.y_train[:100], optim.Adam(0.01), epochs=60,
                        batch_size=20, X_val=digits.X_test, y_val=digits.y_test, early_stopping=stopper)
    assert history.stopped_early and len(history.val_loss) < 60
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert len(history.val_loss) == history.best_epoch + 1 + 3
    Yhat, _ = mlp.forward(params, digits.X_test)
    from course_lib.losses import cross_entropy
    assert cross_entropy(Yhat, digits.y_test) == pytest.approx(min(history.val_loss), rel=1e-12)
    with pytest.raises(ValueError, match="validation"):
        train.fit(params, digits.X_train, digits.y_train, optim.SGD(0.1), early_stopping=train.EarlyStopping())


def test_train_with_weight_decay_shrinks_the_weights_and_sequential_adapter_matches_mlp():
    X, Y = data.tiny_batch()
    plain, decayed = mlp.init_params(5, 4, 3, seed=0), mlp.init_params(5, 4, 3, seed=0)
    train.train(plain, X, Y, steps=200)
    train.train(decayed, X, Y, steps=200, weight_decay=0.1)
    assert np.linalg.norm(decayed["W1"]) < np.linalg.norm(plain["W1"])
    net = init.stack([5, 4, 3])
    forward, backward = train.sequential_network(net)
    history = train.train(net.named_params(), X, Y, steps=200, forward=forward, backward=backward,
                          optimizer=optim.SGD(0.5), weight_decay=0.1)
    assert history.loss == train.train(mlp.init_params(5, 4, 3, seed=0), X, Y, steps=200, weight_decay=0.1).loss
    assert np.array_equal(net.layers[0].params["W"], decayed["W1"])
