"""Lateness, late penalties, the instructor's nbgrader gradebook and Canvas's import file, through the
real command: `course-grader grade` on a small class of notebook 01, half collected by nbgrader (with
timestamp.txt), half downloaded from Canvas (two students called Jane Smith, one marked _LATE_)."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.demo import _solved
from grader.workspace import Course

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.find(ROOT)
CANVAS_EXPORT = ROOT / "tests" / "data" / "canvas_gradebook_export.csv"
pytestmark = pytest.mark.notebooks

# Due 17:00 in UTC+1, i.e. 16:00 UTC: alice a minute early, bob 2 h 10 min 30 s late, carol without a timestamp.
DUE = "01_setting=2025-03-01T17:00:00+01:00"
STAMPS = {"alice": "2025-03-01 15:59:00.000000 UTC", "bob": "2025-03-01 18:10:30.000000 UTC", "carol": None}
ALL = ["alice", "bob", "carol", "smithjane_1001", "smithjane_1002"]


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "grader", "--course", str(ROOT), *args], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("lms")
    release = ROOT / "notebooks" / "01_setting" / "setting.ipynb"
    solved = _solved(nbformat.read(release, 4), nbformat.read(ROOT / "solutions" / "01_setting" / "setting.ipynb", 4))
    export = base / "export"
    for student, stamp in STAMPS.items():       # nbgrader's collected layout
        folder = export / student / "01_setting"
        folder.mkdir(parents=True)
        nbformat.write(solved if student != "carol" else nbformat.read(release, 4), folder / "setting.ipynb")
        if stamp:
            (folder / "timestamp.txt").write_text(stamp)
            (folder / "submission_secret.txt").write_text(f"{student}'s secret")
    nbformat.write(solved, export / "smithjane_1001_5001_setting.ipynb")          # Canvas's download
    nbformat.write(solved, export / "smithjane_LATE_1002_5002_setting.ipynb")
    # The instructor's course gradebook, as nbgrader makes it: the assignment with a due date far away
    # (which --due then moves), and no notebooks yet (course-grader adds them from its release).
    gradebook = base / "course" / "gradebook.db"
    gradebook.parent.mkdir()
    COURSE.nbgrader("db", "assignment", "add", "01_setting", "--duedate=2030-01-01 00:00:00 UTC",
                    f"--db=sqlite:///{gradebook}", capture=True)
    run = _cli("--workspace", str(base / "work"), "grade", str(export), "--out", str(base / "out"),
               "--gradebook", str(gradebook), "--due", DUE, "--late-penalty", "zero", "--no-progress",
               "--timeout", "20", cwd=base)
    assert run.returncode == 0, run.stdout + run.stderr
    return base, run


def _grades(out: Path) -> dict:
    with open(out / "grades.csv") as f:
        return {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}


def _totals(out: Path) -> dict:
    with open(out / "totals.csv") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_lateness_is_nbgraders_and_the_zero_penalty_applies(graded):
    base, run = graded
    grades, totals = _grades(base / "out"), _totals(base / "out")
    late = {s: {r["seconds_late"] for (who, _), r in grades.items() if who == s} for s in ALL}
    assert late == {"alice": {"0"}, "bob": {"7830"}, "carol": {""}, "smithjane_1001": {""}, "smithjane_1002": {""}}
    # Every answer of the late ones was right; the penalty takes it all, exercise by exercise.
    for (student, _), r in grades.items():
        assert r["status"] == ("error" if student == "carol" else "ok"), r
        penalised = student in ("bob", "smithjane_1002")
        assert r["late_penalty"] == (r["score"] if penalised else "0"), r
    assert {s: (t["01_setting"], t["late_penalty"]) for s, t in totals.items()} == {
        "alice": ("6", "0"), "bob": ("0", "6"), "carol": ("0", "0"), "smithjane_1001": ("6", "0"),
        "smithjane_1002": ("0", "6")}
    assert "2 notebook(s) submitted late (late penalty: zero, 12 points taken off)" in run.stdout
    assert "could not place" not in run.stdout   # nbgrader's timestamp.txt and submission_secret.txt are its own


def test_feedback_says_how_late_and_what_it_cost(graded):
    base, _ = graded
    page = (base / "out" / "feedback" / "bob" / "01_setting" / "setting.html").read_text()
    assert "Submitted 2 h 10 min after the due date (due 2025-03-01 16:00:00 UTC; submitted 2025-03-01 18:10:30 UTC" \
        in page
    assert "The late penalty takes 6 of your 6 points off: 0 count." in page
    assert "<b>0 of 6</b> points (6 before the late penalty)" in page
    jane = (base / "out" / "feedback" / "smithjane_1002" / "01_setting" / "setting.html").read_text()
    assert "Marked late by Canvas (no submission time in the download)" in jane
    on_time = (base / "out" / "feedback" / "alice" / "01_setting" / "setting.html").read_text()
    assert "after the due date" not in on_time and "<b>6 of 6</b> points." in on_time


def test_nbgraders_gradebook_reads_the_scores_times_and_penalties_back(graded):
    import datetime as dt

    from nbgrader.api import Gradebook

    base, _ = graded
    grades = _grades(base / "out")
    with Gradebook(f"sqlite:///{base / 'course' / 'gradebook.db'}", course_id="backprop-from-scratch") as gb:
        assert gb.find_assignment("01_setting").duedate == dt.datetime(2025, 3, 1, 16, 0)   # --due, in UTC
        assert {s.id for s in gb.students} == set(ALL)
        for student in ALL:
            nb = gb.find_submission_notebook("setting", "01_setting", student)
            expected = {ex: float(r["score"]) for (who, ex), r in grades.items() if who == student}
            assert {g.name: g.score for g in nb.grades} == expected, student
            assert nb.score == sum(expected.values())
            penalty = 6.0 if student in ("bob", "smithjane_1002") else None
            assert nb.late_submission_penalty == penalty, student
            # What `nbgrader export` writes as the score: the raw score less the late penalty.
            submission = gb.find_submission("01_setting", student)
            final = max(0.0, submission.score - submission.late_submission_penalty)
            assert final == float(_totals(base / "out")[student]["01_setting"]), student
        bob = gb.find_submission("01_setting", "bob")
        assert bob.timestamp == dt.datetime(2025, 3, 1, 18, 10, 30) and bob.total_seconds_late == 7830
        assert gb.find_submission("01_setting", "alice").total_seconds_late == 0
        assert gb.find_submission("01_setting", "carol").timestamp is None
        assert {s: gb.find_student(s).lms_user_id for s in ALL} == {
            "alice": None, "bob": None, "carol": None, "smithjane_1001": "1001", "smithjane_1002": "1002"}


def _canvas_import(path: Path) -> tuple[list, dict, dict]:
    """What Canvas's gradebook importer reads from ``path`` (instructure/canvas-lms,
    app/models/gradebook_importer.rb): (assignment headers, {assignment: points}, {user id: {assignment: score}})."""
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]     # row_has_student_headers?
    student_columns = 3
    if "SIS Login ID" in header[2]:
        student_columns += 1
    elif "SIS User ID" in header[2] and "SIS Login ID" in header[3]:
        student_columns += 2
    assert "Section" in header[student_columns - 1]                              # header?
    assignments = header[student_columns:]
    points = next(r for r in rows[1:] if "Points Possible" in r[0])
    students = {r[1]: dict(zip(assignments, r[student_columns:])) for r in rows[1:] if "Points Possible" not in r[0]}
    return assignments, dict(zip(assignments, points[student_columns:])), students


def test_canvas_csv_matches_rows_by_canvas_id(graded):
    base, _ = graded
    path = base / "out" / "canvas.csv"
    assert path.read_text().splitlines()[:2] == ["Student,ID,SIS User ID,SIS Login ID,Section,01_setting",
                                                 "    Points Possible,,,,,6"]
    assignments, points, students = _canvas_import(path)
    assert assignments == ["01_setting"] and points == {"01_setting": "6"}
    # Only the students who came from Canvas, by their Canvas user id: the two Jane Smiths apart.
    assert students == {"1001": {"01_setting": "6"}, "1002": {"01_setting": "0"}}


def test_canvas_csv_from_canvas_own_export_keeps_its_columns(graded):
    base, _ = graded
    out = base / "with-export"
    run = _cli("--workspace", str(base / "work"), "export", "--out", str(out), "--canvas-gradebook",
               str(CANVAS_EXPORT), cwd=base)
    assert run.returncode == 0, run.stderr
    assignments, points, students = _canvas_import(out / "canvas.csv")
    assert assignments == ["01 Setting (4521)"] and points == {"01 Setting (4521)": "6"}   # updates assignment 4521
    with open(out / "canvas.csv") as f:
        rows = {r["ID"]: r for r in csv.DictReader(f) if r["ID"]}
    assert {i: (r["Student"], r["SIS User ID"], r["SIS Login ID"], r["Section"], r["01 Setting (4521)"])
            for i, r in rows.items()} == {
        "1001": ("Smith, Jane", "S2025-0101", "jsmith1", "Backprop 2025 - Section A", "6"),
        "1002": ("Smith, Jane", "S2025-0102", "jsmith2", "Backprop 2025 - Section B", "0")}


def _extension(base: Path, student: str, delta) -> None:
    """Give ``student`` an extension in the instructor's gradebook, as the formgrader would."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{base / 'course' / 'gradebook.db'}", course_id="backprop-from-scratch") as gb:
        gb.find_submission("01_setting", student).extension = delta
        gb.db.commit()


