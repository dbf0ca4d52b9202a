"""The message format between the grader and a sandboxed student process.

Plain data only: None, bool, int, float, str, lists, tuples, dicts, and numpy arrays and scalars
of numeric dtypes, which travel as dtype, shape and raw bytes. Decoding never runs code and never
unpickles: an array that arrives is a new, genuine ``np.ndarray`` built from its bytes, whatever
the other side sent. Anything else travels as a numbered reference to an object that stays where
it lives (``ref``): the grader sees a student's object only as an opaque proxy, and the student
process sees the grader's objects (a loss function to differentiate, a reference layer) only as
callbacks.

This file is standalone (stdlib and numpy) because it is also loaded inside the sandbox.
"""
from __future__ import annotations

import json
import math
import struct

import numpy as np

NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats


class Ref:
    """A reference to an object on the other side: ``side`` is "student" or "grader"."""

    __slots__ = ("side", "id", "kind", "type_name", "flags")

    def __init__(self, side, id, kind="object", type_name="", flags=()):
        self.side, self.id, self.kind, self.type_name, self.flags = side, id, kind, type_name, tuple(flags)


def _float(x: float):
    return x if math.isfinite(x) else {"F": repr(x)}


def encode(value, blobs: list, make_ref):
    """``value`` as JSON-able data, appending array bytes to ``blobs``; other objects via make_ref(obj) -> dict."""
    t = type(value)
    if value is None or t is bool or t is int or t is str:
        return value
    if t is float:
        return _float(value)
    if t is list:
        return {"L": [encode(v, blobs, make_ref) for v in value]}
    if t is tuple:
        return {"T": [encode(v, blobs, make_ref) for v in value]}
    if t is dict:
        return {"D": [[encode(k, blobs, make_ref), encode(v, blobs, make_ref)] for k, v in value.items()]}
    if t is np.ndarray and value.dtype.kind in NUMERIC_KINDS and not value.dtype.fields:
        blobs.append(np.ascontiguousarray(value).tobytes())
        return {"A": [value.dtype.str, list(value.shape), len(blobs) - 1]}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
        blobs.append(np.asarray(value).tobytes())
        return {"S": [value.dtype.str, len(blobs) - 1]}
    if t is Ref:
        return {"R": [value.side, value.id]}
    return make_ref(value)


def decode(data, blobs: list, resolve):
    """Inverse of :func:`encode`; resolve(dict) turns a reference into an object of this side."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError("malformed message")
    (tag, body), = data.items()
    if tag == "F":
        return float(body) if body in ("nan", "inf", "-inf") else _bad(body)
    if tag == "L":
        return [decode(v, blobs, resolve) for v in body]
    if tag == "T":
        return tuple(decode(v, blobs, resolve) for v in body)
    if tag == "D":
        out = {}
        for k, v in body:
            key = decode(k, blobs, resolve)
            if not isinstance(key, (str, int, float, bool, tuple, type(None))):
                raise ValueError("malformed dict key")
            out[key] = decode(v, blobs, resolve)
        return out
    if tag == "A":
        dtype, shape, i = body
        dt = np.dtype(dtype)
        if dt.kind not in NUMERIC_KINDS or dt.fields:
            raise ValueError(f"refused dtype {dtype}")
        shape = tuple(int(s) for s in shape)
        return np.frombuffer(blobs[i], dtype=dt).reshape(shape).copy()
    if tag == "S":
        dtype, i = body
        dt = np.dtype(dtype)
        if dt.kind not in NUMERIC_KINDS:
            raise ValueError(f"refused dtype {dtype}")
        return np.frombuffer(blobs[i], dtype=dt)[0]
    return resolve(data)


def _bad(body):
    raise ValueError(f"malformed float {body!r}")


def send(stream, message: dict, blobs: list) -> None:
    head = json.dumps(message).encode()
    parts = [struct.pack("<QQ", len(head), len(blobs)), head]
    for b in blobs:
        parts += [struct.pack("<Q", len(b)), b]
    stream.write(b"".join(parts))
    stream.flush()


def _read(stream, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


MAX_MESSAGE = 512 * 1024 * 1024


def receive(stream) -> tuple[dict, list]:
    head_len, n_blobs = struct.unpack("<QQ", _read(stream, 16))
    if head_len > MAX_MESSAGE or n_blobs > 1_000_000:
        raise ValueError("message too large")
    message = json.loads(_read(stream, head_len))
    blobs = []
    for _ in range(n_blobs):
        (n,) = struct.unpack("<Q", _read(stream, 8))
        if n > MAX_MESSAGE:
            raise ValueError("message too large")
        blobs.append(_read(stream, n))
    return message, blobs
