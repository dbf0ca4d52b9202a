"""Answers to notebook 03 (the backward pass term by term), as students and textbooks write them."""
from checks_harness import E, ERROR, FAILED, OK

MISSING_N = "missing_batch_average"
BIAS_MEAN = "bias_gradient_averaged"
TRANSPOSE = "wrong_transpose"
IN_PLACE = "in_place_cache_mutation"
MASK_GRAD = "relu_mask_from_gradient"

BACKWARD_HEAD = '''
def backward(params, cache, Y):
    X, Z1, A1, Yhat = cache["X"], cache["Z1"], cache["A1"], cache["Yhat"]
    W1, W2 = params["W1"], params["W2"]
    N = X.shape[0]
'''
GRADS = '    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}\n'
STANDARD = '''
    dZ2 = (Yhat - Y) / N
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * (Z1 > 0)
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
'''


def _backward(**lines) -> str:
    """The syllabus's backward with some lines replaced (keys: dZ2, dW2, db2, dA1, dZ1, dW1, db1)."""
    body = []
    for line in STANDARD.strip("\n").splitlines():
        name = line.split("=")[0].strip()
        body.append(f"    {name} = {lines[name]}" if name in lines else line)
    return BACKWARD_HEAD + "\n".join(body) + "\n" + GRADS


