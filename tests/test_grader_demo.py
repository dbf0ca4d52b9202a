"""The grading command end to end, on the demo class: every expected score, status and bug."""
import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader import demo
from grader.workspace import Course

COURSE = Course.find(Path(__file__).resolve().parent.parent)
ROOT = COURSE.root

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "--demo", "--out", str(out), "--timeout", "10",
                          "--no-progress"], capture_output=True, text=True, cwd=ROOT)
    return out, run


def _rows(out: Path):
    with open(out / "grades.csv") as f:
        return list(csv.DictReader(f))


def test_every_expected_status_and_bug(graded):
    out, run = graded
    got = {(r["student"], r["assignment"], r["exercise"]): (r["status"], r["bug"]) for r in _rows(out)}
    expected = demo.expected_rows(COURSE.layout)
    assert set(got) == set(expected)
    wrong = {k: (expected[k], got[k]) for k in expected if got[k] != expected[k]}
    assert not wrong, f"expected vs got: {wrong}\n{run.stderr[-3000:]}"


def test_flags_exactly_where_expected(graded):
    import json

    out, _ = graded
    flagged = {(p.parts[-3], p.parts[-2]): json.loads(p.read_text())["flags"]
               for p in (out / "work" / "results").glob("*/*/*.json") if json.loads(p.read_text())["flags"]}
    assert set(flagged) == {(s.name, a) for s in demo.CLASS for a in s.flagged}, flagged


def test_honest_habits_raise_no_flag_and_lose_no_point(graded):
    import json

    out, _ = graded
    students = {s.name: s for s in demo.CLASS}
    for name in ("warns_but_right", "tuples_and_dicts", "slots_layers", "display_habits", "chatty", "calls_exit"):
        for assignment in students[name].handed_in():
            record = json.loads(next((out / "work" / "results" / name / assignment).glob("*.json")).read_text())
            assert not record["flags"], (name, record["flags"])
            assert all(e["status"] == "ok" for e in record["exercises"]), (name, record["exercises"])


def test_scores_follow_the_statuses(graded):
    out, _ = graded
    for r in _rows(out):
        full = float(r["score"]) == float(r["max_score"]) > 0
        assert full == (r["status"] == "ok"), r


def test_exit_status_lists_what_could_not_be_graded(graded):
    _, run = graded
    assert run.returncode == 1  # three files are not gradable notebooks; everything else was graded
    assert "3 notebook(s) could not be graded" in run.stderr
    for name in ("broken_files: 02_forward_cache", "broken_files: 03_backward", "old_format: 02_forward_cache"):
        assert name in run.stderr
    assert "could not place perfect/notes.txt" in run.stdout


def test_scores_are_in_nbgraders_gradebook(graded):
    from nbgrader.api import Gradebook, MissingEntry

    out, _ = graded
    with open(out / "totals.csv") as f:
        totals = {r["student"]: r for r in csv.DictReader(f)}
    students = {s.name: s for s in demo.CLASS}
    with Gradebook(f"sqlite:///{out / 'work' / 'gradebook.db'}") as gb:
        for student in ("perfect", "missing_average", "blank"):
            handed = students[student].handed_in()
            score = sum(gb.find_submission(a, student).score for a in handed)
            assert score == float(totals[student]["total"])
            # An assignment the student never handed in has no submission, as in nbgrader ("No Submission").
            for a in set(demo.ASSIGNMENTS) - set(handed):
                with pytest.raises(MissingEntry):
                    gb.find_submission(a, student)


def test_totals_one_row_per_student(graded):
    out, _ = graded
    with open(out / "totals.csv") as f:
        totals = {r["student"]: r for r in csv.DictReader(f)}
    assert set(totals) == {s.name for s in demo.CLASS}
    assert totals["perfect"]["percent"] == "100.0" and totals["blank"]["percent"] == "0.0"


def test_feedback_pages_never_show_hidden_tests(graded):
    out, _ = graded
    pages = list((out / "feedback").rglob("*.html"))
    assert len(pages) == len(demo.CLASS) * len(demo.ASSIGNMENTS)
    hidden_lines = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        for cell in nbformat.read(path, 4).cells:
            if "### BEGIN HIDDEN TESTS" in cell.source:
                block = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
                hidden_lines |= {line.strip() for line in block.splitlines() if line.strip()}
    assert hidden_lines
    for page in pages:
        text = page.read_text()
        assert "HIDDEN TESTS" not in text and "hidden=True" not in text
        assert not any(line in text for line in hidden_lines), page


def test_feedback_explains_bad_submissions(graded):
    out, _ = graded
    fb = out / "feedback"
    assert "not valid JSON" in (fb / "broken_files/02_forward_cache/forward_cache.html").read_text()
    assert "nbformat 3" in (fb / "old_format/02_forward_cache/forward_cache.html").read_text()
    assert "process ended" in (fb / "kills_kernel/03_backward/backward.html").read_text()
    assert "put back" in (fb / "deletes_test/03_backward/backward.html").read_text()
    assert "restored" in (fb / "edits_test/02_forward_cache/forward_cache.html").read_text()
    assert "time limit" in (fb / "infinite_loop/03_backward/backward.html").read_text()
    assert "missing_batch_average" in (fb / "missing_average/03_backward/backward.html").read_text()
    chatty = (fb / "chatty/02_forward_cache/forward_cache.html").stat().st_size
    assert chatty < 100_000  # 5 MB of prints stay out of the page


def test_report_names_each_bug_with_an_example(graded):
    out, _ = graded
    report = (out / "report.html").read_text()
    for bug in ("missing_batch_average", "wrong_transpose", "relu_mask_from_gradient", "bias_gradient_averaged",
                "in_place_cache_mutation", "unstable_softmax", "stale_cache"):
        assert f"<code>{bug}</code>" in report
    assert report.count("data:image/png;base64") >= 3
    assert "perfect" not in report.split("Known bugs")[1].split("<h2>")[0]  # examples are anonymised


def test_a_second_run_grades_nothing_new(graded):
    out, _ = graded
    run = subprocess.run([sys.executable, "-m", "grader", "grade", "--demo", "--out", str(out), "--no-progress"],
                         capture_output=True, text=True, cwd=ROOT)
    assert "graded 0 notebooks" in run.stdout, run.stdout
    assert run.returncode == 1 and "3 notebook(s) could not be graded" in run.stderr  # still not gradable


def test_committed_demo_class_is_what_the_script_makes(tmp_path):
    from generated import assert_same_tree

    demo.build(tmp_path / "demo")
    assert_same_tree(tmp_path / "demo", COURSE.demo, "run `python -m grader.demo` and commit grader/demo/")
