"""The grader's side of a sandboxed student process: proxies to the student's objects, and the
service that runs course_lib's real code when the sandbox's stubs ask for it.

A checker runs here, in the grader's own process, and calls the student's functions through
proxies. While it does, the references of the exercise being checked are refused to the student
side in every form: their code objects are swapped for one that raises whenever the grader runs
code on the student side's behalf (a stub's request, a course method, a callback the checker
handed over), so no helper that captured them and no argument that carries them can reach them.
Every wait has a deadline fixed when the checker's call began; nothing the student side sends
extends it, and the grader's own work on its behalf is interrupted by an alarm at that deadline.
"""
from __future__ import annotations

import base64
import builtins
import json
import marshal
import os
import signal
import time
import types

from . import channel, policy
from .channel import CHECKER, ChannelClosed, ChannelError, ChannelTimeout
from .launch import reap


# ---------------------------------------------------------------- what can go wrong
class CallTimeout(BaseException):
    """The student's code ran past its deadline (the grader's, never the student's, exception)."""


class StudentProcessDied(BaseException):
    """The student's process ended while the grader was waiting for it."""

    def __init__(self, message, returncode=None, memory=False):
        super().__init__(message)
        self.returncode, self.memory = returncode, memory


class StudentProtocolError(BaseException):
    """The student's process sent something that is not a valid message of the channel."""


class StudentError(Exception):
    """An exception raised by the student's code; ``type_name`` and the message are the student's.
    Subclasses also derive from the builtin exception of that name, so that a checker's
    ``except NotImplementedError`` or ``except ValueError`` works as it does in the notebook."""

    type_name = "Exception"
    student_traceback = ""
    line = 0


_ERROR_CLASSES: dict = {}


def student_error(type_name: str, message: str, tb: str) -> StudentError:
    """An exception standing for the student's: named like it (a checker that says "your function raised
    X" names the student's X, never the grader's class), a subclass of the builtin of that name."""
    base = getattr(builtins, type_name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)) or issubclass(base, StudentError):
        base = None
    name = type_name if type_name.isidentifier() else "Exception"
    cls = _ERROR_CLASSES.get(name)
    if cls is None:
        bases = (StudentError, base) if base is not None else (StudentError,)
        cls = type(name, bases, {"type_name": name})
        _ERROR_CLASSES[name] = cls
    err = cls(message)
    err.type_name, err.student_traceback = type_name, tb
    return err


# ------------------------------------------------------------------------ proxies
class StudentObject:
    """One of the student's objects: its attributes can be read and its methods called, nothing else."""

    __slots__ = ("_session", "_handle", "__weakref__")   # weakly held by the channel: see Codec._hold

    def __init__(self, session, handle):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._session.getattr(self, name)

    def __setattr__(self, name, value):
        raise AttributeError("the grader does not change the student's objects")

    def __repr__(self):
        return f"<your {self._handle.type_name}>"

    __hash__ = object.__hash__


class StudentFunction(StudentObject):
    """One of the student's functions or classes: calling it runs it on the student side."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return self._session.call(self, args, kwargs)


class _StudentClassMeta(type):
    """The type of a proxy for one of the student's classes: ``isinstance(proxy, type)`` holds as in
    the notebook, calling it constructs an instance on the student side, and class attributes are
    read there."""

    def __call__(cls, *args, **kwargs):
        return cls._session.call(cls, args, kwargs)

    def __getattr__(cls, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return cls._session.getattr(cls, name)

    def __repr__(cls):
        return f"<your class {cls.__name__}>"


_PROXY_CLASSES: dict = {}


def _proxy_class(callable_: bool, type_name: str) -> type:
    """A proxy class named like the student's type, so that a checker describing an answer by
    ``type(x).__name__`` says what the student wrote ("function", "MyCache"), never the grader's name."""
    name = type_name if type_name.isidentifier() else ("function" if callable_ else "object")
    key = (callable_, name)
    if key not in _PROXY_CLASSES:
        _PROXY_CLASSES[key] = type(name, (StudentFunction if callable_ else StudentObject,), {"__slots__": ()})
    return _PROXY_CLASSES[key]


