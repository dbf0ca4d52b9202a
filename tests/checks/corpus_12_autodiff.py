"""Answers to notebook 12 (the primitives, topological order, unbroadcast, the backward pass and the networks
on the student's engine), as students write them. The notebook's Tensor, as_tensor, tensor_mul and
cross_entropy are in the namespace, as they are in the notebook."""
from checks_harness import E, ERROR, FAILED, OK

ORDER, FAN_OUT, BROADCAST, RESET = ("autodiff_wrong_order", "autodiff_overwrite_at_fan_out",
                                    "autodiff_broadcast_not_summed", "autodiff_grad_not_reset")

BACKWARD = '''
def autodiff_backward(root):
    order = topological_order(root)
    for node in order:
        node.grad = np.zeros_like(node.data)
    root.grad = np.ones_like(root.data)
    for node in reversed(order):
        for parent, vjp in zip(node.parents, node.vjps):
            parent.grad += unbroadcast(vjp(node.grad), parent.shape)
'''
OVERWRITING = BACKWARD.replace("parent.grad += unbroadcast", "parent.grad = unbroadcast")
NOT_SUMMED = BACKWARD.replace("parent.grad += unbroadcast(vjp(node.grad), parent.shape)",
                              "parent.grad = parent.grad + vjp(node.grad)")
NO_RESET = BACKWARD.replace("    for node in order:\n        node.grad = np.zeros_like(node.data)\n",
                            "    for node in order:\n        if node.grad is None:\n"
                            "            node.grad = np.zeros_like(node.data)\n")
BREADTH_FIRST = '''
def autodiff_backward(root):
    order = topological_order(root)
    for node in order:
        node.grad = np.zeros_like(node.data)
    root.grad = np.ones_like(root.data)
    queue, seen = [root], {id(root)}
    while queue:
        node = queue.pop(0)
        for parent, vjp in zip(node.parents, node.vjps):
            parent.grad += unbroadcast(vjp(node.grad), parent.shape)
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
'''
MLP = '''
def mlp_loss_and_grads(params, X, Y):
    P = {name: Tensor(value) for name, value in params.items()}
    loss = cross_entropy(tensor_relu(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"], Y)
    autodiff_backward(loss)
    return float(loss.data), {name: leaf.grad for name, leaf in P.items()}
'''
RESIDUAL = '''
def residual_loss_and_grads(params, X, Y):
    P = {name: Tensor(value) for name, value in params.items()}
    H = tensor_relu(X @ P["W1"] + P["b1"])
    R = H + tensor_relu(H @ P["V"] + P["c"]) @ P["V"]
    loss = cross_entropy(R @ P["W2"] + P["b2"], Y)
    autodiff_backward(loss)
    return float(loss.data), {name: leaf.grad for name, leaf in P.items()}
'''
TRAIN = '''
def train_autodiff(params, X, Y, lr, steps):
    P = {name: Tensor(value) for name, value in params.items()}
    losses = []
    for _ in range(steps):
        loss = cross_entropy(tensor_relu(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"], Y)
        autodiff_backward(loss)
        losses.append(float(loss.data))
        for leaf in P.values():
            leaf.data -= lr * leaf.grad
    return losses
'''
LOG_SOFTMAX = '''
def tensor_log_softmax(a):
    a = as_tensor(a)
    shifted = a.data - a.data.max(axis=1, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return Tensor(out, (a,), (lambda g: g - np.exp(out) * g.sum(axis=1, keepdims=True),), "log_softmax")
'''


def _with_backward(network: str, backward: str) -> str:
    """A network exercise answered over a broken backward pass (the entry redefines both)."""
    return backward + network


