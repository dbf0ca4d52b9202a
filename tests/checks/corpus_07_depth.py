"""Answers to notebook 07 (layers, Sequential, the glue, training, the spirals), as students write them."""
from checks_harness import E, ERROR, FAILED, OK

STALE = "stale_cache"
IN_PLACE = "in_place_cache_mutation"
SPIRAL_SEEDS = (0, 2**31 + 12345)


def _linear(forward: str, backward: str, init: str = '        self.params = {"W": W, "b": b}\n', head: str = "") -> str:
    return (f"class Linear:\n{head}    def __init__(self, W, b):\n{init}\n    def forward(self, x):\n{forward}\n"
            f"    def backward(self, dout, cache):\n{backward}\n")


FWD = '        W, b = self.params["W"], self.params["b"]\n        return x @ W + b, (x, W)\n'
BWD = '        x, W = cache\n        return dout @ W.T, {"W": x.T @ dout, "b": dout.sum(axis=0)}\n'


def _relu(forward: str, backward: str) -> str:
    return (f"class ReLU:\n    def __init__(self):\n        self.params = {{}}\n\n    def forward(self, x):\n{forward}\n"
            f"    def backward(self, dout, cache):\n{backward}\n")


def _tanh(forward: str, backward: str) -> str:
    return (f"class Tanh:\n    def __init__(self):\n        self.params = {{}}\n\n    def forward(self, x):\n{forward}\n"
            f"    def backward(self, dout, cache):\n{backward}\n")


def _sequential(forward: str, backward: str) -> str:
    return ("class Sequential:\n    def __init__(self, layers):\n        self.layers = list(layers)\n\n"
            f"    def forward(self, X):\n{forward}\n    def backward(self, dout, caches):\n{backward}\n"
            "    def named_params(self):\n"
            '        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}\n\n'
            "    @staticmethod\n    def named_grads(grads):\n"
            '        return {f"{i}.{k}": v for i, g in enumerate(grads) for k, v in g.items()}\n')


SEQ_FWD = ("        caches = []\n        out = X\n        for layer in self.layers:\n"
           "            out, cache = layer.forward(out)\n            caches.append(cache)\n        return out, caches\n")
SEQ_BWD = ("        grads = [None] * len(self.layers)\n        for i in reversed(range(len(self.layers))):\n"
           "            dout, grads[i] = self.layers[i].backward(dout, caches[i])\n        return dout, grads\n")
GLUE = '''
def sequential_loss_and_grads(model, X, labels):
    logits, caches = model.forward(X)
    Yhat = softmax(logits)
'''
TRAIN = '''
def train_sequential(model, X, labels, lr, steps):
    losses = []
    for _ in range(steps):
'''
SPIRALS = '''
def fit_spirals(X, labels):
    stack = []
    for W, b in depth.initial_weights({sizes}, seed=0):
        stack += [Linear(W, b), {act}]
    model = Sequential(stack[:-1])
    losses = train_sequential(model, X, labels, lr={lr}, steps={steps})
    return model, losses
'''