def _student_class(session, handle):
    name = handle.type_name if handle.type_name.isidentifier() else "StudentClass"
    return _StudentClassMeta(name, (), {"_session": session, "_handle": handle, "__slots__": ()})


def is_proxy(obj) -> bool:
    return isinstance(obj, (StudentObject, _StudentClassMeta))


def proxy_type_name(obj) -> str | None:
    """The student's type name of a proxy, or None for anything else (for describing answers)."""
    if isinstance(obj, StudentObject):
        return obj._handle.type_name
    if isinstance(obj, _StudentClassMeta):
        return obj._handle.type_name
    return None


# --------------------------------------------------------------- refusing references
class ReferenceRefused(BaseException):
    """Raised in place of a banned reference (a BaseException: course code that catches Exception
    must not swallow it)."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


class Refusals:
    """Swaps the code of banned functions for one that raises, while the grader serves the student."""

    def __init__(self):
        self.banned: dict = {}        # dotted name -> list of functions (one per method of a class)
        self.saved: list = []
        self.depth = 0

    def set(self, functions: dict) -> None:
        self.banned = functions
        _REFUSAL_LOG.clear()

    @property
    def seen(self) -> list:
        """The banned names the student side asked for since :meth:`set`, in order."""
        return list(_REFUSAL_LOG)

    def __enter__(self):
        if self.depth == 0:
            for name, funcs in self.banned.items():
                for f in funcs:
                    self.saved.append((f, f.__code__))
                    f.__code__ = _refusing_code(name, len(f.__code__.co_freevars))
        self.depth += 1
        return self

    def __exit__(self, *exc):
        self.depth -= 1
        if self.depth == 0:
            for f, code in reversed(self.saved):
                f.__code__ = code
            self.saved = []
        return False


_REFUSE_CACHE: dict = {}
_REFUSAL_LOG: list = []


def _refuse(name: str):
    _REFUSAL_LOG.append(name)
    raise ReferenceRefused(name)


def _refusing_code(name: str, freevars: int):
    """A code object that refuses ``name``; it uses no globals (it runs with the real function's),
    and has as many free variables as the code it replaces."""
    key = (name, freevars)
    if key not in _REFUSE_CACHE:
        cells = "".join(f"    _f{i} = None\n" for i in range(freevars))
        touch = f"        ({', '.join(f'_f{i}' for i in range(freevars))},)\n" if freevars else ""
        src = (f"def make():\n{cells}    def refused(*args, **kwargs):\n{touch}"
               f"        return __import__('grader.sandbox.trusted', fromlist=['_refuse'])._refuse({name!r})\n"
               "    return refused\n")
        ns: dict = {}
        exec(compile(src, f"<refused {name}>", "exec"), ns)
        _REFUSE_CACHE[key] = ns["make"]().__code__
    return _REFUSE_CACHE[key]


# --------------------------------------------------------- code the student side runs itself
_PAYLOADS: dict = {}


def runnable_payload(functions: dict) -> str:
    """What the student side needs to run these course functions itself (policy.SANDBOX_RUNNABLE):
    each one's code (marshal, the same interpreter reads it) and its defaults, a default that is one
    of the module's own names sent as that name. A function that cannot travel so is left out (it
    stays a stub)."""
    key = tuple(sorted(functions))
    if key in _PAYLOADS:
        return _PAYLOADS[key]
    out = []
    for name, fn in sorted(functions.items()):
        if not isinstance(fn, types.FunctionType) or fn.__closure__ or hasattr(fn, "__wrapped__"):
            continue
        by_id = {id(v): k for k, v in fn.__globals__.items() if not k.startswith("__")}

        def travel(value):
            node = channel.dtype_node(value)
            if node is not None:
                return ["d", node]
            try:
                marshal.dumps(value)
                if type(value) in (type(None), bool, int, float, str, bytes, tuple):
                    return ["v", value]
            except ValueError:
                pass
            return ["g", by_id[id(value)]] if id(value) in by_id else None

        defaults = [travel(v) for v in fn.__defaults__ or ()]
        kwdefaults = {k: travel(v) for k, v in (fn.__kwdefaults__ or {}).items()}
        if None in defaults or None in kwdefaults.values():
            continue
        payload = marshal.dumps((fn.__code__, defaults, kwdefaults))
        out.append({"name": name, "code": base64.b64encode(payload).decode()})
    _PAYLOADS[key] = json.dumps(out)
    return _PAYLOADS[key]


# ------------------------------------------------------------------------ session
class Session:
    """One sandboxed student process and the conversation with it."""

    def __init__(self, launch, course: channel.CourseNames, *, timeout: float, runnable: dict | None = None):
        self.course, self.timeout = course, timeout
        self.refusals = Refusals()
        self.flags: list = []         # (kind, text): evidence seen while checking
        self.codec = channel.Codec("g", course, self._make_proxy, trusted=True)
        g2s_r, g2s_w = os.pipe()
        s2g_r, s2g_w = os.pipe()
        self.launch = launch
        try:
            self.proc = launch.spawn(g2s_r, s2g_w)
        finally:
            os.close(g2s_r)
            os.close(s2g_w)
        self.rfd, self.wfd = s2g_r, g2s_w
        self.peer = channel.Peer(self.codec, self.rfd, self.wfd, self._serve)
        self.alive = True
        if runnable:
            self._request("install", {}, extra={"functions": runnable_payload(runnable)})   # one string

    # ------------------------------------------------------------- lifetime
    def close(self) -> None:
        # Nothing the student side does after the last reply matters: it is killed, not waited for
        # (its interpreter's shutdown, atexit handlers included, would only cost time).
        self.kill()

    def kill(self) -> None:
        self.alive = False
        if self.proc.poll() is None:
            self.launch.kill(self.proc)
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.launch.cleanup()

    def _died(self) -> StudentProcessDied:
        code = reap(self.proc, 5)
        memory = self.launch.hit_memory_limit()
        self.kill()
        if memory:
            return StudentProcessDied("it went over the memory limit and was stopped", code, memory=True)
        how = f"exit status {code}" if code is not None and code >= 0 else \
            f"signal {-code}" if code is not None else "unknown cause"
        return StudentProcessDied(f"the process ended ({how})", code)

    # ------------------------------------------------------------- requests
    def _request(self, op, values, extra=None, timeout=None):
        if not self.alive:
            raise StudentProcessDied("the process had already ended")
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        try:
            reply = self.peer.request(op, values, extra=extra, deadline=deadline)
        except ChannelTimeout:
            self.kill()
            raise CallTimeout() from None
        except ChannelClosed:
            raise self._died() from None
        except ChannelError as e:
            self.kill()
            raise StudentProtocolError(str(e)) from None
        if reply["op"] == "raise":
            err = student_error(channel.clean_text(str(reply.get("type", "Exception")), 100),
                                channel.clean_text(str(reply.get("message", "")), 3000),
                                channel.clean_text(str(reply.get("traceback", "")), 3000))
            line = reply.get("line")
            err.line = line if type(line) is int else 0
            raise err
        return reply.get("value")

    def run_cell(self, index: int, source: str, timeout: float | None = None):
        return self._request("run", {}, extra={"source": source, "index": int(index)}, timeout=timeout)

    def get(self, name: str):
        return self._request("get", {}, extra={"name": name})

    def call(self, proxy, args, kwargs):
        return self._request("call", {"target": proxy, "args": tuple(args), "kwargs": tuple(kwargs.items())})

    def getattr(self, proxy, name):
        try:
            return self._request("getattr", {"target": proxy}, extra={"name": str(name)})
        except StudentError as e:
            if e.type_name == "AttributeError":
                raise AttributeError(str(e)) from None
            raise

    def state(self, proxy):
        return self._request("state", {"target": proxy})

    def _make_proxy(self, handle):
        if handle.kind == "class":
            return _student_class(self, handle)
        return _proxy_class(handle.kind == "function", handle.type_name)(self, handle)

    # ------------------------------------------------------ serving the stubs
    def _serve(self, op, values, body):
        """Run course_lib's real code for the student side (or refuse it)."""
        if signal.getsignal(signal.SIGALRM) is not _alarm:
            signal.signal(signal.SIGALRM, _alarm)
        left = (self.peer.deadline or time.monotonic() + self.timeout) - time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
        try:
            with self.refusals:
                return self._serve_op(op, values, body)
        except ReferenceRefused as refused:
            return "raise", {"refused": True, "type": "RuntimeError",
                             "message": f"{refused.name} computes what this exercise is compared with, so it is not "
                                        "available while the exercise is graded: write your own"}, None
        except (CallTimeout, StudentProcessDied, StudentProtocolError, KeyboardInterrupt):
            raise
        except Exception as e:  # the course's code raised on what the student passed: theirs to see
            return "raise", {"type": type(e).__name__ if type(e).__module__ == "builtins" else "RuntimeError",
                             "message": f"{type(e).__name__}: {e}"[:2000]}, None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _serve_op(self, op, values, body):
        args = values.get("args", ())
        kwargs = dict(values.get("kwargs", ()))
        transients = values.get("_transients", [])
        if op == "rpc":
            if body.get("op") == "pure" and body.get("name") not in policy.PURE:
                raise ChannelError("a call by value of a course function that is not pure")
            fn = self._course_object(body.get("name"))
            return "ok", {"value": fn(*args, **kwargs)}, None
        if op == "construct":
            cls = self._course_object(body.get("cls"))
            if not isinstance(cls, type):
                raise ChannelError("not a course class")
            obj = cls(*args, **kwargs)
            return "ok", {"value": tuple(getattr(obj, "__dict__", {}).items())}, None
        if op == "method":
            cls = self._course_object(body.get("cls"))
            obj = values.get("self")
            name = body.get("name")
            if not isinstance(cls, type) or not isinstance(name, str) or not isinstance(obj, cls):
                raise ChannelError("malformed course method call")
            member = _class_member(cls, name)
            before = {k: id(v) for k, v in obj.__dict__.items()}
            result = member(obj, *args, **kwargs)
            changed = {k: id(v) for k, v in obj.__dict__.items()} != before
            state = dict(obj.__dict__) if changed and any(t[1] is obj for t in transients) else None
            return "ok", {"value": result}, state
        if op == "call":   # a function the checker handed over, called by the student's code
            target = values.get("target")
            if is_proxy(target) or not callable(target):
                raise ChannelError("not a callable of the grader")
            return "ok", {"value": target(*args, **kwargs)}, None
        if op in ("iter", "next"):   # the student side iterates over one of the grader's objects
            target = values.get("target")
            if is_proxy(target):
                raise ChannelError("not an object of the grader")
            return "ok", {"value": iter(target) if op == "iter" else next(target)}, None
        if op == "getattr":
            target, name = values.get("target"), body.get("name")
            if is_proxy(target) or not isinstance(name, str) or name.startswith("_"):
                raise AttributeError(name)
            return "ok", {"value": getattr(target, name)}, None
        raise ChannelError(f"unknown request {op!r}")

    def _course_object(self, name):
        """A course function or class by its qualified name, or a class's static or class method."""
        if not isinstance(name, str):
            raise ChannelError("malformed course name")
        obj = self.course.by_name.get(name)
        if obj is None and "." in name:
            owner, _, attr = name.rpartition(".")
            cls = self.course.by_name.get(owner)
            raw = vars(cls).get(attr) if isinstance(cls, type) else None
            if isinstance(raw, (staticmethod, classmethod)):
                obj = getattr(cls, attr)
        if obj is None:
            raise ChannelError(f"{name!r} is not part of course_lib")
        return obj


def _class_member(cls, name):
    """The function a course method call means: looked up on the class, never on the instance."""
    import inspect

    for klass in cls.__mro__:
        if name in vars(klass):
            raw = inspect.getattr_static(klass, name)
            if isinstance(raw, property):
                return lambda obj, *a, **k: raw.fget(obj)
            if isinstance(raw, (staticmethod, classmethod)):
                bound = getattr(cls, name)
                return lambda obj, *a, **k: bound(*a, **k)
            return raw
    raise AttributeError(f"{cls.__name__} has no method {name}")


def _alarm(signum, frame):
    raise CallTimeout()
