"""Answers to notebook 04 (numerical gradients, the relative error, one group's check)."""
from checks_harness import E, ERROR, FAILED, OK

NUMGRAD_OK = '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        x[idx] = original + eps
        f_plus = f()
        x[idx] = original - eps
        f_minus = f()
        x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad
'''


def _numgrad(**repl) -> str:
    src = NUMGRAD_OK
    for old, new in repl.items():
        src = src.replace(old.replace("__", " "), new)
    return src


REL_OK = '''
def rel_error(a, b):
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-12))
'''

GROUP_HEAD = '''
def grad_check_group(params, X, Y, name, eps=1e-5):
    _, cache = mlp.forward(params, X)
    analytic = mlp.backward(params, cache, Y)[name]
'''

ENTRIES = [
    # ------------------------------------------------------ numerical_gradient
    E("numerical_gradient", "float32_result", FAILED, None, "float32",
      NUMGRAD_OK.replace("np.zeros_like(x)", "np.zeros_like(x, dtype=np.float32)")),
    E("numerical_gradient", "float32_zeros", FAILED, None, "float32",
      NUMGRAD_OK.replace("np.zeros_like(x)", "np.zeros(x.shape, np.float32)")),
    E("numerical_gradient", "one_sided", FAILED, None, "one-sided", '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    fx = f()
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        grad[idx] = (f() - fx) / eps
        x[idx] = old
    return grad
'''),
    E("numerical_gradient", "no_two", FAILED, None, "twice the expected", NUMGRAD_OK.replace("(2 * eps)", "eps")),
    E("numerical_gradient", "ignores_eps", FAILED, None, "eps argument", '''
def numerical_gradient(f, x, eps=1e-5):
    h = 1e-5
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        fp = f()
        x[idx] = old - h
        fm = f()
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
    return grad
'''),
    E("numerical_gradient", "restores_by_arithmetic", FAILED, None, "rounding error", '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        x[idx] += eps
        fp = f()
        x[idx] -= 2 * eps
        fm = f()
        x[idx] += eps
        grad[idx] = (fp - fm) / (2 * eps)
    return grad
''', visible=None),
    E("numerical_gradient", "never_restores", FAILED, None, "left perturbed", '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        fp = f()
        x[idx] = old - eps
        fm = f()
        grad[idx] = (fp - fm) / (2 * eps)
    return grad
'''),
    E("numerical_gradient", "ravel_copy", FAILED, None, "never saw your nudges", '''
def numerical_gradient(f, x, eps=1e-5):
    flat = x.ravel()
    grad = np.zeros(flat.size)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad.reshape(x.shape)
'''),
    E("numerical_gradient", "perturbs_a_copy", FAILED, None, "never saw your nudges", '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp = x.copy()
        xp[idx] += eps
        fp = f()
        xp[idx] -= 2 * eps
        fm = f()
        grad[idx] = (fp - fm) / (2 * eps)
    return grad
'''),
    E("numerical_gradient", "two_axes_only", ERROR, None, "any number of axes", '''
def numerical_gradient(f, x, eps=1e-5):
    rows, cols = x.shape
    grad = np.zeros_like(x)
    for i in range(rows):
        for j in range(cols):
            old = x[i, j]
            x[i, j] = old + eps
            fp = f()
            x[i, j] = old - eps
            fm = f()
            x[i, j] = old
            grad[i, j] = (fp - fm) / (2 * eps)
    return grad
'''),
    E("numerical_gradient", "matrix_or_vector_only", ERROR, None, "a 3-d x", '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    if x.ndim == 1:
        indices = [(i,) for i in range(x.shape[0])]
    elif x.ndim == 2:
        indices = [(i, j) for i in range(x.shape[0]) for j in range(x.shape[1])]
    else:
        raise TypeError("x must be a vector or a matrix")
    for idx in indices:
        old = x[idx]
        x[idx] = old + eps
        fp = f()
        x[idx] = old - eps
        fm = f()
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * eps)
    return grad
''', visible=OK),
    E("numerical_gradient", "returns_list", ERROR, None, "numpy array", '''
def numerical_gradient(f, x, eps=1e-5):
    out = []
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps; fp = f()
        x[idx] = old - eps; fm = f()
        x[idx] = old
        out.append((fp - fm) / (2 * eps))
    return out
'''),
    E("numerical_gradient", "integer_buffer", FAILED, None, "floats",
      NUMGRAD_OK.replace("np.zeros_like(x)", "np.zeros(x.shape, dtype=int)")),
    E("numerical_gradient", "shifts_all_entries", FAILED, None, "the gradient for", '''
def numerical_gradient(f, x, eps=1e-5):
    old = x.copy()
    x += eps
    fp = f()
    x[...] = old - eps
    fm = f()
    x[...] = old
    return np.full_like(x, (fp - fm) / (2 * eps))
'''),
    E("numerical_gradient", "minus_first", FAILED, None, "sign is flipped",
      NUMGRAD_OK.replace("(f_plus - f_minus)", "(f_minus - f_plus)")),
    E("numerical_gradient", "ok_cs231n_nditer", OK, None, "", '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + eps
        fxph = f()
        x[ix] = oldval - eps
        fxmh = f()
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * eps)
        it.iternext()
    return grad
