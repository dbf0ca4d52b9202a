"""Answers to notebook 01 (shapes, affine, parameter counts), as students write them."""
from checks_harness import E, ERROR, FAILED, OK

SHAPES_OK = '''
def layer_shapes(N, d0, d1, C):
    return {"X": (N, d0), "W1": (d0, d1), "b1": (d1,), "Z1": (N, d1), "A1": (N, d1),
            "W2": (d1, C), "b2": (C,), "Z2": (N, C), "Yhat": (N, C)}
'''


def _shapes(**override) -> str:
    """The correct layer_shapes with some entries replaced by other expressions."""
    body = {"X": "(N, d0)", "W1": "(d0, d1)", "b1": "(d1,)", "Z1": "(N, d1)", "A1": "(N, d1)", "W2": "(d1, C)",
            "b2": "(C,)", "Z2": "(N, C)", "Yhat": "(N, C)"}
    body.update(override)
    items = ", ".join(f'"{k}": {v}' for k, v in body.items())
    return f"def layer_shapes(N, d0, d1, C):\n    return {{{items}}}\n"


ENTRIES = [
    # ------------------------------------------------------------ layer_shapes
    E("layer_shapes", "W1_transposed", FAILED, None, "transposed", _shapes(W1="(d1, d0)")),
    E("layer_shapes", "torch_weight_layout", FAILED, None, "transposed", _shapes(W1="(d1, d0)", W2="(C, d1)")),
    E("layer_shapes", "bias_row_vector", FAILED, None, "a bias is a vector", _shapes(b1="(1, d1)", b2="(1, C)")),
    E("layer_shapes", "bias_column_vector_nielsen", FAILED, None, "a bias is a vector", _shapes(b1="(d1, 1)")),
    E("layer_shapes", "columns_are_examples", FAILED, None, "transposed",
      _shapes(X="(d0, N)", Z1="(d1, N)", A1="(d1, N)", Z2="(C, N)", Yhat="(C, N)")),
    E("layer_shapes", "Z2_hidden_width", FAILED, None, "should be (N, C)", _shapes(Z2="(N, d1)")),
    E("layer_shapes", "Yhat_batch_of_classes", FAILED, None, "first axis", _shapes(Yhat="(C, C)")),
    E("layer_shapes", "key_Y_hat", ERROR, None, "missing the keys", SHAPES_OK.replace('"Yhat"', '"Y_hat"')),
    E("layer_shapes", "lower_case_keys", ERROR, None, "case-sensitive",
      SHAPES_OK.replace('"W1"', '"w1"').replace('"W2"', '"w2"')),
    E("layer_shapes", "numpy_array_values", FAILED, None, "tuple of ints", '''
def layer_shapes(N, d0, d1, C):
    shapes = {"X": (N, d0), "W1": (d0, d1), "b1": (d1,), "Z1": (N, d1), "A1": (N, d1),
              "W2": (d1, C), "b2": (C,), "Z2": (N, C), "Yhat": (N, C)}
    return {k: np.array(v) for k, v in shapes.items()}
'''),
    E("layer_shapes", "float_sizes", FAILED, None, "tuple of ints", _shapes(W1="(d0, d1 / 1)")),
    E("layer_shapes", "hard_coded_first_case", FAILED, None, "should be", '''
def layer_shapes(N, d0, d1, C):
    return {"X": (8, 5), "W1": (5, 4), "b1": (4,), "Z1": (8, 4), "A1": (8, 4),
            "W2": (4, 3), "b2": (3,), "Z2": (8, 3), "Yhat": (8, 3)}
'''),
    E("layer_shapes", "returns_list_of_pairs", ERROR, None, "should return a dict", '''
def layer_shapes(N, d0, d1, C):
    return [("X", (N, d0)), ("W1", (d0, d1))]
'''),
    E("layer_shapes", "swapped_d0_d1", FAILED, None, "should be (N, d0)", _shapes(X="(N, d1)", W1="(d1, d0)")),
    E("layer_shapes", "ok_lists", OK, None, "", _shapes(X="[N, d0]", b1="[d1]")),
    E("layer_shapes", "ok_numpy_ints", OK, None, "", '''
def layer_shapes(N, d0, d1, C):
    return {k: tuple(np.int64(s) for s in v) for k, v in
            {"X": (N, d0), "W1": (d0, d1), "b1": (d1,), "Z1": (N, d1), "A1": (N, d1),
             "W2": (d1, C), "b2": (C,), "Z2": (N, C), "Yhat": (N, C)}.items()}
'''),
    E("layer_shapes", "ok_from_a_forward_pass", OK, None, "", '''
from collections import OrderedDict
def layer_shapes(N, d0, d1, C):
    X = np.zeros((N, d0)); W1 = np.zeros((d0, d1)); b1 = np.zeros(d1); W2 = np.zeros((d1, C)); b2 = np.zeros(C)
    Z1 = X @ W1 + b1; A1 = np.maximum(Z1, 0); Z2 = A1 @ W2 + b2; Yhat = np.exp(Z2)
    out = OrderedDict()
    for name, a in [("X", X), ("W1", W1), ("b1", b1), ("Z1", Z1), ("A1", A1), ("W2", W2), ("b2", b2),
                    ("Z2", Z2), ("Yhat", Yhat)]:
        out[name] = a.shape
    return out
'''),

    # ------------------------------------------------------------------ affine
    E("affine", "no_bias", FAILED, None, "the bias b is missing", "def affine(X, W, b):\n    return X @ W\n"),
    E("affine", "no_bias_loops", FAILED, None, "the bias b is missing", '''
def affine(X, W, b):
    N, d_in = X.shape
    Z = np.zeros((N, W.shape[1]))
    for i in range(N):
        for j in range(W.shape[1]):
            for k in range(d_in):
                Z[i, j] += X[i, k] * W[k, j]
    return Z
'''),
    E("affine", "sign_error", FAILED, None, "sign error", "def affine(X, W, b):\n    return X @ W - b\n"),
    E("affine", "float32", FAILED, None, "float32",
      "def affine(X, W, b):\n    return (X @ W + b).astype(np.float32)\n"),
    E("affine", "float32_inputs", FAILED, None, "float32", '''
def affine(X, W, b):
    X, W, b = (a.astype(np.float32) for a in (X, W, b))
    return X @ W + b
'''),
    E("affine", "cs231n_returns_cache", ERROR, None, "alone", '''
def affine(X, W, b):
    out = X.reshape(X.shape[0], -1).dot(W) + b
    cache = (X, W, b)
    return out, cache
'''),
    E("affine", "bias_as_column", ERROR, None, "raised ValueError",
      "def affine(X, W, b):\n    return np.dot(X, W) + b.reshape(-1, 1)\n"),
    E("affine", "weights_first_nielsen", ERROR, None, "raised ValueError",
      "def affine(X, W, b):\n    return np.dot(W, X) + b\n"),
    E("affine", "python_lists", ERROR, None, "numpy array", '''
def affine(X, W, b):
    return [[sum(X[i][k] * W[k][j] for k in range(len(W))) + b[j] for j in range(len(b))] for i in range(len(X))]
'''),
    E("affine", "ok_einsum", OK, None, "", "def affine(X, W, b):\n    return np.einsum('ni,io->no', X, W) + b\n"),
    E("affine", "ok_transposes", OK, None, "", "def affine(X, W, b):\n    return (W.T @ X.T).T + b[None, :]\n"),
    E("affine", "ok_loops", OK, None, "", '''
def affine(X, W, b):
    rows = []
    for x in X:
        rows.append([float(np.dot(x, W[:, j]) + b[j]) for j in range(W.shape[1])])
    return np.array(rows)
'''),
    E("affine", "ok_tensordot_warns", OK, None, "", '''
import warnings
def affine(X, W, b):
    warnings.warn("computing an affine map", UserWarning)
    return np.tensordot(X, W, axes=([1], [0])) + b
'''),

    # -------------------------------------------------------- count_parameters
    E("count_parameters", "two_layer_unpacking", ERROR, None, "raised ValueError", '''
def count_parameters(layer_sizes):
    d0, d1, C = layer_sizes
    return d0 * d1 + d1 + d1 * C + C
'''),
    E("count_parameters", "two_layer_indexing", FAILED, None, "two-layer formula", '''
def count_parameters(layer_sizes):
    d0, d1, C = layer_sizes[0], layer_sizes[1], layer_sizes[2] if len(layer_sizes) > 2 else layer_sizes[1]
    return d0 * d1 + d1 + d1 * C + C
'''),
    E("count_parameters", "first_and_last", FAILED, None, "should be", '''
def count_parameters(layer_sizes):
    d0, d1, C = layer_sizes[0], layer_sizes[1], layer_sizes[-1]
    return d0 * d1 + d1 + d1 * C + C
'''),
    E("count_parameters", "weights_only", FAILED, None, "weights alone", '''
def count_parameters(layer_sizes):
    return sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
'''),
    E("count_parameters", "input_bias_too", FAILED, None, "input included", '''
def count_parameters(layer_sizes):
    return sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:])) + sum(layer_sizes)
'''),
    E("count_parameters", "bias_of_input_width", FAILED, None, "input width", '''
def count_parameters(layer_sizes):
    total = 0
    for i in range(len(layer_sizes) - 1):
        total += layer_sizes[i] * layer_sizes[i + 1] + layer_sizes[i]
    return total
'''),
    E("count_parameters", "off_by_one_range", FAILED, None, "last layer is missing", '''
def count_parameters(layer_sizes):
    total = 0
    for i in range(len(layer_sizes) - 2):
        total += layer_sizes[i] * layer_sizes[i + 1] + layer_sizes[i + 1]
    return total
'''),
    E("count_parameters", "starts_at_one", FAILED, None, "first layer is missing", '''
def count_parameters(layer_sizes):
    total = 0
    for i in range(1, len(layer_sizes) - 1):
        total += layer_sizes[i] * layer_sizes[i + 1] + layer_sizes[i + 1]
    return total
'''),
    E("count_parameters", "float_result", FAILED, None, "integer", '''
def count_parameters(layer_sizes):
    return float(np.sum([a * b + b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])]))
'''),
    E("count_parameters", "pops_the_list", FAILED, None, "changed its argument", '''
def count_parameters(layer_sizes):
    total = 0
    while len(layer_sizes) > 1:
        d_in = layer_sizes.pop(0)
        total += d_in * layer_sizes[0] + layer_sizes[0]
    return total
'''),
    E("count_parameters", "returns_per_layer_list", ERROR, None, "should return an int", '''
def count_parameters(layer_sizes):
    return [a * b + b for a, b in zip(layer_sizes[:-1], layer_sizes[1:])]
'''),
    E("count_parameters", "ok_numpy_int", OK, None, "", '''
def count_parameters(layer_sizes):
    s = np.array(layer_sizes, dtype=np.int64)
    return np.sum(s[:-1] * s[1:] + s[1:])
'''),
    E("count_parameters", "ok_recursion", OK, None, "", '''
def count_parameters(layer_sizes):
    if len(layer_sizes) < 2:
        return 0
    return layer_sizes[0] * layer_sizes[1] + layer_sizes[1] + count_parameters(layer_sizes[1:])
'''),
    E("count_parameters", "ok_matrix_shapes", OK, None, "", '''
def count_parameters(layer_sizes):
    shapes = [((a, b), (b,)) for a, b in zip(layer_sizes, layer_sizes[1:])]
    return int(sum(np.prod(w) + np.prod(bias) for w, bias in shapes))
'''),

    # ------------------------------------------------ finite_difference_passes
    E("finite_difference_passes", "one_per_parameter", FAILED, None, "twice for each",
      "def finite_difference_passes(layer_sizes):\n    return count_parameters(layer_sizes)\n"),
    E("finite_difference_passes", "one_sided", FAILED, None, "one-sided",
      "def finite_difference_passes(layer_sizes):\n    return count_parameters(layer_sizes) + 1\n"),
    E("finite_difference_passes", "plus_base_pass", FAILED, None, "never need L",
      "def finite_difference_passes(layer_sizes):\n    return 2 * count_parameters(layer_sizes) + 1\n"),
    E("finite_difference_passes", "weights_only", FAILED, None, "weights only", '''
def finite_difference_passes(layer_sizes):
    return 2 * sum(a * b for a, b in zip(layer_sizes[:-1], layer_sizes[1:]))
'''),
    E("finite_difference_passes", "two_layer_count", FAILED, None, "two-layer count", '''
def finite_difference_passes(layer_sizes):
    d0, d1, C = layer_sizes[0], layer_sizes[1], layer_sizes[2] if len(layer_sizes) > 2 else layer_sizes[1]
    return 2 * (d0 * d1 + d1 + d1 * C + C)
'''),
    E("finite_difference_passes", "float", FAILED, None, "integer",
      "def finite_difference_passes(layer_sizes):\n    return 2.0 * count_parameters(layer_sizes)\n"),
    E("finite_difference_passes", "squared", FAILED, None, "should be 2 ×",
      "def finite_difference_passes(layer_sizes):\n    return count_parameters(layer_sizes) ** 2\n"),
    E("finite_difference_passes", "ok_own_sum", OK, None, "", '''
def finite_difference_passes(layer_sizes):
    return sum(2 * (a * b + b) for a, b in zip(layer_sizes, layer_sizes[1:]))
'''),
]
