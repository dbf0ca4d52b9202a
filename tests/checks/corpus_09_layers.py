"""Answers to notebook 09 (a layer's numerical gradient, sigmoid with binary cross entropy, batch norm, dropout)."""
from checks_harness import E, ERROR, FAILED, OK

VJP_OK = '''
def numerical_gradient_array(f, x, dout, eps=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        x[idx] = original + eps
        plus = np.array(f(), dtype=float)
        x[idx] = original - eps
        minus = np.array(f(), dtype=float)
        x[idx] = original
        grad[idx] = np.sum(dout * (plus - minus)) / (2 * eps)
    return grad
'''

BCE_HEAD = "def sigmoid_bce_loss(Z, Y):\n"

BN_FORWARD = '''
def batchnorm_forward(x, gamma, beta, mode, running_mean, running_var, momentum=0.9, eps=1e-5):
    if mode == "train":
        mean = x.mean(axis=0)
        var = VAR
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, BatchNormCache(mode, x_hat, gamma, inv_std), (running_mean, running_var)
'''

BN_BACKWARD = '''
def batchnorm_backward(dout, cache):
    mode, x_hat, gamma, inv_std = cache
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = dout.sum(axis=0)
    g = dout * gamma
    if mode == "eval":
        return g * inv_std, dgamma, dbeta
    dx = DX
    return dx, dgamma, dbeta
'''

DROP_FORWARD = '''
def dropout_forward(x, drop_prob, mode, rng):
    if mode == "eval":
        return x, DropoutCache(None, drop_prob)
    keep = 1.0 - drop_prob
    mask = MASK
    return x * mask, DropoutCache(mask, drop_prob)
'''


def _bn_forward(var="x.var(axis=0)", **repl):
    src = BN_FORWARD.replace("VAR", var)
    for old, new in repl.items():
        src = src.replace(old.replace("__", " "), new)
    return src


def _drop(mask):
    return DROP_FORWARD.replace("MASK", mask)


