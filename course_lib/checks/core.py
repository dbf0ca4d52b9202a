"""The machinery every exercise checker shares.

A checker calls the student's function on inputs it builds (copies, so that
it can tell whether the function wrote into them), compares every result with
the reference, and on a mismatch raises :class:`CheckFailed` with a message a
student can act on: what was expected, what came back, and which catalogued
bug (:mod:`course_lib.bugs`) reproduces the answer, when one does.

Visible tests call a checker with ``hidden=False``; the hidden tests call the
same checker with ``hidden=True`` and a seed of their own, which adds the
awkward cases (a batch of 1, non-square layers, large logits, pre-activations
exactly at zero).
"""
from __future__ import annotations

import copy
import threading
import warnings
from contextlib import contextmanager
from typing import Callable, Iterable

import numpy as np

from .. import bugs

# Results agree when they are this close to the reference (any equivalent formula passes).
RTOL = 1e-7
ATOL = 1e-10


class CheckFailed(AssertionError):
    """A wrong answer. ``bug`` is the catalogue name it matches, or None."""

    def __init__(self, exercise: str, message: str, bug: str | None = None):
        self.exercise = exercise
        self.bug = bug
        tag = ""
        if bug is not None:
            entry = bugs.get(bug)
            tag = f"\n\nThis looks like a known bug: {entry.title} (section {entry.section}). {entry.description} [bug: {bug}]"
        super().__init__(f"{exercise}: {message}{tag}")


class StudentCodeError(CheckFailed):
    """The student's function raised before its answer could be judged (the grader's "error")."""


# The grader checks many submissions at once in threads; it silences the student-facing lines per
# thread (swapping sys.stdout, as contextlib.redirect_stdout does, is not safe across threads).
_OUTPUT = threading.local()


@contextmanager
def silenced():
    """No student-facing lines from checkers run in this thread."""
    _OUTPUT.silent = True
    try:
        yield
    finally:
        _OUTPUT.silent = False


def say(line: str) -> None:
    """Print a line for the student, unless the grader silenced this thread."""
    if not getattr(_OUTPUT, "silent", False):
        print(line)


def passed(exercise: str, cases: int) -> None:
    """Print the line a student sees when every case passed."""
    say(f"✔ {exercise}: correct on all {cases} test cases.")


