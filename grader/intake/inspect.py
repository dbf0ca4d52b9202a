"""Reading a submitted notebook before grading: refuse what cannot be a notebook, and put back
test cells that a student deleted or edited (the grade must come from the course's tests)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..notebooks import is_test_cell, nbgrader_meta


class InvalidNotebook(Exception):
    """The file cannot be graded; the message says why, for the student."""


@dataclass
class Prepared:
    nb: object
    notes: list = field(default_factory=list)   # (scope, text): "notebook" or the grade_id it concerns


def read_submission(source: Path | bytes) -> object:
    """The notebook at ``source`` (a path, or the file's bytes), or InvalidNotebook with a reason a
    student understands."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not raw.strip():
        raise InvalidNotebook("the file is empty (0 bytes of notebook): upload the saved .ipynb again")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidNotebook(f"the file is not a notebook: it is not valid JSON ({e}). "
                              "Was it renamed from another format, or cut short by the upload?") from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise InvalidNotebook("the file is JSON but not a Jupyter notebook (no cells)")
    major = data.get("nbformat")
    if major is None or major < 4:
        raise InvalidNotebook(f"the notebook is in nbformat {major}, written by a Jupyter older than 2015. "
                              "Open it in JupyterLab and save it again to convert it to nbformat 4")
    try:
        return nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as e:  # nbformat's validation errors come in several types
        raise InvalidNotebook(f"the notebook's structure is damaged ({type(e).__name__}: {e})") from None


def restore_test_cells(nb, release_nb) -> Prepared:
    """Make sure every test cell of the released notebook is present, unedited, and in its place.

    A deleted test cell is re-inserted after the cell that preceded it in the release; an
    edited one is replaced by the original. Each repair is noted for the feedback.
    """
    notes = []
    released = [c for c in release_nb.cells if is_test_cell(c)]
    by_id = {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if nbgrader_meta(c).get("grade_id")}
    release_order = [nbgrader_meta(c)["grade_id"] for c in released]
    submitted_order = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade_id") in release_order]
    if list(dict.fromkeys(submitted_order)) != [g for g in release_order if g in submitted_order]:
        notes.append(("notebook", "The test cells had been moved out of the course's order; they were put back in place."))
    counts: dict = {}
    for c in nb.cells:
        gid = nbgrader_meta(c).get("grade_id")
        counts[gid] = counts.get(gid, 0) + 1
    for cell in released:
        gid = nbgrader_meta(cell)["grade_id"]
        have = by_id.get(gid)
        if counts.get(gid, 0) > 1:
            notes.append((gid, f"The test cell {gid} had been duplicated; one copy of the original was kept."))
        if have is None:
            notes.append((gid, f"The test cell {gid} had been deleted; it was put back before grading."))
        elif nbgrader_meta(have).get("points") != nbgrader_meta(cell).get("points") and have.source == cell.source:
            notes.append((gid, f"The points of the test cell {gid} had been changed; the original was restored."))
        elif have.source != cell.source or not is_test_cell(have) or nbgrader_meta(have).get("points") != nbgrader_meta(cell).get("points"):
            notes.append((gid, f"The test cell {gid} had been edited; the original was restored before grading."))
    # Rebuild: the student's cells, with each release test cell placed after the cell that precedes
    # it in the release (matched by grade_id), and any stray copies of test cells dropped.
    test_ids = {nbgrader_meta(c)["grade_id"] for c in released}
    kept = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") not in test_ids]
    out = list(kept)
    for i, cell in enumerate(release_nb.cells):
        if not is_test_cell(cell):
            continue
        anchor = _previous_grade_id(release_nb.cells, i)
        pos = next((j + 1 for j, c in enumerate(out) if anchor and nbgrader_meta(c).get("grade_id") == anchor), None)
        if pos is None:  # the anchor is gone too: after the previous test cell, else at the end
            pos = _after_last_test(out) if out else 0
        out.insert(pos, nbformat.from_dict(json.loads(json.dumps(cell))))
    nb.cells = out
    return Prepared(nb, notes)


def _previous_grade_id(cells, i) -> str | None:
    for c in reversed(cells[:i]):
        gid = nbgrader_meta(c).get("grade_id")
        if gid:
            return gid
    return None


def _after_last_test(cells) -> int:
    idx = [j for j, c in enumerate(cells) if is_test_cell(c)]
    return idx[-1] + 1 if idx else len(cells)