ENTRIES = [
    # ------------------------------------------------ softmax_cross_entropy_backward
    E("softmax_cross_entropy_backward", "no_average", FAILED, MISSING_N, "times too large",
      "def softmax_cross_entropy_backward(Yhat, Y):\n    return Yhat - Y\n"),
    E("softmax_cross_entropy_backward", "divides_twice", FAILED, None, "divides by n twice", '''
def softmax_cross_entropy_backward(Yhat, Y):
    N = Yhat.shape[0]
    return (Yhat - Y) / N / N
'''),
    E("softmax_cross_entropy_backward", "in_place", FAILED, IN_PLACE, "read-only", '''
def softmax_cross_entropy_backward(Yhat, Y):
    Yhat -= Y
    Yhat /= Yhat.shape[0]
    return Yhat
'''),
    E("softmax_cross_entropy_backward", "nnfs_without_copy", FAILED, IN_PLACE, "cache", '''
def softmax_cross_entropy_backward(Yhat, Y):
    samples = len(Yhat)
    y_true = np.argmax(Y, axis=1)
    dinputs = Yhat
    dinputs[range(samples), y_true] -= 1
    dinputs = dinputs / samples
    return dinputs
'''),
    E("softmax_cross_entropy_backward", "y_minus_yhat", FAILED, None, "(yhat - y) / n",
      "def softmax_cross_entropy_backward(Yhat, Y):\n    return (Y - Yhat) / len(Y)\n"),
    E("softmax_cross_entropy_backward", "mean_over_entries", FAILED, None, "n*c",
      "def softmax_cross_entropy_backward(Yhat, Y):\n    return (Yhat - Y) / Yhat.size\n"),
    E("softmax_cross_entropy_backward", "softmax_again", FAILED, None, "second time", '''
def softmax_cross_entropy_backward(Yhat, Y):
    P = np.exp(Yhat - Yhat.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return (P - Y) / Yhat.shape[0]
'''),
    E("softmax_cross_entropy_backward", "predicted_labels", FAILED, None, "dz2 for", '''
def softmax_cross_entropy_backward(Yhat, Y):
    N, C = Yhat.shape
    return (Yhat - np.eye(C)[Yhat.argmax(axis=1)]) / N
'''),
    E("softmax_cross_entropy_backward", "float32", FAILED, None, "float32",
      "def softmax_cross_entropy_backward(Yhat, Y):\n    return ((Yhat - Y) / Yhat.shape[0]).astype(np.float32)\n"),
    E("softmax_cross_entropy_backward", "divides_by_classes", FAILED, None, "number of classes", '''
def softmax_cross_entropy_backward(Yhat, Y):
    return (Yhat - Y) / Yhat.shape[1]
'''),
    E("softmax_cross_entropy_backward", "ok_cs231n", OK, None, "", '''
def softmax_cross_entropy_backward(Yhat, Y):
    N = Yhat.shape[0]
    dx = Yhat.copy()
    dx[np.arange(N), np.argmax(Y, axis=1)] -= 1
    dx /= N
    return dx
'''),
    E("softmax_cross_entropy_backward", "ok_loop", OK, None, "", '''
def softmax_cross_entropy_backward(Yhat, Y):
    out = np.zeros_like(Yhat)
    for i in range(Yhat.shape[0]):
        for c in range(Yhat.shape[1]):
            out[i, c] = (Yhat[i, c] - Y[i, c]) / Yhat.shape[0]
    return out
'''),

    # --------------------------------------------------------- output_layer_backward
    E("output_layer_backward", "dW_transposed", FAILED, None, "transpose", '''
def output_layer_backward(dZ2, A1, W2):
    return dZ2.T @ A1, dZ2.sum(axis=0), dZ2 @ W2.T
'''),
    E("output_layer_backward", "dW_transposed_reshaped", FAILED, TRANSPOSE, "scrambles", '''
def output_layer_backward(dZ2, A1, W2):
    return (dZ2.T @ A1).reshape(W2.shape), dZ2.sum(axis=0), dZ2 @ W2.T
'''),
    E("output_layer_backward", "bias_mean", FAILED, BIAS_MEAN, "sums dz over the batch", '''
def output_layer_backward(dZ2, A1, W2):
    return A1.T @ dZ2, dZ2.mean(axis=0), dZ2 @ W2.T
'''),
    E("output_layer_backward", "bias_keepdims", FAILED, None, "keepdims=true kept the summed axis", '''
def output_layer_backward(dZ2, A1, W2):
    return A1.T @ dZ2, np.sum(dZ2, axis=0, keepdims=True), dZ2 @ W2.T
'''),
    E("output_layer_backward", "bias_axis_1", FAILED, None, "summed over axis 1", '''
def output_layer_backward(dZ2, A1, W2):
    return A1.T @ dZ2, dZ2.sum(axis=1), dZ2 @ W2.T
'''),
    E("output_layer_backward", "bias_sum_everything", FAILED, None, "single number", '''
def output_layer_backward(dZ2, A1, W2):
    return A1.T @ dZ2, np.sum(dZ2), dZ2 @ W2.T
'''),
    E("output_layer_backward", "dA_without_transpose", ERROR, None, "raised ValueError", '''
def output_layer_backward(dZ2, A1, W2):
    return A1.T @ dZ2, dZ2.sum(axis=0), dZ2 @ W2
'''),
    E("output_layer_backward", "coursera_one_over_m", FAILED, None, "divides by n twice", '''
def output_layer_backward(dZ2, A1, W2):
    m = A1.shape[0]
    dW2 = 1 / m * np.dot(A1.T, dZ2)
    db2 = 1 / m * np.sum(dZ2, axis=0)
    dA1 = np.dot(dZ2, W2.T)
    return dW2, db2, dA1
'''),
    E("output_layer_backward", "wrong_order", FAILED, None, "wrong order", '''
def output_layer_backward(dZ2, A1, W2):
    return dZ2 @ W2.T, A1.T @ dZ2, dZ2.sum(axis=0)
'''),
    E("output_layer_backward", "returns_dict", ERROR, None, "tuple of 3", '''
def output_layer_backward(dZ2, A1, W2):
    return {"W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0), "A1": dZ2 @ W2.T}
'''),
    E("output_layer_backward", "float32", FAILED, None, "float32", '''
def output_layer_backward(dZ2, A1, W2):
    dZ2 = dZ2.astype(np.float32)
    return A1.T @ dZ2, dZ2.sum(axis=0), dZ2 @ W2.T
'''),
    E("output_layer_backward", "ok_einsum", OK, None, "", '''
def output_layer_backward(dZ2, A1, W2):
    return np.einsum("nd,nc->dc", A1, dZ2), np.einsum("nc->c", dZ2), np.einsum("nc,dc->nd", dZ2, W2)
'''),
    E("output_layer_backward", "ok_nielsen_transposes", OK, None, "", '''
def output_layer_backward(dZ2, A1, W2):
    delta = dZ2.T
    return np.dot(delta, A1).T, delta.sum(axis=1), np.dot(W2, delta).T
'''),
    E("output_layer_backward", "ok_outer_products", OK, None, "", '''
def output_layer_backward(dZ2, A1, W2):
    dW2 = sum(np.outer(a, d) for a, d in zip(A1, dZ2))
    return dW2, sum(dZ2), np.array([W2 @ d for d in dZ2])
'''),

    # ---------------------------------------------------------------- relu_backward
    E("relu_backward", "mask_from_gradient", FAILED, MASK_GRAD, "pre-activation",
      "def relu_backward(dA1, Z1):\n    return dA1 * (dA1 > 0)\n"),
    E("relu_backward", "gate_open_at_zero", FAILED, None, "exactly 0",
      "def relu_backward(dA1, Z1):\n    return dA1 * (Z1 >= 0)\n", visible=OK),
    E("relu_backward", "heaviside_one", FAILED, None, "exactly 0",
      "def relu_backward(dA1, Z1):\n    return dA1 * np.heaviside(Z1, 1.0)\n", visible=OK),
    E("relu_backward", "nnfs_in_place", FAILED, None, "changed its inputs", '''
def relu_backward(dA1, Z1):
    dinputs = dA1
    dinputs[Z1 <= 0] = 0
    return dinputs
'''),
    E("relu_backward", "clamps_cached_Z1", FAILED, IN_PLACE, "z1", '''
def relu_backward(dA1, Z1):
    Z1[Z1 < 0] = 0
    return dA1 * (Z1 > 0)
'''),
    E("relu_backward", "times_Z", FAILED, None, "multiplies by z itself", "def relu_backward(dA1, Z1):\n    return dA1 * Z1\n"),
    E("relu_backward", "times_relu", FAILED, None, "relu(z)",
      "def relu_backward(dA1, Z1):\n    return dA1 * np.maximum(Z1, 0)\n"),
    E("relu_backward", "mask_only", FAILED, None, "gate alone",
      "def relu_backward(dA1, Z1):\n    return (Z1 > 0).astype(float)\n"),
    E("relu_backward", "no_gate", FAILED, None, "gate is missing", "def relu_backward(dA1, Z1):\n    return dA1.copy()\n"),
    E("relu_backward", "inverted_gate", FAILED, None, "inverted", "def relu_backward(dA1, Z1):\n    return dA1 * (Z1 <= 0)\n"),
    E("relu_backward", "sign_half_at_zero", FAILED, None, "dz1 for",
      "def relu_backward(dA1, Z1):\n    return dA1 * (np.sign(Z1) + 1) / 2\n", visible=OK),
    E("relu_backward", "ok_where", OK, None, "", "def relu_backward(dA1, Z1):\n    return np.where(Z1 > 0, dA1, 0.0)\n"),
    E("relu_backward", "ok_heaviside_zero", OK, None, "",
      "def relu_backward(dA1, Z1):\n    return dA1 * np.heaviside(Z1, 0.0)\n"),
    E("relu_backward", "ok_mask_from_activation", OK, None, "",
      "def relu_backward(dA1, Z1):\n    A1 = np.maximum(Z1, 0)\n    return dA1 * (A1 > 0)\n"),
    E("relu_backward", "ok_nnfs_with_copy", OK, None, "", '''
def relu_backward(dA1, Z1):
    dinputs = dA1.copy()
    dinputs[Z1 <= 0] = 0
    return dinputs
'''),

    # --------------------------------------------------------- hidden_layer_backward
    E("hidden_layer_backward", "dW_transposed", FAILED, None, "transpose",
      "def hidden_layer_backward(dZ1, X):\n    return dZ1.T @ X, dZ1.sum(axis=0)\n"),
    E("hidden_layer_backward", "bias_mean", FAILED, BIAS_MEAN, "sums dz over the batch",
      "def hidden_layer_backward(dZ1, X):\n    return X.T @ dZ1, np.mean(dZ1, axis=0)\n"),
    E("hidden_layer_backward", "bias_keepdims", FAILED, None, "keepdims",
      "def hidden_layer_backward(dZ1, X):\n    return X.T @ dZ1, dZ1.sum(axis=0, keepdims=True)\n"),
    E("hidden_layer_backward", "swapped", FAILED, None, "wrong order",
      "def hidden_layer_backward(dZ1, X):\n    return dZ1.sum(axis=0), X.T @ dZ1\n"),
    E("hidden_layer_backward", "X_times_dZ", ERROR, None, "raised ValueError",
      "def hidden_layer_backward(dZ1, X):\n    return X @ dZ1, dZ1.sum(axis=0)\n"),
    E("hidden_layer_backward", "coursera_one_over_m", FAILED, None, "divides by n twice", '''
def hidden_layer_backward(dZ1, X):
    m = X.shape[0]
    return (1. / m) * np.dot(X.T, dZ1), (1. / m) * np.sum(dZ1, axis=0)
'''),
    E("hidden_layer_backward", "returns_dX_too", ERROR, None, "tuple of 2",
      "def hidden_layer_backward(dZ1, X):\n    return X.T @ dZ1, dZ1.sum(axis=0), None\n"),
    E("hidden_layer_backward", "ok_loops", OK, None, "", '''
def hidden_layer_backward(dZ1, X):
    dW1 = np.zeros((X.shape[1], dZ1.shape[1]))
    db1 = np.zeros(dZ1.shape[1])
    for n in range(X.shape[0]):
        dW1 += np.outer(X[n], dZ1[n])
        db1 += dZ1[n]
    return dW1, db1
'''),
    E("hidden_layer_backward", "ok_namedtuple", OK, None, "", '''
from collections import namedtuple
Grads = namedtuple("Grads", "dW1 db1")
def hidden_layer_backward(dZ1, X):
    return Grads(np.tensordot(X, dZ1, axes=(0, 0)), np.add.reduce(dZ1, axis=0))
'''),

    # ---------------------------------------------------------------------- backward
    E("backward", "grads_written_into_params", FAILED, None, "a new entry", BACKWARD_HEAD + STANDARD + '''
    params["dW1"], params["db1"], params["dW2"], params["db2"] = dW1, db1, dW2, db2
''' + GRADS),
    E("backward", "deltas_stored_in_cache", FAILED, None, "cache['dz2']", BACKWARD_HEAD + STANDARD + '''
    cache["dZ2"], cache["dZ1"] = dZ2, dZ1
''' + GRADS),
    E("backward", "no_average", FAILED, MISSING_N, "1/n", _backward(dZ2="Yhat - Y")),
    E("backward", "yhat_in_place", FAILED, IN_PLACE, "read-only", _backward(dZ2="Yhat; dZ2 -= Y; dZ2 /= N")),
    E("backward", "transposed_reshaped", FAILED, TRANSPOSE, "scrambles",
      _backward(dW2="(dZ2.T @ A1).reshape(W2.shape)", dW1="(dZ1.T @ X).reshape(W1.shape)")),
    E("backward", "bias_means", FAILED, BIAS_MEAN, "sums dz over the batch",
      _backward(db2="dZ2.mean(axis=0)", db1="dZ1.mean(axis=0)")),
    E("backward", "mask_from_gradient", FAILED, MASK_GRAD, "pre-activation", _backward(dZ1="dA1 * (dA1 > 0)")),
    E("backward", "no_gate", FAILED, None, "gate is missing", _backward(dZ1="dA1")),
    E("backward", "dW2_from_Z1", FAILED, None, "activation a1", _backward(dW2="Z1.T @ dZ2")),
    E("backward", "bias_keepdims", FAILED, None, "keepdims=true kept the summed axis",
      _backward(db2="dZ2.sum(axis=0, keepdims=True)", db1="dZ1.sum(axis=0, keepdims=True)")),
    E("backward", "syllabus_mask_into_A1", FAILED, IN_PLACE, "cache['a1']", _backward(dZ1="A1; dZ1[...] = dA1; dZ1 *= Z1 > 0")),
    E("backward", "cs231n_keys", ERROR, None, "name the gradients after their parameters", BACKWARD_HEAD + STANDARD
      + '    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}\n'),
    E("backward", "returns_tuple", ERROR, None, "should return a dict",
      BACKWARD_HEAD + STANDARD + "    return dW1, db1, dW2, db2\n"),
    E("backward", "gate_open_at_zero", FAILED, None, "exactly 0", _backward(dZ1="dA1 * (Z1 >= 0)"), visible=OK),
    E("backward", "divides_twice", FAILED, None, "divides by n twice",
      _backward(dW2="A1.T @ dZ2 / N", db2="dZ2.sum(axis=0) / N", dW1="X.T @ dZ1 / N", db1="dZ1.sum(axis=0) / N")),
    E("backward", "dA1_without_transpose", ERROR, None, "raised ValueError", _backward(dA1="dZ2 @ W2")),
    E("backward", "dW1_bias_mean_only_first_layer", FAILED, BIAS_MEAN, "sums dz over the batch",
      _backward(db1="dZ1.mean(axis=0)")),
    E("backward", "sigmoid_derivative", FAILED, None, "grads['w1']", _backward(dZ1="dA1 * A1 * (1 - A1)")),
    E("backward", "ok_coursera_one_over_m", OK, None, "", BACKWARD_HEAD + '''
    m = N
    dZ2 = Yhat - Y
    dW2 = 1. / m * np.dot(A1.T, dZ2)
    db2 = 1. / m * np.sum(dZ2, axis=0)
    dA1 = np.dot(dZ2, W2.T)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = 1. / m * np.dot(X.T, dZ1)
    db1 = 1. / m * np.sum(dZ1, axis=0)
''' + GRADS),
    E("backward", "ok_uses_notebook_pieces", OK, None, "", '''
def backward(params, cache, Y):
    dZ2 = softmax_cross_entropy_backward(cache["Yhat"], Y)
    dW2, db2, dA1 = output_layer_backward(dZ2, cache["A1"], params["W2"])
    dW1, db1 = hidden_layer_backward(relu_backward(dA1, cache["Z1"]), cache["X"])
    return dict(W1=dW1, b1=db1, W2=dW2, b2=db2)
'''),
    E("backward", "ok_ordered_dict_loop_over_layers", OK, None, "", '''
from collections import OrderedDict
def backward(params, cache, Y):
    delta = (cache["Yhat"] - Y) / len(Y)
    grads = OrderedDict()
    for layer, inp in ((2, cache["A1"]), (1, cache["X"])):
        grads[f"W{layer}"] = inp.T @ delta
        grads[f"b{layer}"] = delta.sum(axis=0)
        if layer == 2:
            delta = (delta @ params["W2"].T) * (cache["Z1"] > 0)
    return grads
'''),

    # ---------------------------------------------------------------------- sgd_step
    E("sgd_step", "returns_new_dict", FAILED, None, "returned a new dict", '''
def sgd_step(params, grads, lr):
    params = {k: params[k] - lr * grads[k] for k in params}
    return params
'''),
    E("sgd_step", "rebinds_entries", FAILED, None, "replaced by new arrays", '''
def sgd_step(params, grads, lr):
    for k in params:
        params[k] = params[k] - lr * grads[k]
'''),
    E("sgd_step", "plus_sign", FAILED, None, "up the gradient", '''
def sgd_step(params, grads, lr):
    for k in params:
        params[k] += lr * grads[k]
'''),
    E("sgd_step", "no_lr", FAILED, None, "learning rate is missing", '''
def sgd_step(params, grads, lr):
    for k, g in grads.items():
        params[k] -= g
'''),
    E("sgd_step", "fixed_lr", FAILED, None, "lr argument", '''
def sgd_step(params, grads, lr=0.1):
    for k, g in grads.items():
        params[k] -= 0.1 * g
'''),
    E("sgd_step", "scales_grads_in_place", FAILED, None, "changed its inputs", '''
def sgd_step(params, grads, lr):
    for k in params:
        grads[k] *= lr
        params[k] -= grads[k]
'''),
    E("sgd_step", "weights_only", FAILED, None, "params['b1']", '''
def sgd_step(params, grads, lr):
    for k in ("W1", "W2"):
        params[k] -= lr * grads[k]
'''),
    E("sgd_step", "cs231n_keys", ERROR, None, "raised KeyError", '''
def sgd_step(params, grads, lr):
    for k in params:
        params[k] -= lr * grads["d" + k]
'''),
    E("sgd_step", "momentum_buffers_in_params", FAILED, None, "add no keys", '''
def sgd_step(params, grads, lr, momentum=0.0):
    for k, g in grads.items():
        v = params.setdefault("v" + k, np.zeros_like(g))
        v *= momentum
        v -= lr * g
        params[k] += v
'''),
    E("sgd_step", "ok_ellipsis", OK, None, "", '''
def sgd_step(params, grads, lr):
    for name in params:
        params[name][...] = params[name] - lr * grads[name]
'''),
    E("sgd_step", "ok_np_subtract_out", OK, None, "", '''
def sgd_step(params, grads, lr):
    for name, p in params.items():
        np.subtract(p, lr * grads[name], out=p)
    return params
'''),
]
