"""Writing the results into the class's nbgrader gradebook (`<workspace>/gradebook.db`), one writer
at the end of a run, so that nbgrader's formgrader and its own tools see the scores."""
from __future__ import annotations

import shutil

from ..results import NotebookResult
from ..workspace import Workspace


def record(ws: Workspace, records: list[NotebookResult]) -> None:
    import warnings

    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    # nbgrader's add_submission triggers SQLAlchemy autoflush notices about objects it has not
    # added to its session yet; the scores are written all the same (tests/test_grader_demo.py).
    warnings.filterwarnings("ignore", category=SAWarning)

    db = ws.gradebook
    if not db.exists():
        shutil.copy(ws.template / "gradebook.db", db)  # assignments, notebooks and cells from generate_assignment
    with Gradebook(f"sqlite:///{db}") as gb:
        for r in records:
            gb.update_or_create_student(r.student)
            try:
                submission = gb.find_submission(r.assignment, r.student)
            except MissingEntry:
                submission = gb.add_submission(r.assignment, r.student)
            notebook = next((n for n in submission.notebooks if n.name == r.notebook), None)
            if notebook is None:
                continue
            scores = {e.grade_id: e.score for e in r.exercises}
            for grade in notebook.grades:
                if grade.name in scores:
                    grade.auto_score = scores[grade.name]
        gb.db.commit()
