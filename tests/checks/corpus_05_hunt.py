"""Answers to notebook 05 (the bug hunt): two detectors, the suspects' names, a fixed backward."""
from checks_harness import E, ERROR, FAILED, OK

IN_PLACE = "in_place_cache_mutation"

UNCHANGED_HEAD = '''
def cache_unchanged(forward, backward, params, X, Y):
    _, cache = forward(params, X)
'''
INTERLEAVED_HEAD = '''
def interleaved_forward_ok(forward, backward, params, X_a, Y_a, X_b):
'''
ANSWERS = '''
answers = {"A": "wrong_transpose", "B": "in_place_cache_mutation", "C": "missing_batch_average",
           "D": "stale_cache", "E": "relu_mask_from_activation", "F": "unstable_softmax"}
'''
FIXED_HEAD = '''
def fixed_backward(params, cache, Y):
    X, Z1, A1, Yhat = cache["X"], cache["Z1"], cache["A1"], cache["Yhat"]
    N = X.shape[0]
'''
FIXED_TAIL = '''
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}
'''

ENTRIES = [
    # ---------------------------------------------------------- cache_unchanged
    E("cache_unchanged", "shallow_copy", FAILED, None, "shallow", UNCHANGED_HEAD + '''
    before = dict(cache)
    params_before = dict(params)
    backward(params, cache, Y)
    return all(np.array_equal(before[k], cache[k]) for k in before) and \\
        all(np.array_equal(params_before[k], params[k]) for k in params)
'''),
    E("cache_unchanged", "identity", FAILED, None, "shallow", UNCHANGED_HEAD + '''
    before = {k: v for k, v in cache.items()}
    backward(params, cache, Y)
    return all(cache[k] is before[k] for k in before)
'''),
    E("cache_unchanged", "forgets_params", FAILED, None, "check params", UNCHANGED_HEAD + '''
    before = copy.deepcopy(cache)
    backward(params, cache, Y)
    return set(before) == set(cache) and all(np.array_equal(before[k], cache[k]) for k in before)
'''),
    E("cache_unchanged", "ignores_new_keys", FAILED, None, "compare the keys", UNCHANGED_HEAD + '''
    before = copy.deepcopy(cache)
    params_before = copy.deepcopy(params)
    backward(params, cache, Y)
    return all(np.array_equal(before[k], cache[k]) for k in before) and \\
        all(np.array_equal(params_before[k], params[k]) for k in params)
'''),
    E("cache_unchanged", "snapshot_after_backward", FAILED, None, "before calling backward", UNCHANGED_HEAD + '''
    backward(params, cache, Y)
    before = copy.deepcopy(cache)
    return all(np.array_equal(before[k], cache[k]) for k in before)
'''),
    E("cache_unchanged", "returns_string", ERROR, None, "true or false", UNCHANGED_HEAD + '''
    before = copy.deepcopy(cache)
    backward(params, cache, Y)
    return "yes" if all(np.array_equal(before[k], cache[k]) for k in before) else "no"
'''),
    E("cache_unchanged", "dict_equality", ERROR, None, "raised ValueError", UNCHANGED_HEAD + '''
    before = copy.deepcopy(cache)
    backward(params, cache, Y)
    return before == cache
'''),
    E("cache_unchanged", "always_true", FAILED, None, "returned true",
      "def cache_unchanged(forward, backward, params, X, Y):\n    return True\n"),
    E("cache_unchanged", "inverted", FAILED, None, "returned false", UNCHANGED_HEAD + '''
    before = copy.deepcopy(cache)
    params_before = copy.deepcopy(params)
    backward(params, cache, Y)
    same = set(before) == set(cache) and all(np.array_equal(before[k], cache[k]) for k in before)
    return not (same and all(np.array_equal(params_before[k], params[k]) for k in params))
'''),
    E("cache_unchanged", "ok_numpy_bool_allclose", OK, None, "", UNCHANGED_HEAD + '''
    snap = {k: np.copy(v) for k, v in cache.items()}
    p0 = {k: v.copy() for k, v in params.items()}
    backward(params, cache, Y)
    ok = np.bool_(snap.keys() == cache.keys())
    for k in snap:
        ok = ok & np.allclose(snap[k], cache[k], rtol=0, atol=0)
    for k in p0:
        ok = ok & np.array_equal(p0[k], params[k])
    return ok
'''),
    E("cache_unchanged", "ok_pickle_bytes", OK, None, "", '''
import pickle
def cache_unchanged(forward, backward, params, X, Y):
    _, cache = forward(params, X)
    before = pickle.dumps((sorted(cache), [cache[k] for k in sorted(cache)], [params[k] for k in sorted(params)]))
    backward(params, cache, Y)
    after = pickle.dumps((sorted(cache), [cache[k] for k in sorted(cache)], [params[k] for k in sorted(params)]))
    return before == after
'''),

    # ---------------------------------------------------- interleaved_forward_ok
    E("interleaved_forward_ok", "same_cache_twice", FAILED, None, "mistook", INTERLEAVED_HEAD + '''
    _, cache_a = forward(params, X_a)
    expected = backward(params, cache_a, Y_a)
    forward(params, X_b)
    got = backward(params, cache_a, Y_a)
    return all(np.allclose(expected[k], got[k]) for k in expected)
'''),
    E("interleaved_forward_ok", "never_runs_second_batch", FAILED, None, "returned true", INTERLEAVED_HEAD + '''
    _, c1 = forward(params, X_a)
    g1 = backward(params, copy.deepcopy(c1), Y_a)
    _, c2 = forward(params, X_a)
    g2 = backward(params, c2, Y_a)
    return all(np.allclose(g1[k], g2[k]) for k in g1)
'''),
    E("interleaved_forward_ok", "dict_of_arrays_equality", ERROR, None, "raised", INTERLEAVED_HEAD + '''
    _, cache = forward(params, X_a)
    expected = backward(params, copy.deepcopy(cache), Y_a)
    _, cache_a = forward(params, X_a)
    forward(params, X_b)
    return expected == backward(params, cache_a, Y_a)
'''),
    E("interleaved_forward_ok", "backward_on_second_cache", FAILED, None, "returned false", INTERLEAVED_HEAD + '''
    _, cache_a = forward(params, X_a)
    expected = backward(params, copy.deepcopy(cache_a), Y_a)
    _, cache_b = forward(params, X_b)
    got = backward(params, cache_b, Y_a)
    return all(np.allclose(expected[k], got[k]) for k in expected)
'''),
    E("interleaved_forward_ok", "inverted", FAILED, None, "returned", INTERLEAVED_HEAD + '''
    _, cache = forward(params, X_a)
    expected = backward(params, copy.deepcopy(cache), Y_a)
    _, cache_a = forward(params, X_a)
    forward(params, X_b)
    got = backward(params, cache_a, Y_a)
    return not all(np.allclose(expected[k], got[k]) for k in expected)
'''),
    E("interleaved_forward_ok", "returns_list_of_bools", ERROR, None, "true or false", INTERLEAVED_HEAD + '''
    _, cache = forward(params, X_a)
    expected = backward(params, copy.deepcopy(cache), Y_a)
    _, cache_a = forward(params, X_a)
    forward(params, X_b)
    got = backward(params, cache_a, Y_a)
    return [bool(np.allclose(expected[k], got[k])) for k in expected]
'''),
    E("interleaved_forward_ok", "ok_compares_the_cache", OK, None, "", INTERLEAVED_HEAD + '''
    _, cache_a = forward(params, X_a)
    snapshot = copy.deepcopy(cache_a)
    forward(params, X_b)
    return all(np.array_equal(snapshot[k], cache_a[k]) for k in snapshot)
'''),
    E("interleaved_forward_ok", "ok_exact_gradients", OK, None, "", INTERLEAVED_HEAD + '''
    _, fresh = forward(params, X_a)
    want = backward(params, copy.deepcopy(fresh), Y_a)
    _, kept = forward(params, X_a)
    forward(params, X_b)
    got = backward(params, kept, Y_a)
    return bool(np.all([np.array_equal(want[k], got[k]) for k in want]))
'''),

    # ------------------------------------------------------------------ answers
    E("answers", "A_as_batch_average", FAILED, None, "suspect a is not",
      ANSWERS.replace('"A": "wrong_transpose"', '"A": "missing_batch_average"'), visible=OK),
    E("answers", "misspelt", FAILED, None, "did you mean 'wrong_transpose'",
      ANSWERS.replace('"wrong_transpose"', '"wrong-transpose"')),
    E("answers", "titles", FAILED, None, "did you mean", ANSWERS.replace('"stale_cache"', '"Stale cache"')),
    E("answers", "missing_F", ERROR, None, "missing ['F']", ANSWERS.replace(', "F": "unstable_softmax"', "")),
    E("answers", "lower_case_keys", ERROR, None, "needs exactly the keys", '''
answers = {"a": "wrong_transpose", "b": "in_place_cache_mutation", "c": "missing_batch_average",
           "d": "stale_cache", "e": "relu_mask_from_activation", "f": "unstable_softmax"}
'''),
    E("answers", "B_D_swapped", FAILED, None, "suspect b is not", ANSWERS.replace(
        '"B": "in_place_cache_mutation"', '"B": "stale_cache"').replace('"D": "stale_cache"', '"D": "in_place_cache_mutation"'),
      visible=OK),
    E("answers", "a_list", ERROR, None, "should be a dict", '''
answers = ["wrong_transpose", "in_place_cache_mutation", "missing_batch_average", "stale_cache",
           "relu_mask_from_activation", "unstable_softmax"]
'''),
    E("answers", "ok_ordered_dict", OK, None, "", '''
from collections import OrderedDict
answers = OrderedDict(zip("ABCDEF", ["wrong_transpose", "in_place_cache_mutation", "missing_batch_average",
                                     "stale_cache", "relu_mask_from_activation", "unstable_softmax"]))
'''),

    # ------------------------------------------------------------ fixed_backward
    E("fixed_backward", "still_in_place", FAILED, IN_PLACE, "read-only", FIXED_HEAD + '''
    dZ2 = Yhat
    dZ2 -= Y
    dZ2 /= N
''' + FIXED_TAIL),
    E("fixed_backward", "stores_deltas", FAILED, None, "cache['dz2']", FIXED_HEAD + '''
    cache["dZ2"] = dZ2 = (Yhat - Y) / N
''' + FIXED_TAIL),
    E("fixed_backward", "grads_into_params", FAILED, None, "params['gw2']", FIXED_HEAD + '''
    dZ2 = (Yhat - Y) / N
    params["gW2"] = A1.T @ dZ2
''' + FIXED_TAIL),
    E("fixed_backward", "no_average", FAILED, "missing_batch_average", "1/n", FIXED_HEAD + '''
    dZ2 = Yhat - Y
''' + FIXED_TAIL),
    E("fixed_backward", "transposed", FAILED, "wrong_transpose", "scrambles", '''
def fixed_backward(params, cache, Y):
    X, Z1, A1, Yhat = cache["X"], cache["Z1"], cache["A1"], cache["Yhat"]
    dZ2 = (Yhat - Y) / X.shape[0]
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return {"W1": (dZ1.T @ X).reshape(params["W1"].shape), "b1": dZ1.sum(0),
            "W2": (dZ2.T @ A1).reshape(params["W2"].shape), "b2": dZ2.sum(0)}
'''),
    E("fixed_backward", "leaky_slope_kept", FAILED, None, "grads['w1']", FIXED_HEAD + '''
    dZ2 = (Yhat - Y) / N
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ params["W2"].T) * np.where(Z1 > 0, 1.0, 0.01)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}
'''),
    E("fixed_backward", "ok_copy_first", OK, None, "", FIXED_HEAD + '''
    dZ2 = Yhat.copy()
    dZ2 -= Y
    dZ2 /= N
''' + FIXED_TAIL),
    E("fixed_backward", "ok_einsum_where", OK, None, "", '''
def fixed_backward(params, cache, Y):
    d2 = (cache["Yhat"] - Y) / len(Y)
    d1 = np.where(cache["Z1"] > 0, np.einsum("nc,hc->nh", d2, params["W2"]), 0.0)
    return {"W1": np.einsum("nd,nh->dh", cache["X"], d1), "b1": d1.sum(0),
            "W2": np.einsum("nh,nc->hc", cache["A1"], d2), "b2": d2.sum(0)}
'''),
]
