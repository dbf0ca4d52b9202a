"""The demo class: synthetic submissions made from solutions/, with what grading each should give.

`python -m grader.demo` regenerates grader/demo/submissions/ (committed, and checked by a test to
match this script). Each student starts from the student version of a notebook with the solutions
filled in, then has one thing done to it: a catalogued bug, a stub left blank, an honest habit the
grader must not mistake for cheating, or one of the ways a submission goes wrong. ``perfect`` and
``blank`` hand in every notebook; the others hand in the notebooks their case is about (the rest
are ``missing``, as they would be in a real class). EXPECTED says, by hand, what the grader must
report for each; tests/test_grader_demo.py grades the class and checks every entry.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .notebooks import is_test_cell, nbgrader_meta
from .release import release
from .workspace import Course

S1, F, B, G, H, W, D = ("01_setting", "02_forward_cache", "03_backward", "04_gradient_check", "05_bug_hunt",
                        "06_whole_system", "07_any_depth")
ASSIGNMENTS = {S1: "setting", F: "forward_cache", B: "backward", G: "gradient_check", H: "bug_hunt",
               W: "whole_system", D: "any_depth"}
# ---- notebooks 09 and 10 (checking layers, initialisation)
L9, I10 = "09_checking_layers", "10_initialisation"
ASSIGNMENTS.update({L9: "checking_layers", I10: "initialisation"})
# ---- end of notebooks 09 and 10
ALL = tuple(ASSIGNMENTS)


@dataclass
class Student:
    name: str
    what: str                                            # one line for the README
    solutions: dict = field(default_factory=dict)        # {(assignment, solution grade_id): new source}
    extra_cell: dict = field(default_factory=dict)       # {assignment: code inserted after the imports}
    test_edits: dict = field(default_factory=dict)       # {(assignment, test grade_id): new source, or None to delete}
    raw: dict = field(default_factory=dict)              # {assignment: file content replacing the notebook}
    submits: tuple = ()                                  # the assignments handed in (default: those its case uses)
    blank: bool = False                                  # submit the student version untouched
    lms_name: bool = False                               # submitted as <student>_<notebook>.ipynb at the top level
    edit: object = None                                  # edit(assignment, nb) for anything else (tests/cheating)
    expected: dict = field(default_factory=dict)         # {(assignment, test grade_id): (status, bug)}; others ok
    expected_notebook: dict = field(default_factory=dict)  # {assignment: status} when not "graded"
    flagged: tuple = ()                                  # assignments whose record must carry flags

    def handed_in(self) -> tuple:
        if self.submits:
            return self.submits
        used = {k[0] for k in [*self.solutions, *self.test_edits, *self.expected]} | set(self.extra_cell) | set(self.raw)
        return tuple(a for a in ALL if a in used) or ALL


def _sig(name, args, body):
    return f"def {name}({args}):\n" + "\n".join("    " + line for line in body.splitlines())


def _errors(assignment, names, status="error"):
    return {(assignment, f"test_{n}"): (status, "") for n in names}


_EXERCISES = {S1: ["layer_shapes", "affine", "count_parameters", "finite_difference_passes"],
              F: ["relu", "softmax", "cross_entropy", "forward"],
              B: ["softmax_cross_entropy_backward", "output_layer_backward", "relu_backward", "hidden_layer_backward",
                  "backward", "sgd_step"],
              G: ["numerical_gradient", "rel_error", "grad_check_group"],
              H: ["cache_unchanged", "interleaved_forward_ok", *[f"answers_{x}" for x in "ABCDEF"], "fixed_backward"],
              W: ["overfit_tiny_batch", "predict", "train_digits"],
              D: ["Linear", "ReLU", "Tanh", "Sequential", "sequential_loss_and_grads", "train_sequential", "fit_spirals"]}
# ---- notebooks 09 and 10
_EXERCISES.update({L9: ["numerical_gradient_array", "sigmoid_bce_loss", "sigmoid_bce_backward", "batchnorm_forward",
                        "batchnorm_backward", "dropout_forward", "dropout_backward"],
                   I10: ["initialise", "layer_statistics", "dead_units_and_examples", "LeakyReLU"]})
# ---- end of notebooks 09 and 10

# ------------------------------------------------- notebooks 11 and 12 (issue 12): their block
TR, AD = "11_training", "12_autodiff"
ASSIGNMENTS.update({TR: "training", AD: "autodiff"})
ALL = tuple(ASSIGNMENTS)
_EXERCISES.update({
    TR: ["minibatches", "l2_penalty", "l2_penalty_gradient", "Momentum", "Adam", "cosine_decay", "update_to_weight_ratio",
         "EarlyStopping", "fit"],
    AD: ["tensor_add", "tensor_matmul", "tensor_relu", "tensor_sum", "tensor_log_softmax", "topological_order",
         "unbroadcast", "autodiff_backward", "mlp_loss_and_grads", "train_autodiff", "residual_loss_and_grads"]})


def _edit(assignment, grade_id, old, new):
    return lambda a, nb: _replace_in(a, nb, assignment, grade_id, old, new)


_FAILS = {(AD, f"test_{n}"): ("failed", "autodiff_broadcast_not_summed")
          for n in ("autodiff_backward", "mlp_loss_and_grads", "residual_loss_and_grads")}
STUDENTS_11_12 = [
    # One student per catalogued bug of sections 11 and 12; each hands in the notebook its bug is in.
    Student("adam_uncorrected", "Adam without bias correction (section 11.4)",
            edit=_edit(TR, "Adam", "return -lr * m_hat / (np.sqrt(v_hat) + self.eps)",
                       "return -lr * m / (np.sqrt(v) + self.eps)"),
            expected={(TR, "test_Adam"): ("failed", "adam_no_bias_correction")}),
    Student("momentum_lags", "momentum that uses the previous step's gradient (section 11.3)",
            edit=_edit(TR, "Momentum", "velocity = self.mu * self.state.get(name, 0.0) - lr * grad\n"
                       "        self.state[name] = velocity",
                       "velocity = self.mu * self.state.get(name, 0.0) - lr * self.state.get(name + '/g', 0.0)\n"
                       "        self.state[name], self.state[name + '/g'] = velocity, grad.copy()"),
            expected={(TR, "test_Momentum"): ("failed", "momentum_previous_gradient")}),
    # The fit checker replays the run with the student's own L2 gradient: the bug shows there too.
    Student("decays_biases", "weight decay on the biases too (section 11.2)",
            edit=_edit(TR, "l2_penalty_gradient", "for name, p in params.items() if np.ndim(p) >= 2}",
                       "for name, p in params.items()}"),
            expected={(TR, "test_l2_penalty_gradient"): ("failed", "weight_decay_on_biases"),
                      (TR, "test_fit"): ("failed", "weight_decay_on_biases")}),
    Student("doubled_decay", "the L2 gradient with a factor 2 (section 11.2)",
            edit=_edit(TR, "l2_penalty_gradient", "{name: lam * p", "{name: 2 * lam * p"),
            expected={(TR, "test_l2_penalty_gradient"): ("failed", "l2_gradient_doubled"),
                      (TR, "test_fit"): ("failed", "l2_gradient_doubled")}),
    # Overwriting and the wrong order are invisible on the two-layer network (a chain): its exercises pass.
    Student("overwrites_fan_out", "assigns each share instead of adding it (section 12.3)",
            edit=_edit(AD, "autodiff_backward", "parent.grad += unbroadcast", "parent.grad = unbroadcast"),
            expected={(AD, "test_autodiff_backward"): ("failed", "autodiff_overwrite_at_fan_out"),
                      (AD, "test_residual_loss_and_grads"): ("failed", "autodiff_overwrite_at_fan_out")}),
    Student("breadth_first", "orders the graph breadth first from the loss (section 12.2)",
            solutions={(AD, "topological_order"): _sig("topological_order", "root", "\n".join([
                "order, seen, queue = [], {id(root)}, [root]", "while queue:", "    node = queue.pop(0)",
                "    order.append(node)", "    for parent in node.parents:", "        if id(parent) not in seen:",
                "            seen.add(id(parent))", "            queue.append(parent)", "return order[::-1]"]))},
            expected={(AD, f"test_{n}"): ("failed", "autodiff_wrong_order")
                      for n in ("topological_order", "autodiff_backward", "residual_loss_and_grads")}),
    # Its training exercise raises (a bias's gradient of the batch's shape cannot update the bias).
    Student("broadcast_unsummed", "never sums a broadcast gradient back (section 12.4)",
            edit=_edit(AD, "autodiff_backward", "parent.grad += unbroadcast(vjp(node.grad), parent.shape)",
                       "parent.grad = parent.grad + vjp(node.grad)"),
            expected={**_FAILS, (AD, "test_train_autodiff"): ("error", "")}),
    Student("stale_gradients", "resets only the gradients that are still None (section 12.6)",
            edit=_edit(AD, "autodiff_backward", "    for node in order:\n        node.grad = np.zeros_like(node.data)",
                       "    for node in order:\n        if node.grad is None:\n"
                       "            node.grad = np.zeros_like(node.data)"),
            expected={(AD, "test_autodiff_backward"): ("failed", "autodiff_grad_not_reset"),
                      (AD, "test_train_autodiff"): ("failed", "autodiff_grad_not_reset")}),
]
# ------------------------------------------------------------ end of the block of notebooks 11 and 12

UNSTABLE = _sig("softmax", "Z", "E = np.exp(Z)\nreturn E / E.sum(axis=1, keepdims=True)")

CLASS = [
    Student("perfect", "every exercise of every notebook solved", submits=ALL),
    Student("blank", "hands in every student notebook untouched", blank=True, submits=ALL,
            expected={k: v for a in ALL for k, v in _errors(a, _EXERCISES[a]).items()}),
    # ------------------------------------------------------------------ the catalogued bugs
    Student("missing_average", "forgets the 1/N in the loss gradient (section 5.2)",
            solutions={(B, "softmax_cross_entropy_backward"): _sig("softmax_cross_entropy_backward", "Yhat, Y", "return Yhat - Y")},
            expected={(B, "test_softmax_cross_entropy_backward"): ("failed", "missing_batch_average"),
                      (B, "test_backward"): ("failed", "missing_batch_average")}),
    Student("transposed", "computes dW2 as dZ2ᵀA1 and forces it into shape (section 5.1)",
            solutions={(B, "output_layer_backward"): _sig("output_layer_backward", "dZ2, A1, W2",
                                                          "dW2 = (dZ2.T @ A1).reshape(W2.shape)\nreturn dW2, dZ2.sum(axis=0), dZ2 @ W2.T")},
            expected={(B, "test_output_layer_backward"): ("failed", "wrong_transpose"),
                      (B, "test_backward"): ("failed", "wrong_transpose")}),
    Student("mask_from_gradient", "gates the ReLU by the sign of the gradient (section 5.5)",
            solutions={(B, "relu_backward"): _sig("relu_backward", "dA1, Z1", "return dA1 * (dA1 > 0)")},
            expected={(B, "test_relu_backward"): ("failed", "relu_mask_from_gradient"),
                      (B, "test_backward"): ("failed", "relu_mask_from_gradient")}),
    Student("bias_mean", "averages the bias gradient instead of summing it (section 5.2)",
            solutions={(B, "hidden_layer_backward"): _sig("hidden_layer_backward", "dZ1, X", "return X.T @ dZ1, dZ1.mean(axis=0)")},
            expected={(B, "test_hidden_layer_backward"): ("failed", "bias_gradient_averaged"),
                      (B, "test_backward"): ("failed", "bias_gradient_averaged")}),
    Student("in_place", "computes the loss gradient inside the cached Yhat (section 5.6)",
            solutions={(B, "softmax_cross_entropy_backward"): _sig("softmax_cross_entropy_backward", "Yhat, Y",
                                                                   "Yhat -= Y\nYhat /= Yhat.shape[0]\nreturn Yhat")},
            expected={(B, "test_softmax_cross_entropy_backward"): ("failed", "in_place_cache_mutation"),
                      (B, "test_backward"): ("failed", "in_place_cache_mutation")}),
    Student("unstable_softmax", "exponentiates the raw logits (section 5.4)", solutions={(F, "softmax"): UNSTABLE},
            expected={(F, "test_softmax"): ("failed", "unstable_softmax"), (F, "test_forward"): ("failed", "unstable_softmax")}),
    Student("stale_cache", "keeps one cache dict for every forward pass (section 5.3)",
            solutions={(F, "forward"): "_CACHE = {}\n\n" + _sig("forward", "params, X", "\n".join([
                'Z1 = X @ params["W1"] + params["b1"]', "A1 = relu(Z1)",
                'Yhat = softmax(A1 @ params["W2"] + params["b2"])',
                '_CACHE.update(X=X, Z1=Z1, A1=A1, Yhat=Yhat)', "return Yhat, _CACHE"]))},
            expected={(F, "test_forward"): ("failed", "stale_cache")}),
    Student("unstable_predict", "predicts with a softmax of the raw logits (notebook 06)",
            solutions={(W, "predict"): "def predict(params, X):\n    A1 = np.maximum(X @ params['W1'] + params['b1'], 0)\n"
                                       "    Z2 = A1 @ params['W2'] + params['b2']\n    E = np.exp(Z2)\n"
                                       "    return (E / E.sum(axis=1, keepdims=True)).argmax(axis=1)"},
            expected={(W, "test_predict"): ("failed", "unstable_softmax")}),
    # ------------------------------------------------------------- mistakes of their own
    Student("transposed_shapes", "writes W1's shape as (d1, d0) in notebook 01",
            solutions={(S1, "layer_shapes"): _sig("layer_shapes", "N, d0, d1, C", "return {'X': (N, d0), 'W1': (d1, d0), "
                                                 "'b1': (d1,), 'Z1': (N, d1), 'A1': (N, d1), 'W2': (d1, C), 'b2': (C,), "
                                                 "'Z2': (N, C), 'Yhat': (N, C)}")},
            expected={(S1, "test_layer_shapes"): ("failed", "")}),
    Student("one_sided", "uses a one-sided difference in notebook 04",
            solutions={(G, "numerical_gradient"): _sig("numerical_gradient", "f, x, eps=1e-5", "\n".join([
                "grad = np.zeros_like(x)", "f0 = f()", "for idx in np.ndindex(x.shape):", "    old = x[idx]",
                "    x[idx] = old + eps", "    grad[idx] = (f() - f0) / eps", "    x[idx] = old", "return grad"]))},
            expected={(G, "test_numerical_gradient"): ("failed", ""), (G, "test_grad_check_group"): ("failed", "")}),
    Student("wrong_suspect", "names the wrong bug for suspect A in notebook 05",
            solutions={(H, "answers"): 'answers = {"A": "missing_batch_average", "B": "in_place_cache_mutation", '
                                       '"C": "missing_batch_average", "D": "stale_cache", "E": "relu_mask_from_activation", '
                                       '"F": "unstable_softmax"}'},
            expected={(H, "test_answers_A"): ("failed", "")}),
    Student("reversed_grads", "returns a Sequential's gradients in reverse order (notebook 07)",
            edit=lambda a, nb: _replace_in(a, nb, D, "Sequential", "return dout, grads", "return dout, grads[::-1]"),
            submits=(D,),
            # The loss and training exercises are checked with course_lib's Sequential, not the student's.
            expected={(D, "test_Sequential"): ("failed", ""), (D, "test_fit_spirals"): ("error", "")}),
    # --------------------------------------------------------- honest habits: never flagged
    Student("warns_but_right", "a correct relu that also emits a warning: keeps its points",
            solutions={(F, "relu"): _sig("relu", "Z", "import warnings\nwarnings.warn('relu: just saying hello')\nreturn np.maximum(Z, 0.0)")}),
    Student("tuples_and_dicts", "returns a namedtuple from forward and keeps its cache in an OrderedDict",
            solutions={(F, "forward"): "from collections import OrderedDict, namedtuple\nForward = namedtuple('Forward', 'Yhat cache')\n\n"
                       + _sig("forward", "params, X", "\n".join([
                           'Z1 = X @ params["W1"] + params["b1"]', "A1 = relu(Z1)",
                           'Yhat = softmax(A1 @ params["W2"] + params["b2"])',
                           "return Forward(Yhat, OrderedDict(X=X, Z1=Z1, A1=A1, Yhat=Yhat))"]))}),
    Student("slots_layers", "writes its layers with __slots__ (notebook 07)",
            edit=lambda a, nb: _replace_in(a, nb, D, "Linear", "class Linear:", "class Linear:\n    __slots__ = ('params',)"),
            submits=(D,)),
    Student("display_habits", "sets IPython's display option, times a cell and saves a figure to its home folder",
            extra_cell={B: "get_ipython().ast_node_interactivity = 'all'\nimport matplotlib.pyplot as plt\n"
                           "plt.plot([1, 2]); plt.savefig('/home/alice/fig.png')"},
            edit=lambda a, nb: _replace_in(a, nb, B, "relu_backward", "def relu_backward", "%%time\ndef relu_backward"),
            submits=(B,)),
    # --------------------------------------------------------- what goes wrong with files
    Student("infinite_loop", "relu_backward never returns: only the exercises that call it lose points",
            solutions={(B, "relu_backward"): _sig("relu_backward", "dA1, Z1", "while True:\n    pass")},
            expected={(B, "test_relu_backward"): ("timeout", ""), (B, "test_backward"): ("timeout", "")}),
    Student("memory_hog", "relu allocates 20 GB",
            solutions={(F, "relu"): _sig("relu", "Z", "waste = np.ones((50_000, 50_000))\nreturn np.maximum(Z, 0.0)")},
            expected={(F, "test_relu"): ("error", ""), (F, "test_forward"): ("error", "")}),
    Student("chatty", "prints 5 MB of output, then solves everything", extra_cell={F: "print('spam ' * 1_000_000)"}),
    Student("calls_exit", "calls sys.exit() in a cell, then solves everything", extra_cell={B: "import sys\nsys.exit(0)"}),
    Student("kills_kernel", "relu_backward ends its own process with os._exit: only the exercises that call it lose "
            "points", solutions={(B, "relu_backward"): _sig("relu_backward", "dA1, Z1", "import os\nos._exit(1)")},
            expected={(B, "test_relu_backward"): ("error", ""), (B, "test_backward"): ("error", "")}),
    Student("edits_test", "replaces the relu test with `pass` and returns Z unchanged: the test is restored, "
            "that exercise marked tampered", solutions={(F, "relu"): _sig("relu", "Z", "return Z")},
            test_edits={(F, "test_relu"): "pass"},
            expected={(F, "test_relu"): ("tampered", ""), (F, "test_forward"): ("failed", "")}, flagged=(F,)),
    Student("deletes_test", "deletes the sgd_step test cell: it is put back, and the record says so",
            test_edits={(B, "test_sgd_step"): None}, flagged=(B,)),
    Student("calls_reference", "answers relu with course_lib's own relu",
            solutions={(F, "relu"): "from course_lib.activations import relu"},
            expected={(F, "test_relu"): ("tampered", "")}, flagged=(F,)),
    Student("broken_files", "uploads text instead of 02 and an empty file instead of 03",
            raw={F: "I could not get Jupyter to work, sorry.\n", B: ""},
            expected_notebook={F: "invalid", B: "invalid"}),
    Student("old_format", "uploads 02 saved by a 2014 Jupyter (nbformat 3)",
            raw={F: json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]})},
            expected_notebook={F: "invalid"}),
    Student("carol", "an LMS-style upload, carol_forward_cache.ipynb, with 02 only", lms_name=True, submits=(F,)),
    # ------------------------------------------- notebooks 09 and 10: their catalogued bugs and a slip
    Student("bce_from_probabilities", "takes the log of sigmoid(Z), which rounds to 1 (section 9.2)",
            solutions={(L9, "sigmoid_bce_loss"): _sig("sigmoid_bce_loss", "Z, Y", "P = 1 / (1 + np.exp(-Z))\n"
                                                      "return float(-np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / len(Z))")},
            expected={(L9, "test_sigmoid_bce_loss"): ("failed", "bce_saturated_probabilities")}),
    Student("batchnorm_no_variance", "differentiates batch norm through the mean only (section 9.3)",
            edit=lambda a, nb: _replace_in(a, nb, L9, "batchnorm_backward",
                                           "g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0)", "g - g.mean(axis=0)"),
            submits=(L9,), expected={(L9, "test_batchnorm_backward"): ("failed", "batchnorm_no_variance_path")}),
    Student("dropout_redraws", "draws a new dropout mask in backward (section 9.4)",
            solutions={(L9, "dropout_backward"): _sig("dropout_backward", "dout, cache", "mask, p = cache\n"
                                                      "if mask is None:\n    return dout\n"
                                                      "return dout * (np.random.rand(*dout.shape) < 1 - p) / (1 - p)")},
            expected={(L9, "test_dropout_backward"): ("failed", "dropout_mask_redrawn")}),
    Student("dropout_unscaled", "zeroes units without dividing the survivors by 1 - p (section 9.4)",
            edit=lambda a, nb: _replace_in(a, nb, L9, "dropout_forward", "< keep) / keep", "< keep).astype(float)"),
            submits=(L9,), expected={(L9, "test_dropout_forward"): ("failed", "dropout_not_rescaled")}),
    Student("xavier_like", "gives \"glorot\" the syllabus's \"Xavier-like\" variance 1/d_in, LeCun's (notebook 10)",
            edit=lambda a, nb: _replace_in(a, nb, I10, "initialise", '"glorot": 2.0 / (d_in + d_out)', '"glorot": 1.0 / d_in'),
            submits=(I10,), expected={(I10, "test_initialise"): ("failed", "")}),
    Student("leaky_zero_one_gate", "gates its leaky ReLU's backward 0/1, losing the slope (section 5.5, notebook 10)",
            edit=lambda a, nb: _replace_in(a, nb, I10, "LeakyReLU", "np.where(x > 0, dout, self.alpha * dout)",
                                           "dout * (np.where(x > 0, x, self.alpha * x) > 0)"),
            submits=(I10,), expected={(I10, "test_LeakyReLU"): ("failed", "relu_mask_from_activation")}),
    # ------------------------------------------- end of notebooks 09 and 10
]
CLASS += STUDENTS_11_12  # notebooks 11 and 12 (their block above)
EXTRA_FILES = {"perfect/notes.txt": "My notes: remember the 1/N!\n"}


def _replace_in(a, nb, assignment, grade_id, old, new):
    """Edit the solution cell ``grade_id`` of ``nb`` (a demo's change that is not a whole new source)."""
    if a != assignment:
        return
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)
    if old not in cell.source:
        raise ValueError(f"{grade_id}: {old!r} is not in the cell")
    cell.source = cell.source.replace(old, new, 1)


