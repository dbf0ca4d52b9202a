"""Answers to notebook 06 (the whole system): the overfit run, predict, and training on the digits."""
from checks_harness import E, ERROR, FAILED, OK

UNSTABLE = "unstable_softmax"
# Training the digits network costs ~0.2 s a run: two hidden seeds (a small one and a 32-bit one).
TRAIN_SEEDS = (0, 2**31 + 12345)

LOOP = '''
def overfit_tiny_batch(params, X, Y, lr=0.5, steps=200):
    losses = []
    for _ in range(steps):
'''
TRAIN = '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    params = mlp.init_params(X_train.shape[1], {d1}, 10, seed=seed)
    history = train.train(params, X_train, one_hot(y_train, 10), lr={lr}, steps={steps}, batch_size=64, seed=seed)
    return params, history
'''


def _train(d1=64, lr=0.5, steps=1500) -> str:
    return TRAIN.format(d1=d1, lr=lr, steps=steps)


def _predict(body: str) -> str:
    return "def predict(params, X):\n    Z1 = X @ params['W1'] + params['b1']\n    A1 = np.maximum(Z1, 0)\n" \
           "    Z2 = A1 @ params['W2'] + params['b2']\n" + body


ENTRIES = [
    # ------------------------------------------------------- overfit_tiny_batch
    E("overfit_tiny_batch", "functional_update", FAILED, None, "never changed", '''
def overfit_tiny_batch(params, X, Y, lr=0.5, steps=200):
    losses = []
    for _ in range(steps):
        Yhat, cache = mlp.forward(params, X)
        losses.append(cross_entropy(Yhat, Y))
        grads = mlp.backward(params, cache, Y)
        params = {k: params[k] - lr * grads[k] for k in params}
    return losses
'''),
    E("overfit_tiny_batch", "trains_a_copy", FAILED, None, "never changed", '''
def overfit_tiny_batch(params, X, Y, lr=0.5, steps=200):
    params = copy.deepcopy(params)
    losses = []
    for _ in range(steps):
        Yhat, cache = mlp.forward(params, X)
        losses.append(cross_entropy(Yhat, Y))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
    return losses
'''),
    E("overfit_tiny_batch", "loss_after_update", FAILED, None, "one step to the left", LOOP + '''
        Yhat, cache = mlp.forward(params, X)
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
        losses.append(mlp.loss(params, X, Y))
    return losses
'''),
    E("overfit_tiny_batch", "one_more_loss", FAILED, None, "before each update only", LOOP + '''
        Yhat, cache = mlp.forward(params, X)
        losses.append(cross_entropy(Yhat, Y))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
    losses.append(mlp.loss(params, X, Y))
    return losses
'''),
    E("overfit_tiny_batch", "fixed_lr", FAILED, None, "use the `lr` argument", '''
def overfit_tiny_batch(params, X, Y, lr=0.5, steps=200):
    losses = []
    for _ in range(steps):
        Yhat, cache = mlp.forward(params, X)
        losses.append(cross_entropy(Yhat, Y))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), 0.5)
    return losses
'''),
    E("overfit_tiny_batch", "fixed_steps", FAILED, None, "instead of a fixed 200", '''
def overfit_tiny_batch(params, X, Y, lr=0.5, steps=200):
    losses = []
    for _ in range(200):
        Yhat, cache = mlp.forward(params, X)
        losses.append(cross_entropy(Yhat, Y))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
    return losses
'''),
    E("overfit_tiny_batch", "own_backward_no_average", FAILED, "missing_batch_average", "1/n", LOOP + '''
        Yhat, cache = mlp.forward(params, X)
        losses.append(cross_entropy(Yhat, Y))
        dZ2 = Yhat - Y
        dZ1 = (dZ2 @ params["W2"].T) * (cache["Z1"] > 0)
        grads = {"W1": X.T @ dZ1, "b1": dZ1.sum(0), "W2": cache["A1"].T @ dZ2, "b2": dZ2.sum(0)}
        mlp.sgd_step(params, grads, lr)
    return losses
'''),
    E("overfit_tiny_batch", "summed_loss", FAILED, None, "very first loss", LOOP + '''
        Yhat, cache = mlp.forward(params, X)
        losses.append(float(-np.sum(Y * np.log(Yhat + 1e-12))))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
    return losses
