"""grades.csv (one row per student and exercise), totals.csv (one row per student, for an LMS), and
canvas.csv (Canvas's gradebook import format) when any submission came from Canvas.

canvas.csv follows what Canvas's own gradebook export writes and its importer reads
(instructure/canvas-lms: lib/gradebook_exporter.rb and app/models/gradebook_importer.rb):
a header ``Student, ID, SIS User ID, SIS Login ID, Section, <assignment>...``, a second row whose first
cell is ``    Points Possible`` with each assignment's points, then one row per student. Canvas matches
a row to its student by the ``ID`` column (Canvas's user id) first, then by SIS User ID, SIS Login ID,
and last by name; it matches a column to an assignment by the id in a header ``Title (123)``, else by
the exact title, and creates an assignment for a header it does not know. So:

- every row carries the Canvas user id the download's file names gave (``smithjane_1001_...`` -> 1001);
  students that did not come from Canvas are left out (they are in totals.csv);
- with ``--canvas-gradebook EXPORT.csv`` (the gradebook downloaded from Canvas: Grades > Export), the
  student columns (name, SIS ids, section, and any Integration ID or Root Account) are copied from it,
  and an assignment column of it whose title is the course-grader assignment's name, ignoring case,
  spaces and punctuation ("01 Setting (4521)" for ``01_setting``), is used under its own header, so
  that Canvas updates that assignment; the others are written under the course-grader name (Canvas
  then matches an assignment of exactly that title, or creates one);
- each score is the assignment's total after any late penalty; a student who submitted no notebook of
  an assignment gets an empty cell there.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from ..results import NotebookResult

GRADE_COLUMNS = ["student", "assignment", "notebook", "exercise", "score", "max_score", "status", "bug",
                 "lms", "lms_id", "submitted_at", "seconds_late", "late_penalty"]
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "    Points Possible"   # as Canvas writes it; its importer looks for "Points Possible" in cell 0


def _fmt(x: float) -> str:
    return f"{x:g}"


def _late(x: float | None) -> str:
    return "" if x is None else f"{x:.0f}"


def export(records: list[NotebookResult], out: Path, canvas_export: Path | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    grades, totals = out / "grades.csv", out / "totals.csv"
    with open(grades, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(GRADE_COLUMNS)
        for r in records:
            for e in r.exercises:
                # The notebook's penalty shared by its exercises in proportion to their scores ("zero": each
                # loses what it earned), so that score - late_penalty sums to the notebook's final score.
                share = r.late_penalty * e.score / r.score if r.score else 0.0
                w.writerow([r.student, r.assignment, r.notebook, e.grade_id, _fmt(e.score), _fmt(e.max_score),
                            e.status, e.bug, r.lms, r.lms_id, r.submitted_at, _late(r.seconds_late), _fmt(share)])
    assignments = sorted({r.assignment for r in records})
    per = _per_assignment(records)
    lms_ids = {r.student: r.lms_id for r in records if r.lms_id}
    with open(totals, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "lms_id", *assignments, "total", "max_total", "percent", "late_penalty"])
        for student, scores in sorted(per.items()):
            score = sum(v["score"] for v in scores.values())
            max_score = sum(v["max"] for v in scores.values())
            w.writerow([student, lms_ids.get(student, ""),
                        *(_fmt(scores.get(a, {"score": 0.0})["score"]) for a in assignments),
                        _fmt(score), _fmt(max_score), f"{100 * score / max_score:.1f}" if max_score else "0.0",
                        _fmt(sum(v["penalty"] for v in scores.values()))])
    written = [grades, totals]
    if canvas_export is not None or any(r.lms == "canvas" for r in records):
        written.append(canvas_csv(records, out / "canvas.csv", canvas_export))
    return written


def _per_assignment(records: list[NotebookResult]) -> dict:
    """{student: {assignment: {"score", "max", "penalty", "submitted"}}}, scores after the late penalty."""
    out: dict = {}
    for r in records:
        v = out.setdefault(r.student, {}).setdefault(r.assignment, {"score": 0.0, "max": 0.0, "penalty": 0.0,
                                                                      "submitted": False})
        v["score"] += r.final_score
        v["max"] += r.max_score
        v["penalty"] += r.late_penalty
        v["submitted"] |= r.status != "missing"
    return out


def _key(title: str) -> str:
    return re.sub(r"[\W_]+", "", title).lower()


def _title(header: str) -> str:
    """A Canvas assignment header without its id: "01 Setting (4521)" -> "01 Setting"."""
    m = re.fullmatch(r"(.*)\s\((\d+)\)", header.strip())
    return m.group(1) if m else header.strip()


def read_canvas_export(path: Path) -> tuple[list[str], list[dict], list[str], str]:
    """(student columns, student rows as dicts, assignment headers, delimiter) of a Canvas gradebook export."""
    text = Path(path).read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","   # Canvas writes either, by locale
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    if not rows or not rows[0] or "Student" not in rows[0][0] and "LastName" not in rows[0][0]:
        raise SystemExit(f"course-grader: {path} is not a Canvas gradebook export (its first cell is not \"Student\")")
    header = rows[0]
    if "Section" not in header:
        raise SystemExit(f"course-grader: {path} has no Section column: not a Canvas gradebook export")
    info = header[: header.index("Section") + 1]
    assignments = [h for h in header[len(info):] if not re.search(
        r"Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|Override", h)]
    students = []
    for row in rows[1:]:
        cells = dict(zip(header, row))
        if not row or "Points Possible" in (row[0] or ""):
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", c or "", re.I) for c in row):
            continue   # Canvas's row that marks assignments with hidden grades
        students.append(cells)
    return info, students, assignments, delimiter


def canvas_csv(records: list[NotebookResult], path: Path, canvas_export: Path | None = None) -> Path:
    """Write ``path`` in Canvas's gradebook import format (see the module's docstring)."""
    assignments = sorted({r.assignment for r in records})
    per = _per_assignment(records)
    possible = {}
    for r in records:
        possible.setdefault((r.student, r.assignment), 0.0)
        possible[(r.student, r.assignment)] += r.max_score
    points = {a: max(v for (s, x), v in possible.items() if x == a) for a in assignments}
    canvas = {}   # Canvas user id -> student id in the workspace
    for r in records:
        if r.lms == "canvas" and r.lms_id.isdigit():
            canvas.setdefault(r.lms_id, r.student)
    info, delimiter, template = list(CANVAS_STUDENT_COLUMNS), ",", {}
    headers = {a: a for a in assignments}
    if canvas_export is not None:
        info, rows, theirs, delimiter = read_canvas_export(canvas_export)
        template = {row.get("ID", "").strip(): row for row in rows if row.get("ID", "").strip()}
        for a in assignments:
            match = [h for h in theirs if _key(_title(h)) == _key(a)]
            if len(match) == 1:
                headers[a] = match[0]
        unmatched = [a for a in assignments if headers[a] == a]
        if unmatched:
            print(f"canvas.csv: no column of {canvas_export} is titled like {', '.join(unmatched)}: Canvas will "
                  "match an assignment of exactly that title, or create one", file=sys.stderr)
        absent = sorted(i for i in canvas if i not in template)
        if absent:
            print(f"canvas.csv: {len(absent)} Canvas user id(s) from the download are not in {canvas_export} "
                  f"(kept, matched by ID): {', '.join(absent[:10])}", file=sys.stderr)
    names = {r.student: _name(r) for r in records}
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow([*info, *(headers[a] for a in assignments)])
        w.writerow([POINTS_POSSIBLE, *([""] * (len(info) - 1)), *(_fmt(points[a]) for a in assignments)])
        for user_id, student in sorted(canvas.items(), key=lambda kv: int(kv[0])):
            row = template.get(user_id)
            if row is None:
                row = {"Student": names[student], "ID": user_id}
            scores = per.get(student, {})
            w.writerow([*(row.get(c, "") for c in info),
                        *(_fmt(scores[a]["score"]) if a in scores and scores[a]["submitted"] else ""
                          for a in assignments)])
    return path


def _name(r: NotebookResult) -> str:
    """The student's name as far as the download tells it (Canvas matches rows by ID first anyway)."""
    return r.student.rsplit("_", 1)[0] if r.lms_id and r.student.endswith("_" + r.lms_id) else r.student
