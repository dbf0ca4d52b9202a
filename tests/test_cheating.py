"""Grading that cheating cannot fool: every attack in tests/cheating/ earns nothing it did not solve and is
flagged; the honest submissions are never flagged. Graded by the real grading command."""
import csv
import json
import os
import subprocess
import sys

import pytest

from grader.demo import expected_rows
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
from grader.remote import sandbox_available
from grader.workspace import Course

sys.path.insert(0, str(ROOT / "tests" / "cheating"))
import corpus  # noqa: E402
from generated import assert_same_tree  # noqa: E402

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if not sandbox_available():
        message = "the grader's sandbox needs bubblewrap: apt-get install bubblewrap"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # under CI a skip would hide that the defences went untested
        pytest.skip(message)
    out = tmp_path_factory.mktemp("cheating")
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(corpus.OUT), "--out", str(out),
                          "--timeout", "10", "--no-progress"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(out / "grades.csv") as f:
        rows = {(r["student"], r["assignment"], r["exercise"]): r for r in csv.DictReader(f)}
    flags = {json.loads(p.read_text())["student"]: json.loads(p.read_text())["flags"]
             for p in (out / "work" / "results").glob("*/*/*.json")}
    return out, rows, flags


@pytest.mark.parametrize("student", corpus.CORPUS, ids=lambda s: s.name)
def test_scores_and_statuses(graded, student):
    _, rows, _ = graded
    expected = expected_rows(Course().layout, [student], corpus.ASSIGNMENTS)
    for key, (status, bug) in expected.items():
        row = rows[key]
        assert row["status"] == status, (key, row)
        assert (float(row["score"]) == float(row["max_score"])) == (status == "ok"), row
        if bug:
            assert row["bug"] == bug, row


@pytest.mark.parametrize("student", corpus.CORPUS, ids=lambda s: s.name)
def test_flagged_exactly_when_expected(graded, student):
    _, _, flags = graded
    assert bool(flags[student.name]) == bool(student.flagged), flags[student.name]


def test_the_report_lists_every_flagged_notebook(graded):
    out, _, _ = graded
    report = (out / "report.html").read_text()
    section = report.split("<h2>Suspected tampering</h2>")[1]
    for s in corpus.ATTACKS:
        assert f"<td>{s.name}</td>" in section, s.name
    for s in corpus.HONEST:
        assert f"<td>{s.name}</td>" not in section


def test_student_code_cannot_touch_the_grader_files(graded):
    _, _, flags = graded
    assert any("solutions" in f for f in flags["reads_grader_files"])
    assert any("injected.py" in f for f in flags["writes_files"])
    assert not (ROOT / "course_lib" / "injected.py").exists()


def test_committed_corpus_is_what_the_script_makes(tmp_path):
    corpus.make(tmp_path / "c")
    assert_same_tree(tmp_path / "c", corpus.OUT, "run `python tests/cheating/corpus.py` and commit it")
