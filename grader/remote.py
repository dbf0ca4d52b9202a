"""The grader's side of verified grading: a sandboxed student process and proxies to its objects.

``Sandbox`` starts grader/sandbox_runner.py inside bubblewrap, hands it the student's cells, and
then lets the course's ordinary checkers run *here*, in the grader's process, with the student's
functions replaced by proxies: calling a proxy sends the arguments over (arrays as bytes, course
objects by value), runs the student's function there, and brings back the result and the state
of the arguments afterwards (so that checks for in-place writes still work). Nothing the student
process sends is unpickled or executed here: results are rebuilt as genuine numpy arrays and
plain Python data, and a student's object is only ever an opaque proxy with no ``__eq__``.
"""
from __future__ import annotations

import functools
import io
import os
import pickle
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import wire
from .nbgrader_run import ROOT

RUNNER = Path(__file__).with_name("sandbox_runner.py")
WIRE = Path(__file__).with_name("wire.py")
# Rebuilt here from a student's state only if its class is one of these (course_lib's layers).
# (Their attributes are plain data; nothing of theirs runs when they are rebuilt.)
REBUILDABLE = {("course_lib.layers", n) for n in ("Linear", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Sequential",
                                                  "SoftmaxCrossEntropy")} | {("course_lib.train", "History")}


class SandboxDied(Exception):
    """The student process ended (its own os._exit or kill, or a limit), at ``cell`` or during a call."""

    def __init__(self, message, cell=None):
        super().__init__(message)
        self.cell = cell


class CallTimeout(Exception):
    pass


class RemoteError(Exception):
    """The student's code raised; ``type_name`` and the message are the student's."""

    def __init__(self, type_name, message):
        super().__init__(message)
        self.type_name = type_name


def bwrap_command(argv: list, hide: list, scratch: Path, share_net: bool = False, extra_ro: list = ()) -> list:
    """``argv`` inside bubblewrap: the filesystem read-only, the grader's folders hidden under empty
    tmpfs mounts, a private writable /tmp and scratch folder, no network unless asked."""
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
           "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-uts"]
    if not share_net:
        # A kernel (share_net) keeps the pid namespace: ipykernel exits when its parent looks like pid 1.
        cmd += ["--unshare-net", "--unshare-pid"]
    # The private /tmp must not hide the course itself or its Python when they live under /tmp
    # (a clone in a temporary folder, as CI makes); the folders to hide go on top of these.
    for keep in sorted({ROOT, Path(sys.prefix), Path(sys.base_prefix)}):
        if keep.resolve().is_relative_to("/tmp"):
            cmd += ["--ro-bind", str(keep), str(keep)]
    for path in hide:
        if Path(path).exists():
            cmd += ["--tmpfs", str(path)]
    for src, dest in extra_ro:
        cmd += ["--ro-bind", str(src), str(dest)]
    cmd += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch), "--setenv", "HOME", str(scratch),
            "--setenv", "MPLCONFIGDIR", str(scratch), "--"]
    return cmd + list(argv)


def hidden_paths(workspace_root: Path | None = None) -> list:
    """What student code must not read or write: solutions (hidden tests), the grader with its
    gradebooks and the demo class, the tests, git history, and the grading workspace."""
    paths = [ROOT / "solutions", ROOT / "grader", ROOT / "tests", ROOT / ".git", ROOT / "notebooks"]
    if workspace_root is not None:
        paths.append(Path(workspace_root))
    return paths


@functools.lru_cache(maxsize=1)
def sandbox_available() -> bool:
    """bubblewrap is installed and works here (as root, or with user namespaces)."""
    if not shutil.which("bwrap"):
        return False
    probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-net",
                            "--", "true"], capture_output=True)
    return probe.returncode == 0


class _Orig:
    """An array in a state message that is the student side's copy of our array number ``k``."""

    __slots__ = ("k", "value")

    def __init__(self, k, value):
        self.k, self.value = k, value


class _State:
    """A course_lib object's attributes, as the student side saw them after a call."""

    __slots__ = ("module", "qualname", "attrs")

    def __init__(self, module, qualname, attrs):
        self.module, self.qualname, self.attrs = module, qualname, attrs


class _RemoteMeta(type):
    """A student's class: isinstance(cls, type) holds, and calling it constructs remotely."""

    def __call__(cls, *args, **kwargs):
        return cls._sandbox.call(cls._key, args, kwargs)


