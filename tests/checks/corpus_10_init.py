"""Answers to notebook 10 (initialisers by name, per-layer statistics, dead units, the leaky ReLU)."""
from checks_harness import E, ERROR, FAILED, OK

INIT = '''
def initialise(name, d_in, d_out, seed):
    variances = {"he": HE, "glorot": GLOROT, "xavier": GLOROT, "lecun": LECUN}
    if name == "zeros":
        return np.zeros((d_in, d_out))
    if name not in variances:
        raise ValueError(name)
    return np.random.default_rng(seed).standard_normal((d_in, d_out)) * np.sqrt(variances[name])
'''


def _init(he="2 / d_in", glorot="2 / (d_in + d_out)", lecun="1 / d_in", **repl):
    src = INIT.replace("HE", he).replace("GLOROT", glorot).replace("LECUN", lecun)
    for old, new in repl.items():
        src = src.replace(old.replace("__", " "), new)
    return src


STATS = '''
def layer_statistics(net, X, labels):
    outputs, caches, h = [], [], X
    for layer in net.layers:
        h, cache = layer.forward(h)
        outputs.append(h)
        caches.append(cache)
    dout = DOUT
    a, g = [], []
    for i in reversed(range(len(net.layers))):
        layer = net.layers[i]
        if not layer.params:
            a.append(float(np.std(outputs[i])))
            g.append(float(np.std(dout)))
        dout, _ = layer.backward(dout, caches[i])
    return a[::-1], g[::-1]
'''
RIGHT_DOUT = "softmax_cross_entropy_backward(softmax(h), labels)"


def _stats(dout=RIGHT_DOUT, **repl):
    src = STATS.replace("DOUT", dout)
    for old, new in repl.items():
        src = src.replace(old, new)
    return src


DEAD = "def dead_units_and_examples(Z):\n"

LEAKY = '''
class LeakyReLU:
    def __init__(self, alpha=0.01):
        self.alpha = alpha
        self.params = {}

    def forward(self, x):
        return np.where(x > 0, x, self.alpha * x), x

    def backward(self, dout, cache):
        return BACKWARD, {}
'''


def _leaky(backward):
    return LEAKY.replace("BACKWARD", backward)


