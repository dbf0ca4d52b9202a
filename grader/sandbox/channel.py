"""The one channel between the grader and a sandboxed student process, used by both sides.

Only plain data crosses, by value: None, bool, int, float, str, tuples, lists and dicts (their
subclasses travel as the base type: a namedtuple as a tuple, an OrderedDict as a dict), numpy
arrays of numeric dtypes with their layout (shape, strides and offset into a shared base buffer,
so a view stays a view and a transposed input stays transposed), and numpy scalars. Nothing is
ever unpickled, and no class is looked up by a name the other side chose, except that the student
side may rebuild the course's own classes (its sandbox copy of course_lib holds only stubs).
Every other object stays where it lives and crosses as a numbered *handle*; the receiver gets a
proxy whose calls go back over the channel. When the last reference to a proxy goes, the next message
says so, and the owner lets go of the handle (and, with it, of whatever only it kept alive).

Mutable values (arrays' base buffers, lists, dicts, and course objects' attributes) are *shared*:
each side keeps a table of the ones that have crossed, and every message carries the changes
either side made to them since the last message. So a function that writes into its argument is
seen doing so, two results that are one object are one object on the other side too, and a
checker's input that the student perturbs in place is what the checker's own callback reads.

Messages are frames on a pipe: a fixed header with two lengths, a JSON body, then binary blobs.
Every length is bounded before anything is allocated, and every text the student side controls
is cut to a bounded length when it is read (limits below).

This file is standalone (stdlib and numpy only): the sandbox imports it too.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import select
import struct
import sys
import time
import weakref

import numpy as np

MAGIC = b"CGv1"
_HEAD = struct.Struct("<4sII")   # magic, JSON length, number of blobs
_BLOB = struct.Struct("<Q")


class Limits:
    """Bounds on what one side accepts from the other (the grader's defaults)."""

    frame_bytes = 64 << 20        # one message, JSON and blobs together
    json_bytes = 8 << 20
    blobs = 4096
    depth = 64                    # nesting of lists, dicts and tuples
    text = 20_000                 # characters of any one string the student side sent
    shared = 50_000               # shared objects alive in one session


class ChannelError(Exception):
    """The other side broke the protocol: a malformed, oversized or out-of-order message."""


class ChannelClosed(ChannelError):
    """The other side closed the channel (its process ended)."""


class ChannelTimeout(Exception):
    """No complete message arrived before the deadline."""


# ------------------------------------------------------------------------- framing
# One encoder and one decoder for every frame: json.dumps with options builds a new encoder per call,
# which was half of encoding a small frame (a round trip has four frames).
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=True).encode
_DECODE = json.JSONDecoder().decode


def write_frame(fd: int, body: dict, blobs: list) -> None:
    head = _ENCODE(body).encode()
    parts = [_HEAD.pack(MAGIC, len(head), len(blobs)), head]
    for b in blobs:
        parts += [_BLOB.pack(len(b)), b]
    data = memoryview(b"".join(parts))
    while data:
        n = os.write(fd, data)
        data = data[n:]


class FrameReader:
    """Reads frames from one descriptor through a buffer: one ``select`` and one ``read`` for a
    whole small frame, instead of one per part (a training loop's calls are small frames)."""

    CHUNK = 1 << 16

    def __init__(self, fd: int, chunk: int = CHUNK):
        self.fd, self.buf, self.chunk = fd, bytearray(), chunk

    def take(self, n: int, deadline: float | None) -> bytes:
        buf = self.buf
        while len(buf) < n:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    raise ChannelTimeout()
            chunk = os.read(self.fd, min(max(n - len(buf), self.chunk), 1 << 20))
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            buf += chunk
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def read_frame(self, deadline: float | None = None, limits: type = Limits) -> tuple[dict, list]:
        magic, head_len, n_blobs = _HEAD.unpack(self.take(_HEAD.size, deadline))
        if magic != MAGIC:
            raise ChannelError("not a message of this channel")
        if head_len > limits.json_bytes or n_blobs > limits.blobs:
            raise ChannelError(f"message too large ({head_len} bytes of JSON, {n_blobs} blobs)")
        total = head_len
        try:
            body = _DECODE(self.take(head_len, deadline).decode())
        except (ValueError, RecursionError) as e:   # UnicodeDecodeError is a ValueError
            raise ChannelError(f"malformed message: {type(e).__name__}") from None
        if not isinstance(body, dict):
            raise ChannelError("malformed message")
        blobs = []
        for _ in range(n_blobs):
            (n,) = _BLOB.unpack(self.take(_BLOB.size, deadline))
            total += n
            if total > limits.frame_bytes:
                raise ChannelError(f"message too large (over {limits.frame_bytes >> 20} MB)")
            blobs.append(self.take(n, deadline))
        return body, blobs


def read_frame(fd: int, deadline: float | None = None, limits: type = Limits) -> tuple[dict, list]:
    """One frame from ``fd``, read without a buffer that outlives the call (nothing is read past
    the frame's end unless the other side sent more)."""
    return FrameReader(fd, chunk=0).read_frame(deadline, limits)


# ------------------------------------------------------------------- plain values
_BUILTIN_TYPES = {"bool": bool, "int": int, "float": float, "complex": complex}


def dtype_node(value):
    """A dtype, a numpy scalar type (np.float32) or a builtin number type (float) as data, or None:
    what ``dtype=`` arguments are, sent by value so both sides hold the real thing."""
    if isinstance(value, np.dtype):
        if value.kind in NUMERIC_KINDS and value.fields is None and value.subdtype is None:
            return {"dt": value.str}
        return None
    if type(value) is type:
        for name, t in _BUILTIN_TYPES.items():
            if value is t:
                return {"bt": name}
        if issubclass(value, np.generic) and value.__module__ == "numpy" and getattr(np, value.__name__, None) is value:
            try:
                dt = np.dtype(value)
            except TypeError:
                return None
            if dt.kind in NUMERIC_KINDS and dt.type is value:
                return {"dT": dt.str}
    return None


def dtype_from_node(node):
    """The inverse of :func:`dtype_node`, for a node with one of its tags (checked)."""
    if "dt" in node:
        return check_dtype(node["dt"])
    if "dT" in node:
        return check_dtype(node["dT"]).type
    t = _BUILTIN_TYPES.get(node["bt"]) if isinstance(node["bt"], str) else None
    if t is None:
        raise ChannelError("malformed type")
    return t


