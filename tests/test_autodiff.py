"""Notebook 12's reverse-mode autodiff: every primitive against central differences (with
broadcasting and strided inputs), the syllabus's network equal to mlp.backward to 1e-10, and
gradients the layer code never wrote (a residual block that uses its weight twice)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import autodiff as ad, data, losses, mlp
from course_lib.autodiff import Tensor
from course_lib.gradcheck import numerical_gradient, rel_error

TOL = 1e-7
seeds = st.integers(0, 2**31 - 1)
sizes = st.tuples(st.integers(1, 5), st.integers(1, 4))


def check_against_central_differences(build, arrays):
    """build(tensors) -> a scalar Tensor; every array's gradient must match central differences."""
    leaves = {n: Tensor(a, requires_grad=True) for n, a in arrays.items()}
    ad.backward(build(leaves))
    value = lambda: float(build({n: Tensor(a) for n, a in arrays.items()}).data)  # noqa: E731
    for name, a in arrays.items():
        assert leaves[name].grad.shape == a.shape, name
        assert rel_error(leaves[name].grad, numerical_gradient(value, a)) < TOL, name


# One case per primitive (two operands where it has two), each squashed to a scalar by a weighted
# sum so that every entry of the output matters. Broadcast operands: rows (d,), columns (N, 1).
PRIMITIVES = {
    "add (row broadcast)": (lambda P: P["a"] + P["row"], "a row"),
    "sub (column broadcast)": (lambda P: P["a"] - P["col"], "a col"),
    "mul (broadcast both ways)": (lambda P: P["col"] * P["row"], "col row"),
    "div": (lambda P: P["a"] / (P["b"] * P["b"] + 1.0), "a b"),
    "neg and a constant": (lambda P: 2.0 - (-P["a"]) * 3.0, "a"),
    "matmul": (lambda P: P["a"] @ P["m"], "a m"),
    "tanh": (lambda P: P["a"].tanh(), "a"),
    "exp and log": (lambda P: (P["a"].exp() + 1.0).log(), "a"),
    "relu": (lambda P: P["kinkless"].relu(), "kinkless"),
    "sum over rows, keepdims": (lambda P: P["a"].sum(axis=0, keepdims=True) * P["a"], "a"),
    "sum over columns": (lambda P: P["a"].sum(axis=1), "a"),
    "mean": (lambda P: P["a"].mean(axis=1, keepdims=True) - P["a"], "a"),
    "reshape and transpose": (lambda P: P["a"].T.reshape(-1), "a"),
    "log_softmax": (lambda P: P["a"].log_softmax(axis=1), "a"),
}


@pytest.mark.parametrize("name", list(PRIMITIVES))
@given(size=sizes, seed=seeds)
@settings(max_examples=15, deadline=None)
def test_each_primitive_matches_central_differences(name, size, seed):
    N, d = size
    rng = np.random.default_rng(seed)
    pool = {
        "a": rng.standard_normal((N, 2 * d))[:, ::2],  # strided
        "b": rng.standard_normal((N, d)),
        "row": rng.standard_normal(d), "col": rng.standard_normal((N, 1)),
        "m": rng.standard_normal((d, 3)),
        "kinkless": rng.choice([-1.0, 1.0], (N, d)) * (0.1 + rng.random((N, d))),
    }
    fn, operands = PRIMITIVES[name]
    arrays = {k: pool[k] for k in operands.split()}
    out_shape = fn({k: Tensor(v) for k, v in arrays.items()}).shape
    weights = rng.standard_normal(out_shape)
    check_against_central_differences(lambda P: (fn(P) * weights).sum(), arrays)


def test_the_syllabus_network_equals_the_hand_written_backward_to_1e10():
    params = mlp.init_params(5, 4, 3, seed=0)
    X, Y = data.tiny_batch()
    loss, grads = ad.value_and_grad(ad.mlp_loss, params, X, Y)
    _, cache = mlp.forward(params, X)
    expected = mlp.backward(params, cache, Y)
    logits = cache["A1"] @ params["W2"] + params["b2"]
    assert loss == pytest.approx(losses.softmax_cross_entropy(logits, Y), abs=1e-15)
    assert f"{loss:.4f}" == "1.1408"  # the syllabus's initial loss
    for name in mlp.PARAM_NAMES:
        assert grads[name].shape == params[name].shape
        assert np.max(np.abs(grads[name] - expected[name])) < 1e-10, name


@given(sizes=st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(1, 5), st.integers(2, 4)), seed=seeds,
       labels=st.booleans())