'''),
    E("overfit_tiny_batch", "stale_forward_outside_loop", FAILED, None, "loss never changes", '''
def overfit_tiny_batch(params, X, Y, lr=0.5, steps=200):
    Yhat, cache = mlp.forward(params, X)
    losses = []
    for _ in range(steps):
        losses.append(cross_entropy(Yhat, Y))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
    return losses
'''),
    E("overfit_tiny_batch", "returns_history", ERROR, None, "list of floats", '''
def overfit_tiny_batch(params, X, Y, lr=0.5, steps=200):
    from course_lib.train import History
    history = History()
    for _ in range(steps):
        Yhat, cache = mlp.forward(params, X)
        history.loss.append(cross_entropy(Yhat, Y))
        mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)
    return history
'''),
    E("overfit_tiny_batch", "ok_while_loop_numpy_array", OK, None, "", '''
def overfit_tiny_batch(params, X, Y, lr=0.5, steps=200):
    losses = np.empty(steps)
    step = 0
    while step < steps:
        Yhat, cache = mlp.forward(params, X)
        losses[step] = cross_entropy(Yhat, Y)
        for k, g in mlp.backward(params, cache, Y).items():
            params[k][...] -= lr * g
        step += 1
    return losses
'''),
    E("overfit_tiny_batch", "ok_inline_backward", OK, None, "", LOOP + '''
        Z1 = X @ params["W1"] + params["b1"]
        A1 = np.maximum(Z1, 0)
        Z2 = A1 @ params["W2"] + params["b2"]
        E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
        P = E / E.sum(axis=1, keepdims=True)
        losses.append(float(-np.sum(Y * np.log(P + 1e-12)) / len(X)))
        d2 = (P - Y) / len(X)
        d1 = (d2 @ params["W2"].T) * (Z1 > 0)
        params["W2"] -= lr * A1.T @ d2
        params["b2"] -= lr * d2.sum(0)
        params["W1"] -= lr * X.T @ d1
        params["b1"] -= lr * d1.sum(0)
    return losses
'''),

    # ------------------------------------------------------------------ predict
    E("predict", "unshifted_softmax", FAILED, UNSTABLE, "first nan", _predict('''
    E = np.exp(Z2)
    return np.argmax(E / E.sum(axis=1, keepdims=True), axis=1)
''')),
    E("predict", "global_shift", FAILED, UNSTABLE, "whole matrix", _predict('''
    E = np.exp(Z2 - Z2.max())
    return (E / E.sum(axis=1, keepdims=True)).argmax(axis=1)
''')),
    E("predict", "axis_0", FAILED, None, "down the columns",
      "def predict(params, X):\n    Yhat, _ = mlp.forward(params, X)\n    return Yhat.argmax(axis=0)\n"),
    E("predict", "probabilities", FAILED, None, "arg-max of each row",
      "def predict(params, X):\n    return mlp.forward(params, X)[0]\n"),
    E("predict", "float_labels", FAILED, None, "integers",
      "def predict(params, X):\n    return mlp.forward(params, X)[0].argmax(axis=1).astype(float)\n"),
    E("predict", "argmin", FAILED, None, "least probable",
      "def predict(params, X):\n    return np.argmin(mlp.forward(params, X)[0], axis=1)\n"),
    E("predict", "no_axis", FAILED, None, "single number",
      "def predict(params, X):\n    return np.argmax(mlp.forward(params, X)[0])\n"),
    E("predict", "nan_to_num_minus_one", FAILED, UNSTABLE, "overflows", _predict('''
    E = np.exp(Z2)
    return np.nan_to_num(E / E.sum(axis=1, keepdims=True), nan=-1.0).argmax(axis=1)
''')),
    E("predict", "one_hot_output", FAILED, None, "arg-max of each row", '''
def predict(params, X):
    Yhat, _ = mlp.forward(params, X)
    return (Yhat == Yhat.max(axis=1, keepdims=True)).astype(int)
'''),
    E("predict", "ok_logits_argmax", OK, None, "", _predict("    return Z2.argmax(axis=1)\n")),
    E("predict", "ok_list_comprehension", OK, None, "", '''
def predict(params, X):
    Yhat, _ = mlp.forward(params, X)
    return [int(np.argmax(row)) for row in Yhat]
