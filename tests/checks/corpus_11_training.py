"""Answers to notebook 11 (the sampler, weight decay, Momentum and Adam, the schedule, the update ratio,
early stopping and the training loop), as students write them. The notebook's Optimizer base class is
in the namespace, as it is in the notebook."""
from checks_harness import E, ERROR, FAILED, OK

BIASES, DOUBLED = "weight_decay_on_biases", "l2_gradient_doubled"


def _momentum(update: str, init: str = "        super().__init__(lr)\n        self.mu = mu\n", head: str = "") -> str:
    return (f"class Momentum(Optimizer):\n{head}    def __init__(self, lr, mu=0.9):\n{init}\n"
            f"    def update(self, name, param, grad, lr):\n{update}")


def _adam(update: str) -> str:
    return ("class Adam(Optimizer):\n    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "        super().__init__(lr)\n        self.beta1, self.beta2, self.eps = beta1, beta2, eps\n\n"
            f"    def update(self, name, param, grad, lr):\n{update}")


ADAM_MOMENTS = ('        m, v = self.state.get(name, (0.0, 0.0))\n'
                '        m = self.beta1 * m + (1 - self.beta1) * grad\n'
                '        v = self.beta2 * v + (1 - self.beta2) * grad * grad\n'
                '        self.state[name] = (m, v)\n')


def _stopper(update: str, init: str = "        self.bad = 0\n") -> str:
    return ("class EarlyStopping:\n    def __init__(self, patience=5, min_delta=0.0):\n"
            "        self.patience, self.min_delta = patience, min_delta\n"
            f"        self.best_loss, self.best_epoch, self.best_params = math.inf, -1, None\n{init}\n"
            f"    def update(self, val_loss, epoch, params):\n{update}")


STOP_OK_BODY = ('        if val_loss < self.best_loss - self.min_delta:\n'
                '            self.best_loss, self.best_epoch, self.bad = val_loss, epoch, 0\n'
                '            self.best_params = {n: p.copy() for n, p in params.items()}\n'
                '        else:\n            self.bad += 1\n        return self.bad >= self.patience\n')

FIT = '''
def fit(params, X, Y, X_val, Y_val, optimizer, epochs, batch_size, seed=0, weight_decay=0.0, early_stopping=None):
    rng = np.random.default_rng(seed)
    history = {"train_loss": [], "val_loss": [], "update_ratio": [], "best_epoch": None}
    for epoch in range(epochs):
        for rows in minibatches(len(X), batch_size, rng):
            _, cache = mlp.forward(params, X[rows])
            grads = mlp.backward(params, cache, Y[rows])
            for name, g in l2_penalty_gradient(params, weight_decay).items():
                grads[name] = grads[name] + g
            updates = optimizer.step(params, grads)
            history["update_ratio"].append(update_to_weight_ratio(updates, params))
        history["train_loss"].append(mlp.loss(params, X, Y))
        history["val_loss"].append(mlp.loss(params, X_val, Y_val))
        if early_stopping is not None and early_stopping.update(history["val_loss"][-1], epoch, params):
            break
    if early_stopping is not None:
        history["best_epoch"] = early_stopping.best_epoch
        for name, best in early_stopping.best_params.items():
            params[name][...] = best
    return history
'''

