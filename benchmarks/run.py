"""course_lib benchmarks: ratios measured in one run (python benchmarks/run.py).

N=512, d0=784, d1=256, C=10, in float64 and float32:
  - forward and backward times, and backward / forward (aim: under 1.3x), also with the first
    layer's input gradient dX computed (mlp.backward skips it: X is data), the usual two products
    per layer against the forward's one;
  - one training step against the same step written inline in bare numpy (aim: within 1.1x);
  - Sequential against course_lib.mlp, forward + backward (aim: within 1.2x);
  - the autodiff engine (course_lib.autodiff) on the same network against course_lib.mlp,
    forward + loss + backward (aim: within 1.5x: one Python node per primitive, zeroed gradients);
  - grad_check's fast mode against the full check, on a small network.
Times are medians of interleaved repeats, so both sides of a ratio see the same machine load.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course_lib import autodiff, layers, losses, mlp  # noqa: E402
from course_lib.affine import affine_backward  # noqa: E402
from course_lib.gradcheck import grad_check  # noqa: E402

N, D0, D1, C = 512, 784, 256, 10


def median_times(fns: dict, repeats: int) -> dict:
    """Median seconds per call of each function, the calls interleaved round-robin."""
    times = {k: [] for k in fns}
    for f in fns.values():
        f()  # warm up
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def inline_step(P, X, Y, lr):
    """The syllabus's step written out in bare numpy, for comparison."""
    Z1 = X @ P["W1"] + P["b1"]
    A1 = np.maximum(0, Z1)
    Z2 = A1 @ P["W2"] + P["b2"]
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    Yhat = E / E.sum(axis=1, keepdims=True)
    dZ2 = (Yhat - Y) / X.shape[0]
    dA1 = dZ2 @ P["W2"].T
    dZ1 = dA1 * (Z1 > 0)
    P["W2"] -= lr * (A1.T @ dZ2)
    P["b2"] -= lr * dZ2.sum(axis=0)
    P["W1"] -= lr * (X.T @ dZ1)
    P["b1"] -= lr * dZ1.sum(axis=0)


def backward_with_input_gradient(P, cache, Y):
    """mlp.backward plus the first layer's dX = dZ1 W1^T: what a backward pass costs when every
    layer, the first included, computes both dX and dW."""
    dZ2 = losses.softmax_cross_entropy_backward(cache["Yhat"], Y)
    dA1, dW2, db2 = affine_backward(dZ2, (cache["A1"], P["W2"]))
    dZ1 = dA1 * (cache["Z1"] > 0)
    dX, dW1, db1 = affine_backward(dZ1, (cache["X"], P["W1"]), need_dX=True)
    return dX, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def library_step(P, X, Y, lr):
    Yhat, cache = mlp.forward(P, X)
    mlp.sgd_step(P, mlp.backward(P, cache, Y), lr)


def bench_dtype(dtype, repeats):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D0)).astype(dtype)
    Y = losses.one_hot(rng.integers(0, C, N), C, dtype)
    P = mlp.init_params(D0, D1, C, dtype=dtype)
    P_inline = {k: v.copy() for k, v in P.items()}
    _, cache = mlp.forward(P, X)
    net = layers.Sequential([layers.Linear(P["W1"].copy(), P["b1"].copy()), layers.ReLU(),
                             layers.Linear(P["W2"].copy(), P["b2"].copy())])
    head = layers.SoftmaxCrossEntropy()

    def seq_fwd_bwd():
        out, caches = net.forward(X)
        _, lc = head.forward(out, Y)
        net.backward(head.backward(lc), caches, need_dX=False)  # as mlp.backward: X is data

    def mlp_fwd_bwd():  # the loss too, as the Sequential's head computes it
        Yhat, c = mlp.forward(P, X)
        losses.cross_entropy(Yhat, Y)
        mlp.backward(P, c, Y)

    tensors = {k: autodiff.Tensor(v, requires_grad=True) for k, v in P.items()}

    def autodiff_fwd_bwd():  # the graph is rebuilt every call, as in training
        autodiff.backward(autodiff.mlp_loss(tensors, X, Y))

    t = median_times({
        "forward": lambda: mlp.forward(P, X),
        "backward": lambda: mlp.backward(P, cache, Y),
        "backward_dX": lambda: backward_with_input_gradient(P, cache, Y),
        "step": lambda: library_step(P, X, Y, 1e-6),
        "inline": lambda: inline_step(P_inline, X, Y, 1e-6),
        "sequential": seq_fwd_bwd,
        "mlp": mlp_fwd_bwd,
        "autodiff": autodiff_fwd_bwd,
    }, repeats)
    return t


def bench_gradcheck(repeats):
    rng = np.random.default_rng(0)
    P = mlp.init_params(20, 16, 5, seed=1)
    X = rng.standard_normal((16, 20))
    Y = losses.one_hot(rng.integers(0, 5, 16), 5)
    _, cache = mlp.forward(P, X)
    grads = mlp.backward(P, cache, Y)
    f = lambda: mlp.loss(P, X, Y)  # noqa: E731
    return median_times({"full": lambda: grad_check(f, P, grads), "fast": lambda: grad_check(f, P, grads, fast=True)},
                        max(3, repeats // 10)), sum(p.size for p in P.values())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    rows = []
    for dtype in (np.float64, np.float32):
        t = bench_dtype(dtype, args.repeats)
        name = np.dtype(dtype).name
        rows += [
            (f"forward ({name})", f"{t['forward'] * 1e3:.2f} ms", ""),
            (f"backward ({name})", f"{t['backward'] * 1e3:.2f} ms", f"{t['backward'] / t['forward']:.2f}x forward (aim < 1.3x)"),
            (f"backward with the first layer's dX ({name})", f"{t['backward_dX'] * 1e3:.2f} ms",
             f"{t['backward_dX'] / t['forward']:.2f}x forward (the usual rule: about 2x)"),
            (f"training step ({name})", f"{t['step'] * 1e3:.2f} ms", f"{t['step'] / t['inline']:.2f}x inline numpy (aim < 1.1x)"),
            (f"Sequential fwd+bwd ({name})", f"{t['sequential'] * 1e3:.2f} ms", f"{t['sequential'] / t['mlp']:.2f}x course_lib.mlp (aim < 1.2x)"),
            (f"autodiff fwd+bwd ({name})", f"{t['autodiff'] * 1e3:.2f} ms", f"{t['autodiff'] / t['mlp']:.2f}x course_lib.mlp (aim < 1.5x)"),
        ]
    g, n_params = bench_gradcheck(args.repeats)
    rows.append((f"grad_check, {n_params} parameters", f"full {g['full'] * 1e3:.1f} ms, fast {g['fast'] * 1e3:.2f} ms",
                 f"fast is {g['full'] / g['fast']:.0f}x quicker"))
    print(f"N={N}, d0={D0}, d1={D1}, C={C}; medians of {args.repeats} interleaved runs; numpy {np.__version__}\n")
    print("| measurement | time | ratio |\n|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    main()
