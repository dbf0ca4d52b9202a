"""The machinery every exercise checker shares: calling the student's code, snapshots of a student
object's state, and turning what a checker found into an :class:`~.outcome.Outcome`.

A checker calls the student's function on copies of inputs it builds (so that it can tell whether
the function wrote into them), compares every result with the reference (:mod:`.compare`), names
the catalogued bug that reproduces a wrong answer (:mod:`.recognise`), and raises
:class:`CheckFailed` with the whole record, or prints one line and returns the record.

The same checkers run in the grader's process, where the student's functions and objects are
proxies to a sandboxed process. So a checker only calls student callables, reads attributes of
student objects and calls their methods, and treats what comes back as plain data (numbers,
strings, None, tuples, lists, dicts, numpy arrays and scalars); anything else is opaque and is
described by its type's name alone. An object's state is read through :func:`object_state`, where
the grader plugs in a reader of its own (:data:`STATE_READERS`).
"""
from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, NoReturn

import numpy as np

from ..snapshot import copy_data
from .outcome import CheckFailed, Outcome, StudentCodeError

__all__ = ["CheckFailed", "StudentCodeError", "Outcome", "Called", "Finding", "call", "fail", "finish",
           "passed", "say", "silenced", "quiet", "object_state", "STATE_READERS", "freeze", "state_changes",
           "same_object", "IDENTITY_READERS", "interleaved_forward"]

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


def passed(exercise: str, cases: int) -> Outcome:
    """Print the line a student sees when every case passed, and return the record."""
    outcome = Outcome.ok(exercise, cases)
    say(str(outcome))
    return outcome


@contextmanager
def quiet():
    """Silence numpy floating-point warnings and Python warnings raised by the student's code:
    a test cell must print nothing on stderr for a correct answer (nbgrader fails any that does)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


# ------------------------------------------------------------------ verdicts
@dataclass
class Finding:
    """One problem a checker saw: a message (expected against got), the hints that go with it,
    the catalogued bug it matches, and whether it is a wrong answer or an unusable one."""

    message: str
    hints: list[str] = field(default_factory=list)
    bug: str | None = None
    status: str = "failed"
    subject: str = ""  # what the hints are about ("grads['W1']"), when several findings are reported


def fail(exercise: str, message: str, hints=(), bug: str | None = None, case: str = "",
         status: str = "failed") -> NoReturn:
    """Raise the :class:`CheckFailed` (or, for status "error", :class:`StudentCodeError`) of one problem."""
    kind = StudentCodeError if status == "error" else CheckFailed
    raise kind(Outcome(exercise, False, status, message, [h for h in hints if h], bug, case=case))


def finish(exercise: str, findings: list, case: str = "") -> None:
    """Raise one :class:`CheckFailed` reporting every problem in ``findings`` (None entries are
    ignored); return quietly when there are none. The first bug named is the record's bug."""
    findings = [f for f in findings if f is not None]
    if not findings:
        return
    # One line per distinct hint; with several findings, each says which values it is about.
    about: dict[str, list[str]] = {}
    for f in findings:
        for h in f.hints:
            if h:
                subjects = about.setdefault(h, [])
                if f.subject and f.subject not in subjects:
                    subjects.append(f.subject)
    several = len([f for f in findings if f.message]) > 1
    hints = [f"{', '.join(subjects)}: {h}" if several and subjects else h for h, subjects in about.items()]
    bug = next((f.bug for f in findings if f.bug), None)
    status = "error" if findings[0].status == "error" else "failed"
    fail(exercise, "\n".join(f.message for f in findings if f.message), hints, bug, case, status)


# ------------------------------------------------------------ calling student code
@dataclass
class Called:
    """What one call of the student's code gave: its result, and the arguments as it left them
    (copies of the checker's inputs, unless the call was made with ``copy=False``)."""

    result: object
    args: tuple
    kwargs: dict


def call(exercise: str, fn, *args, on: str, hint: str = "", copy: bool = True, **kwargs) -> Called:
    """Call the student's ``fn(*args, **kwargs)`` and return a :class:`Called`.

    Plain-data arguments are copied first (arrays keep their layout) so that the caller can see
    what fn wrote into them; other objects (the checker's own networks, functions) are passed as
    they are. ``on`` names the inputs, for the message when fn raises: an ``Exception`` from the
    student's code becomes a :class:`StudentCodeError` (status "error") chained to it, with
    ``hint`` as its hint. The stub's NotImplementedError is re-raised unchanged, and
    BaseExceptions (the grader's time-outs) are never caught.
    """
    if not callable(fn):
        fail(exercise, f"expected a function or a class, got {type(fn).__name__}.", case=on, status="error")
    if copy:
        args, kwargs = copy_data(args), copy_data(kwargs)
    try:
        with quiet():
            result = fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as err:
        outcome = Outcome(exercise, False, "error", f"your code raised {type(err).__name__}: {err}\n  on {on}.",
                          [hint] if hint else [], case=on)
        raise StudentCodeError(outcome) from err
    return Called(result, args, kwargs)


def method(exercise: str, obj, name: str, on: str):
    """The student object's method ``name`` (read as an attribute), or a failed check saying it is missing."""
    try:
        found = getattr(obj, name)
    except AttributeError:
        found = None
    except Exception as err:  # a property of the student's that raises
        fail(exercise, f"reading .{name} raised {type(err).__name__}: {err} (on {on}).", case=on, status="error")
    if not callable(found):
        fail(exercise, f"the {type(obj).__name__} object has no method {name}(...); it needs one (on {on}).",
             case=on, status="error")
    return found


