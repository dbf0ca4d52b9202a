"""The student side of verified grading: runs inside the sandbox (stdlib, numpy, course_lib only).

It executes the student's notebook cells (never the test cells), then answers the grader's
requests over stdin/stdout: fetch a name, call a function, read an attribute. Everything it sends
back is plain data or a numbered reference (grader/wire.py); the grader compares answers in its
own process, which runs no student code. What the runner also reports (patched library functions,
calls of the reference an exercise is compared with, a process that ends itself) feeds the
tampering flags; scores never depend on the student process telling the truth.
"""
from __future__ import annotations

import builtins
import io
import os
import pickle
import signal
import sys
import traceback

PROTO_IN = os.fdopen(os.dup(0), "rb", buffering=0)
PROTO_OUT = os.fdopen(os.dup(1), "wb")
_devnull = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):  # the student's prints, and C-level writes, cannot reach the channel
    os.dup2(_devnull, fd)
sys.stdin, sys.stdout, sys.stderr = io.StringIO(), io.StringIO(), io.StringIO()
os.environ["MPLBACKEND"] = "Agg"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402  (bound next to this file inside the sandbox)

import numpy as np  # noqa: E402

import course_lib  # noqa: E402

COURSE_LIB_DIR = os.path.dirname(os.path.abspath(course_lib.__file__)) + os.sep
_pickle_loads, _send, _receive, _encode, _decode = pickle.loads, wire.send, wire.receive, wire.encode, wire.decode
_getframe, _exc_info, _format_exc = sys._getframe, sys.exc_info, traceback.format_exception_only


class ReferenceUsed(Exception):
    """A graded function called the reference implementation it is compared with."""


TRIPPED: list = []        # reference names called from student code during a graded call
REAL: dict = {}           # dotted name -> the real function (for what the grader passes in)


BANNED_NOW: set = set()   # the references of the exercise being checked right now


def _tripwire(real, name):
    def tripwire(*args, **kwargs):
        if name not in BANNED_NOW or _getframe(1).f_code.co_filename.startswith(COURSE_LIB_DIR):
            return real(*args, **kwargs)  # not this exercise's reference, or course_lib using its own helper
        TRIPPED.append(name)
        raise ReferenceUsed(f"{name} is the reference this exercise is compared with: write your own")
    tripwire.__name__ = getattr(real, "__name__", "reference")
    tripwire.__doc__ = "(unavailable while grading)"
    return tripwire


def install_tripwires(names: list) -> None:
    import importlib

    for dotted in names:
        module_name, attr = dotted.rsplit(".", 1)
        module = importlib.import_module(module_name)
        real = getattr(module, attr)
        REAL[dotted] = real
        if isinstance(real, type):
            real.__init__ = _tripwire(real.__init__, dotted)
            continue
        wrapped = _tripwire(real, dotted)
        for mod_name, mod in list(sys.modules.items()):
            if (mod_name == "course_lib" or mod_name.startswith("course_lib.")) and mod is not None:
                for k, v in list(vars(mod).items()):
                    if v is real:
                        setattr(mod, k, wrapped)


# ------------------------------------------------------- watching for file access
ACCESS: list = []   # attempts on the grader's files, or writes outside the scratch folders
_FILE_EVENTS = {"open", "os.listdir", "os.scandir", "os.remove", "os.rename", "os.mkdir", "os.rmdir",
                "shutil.copyfile", "shutil.rmtree", "os.chmod", "os.symlink", "os.link", "os.truncate"}


def install_audit(hidden: list, writable: list, protected: list) -> None:
    """An audit hook (it cannot be removed once added) that records every attempt to touch the
    grader's folders, and every write outside the scratch folders or into the course itself
    (``protected``, which may lie under /tmp). The sandbox blocks them anyway."""
    hidden = [h.rstrip("/") for h in hidden]
    writable = [w.rstrip("/") for w in writable]
    protected = [p.rstrip("/") for p in protected]

    def under(path, roots):
        return any(path == r or path.startswith(r + "/") for r in roots)

    def hook(event, args):
        if event not in _FILE_EVENTS or not args:
            return
        try:
            path = os.path.abspath(os.fsdecode(args[0]))
        except Exception:
            return
        if under(path, hidden):
            ACCESS.append(f"{event} {path}")
        elif event == "open" and len(args) > 1 and isinstance(args[1], str) and any(c in args[1] for c in "wax+") \
                and (under(path, protected) or not under(path, writable)):
            ACCESS.append(f"write {path}")
    sys.addaudithook(hook)