'''),
    E("numerical_gradient", "ok_flat_iterator", OK, None, "", '''
def numerical_gradient(f, x, eps=1e-5):
    grad = np.empty(x.shape)
    for i in range(x.size):
        old = x.flat[i]
        x.flat[i] = old + eps
        fp = f()
        x.flat[i] = old - eps
        fm = f()
        x.flat[i] = old
        grad.flat[i] = (fp - fm) / (2 * eps)
    return grad
'''),
    E("numerical_gradient", "ok_unravel_index_warns", OK, None, "", '''
import warnings
def numerical_gradient(f, x, eps=1e-5):
    warnings.warn("this takes two evaluations per entry", RuntimeWarning)
    grad = np.zeros_like(x)
    for k in range(x.size):
        idx = np.unravel_index(k, x.shape)
        saved = x[idx].copy()
        x[idx] = saved + eps
        fp = f()
        x[idx] = saved - eps
        fm = f()
        x[idx] = saved
        grad[idx] = (fp - fm) / (2 * eps)
    return grad
'''),

    # -------------------------------------------------------------- rel_error
    E("rel_error", "no_eta", FAILED, None, "no eta",
      "def rel_error(a, b):\n    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))\n"),
    E("rel_error", "single_norm", FAILED, None, "single norm",
      "def rel_error(a, b):\n    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + 1e-12))\n"),
    E("rel_error", "larger_norm", FAILED, None, "larger norm",
      "def rel_error(a, b):\n    return float(np.linalg.norm(a - b) / (max(np.linalg.norm(a), np.linalg.norm(b)) + 1e-12))\n"),
    E("rel_error", "l1_norms", FAILED, None, "absolute values",
      "def rel_error(a, b):\n    return float(np.sum(np.abs(a - b)) / (np.sum(np.abs(a)) + np.sum(np.abs(b)) + 1e-12))\n"),
    E("rel_error", "max_difference", FAILED, None, "largest entry-wise",
      "def rel_error(a, b):\n    return float(np.max(np.abs(a - b)) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-12))\n"),
    E("rel_error", "squared_numerator", FAILED, None, "squared",
      "def rel_error(a, b):\n    return float(np.sum((a - b) ** 2) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-12))\n"),
    E("rel_error", "elementwise_mean", FAILED, None, "entry-wise",
      "def rel_error(a, b):\n    return float(np.mean(np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-12)))\n"),
    E("rel_error", "cs231n_max_ratio", FAILED, None, "np.linalg.norm", '''
def rel_error(a, b):
    return np.max(np.abs(a - b) / (np.maximum(1e-8, np.abs(a) + np.abs(b))))
'''),
    E("rel_error", "returns_array", ERROR, None, "one number",
      "def rel_error(a, b):\n    return np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-12)\n"),
    E("rel_error", "float32", FAILED, None, "float32",
      "def rel_error(a, b):\n    return np.float32(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-12))\n"),
    E("rel_error", "eta_1e8", FAILED, None, "eta = 1e-12",
      "def rel_error(a, b):\n    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-8))\n",
      visible=None),
    E("rel_error", "eta_in_numerator", FAILED, None, "denominator only",
      "def rel_error(a, b):\n    return float((np.linalg.norm(a - b) + 1e-12) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-12))\n"),
    E("rel_error", "ok_sqrt_sum", OK, None, "", '''