ENTRIES = [
    # ------------------------------------------------------------------- Linear
    E("Linear", "bias_keepdims", FAILED, None, "keepdims=true kept the summed axis",
      _linear(FWD, '        x, W = cache\n        return dout @ W.T, {"W": x.T @ dout, "b": dout.sum(axis=0, keepdims=True)}\n')),
    E("Linear", "stores_input_on_self", FAILED, STALE, "keep nothing on self", _linear(
        '        self.x = x\n        return x @ self.params["W"] + self.params["b"], None\n',
        '        return dout @ self.params["W"].T, {"W": self.x.T @ dout, "b": dout.sum(axis=0)}\n')),
    E("Linear", "reshapes_b_in_forward", FAILED, None, "changed its parameters", _linear(
        '        self.params["b"] = self.params["b"].reshape(1, -1)\n'
        '        return x @ self.params["W"] + self.params["b"], (x, self.params["W"])\n', BWD)),
    E("Linear", "dW_transposed", FAILED, None, "transpose",
      _linear(FWD, '        x, W = cache\n        return dout @ W.T, {"W": dout.T @ x, "b": dout.sum(axis=0)}\n')),
    E("Linear", "dW_transposed_reshaped", FAILED, "wrong_transpose", "scrambles", _linear(
        FWD, '        x, W = cache\n        return dout @ W.T, {"W": (dout.T @ x).reshape(W.shape), "b": dout.sum(0)}\n')),
    E("Linear", "bias_mean", FAILED, "bias_gradient_averaged", "sums dz over the batch",
      _linear(FWD, '        x, W = cache\n        return dout @ W.T, {"W": x.T @ dout, "b": dout.mean(axis=0)}\n')),
    E("Linear", "dx_without_transpose", ERROR, None, "raised ValueError",
      _linear(FWD, '        x, W = cache\n        return dout @ W, {"W": x.T @ dout, "b": dout.sum(axis=0)}\n')),
    E("Linear", "cs231n_grad_keys", ERROR, None, "param_grads should be", _linear(
        FWD, '        x, W = cache\n        return dout @ W.T, {"dW": x.T @ dout, "db": dout.sum(axis=0)}\n')),
    E("Linear", "forward_returns_out_only", ERROR, None, "pair (out, cache)",
      _linear('        return x @ self.params["W"] + self.params["b"]\n', BWD)),
    E("Linear", "divides_by_batch", FAILED, None, "divides by n twice", _linear(FWD, '''        x, W = cache
        N = x.shape[0]
        return dout @ W.T, {"W": x.T @ dout / N, "b": dout.sum(axis=0) / N}
''')),
    E("Linear", "slots_stores_x", FAILED, STALE, "self.x", _linear(
        '        self.x = x\n        return x @ self.params["W"] + self.params["b"], x\n',
        '        return dout @ self.params["W"].T, {"W": self.x.T @ dout, "b": dout.sum(axis=0)}\n',
        init='        self.params = {"W": W, "b": b}\n        self.x = None\n', head='    __slots__ = ("params", "x")\n\n')),
    E("Linear", "scales_cached_input", FAILED, IN_PLACE, "read-only", _linear(FWD, '''        x, W = cache
        x *= 1.0 + 1e-3
        return dout @ W.T, {"W": x.T @ dout / (1.0 + 1e-3), "b": dout.sum(axis=0)}
''')),
    E("Linear", "sign_error_forward", FAILED, None, "forward's out",
      _linear('        return x @ self.params["W"] - self.params["b"], (x, self.params["W"])\n', BWD)),
    E("Linear", "params_as_attributes", ERROR, None, "self.params, a dict", _linear(
        '        return x @ self.W + self.b, (x, self.W)\n', BWD, init='        self.W, self.b = W, b\n')),
    E("Linear", "torch_style_keys", ERROR, None, "self.params should have the keys", _linear(
        '        return x @ self.params["weight"] + self.params["bias"], (x, self.params["weight"])\n', BWD,
        init='        self.params = {"weight": W, "bias": b}\n')),
    E("Linear", "transposes_W_at_init", FAILED, None, "self.params['w']", _linear(
        '        return x @ self.params["W"].T + self.params["b"], (x, self.params["W"].T)\n', BWD,
        init='        self.params = {"W": W.T.copy(), "b": b}\n')),
    E("Linear", "ok_slots", OK, None, "", _linear(FWD, BWD, head='    __slots__ = ("params",)\n\n')),
    E("Linear", "ok_reads_W_from_params", OK, None, "", _linear(
        '        return x @ self.params["W"] + self.params["b"], x\n',
        '        return dout @ self.params["W"].T, {"W": cache.T @ dout, "b": dout.sum(axis=0)}\n')),
    E("Linear", "ok_params_property_namedtuple_cache", OK, None, "", '''
from collections import namedtuple
LinearCache = namedtuple("LinearCache", "x W")
class Linear:
    def __init__(self, W, b):
        self.W, self.b = W, b

    @property
    def params(self):
        return {"W": self.W, "b": self.b}

    def forward(self, x):
        return np.einsum("ni,io->no", x, self.W) + self.b, LinearCache(x, self.W)

    def backward(self, dout, cache):
        return np.einsum("no,io->ni", dout, cache.W), {"W": np.einsum("ni,no->io", cache.x, dout),
                                                       "b": np.einsum("no->o", dout)}
'''),

    # --------------------------------------------------------------------- ReLU
    E("ReLU", "mask_from_dout", FAILED, "relu_mask_from_gradient", "pre-activation",
      _relu("        return np.maximum(x, 0), x\n", "        return dout * (dout > 0), {}\n")),
    E("ReLU", "gate_open_at_zero", FAILED, None, "exactly 0",
      _relu("        return np.maximum(x, 0), x\n", "        return dout * (cache >= 0), {}\n"), visible=OK),
    E("ReLU", "mask_on_self", FAILED, STALE, "self.mask",
      _relu("        self.mask = x > 0\n        return x * self.mask, None\n", "        return dout * self.mask, {}\n")),
    E("ReLU", "nnfs_in_place_dout", FAILED, None, "changed its inputs",
      _relu("        return np.maximum(x, 0), x\n", "        dout[cache <= 0] = 0\n        return dout, {}\n")),
    E("ReLU", "forward_in_place", FAILED, None, "changed its inputs",
      _relu("        x[x < 0] = 0\n        return x, x\n", "        return dout * (cache > 0), {}\n")),
    E("ReLU", "returns_params_none", ERROR, None, "param_grads should be",
      _relu("        return np.maximum(x, 0), x\n", "        return dout * (cache > 0), None\n")),
    E("ReLU", "ok_caches_output", OK, None, "",
      _relu("        out = np.maximum(x, 0)\n        return out, out\n", "        return dout * (cache > 0), {}\n")),
    E("ReLU", "ok_caches_mask", OK, None, "",
      _relu("        return np.where(x > 0, x, 0.0), x > 0\n", "        return np.where(cache, dout, 0.0), {}\n")),

    # --------------------------------------------------------------------- Tanh
    E("Tanh", "input_squared", FAILED, None, "1 - x**2",
      _tanh("        return np.tanh(x), x\n", "        return dout * (1 - cache ** 2), {}\n")),
    E("Tanh", "output_on_self", FAILED, STALE, "self.out",
      _tanh("        self.out = np.tanh(x)\n        return self.out, None\n", "        return dout * (1 - self.out ** 2), {}\n")),
    E("Tanh", "tanh_of_cached_output", FAILED, None, "already holds",
      _tanh("        out = np.tanh(x)\n        return out, out\n", "        return dout * (1 - np.tanh(cache) ** 2), {}\n")),
    E("Tanh", "no_square", FAILED, None, "with the square",
      _tanh("        out = np.tanh(x)\n        return out, out\n", "        return dout * (1 - cache), {}\n")),
    E("Tanh", "forgets_dout", FAILED, None, "dx for",
      _tanh("        out = np.tanh(x)\n        return out, out\n", "        return 1 - cache ** 2, {}\n")),
    E("Tanh", "ok_caches_input_cosh", OK, None, "",
      _tanh("        return np.tanh(x), x\n", "        return dout / np.cosh(cache) ** 2, {}\n")),
    E("Tanh", "ok_exp_formula", OK, None, "", _tanh(
        "        e = np.exp(-2 * np.abs(x))\n        t = np.sign(x) * (1 - e) / (1 + e)\n        return t, t\n",
        "        return dout * (1 - cache * cache), {}\n")),

    # --------------------------------------------------------------- Sequential
    E("Sequential", "grads_reversed", FAILED, None, "reverse order", _sequential(SEQ_FWD, '''        grads = []
        for layer, cache in zip(reversed(self.layers), reversed(caches)):
            dout, g = layer.backward(dout, cache)
            grads.append(g)
        return dout, grads
''')),
    E("Sequential", "walks_forward", ERROR, None, "reversed(range(len(self.layers)))", _sequential(SEQ_FWD, '''        grads = []
        for layer, cache in zip(self.layers, caches):
            dout, g = layer.backward(dout, cache)
            grads.append(g)
        return dout, grads
''')),
    E("Sequential", "caches_on_self", FAILED, STALE, "self.caches", _sequential('''        self.caches = []
        out = X
        for layer in self.layers:
            out, cache = layer.forward(out)
            self.caches.append(cache)
        return out, None
''', '''        grads = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            dout, grads[i] = self.layers[i].backward(dout, self.caches[i])
        return dout, grads
''')),
    E("Sequential", "forward_out_only", ERROR, None, "pair (out, caches)", _sequential('''        out = X
        for layer in self.layers:
            out, _ = layer.forward(out)
        return out
''', SEQ_BWD)),
    E("Sequential", "grads_as_named_dict", ERROR, None, "one dict of gradients per layer", _sequential(SEQ_FWD, '''        grads = {}
        for i in reversed(range(len(self.layers))):
            dout, g = self.layers[i].backward(dout, caches[i])
            grads.update({f"{i}.{k}": v for k, v in g.items()})
        return dout, grads
''')),
    E("Sequential", "backward_grads_only", ERROR, None, "pair (dx, grads)", _sequential(SEQ_FWD, '''        grads = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            dout, grads[i] = self.layers[i].backward(dout, caches[i])
        return grads
''')),
    E("Sequential", "same_dout_everywhere", ERROR, None, "raised", _sequential(SEQ_FWD, '''        grads = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            dx, grads[i] = self.layers[i].backward(dout, caches[i])
        return dx, grads
''')),
    E("Sequential", "skips_parameterless_grads", ERROR, None, "one dict of gradients per layer",
      _sequential(SEQ_FWD, '''        grads = []
        for i in reversed(range(len(self.layers))):
            dout, g = self.layers[i].backward(dout, caches[i])
            if g:
                grads.insert(0, g)
        return dout, grads
''')),
    E("Sequential", "returns_upstream_gradient", FAILED, None, "backward's dx", _sequential(SEQ_FWD, '''        grads = [None] * len(self.layers)
        d = dout
        for i in reversed(range(len(self.layers))):
            d, grads[i] = self.layers[i].backward(d, caches[i])
        return dout, grads
''')),
    E("Sequential", "renames_gradient_keys", ERROR, None, "a dict with keys", _sequential(SEQ_FWD, '''        grads = [None] * len(self.layers)
        for i in reversed(range(len(self.layers))):
            dout, g = self.layers[i].backward(dout, caches[i])
            grads[i] = {"d" + k: v for k, v in g.items()}
        return dout, grads
''')),
    E("Sequential", "ok_recursive", OK, None, "", _sequential('''        if not self.layers:
            return X, []
        out, cache = self.layers[0].forward(X)
        rest_out, rest = Sequential(self.layers[1:]).forward(out)
        return rest_out, [cache] + rest
''', '''        if not self.layers:
            return dout, []
        d, rest = Sequential(self.layers[1:]).backward(dout, caches[1:])
        dx, g = self.layers[0].backward(d, caches[0])
        return dx, [g] + rest
''')),
    E("Sequential", "ok_tuple_caches_insert", OK, None, "", _sequential('''        caches = ()
        for layer in self.layers:
            X, c = layer.forward(X)
            caches += (c,)
        return X, caches
''', '''        grads = []
        for layer, cache in zip(self.layers[::-1], caches[::-1]):
            dout, g = layer.backward(dout, cache)
            grads.insert(0, g)
        return dout, tuple(grads)
''')),

    # ------------------------------------------------ sequential_loss_and_grads
    E("sequential_loss_and_grads", "no_average", FAILED, "missing_batch_average", "1/n", GLUE + '''
    loss = cross_entropy(Yhat, labels)
    _, grads = model.backward(Yhat - np.eye(Yhat.shape[1])[labels], caches)
    return loss, model.named_grads(grads)
'''),
    E("sequential_loss_and_grads", "no_softmax_in_gradient", FAILED, None, "softmax is missing", GLUE + '''
    loss = cross_entropy(Yhat, labels)
    dlogits = (logits - np.eye(logits.shape[1])[labels]) / len(labels)
    _, grads = model.backward(dlogits, caches)
    return loss, model.named_grads(grads)
'''),
    E("sequential_loss_and_grads", "summed_loss", FAILED, None, "divide by n", GLUE + '''
    loss = -np.sum(np.log(Yhat[np.arange(len(labels)), labels] + 1e-12))
    _, grads = model.backward(softmax_cross_entropy_backward(Yhat, labels), caches)
    return loss, model.named_grads(grads)
'''),
    E("sequential_loss_and_grads", "per_layer_list", ERROR, None, "named_params", GLUE + '''
    _, grads = model.backward(softmax_cross_entropy_backward(Yhat, labels), caches)
    return cross_entropy(Yhat, labels), grads
'''),
    E("sequential_loss_and_grads", "updates_parameters", FAILED, None, "changed its inputs", GLUE + '''
    _, grads = model.backward(softmax_cross_entropy_backward(Yhat, labels), caches)
    named = model.named_grads(grads)
    for name, p in model.named_params().items():
        p -= 0.1 * named[name]
    return cross_entropy(Yhat, labels), named
'''),
    E("sequential_loss_and_grads", "dlfs_guard", FAILED, None, "1e-12", GLUE + '''
    loss = -np.sum(np.log(Yhat[np.arange(len(labels)), labels] + 1e-7)) / len(labels)
    _, grads = model.backward(softmax_cross_entropy_backward(Yhat, labels), caches)
    return loss, model.named_grads(grads)
'''),
    E("sequential_loss_and_grads", "returns_dict_first", ERROR, None, "loss should be a float", GLUE + '''
    _, grads = model.backward(softmax_cross_entropy_backward(Yhat, labels), caches)
    return model.named_grads(grads), cross_entropy(Yhat, labels)
'''),
    E("sequential_loss_and_grads", "ok_log_softmax", OK, None, "", '''
def sequential_loss_and_grads(model, X, labels):
    Z, caches = model.forward(X)
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    N = len(labels)
    loss = -log_p[np.arange(N), labels].mean()
    d = np.exp(log_p)
    d[np.arange(N), labels] -= 1
    _, per_layer = model.backward(d / N, caches)
    return np.float64(loss), {f"{i}.{k}": g for i, gs in enumerate(per_layer) for k, g in gs.items()}
'''),

    # --------------------------------------------------------- train_sequential
    E("train_sequential", "rebinds_parameters", FAILED, None, "only rebinds the name", TRAIN + '''
        loss, grads = sequential_loss_and_grads(model, X, labels)
        losses.append(loss)
        for name, p in model.named_params().items():
            p = p - lr * grads[name]
    return losses
'''),
    E("train_sequential", "loss_after_update", FAILED, None, "one step late", TRAIN + '''
        _, grads = sequential_loss_and_grads(model, X, labels)
        for name, p in model.named_params().items():
            p -= lr * grads[name]
        losses.append(sequential_loss_and_grads(model, X, labels)[0])
    return losses
'''),
    E("train_sequential", "fixed_lr", FAILED, None, "lr=0.1", TRAIN + '''
        loss, grads = sequential_loss_and_grads(model, X, labels)
        losses.append(loss)
        for name, p in model.named_params().items():
            p -= 0.1 * grads[name]
    return losses
'''),
    E("train_sequential", "one_extra_loss", FAILED, None, "one loss per step", TRAIN + '''
        loss, grads = sequential_loss_and_grads(model, X, labels)
        losses.append(loss)
        for name, p in model.named_params().items():
            p -= lr * grads[name]
    losses.append(sequential_loss_and_grads(model, X, labels)[0])
    return losses
'''),
    E("train_sequential", "plus_sign", FAILED, None, "the losses for", TRAIN + '''
        loss, grads = sequential_loss_and_grads(model, X, labels)
        losses.append(loss)
        for name, p in model.named_params().items():
            p += lr * grads[name]
    return losses
'''),
    E("train_sequential", "ok_ellipsis_and_layers", OK, None, "", '''
def train_sequential(model, X, labels, lr, steps):
    out = []
    for step in range(steps):
        loss, grads = sequential_loss_and_grads(model, X, labels)
        out.append(float(loss))
        for i, layer in enumerate(model.layers):
            for k, p in layer.params.items():
                p[...] = p - lr * grads[f"{i}.{k}"]
    return np.array(out)
'''),

    # -------------------------------------------------------------- fit_spirals
    E("fit_spirals", "no_activation", FAILED, None, "your model is affine", '''
def fit_spirals(X, labels):
    layers = [Linear(W, b) for W, b in depth.initial_weights([2, 32, 32, 32, 3], seed=0)]
    model = Sequential(layers)
    return model, train_sequential(model, X, labels, lr=0.2, steps=300)
''', seeds=SPIRAL_SEEDS),
    E("fit_spirals", "two_hidden_layers", FAILED, None, "at least 3 hidden layers",
      SPIRALS.format(sizes=[2, 64, 64, 3], act="ReLU()", lr=0.2, steps=30), seeds=SPIRAL_SEEDS),
    E("fit_spirals", "too_few_steps", FAILED, None, "more steps",
      SPIRALS.format(sizes=[2, 32, 32, 32, 3], act="ReLU()", lr=0.2, steps=40), seeds=SPIRAL_SEEDS),
    E("fit_spirals", "diverges", FAILED, None, "lower the learning rate",
      SPIRALS.format(sizes=[2, 32, 32, 32, 3], act="ReLU()", lr=50.0, steps=60), seeds=SPIRAL_SEEDS),
    E("fit_spirals", "returns_losses_only", ERROR, None, "pair (model, losses)", '''
def fit_spirals(X, labels):
    model = depth.build_stack([2, 8, 8, 8, 3], Linear, ReLU, Sequential, seed=0)
    return train_sequential(model, X, labels, lr=0.2, steps=5)
''', seeds=SPIRAL_SEEDS),
    E("fit_spirals", "ok_tanh_build_stack", OK, None, "", '''
def fit_spirals(X, labels):
    model = depth.build_stack([2, 32, 32, 32, 3], Linear, Tanh, Sequential, seed=0)
    return model, train_sequential(model, X, labels, lr=0.5, steps=800)
''', seeds=SPIRAL_SEEDS),
]