_DTYPE_TAGS = ("dt", "dT", "bt")

# Other built-in values students hand to course code, by value (no identity: a set is copied).
_BY_VALUE = {
    complex: lambda v, enc: {"cx": [enc(v.real), enc(v.imag)]},
    bytes: lambda v, enc: {"by": v.hex()},
    range: lambda v, enc: {"rg": [enc(v.start), enc(v.stop), enc(v.step)]},
    set: lambda v, enc: {"st": [enc(x) for x in v]},
    frozenset: lambda v, enc: {"fs": [enc(x) for x in v]},
    slice: lambda v, enc: {"sl": [enc(v.start), enc(v.stop), enc(v.step)]},
}
_VALUE_TAGS = ("cx", "by", "rg", "st", "fs", "sl")


def _value_from_node(node, dec):
    (tag, body), = node.items()
    try:
        if tag == "by":
            if not isinstance(body, str):
                raise TypeError
            return bytes.fromhex(body)
        if not isinstance(body, list):
            raise TypeError
        items = [dec(x) for x in body]
        if tag == "cx" and len(items) == 2 and all(type(x) is float for x in items):
            return complex(*items)
        if tag == "rg" and len(items) == 3 and all(type(x) is int for x in items):
            return range(*items)
        if tag == "sl" and len(items) == 3:
            return slice(*items)
        if tag in ("st", "fs"):
            return set(items) if tag == "st" else frozenset(items)
    except (TypeError, ValueError):
        pass
    raise ChannelError("malformed value")
def clean_text(s: str, limit: int) -> str:
    """A string safe to store and print: lone surrogates escaped, at most ``limit`` characters."""
    if len(s) > limit:
        s = s[:limit] + f"... ({len(s) - limit} more characters)"
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


NUMERIC_KINDS = "biufc"


def check_dtype(text) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise ChannelError("malformed dtype")
    try:
        dt = np.dtype(text)
    except TypeError:
        raise ChannelError(f"refused dtype {text!r}") from None
    if dt.kind not in NUMERIC_KINDS or dt.fields is not None or dt.subdtype is not None or dt.itemsize > 32:
        raise ChannelError(f"refused dtype {text!r}")
    return dt


def _ints(value, what, lo=None, n=None) -> tuple:
    if not isinstance(value, list) or (n is not None and len(value) != n) or len(value) > 32:
        raise ChannelError(f"malformed {what}")
    for v in value:
        if type(v) is not int or (lo is not None and v < lo):
            raise ChannelError(f"malformed {what}")
    return tuple(value)


def _scalar_json(value: np.generic):
    if value.dtype.kind == "c":
        return [float(value.real), float(value.imag)]
    if value.dtype.kind == "b":
        return bool(value)
    if value.dtype.kind == "f":
        f = float(value)
        return f if math.isfinite(f) else repr(f)
    return int(value)


def describe_kind(obj) -> tuple[str, str]:
    """How an object that stays on its side is described to the other: ("class" | "function" |
    "object", a short type name for messages)."""
    if isinstance(obj, type):
        return "class", str(getattr(obj, "__name__", "class"))
    if callable(obj):
        name = getattr(obj, "__name__", None)
        return "function", str(name) if isinstance(name, str) else type(obj).__name__
    return "object", type(obj).__name__


class StudentTuple(tuple):
    """A tuple subclass of the student side (a namedtuple), on the grader's side: its values, and the
    handle that makes it the student's own object again when it is handed back (code that reads
    ``cache.W`` from a namedtuple it returned earlier keeps working)."""


class Handle:
    """What one side knows of an object that lives on the other side: its number and a description."""

    __slots__ = ("id", "kind", "type_name")

    def __init__(self, id: str, kind: str, type_name: str):
        self.id, self.kind, self.type_name = id, kind, type_name


class CourseNames:
    """This side's course_lib objects by qualified name ("course_lib.mlp.forward"): the functions and
    classes a sandbox stub stands for, and the classes whose instances may cross by value."""

    def __init__(self, objects: dict):
        self.by_name = dict(objects)
        self.by_id = {id(o): q for q, o in self.by_name.items()}
        self.classes = {q: o for q, o in self.by_name.items() if isinstance(o, type)}

    def name(self, obj):
        q = self.by_id.get(id(obj))
        return q if q is not None and self.by_name[q] is obj else None

    def class_of(self, obj):
        """The qualified name of the nearest course class in type(obj)'s MRO, or None."""
        for cls in type(obj).__mro__:
            q = self.by_id.get(id(cls))
            if q is not None and self.classes.get(q) is cls:
                return q
        return None

    def is_tuple_class(self, q) -> bool:
        cls = self.classes.get(q)
        return cls is not None and issubclass(cls, tuple) and hasattr(cls, "_fields")


# Modes of a frame: a checker's call and its reply synchronise every shared object; service traffic
# (a stub's request to the grader, a callback, and their replies) carries what it reaches, and what
# the checker's call handed over.
CHECKER, SERVICE = "checker", "service"


class _Slot:
    """One shared object, held by this side's table. The side that first sent it keeps it until the
    other side lets go of its copy; the other side lets go when only its table still refers to
    its copy (a buffer goes with its last view), and says so in its next message."""

    __slots__ = ("kind", "obj", "snapshot", "base", "fp", "children")

    def __init__(self, kind, obj, base=None, owned=True):
        self.kind, self.obj, self.snapshot, self.base = kind, obj, None, base
        self.fp, self.children = None, ()


_PLAIN = (int, float, str, bool, type(None))


def _fingerprint(kind, obj):
    """A cheap summary of a container's contents: plain values as themselves, objects by identity.
    Unchanged means the state need not be encoded again (shared children are synced on their own)."""
    if kind == "r":
        return tuple(_rng_state(obj))
    if kind == "l":
        items = list.__iter__(obj)
    elif kind == "d":
        items = (x for kv in dict.items(obj) for x in kv)
    else:
        items = (x for kv in getattr(obj, "__dict__", {}).items() for x in kv)
    # An object is held by its identity *and* the object itself: holding it keeps its address from being
    # reused. By identity alone, a tuple replaced twice in one call (the second one allocated where the
    # first old one was freed) looked unchanged, and the other side kept the stale value. The pair
    # compares as equal only when the identities are (then the objects are the same one).
    return tuple(v if type(v) in _PLAIN else (id(v), v) for v in items)


