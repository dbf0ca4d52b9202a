"""The channel between the grader and the student side (grader/sandbox/channel.py), both sides in
one process: values keep their layout and identity, changes travel back, and the grader's side
refuses every malformed or oversized message."""
import collections
import json
import os
import struct
import threading

import numpy as np
import pytest

from grader.sandbox import channel as ch


class _Names:
    """No course names (the tests use plain Python)."""

    by_name: dict = {}
    classes: dict = {}

    def name(self, obj):
        return None

    def class_of(self, obj):
        return None

    def is_tuple_class(self, q):
        return False


class _Proxy:
    def __init__(self, peer, handle):
        self.peer, self.handle = peer, handle

    def __call__(self, *args, **kwargs):
        reply = self.peer.request("call", {"target": self, "args": args, "kwargs": tuple(kwargs.items())})
        if reply["op"] == "raise":
            raise RuntimeError(reply.get("message"))
        return reply["value"]


class Pair:
    """A grader side and a student side talking over pipes; the student side serves in a thread."""

    def __init__(self, namespace):
        g2s_r, g2s_w = os.pipe()
        s2g_r, s2g_w = os.pipe()
        self.fds = [g2s_r, g2s_w, s2g_r, s2g_w]
        self.namespace = namespace
        self.grader = ch.Peer(ch.Codec("g", _Names(), lambda h: _Proxy(self.grader, h), trusted=True), s2g_r, g2s_w,
                              self._serve_grader)
        self.student = ch.Peer(ch.Codec("s", _Names(), lambda h: _Proxy(self.student, h), trusted=False), g2s_r,
                               s2g_w, self._serve_student)
        self.thread = threading.Thread(target=self.student.serve_forever, daemon=True)
        self.thread.start()

    def _serve_student(self, op, values, body):
        try:
            if op == "get":
                return "ok", {"value": self.namespace[body["name"]]}, None
            if op == "call":
                return "ok", {"value": values["target"](*values["args"], **dict(values["kwargs"]))}, None
        except Exception as e:  # noqa: BLE001
            return "raise", {"type": type(e).__name__, "message": str(e)}, None
        return "raise", {"type": "RuntimeError", "message": op}, None

    def _serve_grader(self, op, values, body):
        if op == "call":
            return "ok", {"value": values["target"](*values["args"], **dict(values["kwargs"]))}, None
        return "raise", {"type": "RuntimeError", "message": op}, None

    def get(self, name):
        return self.grader.request("get", {}, extra={"name": name})["value"]

    def call(self, fn, *args):
        reply = self.grader.request("call", {"target": fn, "args": args, "kwargs": ()})
        if reply["op"] == "raise":
            raise RuntimeError(reply.get("message"))
        return reply["value"]

    def close(self):
        ch.write_frame(self.fds[1], {"op": "bye"}, [])
        self.thread.join(timeout=5)
        for fd in self.fds:
            os.close(fd)


@pytest.fixture
def pair():
    pairs = []

    def make(**namespace):
        p = Pair(namespace)
        pairs.append(p)
        return p
    yield make
    for p in pairs:
        p.close()


def test_plain_values_cross_exactly(pair):
    values = [None, True, 0, -7, 1 << 80, 2.5, float("nan"), float("inf"), "héllo", "\udc80", (1, (2, "x")),
              [1, [2.0, None]], {"a": 1, 2: [3]}, np.float64(0.1), np.int32(-3), np.bool_(True)]
    p = pair(identity=lambda x: x)
    fn = p.get("identity")
    for v in values:
        got = p.call(fn, v)
        if isinstance(v, float) and v != v:
            assert got != got
        elif isinstance(v, str):
            assert got == v.encode("utf-8", "backslashreplace").decode()  # the grader stores only safe text
        else:
            assert got == v and type(got) is type(v), (v, got)


