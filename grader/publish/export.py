"""grades.csv (one row per student and exercise) and totals.csv (one row per student, for an LMS)."""
from __future__ import annotations

import csv
from pathlib import Path

from ..results import NotebookResult

GRADE_COLUMNS = ["student", "assignment", "notebook", "exercise", "score", "max_score", "status", "bug"]


def _fmt(x: float) -> str:
    return f"{x:g}"


def export(records: list[NotebookResult], out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    grades, totals = out / "grades.csv", out / "totals.csv"
    with open(grades, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(GRADE_COLUMNS)
        for r in records:
            for e in r.exercises:
                w.writerow([r.student, r.assignment, r.notebook, e.grade_id, _fmt(e.score), _fmt(e.max_score), e.status, e.bug])
    assignments = sorted({r.assignment for r in records})
    by_student: dict = {}
    for r in records:
        by_student.setdefault(r.student, {}).setdefault(r.assignment, [0.0, 0.0])
        by_student[r.student][r.assignment][0] += r.score
        by_student[r.student][r.assignment][1] += r.max_score
    with open(totals, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", *assignments, "total", "max_total", "percent"])
        for student, per in sorted(by_student.items()):
            score = sum(v[0] for v in per.values())
            max_score = sum(v[1] for v in per.values())
            w.writerow([student, *(_fmt(per.get(a, [0.0])[0]) for a in assignments), _fmt(score), _fmt(max_score),
                        f"{100 * score / max_score:.1f}" if max_score else "0.0"])
    return grades, totals