ENTRIES = [
    # ------------------------------------------------------------------ minibatches
    E("minibatches", "permutation_slices", OK, None, "correct", '''
def minibatches(N, batch_size, rng):
    order = rng.permutation(N)
    return [order[i:i + batch_size] for i in range(0, N, batch_size)]
'''),
    E("minibatches", "shuffle_in_place_while_loop", OK, None, "correct", '''
def minibatches(N, batch_size, rng):
    order = np.arange(N)
    rng.shuffle(order)
    batches, start = [], 0
    while start < N:
        batches.append(order[start:start + batch_size])
        start += batch_size
    return batches
'''),
    E("minibatches", "choice_and_lists", FAILED, None, "rng.permutation", '''
def minibatches(N, batch_size, rng):
    order = rng.choice(N, size=N, replace=False).tolist()
    return [order[i:i + batch_size] for i in range(0, N, batch_size)]
'''),
    E("minibatches", "drops_last", FAILED, None, "never used", '''
def minibatches(N, batch_size, rng):
    order = rng.permutation(N)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(N // batch_size)]
'''),
    E("minibatches", "array_split", FAILED, None, "array_split", '''
def minibatches(N, batch_size, rng):
    return np.array_split(rng.permutation(N), math.ceil(N / batch_size))
'''),
    E("minibatches", "global_shuffle", FAILED, None, "rng argument", '''
def minibatches(N, batch_size, rng):
    order = np.random.permutation(N)
    return [order[i:i + batch_size] for i in range(0, N, batch_size)]
'''),
    E("minibatches", "fixed_seed_inside", FAILED, None, "same order", '''
def minibatches(N, batch_size, rng):
    order = np.random.default_rng(0).permutation(N)
    return [order[i:i + batch_size] for i in range(0, N, batch_size)]
'''),
    E("minibatches", "list_of_lists", OK, None, "correct", '''
def minibatches(N, batch_size, rng):
    order = list(rng.permutation(N))
    batches = []
    while order:
        batches.append([int(i) for i in order[:batch_size]])
        order = order[batch_size:]
    return batches
'''),
    E("minibatches", "no_shuffle", FAILED, None, "original order", '''
def minibatches(N, batch_size, rng):
    order = np.arange(N)
    return [order[i:i + batch_size] for i in range(0, N, batch_size)]
'''),
    E("minibatches", "wraps_around", FAILED, None, "exactly once", '''
def minibatches(N, batch_size, rng):
    order = rng.permutation(N)
    n_batches = math.ceil(N / batch_size)
    return [np.take(order, range(i * batch_size, (i + 1) * batch_size), mode="wrap") for i in range(n_batches)]
'''),
    E("minibatches", "generator", ERROR, None, "list of index arrays", '''
def minibatches(N, batch_size, rng):
    order = rng.permutation(N)
    for i in range(0, N, batch_size):
        yield order[i:i + batch_size]
'''),
    E("minibatches", "boolean_masks", ERROR, None, "integers", '''
def minibatches(N, batch_size, rng):
    order = rng.permutation(N)
    return [np.isin(np.arange(N), order[i:i + batch_size]) for i in range(0, N, batch_size)]
'''),
    # ------------------------------------------------------------------ l2_penalty
    E("l2_penalty", "ndim_test", OK, None, "correct", '''
def l2_penalty(params, lam):
    return lam / 2 * sum(float(np.sum(p ** 2)) for p in params.values() if p.ndim >= 2)
'''),
    E("l2_penalty", "norms_squared_loop", OK, None, "correct", '''
def l2_penalty(params, lam):
    total = 0.0
    for name, p in params.items():
        if len(p.shape) > 1:
            total += np.linalg.norm(p) ** 2
    return 0.5 * lam * total
'''),
    E("l2_penalty", "includes_biases", FAILED, None, "includes the biases", '''
def l2_penalty(params, lam):
    return lam / 2 * sum(np.sum(p * p) for p in params.values())
'''),
    E("l2_penalty", "no_half", FAILED, None, "twice the penalty", '''
def l2_penalty(params, lam):
    return lam * sum(np.sum(p * p) for p in params.values() if p.ndim >= 2)
'''),
    E("l2_penalty", "norm_not_squared", FAILED, None, "not their squares", '''
def l2_penalty(params, lam):
    return lam / 2 * sum(np.linalg.norm(p) for p in params.values() if p.ndim >= 2)
'''),
    E("l2_penalty", "names_starting_with_W", FAILED, None, "expected", '''
def l2_penalty(params, lam):
    return lam / 2 * sum(np.sum(p * p) for n, p in params.items() if n.startswith("W"))
'''),
    # ------------------------------------------------------------ l2_penalty_gradient
    E("l2_penalty_gradient", "weights_only", OK, None, "correct", '''
def l2_penalty_gradient(params, lam):
    return {n: lam * p for n, p in params.items() if p.ndim >= 2}
'''),
    E("l2_penalty_gradient", "zeros_for_biases", OK, None, "correct", '''
def l2_penalty_gradient(params, lam):
    return {n: lam * p if p.ndim >= 2 else np.zeros_like(p) for n, p in params.items()}
'''),
    E("l2_penalty_gradient", "with_biases", FAILED, BIASES, "decay only the weights", '''
def l2_penalty_gradient(params, lam):
    return {n: lam * p for n, p in params.items()}
'''),
    E("l2_penalty_gradient", "doubled", FAILED, DOUBLED, "cancels the 2", '''
def l2_penalty_gradient(params, lam):
    return {n: 2 * lam * p for n, p in params.items() if p.ndim >= 2}
'''),
    E("l2_penalty_gradient", "halved", FAILED, None, "half the gradient", '''
def l2_penalty_gradient(params, lam):
    return {n: lam / 2 * p for n, p in params.items() if p.ndim >= 2}
'''),
    E("l2_penalty_gradient", "in_place", FAILED, None, "changed its inputs", '''
def l2_penalty_gradient(params, lam):
    out = {}
    for n, p in params.items():
        if p.ndim >= 2:
            p *= lam
            out[n] = p
    return out
'''),
    E("l2_penalty_gradient", "names_starting_with_W", FAILED, None, "no gradient", '''
def l2_penalty_gradient(params, lam):
    return {n: lam * p for n, p in params.items() if n.startswith("W")}
'''),
    # ------------------------------------------------------------------ Momentum
    E("Momentum", "classical", OK, None, "correct", _momentum(
        "        v = self.mu * self.state.get(name, 0.0) - lr * grad\n        self.state[name] = v\n        return v\n")),
    E("Momentum", "pytorch_form", OK, None, "correct", _momentum(
        "        buf = self.mu * self.state.get(name, np.zeros_like(param)) + grad\n"
        "        self.state[name] = buf\n        return -lr * buf\n")),
    E("Momentum", "velocity_dict_of_its_own", OK, None, "correct", _momentum(
        "        if name not in self.velocity:\n            self.velocity[name] = np.zeros_like(param)\n"
        "        self.velocity[name] = self.mu * self.velocity[name] - lr * grad\n"
        "        return self.velocity[name].copy()\n",
        init="        super().__init__(lr)\n        self.mu = mu\n        self.velocity = {}\n")),
    E("Momentum", "previous_gradient", FAILED, "momentum_previous_gradient", "lags one gradient", _momentum(
        "        v = self.mu * self.state.get(name, 0.0) - lr * self.last.get(name, 0.0)\n"
        "        self.state[name], self.last[name] = v, grad.copy()\n        return v\n",
        init="        super().__init__(lr)\n        self.mu = mu\n        self.last = {}\n")),
    E("Momentum", "no_memory", FAILED, None, "plain sgd", _momentum(
        "        v = -lr * grad\n        return self.mu * 0 + v\n")),
    E("Momentum", "nesterov", FAILED, None, "nesterov", _momentum(
        "        v = self.mu * self.state.get(name, 0.0) - lr * grad\n        self.state[name] = v\n"
        "        return self.mu * v - lr * grad\n")),
    E("Momentum", "class_level_state", FAILED, None, "start from scratch", _momentum(
        "        v = self.mu * Momentum.velocity.get(name, 0.0) - lr * grad\n        Momentum.velocity[name] = v\n"
        "        return v\n", head="    velocity = {}\n\n"), visible=OK),
    E("Momentum", "uses_self_lr", OK, None, "correct", _momentum(
        "        v = self.mu * self.state.get(name, 0.0) - self.lr * grad\n        self.state[name] = v\n"
        "        return v\n")),
    # --------------------------------------------------------------------- Adam
    E("Adam", "bias_corrected", OK, None, "correct", _adam(
        ADAM_MOMENTS + "        m_hat = m / (1 - self.beta1 ** self.t)\n        v_hat = v / (1 - self.beta2 ** self.t)\n"
        "        return -lr * m_hat / (np.sqrt(v_hat) + self.eps)\n")),
    E("Adam", "folded_step_size", OK, None, "correct", _adam(
        ADAM_MOMENTS + "        step = lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)\n"
        "        eps_hat = self.eps * math.sqrt(1 - self.beta2 ** self.t)\n"
        "        return -step * m / (np.sqrt(v) + eps_hat)\n")),
    E("Adam", "no_bias_correction", FAILED, "adam_no_bias_correction", "bias correction", _adam(
        ADAM_MOMENTS + "        return -lr * m / (np.sqrt(v) + self.eps)\n")),
    E("Adam", "eps_inside_sqrt", FAILED, None, "inside the square root", _adam(
        ADAM_MOMENTS + "        m_hat = m / (1 - self.beta1 ** self.t)\n        v_hat = v / (1 - self.beta2 ** self.t)\n"
        "        return -lr * m_hat / np.sqrt(v_hat + self.eps)\n"), visible=None),
    E("Adam", "t_plus_one", FAILED, None, "t + 1", _adam(
        ADAM_MOMENTS + "        t = self.t + 1\n        m_hat = m / (1 - self.beta1 ** t)\n"
        "        v_hat = v / (1 - self.beta2 ** t)\n        return -lr * m_hat / (np.sqrt(v_hat) + self.eps)\n")),
    E("Adam", "self_lr_with_schedule", ERROR, None, "use that argument", _adam(
        ADAM_MOMENTS + "        m_hat = m / (1 - self.beta1 ** self.t)\n        v_hat = v / (1 - self.beta2 ** self.t)\n"
        "        return -self.lr * m_hat / (np.sqrt(v_hat) + self.eps)\n"), visible=OK),
    E("Adam", "v_of_g_not_squared", FAILED, None, "expected", _adam(
        '        m, v = self.state.get(name, (0.0, 0.0))\n        m = self.beta1 * m + (1 - self.beta1) * grad\n'
        '        v = self.beta2 * v + (1 - self.beta2) * np.abs(grad)\n        self.state[name] = (m, v)\n'
        "        m_hat = m / (1 - self.beta1 ** self.t)\n        v_hat = v / (1 - self.beta2 ** self.t)\n"
        "        return -lr * m_hat / (np.sqrt(v_hat) + self.eps)\n")),
    # -------------------------------------------------------------- cosine_decay
    E("cosine_decay", "min_of_t", OK, None, "correct", '''
def cosine_decay(t, lr, total_steps, lr_min=0.0):
    progress = min(t, total_steps) / total_steps
    return lr_min + (lr - lr_min) * (1 + math.cos(math.pi * progress)) / 2
'''),
    E("cosine_decay", "early_return_numpy", OK, None, "correct", '''
def cosine_decay(t, lr, total_steps, lr_min=0.0):
    if t >= total_steps:
        return lr_min
    return lr_min + 0.5 * (lr - lr_min) * (1.0 + np.cos(np.pi * t / total_steps))
'''),
    E("cosine_decay", "no_clamp", FAILED, None, "climbs back up", '''
def cosine_decay(t, lr, total_steps, lr_min=0.0):
    return lr_min + (lr - lr_min) * (1 + math.cos(math.pi * t / total_steps)) / 2
'''),
    E("cosine_decay", "ignores_lr_min", FAILED, None, "ignores lr_min", '''
def cosine_decay(t, lr, total_steps, lr_min=0.0):
    return lr * (1 + math.cos(math.pi * min(t, total_steps) / total_steps)) / 2
'''),
    E("cosine_decay", "full_cosine", FAILED, None, "goes negative", '''
def cosine_decay(t, lr, total_steps, lr_min=0.0):
    return lr * math.cos(math.pi * min(t, total_steps) / total_steps)
'''),
    E("cosine_decay", "linear", FAILED, None, "straight line", '''
def cosine_decay(t, lr, total_steps, lr_min=0.0):
    return lr - (lr - lr_min) * min(t, total_steps) / total_steps
'''),
    # ------------------------------------------------------- update_to_weight_ratio
    E("update_to_weight_ratio", "guards_zero", OK, None, "correct", '''
def update_to_weight_ratio(updates, params):
    out = {}
    for name, u in updates.items():
        w, s = np.linalg.norm(params[name]), np.linalg.norm(u)
        out[name] = s / w if w > 0 else (math.inf if s > 0 else 0.0)
    return out
'''),
    E("update_to_weight_ratio", "sqrt_of_sums", OK, None, "correct", '''
def update_to_weight_ratio(updates, params):
    def ratio(u, p):
        num, den = np.sqrt(np.sum(u * u)), np.sqrt(np.sum(p * p))
        if den == 0:
            return float("inf") if num else 0.0
        return float(num / den)
    return {k: ratio(u, params[k]) for k, u in updates.items()}
'''),
    E("update_to_weight_ratio", "divides_by_zero", FAILED, None, "division by zero", '''
def update_to_weight_ratio(updates, params):
    with np.errstate(all="ignore"):
        return {n: np.linalg.norm(u) / np.linalg.norm(params[n]) for n, u in updates.items()}
''', visible=OK),
    E("update_to_weight_ratio", "upside_down", FAILED, None, "upside down", '''
def update_to_weight_ratio(updates, params):
    return {n: np.linalg.norm(params[n]) / np.linalg.norm(u) for n, u in updates.items()}
'''),
    E("update_to_weight_ratio", "every_param", ERROR, None, "one ratio per name of updates", '''
def update_to_weight_ratio(updates, params):
    out = {}
    for n, p in params.items():
        u = updates.get(n, np.zeros_like(p))
        w = np.linalg.norm(p)
        out[n] = np.linalg.norm(u) / w if w else (math.inf if np.any(u) else 0.0)
    return out
''', visible=OK),
    # ------------------------------------------------------------------ EarlyStopping
    E("EarlyStopping", "counter", OK, None, "correct", _stopper(STOP_OK_BODY)),
    E("EarlyStopping", "deepcopy_and_epochs_since", OK, None, "correct", _stopper(
        '        if val_loss < self.best_loss - self.min_delta:\n'
        '            self.best_loss, self.best_epoch = val_loss, epoch\n'
        '            self.best_params = copy.deepcopy(params)\n'
        '        return epoch - self.best_epoch >= self.patience\n', init="")),
    E("EarlyStopping", "stores_reference", FAILED, None, "keep copies", _stopper(
        STOP_OK_BODY.replace("{n: p.copy() for n, p in params.items()}", "params"))),
    E("EarlyStopping", "shallow_dict_copy", FAILED, None, "not the dict or its arrays", _stopper(
        STOP_OK_BODY.replace("{n: p.copy() for n, p in params.items()}", "dict(params)"))),
    E("EarlyStopping", "tie_improves", FAILED, None, "equal to the best", _stopper(
        STOP_OK_BODY.replace("val_loss < self.best_loss", "val_loss <= self.best_loss"))),
    E("EarlyStopping", "nan_improves", FAILED, None, "nan loss is not an improvement", _stopper(
        '        if val_loss >= self.best_loss - self.min_delta:\n            self.bad += 1\n'
        '        else:\n            self.best_loss, self.best_epoch, self.bad = val_loss, epoch, 0\n'
        '            self.best_params = {n: p.copy() for n, p in params.items()}\n'
        '        return self.bad >= self.patience\n'), visible=OK),
    E("EarlyStopping", "never_resets", FAILED, None, "patience", _stopper(
        STOP_OK_BODY.replace("self.best_loss, self.best_epoch, self.bad = val_loss, epoch, 0",
                             "self.best_loss, self.best_epoch = val_loss, epoch"))),
    E("EarlyStopping", "ignores_min_delta", FAILED, None, "min_delta", _stopper(
        STOP_OK_BODY.replace("val_loss < self.best_loss - self.min_delta", "val_loss < self.best_loss")),
      visible=OK),
    E("EarlyStopping", "off_by_one", FAILED, None, "should return", _stopper(
        STOP_OK_BODY.replace("self.bad >= self.patience", "self.bad > self.patience"))),
    # ------------------------------------------------------------------------- fit
    E("fit", "as_specified", OK, None, "correct", FIT),
    E("fit", "rng_every_epoch", FAILED, None, "replay the run exactly", FIT.replace(
        "    for epoch in range(epochs):\n", "    for epoch in range(epochs):\n        rng = np.random.default_rng(seed)\n")),
    E("fit", "no_weight_decay", FAILED, None, "history['train_loss']", FIT.replace(
        "            for name, g in l2_penalty_gradient(params, weight_decay).items():\n"
        "                grads[name] = grads[name] + g\n", "")),
    E("fit", "ratio_once_per_epoch", FAILED, None, "one entry per step", FIT.replace(
        '            history["update_ratio"].append(update_to_weight_ratio(updates, params))\n', "").replace(
        '        history["train_loss"].append', '        history["update_ratio"].append(update_to_weight_ratio(updates, '
        'params))\n        history["train_loss"].append')),
    E("fit", "no_restore", FAILED, None, "params['w1'] after training", FIT.replace(
        "        for name, best in early_stopping.best_params.items():\n            params[name][...] = best\n", "")),
    E("fit", "rebinds_best", FAILED, None, "as new arrays", FIT.replace(
        "params[name][...] = best", "params[name] = best.copy()")),
    E("fit", "doubled_decay", FAILED, DOUBLED, "twice too strong", FIT.replace(
        "grads[name] = grads[name] + g", "grads[name] = grads[name] + 2 * g")),
    E("fit", "no_best_epoch", FAILED, None, "best_epoch", FIT.replace(
        '        history["best_epoch"] = early_stopping.best_epoch\n', "")),
    E("fit", "returns_none", ERROR, None, "should return the history", FIT.replace(
        "    return history\n", "    return None\n")),
]