def test_dtypes_and_number_types_cross_as_themselves(pair):
    """dtype= arguments (np.float32, np.dtype("int64"), float) are data: both sides hold the real one."""
    p = pair(identity=lambda x: x)
    fn = p.get("identity")
    for v in (np.float32, np.float64, np.int8, np.bool_, np.complex128, np.dtype("float32"), np.dtype(">i4"),
              float, int, bool, complex):
        got = p.call(fn, v)
        assert got is v or (isinstance(v, np.dtype) and got == v and type(got) is type(v)), (v, got)
    blobs: list = []
    assert ch.plain_decode(ch.plain_encode((np.float32, np.dtype("<u2")), blobs), blobs, True) == \
        (np.float32, np.dtype("<u2"))


@pytest.mark.parametrize("bit_generator", ["PCG64", "MT19937", "Philox"])
def test_a_random_generator_is_shared_and_advances_on_both_sides(pair, bit_generator):
    """A course function drawing from the student's rng advances the student's rng, as at home."""
    p = pair(draw=lambda rng, n: rng.standard_normal(n), same=lambda rng: rng)
    rng = np.random.Generator(getattr(np.random, bit_generator)(7))
    twin = np.random.Generator(getattr(np.random, bit_generator)(7))
    first = p.call(p.get("draw"), rng, 3)
    assert np.array_equal(first, twin.standard_normal(3))
    assert ch._rng_state(rng) == ch._rng_state(twin)    # drawn on the other side, advanced here
    assert np.array_equal(p.call(p.get("draw"), rng, 2), twin.standard_normal(2))
    assert p.call(p.get("same"), rng) is rng


def test_a_forged_generator_state_is_refused():
    rng = np.random.default_rng(0)
    for bad in (["MT19937", "{}"], ["PCG64", "not json"], ["PCG64", '{"bit_generator": "PCG64"}'], "x"):
        with pytest.raises(ch.ChannelError):
            ch._set_rng_state(rng, bad)


def test_other_builtin_values_cross_by_value(pair):
    p = pair(identity=lambda x: x)
    fn = p.get("identity")
    for v in (3 + 4j, b"\x00ab", range(2, 10, 3), {1, 2, "a"}, frozenset({(1, 2)}), slice(1, None, 2), complex("nan+1j")):
        got = p.call(fn, v)
        assert type(got) is type(v) and (got == v or (isinstance(v, complex) and got.imag == v.imag)), (v, got)


def test_refused_dtypes_are_not_data():
    for bad in ({"dt": "O"}, {"dt": "V8"}, {"dT": "U3"}, {"bt": "object"}, {"bt": 3}, {"cx": ["1", 2.0]},
                {"by": "zz"}, {"rg": [1.5, 2, 1]}, {"rg": [0, 1, 0]}, {"st": [[1]]}, {"st": "x"}):
        with pytest.raises(ch.ChannelError):
            ch.plain_decode(bad, [], True)


def test_subclasses_cross_as_their_base_type(pair):
    Pt = collections.namedtuple("Pt", "x y")
    p = pair(make=lambda: (Pt(1, 2), collections.OrderedDict(a=1)))
    pt, od = p.call(p.get("make"))
    assert isinstance(pt, tuple) and tuple(pt) == (1, 2) and not hasattr(pt, "x")   # data, none of its code
    assert type(od) is dict and od == {"a": 1}


def test_a_namedtuple_handed_back_is_the_students_own_again(pair):
    Cache = collections.namedtuple("Cache", "x W")
    p = pair(forward=lambda x: (x * 2, Cache(x, np.ones(2))), backward=lambda cache: float(cache.W.sum()))
    out, cache = p.call(p.get("forward"), np.ones(2))
    assert isinstance(cache, tuple) and len(cache) == 2 and np.array_equal(cache[1], np.ones(2))
    assert p.call(p.get("backward"), cache) == 2.0


def test_a_view_stays_a_view_with_its_strides(pair):
    seen = {}

    def inspect(x):
        seen["strides"], seen["contiguous"], seen["shares"] = x.strides, x.flags.c_contiguous, x.base is not None
        return x.reshape(-1)    # a copy for a non-contiguous x: the bug the strided cases exist for

    p = pair(inspect=inspect)
    base = np.arange(12.0).reshape(3, 4)
    got = p.call(p.get("inspect"), base.T)
    assert seen == {"strides": base.T.strides, "contiguous": False, "shares": True}
    assert np.array_equal(got, base.T.reshape(-1))


