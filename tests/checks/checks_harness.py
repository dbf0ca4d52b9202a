"""Running the checkers in-process on students' code given as source text.

An :class:`Entry` is one answer to one exercise: the source of the student's function (or class),
the status the hidden checker must give it ("ok", "failed" or "error"), the catalogued bug it
must be named as (or None), and a phrase the student's message must contain. The source runs in
a namespace like the notebook's: its imports, the functions and classes its given cells define (a
base class, a Tensor), and the instructor's solution of every exercise of that notebook (so that an
answer to `backward` can call the notebook's `relu_backward`, and an entry can redefine any of them).
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
import numpy as np

from course_lib import checks
from course_lib.checks import Outcome, silenced

ROOT = Path(__file__).resolve().parents[2]
OK, FAILED, ERROR = "ok", "failed", "error"
NOTEBOOKS = {1: "01_setting/setting", 2: "02_forward_cache/forward_cache", 3: "03_backward/backward",
             4: "04_gradient_check/gradient_check", 5: "05_bug_hunt/bug_hunt", 6: "06_whole_system/whole_system",
             7: "07_any_depth/any_depth", 9: "09_checking_layers/checking_layers", 10: "10_initialisation/initialisation",
             11: "11_training/training", 12: "12_autodiff/autodiff"}
# The exercise each name belongs to, and its notebook.
EXERCISES = {
    1: ["layer_shapes", "affine", "count_parameters", "finite_difference_passes"],
    2: ["relu", "softmax", "cross_entropy", "forward"],
    3: ["softmax_cross_entropy_backward", "output_layer_backward", "relu_backward", "hidden_layer_backward",
        "backward", "sgd_step"],
    4: ["numerical_gradient", "rel_error", "grad_check_group"],
    5: ["cache_unchanged", "interleaved_forward_ok", "answers", "fixed_backward"],
    6: ["overfit_tiny_batch", "predict", "train_digits"],
    7: ["Linear", "ReLU", "Tanh", "Sequential", "sequential_loss_and_grads", "train_sequential", "fit_spirals"],
    9: ["numerical_gradient_array", "sigmoid_bce_loss", "sigmoid_bce_backward", "batchnorm_forward",
        "batchnorm_backward", "dropout_forward", "dropout_backward"],
    10: ["initialise", "layer_statistics", "dead_units_and_examples", "LeakyReLU"],
    11: ["minibatches", "l2_penalty", "l2_penalty_gradient", "Momentum", "Adam", "cosine_decay",
         "update_to_weight_ratio", "EarlyStopping", "fit"],
    12: ["tensor_add", "tensor_matmul", "tensor_relu", "tensor_sum", "tensor_log_softmax", "topological_order",
         "unbroadcast", "autodiff_backward", "mlp_loss_and_grads", "train_autodiff", "residual_loss_and_grads"],
}
NOTEBOOK_OF = {ex: nb for nb, names in EXERCISES.items() for ex in names}
# The hidden seeds every entry is judged on: small ones, the published ones' size, and 32-bit ones.
SEEDS = (0, 1, 3107, 2**31 + 12345)


@dataclass
class Entry:
    """One answer: ``status`` and ``bug`` are what the hidden checker must say on every seed;
    ``phrase`` must appear (case-insensitively) in what the student reads; ``visible`` is the
    status of the visible test ("same" as hidden, or another status, or None: not asserted)."""

    exercise: str
    name: str
    status: str
    bug: str | None
    phrase: str
    source: str
    visible: str | None = "same"
    seeds: tuple = field(default=SEEDS)

    @property
    def id(self) -> str:
        return f"{self.exercise}-{self.name}"


def E(exercise, name, status, bug, phrase, source, **kw) -> Entry:
    return Entry(exercise, name, status, bug, phrase, source, **kw)


def _solution_source(cell_source: str) -> str:
    """The instructor's code of a solution cell, markers removed."""
    return "\n".join(line for line in cell_source.splitlines()
                     if not re.match(r"\s*### (BEGIN|END) SOLUTION", line))


@lru_cache(maxsize=None)
def _notebook_code(nb: int) -> tuple[str, str]:
    """(the notebook's import lines, its given definitions and the instructor's solution cells, in
    notebook order) as source text."""
    from grader.intake.cells import definitions_after

    notebook = nbformat.read(ROOT / "solutions" / f"{NOTEBOOKS[nb]}.ipynb", 4)
    imports, solutions = [], []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            solutions.append(_solution_source(cell.source))
        elif not meta.get("grade"):
            imports += [line for line in cell.source.splitlines() if re.match(r"(import|from) \S+", line)]
            solutions.append(definitions_after(cell.source, 0))  # a given class or function (no demo runs)
    return "\n".join(imports), "\n\n".join(solutions)


def namespace(nb: int) -> dict:
    """A fresh namespace holding notebook ``nb``'s imports and the instructor's solutions."""
    imports, solutions = _notebook_code(nb)
    ns = {"__name__": f"corpus_nb{nb:02d}", "np": np, "copy": copy, "math": math}
    exec(compile(imports, f"<notebook {nb} imports>", "exec"), ns)
    exec(compile(solutions, f"<notebook {nb} solutions>", "exec"), ns)
    return ns


