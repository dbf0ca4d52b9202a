"""Answers that look copied: the class report lists solution cells that match another student's,
the published solution's, or course_lib's reference, after names and layout are normalised.

Copying is out of scope for scoring (a copied answer is still an answer); it is made visible for
the instructor to look at. The comparison is copydetect's (winnowed fingerprints of the token
stream with identifiers normalised, as MOSS does). Three things never count, so that answers that
are alike because the exercise makes them alike are not listed:

- the release's stub of each cell: its lines (signature, docstring) are taken out of every answer;
- what many students wrote: a fingerprint found in more answers than ``COMMON_MIN`` and than
  ``COMMON_SHARE`` of the class is common code (MOSS's ``-m``), ignored in every comparison, the
  published solution's and course_lib's included. Backpropagation written plainly looks alike
  everywhere; what two students share and nobody else does is what is listed;
- short answers: after all that, an answer needs ``MIN_FINGERPRINTS`` fingerprints to be compared
  (``np.maximum(Z, 0)`` is what everybody writes).
"""
from __future__ import annotations

import ast
import functools
import inspect
import io
import json
from dataclasses import dataclass
from itertools import combinations

import nbformat
import numpy as np

from ..notebooks import nbgrader_meta

K, WINDOW = 25, 1          # copydetect's noise threshold (tokens) and guarantee window
THRESHOLD = 0.9            # both answers share at least this share of their fingerprints
REFERENCE_SHARE = 0.6      # an answer holding THRESHOLD of a reference, and mostly made of it
MIN_FINGERPRINTS = 12      # answers shorter than this (after the stub is removed) are not compared
COMMON_MIN, COMMON_SHARE = 3, 0.05   # a fingerprint in more answers than both is common code


@dataclass
class Match:
    assignment: str
    cell: str
    first: str          # a student, or "the published solution", or "course_lib.x.y"
    second: str
    similarity: float   # the smaller of the two shares


def _fingerprint(source: str, boilerplate=None):
    """copydetect's fingerprint of ``source``, from its token stream (made once per text: each answer
    is fingerprinted twice, and many answers are alike)."""
    import copydetect

    return copydetect.CodeFingerprint("answer.py", K, WINDOW, boilerplate=boilerplate, filter=False,
                                      fp=io.StringIO(_tokens(source)))


@functools.lru_cache(maxsize=8192)
def _tokens(source: str) -> str:
    """The code as copydetect compares it: Python's tokens, names replaced by V, F or O, strings by S.
    (copydetect's own filter_code, with the lexer named: finding it from a file name tries the file
    patterns of every lexer pygments has, which took a third of the report's time.)"""
    from copydetect.utils import filter_code

    return filter_code(source, "answer.py", language="python")[0]


@functools.lru_cache(maxsize=8192)
def _canonical(source: str) -> str:
    """The code without docstrings, comments or layout (ast.unparse), or the text as it is when it
    does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.annotation = None            # the stub dictates the signature; annotations vary
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.returns = None
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


@functools.lru_cache(maxsize=8192)
def _answer_text(source: str, stub: str) -> str:
    """An answer without its stub: docstrings and comments dropped, and every line that is also a
    line of the release's cell (its signature, say) taken out."""
    given = {line.strip() for line in _canonical(stub).splitlines() if line.strip()}
    return "\n".join(line for line in _canonical(source).splitlines() if line.strip() not in given)


def _solution_cells(nb) -> dict:
    """{grade_id: source} of a notebook's solution cells: a NotebookNode, or a format-4 notebook's JSON as
    it was read (sources may be lists of lines there; a cell that is not as nbgrader writes it is skipped)."""
    out = {}
    for c in nb.get("cells") or []:
        meta = nbgrader_meta(c) if isinstance(c, dict) and isinstance(c.get("metadata"), dict) else {}
        if not (isinstance(meta, dict) and meta.get("solution") and c.get("cell_type") == "code"):
            continue
        source = c.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if isinstance(source, str) and isinstance(meta.get("grade_id"), str):
            out[meta["grade_id"]] = source
    return out


def _submitted_solution_cells(path) -> dict:
    """A submission's solution cells. A notebook in format 4 is read as the JSON it is: nbformat.read
    would also validate it against the schema and wrap every output, half of this report's time, and
    the grading has already said what is wrong with a notebook. Older formats go through nbformat."""
    data = json.loads(path.read_bytes())
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        data = nbformat.read(path, as_version=4)
    return _solution_cells(data)