class RemoteObject:
    """A student's object: it can be called and its attributes read, and nothing else."""

    __slots__ = ("_sandbox", "_key", "_kind", "_type_name", "_flags")

    def __init__(self, sandbox, key, kind, type_name, flags):
        for name, value in zip(self.__slots__, (sandbox, key, kind, type_name, flags)):
            object.__setattr__(self, name, value)

    def __call__(self, *args, **kwargs):
        return self._sandbox.call(self._key, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__") and name != "__dict__":
            raise AttributeError(name)
        return self._sandbox.getattr(self._key, name)

    def __setattr__(self, name, value):
        raise AttributeError("a student's object cannot be modified by the grader")

    def __repr__(self):
        return f"<the student's {self._type_name}>"

    __hash__ = object.__hash__


class Sandbox:
    def __init__(self, cells: list, banned: list, timeout: int = 60, memory_mb: int = 2048,
                 hide: list | None = None, scratch: Path | None = None, use_bwrap: bool = True):
        self.timeout = timeout
        self.cells_run: list = []        # (index, outcome, patched names, ipython events)
        self.flags: list = []            # suspicious events seen while grading
        self.callbacks: dict = {}
        self.arrays: list = []
        self.outer: list = []
        self.proxies: dict = {}
        self.mirrors: dict = {}
        self._tmp = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        runner_dir = scratch / ".runner"
        runner_dir.mkdir(exist_ok=True)
        shutil.copy(RUNNER, runner_dir / "sandbox_runner.py")
        shutil.copy(WIRE, runner_dir / "wire.py")
        argv = [sys.executable, str(runner_dir / "sandbox_runner.py")]
        if use_bwrap:
            argv = bwrap_command(argv, hide or hidden_paths(), scratch)

        def limits():
            import resource

            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE",
                                                             "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")}
        env.update(PYTHONNOUSERSITE="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, preexec_fn=limits)
        self._in = self.proc.stdout
        self._out = self.proc.stdin
        wire.send(self._out, {"op": "config", "banned": banned, "timeout": timeout,
                              "hidden": [str(p) for p in (hide or hidden_paths())],
                              "protected": [str(ROOT), sys.prefix, sys.base_prefix],
                              "cells": [{"index": i, "source": s} for i, s in cells]}, [])
        while True:
            try:
                message, _ = self._receive(timeout + 15, during="running your cells")
            except _Timeout:
                self.proc.kill()
                self.proc.wait()
                cell = self.cells_run[-1][0] + 1 if self.cells_run else None
                raise SandboxDied("a cell ran past the time limit and ignored the interrupt", cell=cell) from None
            if message["op"] == "ready":
                break
            if message["op"] == "cell":
                self.cells_run.append((message["index"], message["outcome"], message["patched"], message["ipython"],
                                       message.get("access", [])))

    # ---------------------------------------------------------------- transport
    def _receive(self, seconds, during=""):
        deadline = time.monotonic() + seconds
        reader = _DeadlineReader(self._in, deadline)
        try:
            return wire.receive(reader)
        except EOFError:
            self.proc.wait(timeout=5)
            cell = self.cells_run[-1][0] + 1 if during == "running your cells" and self.cells_run else None
            raise SandboxDied(f"the student's process ended (exit status {self.proc.returncode}) while {during}",
                              cell=cell) from None

    def close(self):
        if self.proc.poll() is None:
            try:
                wire.send(self._out, {"op": "bye"}, [])
            except OSError:
                pass
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # --------------------------------------------------------------- encoding
    def _pickle(self, value, blobs):
        sandbox = self

        seen: dict = {}

        class P(pickle.Pickler):
            def persistent_id(self, obj):
                if type(obj) is np.ndarray:
                    if obj.dtype.kind not in wire.NUMERIC_KINDS:
                        return None
                    if id(obj) in seen:  # the same array twice stays one array over there
                        return seen[id(obj)]
                    sandbox.arrays.append(obj)
                    blobs.append(np.ascontiguousarray(obj).tobytes())
                    seen[id(obj)] = ("A", len(sandbox.arrays) - 1, obj.dtype.str, obj.shape, len(blobs) - 1,
                                     bool(obj.flags.writeable))
                    return seen[id(obj)]
                if isinstance(obj, RemoteObject):
                    return ("S", obj._key)
                if isinstance(obj, _RemoteMeta):
                    return ("S", obj._key)
                if not _by_value(obj):
                    key = len(sandbox.callbacks) + 1
                    sandbox.callbacks[key] = obj
                    return ("C", key)
                return None

        buf = io.BytesIO()
        P(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        blobs.append(buf.getvalue())
        return len(blobs) - 1

    def _decode(self, data, blobs, state=False):
        def resolve(d):
            (tag, body), = d.items()
            if tag == "R":
                side, key, kind, type_name, flags = body
                if side != "student":
                    raise ValueError("malformed reference")
                return self._proxy(key, kind, type_name, flags)
            if tag == "O":
                module, qualname, attrs = body
                attrs = self._decode(attrs, blobs, state)
                if state:
                    return _State(module, qualname, attrs)
                if (module, qualname) in REBUILDABLE and isinstance(attrs, dict):
                    import importlib

                    cls = getattr(importlib.import_module(module), qualname)
                    obj = cls.__new__(cls)
                    obj.__dict__.update(attrs)
                    return obj
                raise ValueError(f"refused object of {module}.{qualname}")
            raise ValueError(f"malformed message tag {tag}")

        if isinstance(data, dict) and "M" in data and len(data) == 1:
            key, inner = data["M"]
            value = self._decode(inner, blobs, state)
            if state:
                return value
            return self._mirror(key, value)
        if isinstance(data, dict) and "A" in data and len(data["A"]) == 4:
            dtype, shape, i, k = data["A"]
            arr = wire.decode({"A": [dtype, shape, i]}, blobs, resolve)
            if not (isinstance(k, int) and 0 <= k < len(self.arrays)):
                raise ValueError("malformed array reference")
            return _Orig(k, arr) if state else self._adopt(k, arr)
        if isinstance(data, dict) and len(data) == 1 and next(iter(data)) in ("L", "T", "D"):
            tag, body = next(iter(data.items()))
            if tag == "D":
                return {wire.decode(k, blobs, resolve): self._decode(v, blobs, state) for k, v in body}
            items = [self._decode(v, blobs, state) for v in body]
            return items if tag == "L" else tuple(items)
        return wire.decode(data, blobs, resolve)

    def _mirror(self, key, value):
        """The student side sent an object it has sent before: update ours and return it, so that
        two results that are one object over there are one object here too (a shared cache)."""
        if not isinstance(key, int):
            raise ValueError("malformed mirror key")
        known = self.mirrors.get(key)
        if known is None or type(known) is not type(value):
            self.mirrors[key] = value
            return value
        if isinstance(known, np.ndarray):
            if known.shape == value.shape and known.dtype == value.dtype:
                known[...] = value
                return known
            self.mirrors[key] = value
            return value
        if isinstance(known, dict):
            known.clear()
            known.update(value)
        else:
            known[:] = value
        return known

    def _adopt(self, k, arr):
        """A result that is one of our arrays (the student returned an input): ours, updated."""
        target = self.arrays[k]
        if target.shape == arr.shape and target.flags.writeable:
            target[...] = arr
            return target
        return arr

    def _proxy(self, key, kind, type_name, flags):
        if key not in self.proxies:
            if kind == "class":
                proxy = _RemoteMeta(type_name, (), {"_sandbox": self, "_key": key, "_flags": tuple(flags)})
            else:
                proxy = RemoteObject(self, key, kind, type_name, tuple(flags))
            self.proxies[key] = proxy
            self.flags += [f"{type_name}: {f}" for f in flags]
        return self.proxies[key]

    def _merge(self, orig, state):
        """Bring our ``orig`` to the state the student side reports, in place where we can."""
        if isinstance(state, _Orig):
            target = self.arrays[state.k]
            if target.shape == state.value.shape and target.flags.writeable and not np.array_equal(target, state.value, equal_nan=True):
                target[...] = state.value
            return target
        if isinstance(orig, dict) and isinstance(state, dict):
            for k in list(orig):
                if k not in state:
                    del orig[k]
            for k, v in state.items():
                orig[k] = self._merge(orig.get(k), v)
            return orig
        if isinstance(orig, list) and isinstance(state, list) and len(orig) == len(state):
            for i, v in enumerate(state):
                orig[i] = self._merge(orig[i], v)
            return orig
        if isinstance(state, _State):
            if orig is not None and type(orig).__module__ == state.module and type(orig).__qualname__ == state.qualname \
                    and isinstance(state.attrs, dict):
                self._merge(orig.__dict__, state.attrs)
                return orig
            return orig
        if isinstance(state, list) and isinstance(orig, list):
            orig[:] = [self._merge(None, v) for v in state]
            return orig
        return self._materialise(state)

    def _materialise(self, state):
        if isinstance(state, _Orig):
            return self._adopt(state.k, state.value)
        if isinstance(state, dict):
            return {k: self._materialise(v) for k, v in state.items()}
        if isinstance(state, list):
            return [self._materialise(v) for v in state]
        if isinstance(state, tuple):
            return tuple(self._materialise(v) for v in state)
        if isinstance(state, _State):
            return state.attrs  # a course object we did not send: its attributes
        return state

    # ----------------------------------------------------------------- requests
    banned_now: list = []   # the references of the exercise being checked (sent with each request)

    def get(self, name: str):
        wire.send(self._out, {"op": "get", "name": name, "banned": self.banned_now}, [])
        message, blobs = self._receive(30, during=f"fetching {name}")
        if message["op"] == "missing":
            raise NameError(f"name '{name}' is not defined in the notebook")
        return self._decode(message["value"], blobs)

    def call(self, key, args, kwargs):
        return self._request({"op": "call", "target": key, "banned": self.banned_now}, (tuple(args), dict(kwargs)))

    def getattr(self, key, name):
        return self._request({"op": "getattr", "target": key, "name": name, "banned": self.banned_now}, None)

    def _request(self, message, payload):
        blobs: list = []
        self.arrays = []
        originals = [list(payload[0]), payload[1]] if payload is not None else [[], {}]
        if payload is not None:
            message["payload"] = self._pickle(payload, blobs)
        wire.send(self._out, message, blobs)
        self.outer.append(originals)
        try:
            while True:
                reply, rblobs = self._receive(self.timeout, during="running a graded function")
                if reply["op"] == "callback":
                    self._serve_callback(reply, rblobs)
                    continue
                break
        except _Timeout:
            self.proc.kill()
            self.proc.wait()
            raise CallTimeout("the function ran past the time limit") from None
        finally:
            self.outer.pop()
        if reply["op"] == "error":
            raise RuntimeError(f"the grader's channel failed: {reply['message']}")
        if reply.get("tripped"):
            self.flags += [f"called the reference {name}" for name in reply["tripped"]]
        if reply.get("access"):
            self.flags += [f"tried to reach the grader's files: {a}" for a in reply["access"]]
        if payload is not None:
            self._merge(originals, self._decode(reply["after"], rblobs, state=True))
        if reply["op"] == "raise":
            raise RemoteError(reply["type"], reply["message"])
        return self._decode(reply["value"], rblobs)

    def _serve_callback(self, request, blobs):
        if self.outer:
            self._merge(self.outer[-1], self._decode(request["outer"], blobs, state=True))
        target = self.callbacks[request["target"]]
        args, kwargs = self._materialise(self._decode(request["args"], blobs, state=True))
        out: list = []
        try:
            value = target(*args, **kwargs)
            reply = {"op": "callback_return"}
            reply["payload"] = self._pickle((value, [list(args), kwargs]), out)
        except Exception as exc:  # the grader's function raised on the student's arguments
            reply = {"op": "callback_raise", "message": f"{type(exc).__name__}: {exc}"}
            out = []
        wire.send(self._out, reply, out)


# Modules whose functions and classes the student side may load by name (its unpickler allows these).
BY_NAME = ("course_lib", "numpy", "builtins", "math", "functools", "collections", "copyreg")


def _by_value(obj) -> bool:
    """Can ``obj`` be pickled by value for the student side (data, numpy, course_lib objects, and
    module-level functions by name)? Anything else becomes a callback."""
    import functools
    import types

    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
        qualname = getattr(obj, "__qualname__", "")
        module = getattr(obj, "__module__", "") or ""
        return "<" not in qualname and module.split(".")[0] in BY_NAME
    if isinstance(obj, functools.partial):
        return True
    module = type(obj).__module__.split(".")[0]
    if module in ("builtins", "numpy", "collections", "course_lib"):
        return module != "course_lib" or "<" not in type(obj).__qualname__
    return False


class _Timeout(Exception):
    pass


class _DeadlineReader:
    """A reader whose reads fail with _Timeout past ``deadline``."""

    def __init__(self, stream, deadline):
        self.stream, self.deadline = stream, deadline
        self.fd = stream.fileno()

    def read(self, n):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _Timeout()
        ready, _, _ = select.select([self.fd], [], [], left)
        if not ready:
            raise _Timeout()
        return os.read(self.fd, n)