# ------------------------------------------------------- the state of an object
# Readers tried in turn by object_state; the first that returns something other than None wins.
# The grader registers one that reads the state of an object living in its sandboxed process.
STATE_READERS: list[Callable[[object], object]] = []


def freeze(value, _seen: frozenset = frozenset(), _depth: int = 0):
    """A hashable value that compares equal exactly when ``value`` holds the same data: arrays by
    dtype, shape and bytes, containers walked, numbers by type and repr (so NaN equals NaN),
    other objects by their own attributes (a few levels deep) or, past that, by identity."""
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, np.ascontiguousarray(value).tobytes())
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), freeze(v, _seen, _depth)) for k, v in value.items()))
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(freeze(v, _seen, _depth) for v in value))
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, np.generic)):
        return ("value", type(value).__name__, repr(value))
    if callable(value) or id(value) in _seen or _depth >= 4:
        return ("object", type(value).__name__, id(value))
    return ("object", type(value).__name__, _local_state(value, _seen | {id(value)}, _depth + 1))


def _local_state(obj, seen: frozenset = frozenset(), depth: int = 0) -> tuple:
    """The attributes of an object of this process, from its __dict__ and every __slots__ entry."""
    attrs = dict(getattr(obj, "__dict__", None) or {})
    for klass in type(obj).__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for slot in ([slots] if isinstance(slots, str) else slots):
            if slot not in ("__dict__", "__weakref__") and slot not in attrs and hasattr(obj, slot):
                attrs[slot] = getattr(obj, slot)
    return tuple(sorted((name, freeze(v, seen, depth)) for name, v in attrs.items()))


# Readers tried in turn by same_object; the first that returns True or False wins. Where results
# come back from another process as copies, only the grader knows whether two of them were one object.
IDENTITY_READERS: list[Callable[[object, object], bool | None]] = []


def same_object(a, b) -> bool:
    """Whether two values the student's code returned are one and the same object (two calls of a
    forward pass that hand out one shared cache dict, say): the first answer of the
    :data:`IDENTITY_READERS`, or else ``a is b``."""
    for reader in IDENTITY_READERS:
        answer = reader(a, b)
        if answer is not None:
            return bool(answer)
    return a is b


def object_state(obj):
    """A snapshot of what ``obj`` holds, comparable with ``==`` and hashable: the first answer of
    the :data:`STATE_READERS`, or else a tuple of (attribute name, :func:`freeze` of its value)
    pairs read from the object's __dict__ and __slots__."""
    for reader in STATE_READERS:
        snapshot = reader(obj)
        if snapshot is not None:
            return snapshot
    return _local_state(obj)


def state_changes(before, after) -> list[str]:
    """The attribute names whose value differs between two :func:`object_state` snapshots
    (["(its state)"] when the snapshots differ but are not name/value pairs)."""
    if before == after:
        return []
    try:
        b, a = dict(before), dict(after)
    except (TypeError, ValueError):
        return ["(its state)"]
    return sorted(k for k in set(b) | set(a) if b.get(k) != a.get(k))


def is_number(x) -> bool:
    """A real number of plain data: int, float or a numpy integer/float scalar (not a bool)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _parts(value, path: str = "", depth: int = 0) -> dict:
    """Every container and array inside a returned value, by its path ("[1]['Z1']")."""
    out = {path: value} if path else {}
    if depth < 3 and isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            out.update(_parts(v, f"{path}[{i}]", depth + 1))
    elif depth < 3 and isinstance(value, dict):
        for k, v in value.items():
            out.update(_parts(v, f"{path}[{k!r}]", depth + 1))
    return {p: v for p, v in out.items() if isinstance(v, (tuple, list, dict, np.ndarray))}


def shared_parts(first_copy, first, second) -> list[str]:
    """The paths where two results of forward hold one and the same object whose values changed in
    between (``first_copy``: a copy of the first result taken when it came back). A weight matrix in
    both caches is the same object with the same values: not a problem. A buffer reused for Z1 is."""
    from .recognise import matches

    ones, twos, copies = _parts(first), _parts(second), _parts(first_copy)
    return [p for p in ones if p in twos and p in copies and same_object(ones[p], twos[p])
            and not matches(copies[p], twos[p], rtol=0.0, atol=0.0)]


def interleaved_forward(exercise: str, forward, x_first, x_second, observe, *, on: str,
                        what: str) -> Finding | None:
    """The package's one interleaved-forward check (section 5.3): ``forward(x_first)``, observe
    what its result leads to (``observe(result)``: plain data, say a copy of its cache or the
    gradients of a backward pass on it), then ``forward(x_second)`` and observe the FIRST result
    again. A forward pass that keeps its cache on self, or in one shared dict, changes the second
    observation: that is the catalogued stale cache. ``what`` names the observation."""
    from .recognise import matches

    first = call(exercise, forward, x_first, on=f"a first forward pass on {on}").result
    first_copy = copy_data(first)
    before = observe(first)
    second = call(exercise, forward, x_second, on=f"a second forward pass, on another batch, after the first on {on}")
    after = observe(first)
    if matches(after, before, rtol=1e-12, atol=1e-14) and not shared_parts(first_copy, first, second.result):
        return None
    return Finding(f"after forward(x1) and then forward(x2) on another batch, {what} of the first call changed "
                   f"({on}): the second forward pass overwrote something the first one's backward needs.",
                   ["Return everything backward needs in a new cache on every call, and read it only from the cache "
                    "argument; keep nothing on self or in a dict shared between calls (section 5.3)."],
                   "stale_cache")
