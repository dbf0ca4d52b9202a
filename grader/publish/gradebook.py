"""Writing the results into an nbgrader gradebook, one writer at the end of a run, so that nbgrader's
formgrader and its own tools see the scores, the submission times and the late penalties.

The gradebook is the workspace's own (``<workspace>/gradebook.db``) unless ``--gradebook`` names
another: the instructor's course gradebook that the formgrader reads (``sqlite:///PATH``, or a path).
Students are kept under the ids they were collected with (for nbgrader's layout, the names nbgrader
knows them by); an LMS's id of the student goes into nbgrader's ``Student.lms_user_id`` when that is
empty. An assignment or notebook the gradebook does not have yet is copied, cells and all, from the
release course-grader made with ``nbgrader generate_assignment``; what it has is never changed.
A student with no submitted notebook in an assignment gets no submission there (the formgrader then
says "No Submission", as for nbgrader's own).

Lateness is nbgrader's: the due date is the gradebook's (``--due`` sets it there first), the
submission time is nbgrader's timestamp.txt, and ``SubmittedAssignment.total_seconds_late`` says how
late; see grader/lateness.py for the penalty.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .. import lateness as L
from ..intake import lms as origins
from ..results import NotebookResult
from ..workspace import Workspace


def gradebook_url(target: str | Path | None, ws: Workspace) -> str:
    """The database URL for ``--gradebook`` (a URL or a path; default the workspace's gradebook)."""
    if target is None:
        return f"sqlite:///{ws.gradebook}"
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    if not path.exists():
        raise SystemExit(f"course-grader: --gradebook {text}: there is no gradebook there (nbgrader creates it "
                         "with the course's first `nbgrader generate_assignment`, or the formgrader's Generate)")
    return f"sqlite:///{path}"


def _copy_structure(gb, template, assignments: set) -> None:
    """Add to ``gb`` what it lacks of ``assignments``' notebooks and cells, from the ``template`` gradebook."""
    from nbgrader.api import MissingEntry

    for a in sorted(assignments):
        try:
            source = template.find_assignment(a)
        except MissingEntry:
            continue
        try:
            have = {nb.name for nb in gb.find_assignment(a).notebooks}
        except MissingEntry:
            gb.update_or_create_assignment(a)
            have = set()
        for nb in source.notebooks:
            if nb.name in have:
                continue
            gb.update_or_create_notebook(nb.name, a)
            for c in nb.grade_cells:
                gb.update_or_create_grade_cell(c.name, nb.name, a, max_score=c.max_score, cell_type=c.cell_type)
            for c in nb.solution_cells:
                gb.update_or_create_solution_cell(c.name, nb.name, a)
            for c in nb.task_cells:
                gb.update_or_create_task_cell(c.name, nb.name, a, max_score=c.max_score, cell_type=c.cell_type)
            for c in nb.source_cells:
                gb.update_or_create_source_cell(c.name, nb.name, a, cell_type=c.cell_type, locked=c.locked,
                                                source=c.source, checksum=c.checksum)


def _lateness(r: NotebookResult, submission, folder: Path, method: str) -> None:
    """Fill in ``r``'s lateness from nbgrader's submission (timestamp and due date already set)."""
    origin = origins.load_origins(folder).get(r.notebook, {})
    r.lms, r.lms_id = origin.get("lms", ""), origin.get("lms_id", "")
    r.lms_file, r.lms_late = origin.get("lms_file", ""), bool(origin.get("late"))
    due = submission.duedate
    r.submitted_at, r.due = L.utc(submission.timestamp), L.utc(due)
    r.seconds_late = float(submission.total_seconds_late) if submission.timestamp and due else None
    r.late = L.describe(r.seconds_late, r.lms_late, r.lms)
    late = bool(r.seconds_late) or (r.lms_late and r.seconds_late is None)
    r.late_penalty = L.penalty(method, r.score, late) if r.status != "missing" else 0.0


def record(ws: Workspace, records: list[NotebookResult], target: str | Path | None = None,
           due: dict | None = None, penalty: str = "none") -> list[NotebookResult]:
    """Write ``records`` into the gradebook (the workspace's, or ``target``); fill in each record's
    lateness and LMS origin on the way. Returns the records whose fields changed (to be saved)."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    # nbgrader's add_submission triggers SQLAlchemy autoflush notices about objects it has not
    # added to its session yet; the scores are written all the same (tests/test_grader_demo.py).
    warnings.filterwarnings("ignore", category=SAWarning)

    url = gradebook_url(target, ws)
    template = ws.template / "gradebook.db"
    if target is None and not ws.gradebook.exists():
        shutil.copy(template, ws.gradebook)  # assignments, notebooks and cells from generate_assignment
    groups: dict = {}
    for r in records:
        groups.setdefault((r.student, r.assignment), []).append(r)
    changed = []
    with Gradebook(f"sqlite:///{template}") as tpl:
        # The course id nbgrader released the course under: what the gradebook's assignments belong to.
        course_id = next((a.course_id for a in tpl.assignments), "default_course")
    with Gradebook(url, course_id=course_id) as gb:
        # nbgrader commits after every change: an fsync each, and SQLAlchemy then forgets every object it
        # had loaded, so that the next read of any of them queries again. For 2,100 submissions that was
        # 30 s. Here the whole write is one transaction, committed at the end: a failure leaves the
        # gradebook as it was, not half written.
        gb.db = _OneTransaction(gb.db)
        with Gradebook(f"sqlite:///{template}", course_id=course_id) as tpl:
            _copy_structure(gb, tpl, {r.assignment for r in records} | set(due or {}))
        for assignment, when in (due or {}).items():
            gb.update_or_create_assignment(assignment, duedate=when)
        for (student, assignment), group in sorted(groups.items()):
            folder = ws.submitted / student / assignment
            stamp, problem = L.read_timestamp(folder)
            before = [r.to_json() for r in group]
            submitted = [r for r in group if r.status != "missing"]
            gb.update_or_create_student(student)
            if not submitted:
                for r in group:
                    _lateness(r, _Unsubmitted(gb, assignment), folder, penalty)
            else:
                try:
                    submission = gb.find_submission(assignment, student)
                except MissingEntry:
                    submission = gb.add_submission(assignment, student)
                submission.timestamp = stamp
                lms_id = next((o.get("lms_id") for o in origins.load_origins(folder).values() if o.get("lms_id")), "")
                if lms_id and not submission.student.lms_user_id:
                    submission.student.lms_user_id = lms_id
                for r in group:
                    _lateness(r, submission, folder, penalty)
                    if problem and problem not in r.notes:
                        r.notes.append(problem)
                    notebook = next((n for n in submission.notebooks if n.name == r.notebook), None)
                    if notebook is None:
                        continue
                    scores = {e.grade_id: e.score for e in r.exercises}
                    for grade in notebook.grades:
                        if grade.name in scores:
                            grade.auto_score = scores[grade.name]
                    notebook.late_submission_penalty = r.late_penalty or None
            changed += [r for r, old in zip(group, before) if r.to_json() != old]
        gb.db.session.commit()
    return changed


class _OneTransaction:
    """nbgrader's database session, whose commits only flush (the caller commits once, at the end)."""

    def __init__(self, session):
        self.session = session

    def commit(self) -> None:
        self.session.flush()

    def __getattr__(self, name):
        return getattr(self.session, name)


class _Unsubmitted:
    """An assignment nobody submitted, seen as nbgrader's submission would be (no time, its due date)."""

    timestamp = None
    total_seconds_late = 0

    def __init__(self, gb, assignment: str):
        from nbgrader.api import MissingEntry

        try:
            self.duedate = gb.find_assignment(assignment).duedate
        except MissingEntry:
            self.duedate = None