# numpy random generators cross as shared objects whose state is their bit generator's: a course
# function that draws from the student's rng advances the student's own rng, as it would at home.
RNG_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def _rng_state(rng) -> list:
    """[bit generator name, its state as JSON text] (arrays in the state as lists)."""
    state = rng.bit_generator.state

    def plain(v):
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, np.ndarray):
            return {"__array__": v.dtype.str, "values": v.tolist()}
        if isinstance(v, np.generic):
            return v.item()
        return v
    return [type(rng.bit_generator).__name__, json.dumps(plain(state), separators=(",", ":"))]


def _set_rng_state(rng, state) -> None:
    if not (isinstance(state, list) and len(state) == 2 and state[0] == type(rng.bit_generator).__name__
            and isinstance(state[1], str) and len(state[1]) < 100_000):
        raise ChannelError("malformed random generator state")

    def back(v):
        if isinstance(v, dict):
            if set(v) == {"__array__", "values"}:
                return np.asarray(v["values"], dtype=check_dtype(v["__array__"]))
            return {k: back(x) for k, x in v.items()}
        return v
    try:
        rng.bit_generator.state = back(json.loads(state[1]))
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
        raise ChannelError("malformed random generator state") from None


def _root_of(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory: down the chain of bases, through the buffer objects numpy
    puts in between (``as_strided`` makes a view whose base is not itself an array)."""
    root = a
    while True:
        base = root.base
        if isinstance(base, np.ndarray):
            root = base
            continue
        inner = getattr(base, "base", None)
        if isinstance(inner, np.ndarray):
            root = inner
            continue
        return root


def _flat(root: np.ndarray) -> np.ndarray:
    """A buffer's bytes as a 1-D uint8 view (no copy: the root is contiguous in some order)."""
    return root.ravel(order="K").view(np.uint8) if root.size else np.zeros(0, np.uint8)


class Codec:
    """Encodes and decodes the values of one side of one session, and keeps its shared objects.

    ``side`` is "g" (the grader) or "s" (the student side). ``make_proxy(handle)`` turns a handle
    to an object of the other side into a local proxy. On the grader's side (``trusted=True``),
    strings are cut and cleaned, course functions and classes the student side sends stay proxies
    to it except in a request the grader serves, and nothing the student side describes is ever
    rebuilt except, transiently, the ``self`` of a course method it asks the grader to run.
    """

    def __init__(self, side: str, course, make_proxy, *, trusted: bool, limits: type = Limits):
        self.side, self.other = side, ("s" if side == "g" else "g")
        self.course, self.make_proxy, self.trusted, self.limits = course, make_proxy, trusted, limits
        self.counter = 0
        self.table: dict = {}        # shared id -> _Slot
        self.by_obj: dict = {}       # id(local object) -> shared id
        self.buffers: dict = {}      # id(an array whose bytes are a shared buffer) -> its shared id
        self.released: list = []     # shared ids this side let go of, to tell the other side
        self.call_roots: set = set()  # what the current checker call handed over
        self.rng_ids: set = set()    # shared random generators: looked at in every frame
        self.handles: dict = {}      # handle id -> local object the other side holds a proxy to
        self.handle_ids: dict = {}
        self.proxies: dict = {}      # handle id of the other side -> weak reference to its proxy
        self.proxy_ids: dict = {}    # id(proxy) -> handle id of the other side
        self.gone: dict = {}         # handle ids of the other side whose proxies died here, to tell it
        self.last_reached: set = set()
        self.frames_since_collect = 0
        self.touched: set = set()    # shared ids the other side's last frame referred to: the next
                                     # frame carries their changes (what the request's code did to them)

    # -------------------------------------------------------------- tables
    def _new_id(self) -> str:
        self.counter += 1
        return f"{self.side}{self.counter}"

    def _lookup(self, obj):
        sid = self.by_obj.get(id(obj))
        if sid is not None:
            slot = self.table.get(sid)
            if slot is not None and slot.obj is obj:
                return sid
        return None

    def _index(self, slot) -> dict:
        return self.buffers if slot.kind == "b" else self.by_obj

    def _add(self, sid, slot):
        if len(self.table) >= self.limits.shared:
            self.collect()
            if len(self.table) >= self.limits.shared:
                raise ChannelError("too many shared objects in one session")
        self.table[sid] = slot
        if slot.kind == "r":
            self.rng_ids.add(sid)
        obj = slot.obj
        if obj is not None:
            self._index(slot)[id(obj)] = sid

    def _drop(self, sid):
        slot = self.table.pop(sid, None)
        if slot is not None:
            obj = slot.obj
            index = self._index(slot)
            if obj is not None and index.get(id(obj)) == sid:
                del index[id(obj)]
            # A dropped slot holds nothing: in a collection, a container let go of frees what only it
            # held (its fingerprint pins its contents) in the same pass, not one pass (8 frames) later.
            slot.obj = slot.fp = slot.snapshot = None
            slot.children = ()
        self.call_roots.discard(sid)
        self.rng_ids.discard(sid)

    def _buffer_of(self, root):
        bid = self.buffers.get(id(root))
        if bid is not None:
            slot = self.table.get(bid)
            if slot is not None and slot.obj is root:
                return bid
        return None

    def collect(self) -> None:
        """Let go of the other side's objects whose copies nothing on this side holds any more (a
        buffer goes with its last view)."""
        viewed = set()
        for sid, slot in list(self.table.items()):
            if sid.startswith(self.side) or slot.kind == "b":
                continue   # ours: held until the other side lets go of its copy
            obj = slot.obj
            if obj is None or sys.getrefcount(obj) <= 3:  # the slot, this name, the call's argument
                self._drop(sid)
                self.released.append(sid)
            elif slot.kind == "a":
                viewed.add(slot.base)
        for sid, slot in list(self.table.items()):
            if slot.kind == "b" and not sid.startswith(self.side) and sid not in viewed and slot.obj is not None:
                self._drop(sid)
                self.released.append(sid)

    def release(self, sids) -> None:
        """The other side let go of these: forget them (this side's objects live on, unshared)."""
        if not isinstance(sids, list):
            raise ChannelError("malformed release")
        for sid in sids:
            if isinstance(sid, str) and sid.startswith(self.side):
                self._drop(sid)

    def handle_for(self, obj) -> str:
        hid = self.handle_ids.get(id(obj))
        if hid is None or self.handles.get(hid) is not obj:
            if len(self.handles) >= self.limits.shared:
                raise ChannelError("too many handles in one session")
            hid = self._new_id()
            self.handles[hid] = obj
            self.handle_ids[id(obj)] = hid
        return hid

    def own_handle(self, hid):
        if not isinstance(hid, str) or hid not in self.handles:
            raise ChannelError("a handle to an object that was never sent")
        return self.handles[hid]

    def drop_handles(self, hids) -> None:
        """The other side's proxies of these handles died: let go of the objects they stood for."""
        if not isinstance(hids, list) or len(hids) > self.limits.shared:
            raise ChannelError("malformed handle release")
        for hid in hids:
            if not isinstance(hid, str) or not hid.startswith(self.side):
                raise ChannelError("malformed handle release")
            obj = self.handles.pop(hid, None)
            if obj is not None:
                if self.handle_ids.get(id(obj)) == hid:
                    del self.handle_ids[id(obj)]
                self.frames_since_collect = 8   # what only it held is let go of in the next frame

    def proxy(self, hid, kind, type_name):
        ref = self.proxies.get(hid)
        proxy = ref() if ref is not None else None
        if proxy is None:
            if not isinstance(hid, str) or not hid.startswith(self.other) or len(hid) > 24:
                raise ChannelError("malformed handle")
            if len(self.proxies) >= self.limits.shared:
                raise ChannelError("too many handles in one session")
            proxy = self.make_proxy(Handle(hid, kind, type_name))
            self._hold(hid, proxy)
        return proxy

    def _hold(self, hid, proxy) -> None:
        """Keep ``proxy`` for ``hid`` as long as something else holds it (the table itself holds it weakly).

        Its death is told to the other side in the next frame: until then nothing of the other side's
        can refer to the handle except a frame this side reads first (the two sides take turns), and a
        proxy made again for it here cancels the news."""
        self.gone.pop(hid, None)
        pid = id(proxy)
        proxies, ids, gone = self.proxies, self.proxy_ids, self.gone

        def died(ref):   # runs as the proxy is freed, before its address can be reused
            if proxies.get(hid) is ref:
                del proxies[hid]
                gone[hid] = None
            if ids.get(pid) == hid:
                del ids[pid]
        try:
            ref = weakref.ref(proxy, died)
        except TypeError:   # a proxy that cannot be weakly referenced lives as long as the session
            ref = (lambda p: lambda: p)(proxy)
        proxies[hid] = ref
        ids[pid] = hid

    # ------------------------------------------------------------ encoding
    def pack(self, values: dict, mode: str, *, method_self=None) -> tuple[dict, list]:
        """A frame body for ``values`` (name -> value), with the shared objects it must carry:
        new ones, and every one whose state changed (all of them in CHECKER mode; in SERVICE mode
        those it reaches and those the checker's call handed over)."""
        self.frames_since_collect += 1
        # Every eighth frame, not at every checker frame: a collection walks the whole table (notebook
        # 07's job is 8-10% faster so), and an object kept a few frames longer changes nothing.
        if self.frames_since_collect >= 8:
            self.collect()
            self.frames_since_collect = 0
        frame = _Frame(mode)
        body = {k: self._enc(v, frame, 0) for k, v in values.items()}
        if method_self is not None:
            body["self"] = self._enc_self(method_self, frame)
        # Random generators are always looked at: code may draw from one it holds, a generator
        # function's body for instance, without the frame reaching it.
        todo = list(self.table) if mode == CHECKER else \
            list(frame.reached | self.call_roots | self.touched | self.rng_ids)
        self.touched = set()
        seen: set = set()
        while todo or frame.pending:
            todo.extend(frame.pending)
            frame.pending = []
            sid = todo.pop()
            if sid in seen or sid not in self.table:
                continue
            seen.add(sid)
            slot = self.table[sid]
            obj = slot.obj
            if obj is None:
                continue
            if slot.kind == "a":
                todo.append(slot.base)   # an array view: its state is its base buffer's
                continue
            if slot.kind == "b":
                # Compared as bytes: comparing a memoryview with bytes goes element by element, ~40x slower.
                # The root is contiguous in C or Fortran order: order "A" gives its bytes as they lie.
                data = obj.tobytes(order="A")
                if sid in frame.new or slot.snapshot is None or data != slot.snapshot:
                    frame.blobs.append(data)
                    frame.sync.append(["b", sid, len(frame.blobs) - 1])
                    slot.snapshot = data
                continue
            fp = _fingerprint(slot.kind, obj)
            if sid not in frame.new and fp == slot.fp:
                todo.extend(slot.children)   # the same contents: only what they hold may have changed
                continue
            before = set(frame.reached)
            state = self._state(slot.kind, obj, frame)
            slot.fp, slot.children = fp, tuple(frame.reached - before) or slot.children
            if sid in frame.new or state != slot.snapshot:
                frame.sync.append([slot.kind, sid, state])
                slot.snapshot = state
        body["_new"], body["_arrays"], body["_sync"] = frame.defs, frame.arrays, frame.sync
        body["_release"], self.released = self.released, []
        if self.gone:   # emptied in place: the proxies' callbacks hold this dict
            body["_unhandle"] = list(self.gone)
            for hid in body["_unhandle"]:
                self.gone.pop(hid, None)
        self.last_reached = frame.reached
        return body, frame.blobs

    def _enc(self, value, frame, depth):
        if depth > self.limits.depth:
            raise ChannelError("value nested too deeply")
        t = type(value)
        if value is None or t is bool or t is str:
            return value
        if t is int:
            return value if -(1 << 62) < value < (1 << 62) else {"I": str(value)}
        if t is float:
            return value if math.isfinite(value) else {"F": repr(value)}
        sid = self._lookup(value)
        if sid is not None:
            frame.reach(sid)
            return {"r": sid}
        hid = self.proxy_ids.get(id(value))
        ref = self.proxies.get(hid) if hid is not None else None
        if ref is not None and ref() is value:   # the other side's object, going home
            return {"h": hid, "k": "object", "n": ""}
        if t is StudentTuple and getattr(value, "_course_handle", None):
            return {"h": value._course_handle, "k": "object", "n": ""}
        if t is type or isinstance(value, np.dtype):
            node = dtype_node(value)
            if node is not None:
                return node
        if t is np.random.Generator and type(value.bit_generator).__name__ in RNG_BIT_GENERATORS:
            return {"r": self._share(value, "r", frame, type(value.bit_generator).__name__)}
        if t is np.ndarray:
            if value.dtype.kind in NUMERIC_KINDS and value.dtype.fields is None:
                return {"r": self._share_array(value, frame)}
        elif isinstance(value, np.generic):
            if type(value).__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
                return {"S": [value.dtype.str, _scalar_json(value)]}
        elif t is tuple:
            return {"T": [self._enc(v, frame, depth + 1) for v in value]}
        elif t in _BY_VALUE:
            return _BY_VALUE[t](value, lambda v: self._enc(v, frame, depth + 1))
        elif t is list or t is dict:
            return {"r": self._share(value, "l" if t is list else "d", frame)}
        elif not isinstance(value, np.ndarray):
            name = self.course.name(value)
            if name is not None:    # a course function or class, known to both sides by name
                node = {"C": name}
                if self.side == "s":
                    node["h"] = self.handle_for(value)
                return node
            qual = self.course.class_of(value)
            if qual is not None and self.course.is_tuple_class(qual) and isinstance(value, tuple):
                return {"N": qual, "v": [self._enc(v, frame, depth + 1) for v in tuple.__iter__(value)]}
            if qual is not None and self.side == "g" and frame.mode == CHECKER:
                return {"r": self._share(value, "o", frame, qual)}
            if qual is not None and self.side == "g":   # made while serving the student side: it owns it now
                return {"O": qual, "a": self._attrs(value, frame)}
            if isinstance(value, bool):
                return bool(value)
            if isinstance(value, int):
                return self._enc(int.__int__(value), frame, depth)
            if isinstance(value, float):
                return self._enc(float.__float__(value), frame, depth)
            if isinstance(value, str):
                return str.__str__(value)
            if isinstance(value, tuple):
                node = {"T": [self._enc(v, frame, depth + 1) for v in tuple.__iter__(value)]}
                if self.side == "s":
                    node["h"] = self.handle_for(value)
                return node
            if isinstance(value, list) and self.side == "s":
                return {"r": self._share(value, "l", frame)}
            if isinstance(value, dict) and self.side == "s":
                return {"r": self._share(value, "d", frame)}
        kind, type_name = describe_kind(value)
        return {"h": self.handle_for(value), "k": kind, "n": type_name[:100]}

    def _enc_self(self, obj, frame):
        """The ``self`` of a course method the student side asks the grader to run."""
        sid = self._lookup(obj)
        if sid is not None:
            frame.reach(sid)
            return {"r": sid}
        qual = self.course.class_of(obj)
        return {"O": qual, "h": self.handle_for(obj), "a": self._attrs(obj, frame)}

    def _attrs(self, obj, frame):
        return [[str(k), self._enc(v, frame, 1)] for k, v in getattr(obj, "__dict__", {}).items()]

    def _share(self, value, kind, frame, qual=None) -> str:
        sid = self._new_id()
        self._add(sid, _Slot(kind, value))
        frame.new.add(sid)
        frame.defs.append([kind, sid, qual])
        frame.reach(sid)
        return sid

    def _share_array(self, a, frame) -> str:
        root = _root_of(a)
        if not (root.flags.c_contiguous or root.flags.f_contiguous) or root.dtype.fields is not None:
            root = a = np.array(a, copy=True)
        bid = self._buffer_of(root)
        if bid is None:
            bid = self._new_id()
            self._add(bid, _Slot("b", root))
            frame.new.add(bid)
            frame.defs.append(["b", bid, None])
        frame.reach(bid)
        if a is root:
            aid = bid + "v"
            slot = self.table.get(aid)
            if slot is not None and slot.obj is a:
                return aid
        else:
            aid = self._new_id()
        offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0] if a.size else 0
        if a is root:
            offset = 0
        self.table.pop(aid, None)
        self._add(aid, _Slot("a", a, base=bid))
        frame.arrays.append([aid, bid, a.dtype.str, list(a.shape), list(a.strides), int(offset), not a.flags.writeable])
        return aid

    def _state(self, kind, obj, frame):
        if kind == "r":
            return _rng_state(obj)
        if kind == "l":
            return [self._enc(v, frame, 1) for v in list.__iter__(obj)]
        if kind == "d":
            return [[self._enc(k, frame, 1), self._enc(v, frame, 1)] for k, v in dict.items(obj)]
        return self._attrs(obj, frame)

    # ------------------------------------------------------------ decoding
    def unpack(self, body: dict, blobs: list, mode: str) -> dict:
        """Apply a frame's shared objects; return its other entries decoded (``self`` included)."""
        defs, arrays, sync = body.get("_new"), body.get("_arrays"), body.get("_sync")
        if not (isinstance(defs, list) and isinstance(arrays, list) and isinstance(sync, list)):
            raise ChannelError("malformed message")
        self.release(body.get("_release", []))
        if "_unhandle" in body:
            self.drop_handles(body["_unhandle"])
        ctx = _Decoding(mode)
        keep = []   # the new objects, held until this frame's values hold them
        for d in defs:
            keep.append(self._create(d))
        states = []
        for entry in sync:
            if not isinstance(entry, list) or len(entry) != 3 or not isinstance(entry[1], str):
                raise ChannelError("malformed update")
            slot = self.table.get(entry[1])
            if slot is None or slot.kind != entry[0]:
                raise ChannelError("an update for an object that was never shared")
            if slot.kind == "b":
                keep.append(self._fill_buffer(slot, entry[2], blobs, entry[1]))
            else:
                states.append((slot, entry[2]))
        for a in arrays:
            keep.append(self._create_array(a))
        for slot, state in states:
            self._apply(slot, state, ctx)
        out = {}
        for k, v in body.items():
            if k.startswith("_"):
                continue
            out[k] = self.decode_self(v, ctx) if k == "self" else self.decode(v, ctx, 0)
        out["_transients"] = ctx.transients
        self.touched |= ctx.refs | {d[1] for d in defs}
        if mode == CHECKER and not self.trusted:
            self.call_roots = set(ctx.refs) | {d[1] for d in defs}
        out["_keep"] = keep
        return out

    def _create(self, d):
        if not isinstance(d, list) or len(d) != 3:
            raise ChannelError("malformed shared object")
        kind, sid, qual = d
        if not isinstance(sid, str) or not sid.startswith(self.other) or sid in self.table or len(sid) > 24:
            raise ChannelError("malformed shared object id")
        if kind == "l":
            obj = []
        elif kind == "d":
            obj = {}
        elif kind == "b":
            self.table[sid] = _Slot("b", None, owned=False)
            return None
        elif kind == "r":
            if qual not in RNG_BIT_GENERATORS:
                raise ChannelError("malformed random generator")
            obj = np.random.Generator(getattr(np.random, qual)())
        elif kind == "o" and not self.trusted:
            cls = self.course.classes.get(qual) if isinstance(qual, str) else None
            if cls is None:
                raise ChannelError(f"unknown course class {qual!r}")
            obj = cls.__new__(cls)
        else:
            raise ChannelError("malformed shared object kind")
        self._add(sid, _Slot(kind, obj, owned=False))
        return obj

    def _fill_buffer(self, slot, index, blobs, sid):
        if type(index) is not int or not 0 <= index < len(blobs):
            raise ChannelError("malformed buffer update")
        data = blobs[index]
        flat = slot.obj
        if flat is None:
            flat = np.frombuffer(bytearray(data), np.uint8)
            slot.obj = flat
            self.buffers[id(flat)] = sid
        else:
            target = _flat(flat)
            if len(data) != target.size:
                raise ChannelError("a shared buffer changed its size")
            if target.tobytes() != data:   # as bytes: a memoryview comparison goes element by element
                if not target.flags.writeable:   # a read-only array of this side's: it cannot change
                    raise ChannelError("a read-only buffer was changed")
                target[...] = np.frombuffer(data, np.uint8)
        slot.snapshot = bytes(data)
        return flat

    def _create_array(self, a):
        if not isinstance(a, list) or len(a) != 7:
            raise ChannelError("malformed array")
        aid, bid, dtype, shape, strides, offset, readonly = a
        if not isinstance(aid, str) or not aid.startswith(self.other) or len(aid) > 26:
            raise ChannelError("malformed array id")
        base = self.table.get(bid)
        flat = base.obj if base is not None and base.kind == "b" else None
        if flat is None:
            raise ChannelError("an array refers to a buffer that was not sent")
        dt = check_dtype(dtype)
        shape, strides = _ints(shape, "shape", lo=0), _ints(strides, "strides", n=len(shape))
        if type(offset) is not int or offset < 0 or type(readonly) is not bool:
            raise ChannelError("malformed array")
        try:
            arr = np.ndarray(shape, dt, buffer=flat, offset=offset, strides=strides)
        except (ValueError, TypeError) as e:
            raise ChannelError(f"malformed array layout: {e}") from None
        if readonly:
            arr.flags.writeable = False
        self._drop(aid)
        self._add(aid, _Slot("a", arr, base=bid, owned=False))
        return arr

    def _apply(self, slot, state, ctx):
        if not isinstance(state, list):
            raise ChannelError("malformed state")
        obj = slot.obj
        if obj is None:
            return
        data = _Decoding("data") if self.trusted else ctx  # contents of shared objects are data
        if slot.kind == "r":
            _set_rng_state(obj, state)
        elif slot.kind == "l":
            obj[:] = [self.decode(v, data, 1) for v in state]
        elif slot.kind == "d":
            items = []
            for pair in state:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ChannelError("malformed dict")
                key = self.decode(pair[0], data, 1)
                try:
                    hash(key)
                except TypeError:
                    raise ChannelError("malformed dict key") from None
                items.append((key, self.decode(pair[1], data, 1)))
            obj.clear()
            obj.update(items)
        elif slot.kind == "o":
            attrs = self._decode_attrs(state, data)
            obj.__dict__.clear()
            obj.__dict__.update(attrs)
        slot.snapshot = state

    def _decode_attrs(self, state, ctx) -> dict:
        if not isinstance(state, list):
            raise ChannelError("malformed object state")
        attrs = {}
        for pair in state:
            if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str) or len(pair[0]) > 200:
                raise ChannelError("malformed object state")
            attrs[pair[0]] = self.decode(pair[1], ctx, 1)
        return attrs

    def decode_self(self, node, ctx):
        """The ``self`` of a course method the grader runs for the student side (grader only)."""
        if isinstance(node, dict) and "r" in node:
            slot = self.table.get(node["r"])
            if slot is None or slot.kind != "o" or slot.obj is None:
                raise ChannelError("malformed self")
            return slot.obj
        if not (isinstance(node, dict) and "O" in node and "h" in node):
            raise ChannelError("malformed self")
        cls = self.course.classes.get(node["O"]) if isinstance(node["O"], str) else None
        if cls is None or self.course.is_tuple_class(node["O"]):
            raise ChannelError("malformed self")
        obj = cls.__new__(cls)
        obj.__dict__.update(self._decode_attrs(node.get("a"), ctx))
        ctx.transients.append((node["h"], obj))
        return obj

    def decode(self, node, ctx, depth):
        if depth > self.limits.depth:
            raise ChannelError("value nested too deeply")
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            return clean_text(node, self.limits.text) if self.trusted else node
        if not isinstance(node, dict) or len(node) == 0:
            raise ChannelError("malformed value")
        if "r" in node:
            slot = self.table.get(node["r"])
            obj = slot.obj if slot is not None and slot.kind != "b" else None
            if obj is None:
                if os.environ.get("COURSE_GRADER_DEBUG") == "1":
                    print(f"[{self.side}] unknown ref {node['r']}: slot={slot and slot.kind} table={sorted(self.table)[-12:]}",
                          file=sys.stderr)
                raise ChannelError("a reference to an object that was never shared")
            ctx.refs.add(node["r"])
            return obj
        if len(node) == 1 and next(iter(node)) in _VALUE_TAGS:
            return _value_from_node(node, lambda v: self.decode(v, ctx, depth + 1))
        if "T" in node:
            if not isinstance(node["T"], list):
                raise ChannelError("malformed tuple")
            values = tuple(self.decode(v, ctx, depth + 1) for v in node["T"])
            hid = node.get("h")
            if hid is None:
                return values
            if not self.trusted or not isinstance(hid, str) or not hid.startswith(self.other) or len(hid) > 24:
                raise ChannelError("malformed tuple")
            tagged = StudentTuple(values)
            tagged._course_handle = hid
            return tagged
        if "S" in node:
            pair = node["S"]
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ChannelError("malformed scalar")
            dt = check_dtype(pair[0])
            try:
                value = pair[1]
                if dt.kind == "c":
                    value = complex(*value)
                elif isinstance(value, str):
                    value = float(value) if value in ("nan", "inf", "-inf") else None
                return dt.type(value)
            except (TypeError, ValueError, OverflowError):
                raise ChannelError("malformed scalar") from None
        if "I" in node:
            text = node["I"]
            if not isinstance(text, str) or len(text) > 4000 or not text.lstrip("-").isdigit():
                raise ChannelError("malformed integer")
            return int(text)
        if len(node) == 1 and next(iter(node)) in _DTYPE_TAGS:
            return dtype_from_node(node)
        if "F" in node:
            if node["F"] not in ("nan", "inf", "-inf"):
                raise ChannelError("malformed float")
            return float(node["F"])
        if "h" in node and "C" not in node and "O" not in node:
            hid = node["h"]
            if isinstance(hid, str) and hid.startswith(self.side):
                return self.own_handle(hid)
            kind = node.get("k")
            if kind not in ("function", "class", "object"):
                raise ChannelError("malformed handle")
            name = node.get("n") if isinstance(node.get("n"), str) else "object"
            return self.proxy(hid, kind, clean_text(name, 100))
        if "C" in node:
            qual = node["C"]
            obj = self.course.by_name.get(qual) if isinstance(qual, str) else None
            if obj is None:
                raise ChannelError(f"unknown course name {qual!r}")
            if self.trusted and ctx.mode != SERVICE:
                # The student side's stub of a course function: a checker calls it through the student
                # side, where it is the stub (and the grader refuses it while its exercise is checked).
                if not isinstance(node.get("h"), str):
                    raise ChannelError("malformed course reference")
                return self.proxy(node["h"], "class" if isinstance(obj, type) else "function", qual.rsplit(".", 1)[-1])
            return obj
        if "N" in node:
            qual, items = node["N"], node.get("v")
            if not isinstance(items, list) or not isinstance(qual, str) or not self.course.is_tuple_class(qual):
                raise ChannelError("malformed course tuple")
            values = [self.decode(v, ctx, depth + 1) for v in items]
            if self.trusted and ctx.mode != SERVICE:
                return tuple(values)
            try:
                return self.course.classes.get(qual)._make(values)
            except (TypeError, ValueError):
                raise ChannelError("malformed course tuple") from None
        if "O" in node:
            qual = node["O"]
            cls = self.course.classes.get(qual) if isinstance(qual, str) else None
            if cls is None:
                raise ChannelError(f"unknown course class {qual!r}")
            if self.trusted:
                raise ChannelError("the student side sent a course object by value")
            obj = cls.__new__(cls)
            obj.__dict__.update(self._decode_attrs(node.get("a"), ctx))
            return obj
        raise ChannelError("malformed value")