@contextmanager
def quiet():
    """Silence numpy floating-point warnings and Python warnings raised by the student's code:
    a test cell must print nothing on stderr for a correct answer (nbgrader fails any that does)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def call(exercise: str, fn: Callable, *args, **kwargs):
    """Call the student's ``fn`` on deep copies of the arguments; return (result, copies).

    The copies let :func:`check_not_mutated` see whether fn wrote into its inputs.
    A NotImplementedError (the stub) is re-raised unchanged so that the student
    sees the usual "not implemented yet".
    """
    if not callable(fn):
        raise CheckFailed(exercise, f"expected a function, got {type(fn).__name__}")
    args_copy = copy.deepcopy(args)
    kwargs_copy = copy.deepcopy(kwargs)
    with quiet():
        result = fn(*args_copy, **kwargs_copy)
    return result, (args_copy, kwargs_copy)


def call_explained(exercise: str, fn: Callable, *args, on: str = "", hint: str = ""):
    """:func:`call`, but an exception raised inside the student's code (other than the stub's
    NotImplementedError) becomes a :class:`StudentCodeError` naming the inputs it failed on."""
    try:
        return call(exercise, fn, *args)
    except (NotImplementedError, CheckFailed):
        raise
    except Exception as err:
        raise StudentCodeError(exercise, f"your function raised {type(err).__name__}: {err}\n  on {on}. "
                               f"The traceback above points at the line.{(' ' + hint) if hint else ''}") from err


def check_not_mutated(exercise: str, originals: tuple, copies: tuple, names: Iterable[str],
                      bug: str | None = None) -> None:
    """Fail when the student's function changed any of its (array or dict-of-array) arguments.

    Pass ``bug="in_place_cache_mutation"`` where the argument is a cache: that is the catalogued
    bug. Writing into any other input is still wrong (section 5.6) but is not that bug."""
    args, kwargs = copies
    values = list(args) + list(kwargs.values())
    for name, before, after in zip(names, originals, values):
        if isinstance(before, dict):
            changed = [k for k in before if isinstance(before[k], np.ndarray) and not np.array_equal(before[k], after[k])]
            if changed:
                raise CheckFailed(exercise, f"your function changed {name}{changed} in place. Inputs and caches are "
                                  "read-only: build new arrays instead (section 5.6).", bug=bug)
        elif isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
            raise CheckFailed(exercise, f"your function changed its input {name} in place. Inputs and caches are "
                              "read-only: build new arrays instead (e.g. `x = x - m`, not `x -= m`; section 5.6).",
                              bug=bug)


def _preview(a: np.ndarray, k: int = 4) -> str:
    flat = np.asarray(a).ravel()
    body = np.array2string(flat[:k], precision=5, separator=", ", suppress_small=False)
    return body[:-1] + (", ...]" if flat.size > k else "]")


def describe(a) -> str:
    """A short description of an array: shape, dtype and its first values."""
    if not isinstance(a, np.ndarray):
        return f"a {type(a).__name__} ({a!r:.60})"
    return f"shape {a.shape}, dtype {a.dtype}, values {_preview(a)}"


def validate_array(exercise: str, name: str, got, expected: np.ndarray) -> np.ndarray:
    """Check that ``got`` is a genuine float ndarray of the expected shape; return it."""
    if got is None:
        raise CheckFailed(exercise, f"{name} is None. Did the function forget to `return` it?")
    if type(got) is not np.ndarray:
        if np.isscalar(got) and expected.shape == ():
            got = np.asarray(got)
        else:
            raise CheckFailed(exercise, f"{name} should be a numpy array of shape {expected.shape}, got {describe(got)}.")
    if not np.issubdtype(got.dtype, np.floating):
        raise CheckFailed(exercise, f"{name} should hold floats, got dtype {got.dtype}.")
    if got.shape != expected.shape:
        hint = ""
        if got.shape == expected.shape[::-1] and got.ndim == 2:
            hint = " It is the transpose of what was expected: a gradient has exactly its parameter's shape (section 5.1)."
        elif got.size == expected.size:
            hint = " Same number of entries, wrong arrangement: check the order of a matrix product (section 5.1)."
        elif expected.ndim == 1 and got.ndim == 2:
            hint = " A bias gradient sums over the batch axis (axis=0) to a vector."
        raise CheckFailed(exercise, f"{name} should have shape {expected.shape}, got {got.shape}.{hint}")
    return got


def _ratio_hint(got: np.ndarray, expected: np.ndarray, batch: int | None) -> str:
    """Say so when the answer is the expected one times a constant, the signature of a scale bug."""
    mask = np.abs(expected) > 1e-12
    if not mask.any():
        return ""
    ratios = got[mask] / expected[mask]
    r = float(np.median(ratios))
    if not np.allclose(ratios, r, rtol=1e-6) or np.isclose(r, 1.0):
        return ""
    if batch and batch > 1 and np.isclose(r, batch, rtol=1e-6):
        return f" Every entry is N = {batch} times too large: the 1/N batch average is missing (section 5.2)."
    if batch and batch > 1 and np.isclose(r, 1 / batch, rtol=1e-6):
        return f" Every entry is N = {batch} times too small: it is averaged where it should be summed (section 5.2)."
    if np.isclose(r, -1.0):
        return " Every entry has the wrong sign."
    return f" Every entry is {r:.4g} times the expected value."


def compare(exercise: str, name: str, got, expected: np.ndarray, batch: int | None = None,
            rtol: float = RTOL, atol: float = ATOL) -> np.ndarray:
    """Validate ``got`` and fail with a readable message unless it matches ``expected``."""
    got = validate_array(exercise, name, got, expected)
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(expected)):
        raise CheckFailed(exercise, f"{name} contains inf or NaN: {describe(got)}. Expected {describe(expected)}.")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape) if got.ndim else ()
        where = f" The largest difference is at index {tuple(int(i) for i in worst)}: expected {expected[worst]:.6g}, got {got[worst]:.6g}." if got.ndim else ""
        raise CheckFailed(exercise, f"{name} is wrong.\n  expected {describe(expected)}\n  got      {describe(got)}.{where}"
                          f"{_ratio_hint(got, expected, batch)}")
    return got


def matches(got, expected) -> bool:
    """True when ``got`` is a float array equal to ``expected`` within the checker's tolerance."""
    if isinstance(expected, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(expected) and all(matches(g, e) for g, e in zip(got, expected))
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(k in got and matches(got[k], expected[k]) for k in expected)
    if type(got) is not np.ndarray or got.shape != np.shape(expected):
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(got, expected, rtol=1e-6, atol=1e-9, equal_nan=True))


def recognise(got, target: str, make_expected: Callable[[Callable], object]) -> str | None:
    """The name of the catalogued bug whose variant of ``target`` reproduces ``got``, or None.

    make_expected(variant) computes what the exercise would return if it were
    built on that variant (on fresh copies of the same inputs).
    """
    for bug in bugs.for_target(target):
        with quiet():
            try:
                buggy = make_expected(bug.variant)
            except Exception:
                continue
        if matches(got, buggy):
            return bug.name
    return None


def fail_with_bug(exercise: str, message: str, got, target: str, make_expected: Callable) -> None:
    """Raise CheckFailed with ``message``, naming the catalogued bug if one reproduces ``got``."""
    raise CheckFailed(exercise, message, bug=recognise(got, target, make_expected))