'''),
    E("predict", "ok_stable_then_nan_to_num", OK, None, "",
      "def predict(params, X):\n    return np.nan_to_num(mlp.forward(params, X)[0]).argmax(1)\n"),

    # ------------------------------------------------------------- train_digits
    E("train_digits", "lr_2_diverges", FAILED, None, "lower the learning rate", _train(lr=2.0), seeds=TRAIN_SEEDS),
    E("train_digits", "lr_5_diverges", FAILED, None, "lower the learning rate", _train(lr=5.0), seeds=TRAIN_SEEDS),
    E("train_digits", "too_few_steps", FAILED, None, "underfits", _train(steps=20), seeds=TRAIN_SEEDS),
    E("train_digits", "tiny_lr", FAILED, None, "underfits", _train(lr=0.001), seeds=TRAIN_SEEDS),
    E("train_digits", "two_hidden_units", FAILED, None, "more hidden units", _train(d1=2), seeds=TRAIN_SEEDS),
    E("train_digits", "standardises_X_in_place", FAILED, None, "changed its inputs", '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    X_train -= X_train.mean(axis=0)
    params = mlp.init_params(64, 64, 10, seed=seed)
    history = train.train(params, X_train, one_hot(y_train, 10), lr=0.5, steps=1500, batch_size=64, seed=seed)
    return params, history
''', seeds=TRAIN_SEEDS),
    E("train_digits", "returns_params_only", ERROR, None, "pair", '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    params = mlp.init_params(64, 64, 10, seed=seed)
    train.train(params, X_train, one_hot(y_train, 10), lr=0.5, steps=10, batch_size=64, seed=seed)
    return params
''', seeds=TRAIN_SEEDS),
    E("train_digits", "swapped_pair", ERROR, None, "params dict", '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    params = mlp.init_params(64, 64, 10, seed=seed)
    history = train.train(params, X_train, one_hot(y_train, 10), lr=0.5, steps=10, batch_size=64, seed=seed)
    return history, params
''', seeds=TRAIN_SEEDS),
    E("train_digits", "memorises_the_public_split", FAILED, None, "was not trained on them", '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    public = data.digits(seed=0)
    X_all = np.vstack([public.X_train, public.X_test])
    y_all = np.concatenate([public.y_train, public.y_test])
    params = mlp.init_params(64, 64, 10, seed=0)
    history = train.train(params, X_all, one_hot(y_all, 10), lr=0.5, steps=3000, batch_size=64, seed=0)
    return params, history
''', visible=OK, seeds=TRAIN_SEEDS),
    E("train_digits", "lr_50_overflows", FAILED, None, "lower the learning rate", _train(lr=50.0), seeds=TRAIN_SEEDS),
    E("train_digits", "W2_transposed", FAILED, None, "needs W2: (32, 10)", '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    params = mlp.init_params(64, 32, 10, seed=seed)
    history = train.train(params, X_train, one_hot(y_train, 10), lr=0.5, steps=10, batch_size=64, seed=seed)
    params["W2"] = params["W2"].T
    return params, history
''', seeds=TRAIN_SEEDS),
    E("train_digits", "params_as_list", ERROR, None, "params dict", '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    params = mlp.init_params(64, 32, 10, seed=seed)
    history = train.train(params, X_train, one_hot(y_train, 10), lr=0.5, steps=10, batch_size=64, seed=seed)
    return [params[k] for k in ("W1", "b1", "W2", "b2")], history
''', seeds=TRAIN_SEEDS),
    E("train_digits", "ok_returns_loss_list", OK, None, "", '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    params = mlp.init_params(64, 64, 10, seed=seed)
    history = train.train(params, X_train, one_hot(y_train, 10), lr=0.5, steps=1500, batch_size=64, seed=seed)
    return params, list(history.loss)
''', seeds=TRAIN_SEEDS),
    E("train_digits", "ok_solution_style", OK, None, "", _train(), seeds=TRAIN_SEEDS),
    E("train_digits", "ok_ignores_seed_wider", OK, None, "", '''
def train_digits(X_train, y_train, seed=0, X_monitor=None, y_monitor=None):
    params = mlp.init_params(X_train.shape[1], 128, 10, seed=1)
    history = train.train(params, X_train, one_hot(y_train, 10), lr=0.3, steps=2500, batch_size=32, seed=1)
    return params, history
''', seeds=TRAIN_SEEDS),
]