ENTRIES = [
    # ------------------------------------------------------------------ tensor_add
    E("tensor_add", "as_written", OK, None, "correct", '''
def tensor_add(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(a.data + b.data, (a, b), (lambda g: g, lambda g: g), "add")
'''),
    E("tensor_add", "unbroadcasts_itself", OK, None, "correct", '''
def tensor_add(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(np.add(a.data, b.data), [a, b],
                  [lambda g: unbroadcast(g, a.shape), lambda g: unbroadcast(g, b.shape)], op="add")
'''),
    E("tensor_add", "parents_as_arrays", ERROR, None, "should be a tensor", '''
def tensor_add(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(a.data + b.data, (a.data, b.data), (lambda g: g, lambda g: g), "add")
'''),
    E("tensor_add", "returns_array", ERROR, None, "should be a tensor", '''
def tensor_add(a, b):
    return as_tensor(a).data + as_tensor(b).data
'''),
    E("tensor_add", "one_vjp", ERROR, None, "one function per parent", '''
def tensor_add(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(a.data + b.data, (a, b), (lambda g: g,), "add")
'''),
    E("tensor_add", "parents_swapped", FAILED, None, "order of the arguments", '''
def tensor_add(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(b.data + a.data, (b, a), (lambda g: g, lambda g: g), "add")
'''),
    E("tensor_add", "sums_every_share", FAILED, None, "share of", '''
def tensor_add(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(a.data + b.data, (a, b), (lambda g: g, lambda g: g.sum(axis=0)), "add")
'''),
    # --------------------------------------------------------------- tensor_matmul
    E("tensor_matmul", "as_written", OK, None, "correct", '''
def tensor_matmul(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(a.data @ b.data, (a, b), (lambda g: g @ b.data.T, lambda g: a.data.T @ g), "matmul")
'''),
    E("tensor_matmul", "np_dot_and_transpose", OK, None, "correct", '''
def tensor_matmul(a, b):
    a, b = as_tensor(a), as_tensor(b)
    A, B = a.data, b.data
    return Tensor(np.dot(A, B), (a, b), (lambda g: np.dot(g, np.transpose(B)), lambda g: np.dot(A.T, g)), "matmul")
'''),
    E("tensor_matmul", "missing_transpose_a", FAILED, None, "transpose of b carries", '''
def tensor_matmul(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(a.data @ b.data, (a, b), (lambda g: g @ b.data, lambda g: a.data.T @ g), "matmul")
'''),
    E("tensor_matmul", "b_share_wrong_order", FAILED, None, "share of b", '''
def tensor_matmul(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(a.data @ b.data, (a, b), (lambda g: g @ b.data.T, lambda g: g.T @ a.data), "matmul")
'''),
    E("tensor_matmul", "shares_swapped", FAILED, None, "share of a0", '''
def tensor_matmul(a, b):
    a, b = as_tensor(a), as_tensor(b)
    return Tensor(a.data @ b.data, (a, b), (lambda g: a.data.T @ g, lambda g: g @ b.data.T), "matmul")
'''),
    # ---------------------------------------------------------------- tensor_relu
    E("tensor_relu", "mask", OK, None, "correct", '''
def tensor_relu(a):
    a = as_tensor(a)
    mask = a.data > 0
    return Tensor(np.maximum(a.data, 0.0), (a,), (lambda g: g * mask,), "relu")
'''),
    E("tensor_relu", "where", OK, None, "correct", '''
def tensor_relu(a):
    a = as_tensor(a)
    return Tensor(np.where(a.data > 0, a.data, 0.0), (a,), (lambda g: np.where(a.data > 0, g, 0.0),), "relu")
'''),
    E("tensor_relu", "gate_open_at_zero", FAILED, None, "not a >= 0", '''
def tensor_relu(a):
    a = as_tensor(a)
    return Tensor(np.maximum(a.data, 0.0), (a,), (lambda g: g * (a.data >= 0),), "relu")
''', visible=OK),
    E("tensor_relu", "gate_from_g", FAILED, "relu_mask_from_gradient", "whatever the sign of g", '''
def tensor_relu(a):
    a = as_tensor(a)
    return Tensor(np.maximum(a.data, 0.0), (a,), (lambda g: g * (g > 0),), "relu")
'''),
    E("tensor_relu", "writes_into_g", FAILED, None, "must not write into g", '''
def tensor_relu(a):
    a = as_tensor(a)
    def vjp(g):
        g[a.data <= 0] = 0.0
        return g
    return Tensor(np.maximum(a.data, 0.0), (a,), (vjp,), "relu")
'''),
    E("tensor_relu", "in_place_forward", FAILED, None, "changed its inputs", '''
def tensor_relu(a):
    a = as_tensor(a)
    mask = a.data > 0
    a.data[~mask] = 0.0
    return Tensor(a.data, (a,), (lambda g: g * mask,), "relu")
'''),
    # ----------------------------------------------------------------- tensor_sum
    E("tensor_sum", "ones_like", OK, None, "correct", '''
def tensor_sum(a):
    a = as_tensor(a)
    return Tensor(a.data.sum(), (a,), (lambda g: g * np.ones_like(a.data),), "sum")
'''),
    E("tensor_sum", "full", OK, None, "correct", '''
def tensor_sum(a):
    a = as_tensor(a)
    return Tensor(np.sum(a.data), (a,), (lambda g: np.full(a.shape, float(g)),), "sum")
'''),
    E("tensor_sum", "ignores_g", FAILED, None, "not a plain array of ones", '''
def tensor_sum(a):
    a = as_tensor(a)
    return Tensor(a.data.sum(), (a,), (lambda g: np.ones_like(a.data),), "sum")
'''),
    E("tensor_sum", "scalar_share", FAILED, None, "should have shape", '''
def tensor_sum(a):
    a = as_tensor(a)
    return Tensor(a.data.sum(), (a,), (lambda g: g,), "sum")
'''),
    E("tensor_sum", "sums_axis_0", FAILED, None, "one axis only", '''
def tensor_sum(a):
    a = as_tensor(a)
    return Tensor(a.data.sum(axis=0), (a,), (lambda g: g * np.ones_like(a.data),), "sum")
'''),
    # ---------------------------------------------------------- tensor_log_softmax
    E("tensor_log_softmax", "as_written", OK, None, "correct", LOG_SOFTMAX),
    E("tensor_log_softmax", "logsumexp_and_softmax", OK, None, "correct", '''
def tensor_log_softmax(a):
    a = as_tensor(a)
    m = np.max(a.data, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(a.data - m), axis=1, keepdims=True))
    p = np.exp(a.data - lse)
    def vjp(g):
        return g - p * np.sum(g, axis=1, keepdims=True)
    return Tensor(a.data - lse, (a,), (vjp,), "log_softmax")
'''),
    E("tensor_log_softmax", "unstable", FAILED, "unstable_softmax", "subtract each row's own maximum", '''
def tensor_log_softmax(a):
    a = as_tensor(a)
    E = np.exp(a.data)
    out = np.log(E / E.sum(axis=1, keepdims=True))
    return Tensor(out, (a,), (lambda g: g - np.exp(out) * g.sum(axis=1, keepdims=True),), "log_softmax")
'''),
    E("tensor_log_softmax", "global_max", FAILED, None, "whole array", '''
def tensor_log_softmax(a):
    a = as_tensor(a)
    shifted = a.data - a.data.max()
    out = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return Tensor(out, (a,), (lambda g: g - np.exp(out) * g.sum(axis=1, keepdims=True),), "log_softmax")
''', visible=None),
    E("tensor_log_softmax", "guard_in_log", FAILED, None, "guard", '''
def tensor_log_softmax(a):
    a = as_tensor(a)
    shifted = a.data - a.data.max(axis=1, keepdims=True)
    E = np.exp(shifted)
    p = E / E.sum(axis=1, keepdims=True)
    return Tensor(np.log(p + 1e-12), (a,), (lambda g: g - p * g.sum(axis=1, keepdims=True),), "log_softmax")
'''),
    E("tensor_log_softmax", "vjp_without_row_sum", FAILED, None, "g.sum(axis=1, keepdims=true)",
      LOG_SOFTMAX.replace("g - np.exp(out) * g.sum(axis=1, keepdims=True)", "g - np.exp(out)")),
    E("tensor_log_softmax", "vjp_diagonal_only", FAILED, None, "diagonal", LOG_SOFTMAX.replace(
        "g - np.exp(out) * g.sum(axis=1, keepdims=True)", "g * (1 - np.exp(out))")),
    # ------------------------------------------------------------ topological_order
    E("topological_order", "recursive", OK, None, "correct", '''
def topological_order(root):
    order, seen = [], set()
    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for p in node.parents:
                visit(p)
            order.append(node)
    visit(root)
    return order
'''),
    E("topological_order", "kahn", OK, None, "correct", '''
def topological_order(root):
    nodes, stack, seen = [], [root], {id(root)}
    while stack:
        node = stack.pop()
        nodes.append(node)
        for p in node.parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    users = {id(n): 0 for n in nodes}
    for n in nodes:
        for p in n.parents:
            users[id(p)] += 1
    ready, reverse = [root], []
    while ready:
        node = ready.pop()
        reverse.append(node)
        for p in node.parents:
            users[id(p)] -= 1
            if users[id(p)] == 0:
                ready.append(p)
    return reverse[::-1]
'''),
    E("topological_order", "no_visited_set", FAILED, None, "more than once", '''
def topological_order(root):
    order = []
    def visit(node):
        for p in node.parents:
            visit(p)
        order.append(node)
    visit(root)
    return order
'''),
    E("topological_order", "root_first", FAILED, None, "reversed", '''
def topological_order(root):
    order, seen = [], set()
    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for p in node.parents:
                visit(p)
            order.append(node)
    visit(root)
    return order[::-1]
'''),
    E("topological_order", "breadth_first", FAILED, ORDER, "breadth first", '''
def topological_order(root):
    order, seen, queue = [], {id(root)}, [root]
    while queue:
        node = queue.pop(0)
        order.append(node)
        for p in node.parents:
            if id(p) not in seen:
                seen.add(id(p))
                queue.append(p)
    return order[::-1]
'''),
    E("topological_order", "leaves_only", FAILED, None, "missing", '''
def topological_order(root):
    leaves, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if not node.parents:
            leaves.append(node)
        stack.extend(node.parents)
    return leaves + [root]
'''),
    E("topological_order", "returns_data", FAILED, None, "not a node of the graph", '''
def topological_order(root):
    order, seen = [], set()
    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for p in node.parents:
                visit(p)
            order.append(node.data.copy() + 0.0)
    visit(root)
    return order
'''),
    # ----------------------------------------------------------------- unbroadcast
    E("unbroadcast", "loops", OK, None, "correct", '''
def unbroadcast(grad, shape):
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
'''),
    E("unbroadcast", "one_sum_and_reshape", OK, None, "correct", '''
def unbroadcast(grad, shape):
    grad = np.asarray(grad)
    padded = (1,) * (grad.ndim - len(shape)) + tuple(shape)
    axes = tuple(i for i, n in enumerate(padded) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)
'''),
    E("unbroadcast", "identity", FAILED, BROADCAST, "sum of the shares", '''
def unbroadcast(grad, shape):
    return grad
'''),
    E("unbroadcast", "leading_only", FAILED, None, "keepdims=true", '''
def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad
'''),
    E("unbroadcast", "no_keepdims", FAILED, None, "vanished", '''
def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis in reversed(range(len(shape))):
        if shape[axis] == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis)
    return grad
'''),
    E("unbroadcast", "mean", FAILED, None, "mean", '''
def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.mean(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad = grad.mean(axis=axis, keepdims=True)
    return grad
'''),
    E("unbroadcast", "sum_axis_0_only", FAILED, None, "shape", '''
def unbroadcast(grad, shape):
    if grad.shape == tuple(shape):
        return grad
    return grad.sum(axis=0)
'''),
    E("unbroadcast", "in_place", ERROR, None, "raised", '''
def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, n in enumerate(shape):
        if n == 1 and grad.shape[axis] != 1:
            grad.resize(shape)
    return grad
''', visible=None),
    # ------------------------------------------------------------ autodiff_backward
    E("autodiff_backward", "as_written", OK, None, "correct", BACKWARD),
    E("autodiff_backward", "zero_grad_helper_and_new_arrays", OK, None, "correct", '''
def zero_grad(nodes):
    for node in nodes:
        node.grad = np.zeros(node.data.shape)

def autodiff_backward(root):
    order = topological_order(root)
    zero_grad(order)
    root.grad = np.ones(root.data.shape)
    for node in order[::-1]:
        for parent, vjp in zip(node.parents, node.vjps):
            parent.grad = parent.grad + unbroadcast(vjp(node.grad), parent.data.shape)
'''),
    E("autodiff_backward", "overwrites", FAILED, FAN_OUT, "added (+=)", OVERWRITING),
    E("autodiff_backward", "not_summed", FAILED, BROADCAST, "unbroadcast", NOT_SUMMED),
    E("autodiff_backward", "breadth_first", FAILED, ORDER, "reverse topological order", BREADTH_FIRST),
    E("autodiff_backward", "no_reset", FAILED, RESET, "start every gradient", NO_RESET),
    E("autodiff_backward", "forward_order", FAILED, None, "is wrong", BACKWARD.replace("reversed(order)", "order")),
    E("autodiff_backward", "no_seed", FAILED, None, "is wrong",
      BACKWARD.replace("    root.grad = np.ones_like(root.data)\n", "")),
    # ----------------------------------------------------------- mlp_loss_and_grads
    E("mlp_loss_and_grads", "as_written", OK, None, "correct", MLP),
    E("mlp_loss_and_grads", "method_style", OK, None, "correct", '''
def mlp_loss_and_grads(params, X, Y):
    W1, b1, W2, b2 = (Tensor(params[k]) for k in ("W1", "b1", "W2", "b2"))
    hidden = (as_tensor(X) @ W1 + b1).relu()
    loss = cross_entropy(hidden @ W2 + b2, Y)
    loss.backward()
    return loss.data.item(), {"W1": W1.grad, "b1": b1.grad, "W2": W2.grad, "b2": b2.grad}
'''),
    E("mlp_loss_and_grads", "overwriting_is_invisible_here", OK, None, "correct", _with_backward(MLP, OVERWRITING)),
    E("mlp_loss_and_grads", "breadth_first_is_invisible_here", OK, None, "correct", _with_backward(MLP, BREADTH_FIRST)),
    E("mlp_loss_and_grads", "not_summed", FAILED, BROADCAST, "unbroadcast", _with_backward(MLP, NOT_SUMMED)),
    E("mlp_loss_and_grads", "loss_summed", FAILED, None, "n = ", MLP.replace(
        "loss = cross_entropy(", "loss = len(X) * cross_entropy(")),
    E("mlp_loss_and_grads", "no_relu", FAILED, None, "is wrong", MLP.replace(
        'tensor_relu(X @ P["W1"] + P["b1"])', '(X @ P["W1"] + P["b1"])')),
    E("mlp_loss_and_grads", "loss_as_tensor", ERROR, None, "should be a number", MLP.replace(
        "return float(loss.data),", "return loss,")),
    E("mlp_loss_and_grads", "before_backward", ERROR, None, "grads['w1'] is none", MLP.replace(
        "    autodiff_backward(loss)\n", "")),
    # ------------------------------------------------------------------ train_autodiff
    E("train_autodiff", "as_written", OK, None, "correct", TRAIN),
    E("train_autodiff", "new_leaves_every_step", OK, None, "correct", '''
def train_autodiff(params, X, Y, lr, steps):
    losses = []
    for _ in range(steps):
        P = {name: Tensor(value) for name, value in params.items()}
        loss = cross_entropy(tensor_relu(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"], Y)
        autodiff_backward(loss)
        losses.append(float(loss.data))
        for name, leaf in P.items():
            params[name] -= lr * leaf.grad
    return losses
'''),
    E("train_autodiff", "no_reset", FAILED, RESET, "not only those still none", _with_backward(TRAIN, NO_RESET)),
    E("train_autodiff", "rebinds_data", FAILED, None, "did not change", TRAIN.replace(
        "leaf.data -= lr * leaf.grad", "leaf.data = leaf.data - lr * leaf.grad")),
    E("train_autodiff", "records_after_update", FAILED, None, "one step late", '''
def train_autodiff(params, X, Y, lr, steps):
    P = {name: Tensor(value) for name, value in params.items()}
    logits = lambda: tensor_relu(X @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]
    losses = []
    for _ in range(steps):
        autodiff_backward(cross_entropy(logits(), Y))
        for leaf in P.values():
            leaf.data -= lr * leaf.grad
        losses.append(float(cross_entropy(logits(), Y).data))
    return losses
'''),
    E("train_autodiff", "ignores_lr", FAILED, None, "the losses for", TRAIN.replace("lr * leaf.grad", "0.5 * leaf.grad"),
      visible=None),
    E("train_autodiff", "copies_leaves", FAILED, None, "did not change", TRAIN.replace(
        "Tensor(value)", "Tensor(value.copy())")),
    # -------------------------------------------------------- residual_loss_and_grads
    E("residual_loss_and_grads", "as_written", OK, None, "correct", RESIDUAL),
    E("residual_loss_and_grads", "overwrites", FAILED, FAN_OUT, "added (+=)", _with_backward(RESIDUAL, OVERWRITING)),
    E("residual_loss_and_grads", "breadth_first", FAILED, ORDER, "skip connection", _with_backward(RESIDUAL, BREADTH_FIRST)),
    E("residual_loss_and_grads", "not_summed", FAILED, BROADCAST, "unbroadcast", _with_backward(RESIDUAL, NOT_SUMMED)),
    E("residual_loss_and_grads", "no_reset_is_invisible_here", OK, None, "correct", _with_backward(RESIDUAL, NO_RESET)),
    E("residual_loss_and_grads", "second_V_detached", FAILED, None, "is wrong", RESIDUAL.replace(
        '@ P["V"]\n', '@ Tensor(params["V"])\n')),
    E("residual_loss_and_grads", "no_skip", FAILED, None, "is wrong", RESIDUAL.replace("R = H + ", "R = ")),
]