def find(ws, course, specs: dict, references: dict | None = None) -> list[Match]:
    """Every pair of similar answers in the workspace's submissions, per solution cell.

    ``references``: {solution grade_id: [dotted course_lib names]} whose source counts as a reference."""
    import copydetect  # noqa: F401  (fails loudly here, not in the middle of a report)

    matches: list = []
    for (assignment, notebook), source_nb in course.sources.items():
        release_path = ws.template / "release" / assignment / f"{notebook}.ipynb"
        if not release_path.exists():
            continue
        stubs = _solution_cells(nbformat.read(release_path, as_version=4))
        solutions = _solution_cells(source_nb)
        answers: dict = {gid: {} for gid in stubs}
        for student in ws.students():
            path = ws.submission(student, assignment, notebook)
            if not path.exists():
                continue
            try:
                cells = _submitted_solution_cells(path)
            except Exception:  # noqa: BLE001  (an unreadable file: reported elsewhere)
                continue
            for gid, src in cells.items():
                if gid in answers and src.strip() and src != stubs[gid]:
                    answers[gid][student] = src
        for gid, by_student in answers.items():
            refs = {name: _source(name) for name in (references or {}).get(gid, [])}
            if gid in solutions:
                refs = {"the published solution": solutions[gid], **refs}
            matches += compare(assignment, gid, by_student, stubs[gid], refs)
    return matches


def _safe_fingerprint(source: str, ignored):
    try:
        return _fingerprint(source, ignored) if source.strip() else None
    except Exception:  # noqa: BLE001  (a reference that does not tokenize is not compared)
        return None


def _hashes(fp):
    return np.array(sorted(set(int(h) for h in fp.hashes)), dtype=np.int64)


def common_hashes(prints) -> np.ndarray:
    """The fingerprints found in more answers than COMMON_MIN and than COMMON_SHARE of them."""
    prints = list(prints)
    counts: dict = {}
    for fp in prints:
        for h in set(int(h) for h in fp.hashes):
            counts[h] = counts.get(h, 0) + 1
    limit = max(COMMON_MIN, COMMON_SHARE * len(prints))
    return np.array(sorted(h for h, n in counts.items() if n > limit), dtype=np.int64)


def compare(assignment: str, gid: str, by_student: dict, stub: str, known: dict) -> list[Match]:
    """The matches among one cell's answers ({student: source}), and between them and ``known``
    ({name: source}: the published solution, course_lib's references)."""
    if not by_student:
        return []
    boiler = _hashes(_fingerprint(stub))
    first = {}
    for who, src in by_student.items():
        fp = _safe_fingerprint(_answer_text(src, stub), boiler)
        if fp is not None:
            first[who] = fp
    ignored = np.union1d(boiler, common_hashes(first.values()))
    prints = {who: _fingerprint(_answer_text(by_student[who], stub), ignored) for who in first}
    refs = {name: _safe_fingerprint(_answer_text(src, stub), ignored) for name, src in known.items() if src}
    return _pairs(assignment, gid, prints, {k: v for k, v in refs.items() if v is not None})


def _source(dotted: str) -> str:
    import importlib

    module, _, attr = dotted.rpartition(".")
    try:
        return inspect.getsource(getattr(importlib.import_module(module), attr))
    except Exception:  # noqa: BLE001
        return ""


def _pairs(assignment, gid, prints: dict, known: dict) -> list:
    import copydetect

    usable = {w: fp for w, fp in prints.items() if len(fp.hashes) >= MIN_FINGERPRINTS}
    # Only answers that share a fingerprint can be similar: an index avoids comparing every pair.
    index: dict = {}
    for who, fp in usable.items():
        for h in set(fp.hashes):
            index.setdefault(h, set()).add(who)
    candidates = {tuple(sorted(p)) for group in index.values() if 1 < len(group) < 200
                  for p in combinations(sorted(group), 2)}
    out = []
    for a, b in sorted(candidates):
        _, (s1, s2), _ = copydetect.compare_files(usable[a], usable[b])
        if min(s1, s2) >= THRESHOLD:
            out.append(Match(assignment, gid, a, b, float(min(s1, s2))))
    for name, ref in known.items():
        if len(ref.hashes) < MIN_FINGERPRINTS:
            continue
        for who, fp in usable.items():
            _, (s1, s2), _ = copydetect.compare_files(fp, ref)
            if s2 >= THRESHOLD and s1 >= REFERENCE_SHARE:   # the reference is in the answer, and is most of it
                out.append(Match(assignment, gid, who, name, float(s2)))
    return out