class _Frame:
    __slots__ = ("mode", "blobs", "defs", "arrays", "sync", "new", "reached", "pending")

    def __init__(self, mode):
        self.mode = mode
        self.blobs, self.defs, self.arrays, self.sync = [], [], [], []
        self.new, self.reached, self.pending = set(), set(), []

    def reach(self, sid):
        if sid not in self.reached:
            self.reached.add(sid)
            self.pending.append(sid)


class _Decoding:
    __slots__ = ("mode", "transients", "refs")

    def __init__(self, mode):
        self.mode, self.transients, self.refs = mode, [], set()


# -------------------------------------------------- by value, for course functions that are pure
class NotPlain(Exception):
    """A value that is not plain data (it holds an object, a function, a course object...)."""


def plain_encode(value, blobs: list, depth: int = 0):
    """``value`` by value, with no sharing: for the arguments and results of course functions that
    neither change their arguments nor keep state (policy.PURE), where identity does not matter."""
    if depth > Limits.depth:
        raise NotPlain()
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if -(1 << 62) < value < (1 << 62) else {"I": str(value)}
    if t is float:
        return value if math.isfinite(value) else {"F": repr(value)}
    if t is np.ndarray and value.dtype.kind in NUMERIC_KINDS and value.dtype.fields is None:
        blobs.append(np.ascontiguousarray(value).tobytes())
        return {"a": [value.dtype.str, list(value.shape), len(blobs) - 1]}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
        return {"S": [value.dtype.str, _scalar_json(value)]}
    if t is type or isinstance(value, np.dtype):
        node = dtype_node(value)
        if node is not None:
            return node
    if t is tuple:
        return {"T": [plain_encode(v, blobs, depth + 1) for v in value]}
    if t in _BY_VALUE:
        return _BY_VALUE[t](value, lambda v: plain_encode(v, blobs, depth + 1))
    if t is list:
        return {"L": [plain_encode(v, blobs, depth + 1) for v in value]}
    if t is dict:
        return {"D": [[plain_encode(k, blobs, depth + 1), plain_encode(v, blobs, depth + 1)] for k, v in value.items()]}
    raise NotPlain()