def test_a_later_run_remembers_the_penalty_and_follows_extensions_and_a_new_due_date(graded):
    import datetime as dt

    base, _ = graded
    work = base / "work"
    _extension(base, "bob", dt.timedelta(hours=2, minutes=15))   # due 18:15 for bob: on time
    again = _cli("--workspace", str(work), "autograde", "--gradebook", str(base / "course" / "gradebook.db"),
                 "--no-progress", cwd=base)
    assert again.returncode == 0, again.stderr
    assert "graded 0 notebooks, 5 unchanged" in again.stdout and "late penalty: zero" in again.stdout
    result = {s: json.loads((work / "results" / s / "01_setting" / "setting.json").read_text()) for s in ALL}
    assert (result["bob"]["seconds_late"], result["bob"]["late_penalty"]) == (0, 0)
    assert result["bob"]["due"] == "2025-03-01T18:15:00+00:00"
    assert result["smithjane_1002"]["late_penalty"] == 6   # still late by Canvas's mark, still zero
    # No extension, the class's due date moved to 18:00 UTC, and no penalty: nothing is regraded.
    _extension(base, "bob", None)
    later = _cli("--workspace", str(work), "autograde", "--gradebook", str(base / "course" / "gradebook.db"),
                 "--due", "01_setting=2025-03-01T18:00:00Z", "--late-penalty", "none", "--no-progress", cwd=base)
    assert later.returncode == 0, later.stderr
    bob = json.loads((work / "results" / "bob" / "01_setting" / "setting.json").read_text())
    assert (bob["seconds_late"], bob["late"], bob["late_penalty"]) == (630, "10 min after the due date", 0)
    alice = json.loads((work / "results" / "alice" / "01_setting" / "setting.json").read_text())
    assert alice["seconds_late"] == 0 and alice["late"] == ""