ENTRIES = [
    # ------------------------------------------------------------ initialise
    E("initialise", "table", OK, None, "correct", _init()),
    E("initialise", "normal_with_scale", OK, None, "correct", '''
def initialise(name, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    if name == "he":
        return rng.normal(0.0, np.sqrt(2.0 / d_in), size=(d_in, d_out))
    if name in ("glorot", "xavier"):
        return rng.normal(0.0, np.sqrt(2.0 / (d_in + d_out)), size=(d_in, d_out))
    if name == "lecun":
        return rng.normal(0.0, 1.0 / np.sqrt(d_in), size=(d_in, d_out))
    if name == "zeros":
        return np.zeros((d_in, d_out))
    raise ValueError(f"no initialiser called {name}")
'''),
    E("initialise", "glorot_uniform_is_glorot_too", OK, None, "correct", _init(**{
        "return np.random.default_rng(seed).standard_normal((d_in, d_out)) * np.sqrt(variances[name])":
        "rng = np.random.default_rng(seed)\n    if name in ('glorot', 'xavier'):\n"
        "        a = np.sqrt(6 / (d_in + d_out))\n        return rng.uniform(-a, a, (d_in, d_out))\n"
        "    return rng.standard_normal((d_in, d_out)) * np.sqrt(variances[name])"})),
    E("initialise", "he_is_lecun", FAILED, None, "LeCun's variance", _init(he="1 / d_in")),
    E("initialise", "xavier_like", FAILED, None, "Xavier-like", _init(glorot="1 / d_in")),
    E("initialise", "glorot_without_2", FAILED, None, "The 2 is missing", _init(glorot="1 / (d_in + d_out)")),
    E("initialise", "uniform_bound_as_variance", FAILED, None, "UNIFORM", _init(glorot="6 / (d_in + d_out)")),
    E("initialise", "lecun_fan_out", FAILED, None, "divides by d_out", _init(lecun="1 / d_out")),
    E("initialise", "variance_as_std", FAILED, None, "variance squared",
      _init(**{"np.sqrt(variances[name])": "variances[name]"})),
    E("initialise", "unknown_gives_zeros", FAILED, None, "ValueError", _init(**{
        "    if name not in variances:\n        raise ValueError(name)\n":
        "    if name not in variances:\n        return np.zeros((d_in, d_out))\n"})),
    E("initialise", "no_xavier", ERROR, None, "raised KeyError", '''
def initialise(name, d_in, d_out, seed):
    if name == "zeros":
        return np.zeros((d_in, d_out))
    variance = {"he": 2 / d_in, "glorot": 2 / (d_in + d_out), "lecun": 1 / d_in}[name]
    return np.random.default_rng(seed).standard_normal((d_in, d_out)) * np.sqrt(variance)
'''),
    E("initialise", "ignores_seed", FAILED, None, "same seed", _init(**{
        "np.random.default_rng(seed).standard_normal((d_in, d_out))": "np.random.randn(d_in, d_out)"})),
    E("initialise", "transposed", FAILED, None, "(d_in, d_out)", _init(**{
        "standard_normal((d_in, d_out))": "standard_normal((d_out, d_in))"})),
    E("initialise", "float32", FAILED, None, "float64", _init(**{
        "* np.sqrt(variances[name])": "* np.sqrt(variances[name]).astype(np.float32)",
        "standard_normal((d_in, d_out))": "standard_normal((d_in, d_out), dtype=np.float32)"})),
    # ------------------------------------------------------------ layer_statistics
    E("layer_statistics", "walk", OK, None, "correct", _stats()),
    E("layer_statistics", "from_the_caches", OK, None, "correct", '''
def layer_statistics(net, X, labels):
    out, caches = net.forward(X)
    dout = (softmax(out) - np.eye(out.shape[1])[labels]) / X.shape[0]
    grads = {}
    for i in range(len(net.layers) - 1, -1, -1):
        grads[i] = dout
        dout = net.layers[i].backward(dout, caches[i])[0]
    acts = [i for i, layer in enumerate(net.layers) if len(layer.params) == 0]
    outs = [net.layers[i].forward(caches[i])[0] for i in acts]
    return [o.std() for o in outs], [grads[i].std() for i in acts]
'''),
    E("layer_statistics", "gradient_at_the_input", FAILED, None, "at its input Z", _stats(**{
        "            g.append(float(np.std(dout)))\n        dout, _ = layer.backward(dout, caches[i])":
        "            dout, _ = layer.backward(dout, caches[i])\n            g.append(float(np.std(dout)))\n"
        "            continue\n        dout, _ = layer.backward(dout, caches[i])"})),
    E("layer_statistics", "pre_activations", FAILED, None, "pre-activations",
      _stats(**{"a.append(float(np.std(outputs[i])))": "a.append(float(np.std(outputs[i - 1])))"})),
    E("layer_statistics", "gradients_last_first", FAILED, None, "first layer first",
      _stats(**{"return a[::-1], g[::-1]": "return a[::-1], g"})),
    E("layer_statistics", "no_average", FAILED, None, "1/N", _stats("softmax(h) - np.eye(h.shape[1])[labels]")),
    E("layer_statistics", "variances", FAILED, None, "These are variances",
      _stats(**{"np.std(outputs[i])": "np.var(outputs[i])", "np.std(dout)": "np.var(dout)"})),
    E("layer_statistics", "per_unit", FAILED, None, "axis 0",
      _stats(**{"np.std(outputs[i])": "np.std(outputs[i], axis=0).mean()", "np.std(dout)": "np.std(dout, axis=0).mean()"})),
    E("layer_statistics", "every_layer", FAILED, None, "Skip the Linear layers", _stats(**{"        if not layer.params:\n": "        if True:\n"})),
    E("layer_statistics", "takes_a_step", FAILED, None, "changed the network's parameters", _stats(**{
        "        dout, _ = layer.backward(dout, caches[i])": "        dout, grads = layer.backward(dout, caches[i])\n"
                                                             "        for k in layer.params:\n"
                                                             "            layer.params[k] -= 0.1 * grads[k]"})),
    # ------------------------------------------------------------ dead_units_and_examples
    E("dead_units_and_examples", "flatnonzero", OK, None, "correct",
      DEAD + "    off = Z <= 0\n    return np.flatnonzero(off.all(axis=0)), np.flatnonzero(off.all(axis=1))\n"),
    E("dead_units_and_examples", "lists_of_ints", OK, None, "correct", DEAD +
      "    N, d = Z.shape\n"
      "    units = [j for j in range(d) if not any(Z[i, j] > 0 for i in range(N))]\n"
      "    examples = [i for i in range(N) if max(Z[i]) <= 0]\n    return units, examples\n"),
    E("dead_units_and_examples", "where_not_any", OK, None, "correct",
      DEAD + "    on = Z > 0\n    return np.where(~on.any(axis=0))[0], np.where(~on.any(axis=1))[0]\n"),
    E("dead_units_and_examples", "strictly_negative", FAILED, None, "exactly 0 is inactive",
      DEAD + "    off = Z < 0\n    return np.flatnonzero(off.all(axis=0)), np.flatnonzero(off.all(axis=1))\n", visible=OK),
    E("dead_units_and_examples", "swapped", FAILED, None, "swapped",
      DEAD + "    off = Z <= 0\n    return np.flatnonzero(off.all(axis=1)), np.flatnonzero(off.all(axis=0))\n"),
    E("dead_units_and_examples", "any_not_all", FAILED, None, "SOME example",
      DEAD + "    off = Z <= 0\n    return np.flatnonzero(off.any(axis=0)), np.flatnonzero(off.any(axis=1))\n"),
    E("dead_units_and_examples", "masks", FAILED, None, "boolean mask",
      DEAD + "    off = Z <= 0\n    return off.all(axis=0), off.all(axis=1)\n"),
    E("dead_units_and_examples", "counts", ERROR, None, "a count is not enough",
      DEAD + "    off = Z <= 0\n    return int(off.all(axis=0).sum()), int(off.all(axis=1).sum())\n"),
    E("dead_units_and_examples", "one_based", FAILED, None, "start at 1",
      DEAD + "    off = Z <= 0\n    return np.flatnonzero(off.all(axis=0)) + 1, np.flatnonzero(off.all(axis=1)) + 1\n"),
    # ------------------------------------------------------------ LeakyReLU
    E("LeakyReLU", "where", OK, None, "correct", _leaky("np.where(cache > 0, dout, self.alpha * dout)")),
    E("LeakyReLU", "slopes_and_maximum", OK, None, "correct", '''
class LeakyReLU:
    def __init__(self, alpha=0.01):
        self.alpha = alpha
        self.params = {}

    def forward(self, x):
        return np.maximum(x, self.alpha * x), x

    def backward(self, dout, cache):
        slope = np.ones_like(cache)
        slope[cache <= 0] = self.alpha
        return dout * slope, {}
'''),
    E("LeakyReLU", "gate_from_output", FAILED, "relu_mask_from_activation", "0/1 gate",
      _leaky("dout * (np.where(cache > 0, cache, self.alpha * cache) > 0)")),
    E("LeakyReLU", "open_at_zero", FAILED, None, "exactly", _leaky("np.where(cache >= 0, dout, self.alpha * dout)"),
      visible=OK),
    E("LeakyReLU", "slope_times_x", FAILED, None, "alpha alone", _leaky("np.where(cache > 0, dout, self.alpha * cache * dout)")),
    E("LeakyReLU", "fixed_slope", FAILED, None, "forward's out", '''
class LeakyReLU:
    def __init__(self, alpha=0.01):
        self.params = {}

    def forward(self, x):
        return np.where(x > 0, x, 0.01 * x), x

    def backward(self, dout, cache):
        return np.where(cache > 0, dout, 0.01 * dout), {}
'''),
    E("LeakyReLU", "keeps_x_on_self", FAILED, "stale_cache", "keep nothing on self", '''
class LeakyReLU:
    def __init__(self, alpha=0.01):
        self.alpha = alpha
        self.params = {}

    def forward(self, x):
        self.x = x
        return np.where(x > 0, x, self.alpha * x), None

    def backward(self, dout, cache):
        return np.where(self.x > 0, dout, self.alpha * dout), {}
'''),
]