def plain_decode(node, blobs: list, trusted: bool, depth: int = 0):
    if depth > Limits.depth:
        raise ChannelError("value nested too deeply")
    if node is None or isinstance(node, (bool, int, float)):
        return node
    if isinstance(node, str):
        return clean_text(node, Limits.text) if trusted else node
    if not isinstance(node, dict) or len(node) != 1:
        raise ChannelError("malformed value")
    (tag, body), = node.items()
    if tag in _DTYPE_TAGS:
        return dtype_from_node(node)
    if tag in _VALUE_TAGS:
        return _value_from_node(node, lambda v: plain_decode(v, blobs, trusted, depth + 1))
    dec = lambda v: plain_decode(v, blobs, trusted, depth + 1)  # noqa: E731
    if tag == "a":
        if not (isinstance(body, list) and len(body) == 3 and type(body[2]) is int and 0 <= body[2] < len(blobs)):
            raise ChannelError("malformed array")
        dt = check_dtype(body[0])
        shape = _ints(body[1], "shape", lo=0)
        data = blobs[body[2]]
        if len(data) != dt.itemsize * math.prod(shape):
            raise ChannelError("an array's bytes do not match its shape")
        return np.frombuffer(bytearray(data), dt).reshape(shape)
    if tag in ("T", "L"):
        if not isinstance(body, list):
            raise ChannelError("malformed sequence")
        items = [dec(v) for v in body]
        return tuple(items) if tag == "T" else items
    if tag == "D":
        if not isinstance(body, list):
            raise ChannelError("malformed dict")
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ChannelError("malformed dict")
            key = dec(pair[0])
            try:
                hash(key)
            except TypeError:
                raise ChannelError("malformed dict key") from None
            out[key] = dec(pair[1])
        return out
    if tag == "S":
        if not (isinstance(body, list) and len(body) == 2):
            raise ChannelError("malformed scalar")
        dt = check_dtype(body[0])
        try:
            value = complex(*body[1]) if dt.kind == "c" else body[1]
            if isinstance(value, str):
                value = float(value) if value in ("nan", "inf", "-inf") else None
            return dt.type(value)
        except (TypeError, ValueError, OverflowError):
            raise ChannelError("malformed scalar") from None
    if tag == "I":
        if not isinstance(body, str) or len(body) > 4000 or not body.lstrip("-").isdigit():
            raise ChannelError("malformed integer")
        return int(body)
    if tag == "F":
        if body not in ("nan", "inf", "-inf"):
            raise ChannelError("malformed float")
        return float(body)
    raise ChannelError("malformed value")