@settings(max_examples=30, deadline=None)
def test_autodiff_equals_mlp_backward_on_random_networks(sizes, seed, labels):
    N, d0, d1, C = sizes
    rng = np.random.default_rng(seed)
    params = mlp.init_params(d0, d1, C, seed=seed)
    params["b1"] = rng.standard_normal(d1)
    X = rng.standard_normal((N, d0))
    y = rng.integers(0, C, N)
    Y = y if labels else losses.one_hot(y, C)
    _, grads = ad.value_and_grad(ad.mlp_loss, params, X, Y)
    _, cache = mlp.forward(params, X)
    expected = mlp.backward(params, cache, Y)
    for name in mlp.PARAM_NAMES:
        assert np.max(np.abs(grads[name] - expected[name])) < 1e-10, name


def _residual_params(seed=0):
    rng = np.random.default_rng(seed)
    P = mlp.init_params(5, 4, 3, seed=seed)
    P["b1"] = rng.random(4) + 0.2          # every hidden unit on for some examples
    P["U"] = rng.standard_normal((4, 3))
    P["c"] = rng.random(3) + 0.5           # and every unit of the residual branch too
    return P


def test_a_gradient_no_layer_wrote_residual_block_with_a_weight_used_twice():
    X, Y = data.tiny_batch()
    P = _residual_params()
    check_against_central_differences(lambda T: ad.residual_mlp_loss(T, X, Y), P)
    _, grads = ad.value_and_grad(ad.residual_mlp_loss, P, X, Y)
    assert np.abs(grads["U"]).max() > 1e-3  # the reused weight really carries gradient
    # U's gradient is the sum of its two uses: with either use frozen (a constant copy), each share alone.
    U_const = Tensor(P["U"].copy())

    def first_use_only(T):
        H = (ad.as_tensor(X) @ T["W1"] + T["b1"]).relu()
        R = H + (H @ T["U"] + T["c"]).relu() @ U_const.T
        return ad.cross_entropy(R @ T["W2"] + T["b2"], Y)

    def second_use_only(T):
        H = (ad.as_tensor(X) @ T["W1"] + T["b1"]).relu()
        R = H + (H @ U_const + T["c"]).relu() @ T["U"].T
        return ad.cross_entropy(R @ T["W2"] + T["b2"], Y)

    share_1 = ad.value_and_grad(first_use_only, P)[1]["U"]
    share_2 = ad.value_and_grad(second_use_only, P)[1]["U"]
    assert np.allclose(grads["U"], share_1 + share_2, rtol=1e-12, atol=1e-15)
    assert not np.allclose(share_1, 0) and not np.allclose(share_2, 0)


def test_topological_order_puts_every_node_after_its_parents_and_handles_deep_graphs():
    x = Tensor(np.array([0.5, -0.2]), requires_grad=True)
    h = (x * x).tanh()
    loss = (h + h * x).sum()
    order = ad.topological_order(loss)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(position) == len(order) and order[-1] is loss and order[0] is x
    assert all(position[id(p)] < position[id(n)] for n in order for p in n.parents)
    node = Tensor(np.ones(3), requires_grad=True)
    deep = node
    for _ in range(3000):  # far past Python's recursion limit
        deep = deep * 1.0
    ad.backward(deep.sum())
    assert np.array_equal(node.grad, np.ones(3))


def test_gradients_start_at_zero_each_pass_and_data_records_nothing():
    X = np.random.default_rng(0).standard_normal((4, 3))
    W = Tensor(np.ones((3, 2)), requires_grad=True)
    data_tensor = Tensor(X)
    ad.backward((data_tensor @ W).tanh().sum())
    first = W.grad.copy()
    ad.backward((data_tensor @ W).tanh().sum())
    assert np.array_equal(W.grad, first)
    assert data_tensor.grad is None and not data_tensor.requires_grad
    out = data_tensor @ Tensor(np.ones((3, 2)))
    assert not out.requires_grad and out.parents == ()
    with pytest.raises(ValueError, match="requires_grad"):
        ad.backward(out.sum())
    with pytest.raises(ValueError, match="scalar"):
        ad.backward(data_tensor @ W)
    ad.zero_grad([W])
    assert np.array_equal(W.grad, np.zeros((3, 2)))


def test_float32_stays_float32_and_tensors_share_memory_with_their_arrays():
    params = mlp.init_params(5, 4, 3, seed=0, dtype=np.float32)
    X, Y = data.tiny_batch()
    loss, grads = ad.value_and_grad(ad.mlp_loss, params, X.astype(np.float32), Y)
    assert all(g.dtype == np.float32 for g in grads.values())
    W = np.zeros(2)
    t = Tensor(W)
    W[0] = 5.0
    assert t.data[0] == 5.0