def test_a_gradebook_write_that_fails_part_way_leaves_the_gradebook_as_it_was(graded, tmp_path, monkeypatch):
    """The gradebook is written in one transaction: an error in the middle of the class (here the
    fourth student's) leaves nothing of the write in it, not the first three students' new scores."""
    import shutil
    import sqlite3

    from grader import results as R
    from grader.publish import gradebook
    from grader.workspace import Workspace

    base, _ = graded
    target = tmp_path / "gradebook.db"
    shutil.copy(base / "course" / "gradebook.db", target)

    def dump():
        with sqlite3.connect(target) as db:
            return {t: sorted(map(repr, db.execute(f"select * from {t}")))
                    for (t,) in db.execute("select name from sqlite_master where type='table'")}

    before = dump()
    ws = Workspace(base / "work")
    records = R.load_all(ws.results)
    for r in records:
        r.exercises = [R.ExerciseResult(e.grade_id, 0.0, e.max_score, "failed") for e in r.exercises]
    calls = []
    real = gradebook._lateness

    def failing(r, *args):
        calls.append(r.student)
        if len(set(calls)) == 4:
            raise RuntimeError("the disk is full")
        return real(r, *args)

    monkeypatch.setattr(gradebook, "_lateness", failing)
    with pytest.raises(RuntimeError, match="disk is full"):
        gradebook.record(ws, records, target)
    assert len(set(calls)) == 4
    assert dump() == before
    monkeypatch.setattr(gradebook, "_lateness", real)     # and the same write, without the fault, lands
    gradebook.record(ws, records, target)
    assert dump() != before