def test_writes_into_an_argument_come_back_in_place(pair):
    def perturb(x, d):
        x[1, 0] += 1.0
        d["k"][0] = 5.0
        d["new"] = 1
        return None

    p = pair(perturb=perturb)
    base = np.zeros((4, 3))
    view = base[::2].T          # (3, 2), a strided view
    d = {"k": np.zeros(2)}
    p.call(p.get("perturb"), view, d)
    assert base[0, 1] == 1.0 and base.sum() == 1.0      # the write landed in the grader's own base
    assert d["k"][0] == 5.0 and d["new"] == 1


def test_a_view_made_by_as_strided_is_written_in_place(pair):
    from numpy.lib.stride_tricks import as_strided

    def step(p):
        p["W"] -= 1.0

    buffer = np.zeros(12)
    W = as_strided(buffer[1:], shape=(2, 3), strides=(40, 8))   # its base is not an array
    p = pair(step=step)
    p.call(p.get("step"), {"W": W})
    assert np.array_equal(W, -np.ones((2, 3))) and buffer[0] == 0.0


def test_one_object_twice_is_one_object_and_later_changes_show(pair):
    shared = {}

    def forward(x):
        shared["x"] = x
        return shared

    p = pair(forward=forward)
    fn = p.get("forward")
    first = p.call(fn, np.ones(2))
    second = p.call(fn, np.zeros(2))
    assert first is second and np.array_equal(first["x"], np.zeros(2))


def test_a_value_replaced_twice_in_one_call_comes_back_each_time(pair):
    # A cache written twice per call, as forward() does when a call runs it twice: the second new tuple
    # is allocated where the old one was freed, so it has the old one's id. Compared by id alone, the
    # dict looked unchanged and the grader kept seeing the first call's cache.
    def step(state):
        state["cache"] = tuple([state["cache"][0] + 1, 0])
        state["cache"] = tuple([state["cache"][0] + 1, 0])

    def step_list(items):
        items[0] = tuple([items[0][0] + 1, 0])
        items[0] = tuple([items[0][0] + 1, 0])

    p = pair(step=step, step_list=step_list)
    for name, value in [("step", {"cache": tuple([1, 2])}), ("step_list", [tuple([1, 2])])]:
        fn = p.get(name)
        for i in range(1, 5):
            p.call(fn, value)
            got = value["cache"] if name == "step" else value[0]
            assert got == (1 + 2 * i, 0), (name, i, got)


def test_a_callback_sees_the_state_the_student_left(pair):
    def numerical(f, x):
        out = []
        for i in range(x.size):
            old = x.flat[i]
            x.flat[i] = old + 1
            out.append(f())
            x.flat[i] = old
        return out

    x = np.array([1.0, 2.0, 3.0])
    p = pair(numerical=numerical)
    assert p.call(p.get("numerical"), lambda: float(x.sum()), x) == [7.0, 7.0, 7.0]
    assert np.array_equal(x, [1.0, 2.0, 3.0])


def test_a_grader_function_returning_one_dict_twice_gives_the_student_one_dict(pair):
    cache = {}

    def grader_forward(x):
        cache["x"] = x
        return cache

    def detector(forward):
        a = forward(np.ones(2))
        snapshot = a["x"].copy()
        b = forward(np.zeros(2))
        return a is b, bool(np.array_equal(a["x"], snapshot))

    p = pair(detector=detector)
    assert p.call(p.get("detector"), grader_forward) == (True, False)


def test_what_a_grader_function_did_to_an_argument_comes_back(pair):
    def grader_backward(cache):
        cache["Yhat"] -= 1.0     # the catalogued in-place bug, run by the grader's side
        return {"dW": np.ones(1)}

    def detector(forward, backward):
        cache = forward()
        before = cache["Yhat"].copy()
        backward(cache)
        return bool(np.array_equal(before, cache["Yhat"]))

    p = pair(detector=detector)
    assert p.call(p.get("detector"), lambda: {"Yhat": np.zeros(3)}, grader_backward) is False


