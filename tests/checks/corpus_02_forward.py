"""Answers to notebook 02 (relu, softmax, cross entropy, forward), as students and textbooks write them."""
from checks_harness import E, ERROR, FAILED, OK

UNSTABLE = "unstable_softmax"
STALE = "stale_cache"

FORWARD_HEAD = '''
def forward(params, X):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
'''

ENTRIES = [
    # -------------------------------------------------------------------- relu
    E("relu", "abs", FAILED, None, "|Z|", "def relu(Z):\n    return np.abs(Z)\n"),
    E("relu", "minimum", FAILED, None, "min(0, Z)", "def relu(Z):\n    return np.minimum(Z, 0)\n"),
    E("relu", "in_place_mask", FAILED, None, "changed its inputs", "def relu(Z):\n    Z[Z < 0] = 0\n    return Z\n"),
    E("relu", "maximum_out_z", FAILED, None, "changed its inputs",
      "def relu(Z):\n    return np.maximum(Z, 0, out=Z)\n"),
    E("relu", "leaky", FAILED, None, "leaky relu", "def relu(Z):\n    return np.where(Z > 0, Z, 0.01 * Z)\n"),
    E("relu", "returns_mask", FAILED, None, "floats", "def relu(Z):\n    return Z > 0\n"),
    E("relu", "mask_as_float", FAILED, None, "derivative", "def relu(Z):\n    return (Z > 0) * 1.0\n"),
    E("relu", "float32", FAILED, None, "float32", "def relu(Z):\n    return np.maximum(Z, 0).astype(np.float32)\n"),
    E("relu", "python_lists", ERROR, None, "numpy array",
      "def relu(Z):\n    return [[max(0.0, v) for v in row] for row in Z]\n"),
    E("relu", "two_axes_only", ERROR, None, "raised", '''
def relu(Z):
    out = np.zeros_like(Z)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            out[i, j] = Z[i, j] if Z[i, j] > 0 else 0.0
    return out
''', visible=OK),
    E("relu", "integer_cast", FAILED, None, "floats", "def relu(Z):\n    return np.maximum(Z, 0).astype(int)\n"),
    E("relu", "ok_where", OK, None, "", "def relu(Z):\n    return np.where(Z > 0, Z, 0.0)\n"),
    E("relu", "ok_mask_multiply", OK, None, "", "def relu(Z):\n    return Z * (Z > 0)\n"),
    E("relu", "ok_clip", OK, None, "", "def relu(Z):\n    return Z.clip(min=0)\n"),
    E("relu", "ok_abs_trick", OK, None, "", "def relu(Z):\n    return (Z + np.abs(Z)) / 2\n"),
    E("relu", "ok_ndindex_loop", OK, None, "", '''
def relu(Z):
    A = np.empty_like(Z)
    for idx in np.ndindex(Z.shape):
        A[idx] = max(Z[idx], 0.0)
    return A
'''),
    E("relu", "ok_copy_then_mask", OK, None, "", "def relu(Z):\n    A = Z.copy()\n    A[A < 0] = 0\n    return A\n"),

    # ----------------------------------------------------------------- softmax
    E("softmax", "unshifted_d2l", FAILED, UNSTABLE, "row's own maximum", '''
def softmax(Z):
    Z_exp = np.exp(Z)
    partition = Z_exp.sum(1, keepdims=True)
    return Z_exp / partition
'''),
    E("softmax", "global_max_dlfs", FAILED, UNSTABLE, "whole matrix", '''
def softmax(Z):
    c = np.max(Z)
    exp_a = np.exp(Z - c)
    return exp_a / np.sum(exp_a, axis=1, keepdims=True)
'''),
    E("softmax", "row_minimum", FAILED, UNSTABLE, "overflow", '''
def softmax(Z):
    E = np.exp(Z - Z.min(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)
'''),
    E("softmax", "row_mean", FAILED, UNSTABLE, "overflow", '''
def softmax(Z):
    E = np.exp(Z - Z.mean(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)
'''),
    E("softmax", "columns", FAILED, None, "each column sums to 1", '''
def softmax(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)
'''),
    E("softmax", "column_max_shift", FAILED, None, "column's maximum", '''
def softmax(Z):
    E = np.exp(Z - np.max(Z, axis=0))
    return E / np.sum(E, axis=1, keepdims=True)
'''),
    E("softmax", "max_without_keepdims", ERROR, None, "keepdims=True", '''
def softmax(Z):
    E = np.exp(Z - Z.max(axis=1))
    return E / E.sum(axis=1, keepdims=True)
'''),
    E("softmax", "sum_without_keepdims", ERROR, None, "keepdims=True", '''
def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1)
'''),
    E("softmax", "in_place_shift", FAILED, None, "changed its inputs", '''
def softmax(Z):
    Z -= np.max(Z, axis=1, keepdims=True)
    E = np.exp(Z)
    return E / np.sum(E, axis=1, keepdims=True)
'''),
    E("softmax", "not_normalised", FAILED, None, "not normalised",
      "def softmax(Z):\n    return np.exp(Z - Z.max(axis=1, keepdims=True))\n"),
    E("softmax", "coursera_global_sum", FAILED, None, "sum of the whole matrix", '''
def softmax(Z):
    t = np.exp(Z)
    return t / np.sum(t)
'''),
    E("softmax", "log_softmax", FAILED, None, "log of the softmax", '''
def softmax(Z):
    s = Z - Z.max(axis=1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=1, keepdims=True))
'''),
    E("softmax", "float32", FAILED, None, "float32", '''
def softmax(Z):
    Z = Z.astype(np.float32)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)
'''),
    E("softmax", "row_loop_unshifted", FAILED, UNSTABLE, "row's own maximum", '''
def softmax(Z):
    out = np.empty_like(Z)
    for i, row in enumerate(Z):
        e = np.exp(row)
        out[i] = e / e.sum()
    return out
'''),
    E("softmax", "ok_dlfs_transpose", OK, None, "", '''
def softmax(x):
    x = x.T
    x = x - np.max(x, axis=0)
    y = np.exp(x) / np.sum(np.exp(x), axis=0)
    return y.T
'''),
    E("softmax", "ok_nnfs", OK, None, "", '''
def softmax(inputs):
    exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
    probabilities = exp_values / np.sum(exp_values, axis=1, keepdims=True)
    return probabilities
'''),
    E("softmax", "ok_row_loop", OK, None, "", '''
def softmax(Z):
    rows = []
    for row in Z:
        e = np.exp(row - row.max())
        rows.append(e / e.sum())
    return np.array(rows)
'''),
    E("softmax", "ok_logsumexp", OK, None, "", '''
def softmax(Z):
    m = Z.max(axis=1)[:, None]
    lse = m + np.log(np.exp(Z - m).sum(axis=1))[:, None]
    return np.exp(Z - lse)
'''),

    # ----------------------------------------------------------- cross_entropy
    E("cross_entropy", "dlfs_delta_1e7", FAILED, None, "1e-12", '''
def cross_entropy(Yhat, Y):
    delta = 1e-7
    batch_size = Yhat.shape[0]
    return -np.sum(Y * np.log(Yhat + delta)) / batch_size
'''),
    E("cross_entropy", "nnfs_clip", FAILED, None, "np.clip", '''
def cross_entropy(Yhat, Y):
    y_pred_clipped = np.clip(Yhat, 1e-7, 1 - 1e-7)
    correct_confidences = np.sum(y_pred_clipped * Y, axis=1)
    return np.mean(-np.log(correct_confidences))
'''),
    E("cross_entropy", "unguarded", FAILED, None, "log(0)",
      "def cross_entropy(Yhat, Y):\n    return -np.sum(Y * np.log(Yhat)) / Yhat.shape[0]\n"),
    E("cross_entropy", "sum_not_mean", FAILED, None, "divide by n",
      "def cross_entropy(Yhat, Y):\n    return -np.sum(Y * np.log(Yhat + 1e-12))\n"),
    E("cross_entropy", "mean_over_entries", FAILED, None, "n*c",
      "def cross_entropy(Yhat, Y):\n    return -np.mean(Y * np.log(Yhat + 1e-12))\n"),
    E("cross_entropy", "coursera_binary", FAILED, None, "binary cross entropy", '''
def cross_entropy(Yhat, Y):
    m = Y.shape[0]
    cost = -1 / m * np.sum(Y * np.log(Yhat) + (1 - Y) * np.log(1 - Yhat))
    return float(np.squeeze(cost))
'''),
    E("cross_entropy", "missing_minus", FAILED, None, "wrong sign",
      "def cross_entropy(Yhat, Y):\n    return np.sum(Y * np.log(Yhat + 1e-12)) / Yhat.shape[0]\n"),
    E("cross_entropy", "log2", FAILED, None, "log base 2",
      "def cross_entropy(Yhat, Y):\n    return -np.sum(Y * np.log2(Yhat + 1e-12)) / len(Y)\n"),
    E("cross_entropy", "per_example", FAILED, None, "one loss per example",
      "def cross_entropy(Yhat, Y):\n    return -np.sum(Y * np.log(Yhat + 1e-12), axis=1)\n"),
    E("cross_entropy", "predicted_class", FAILED, None, "predicted",
      "def cross_entropy(Yhat, Y):\n    return -np.mean(np.log(np.max(Yhat, axis=1) + 1e-12))\n"),
    E("cross_entropy", "guard_1e8_maximum", FAILED, None, "1e-12",
      "def cross_entropy(Yhat, Y):\n    return -np.sum(Y * np.log(np.maximum(Yhat, 1e-8))) / Yhat.shape[0]\n"),
    E("cross_entropy", "guard_1e15", FAILED, None, "1e-12",
      "def cross_entropy(Yhat, Y):\n    return -np.sum(Y * np.log(Yhat + 1e-15)) / Yhat.shape[0]\n"),
    E("cross_entropy", "nan_to_num", FAILED, None, "the loss for", '''
def cross_entropy(Yhat, Y):
    return -np.sum(np.nan_to_num(Y * np.log(Yhat))) / Yhat.shape[0]
'''),
    E("cross_entropy", "float32", FAILED, None, "float32",
      "def cross_entropy(Yhat, Y):\n    return np.float32(-np.sum(Y * np.log(Yhat + 1e-12)) / Yhat.shape[0])\n"),
    E("cross_entropy", "divides_by_classes", FAILED, None, "c = ",
      "def cross_entropy(Yhat, Y):\n    return -np.sum(Y * np.log(Yhat + 1e-12)) / Yhat.shape[0] / Yhat.shape[1]\n"),
    E("cross_entropy", "writes_guard_into_yhat", FAILED, None, "changed its inputs", '''
def cross_entropy(Yhat, Y):
    Yhat += 1e-12
    return -np.sum(Y * np.log(Yhat)) / Yhat.shape[0]
'''),
    E("cross_entropy", "ok_indexing", OK, None, "", '''
def cross_entropy(Yhat, Y):
    N = Yhat.shape[0]
    return -np.mean(np.log(Yhat[np.arange(N), Y.argmax(axis=1)] + 1e-12))
'''),
    E("cross_entropy", "ok_loop", OK, None, "", '''
def cross_entropy(Yhat, Y):
    loss = 0.0
    for i in range(len(Yhat)):
        loss -= math.log(Yhat[i, int(np.argmax(Y[i]))] + 1e-12)
    return loss / len(Yhat)
'''),
    E("cross_entropy", "ok_zero_dim_array", OK, None, "",
      "def cross_entropy(Yhat, Y):\n    return np.sum(-Y * np.log(Yhat + 1e-12), axis=1).mean(keepdims=True)[0] + np.zeros(())\n"),

    # ----------------------------------------------------------------- forward
    E("forward", "unstable_softmax", FAILED, UNSTABLE, "row's own maximum", FORWARD_HEAD + '''
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0)
    E = np.exp(A1 @ W2 + b2)
    Yhat = E / E.sum(axis=1, keepdims=True)
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}
'''),
    E("forward", "syllabus_shared_cache", FAILED, STALE, "second forward pass", '''
CACHE = {}
def forward(params, X):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = relu(Z1)
    Yhat = softmax(A1 @ params["W2"] + params["b2"])
    CACHE.update({"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat})
    return Yhat, CACHE
'''),
    E("forward", "buffers_reused", FAILED, STALE, "second forward pass", '''
_buf = {}
def forward(params, X):
    N = X.shape[0]
    key = (N, params["W1"].shape[1])
    if key not in _buf:
        _buf[key] = np.empty(key)
    Z1 = _buf[key]
    np.matmul(X, params["W1"], out=Z1)
    Z1 += params["b1"]
    A1 = relu(Z1)
    Yhat = softmax(A1 @ params["W2"] + params["b2"])
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}
'''),
    E("forward", "cache_missing_A1", ERROR, None, "no entry 'A1'", FORWARD_HEAD + '''
    Z1 = X @ W1 + b1
    Yhat = softmax(relu(Z1) @ W2 + b2)
    return Yhat, {"X": X, "Z1": Z1, "Yhat": Yhat}
'''),
    E("forward", "cache_lower_case", ERROR, None, "case-sensitive", FORWARD_HEAD + '''
    z1 = X @ W1 + b1
    a1 = relu(z1)
    yhat = softmax(a1 @ W2 + b2)
    return yhat, {"x": X, "z1": z1, "a1": a1, "yhat": yhat}
'''),
    E("forward", "cache_Z2_not_Yhat", ERROR, None, "no entry 'Yhat'", FORWARD_HEAD + '''
    Z1 = X @ W1 + b1
    A1 = relu(Z1)
    Z2 = A1 @ W2 + b2
    return softmax(Z2), {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2}
'''),
    E("forward", "no_relu", FAILED, None, "relu is missing", FORWARD_HEAD + '''
    Z1 = X @ W1 + b1
    Yhat = softmax(Z1 @ W2 + b2)
    return Yhat, {"X": X, "Z1": Z1, "A1": Z1, "Yhat": Yhat}
'''),
    E("forward", "relu_in_place_on_Z1", FAILED, None, "cache['Z1']", FORWARD_HEAD + '''
    Z1 = X @ W1 + b1
    A1 = Z1
    A1[A1 < 0] = 0
    Yhat = softmax(A1 @ W2 + b2)
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}
'''),
    E("forward", "returns_yhat_only", ERROR, None, "pair", FORWARD_HEAD + '''
    return softmax(relu(X @ W1 + b1) @ W2 + b2)
'''),
    E("forward", "returns_cache_first", ERROR, None, "numpy array", FORWARD_HEAD + '''
    Z1 = X @ W1 + b1
    A1 = relu(Z1)
    Yhat = softmax(A1 @ W2 + b2)
    return {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}, Yhat
'''),
    E("forward", "no_biases", FAILED, None, "biases are missing", FORWARD_HEAD + '''
    Z1 = X @ W1
    A1 = relu(Z1)
    Yhat = softmax(A1 @ W2)
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}
'''),
    E("forward", "returns_logits", FAILED, None, "apply the softmax", FORWARD_HEAD + '''
    Z1 = X @ W1 + b1
    A1 = relu(Z1)
    Z2 = A1 @ W2 + b2
    return Z2, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Z2}
'''),
    E("forward", "reshapes_bias_in_params", FAILED, None, "params['b1']", '''
def forward(params, X):
    params["b1"] = params["b1"].reshape(1, -1)
    params["b2"] = params["b2"].reshape(1, -1)
    Z1 = X @ params["W1"] + params["b1"]
    A1 = relu(Z1)
    Yhat = softmax(A1 @ params["W2"] + params["b2"])
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}
'''),
    E("forward", "standardises_X_in_place", FAILED, None, "changed its inputs", '''
def forward(params, X):
    X -= X.mean(axis=0)
    X /= X.std(axis=0) + 1e-8
    Z1 = X @ params["W1"] + params["b1"]
    A1 = relu(Z1)
    Yhat = softmax(A1 @ params["W2"] + params["b2"])
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}
'''),
    E("forward", "sigmoid_hidden", FAILED, None, "yhat for", FORWARD_HEAD + '''
    Z1 = X @ W1 + b1
    A1 = 1 / (1 + np.exp(-Z1))
    Yhat = softmax(A1 @ W2 + b2)
    return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}
'''),
    E("forward", "cache_on_function_attribute", FAILED, STALE, "second forward pass", '''
def forward(params, X):
    c = forward.__dict__.setdefault("cache", {})
    c["X"] = X
    c["Z1"] = X @ params["W1"] + params["b1"]
    c["A1"] = relu(c["Z1"])
    c["Yhat"] = softmax(c["A1"] @ params["W2"] + params["b2"])
    return c["Yhat"], c
'''),
    E("forward", "ok_ordered_dict_and_namedtuple", OK, None, "", '''
from collections import OrderedDict, namedtuple
Result = namedtuple("Result", "Yhat cache")
def forward(params, X):
    cache = OrderedDict(X=X)
    cache["Z1"] = np.einsum("nd,dh->nh", X, params["W1"]) + params["b1"]
    cache["A1"] = np.where(cache["Z1"] > 0, cache["Z1"], 0.0)
    cache["Yhat"] = softmax(cache["A1"] @ params["W2"] + params["b2"])
    return Result(cache["Yhat"], cache)
'''),
    E("forward", "ok_new_dict_on_attribute", OK, None, "", '''
def forward(params, X):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = relu(Z1)
    Yhat = softmax(A1 @ params["W2"] + params["b2"])
    forward.last = {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}
    return Yhat, forward.last
'''),
    E("forward", "ok_list_pair_extra_keys", OK, None, "", '''
def forward(params, X):
    Z1 = X.dot(params["W1"]) + params["b1"]
    A1 = relu(Z1)
    Z2 = A1.dot(params["W2"]) + params["b2"]
    Yhat = softmax(Z2)
    return [Yhat, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "Yhat": Yhat}]
'''),
]