ENTRIES = [
    # ------------------------------------------------------ numerical_gradient_array
    E("numerical_gradient_array", "copies", OK, None, "correct", VJP_OK),
    E("numerical_gradient_array", "reduces_at_once", OK, None, "correct", '''
def numerical_gradient_array(f, x, dout, eps=1e-5):
    g = lambda: float(np.sum(dout * f()))
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        keep = x[i]
        x[i] = keep + eps
        up = g()
        x[i] = keep - eps
        down = g()
        x[i] = keep
        grad[i] = (up - down) / (2 * eps)
    return grad
'''),
    E("numerical_gradient_array", "no_copy_of_f", FAILED, None, "copy f()'s result", VJP_OK.replace(
        "np.array(f(), dtype=float)", "f()"), visible=OK),
    E("numerical_gradient_array", "ignores_dout", FAILED, None, "ignores dout",
      VJP_OK.replace("np.sum(dout * (plus - minus))", "np.sum(plus - minus)")),
    E("numerical_gradient_array", "mean_not_sum", FAILED, None, "np.mean",
      VJP_OK.replace("np.sum(dout * (plus - minus))", "np.mean(dout * (plus - minus))")),
    E("numerical_gradient_array", "no_two", FAILED, None, "twice the expected", VJP_OK.replace("(2 * eps)", "eps")),
    E("numerical_gradient_array", "one_sided", FAILED, None, "one-sided", '''
def numerical_gradient_array(f, x, dout, eps=1e-5):
    base = np.array(f())
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        grad[idx] = np.sum(dout * (np.array(f()) - base)) / eps
        x[idx] = old
    return grad
'''),
    E("numerical_gradient_array", "ignores_eps", FAILED, None, "eps argument",
      VJP_OK.replace("(2 * eps)", "(2 * 1e-5)").replace("original + eps", "original + 1e-5")
      .replace("original - eps", "original - 1e-5")),
    E("numerical_gradient_array", "writes_into_a_copy", FAILED, None, "copy of x", '''
def numerical_gradient_array(f, x, dout, eps=1e-5):
    flat = x.ravel()
    grad = np.zeros(flat.size)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        plus = np.array(f())
        flat[j] = old - eps
        minus = np.array(f())
        flat[j] = old
        grad[j] = np.sum(dout * (plus - minus)) / (2 * eps)
    return grad.reshape(x.shape)
'''),
    E("numerical_gradient_array", "restores_by_arithmetic", FAILED, None, "rounding error", '''
def numerical_gradient_array(f, x, dout, eps=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        x[idx] += eps
        plus = np.array(f())
        x[idx] -= 2 * eps
        minus = np.array(f())
        x[idx] += eps
        grad[idx] = np.sum(dout * (plus - minus)) / (2 * eps)
    return grad
''', visible=None),
    E("numerical_gradient_array", "keeps_the_output_shape", FAILED, None, "shape of the layer's output", '''
def numerical_gradient_array(f, x, dout, eps=1e-5):
    grad = np.zeros_like(dout, dtype=float)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = np.array(f())
        x[idx] = old - eps
        minus = np.array(f())
        x[idx] = old
        grad = grad + dout * (plus - minus) / (2 * eps)
    return grad
'''),
    # ------------------------------------------------------ sigmoid_bce_loss
    E("sigmoid_bce_loss", "stable", OK, None, "correct", BCE_HEAD +
      "    return float(np.sum(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))) / len(Z))\n"),
    E("sigmoid_bce_loss", "logaddexp", OK, None, "correct", BCE_HEAD +
      "    return float(np.sum(np.logaddexp(0.0, Z) - Z * Y) / Z.shape[0])\n"),
    E("sigmoid_bce_loss", "two_branches", OK, None, "correct", BCE_HEAD + '''    pos = np.log1p(np.exp(-Z)) + (1 - Y) * Z
    neg = np.log1p(np.exp(Z)) - Y * Z
    return np.where(Z >= 0, pos, neg).sum() / Z.shape[0]
'''),
    E("sigmoid_bce_loss", "from_probabilities", FAILED, "bce_saturated_probabilities", "rounds to exactly 1.0",
      BCE_HEAD + '''    P = 1 / (1 + np.exp(-Z))
    return float(-np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / Z.shape[0])
'''),
    E("sigmoid_bce_loss", "from_probabilities_where", FAILED, "bce_saturated_probabilities", "from the logits",
      BCE_HEAD + '''    P = sigmoid(Z)
    return -np.mean(np.where(Y == 1, np.log(P), np.log(1 - P)).reshape(len(Z), -1).sum(axis=1))
'''),
    E("sigmoid_bce_loss", "guarded", FAILED, None, "the guard keeps the loss finite", BCE_HEAD + '''    P = sigmoid(Z)
    return float(-np.sum(Y * np.log(P + 1e-12) + (1 - Y) * np.log(1 - P + 1e-12)) / Z.shape[0])
'''),
    E("sigmoid_bce_loss", "clipped", FAILED, None, "np.clip(P, 1e-07", BCE_HEAD + '''    P = np.clip(sigmoid(Z), 1e-7, 1 - 1e-7)
    return float(-np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / Z.shape[0])
'''),
    E("sigmoid_bce_loss", "softplus_overflows", FAILED, None, "overflows", BCE_HEAD +
      "    return float(np.sum(np.log(1 + np.exp(Z)) - Z * Y) / Z.shape[0])\n", visible=OK),
    E("sigmoid_bce_loss", "mean_over_entries", FAILED, None, "N*k", BCE_HEAD +
      "    return float(np.mean(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))))\n"),
    E("sigmoid_bce_loss", "no_average", FAILED, None, "divide by N", BCE_HEAD +
      "    return float(np.sum(np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))))\n"),
    E("sigmoid_bce_loss", "per_example", FAILED, None, "one loss per example", BCE_HEAD +
      "    per = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))\n"
      "    return per.reshape(len(Z), -1).sum(axis=1)\n"),
    # ------------------------------------------------------ sigmoid_bce_backward
    E("sigmoid_bce_backward", "fused", OK, None, "correct", "def sigmoid_bce_backward(P, Y):\n    return (P - Y) / len(P)\n"),
    E("sigmoid_bce_backward", "subtract_ufunc", OK, None, "correct",
      "def sigmoid_bce_backward(P, Y):\n    return np.subtract(P, Y) * (1.0 / P.shape[0])\n"),
    E("sigmoid_bce_backward", "two_steps", FAILED, None, "0/0 is nan", '''
def sigmoid_bce_backward(P, Y):
    N = P.shape[0]
    dP = -(Y / P - (1 - Y) / (1 - P)) / N
    return dP * P * (1 - P)
'''),
    E("sigmoid_bce_backward", "gradient_at_P", FAILED, None, "dL/dP",
      "def sigmoid_bce_backward(P, Y):\n    return (P - Y) / (P * (1 - P)) / len(P)\n"),
    E("sigmoid_bce_backward", "no_average", FAILED, None, "1/N batch average is missing",
      "def sigmoid_bce_backward(P, Y):\n    return P - Y\n"),
    E("sigmoid_bce_backward", "mean_over_entries", FAILED, None, "N*k",
      "def sigmoid_bce_backward(P, Y):\n    return (P - Y) / P.size\n"),
    E("sigmoid_bce_backward", "wrong_sign", FAILED, None, "prediction minus target",
      "def sigmoid_bce_backward(P, Y):\n    return (Y - P) / len(P)\n"),
    E("sigmoid_bce_backward", "in_place", FAILED, "in_place_cache_mutation", "read-only",
      "def sigmoid_bce_backward(P, Y):\n    P -= Y\n    P /= P.shape[0]\n    return P\n"),
    # ------------------------------------------------------ batchnorm_forward
    E("batchnorm_forward", "squared_deviations", OK, None, "correct", _bn_forward("((x - mean) ** 2).mean(axis=0)")),
    E("batchnorm_forward", "std_squared_and_tuple", OK, None, "correct", _bn_forward(
        "x.std(axis=0) ** 2", **{"BatchNormCache(mode,__x_hat,__gamma,__inv_std)": "(mode, x_hat, gamma, inv_std)"})),
    E("batchnorm_forward", "unbiased", FAILED, None, "unbiased variance", _bn_forward("x.var(axis=0, ddof=1)")),
    E("batchnorm_forward", "cancellation", FAILED, None, "mean(x**2) - mean(x)**2",
      _bn_forward("(x ** 2).mean(axis=0) - mean ** 2"), visible=OK),
    E("batchnorm_forward", "eps_outside", FAILED, None, "inside the square root", _bn_forward(
        **{"inv_std = 1.0 / np.sqrt(var + eps)": "inv_std = 1.0 / (np.sqrt(var) + eps)"})),
    E("batchnorm_forward", "fixed_eps", FAILED, None, "eps argument", _bn_forward(
        **{"np.sqrt(var + eps)": "np.sqrt(var + 1e-5)"})),
    E("batchnorm_forward", "per_example", FAILED, None, "layer normalisation", '''
def batchnorm_forward(x, gamma, beta, mode, running_mean, running_var, momentum=0.9, eps=1e-5):
    mean = x.mean(axis=1, keepdims=True)
    var = x.var(axis=1, keepdims=True)
    if mode == "train":
        running_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
        running_var = momentum * running_var + (1 - momentum) * x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, BatchNormCache(mode, x_hat, gamma, inv_std), (running_mean, running_var)
'''),
    E("batchnorm_forward", "batch_stats_at_eval", FAILED, None, "must use the running averages", '''
def batchnorm_forward(x, gamma, beta, mode, running_mean, running_var, momentum=0.9, eps=1e-5):
    mean, var = x.mean(axis=0), x.var(axis=0)
    if mode == "train":
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, BatchNormCache(mode, x_hat, gamma, inv_std), (running_mean, running_var)
'''),
    E("batchnorm_forward", "momentum_swapped", FAILED, None, "momentum weighs the wrong term", _bn_forward(
        **{"momentum * running_mean + (1 - momentum) * mean": "(1 - momentum) * running_mean + momentum * mean",
           "momentum * running_var + (1 - momentum) * var": "(1 - momentum) * running_var + momentum * var"})),
    E("batchnorm_forward", "running_in_place", FAILED, None, "new arrays", _bn_forward(
        **{"running_mean = momentum * running_mean + (1 - momentum) * mean":
           "running_mean *= momentum\n        running_mean += (1 - momentum) * mean",
           "running_var = momentum * running_var + (1 - momentum) * var":
           "running_var *= momentum\n        running_var += (1 - momentum) * var"})),
    E("batchnorm_forward", "caches_std", FAILED, None, "its inverse", _bn_forward(
        **{"BatchNormCache(mode, x_hat, gamma, inv_std)": "BatchNormCache(mode, x_hat, gamma, np.sqrt(var + eps))"})),
    E("batchnorm_forward", "pair_only", ERROR, None, "triple", _bn_forward(
        **{", (running_mean, running_var)\n": "\n"})),
    # ------------------------------------------------------ batchnorm_backward
    E("batchnorm_backward", "compact", OK, None, "correct",
      BN_BACKWARD.replace("DX", "inv_std * (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0))")),
    E("batchnorm_backward", "staged_graph", OK, None, "correct", '''
def batchnorm_backward(dout, cache):
    mode, x_hat, gamma, inv_std = cache
    N = dout.shape[0]
    dgamma = (dout * x_hat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dxhat = dout * gamma
    if mode == "eval":
        return dxhat * inv_std, dgamma, dbeta
    xmu = x_hat / inv_std
    dvar = np.sum(dxhat * xmu, axis=0) * -0.5 * inv_std ** 3
    dmu = -np.sum(dxhat * inv_std, axis=0) + dvar * np.mean(-2.0 * xmu, axis=0)
    dx = dxhat * inv_std + dvar * 2.0 * xmu / N + dmu / N
    return dx, dgamma, dbeta
'''),
    E("batchnorm_backward", "no_variance_path", FAILED, "batchnorm_no_variance_path", "variance depends on every x",
      BN_BACKWARD.replace("DX", "inv_std * (g - g.mean(axis=0))")),
    E("batchnorm_backward", "constants_in_training", FAILED, None, "functions of x", BN_BACKWARD.replace("DX", "g * inv_std")),
    E("batchnorm_backward", "training_formula_at_eval", FAILED, None, "In evaluation mode", '''
def batchnorm_backward(dout, cache):
    mode, x_hat, gamma, inv_std = cache
    g = dout * gamma
    dx = inv_std * (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0))
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
'''),
    E("batchnorm_backward", "no_gamma", FAILED, None, "missing gamma", BN_BACKWARD.replace(
        "g = dout * gamma", "g = dout").replace("DX", "inv_std * (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0))")),
    E("batchnorm_backward", "dbeta_mean", FAILED, None, "sums dz over the batch", BN_BACKWARD.replace(
        "dbeta = dout.sum(axis=0)", "dbeta = dout.mean(axis=0)").replace(
        "DX", "inv_std * (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0))")),
    E("batchnorm_backward", "scales_dout_in_place", FAILED, None, "changed its inputs", '''
def batchnorm_backward(dout, cache):
    mode, x_hat, gamma, inv_std = cache
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = dout.sum(axis=0)
    dout *= gamma
    if mode == "eval":
        return dout * inv_std, dgamma, dbeta
    return inv_std * (dout - dout.mean(axis=0) - x_hat * np.mean(dout * x_hat, axis=0)), dgamma, dbeta
'''),
    # ------------------------------------------------------ dropout_forward
    E("dropout_forward", "below_keep", OK, None, "correct", _drop("(np.random.default_rng(rng).random(x.shape) < keep) / keep")),
    E("dropout_forward", "above_p", OK, None, "correct",
      _drop("np.where(np.random.default_rng(rng).random(x.shape) >= drop_prob, 1.0 / keep, 0.0)")),
    E("dropout_forward", "binomial", OK, None, "correct",
      _drop("np.random.default_rng(rng).binomial(1, keep, size=x.shape) / keep")),
    E("dropout_forward", "not_rescaled", FAILED, "dropout_not_rescaled", "Divide the kept entries",
      _drop("(np.random.default_rng(rng).random(x.shape) < keep).astype(float)")),
    E("dropout_forward", "keeps_with_p", FAILED, None, "drop_prob's share",
      _drop("(np.random.default_rng(rng).random(x.shape) < drop_prob) / keep")),
    E("dropout_forward", "global_random", FAILED, None, "same rng", _drop("(np.random.rand(*x.shape) < keep) / keep")),
    E("dropout_forward", "own_seed", FAILED, None, "gave the same mask",
      _drop("(np.random.default_rng(0).random(x.shape) < keep) / keep")),
    E("dropout_forward", "scaled_cache_unscaled_out", FAILED, None, "not the one out was made with", '''
def dropout_forward(x, drop_prob, mode, rng):
    if mode == "eval":
        return x, DropoutCache(None, drop_prob)
    kept = np.random.default_rng(rng).random(x.shape) < 1 - drop_prob
    return np.where(kept, x, 0.0), DropoutCache(kept / (1 - drop_prob), drop_prob)
'''),
    E("dropout_forward", "in_place", FAILED, None, "never x *= mask", '''
def dropout_forward(x, drop_prob, mode, rng):
    if mode == "eval":
        return x, DropoutCache(None, drop_prob)
    mask = (np.random.default_rng(rng).random(x.shape) < 1 - drop_prob) / (1 - drop_prob)
    x *= mask
    return x, DropoutCache(mask, drop_prob)
'''),
    E("dropout_forward", "scales_at_eval", FAILED, None, "the identity", '''
def dropout_forward(x, drop_prob, mode, rng):
    if mode == "eval":
        return x * (1 - drop_prob), DropoutCache(None, drop_prob)
    mask = (np.random.default_rng(rng).random(x.shape) < 1 - drop_prob) / (1 - drop_prob)
    return x * mask, DropoutCache(mask, drop_prob)
'''),
    E("dropout_forward", "out_only", ERROR, None, "pair", '''
def dropout_forward(x, drop_prob, mode, rng):
    if mode == "eval":
        return x
    return x * (np.random.default_rng(rng).random(x.shape) < 1 - drop_prob) / (1 - drop_prob)
'''),
    # ------------------------------------------------------ dropout_backward
    E("dropout_backward", "gates", OK, None, "correct",
      "def dropout_backward(dout, cache):\n    mask, _ = cache\n    return dout if mask is None else dout * mask\n"),
    E("dropout_backward", "multiply_or_copy", OK, None, "correct", '''
def dropout_backward(dout, cache):
    if cache[0] is None:
        return dout.copy()
    return np.multiply(dout, cache[0])
'''),
    E("dropout_backward", "redrawn", FAILED, "dropout_mask_redrawn", "never a new one", '''
def dropout_backward(dout, cache):
    mask, p = cache
    if mask is None:
        return dout
    return dout * (np.random.rand(*dout.shape) < 1 - p) / (1 - p)
'''),
    E("dropout_backward", "redrawn_fixed_seed", FAILED, "dropout_mask_redrawn", "mask in the cache", '''
def dropout_backward(dout, cache):
    mask, p = cache
    if mask is None:
        return dout
    return dout * (np.random.default_rng(0).random(dout.shape) < 1 - p) / (1 - p)
'''),
    E("dropout_backward", "scaled_twice", FAILED, None, "already scaled", '''
def dropout_backward(dout, cache):
    mask, p = cache
    return dout if mask is None else dout * mask / (1 - p)
'''),
    E("dropout_backward", "zero_one_gate", FAILED, None, "0/1 mask", '''
def dropout_backward(dout, cache):
    mask, p = cache
    return dout if mask is None else dout * (mask > 0)
'''),
    E("dropout_backward", "forgets_eval", ERROR, None, "mask is None",
      "def dropout_backward(dout, cache):\n    mask, _ = cache\n    return dout * mask\n"),
    E("dropout_backward", "in_place", FAILED, None, "changed its inputs", '''
def dropout_backward(dout, cache):
    mask, _ = cache
    if mask is not None:
        dout *= mask
    return dout
'''),
]
