"""The course notebooks: solutions pass, student versions stop at the first stub, release is current,
and nbgrader gives the solutions full marks and the blank notebooks zero."""
import concurrent.futures
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from grader import notebooks
from grader.release import release
from grader.workspace import Course

COURSE = Course.find(Path(__file__).resolve().parent.parent)
ROOT = COURSE.root

SOLUTIONS = notebooks.course_notebooks(ROOT / "solutions")
STUDENT = notebooks.course_notebooks(ROOT / "notebooks")
ids = lambda paths: [p.parent.name for p in paths]  # noqa: E731

pytestmark = pytest.mark.notebooks


def test_the_course_has_its_notebooks():
    assert [p.parent.name[:2] for p in SOLUTIONS] == [f"{i:02d}" for i in range(1, len(SOLUTIONS) + 1)]
    assert len(SOLUTIONS) >= 12
    assert ids(STUDENT) == ids(SOLUTIONS)


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids(SOLUTIONS))
def test_solution_runs_top_to_bottom_with_every_test_passing(path):
    run = notebooks.execute(path)
    assert run.error is None, f"cell {run.error[0]} raised {run.error[1]}: {run.error[2]}"
    for cell in run.nb.cells:
        if notebooks.is_test_cell(cell):
            streams = [o for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
            assert not streams, f"test cell {notebooks.nbgrader_meta(cell)['grade_id']} wrote to stderr: {streams}"


@pytest.mark.parametrize("path", STUDENT, ids=ids(STUDENT))
def test_student_notebook_runs_to_the_first_stub_and_fails_there(path):
    run = notebooks.execute(path)
    first_test = next((i for i, c in enumerate(run.nb.cells) if notebooks.is_test_cell(c)), None)
    if first_test is None:  # the ungraded explorer runs through
        assert run.error is None, run.error
        return
    assert run.error is not None, "a student notebook with stubs ran without error"
    index, ename, _ = run.error
    assert ename == "NotImplementedError"
    stub_cells = [i for i, c in enumerate(run.nb.cells) if notebooks.nbgrader_meta(c).get("solution")]
    assert index <= first_test and index >= stub_cells[0], f"failed at cell {index}, first test cell is {first_test}"


def _strip(nb):
    return json.loads(json.dumps(nb))


def test_notebooks_folder_is_what_release_generates(tmp_path):
    release(COURSE, tmp_path / "release")
    generated = notebooks.course_notebooks(tmp_path / "release")
    assert [p.relative_to(tmp_path / "release") for p in generated] == [p.relative_to(ROOT / "notebooks") for p in STUDENT]
    for new, committed in zip(generated, STUDENT):
        assert _strip(nbformat.read(new, 4)) == _strip(nbformat.read(committed, 4)), (
            f"{committed.relative_to(ROOT)} is out of date: run `make release` and commit notebooks/")


def test_committed_student_notebooks_carry_no_outputs():
    for path in STUDENT:
        for cell in nbformat.read(path, 4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path


def _autograde(tmp_path, submissions: dict) -> dict:
    """Grade {student: folder of <assignment>/<notebook>.ipynb} with plain nbgrader in a throwaway course;
    returns {(student, assignment, notebook, grade_id): (score, max_score)}."""
    from nbgrader.api import Gradebook

    tmp_path.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    common = [f"--CourseDirectory.root={tmp_path}", f"--CourseDirectory.source_directory={ROOT / 'solutions'}",
              f"--CourseDirectory.release_directory={tmp_path / 'release'}", f"--db={db}",
              "--CourseDirectory.submitted_directory=submitted", "--CourseDirectory.autograded_directory=autograded"]
    COURSE.nbgrader("generate_assignment", "*", "--force", "--quiet", *common, workspace=tmp_path)
    for student, folder in submissions.items():
        shutil.copytree(folder, tmp_path / "submitted" / student)
    COURSE.nbgrader("autograde", "*", "--quiet", *common, workspace=tmp_path)
    out = {}
    with Gradebook(db) as gb:
        for student in submissions:
            for a in gb.assignments:
                sub = gb.find_submission(a.name, student)
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        out[(student, a.name, nb.name, grade.name)] = (grade.score, grade.max_score)
    return out


def test_autograde_gives_solutions_full_marks_and_blank_notebooks_zero(tmp_path):
    # Two throwaway courses graded at once (nbgrader grades one notebook at a time: two cores, half the wait).
    classes = {"perfect": ROOT / "solutions", "blank": ROOT / "notebooks"}
    with concurrent.futures.ThreadPoolExecutor(len(classes)) as pool:
        parts = pool.map(lambda kv: _autograde(tmp_path / kv[0], dict([kv])), classes.items())
        grades = {k: v for part in parts for k, v in part.items()}
    graded = {k[1:] for k in grades}
    expected = {(p.parent.name, p.stem, e.grade_id) for p in SOLUTIONS for e in notebooks.exercises(nbformat.read(p, 4))}
    assert graded == expected and expected
    for (student, assignment, notebook, grade_id), (score, max_score) in grades.items():
        assert max_score > 0, grade_id
        want = max_score if student == "perfect" else 0
        assert score == want, f"{student}: {assignment}/{notebook} {grade_id} scored {score} of {max_score}"