def expected_rows(course_layout: dict, students: list | None = None, assignments: dict | None = None) -> dict:
    """{(student, assignment, exercise): (status, bug)} for the whole class (default: the demo class).
    A notebook of an assignment somebody handed in but this student did not is ``missing``."""
    rows = {}
    students = students or CLASS
    handed = {a for st in students for a in st.handed_in()}
    for s in students:
        for a, nb in (assignments or ASSIGNMENTS).items():
            if a not in handed:
                continue
            nb_status = s.expected_notebook.get(a, "graded" if a in s.handed_in() else "missing")
            for ex in course_layout[a][nb]:
                if nb_status in ("missing", "invalid"):
                    rows[(s.name, a, ex.grade_id)] = (nb_status, "")
                else:
                    rows[(s.name, a, ex.grade_id)] = s.expected.get((a, ex.grade_id), ("ok", ""))
    return rows


def _solved(release_nb, solution_nb):
    """The student version with every solution cell filled in from the instructor's notebook."""
    sources = {nbgrader_meta(c)["grade_id"]: c.source for c in solution_nb.cells if nbgrader_meta(c).get("solution")}
    for c in release_nb.cells:
        gid = nbgrader_meta(c).get("grade_id")
        if nbgrader_meta(c).get("solution") and gid in sources:
            c.source = sources[gid]
    return release_nb