# ------------------------------------------------------------------ conversation
class Peer:
    """One side of the conversation: requests that may be answered only after the other side has
    made requests of its own (a student function that calls a course stub, which calls back...).

    ``serve(op, values) -> (reply_op, reply_values, self_state)`` answers the other side's requests.
    Depth 0 is a checker's call (or a replayed cell): every shared object is synchronised around
    it; deeper requests are service traffic, whose new shared objects last only as long as they do.
    """

    MAX_DEPTH = 40

    def __init__(self, codec: Codec, rfd: int, wfd: int, serve, limits: type = Limits, pure: frozenset = frozenset()):
        self.codec, self.rfd, self.wfd, self.serve, self.limits = codec, rfd, wfd, serve, limits
        self.reader = FrameReader(rfd)
        self.pure = pure   # course functions whose calls may travel by value (the student side's list)
        self.depth = 0
        self.deadline: float | None = None

    def _send(self, op, values, mode, extra=None, method_self=None):
        body, blobs = self.codec.pack(values, mode, method_self=method_self)
        body["op"], body["mode"] = op, mode
        if extra:
            body.update(extra)
        write_frame(self.wfd, body, blobs)

    def request(self, op: str, values: dict, *, extra: dict | None = None, method_self=None,
                deadline: float | None = None) -> dict:
        if self.depth >= self.MAX_DEPTH:
            raise ChannelError("calls nested too deeply between the grader and the student side")
        mode = CHECKER if self.depth == 0 else SERVICE
        if op == "rpc" and mode == SERVICE and (extra or {}).get("name") in self.pure:
            blobs: list = []
            try:
                args = plain_encode(values, blobs)
            except NotPlain:
                pass
            else:
                return self._request_pure(extra["name"], args, blobs, deadline)
        with self._turn(deadline):
            self._send(op, values, mode, extra, method_self)
            if mode == CHECKER and self.codec.trusted:
                self.codec.call_roots = set(self.codec.last_reached)
            return self._wait(mode)

    def _request_pure(self, name, args, blobs, deadline):
        """A pure course function's call, by value: no shared objects to carry either way."""
        with self._turn(deadline):
            write_frame(self.wfd, {"op": "pure", "mode": SERVICE, "name": name, "values": args}, blobs)
            return self._wait(SERVICE, pure=True)

    @contextlib.contextmanager
    def _turn(self, deadline):
        """One request and its reply: one level deeper, under the tighter of the two deadlines."""
        outer = self.deadline
        if deadline is not None:
            self.deadline = deadline if outer is None else min(outer, deadline)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            self.deadline = outer

    def _wait(self, mode, pure=False):
        """Serve the other side's requests until the reply to ours arrives."""
        while True:
            body, blobs = self.reader.read_frame(self.deadline, self.limits)
            reply_op = body.get("op")
            if pure and reply_op == "pure_ok":
                return {"op": "ok", "value": plain_decode(body.get("value"), blobs, self.codec.trusted)}
            if reply_op in ("ok", "raise"):
                if body.get("mode") != mode:
                    raise ChannelError("a reply out of turn")
                reply = self.codec.unpack(body, blobs, mode)
                reply["op"] = reply_op
                for key in ("type", "message", "traceback", "refused", "line"):
                    if key in body and key not in reply:
                        reply[key] = body[key]
                return reply
            self.serve_one(body, blobs)

    def _serve_pure(self, body: dict, blobs: list) -> None:
        values = plain_decode(body.get("values"), blobs, self.codec.trusted)
        if not isinstance(values, dict):
            raise ChannelError("malformed call")
        values.setdefault("args", ())
        values.setdefault("kwargs", ())
        reply_op, reply_values, _ = self.serve("rpc", values, body)
        if reply_op == "ok":
            out: list = []
            try:
                node = plain_encode(reply_values.get("value"), out)
            except NotPlain:
                pass
            else:
                write_frame(self.wfd, {"op": "pure_ok", "mode": SERVICE, "value": node}, out)
                return
        extra = {k: reply_values.pop(k) for k in ("type", "message", "traceback", "refused", "line") if k in reply_values}
        self._send(reply_op, reply_values, SERVICE, extra)

    def serve_one(self, body: dict, blobs: list) -> None:
        if body.get("op") == "pure":
            self.depth += 1
            try:
                return self._serve_pure(body, blobs)
            finally:
                self.depth -= 1
        mode = body.get("mode")
        if mode not in (CHECKER, SERVICE) or (mode == CHECKER and self.depth > 0):
            raise ChannelError("a request out of turn")
        self.depth += 1
        try:
            values = self.codec.unpack(body, blobs, mode)
            op = body.get("op")
            reply_op, reply_values, self_state = self.serve(op, values, body)
            extra = {k: reply_values.pop(k) for k in ("type", "message", "traceback", "refused", "line")
                     if k in reply_values}
            if self_state is not None:   # a course method's object, as the grader left it: attribute pairs
                reply_values["self_state"] = tuple((k, v) for k, v in self_state.items())
            self._send(reply_op, reply_values, mode, extra)
        finally:
            self.depth -= 1

    def serve_forever(self) -> None:
        """The student side's loop: answer the grader until it says goodbye or goes away."""
        while True:
            try:
                body, blobs = self.reader.read_frame(None, self.limits)
            except ChannelClosed:
                return
            if body.get("op") == "bye":
                return
            self.serve_one(body, blobs)