def rel_error(a, b):
    num = np.sqrt(np.sum((a - b) ** 2))
    return num / (np.sqrt(np.sum(a * a)) + np.sqrt(np.sum(b * b)) + 1e-12)
'''),
    E("rel_error", "ok_ravel_loop", OK, None, "", '''
def rel_error(a, b):
    d = sa = sb = 0.0
    for x, y in zip(np.ravel(a), np.ravel(b)):
        d += (x - y) ** 2
        sa += x * x
        sb += y * y
    return math.sqrt(d) / (math.sqrt(sa) + math.sqrt(sb) + 1e-12)
'''),
    E("rel_error", "ok_zero_dim", OK, None, "",
      "def rel_error(a, b):\n    return np.asarray(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-12))\n"),

    # ------------------------------------------------------- grad_check_group
    E("grad_check_group", "eps_not_passed", FAILED, None, "eps argument", GROUP_HEAD + '''
    numeric = numerical_gradient(lambda: mlp.loss(params, X, Y), params[name])
    return rel_error(analytic, numeric)
'''),
    E("grad_check_group", "perturbs_a_copy", FAILED, None, "exactly 1", GROUP_HEAD + '''
    p = copy.deepcopy(params)
    numeric = numerical_gradient(lambda: mlp.loss(params, X, Y), p[name], eps)
    return rel_error(analytic, numeric)
'''),
    E("grad_check_group", "summed_loss", FAILED, None, "n times too large", GROUP_HEAD + '''
    numeric = numerical_gradient(lambda: mlp.loss(params, X, Y) * X.shape[0], params[name], eps)
    return rel_error(analytic, numeric)
'''),
    E("grad_check_group", "one_sided_inline", FAILED, None, "one-sided", GROUP_HEAD + '''
    p = params[name]
    numeric = np.zeros_like(p)
    base = mlp.loss(params, X, Y)
    for idx in np.ndindex(p.shape):
        old = p[idx]
        p[idx] = old + eps
        numeric[idx] = (mlp.loss(params, X, Y) - base) / eps
        p[idx] = old
    return rel_error(analytic, numeric)
'''),
    E("grad_check_group", "leaves_params_perturbed", FAILED, None, "not restored", GROUP_HEAD + '''
    p = params[name]
    numeric = np.zeros_like(p)
    for idx in np.ndindex(p.shape):
        old = p[idx]
        p[idx] = old + eps
        lp = mlp.loss(params, X, Y)
        p[idx] = old - eps
        lm = mlp.loss(params, X, Y)
        numeric[idx] = (lp - lm) / (2 * eps)
    return rel_error(analytic, numeric)
'''),
    E("grad_check_group", "always_W1", FAILED, None, "expected a relative error", '''
def grad_check_group(params, X, Y, name, eps=1e-5):
    _, cache = mlp.forward(params, X)
    analytic = mlp.backward(params, cache, Y)["W1"]
    numeric = numerical_gradient(lambda: mlp.loss(params, X, Y), params["W1"], eps)
    return rel_error(analytic, numeric)
'''),
    E("grad_check_group", "returns_verdict_too", ERROR, None, "one float", GROUP_HEAD + '''
    numeric = numerical_gradient(lambda: mlp.loss(params, X, Y), params[name], eps)
    err = rel_error(analytic, numeric)
    return err, ("ok" if err < 1e-5 else "bug")
'''),
    E("grad_check_group", "twice_numeric", FAILED, None, "twice", GROUP_HEAD + '''
    numeric = 2 * numerical_gradient(lambda: mlp.loss(params, X, Y), params[name], eps)
    return rel_error(analytic, numeric)
'''),
    E("grad_check_group", "ok_own_loop", OK, None, "", '''
def grad_check_group(params, X, Y, name, eps=1e-5):
    Yhat, cache = mlp.forward(params, X)
    g = mlp.backward(params, cache, Y)[name]
    p = params[name]
    num = np.zeros(p.shape)
    it = np.nditer(p, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        keep = p[i]
        p[i] = keep + eps; up = cross_entropy_loss = mlp.loss(params, X, Y)
        p[i] = keep - eps; down = mlp.loss(params, X, Y)
        p[i] = keep
        num[i] = (up - down) / (2 * eps)
    return float(np.linalg.norm(g - num) / (np.linalg.norm(g) + np.linalg.norm(num) + 1e-12))
'''),
]