# ------------------------------------------------------------ watching for patches
def _watched() -> dict:
    import numpy.testing as npt

    from course_lib import checks
    from course_lib.checks import core

    out = {}
    for name in ("allclose", "isclose", "array_equal", "array_equiv", "all", "any", "isfinite", "isnan", "abs",
                 "asarray", "issubdtype"):
        out[f"numpy.{name}"] = getattr(np, name)
    for name in dir(npt):
        if name.startswith("assert"):
            out[f"numpy.testing.{name}"] = getattr(npt, name)
    for name, v in vars(builtins).items():
        out[f"builtins.{name}"] = v
    for mod, label in ((checks, "course_lib.checks"), (core, "course_lib.checks.core")):
        for name, v in vars(mod).items():
            if callable(v) and not name.startswith("__"):
                out[f"{label}.{name}"] = v
    out["sys.excepthook"] = sys.excepthook
    return out


def _fingerprint(v):
    code = getattr(v, "__code__", None)
    return (id(v), id(code) if code is not None else None)


def snapshot() -> dict:
    return {k: _fingerprint(v) for k, v in _watched().items()}


def patched_since(before: dict) -> list:
    now = snapshot()
    return sorted(k for k in before if now.get(k) != before[k])


class _IPythonStub:
    """What `get_ipython()` returns here: it records attempts to replace error reporting."""

    TAMPERING = ("showtraceback", "showsyntaxerror", "_showtraceback", "set_custom_exc", "excepthook")

    def __init__(self):
        object.__setattr__(self, "events", [])

    def __setattr__(self, name, value):
        self.events.append(f"get_ipython().{name} was replaced")

    def __getattr__(self, name):
        if name in self.TAMPERING:
            def record(*a, **k):
                self.events.append(f"get_ipython().{name} was called")
            return record
        return lambda *a, **k: None


# --------------------------------------------------------------------- the channel
OBJECTS: dict = {}       # id -> student object the grader holds a reference to
ORIGINAL_ARRAYS: dict = {}   # id(array) -> (the grader's number for it, the array)
LOADED_ARRAYS: dict = {}     # the grader's number -> the array made for it


class _Sentinel:
    """A fresh object nothing legitimate compares equal to."""


def _flags(obj) -> list:
    """What makes a returned object suspicious: an array subclass from outside numpy, an object
    that claims to equal anything, or the banned reference itself."""
    flags = []
    t = type(obj)
    if isinstance(obj, np.ndarray) and not t.__module__.startswith("numpy"):
        flags.append(f"returned an ndarray subclass ({t.__qualname__}) instead of an array")
    if not isinstance(obj, type):
        try:
            with np.errstate(all="ignore"):
                if bool(obj == _Sentinel()):
                    flags.append(f"returned a {t.__qualname__} that compares equal to anything")
        except Exception:
            pass
    banned = [v for v in REAL.values()]
    if isinstance(obj, type) and any(base is b for base in obj.__mro__ for b in banned):
        flags.append(f"the class {obj.__qualname__} is or extends the reference it is compared with")
    elif any(obj is b for b in banned):
        flags.append("the function is the reference it is compared with")
    return flags


OBJECT_KEYS: dict = {}   # id(object) -> its key: the same object always has the same key
FLAGGING = [False]       # only what student code hands back is inspected, not the grader's own objects


def _make_ref(obj):
    key = OBJECT_KEYS.get(id(obj))
    if key is None or OBJECTS.get(key) is not obj:
        key = len(OBJECTS) + 1
        OBJECTS[key] = obj  # kept alive, so that its id is never reused
        OBJECT_KEYS[id(obj)] = key
    kind = "class" if isinstance(obj, type) else ("callable" if callable(obj) else "object")
    return {"R": ["student", key, kind, type(obj).__qualname__ if not isinstance(obj, type) else obj.__qualname__,
                  _flags(obj) if FLAGGING[0] else []]}