def test_student_objects_stay_proxies(pair):
    class Anything:
        def __eq__(self, other):
            return True

    p = pair(make=lambda: Anything())
    got = p.call(p.get("make"))
    assert isinstance(got, _Proxy) and not (got == 1)


def test_the_table_does_not_grow_with_many_calls(pair):
    p = pair(step=lambda x: {"out": x * 2})
    fn = p.get("step")
    for i in range(300):
        p.call(fn, np.full(3, float(i)))
    assert len(p.grader.codec.table) < 50 and len(p.student.codec.table) < 50


def test_a_student_object_the_grader_let_go_of_is_let_go_of_on_both_sides(pair):
    """A proxy's death is told to the student side, which drops its handle and, with the object, the
    shared copies only it kept (before, every object the grader had ever seen lived for the session,
    and each checker frame looked at all of them). Proxies still held keep working, and an object
    that comes back after its proxy died gets a new one."""
    import gc

    class Holder:
        def __init__(self, x):
            self.x = x

    p = pair(make=Holder, total=lambda h: float(h.x.sum()), same=lambda h: h)
    make, total, same = p.get("make"), p.get("total"), p.get("same")
    kept = [p.call(make, np.full(3, float(i))) for i in range(3)]
    for i in range(200):
        h = p.call(make, np.full(3, float(i)))
        assert p.call(total, h) == 3.0 * i
        assert p.call(same, h) is h     # one object, one proxy, while the proxy lives
    del h
    gc.collect()
    p.call(total, kept[0])   # a frame carries the last deaths; the student side collects every 8 frames
    for _ in range(8):
        p.call(total, kept[0])
    assert [p.call(total, k) for k in kept] == [0.0, 3.0, 6.0]
    assert len(p.student.codec.handles) < 20, len(p.student.codec.handles)
    assert len(p.grader.codec.proxies) < 20 and len(p.grader.codec.proxy_ids) < 20
    assert len(p.grader.codec.table) < 50 and len(p.student.codec.table) < 50
    back = p.call(same, kept[1])
    assert back is kept[1]
    hid = p.grader.codec.proxy_ids[id(back)]
    del back, kept
    gc.collect()
    assert hid in p.grader.codec.gone and hid not in p.grader.codec.proxies
    again = p.call(make, np.ones(2))
    assert p.call(total, again) == 2.0 and hid not in p.student.codec.handles


def test_what_only_a_let_go_object_held_goes_in_the_next_frame_however_deep(pair):
    """A container the student side lets go of frees what only it held in the same collection: the
    nested dicts, lists and arrays of a dropped object leave both tables at once, not a level per
    collection (eight frames each)."""
    import gc

    class Holder:
        def __init__(self, x):
            self.x = x

    p = pair(make=Holder, nothing=lambda: None)
    make, nothing = p.get("make"), p.get("nothing")
    x = np.ones((3, 2))
    h = p.call(make, {"a": [{"b": [x, x[1:]]}], "c": (x.T, [x])})
    del x
    shared = len(p.student.codec.table)
    assert shared >= 8
    del h
    gc.collect()
    p.call(nothing)    # tells the student side; its reply lets go of everything the holder held
    assert len(p.student.codec.table) <= 2, sorted(p.student.codec.table)
    p.call(nothing)    # and the grader's side forgets its copies in turn
    assert len(p.grader.codec.table) <= 2, sorted(p.grader.codec.table)


def test_a_handle_release_is_checked_like_every_message():
    codec = ch.Codec("s", _Names(), lambda h: None, trusted=False)
    codec.handles["s1"] = object()
    for bad in ("s1", ["g1"], [1], ["s1"] * (ch.Limits.shared + 1)):
        with pytest.raises(ch.ChannelError):
            codec.drop_handles(bad)
    codec.drop_handles(["s1", "s2"])    # one it does not have is ignored (a release is idempotent)
    assert codec.handles == {}