def build(out: Path | None = None, students: list | None = None, assignments: dict | None = None,
          extra_files: dict | None = None, course: Course | None = None) -> Path:
    """Write a class (default: the demo class) to ``out`` (default the course's demo folder),
    replacing what is there."""
    course = course or Course.find()
    out = Path(out or course.demo)
    students = students or CLASS
    assignments = assignments or ASSIGNMENTS
    extra_files = EXTRA_FILES if extra_files is None else extra_files
    with tempfile.TemporaryDirectory() as tmp:
        rel = release(course, Path(tmp) / "release", only=list(assignments))
        shutil.rmtree(out, ignore_errors=True)
        for s in students:
            for a, nb_name in assignments.items():
                if a not in s.handed_in():
                    continue
                dest = out / f"{s.name}_{nb_name}.ipynb" if s.lms_name else out / s.name / a / f"{nb_name}.ipynb"
                dest.parent.mkdir(parents=True, exist_ok=True)
                if a in s.raw:
                    dest.write_text(s.raw[a])
                    continue
                nb = nbformat.read(rel / a / f"{nb_name}.ipynb", as_version=4)
                if not s.blank:
                    nb = _solved(nb, nbformat.read(course.source / a / f"{nb_name}.ipynb", as_version=4))
                for c in nb.cells:
                    gid = nbgrader_meta(c).get("grade_id")
                    if (a, gid) in s.solutions:
                        c.source = s.solutions[(a, gid)]
                for (ta, gid), src in s.test_edits.items():
                    if ta == a:
                        cell = next(c for c in nb.cells if is_test_cell(c) and nbgrader_meta(c)["grade_id"] == gid)
                        if src is None:
                            nb.cells.remove(cell)
                        else:
                            cell.source = src
                if a in s.extra_cell:
                    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
                    extra = nbformat.v4.new_code_cell(s.extra_cell[a])
                    extra.id = "demo-extra-cell"  # fixed, so that the generated class is reproducible
                    nb.cells.insert(first_code + 1, extra)
                if s.edit is not None:
                    s.edit(a, nb)
                nbformat.write(nb, dest)
        for rel_path, text in extra_files.items():
            (out / rel_path).write_text(text)
    return out


if __name__ == "__main__":
    print(f"demo class written to {build()}")
