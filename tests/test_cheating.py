"""Grading that cheating cannot fool, escape or stall: every attack in tests/cheating/ earns nothing it
did not solve, finds nothing outside the sandbox, and stops nobody else's grading; every honest
submission keeps every point and raises no flag. All graded by the real command, as root, as CI runs."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.demo import expected_rows
from grader.sandbox.launch import probe
from grader.workspace import Course

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.find(ROOT)
sys.path.insert(0, str(ROOT / "tests" / "cheating"))
import corpus  # noqa: E402
from generated import assert_same_tree  # noqa: E402

pytestmark = pytest.mark.notebooks
TIMEOUT = "10"


def _require_sandbox():
    status = probe()
    if not status.ok:
        message = f"the grader's sandbox cannot run here: {status.reason} ({status.fix})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # under CI a skip would hide that the defences went untested
        pytest.skip(message)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    _require_sandbox()
    out = tmp_path_factory.mktemp("cheating")
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(corpus.OUT), "--out", str(out),
                          "--workspace", str(out / "work"), "--timeout", TIMEOUT, "--no-progress"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(out / "grades.csv") as f:
        rows = {(r["student"], r["assignment"], r["exercise"]): r for r in csv.DictReader(f)}
    records = {(p.parts[-3], p.parts[-2]): json.loads(p.read_text()) for p in (out / "work" / "results").glob("*/*/*.json")}
    return out, rows, records, run


@pytest.mark.parametrize("student", corpus.CORPUS, ids=lambda s: s.name)
def test_scores_and_statuses(graded, student):
    _, rows, records, _ = graded
    expected = expected_rows(COURSE.layout, [student], corpus.ASSIGNMENTS)
    for key, (status, bug) in expected.items():
        if key[1] not in student.handed_in():
            continue
        row = rows[key]
        messages = [e["message"] for e in records[key[:2]]["exercises"] if e["grade_id"] == key[2]]
        assert row["status"] == status, (key, row, messages)
        assert (float(row["score"]) == float(row["max_score"])) == (status == "ok"), row
        if bug:
            assert row["bug"] == bug, row


@pytest.mark.parametrize("student", corpus.CORPUS, ids=lambda s: s.name)
def test_flagged_exactly_when_expected(graded, student):
    _, _, records, _ = graded
    for assignment in student.handed_in():
        flags = records[(student.name, assignment)]["flags"]
        assert bool(flags) == (assignment in student.flagged), (assignment, flags)


def test_no_escape_attempt_found_anything(graded):
    out, _, _, run = graded
    texts = [run.stdout, run.stderr] + [p.read_text(errors="replace") for p in out.rglob("*")
                                        if p.is_file() and p.suffix in (".csv", ".html", ".json")]
    assert not any("BREACH" in t for t in texts)


def test_nothing_was_written_outside_the_sandbox(graded):
    import course_lib

    for path in (Path("/injected"), Path(sys.prefix) / "injected", Path(course_lib.__file__).parent / "injected.py"):
        assert not path.exists(), path


def test_the_secret_never_reaches_a_student(graded):
    out, _, _, _ = graded
    secret = (out / "work" / "secret").read_text().strip()
    for page in (out / "feedback").rglob("*.html"):
        assert secret not in page.read_text(), page


def test_a_forged_message_of_1_7_gb_is_refused_not_read(graded):
    _, _, records, _ = graded
    record = records[("forges_a_huge_message", corpus.F)]
    relu = next(e for e in record["exercises"] if e["grade_id"] == "test_relu")
    assert relu["status"] == "tampered" and "could not read" in relu["message"]
    assert any("channel" in f["text"] for f in record["flags"])


def test_time_outs_cost_their_limit_once_per_exercise(graded):
    _, _, records, _ = graded
    for name, assignment in (("ignores_alarms", corpus.F), ("fork_bomb", corpus.F), ("honest_loop", corpus.B)):
        record = records[(name, assignment)]
        timeouts = sum(e["status"] == "timeout" for e in record["exercises"])
        assert timeouts == 2 and record["timing"]["seconds"] < (timeouts + 2) * float(TIMEOUT) + 30, record["timing"]


def test_the_report_lists_every_flagged_notebook_and_no_honest_one(graded):
    out, _, _, _ = graded
    report = (out / "report.html").read_text()
    section = report.split("<h2>Suspected tampering</h2>")[1].split("<h2>")[0]
    for s in corpus.CORPUS:
        assert (f"<td>{s.name}</td>" in section) == bool(s.flagged), s.name


def test_honest_work_is_never_flagged(graded):
    _, _, records, _ = graded
    for s in corpus.HONEST:
        for assignment in s.handed_in():
            assert not records[(s.name, assignment)]["flags"], (s.name, records[(s.name, assignment)]["flags"])


def test_flags_are_facts_not_accusations(graded):
    _, _, records, _ = graded
    words = ("cheat", "attempt to", "tried to fool", "dishonest")
    for record in records.values():
        for f in record["flags"]:
            assert not any(w in f["text"].lower() for w in words), f


def test_no_message_names_the_graders_internals(graded):
    _, _, records, _ = graded
    internals = ("RemoteError", "RemoteObject", "StudentFunction", "StudentObject", "proxy", "ChannelError",
                 "traceback above")
    for record in records.values():
        for e in record["exercises"]:
            assert not any(word in e["message"] for word in internals), (record["student"], e)


def test_committed_corpus_is_what_the_script_makes(tmp_path):
    corpus.make(tmp_path / "c")
    assert_same_tree(tmp_path / "c", corpus.OUT, "run `python tests/cheating/corpus.py` and commit it")


# ------------------------------------------------------------------------- without a sandbox
def _grade_one_student(tmp_path, *extra, env=None):
    src = tmp_path / "in"
    (src / "honest_perfect").mkdir(parents=True)
    nb = corpus.OUT / "honest_perfect" / corpus.F / "forward_cache.ipynb"
    (src / "honest_perfect" / "forward_cache.ipynb").write_bytes(nb.read_bytes())
    return subprocess.run([sys.executable, "-m", "grader", "grade", str(src), "--out", str(tmp_path / "out"),
                           "--workspace", str(tmp_path / "work"), "--no-progress", "--timeout", TIMEOUT, *extra],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})})


def test_without_bubblewrap_the_grader_refuses_and_says_how_to_fix_it(tmp_path):
    run = _grade_one_student(tmp_path, env={"COURSE_GRADER_BWRAP": "/nonexistent/bwrap"})
    assert run.returncode != 0
    assert "refusing to grade" in run.stderr and "apt-get install bubblewrap" in run.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_unsafe_grading_says_so_on_every_output(tmp_path):
    run = _grade_one_student(tmp_path, "--unsafe-no-sandbox", env={"COURSE_GRADER_BWRAP": "/nonexistent/bwrap"})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "unsafe-no-sandbox" in run.stderr
    page = (tmp_path / "out" / "feedback" / "honest_perfect" / corpus.F / "forward_cache.html").read_text()
    assert "without the sandbox" in page
    assert "without the sandbox" in (tmp_path / "out" / "report.html").read_text()
    record = json.loads(next((tmp_path / "work" / "results").rglob("*.json")).read_text())
    assert record["sandbox"].startswith("none") and all(e["status"] == "ok" for e in record["exercises"])


def test_the_report_lists_copied_answers(graded):
    out, _, _, _ = graded
    section = (out / "report.html").read_text().split("<h2>Answers that look copied</h2>")[1].split("<h2>")[0]
    rows = [r for r in section.split("<tr>") if "<td>" in r]
    assert any("copies_a_friend_a" in r and "copies_a_friend_b" in r for r in rows), section
    assert any("copies_reference_source" in r and "course_lib.mlp.forward" in r for r in rows), section
    # An answer written another way is never listed. (The corpus's other students hand in the
    # published solution verbatim; where more than three do, that is common code and not listed.)
    assert not [r for r in rows if "honest_style" in r], section
    common = [r for r in rows if "<code>forward</code>" in r and "the published solution" in r]
    assert not common, common