# ----------------------------------------------------------------------------- hostile input
def _codec():
    return ch.Codec("g", _Names(), lambda h: None, trusted=True)


def _unpack(body, blobs=()):
    body = {"_new": [], "_arrays": [], "_sync": [], **body}
    return _codec().unpack(body, list(blobs), ch.CHECKER)


@pytest.mark.parametrize("body,blobs", [
    ({"value": {"r": "s1"}}, []),                                               # never shared
    ({"_new": [["b", "s1", None]], "_sync": [["b", "s1", 0]],
      "_arrays": [["s2", "s1", "|O", [1], [8], 0, False]]}, [b"x" * 8]),       # object dtype
    ({"_new": [["b", "s1", None]], "_sync": [["b", "s1", 0]],
      "_arrays": [["s2", "s1", "<f8", [2], [8], 8, False]]}, [b"x" * 8]),      # past the buffer's end
    ({"_new": [["b", "s1", None]], "_sync": [["b", "s1", 0]],
      "_arrays": [["s2", "s1", "<f8", [4], [-8], 0, False]]}, [b"x" * 8]),     # strides out of bounds
    ({"_new": [["o", "s1", "course_lib.layers.Linear"]]}, []),                 # the student side making a course object
    ({"_new": [["d", "g1", None]]}, []),                                        # an id of the grader's side
    ({"value": {"h": "s1", "k": "weird"}}, []),
    ({"value": {"C": "os.system", "h": "s1"}}, []),                             # not a course name
    ({"value": {"S": ["|O", 1]}}, []),
    ({"value": {"I": "1" * 5000}}, []),
    ({"value": {"N": "collections.OrderedDict", "v": []}}, []),
    ({"value": {"O": "course_lib.layers.Linear", "a": []}}, []),
])
def test_malformed_messages_are_refused(body, blobs):
    with pytest.raises(ch.ChannelError):
        _unpack(body, blobs)


def test_deep_nesting_is_refused():
    node = 1
    for _ in range(200):
        node = {"T": [node]}
    with pytest.raises(ch.ChannelError):
        _unpack({"value": node})


def test_oversized_frames_are_refused_before_they_are_read():
    r, w = os.pipe()
    try:
        os.write(w, struct.pack("<4sII", ch.MAGIC, ch.Limits.json_bytes + 1, 0))
        with pytest.raises(ch.ChannelError, match="too large"):
            ch.read_frame(r, None)
        os.write(w, struct.pack("<4sII", ch.MAGIC, 2, 1) + b"{}" + struct.pack("<Q", ch.Limits.frame_bytes + 1))
        with pytest.raises(ch.ChannelError, match="too large"):
            ch.read_frame(r, None)
        os.write(w, b"JUNK" + b"\0" * 8)
        with pytest.raises(ch.ChannelError):
            ch.read_frame(r, None)
        for head in (b"\xff\xfe{}", '{"op": "ok"}'.encode("utf-16"), b'{"op": "\xed\xb2\x80"}', b"[]", b"{} {}"):
            os.write(w, struct.pack("<4sII", ch.MAGIC, len(head), 0) + head)   # not UTF-8 JSON of one object
            with pytest.raises(ch.ChannelError, match="malformed"):
                ch.read_frame(r, None)
    finally:
        os.close(r)
        os.close(w)


def test_a_silent_peer_times_out_at_the_deadline():
    import time

    r, w = os.pipe()
    try:
        os.write(w, struct.pack("<4sII", ch.MAGIC, 10, 0) + b"{")   # half a message, then nothing
        start = time.monotonic()
        with pytest.raises(ch.ChannelTimeout):
            ch.read_frame(r, time.monotonic() + 0.3)
        assert time.monotonic() - start < 2
    finally:
        os.close(r)
        os.close(w)


def test_student_text_is_cut_and_made_safe():
    got = _unpack({"value": "\udc80" + "x" * 100_000})["value"]
    assert len(got) < 25_000 and "\\udc80" in got
    json.dumps(got).encode("utf-8")
