"""The attack corpus: submissions that try to fool the grader, and honest ones that must not be flagged.

`python tests/cheating/corpus.py` writes tests/cheating/submissions/ (committed; a test checks
that it matches this file). Every submission is the student version of 02_forward_cache with
the solutions filled in, then changed as described; EXPECTED statuses are stated by hand.
tests/test_cheating.py grades the corpus with the real grading command.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grader.demo import Student, _sig, build  # noqa: E402
from grader.notebooks import is_test_cell, nbgrader_meta  # noqa: E402

F = "02_forward_cache"
ASSIGNMENTS = {F: "forward_cache"}
OUT = Path(__file__).resolve().parent / "submissions"

WRONG_RELU = {(F, "relu"): _sig("relu", "Z", "return Z")}  # not a ReLU at all
RELU_AND_FORWARD = {(F, "test_relu"): ("tampered", ""), (F, "test_forward"): ("tampered", "")}
SOFTMAX_AND_FORWARD = {(F, "test_softmax"): ("tampered", ""), (F, "test_forward"): ("tampered", "")}
ALL = {(F, g): ("tampered", "") for g in ("test_relu", "test_softmax", "test_cross_entropy", "test_forward")}
# The repository root, found from the installed course package (the path differs on every machine).
ROOT_EXPR = "__import__('pathlib').Path(__import__('course_lib').__file__).resolve().parents[1]"


def _test_cell(nb, grade_id):
    return next(c for c in nb.cells if is_test_cell(c) and nbgrader_meta(c)["grade_id"] == grade_id)


def _duplicate_softmax_test(a, nb):
    cell = _test_cell(nb, "test_softmax")
    copy = type(cell)(cell)
    copy.id = "duplicated-test"
    nb.cells.insert(nb.cells.index(cell) + 1, copy)


def _move_forward_test_first(a, nb):
    cell = _test_cell(nb, "test_forward")
    nb.cells.remove(cell)
    nb.cells.insert(nb.cells.index(_test_cell(nb, "test_relu")), cell)


def _raise_points(a, nb):
    _test_cell(nb, "test_relu").metadata["nbgrader"]["points"] = 50


ATTACKS = [
    Student("patches_numpy", "replaces numpy's comparisons so that any answer looks right",
            extra_cell={F: "import numpy.testing\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
                           "np.array_equal = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None"},
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("patches_checker", "replaces the course's checker with one that always prints a tick",
            extra_cell={F: "checks.check_relu = lambda *a, **k: print('✔ relu: correct on all 11 test cases.')"},
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("patches_builtins", "replaces a builtin the checks use",
            extra_cell={F: "import builtins\nbuiltins.abs = lambda x: 0"},
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("always_equal", "returns an object that compares equal to anything",
            solutions={(F, "softmax"): "class Anything:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n\n"
                                       + _sig("softmax", "Z", "return Anything()")},
            expected=SOFTMAX_AND_FORWARD, flagged=(F,)),
    Student("array_subclass", "returns an ndarray subclass whose comparisons always succeed",
            solutions={(F, "softmax"): "class Agreeable(np.ndarray):\n    def __eq__(self, other):\n"
                                       "        return np.ones(np.shape(self), dtype=bool)\n\n"
                                       + _sig("softmax", "Z", "return np.zeros_like(Z).view(Agreeable)")},
            expected=SOFTMAX_AND_FORWARD, flagged=(F,)),
    Student("delegates", "calls the course's own softmax instead of writing one",
            solutions={(F, "softmax"): _sig("softmax", "Z", "from course_lib.losses import softmax as reference\n"
                                                            "return reference(Z)")},
            expected={(F, "test_softmax"): ("tampered", "")}, flagged=(F,)),
    Student("aliases_reference", "imports the course's relu as its answer",
            solutions={(F, "relu"): "from course_lib.activations import relu"},
            expected={(F, "test_relu"): ("tampered", "")}, flagged=(F,)),
    Student("hides_tracebacks", "replaces IPython's showtraceback so failing tests show no error",
            extra_cell={F: "get_ipython().showtraceback = lambda *a, **k: None"},
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("replaces_excepthook", "replaces sys.excepthook",
            extra_cell={F: "import sys\nsys.excepthook = lambda *a: None"},
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("ends_kernel", "ends its kernel before any test can run, having solved nothing",
            extra_cell={F: "import os\nos._exit(0)"}, blank=True, expected=ALL, flagged=(F,)),
    Student("edits_test", "replaces the relu test with `pass`",
            test_edits={(F, "test_relu"): "pass"}, solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("deletes_test", "deletes the relu test", test_edits={(F, "test_relu"): None},
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("duplicates_test", "duplicates the softmax test cell",
            edit=_duplicate_softmax_test,
            solutions={(F, "softmax"): _sig("softmax", "Z", "E = np.exp(Z)\nreturn E / E.sum(axis=1, keepdims=True)")},
            expected={(F, "test_softmax"): ("tampered", "unstable_softmax"), (F, "test_forward"): ("tampered", "unstable_softmax")},
            flagged=(F,)),
    Student("reorders_tests", "moves the forward test above the relu test", edit=_move_forward_test_first,
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("raises_points", "gives the relu test 50 points", edit=_raise_points,
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("reads_grader_files", "reads the hidden tests and the gradebook to find the answers",
            extra_cell={F: f"root = {ROOT_EXPR}\nstolen = []\n"
                           "for p in [root / 'solutions' / '02_forward_cache' / 'forward_cache.ipynb', root / 'grader' / 'work' / 'gradebook.db']:\n"
                           "    try:\n        stolen.append(p.read_bytes())\n    except OSError:\n        pass"},
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
    Student("writes_files", "writes into the course package",
            extra_cell={F: f"root = {ROOT_EXPR}\ntry:\n    (root / 'course_lib' / 'injected.py').write_text('x = 1')\nexcept OSError:\n    pass"},
            solutions=WRONG_RELU, expected=RELU_AND_FORWARD, flagged=(F,)),
]

HONEST = [
    Student("honest_perfect", "the instructor's solutions"),
    Student("honest_style", "numpy under another name, np.einsum, helper functions, and the course's plots",
            extra_cell={F: "import numpy as jnp\nfrom course_lib import plots\n\n"
                           "def _row_max(Z):\n    return Z.max(axis=1, keepdims=True)"},
            solutions={(F, "softmax"): _sig("softmax", "Z", "E = jnp.exp(Z - _row_max(Z))\nreturn E / E.sum(axis=1, keepdims=True)"),
                       (F, "forward"): _sig("forward", "params, X", "\n".join([
                           'Z1 = jnp.einsum("nd,dh->nh", X, params["W1"]) + params["b1"]', "A1 = relu(Z1)",
                           'Yhat = softmax(jnp.einsum("nh,hc->nc", A1, params["W2"]) + params["b2"])',
                           'plots.plot_gradient_magnitudes({"A1": A1, "Yhat": Yhat})',
                           'return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}']))}),
    Student("honest_warns", "a correct relu that warns", solutions={(F, "relu"): _sig(
        "relu", "Z", "import warnings\nwarnings.warn('just a warning')\nreturn np.maximum(Z, 0.0)")}),
]
CORPUS = ATTACKS + HONEST


def make(out: Path = OUT) -> Path:
    return build(out, CORPUS, ASSIGNMENTS, extra_files={})


if __name__ == "__main__":
    print(f"corpus written to {make()}")
