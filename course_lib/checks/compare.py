"""Judging what came back: the description of a value, array comparison with a diagnosis of its
shape, dtype and scale, and the package's one check that inputs were left unchanged.

Every comparison returns a :class:`~.core.Finding` (or None when the value is right) instead of
raising, so that a checker can report every problem it saw in one record.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..snapshot import changes
from .core import Finding, is_number
from .recognise import Variant, first_match

# Results agree when they are this close to the reference (any equivalent formula passes).
RTOL = 1e-7
ATOL = 1e-10


# ------------------------------------------------------------------ describing
def _digits_to_tell_apart(a: np.ndarray, b: np.ndarray) -> int:
    """Significant digits enough to show where a and b differ most (5 at least, 17 at most)."""
    with np.errstate(all="ignore"):
        diff = np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    if diff.size == 0 or not np.any(np.isfinite(diff)):
        return 5
    worst = np.unravel_index(np.nanargmax(np.where(np.isfinite(diff), diff, -1.0)), diff.shape)
    x, y = float(np.asarray(a)[worst]), float(np.asarray(b)[worst])
    for digits in (5, 7, 9, 12, 17):
        if f"{x:.{digits}g}" != f"{y:.{digits}g}":
            return digits
    return 17


def preview(a, k: int = 4, digits: int = 5) -> str:
    """The first ``k`` values of an array, flattened, with ``digits`` significant digits."""
    flat = np.asarray(a).ravel()
    body = ", ".join(f"{v:.{digits}g}" if isinstance(v, (float, np.floating)) else str(v) for v in flat[:k].tolist())
    return "[" + body + (", ...]" if flat.size > k else "]")


def describe(x, digits: int = 5) -> str:
    """A short description of a value: an array's shape, dtype and first values; a number or string
    itself; a container's kind and size; any other object by its type's name alone."""
    if isinstance(x, np.ndarray):
        if type(x) is not np.ndarray:
            return f"an array subclass {type(x).__name__} of shape {x.shape}"
        return f"shape {x.shape}, dtype {x.dtype}, values {preview(x, digits=digits)}"
    if x is None:
        return "None"
    if isinstance(x, (bool, np.bool_)):
        return f"the bool {x!r}"
    if isinstance(x, (int, float, np.integer, np.floating)):
        return f"the {type(x).__name__} {float(x):.{max(digits, 6)}g}" if isinstance(x, (float, np.floating)) \
            else f"the {type(x).__name__} {int(x)}"
    if isinstance(x, str):
        return f"the string {x[:60]!r}"
    if isinstance(x, dict):
        keys = [repr(k) for k in list(x)[:8]]
        return f"a dict with keys [{', '.join(keys)}{', ...' if len(x) > 8 else ''}]"
    if isinstance(x, (tuple, list)):
        kinds = ", ".join(type(v).__name__ for v in list(x)[:5])
        return f"a {type(x).__name__} of {len(x)} item{'s' if len(x) != 1 else ''} ({kinds}{', ...' if len(x) > 5 else ''})"
    return f"an object of type {type(x).__name__}"


# ------------------------------------------------------------------ diagnoses
def shape_hint(got: tuple, expected: tuple, role: str | None = None, N: int | None = None) -> str:
    """Why an array may have come out with shape ``got`` instead of ``expected``.

    role: "bias_grad" (a bias gradient: dZ summed over the batch), "weight_grad" (a matrix product
    such as X^T dZ), "batch" (one row per example), or None.
    """
    if role == "bias_grad" and len(expected) == 1:
        d = expected[0]
        if got == (1, d):
            return ("The sum over the batch is right but keepdims=True kept the summed axis: a bias gradient has "
                    f"b's shape ({d},). Drop keepdims (section 3.2).")
        if N is not None and got == (N, 1):
            return ("It was summed over axis 1, the units, with keepdims=True. A bias gradient sums over the batch, "
                    "axis 0: dZ.sum(axis=0) (section 3.2).")
        if N is not None and got == (N,) and N != d:
            return ("That is one entry per example: it was summed over axis 1, the units. The bias is shared by "
                    "every example, so its gradient sums over the batch: dZ.sum(axis=0) (section 3.2).")
        if N is not None and got == (N, d):
            return "It was not summed at all: the bias gradient is dZ summed over the batch, dZ.sum(axis=0) (section 3.2)."
    if len(got) == 2 and len(expected) == 2 and got == expected[::-1] and got != expected:
        if role == "batch":
            return "That is the transpose: every activation has one row per example in the batch."
        return "It is the transpose of what was expected: a gradient has exactly its parameter's shape (section 5.1)."
    if int(np.prod(got)) == int(np.prod(expected)) and len(got) == len(expected):
        if role == "weight_grad":
            return "Same number of entries, wrong arrangement: check the order of the matrix product (section 5.1)."
        return "Same number of entries, arranged differently: is there a reshape that should not be there?"
    if len(got) == len(expected) + 1 and 1 in got and tuple(s for s in got if s != 1) == tuple(s for s in expected if s != 1):
        return "It has an extra axis of length 1: is a keepdims=True or a reshape left over?"
    if len(got) == 0 and len(expected) > 0:
        return "That is a single number: a reduction (sum, mean, max) ran over every axis; give it axis=..."
    return ""


def _is(r: float, value: float) -> bool:
    return bool(np.isclose(r, value, rtol=1e-6, atol=0.0))


def scale_hint(got: np.ndarray, expected: np.ndarray, role: str | None = None, N: int | None = None,
               C: int | None = None) -> str:
    """A sentence when ``got`` is ``expected`` times a constant: the signature of a scale bug.

    role: "delta" (dZ2 = (Yhat - Y) / N itself), "grad" (a gradient downstream of it), "bias_grad",
    "loss" (a mean over the batch), or None. For a single number only the factors a real mistake
    produces (N, 1/N, 1/C, -1) are named: any two numbers have some ratio.
    """
    mask = np.abs(expected) > 1e-12
    if not mask.any():
        return ""
    with np.errstate(all="ignore"):
        ratios = got[mask] / expected[mask]
    r = float(np.median(ratios))
    if not np.all(np.isfinite(ratios)) or not np.allclose(ratios, r, rtol=1e-6) or _is(r, 1.0):
        return ""
    many = got.size > 1
    if N and N > 1 and _is(r, N):
        if role == "loss":
            return f"It is N = {N} times too large: the loss is the mean over the batch, so divide the sum by N."
        return f"Every entry is N = {N} times too large: the 1/N batch average is missing (section 5.2)."
    if N and N > 1 and _is(r, 1 / N):
        if role == "bias_grad":
            return (f"It is N = {N} times too small. A bias gradient sums dZ over the batch, dZ.sum(axis=0): a mean, "
                    "or a 1/N on top of the one dZ already carries, divides by N twice (section 5.2).")
        if role == "delta":
            return (f"Every entry is N = {N} times too small: it divides by N twice. The fused gradient is "
                    "(Yhat - Y) / N, one division (section 3.1).")
        if role in ("grad", "weight_grad"):
            return (f"Every entry is N = {N} times too small: the 1/N of the batch average is already in dZ, so "
                    "dividing again divides by N twice (section 5.2).")
        return f"It is N = {N} times too small: it divides by N twice."
    if N and C and N != C and C > 1 and role in ("delta", "loss") and _is(r, N / C):
        return f"It divides by C = {C}, the number of classes, where the batch size N = {N} belongs."
    if C and C > 1 and C != N and _is(r, 1 / C) and role in ("loss", "delta"):
        return (f"It is C = {C} times too small: np.mean over every entry divides by N*C. Sum over the classes "
                "and divide by N only.")
    if _is(r, -1.0):
        if role == "loss":
            return "It has the wrong sign: the loss is MINUS the mean of Y log Yhat, a positive number."
        if role == "delta":
            return "Every entry has the wrong sign: the gradient is (Yhat - Y) / N, not (Y - Yhat) / N."
        return "Every entry has the wrong sign."
    if many and _is(r, 2.0):
        return "Every entry is twice the expected value."
    if many:
        return f"Every entry is {r:.4g} times the expected value."
    return ""


def as_float_array(got, expected: np.ndarray):
    """``got`` as a genuine ndarray when it is one (or a number standing for a 0-d expected value)."""
    if type(got) is np.ndarray:
        return got
    if is_number(got):  # a single number: judged as a 0-d array (wrong wherever an array was expected)
        return np.asarray(got, dtype=np.float64 if isinstance(got, (int, np.integer)) and expected.shape == ()
                          else None)
    return None


def check_array(name: str, got, expected: np.ndarray, *, role: str | None = None, N: int | None = None,
                C: int | None = None, rtol: float = RTOL, atol: float = ATOL,
                variants: Iterable[Variant] = ()) -> Finding | None:
    """None when ``got`` is a float ndarray of ``expected``'s shape and dtype and values; otherwise
    the :class:`Finding` that says what differs. ``variants`` are known wrong answers: the first one
    that reproduces ``got`` gives its hint (and catalogued bug)."""
    finding = _check_array(name, got, expected, role, N, C, rtol, atol, variants)
    if finding is not None:
        finding.subject = name.split(" for ")[0]
    return finding


def _check_array(name, got, expected, role, N, C, rtol, atol, variants) -> Finding | None:
    if got is None:
        return Finding(f"{name} is None.", ["Did the function forget to `return` it?"], status="error")
    arr = as_float_array(got, expected)
    if arr is None:
        kind = "a number" if expected.shape == () else f"a numpy array of shape {expected.shape}"
        hint = "Wrap it with np.array(...), or build it with numpy operations." if isinstance(got, (list, tuple)) else ""
        return Finding(f"{name} should be {kind}, got {describe(got)}.", [hint], status="error")
    if not np.issubdtype(arr.dtype, np.floating):
        return Finding(f"{name} should hold floats (dtype {expected.dtype}), got dtype {arr.dtype}.",
                       ["An integer array cannot hold these values: build the result from float arrays "
                        "(np.zeros(shape) is float, np.zeros_like of an integer array is not)."])
    if arr.shape != expected.shape:
        return Finding(f"{name} should have shape {expected.shape}, got {arr.shape}.",
                       [shape_hint(arr.shape, expected.shape, role, N)])
    findings_hints: list[str] = []
    dtype_note = ""
    if arr.dtype != expected.dtype:
        dtype_note = f" It has dtype {arr.dtype}; expected {expected.dtype}."
        with np.errstate(all="ignore"):
            close32 = np.allclose(arr.astype(np.float64), expected, rtol=1e-5, atol=1e-7 * max(1.0, float(np.abs(expected).max(initial=0))))
        if close32:
            return Finding(f"{name} has dtype {arr.dtype}, expected {expected.dtype}: the values agree only to "
                           f"{arr.dtype} precision.",
                           [f"Only the dtype is wrong: the course computes in float64 (about 16 digits; {arr.dtype} "
                            "keeps about 7). Remove the .astype(np.float32) or dtype=np.float32, and build arrays "
                            "from the float64 inputs."])
    with np.errstate(all="ignore"):
        finite_ok = np.all(np.isfinite(arr)) or not np.all(np.isfinite(expected))
        same = finite_ok and np.allclose(arr, expected, rtol=rtol, atol=atol, equal_nan=True)
    if same and not dtype_note:
        return None
    digits = _digits_to_tell_apart(arr, expected) if finite_ok else 5
    lines = [f"{name} is wrong.{dtype_note}", f"  expected {describe(expected, digits)}", f"  got      {describe(arr, digits)}."]
    if not finite_ok:
        bad = np.argwhere(~np.isfinite(arr))
        lines[0] = f"{name} contains inf or NaN ({len(bad)} of {arr.size} entries).{dtype_note}"
        first = tuple(int(i) for i in bad[0])
        if arr.ndim == 2:
            row = first[0]
            lines.append(f"  The first such row is row {row}: expected {preview(expected[row], k=6, digits=digits)}, "
                         f"got {preview(arr[row], k=6, digits=digits)}.")
        elif arr.ndim:
            lines.append(f"  The first such entry is at index {first}: expected {expected[first]:.{digits}g}, "
                         f"got {arr[first]}.")
    elif arr.ndim:
        with np.errstate(all="ignore"):
            worst = tuple(int(i) for i in np.unravel_index(np.nanargmax(np.abs(arr - expected)), arr.shape))
        lines.append(f"  The largest difference is at index {worst}: expected {expected[worst]:.{digits}g}, "
                     f"got {arr[worst]:.{digits}g}.")
    elif not same:
        lines = [f"{name} is wrong: expected {float(expected):.{digits}g}, got {float(arr):.{digits}g}.{dtype_note}"]
    if finite_ok:  # what the numbers show, then (below) what the known mistake that gives them is
        findings_hints.append(scale_hint(arr, expected, role, N, C))
    match = first_match(arr, variants, expected)
    if match is not None:
        findings_hints.append(match.hint)
        return Finding("\n".join(lines), findings_hints, match.bug)
    return Finding("\n".join(lines), findings_hints)


def scalar_dtype(name: str, got) -> Finding | None:
    """A finding when a single number comes back in a precision below float64 (np.float32, say)."""
    dtype = getattr(got, "dtype", None)
    if dtype is None or dtype == np.float64 or not np.issubdtype(dtype, np.floating):
        return None
    return Finding(f"{name} has dtype {dtype}, expected float64.",
                   [f"The course computes in float64 (about 16 digits; {dtype} keeps about 7): remove the "
                    "np.float32(...) or .astype(np.float32)."], subject=name.split(" for ")[0])


# --------------------------------------------------------- inputs left unchanged
CACHE_BUG = "in_place_cache_mutation"


def unchanged(before: dict, after: dict, *, cache: Iterable[str] = (), read_only: str = "") -> Finding | None:
    """The package's one mutation check. ``before``: name -> the checker's input; ``after``: name ->
    the copy the student's code was given, as it left it. Every change counts: values written in
    place, entries rebound, keys added (gradients stored in params, deltas stored in the cache) or
    removed. Names in ``cache`` are caches: a cached value overwritten is the catalogued bug
    in_place_cache_mutation (section 5.6); a key added to a cache is wrong but is not that bug."""
    found = []
    for name, value in before.items():
        found += changes(value, after[name], name)
    if not found:
        return None
    cache = set(cache)
    overwritten = [c for c in found if c.path.split("[")[0] in cache and c.kind != "added"]
    added = [c for c in found if c.kind == "added"]
    hints = []
    if overwritten:
        hints.append("Treat the cache as read-only: compute every gradient into a new array (`dZ = Yhat - Y`, "
                     "not `Yhat -= Y`), so that any later reader of the cache sees what forward stored (section 5.6).")
    if added:
        where = sorted({c.path.split("[")[0] for c in added})
        hints.append(f"Do not store results in {' or '.join(where)}: keep intermediate values in local variables "
                     "and return the gradients in a new dict. Inputs are read-only (section 5.6).")
    if not hints or len(found) > len(overwritten) + len(added):
        hints.append(read_only or "Inputs are read-only: build new arrays instead of writing into them "
                                  "(e.g. `x = x - m`, not `x -= m`; section 5.6).")
    listing = ", ".join(str(c) for c in found[:8]) + (", ..." if len(found) > 8 else "")
    return Finding(f"your function changed its inputs: {listing}.", hints, CACHE_BUG if overwritten else None)