def _encode_state(value, blobs):
    """Post-call state of an argument: arrays carry the index of the original they came from."""
    def make_ref(obj):
        if type(obj).__module__.startswith("course_lib") and hasattr(obj, "__dict__"):
            return {"O": [type(obj).__module__, type(obj).__qualname__,
                          _encode_state(dict(vars(obj)), blobs)]}
        return _make_ref(obj)

    if type(value) is np.ndarray and id(value) in ORIGINAL_ARRAYS:
        out = _encode(value, blobs, make_ref)
        out["A"].append(ORIGINAL_ARRAYS[id(value)][0])
        return out
    if type(value) is np.ndarray:
        return {"M": [_mirror_key(value), _encode(value, blobs, make_ref)]}
    if type(value) in (list, tuple, dict):
        t = {list: "L", tuple: "T", dict: "D"}[type(value)]
        if t == "D":
            body = {"D": [[_encode(k, blobs, make_ref), _encode_state(v, blobs)] for k, v in value.items()]}
        else:
            body = {t: [_encode_state(v, blobs) for v in value]}
        # A dict or list keeps its identity over there: the same one sent twice is one object.
        return body if t == "T" else {"M": [_mirror_key(value), body]}
    return _encode(value, blobs, make_ref)


MIRRORED: dict = {}


def _mirror_key(obj) -> int:
    entry = MIRRORED.get(id(obj))
    if entry is None or entry[1] is not obj:
        entry = (len(MIRRORED) + 1, obj)  # kept alive, so that its id is never reused
        MIRRORED[id(obj)] = entry
    return entry[0]


class Callback:
    """A grader-side object (a loss function to differentiate, say), called through the channel."""

    def __init__(self, key):
        self._key = key

    def __call__(self, *args, **kwargs):
        blobs = []
        message = {"op": "callback", "target": self._key, "args": _encode_state([list(args), kwargs], blobs),
                   "outer": _encode_state(CURRENT_ARGS[-1], blobs)}
        _send(PROTO_OUT, message, blobs)
        reply, rblobs = _receive(PROTO_IN)
        if reply["op"] == "callback_raise":
            raise RuntimeError(reply["message"])
        value, after = _load(reply["payload"], rblobs)
        _merge_all([list(args), kwargs], after)  # what the grader's function did to its arguments
        return value


def _merge_all(orig, new):
    """Bring ``orig`` (this side's objects) to the state ``new`` describes, in place where possible."""
    if isinstance(orig, np.ndarray) and isinstance(new, np.ndarray):
        if orig is not new and orig.shape == new.shape and orig.flags.writeable:
            orig[...] = new
        return
    if isinstance(orig, dict) and isinstance(new, dict):
        for k in list(orig):
            if k not in new:
                del orig[k]
        for k, v in new.items():
            if k in orig and _mergeable(orig[k], v):
                _merge_all(orig[k], v)
            else:
                orig[k] = v
        return
    if isinstance(orig, list) and isinstance(new, list):
        if len(orig) == len(new):
            for i, v in enumerate(new):
                if _mergeable(orig[i], v):
                    _merge_all(orig[i], v)
                else:
                    orig[i] = v
        else:
            orig[:] = new
        return
    if hasattr(orig, "__dict__") and hasattr(new, "__dict__") and type(orig) is type(new) and orig is not new:
        _merge_all(orig.__dict__, dict(vars(new)))


def _mergeable(a, b) -> bool:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype
    return type(a) is type(b) and isinstance(a, (dict, list)) or (hasattr(a, "__dict__") and type(a) is type(b))


class _Unpickler(pickle.Unpickler):
    """Loads what the grader sends: arrays and references by id, course_lib objects by value."""

    ALLOWED = ("numpy", "course_lib", "builtins", "collections", "functools", "copyreg", "_codecs", "math")

    def __init__(self, data, blobs):
        super().__init__(io.BytesIO(data))
        self.blobs = blobs

    def find_class(self, module, name):
        if not module.split(".")[0] in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused {module}.{name}")
        if f"{module}.{name}" in REAL:
            return REAL[f"{module}.{name}"]
        return super().find_class(module, name)

    def persistent_load(self, pid):
        kind, key = pid[0], pid[1]
        if kind == "A":
            if key in LOADED_ARRAYS:
                return LOADED_ARRAYS[key]
            dtype, shape, i, writeable = pid[2], pid[3], pid[4], pid[5]
            arr = np.frombuffer(self.blobs[i], dtype=np.dtype(dtype)).reshape(shape).copy()
            arr.flags.writeable = writeable
            ORIGINAL_ARRAYS[id(arr)] = (key, arr)
            LOADED_ARRAYS[key] = arr
            return arr
        if kind == "S":
            return OBJECTS[key]
        if kind == "C":
            return Callback(key)
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def _load(data_index_blob, blobs):
    i = data_index_blob
    return _Unpickler(blobs[i], blobs).load()


