"""The student side of grading: runs inside the sandbox, with the student's code and nothing else.

Started as ``python -I -S -B student.py SITE_DIR...`` with the channel on file descriptors 3 (from
the grader) and 4 (to the grader). It replays the student's cells when asked, then answers the
grader: a name's value, a call of one of the student's functions, an attribute. Nothing here is
trusted: the grader validates everything this process sends, and compares answers in its own
process. The student's prints go to a bounded buffer and C-level output to /dev/null.
"""
from __future__ import annotations

import io
import json
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_OUTPUT = 1 << 20
MAX_TRACEBACK = 3000


class _Bounded(io.TextIOBase):
    """sys.stdout and sys.stderr for student code: keeps the first MiB, drops the rest."""

    def __init__(self):
        self.size = 0

    def writable(self):
        return True

    def write(self, s):
        self.size += len(s)
        return len(s)


def preload() -> None:
    """What every student process has before any student code runs: its import path and the modules
    it imports (a zygote, zygote.py, does this once and forks a process per session from it)."""
    if HERE not in sys.path:
        sys.path[:0] = [HERE]
    sys.path.extend(a for a in sys.argv[1:] if not a.startswith("--") and os.path.isdir(a) and a not in sys.path)
    os.environ.setdefault("MPLBACKEND", "Agg")
    import channel  # noqa: F401  (next to this file)
    import numpy  # noqa: F401

    import _course_rpc_  # noqa: F401
    import course_lib_names  # noqa: F401  (the facade's list of stubs)


def _setup() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2) if os.environ.get("COURSE_GRADER_DEBUG") != "1" else (0, 1):
        os.dup2(devnull, fd)
    sys.stdin = io.StringIO()
    sys.stdout = _Bounded()
    if os.environ.get("COURSE_GRADER_DEBUG") != "1":
        sys.stderr = sys.stdout


class _Shell:
    """What ``get_ipython()`` returns here: display settings and magics are accepted and ignored."""

    def __getattr__(self, name):
        return lambda *a, **k: None

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)


def _student_traceback(exc: BaseException) -> str:
    """The frames of the student's own cells (and the exception), not the runner's."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    text = "".join(lines)
    return text[-MAX_TRACEBACK:]


def _raised(exc: BaseException) -> tuple:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    try:
        message = str(exc)[:MAX_TRACEBACK]
    except Exception:  # noqa: BLE001  (a __str__ that raises is the student's too)
        message = "(the exception's message could not be read)"
    return "raise", {"type": type(exc).__name__[:100], "message": message, "traceback": _student_traceback(exc),
                     "line": frames[0].lineno if frames else 0}, None


def _state(obj):
    """A comparable snapshot of an object's attributes (plain data), for "forward keeps no state"."""
    import numpy as np

    def freeze(v, depth=0):
        if depth > 6:
            return "..."
        if isinstance(v, np.ndarray):
            return ("array", v.dtype.str, v.shape, v.tobytes()[:1 << 16].hex())
        if isinstance(v, (list, tuple)):
            return ("seq", tuple(freeze(x, depth + 1) for x in v))
        if isinstance(v, dict):
            return ("map", tuple(sorted((repr(k), freeze(x, depth + 1)) for k, x in v.items())))
        if v is None or isinstance(v, (bool, int, float, str)):
            return ("value", v)
        return ("object", type(v).__name__, id(v))

    attrs = dict(getattr(obj, "__dict__", {}) or {})
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()) or ():
            if isinstance(name, str) and hasattr(obj, name):
                attrs.setdefault(name, getattr(obj, name))
    return tuple(sorted((str(k), freeze(v)) for k, v in attrs.items()))