def answer(entry: Entry):
    """The student's object for ``entry``: its source run on top of the notebook's namespace."""
    ns = namespace(NOTEBOOK_OF[entry.exercise])
    exec(compile(entry.source, f"<{entry.id}>", "exec"), ns)
    return ns[entry.exercise]


# The hidden tests of notebook 05's answers: the suspect and the catalogue name marked right.
ANSWER_KEY = {"A": "wrong_transpose", "B": "in_place_cache_mutation", "C": "missing_batch_average",
              "D": "stale_cache", "E": "relu_mask_from_activation", "F": "unstable_softmax"}


def judge(entry: Entry, hidden: bool, seed: int) -> Outcome:
    """Run the entry's checker; the Outcome it returned or raised."""
    target = answer(entry)
    try:
        with silenced():
            if entry.exercise == "answers":
                for suspect, key in ANSWER_KEY.items():
                    if hidden:
                        checks.check_answers(target, hidden=True, seed=seed, suspect=suspect, key=key)
                    else:
                        checks.check_answers(target, suspect=suspect)
                return Outcome.ok("answers", len(ANSWER_KEY))
            return getattr(checks, f"check_{entry.exercise}")(target, hidden=hidden, seed=seed)
    except checks.CheckFailed as failure:
        return failure.outcome


# ------------------------------------------------------------- proxies
class Proxy:
    """What the grader hands a checker in place of a student's object: it can be called and its
    attributes read, and nothing else. No __dict__ to read, no __eq__, no pickling or copying;
    what comes back from it is plain data (copied) or another proxy."""

    __slots__ = ("_proxy_target",)

    def __init__(self, target):
        object.__setattr__(self, "_proxy_target", target)

    def __call__(self, *args, **kwargs):
        target = object.__getattribute__(self, "_proxy_target")
        return _from_student(target(*[_to_student(a) for a in args], **{k: _to_student(v) for k, v in kwargs.items()}))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _from_student(getattr(object.__getattribute__(self, "_proxy_target"), name))

    def __setattr__(self, name, value):
        raise TypeError("a proxy's attributes cannot be set")

    def __eq__(self, other):
        raise TypeError("a proxy cannot be compared")

    __hash__ = None

    def __reduce_ex__(self, protocol):
        raise TypeError("a proxy cannot be pickled")

    def __deepcopy__(self, memo):
        raise TypeError("a proxy cannot be deep-copied")


def _to_student(value):
    if isinstance(value, Proxy):
        return object.__getattribute__(value, "_proxy_target")
    return value


# Which student object each container handed back was copied from (kept alive: ids stay unique).
_ORIGINS: dict = {}


def _from_student(value):
    """Plain data comes back as a copy (OrderedDicts as dicts); the rest as proxies."""
    from course_lib.snapshot import copy_array
    if isinstance(value, np.ndarray):
        out = copy_array(np.asarray(value))
        _ORIGINS[id(out)] = (out, value)
        return out
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        return value
    if isinstance(value, tuple) and hasattr(type(value), "_fields"):
        out = type(value)(*(_from_student(v) for v in value))
    elif isinstance(value, tuple):
        out = tuple(_from_student(v) for v in value)
    elif isinstance(value, list):
        out = [_from_student(v) for v in value]
    elif isinstance(value, dict):
        out = {k: _from_student(v) for k, v in value.items()}
    else:
        return Proxy(value)
    _ORIGINS[id(out)] = (out, value)
    return out


def same_origin(a, b):
    """An IDENTITY_READERS entry: two copies handed back are one object when they came from one."""
    if id(a) in _ORIGINS and id(b) in _ORIGINS:
        return _ORIGINS[id(a)][1] is _ORIGINS[id(b)][1]
    return None


def read_proxy_state(obj):
    """A STATE_READERS entry for proxies: the state of the object behind the proxy."""
    from course_lib.checks.core import _local_state
    if isinstance(obj, Proxy):
        return _local_state(object.__getattribute__(obj, "_proxy_target"))
    return None


def judge_through_proxy(entry: Entry, hidden: bool, seed: int) -> Outcome:
    """:func:`judge`, with the student's object seen only through a :class:`Proxy`."""
    from course_lib.checks import IDENTITY_READERS, STATE_READERS
    target = answer(entry)
    STATE_READERS.append(read_proxy_state)
    IDENTITY_READERS.append(same_origin)
    try:
        with silenced():
            if entry.exercise == "answers":
                return judge(entry, hidden, seed)
            return getattr(checks, f"check_{entry.exercise}")(Proxy(target), hidden=hidden, seed=seed)
    except checks.CheckFailed as failure:
        return failure.outcome
    finally:
        STATE_READERS.remove(read_proxy_state)
        IDENTITY_READERS.remove(same_origin)
        _ORIGINS.clear()