CURRENT_ARGS: list = [[]]


def serve(namespace: dict) -> None:
    while True:
        try:
            request, blobs = _receive(PROTO_IN)
        except EOFError:
            return
        op = request["op"]
        ORIGINAL_ARRAYS.clear()
        LOADED_ARRAYS.clear()
        try:
            if op == "get":
                if request["name"] not in namespace:
                    reply, rblobs = {"op": "missing", "name": request["name"]}, []
                else:
                    rblobs = []
                    BANNED_NOW.update(request.get("banned", []))
                    FLAGGING[0] = True
                    reply = {"op": "value", "value": _encode_state(namespace[request["name"]], rblobs)}
                    FLAGGING[0] = False
                    BANNED_NOW.clear()
            elif op in ("call", "getattr"):
                target = OBJECTS[request["target"]]
                args, kwargs = _load(request["payload"], blobs) if op == "call" else ((), {})
                CURRENT_ARGS.append([list(args), kwargs])
                TRIPPED.clear()
                BANNED_NOW.clear()
                BANNED_NOW.update(request.get("banned", []))
                try:
                    if op == "call":
                        value = target(*args, **kwargs)
                    else:
                        value = getattr(target, request["name"])
                    error = None
                except BaseException as exc:  # noqa: BLE001 (SystemExit too: it is the student's)
                    value, error = None, exc
                finally:
                    BANNED_NOW.clear()
                    CURRENT_ARGS.pop()
                rblobs = []
                FLAGGING[0] = True
                encoded_value = _encode_state(value, rblobs) if error is None else None
                FLAGGING[0] = False
                reply = {"op": "return" if error is None else "raise", "value": encoded_value,
                         "after": _encode_state([list(args), kwargs], rblobs),
                         "tripped": sorted(set(TRIPPED)), "access": sorted(set(ACCESS))[:20]}
                ACCESS.clear()
                if error is not None:
                    reply["type"] = type(error).__name__
                    reply["message"] = "".join(_format_exc(type(error), error)).strip()[-2000:]
            elif op == "bye":
                return
            else:
                reply, rblobs = {"op": "error", "message": f"unknown op {op}"}, []
        except Exception as exc:  # a request the runner itself could not serve
            reply, rblobs = {"op": "error", "message": f"{type(exc).__name__}: {exc} " + "".join(traceback.format_exception(exc))[-1500:]}, []
        _send(PROTO_OUT, reply, rblobs)


def run_cells(cells: list, timeout: int, namespace: dict, ipython: _IPythonStub) -> None:
    """Execute each student cell; report after each one (the grader's watchdog needs the beat)."""
    def on_alarm(signum, frame):
        raise TimeoutError("the cell ran past the time limit")

    signal.signal(signal.SIGALRM, on_alarm)
    before = snapshot()
    for index, source in cells:
        lines = [l for l in source.splitlines() if not l.lstrip().startswith(("%", "!"))]
        outcome = "ok"
        signal.alarm(timeout)
        try:
            exec(compile("\n".join(lines), f"<cell {index}>", "exec"), namespace)
        except BaseException as exc:  # noqa: BLE001
            outcome = type(exc).__name__
        finally:
            signal.alarm(0)
        patched = patched_since(before)
        _send(PROTO_OUT, {"op": "cell", "index": index, "outcome": outcome, "patched": patched,
                          "ipython": list(ipython.events), "access": sorted(set(ACCESS))[:20]}, [])


def main() -> None:
    config, _ = _receive(PROTO_IN)
    install_tripwires(config["banned"])
    install_audit(config.get("hidden", []), ["/tmp", os.getcwd(), "/dev"], config.get("protected", []))
    import matplotlib

    matplotlib.use("Agg")
    ipython = _IPythonStub()
    namespace = {"__name__": "__main__", "get_ipython": lambda: ipython, "display": lambda *a, **k: None}
    run_cells([(c["index"], c["source"]) for c in config["cells"]], config["timeout"], namespace, ipython)
    ACCESS.clear()  # reported with the cells; what a graded call does is reported with that call
    _send(PROTO_OUT, {"op": "ready"}, [])
    serve(namespace)


if __name__ == "__main__":
    main()
