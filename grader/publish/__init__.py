"""Publishing a class's results: feedback pages, grades.csv and totals.csv, the class report, and
the scores in nbgrader's gradebook. Every text a student controls is escaped and bounded where it
is written, and one record that cannot be written never stops the others: it is named on stderr,
and a re-run after a fix repairs the outputs.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .. import results as R


def publish(course, ws, out: Path, only: str | None = None, canvas: Path | None = None) -> int:
    from . import export, feedback, report

    problems: list = []
    records = R.load_all(ws.results, problems)
    for path, why in problems:
        print(f"could not read the result {path}: {why}; grade that notebook again (--force)", file=sys.stderr)
    if not records:
        print("no results yet: run `course-grader autograde` first", file=sys.stderr)
        return 1
    failed = []
    if only in (None, "feedback"):
        pages, bad = feedback.write_all(records, out / "feedback", ws.template / "release")
        failed += bad
        print(f"wrote {len(pages)} feedback pages under {out / 'feedback'}")
    if only in (None, "export"):
        written = export.export(records, out, canvas_export=canvas)
        print(f"wrote {', '.join(str(p) for p in written)}")
    if only in (None, "report"):
        print(f"wrote {report.write(records, out / 'report.html', ws, course)}")
    for (student, assignment, notebook), why in failed:
        print(f"could not write the feedback of {student} for {assignment}/{notebook}: {why}", file=sys.stderr)
    return 1 if failed or problems else 0
