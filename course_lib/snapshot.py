"""Copies of plain data, and what changed between a copy and the value later (syllabus section 5.6).

"Plain data" is what flows between the course's functions: numbers, strings, None, numpy arrays
and numpy scalars, and tuples (named or not), lists and dicts of them. :func:`copy_data` copies
it deeply, keeping every array's memory layout (a transposed or strided view stays one), and
leaves any other object as it is. :func:`changes` lists where a value differs from such a copy:
an entry written in place, a key added or removed, a length that changed. It is the one
definition of "left unchanged" in the package: :func:`course_lib.bugs.check_cache_unchanged`
and the exercise checkers both use it.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided


def copy_array(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` with the same shape, dtype and strides (a view stays a view of a new buffer).

    A plain ``a.copy()`` makes a strided slice contiguous; code that behaves differently on views
    (writing through ``.ravel()``, say) must meet the same layout in the copy as in the original.
    """
    if a.flags.c_contiguous or a.flags.f_contiguous or a.size == 0 or a.ndim == 0:
        return a.copy(order="K")
    item = a.itemsize
    if any(s % item for s in a.strides):
        return a.copy(order="K")
    low = sum(min(0, s * (n - 1)) for s, n in zip(a.strides, a.shape)) // item
    high = sum(max(0, s * (n - 1)) for s, n in zip(a.strides, a.shape)) // item
    buffer = np.zeros(high - low + 1, dtype=a.dtype)
    view = as_strided(buffer[-low:], shape=a.shape, strides=a.strides)
    view[...] = a
    return view


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def copy_data(x):
    """A deep copy of plain data (arrays keep their layout); any other object is returned as is."""
    if isinstance(x, np.ndarray):
        return copy_array(x)
    if isinstance(x, dict):
        kind = type(x) if type(x) in (dict, OrderedDict) else dict
        return kind((k, copy_data(v)) for k, v in x.items())
    if _is_namedtuple(x):
        return type(x)(*(copy_data(v) for v in x))
    if isinstance(x, tuple):
        return tuple(copy_data(v) for v in x)
    if isinstance(x, list):
        return [copy_data(v) for v in x]
    return x


class Change(NamedTuple):
    """One difference between a value and its earlier copy: where (a path such as "cache['Yhat']")
    and what: "values" (written in place or replaced by other values), "added" (a new key or
    entry), "removed", "shape", "dtype" or "type" (replaced by something of another kind)."""

    path: str
    kind: str

    def __str__(self) -> str:
        words = {"values": "its values changed", "added": "a new entry", "removed": "removed",
                 "shape": "its shape changed", "dtype": "its dtype changed", "type": "replaced by another kind of value"}
        return f"{self.path} ({words.get(self.kind, self.kind)})"


def _same_scalar(a, b) -> bool:
    # Types first: == is never asked of an object that is not plain data of the same kind.
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a and b != b:
        return True
    return bool(a == b)


def changes(before, after, path: str = "value") -> list[Change]:
    """Every place where ``after`` differs from ``before`` (a :func:`copy_data` copy taken earlier).

    Arrays compare by shape, dtype and every value (NaN equals NaN); dicts by their keys as well
    as their entries, so a key added counts as a change; other objects (not plain data) by identity.
    """
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray):
            return [Change(path, "type")]
        if before.shape != after.shape:
            return [Change(path, "shape")]
        if before.dtype != after.dtype:
            return [Change(path, "dtype")]
        try:
            same = np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
        except TypeError:
            same = np.array_equal(before, after)
        return [] if same else [Change(path, "values")]
    if isinstance(before, dict):
        if not isinstance(after, dict):
            return [Change(path, "type")]
        out = [Change(f"{path}[{k!r}]", "removed") for k in before if k not in after]
        out += [Change(f"{path}[{k!r}]", "added") for k in after if k not in before]
        for k in before:
            if k in after:
                out += changes(before[k], after[k], f"{path}[{k!r}]")
        return out
    if isinstance(before, (tuple, list)):
        if not isinstance(after, (tuple, list)) or isinstance(after, tuple) != isinstance(before, tuple):
            return [Change(path, "type")]
        out = []
        for i, (b, a) in enumerate(zip(before, after)):
            out += changes(b, a, f"{path}[{i}]")
        if len(after) > len(before):
            out += [Change(f"{path}[{i}]", "added") for i in range(len(before), len(after))]
        elif len(after) < len(before):
            out += [Change(f"{path}[{i}]", "removed") for i in range(len(after), len(before))]
        return out
    if before is None or isinstance(before, (bool, int, float, complex, str, bytes, np.generic)):
        return [] if _same_scalar(before, after) else [Change(path, "values")]
    return [] if before is after else [Change(path, "type")]
