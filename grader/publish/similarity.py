"""Answers that look copied: the class report lists solution cells that match another student's,
the published solution's, or course_lib's reference, after names and layout are normalised.

Copying is out of scope for scoring (a copied answer is still an answer); it is made visible for
the instructor to look at. The comparison is copydetect's (winnowed fingerprints of the token
stream with identifiers normalised, as MOSS does); the release's stub of each cell (signature,
docstring) is boilerplate and never counts. Short answers are left out: ``np.maximum(Z, 0)`` is
what everybody writes.
"""
from __future__ import annotations

import inspect
import io
from dataclasses import dataclass
from itertools import combinations

import nbformat

from ..notebooks import nbgrader_meta

K, WINDOW = 25, 1          # copydetect's noise threshold (tokens) and guarantee window
THRESHOLD = 0.9            # both answers share at least this share of their fingerprints
MIN_FINGERPRINTS = 12      # answers shorter than this (after the stub is removed) are not compared


@dataclass
class Match:
    assignment: str
    cell: str
    first: str          # a student, or "the published solution", or "course_lib.x.y"
    second: str
    similarity: float   # the smaller of the two shares


def _fingerprint(source: str, boilerplate=None):
    import copydetect

    return copydetect.CodeFingerprint("answer.py", K, WINDOW, boilerplate=boilerplate, fp=io.StringIO(source))


def _solution_cells(nb) -> dict:
    return {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
            if nbgrader_meta(c).get("solution") and c.cell_type == "code"}


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
                nb = nbformat.read(path, as_version=4)
            except Exception:  # noqa: BLE001  (an unreadable file: reported elsewhere)
                continue
            for gid, src in _solution_cells(nb).items():
                if gid in answers and src.strip() and src != stubs[gid]:
                    answers[gid][student] = src
        for gid, by_student in answers.items():
            if len(by_student) < 1:
                continue
            import numpy as np

            boiler = np.array(sorted(_fingerprint(stubs[gid]).hashes), dtype=np.int64)
            prints = {}
            for who, src in by_student.items():
                try:
                    prints[who] = _fingerprint(src, boiler)
                except Exception:  # noqa: BLE001  (code that does not tokenize is not compared)
                    continue
            known = {}
            if gid in solutions:
                known["the published solution"] = _fingerprint(solutions[gid], boiler)
            for name in (references or {}).get(gid, []):
                src = _source(name)
                if src:
                    known[name] = _fingerprint(src)
            matches += _pairs(assignment, gid, prints, known)
    return matches


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
            if min(s1, s2) >= THRESHOLD:
                out.append(Match(assignment, gid, who, name, float(min(s1, s2))))
    return out