def _install(functions) -> None:
    """Course functions the grader lets this side run itself (their code, sent by the grader when
    the session starts): each replaces its stub in the module, under the same course name."""
    import base64
    import importlib
    import marshal
    import types

    import channel

    for f in functions:
        name = f["name"]
        module_name, _, attr = name.rpartition(".")
        module = importlib.import_module(module_name)
        code, defaults, kwdefaults = marshal.loads(base64.b64decode(f["code"]))
        value = lambda d: d[1] if d[0] == "v" else channel.dtype_from_node(d[1]) if d[0] == "d" \
            else vars(module)[d[1]]  # noqa: E731
        stub = getattr(module, attr)
        fn = types.FunctionType(code, vars(module), attr, tuple(value(d) for d in defaults))
        fn.__kwdefaults__ = {k: value(d) for k, d in kwdefaults.items()} or None
        fn.__qualname__, fn.__module__ = stub.__qualname__, module_name
        fn.__doc__ = stub.__doc__
        fn.__course_name__ = name
        setattr(module, attr, fn)


def main() -> None:
    fds = next(a for a in sys.argv[1:] if a.startswith("--fds="))[len("--fds="):]
    channel_in, channel_out = (int(x) for x in fds.split(","))
    preload()
    run(channel_in, channel_out)


def run(channel_in: int, channel_out: int) -> None:
    """Serve the grader on the channel until it closes (this process's whole life)."""
    _setup()
    import channel

    import _course_rpc_ as _course_rpc
    from course_lib_names import PURE, course_names

    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "get_ipython": lambda: _SHELL,
                 "display": lambda *a, **k: None}

    def serve(op, values, body):
        try:
            if op == "run":
                source, index = body.get("source"), body.get("index")
                exec(compile(source, f"<cell {int(index)}>", "exec"), namespace)
                return "ok", {"value": None}, None
            if op == "get":
                name = body.get("name")
                if not isinstance(name, str) or name not in namespace:
                    return "raise", {"type": "NameError", "message": f"name {name!r} is not defined",
                                     "traceback": ""}, None
                return "ok", {"value": namespace[name]}, None
            if op == "call":
                target = values["target"]
                kwargs = dict(values.get("kwargs", ()))
                return "ok", {"value": target(*values.get("args", ()), **kwargs)}, None
            if op == "getattr":
                return "ok", {"value": getattr(values["target"], body.get("name"))}, None
            if op == "install":
                _install(json.loads(body.get("functions") or "[]"))
                return "ok", {"value": None}, None
            if op == "state":
                return "ok", {"value": _state(values["target"])}, None
            return "raise", {"type": "RuntimeError", "message": f"unknown request {op!r}", "traceback": ""}, None
        except BaseException as exc:  # noqa: BLE001  (SystemExit and KeyboardInterrupt are the student's too)
            return _raised(exc)

    codec = channel.Codec("s", course_names(), _proxy_maker, trusted=False)
    peer = channel.Peer(codec, channel_in, channel_out, serve, pure=PURE)
    _PEER[0] = peer
    _course_rpc.PEER = peer
    peer.serve_forever()


_SHELL = _Shell()
_PEER: list = [None]


def _proxy_maker(handle):
    """A callable standing for one of the grader's objects (a function the checker hands over)."""
    peer = _PEER

    class GraderObject:
        __slots__ = ()

        def __call__(self, *args, **kwargs):
            reply = peer[0].request("call", {"target": self, "args": args, "kwargs": tuple(kwargs.items())})
            if reply["op"] == "raise":
                import _course_rpc_ as _course_rpc

                _course_rpc._raise(reply)
            return reply["value"]

        def __iter__(self):   # a course function's generator or iterable: iterated through the grader
            return self._ask("iter")

        def __next__(self):
            return self._ask("next")

        def _ask(self, op):
            reply = peer[0].request(op, {"target": self})
            if reply["op"] == "raise":
                import _course_rpc_ as _course_rpc

                _course_rpc._raise(reply)
            return reply["value"]

        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            reply = peer[0].request("getattr", {"target": self}, extra={"name": name})
            if reply["op"] == "raise":
                raise AttributeError(reply.get("message", name))
            return reply["value"]

        def __repr__(self):
            return f"<the grader's {handle.type_name}>"

    GraderObject.__name__ = GraderObject.__qualname__ = handle.type_name or "function"
    return GraderObject()


if __name__ == "__main__":
    main()
