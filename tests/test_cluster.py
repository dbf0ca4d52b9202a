"""Grading on a Dask cluster: a real scheduler and two workers, each its own process group on
loopback (`dask scheduler`, `dask worker` from this environment), against a local run of the same
class with the same workspace secret.

The class is the demo class's notebooks 02_forward_cache and 03_backward (every kind of
submission the demo has: catalogued bugs, blank, an infinite loop, a killed kernel, edited and
deleted test cells, unreadable files), not all seven: grading the whole class twice would take
most of the time this file may use. The cluster's workspaces reuse the release the local run built
(nbgrader's generate_assignment, a deterministic function of solutions/), which saves ~10-25 s each.
"""
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.cluster.books import Books
from grader.cluster.coordinator import ClusterRun
from grader.cluster.loopback import Loopback
from grader.cluster.task import TOPIC, GradingProcess, _refusal, course_fingerprint
from grader.job import Seeds
from grader.workspace import Course

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.find(ROOT)
SECRET = "one secret, two workspaces"
SUBSET = ["--assignment", "02_forward_cache", "--assignment", "03_backward"]
COMMON = ["--timeout", "6", "--no-progress"]

pytestmark = pytest.mark.notebooks


# ---------------------------------------------------------------------------------- helpers
def _grade(root: Path, *extra, submissions=None, popen=False, log=None, env=None):
    target = [str(submissions)] if submissions else ["--demo"]
    cmd = [sys.executable, "-m", "grader", "grade", *target, "--out", str(root), "--workspace", str(root / "work"),
           *COMMON, *extra]
    env = {**os.environ, **(env or {})}
    if popen:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def _workspace(root: Path, reference: Path) -> Path:
    """A workspace with the reference's secret and the release its run built."""
    ws = root / "work"
    ws.mkdir(parents=True)
    (ws / "secret").write_text(SECRET)
    shutil.copytree(reference / "work" / "template", ws / "template")
    return ws


def _records(ws: Path) -> dict:
    """{(student, assignment, notebook): record} for every notebook that went through a grading job."""
    out = {}
    for p in (ws / "results").glob("*/*/*.json"):
        r = json.loads(p.read_text())
        if r["status"] != "missing":
            r.pop("timing")
            out[(r["student"], r["assignment"], r["notebook"])] = r
    return out


# What the workspace adds to a record after grading, from the submission's folder and the gradebook
# (grader/publish/gradebook.py: LMS origin, timestamps, lateness): no job computes these, and a run
# that is interrupted never gets that far.
FILLED_IN_AFTER_GRADING = ("lms", "lms_id", "lms_file", "lms_late", "submitted_at", "due", "seconds_late", "late",
                           "late_penalty")


def _as_graded(record: dict) -> dict:
    """``record`` as its grading job made it, before the workspace filled in its lateness and origin."""
    from grader.results import NotebookResult

    blank = NotebookResult("", "", "", "graded").to_json()
    return {**record, **{k: blank[k] for k in FILLED_IN_AFTER_GRADING}}


def _wait(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Loopback(tmp_path_factory.mktemp("cluster"))   # starts while the reference run grades
    yield c
    c.close()


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    """A cluster whose one worker cannot find bubblewrap (started early too)."""
    c = Loopback(tmp_path_factory.mktemp("bare"), workers=1, env={"COURSE_GRADER_BWRAP": "no-such-bwrap"})
    yield c
    c.close()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("local")
    (root / "work").mkdir()
    (root / "work" / "secret").write_text(SECRET)
    run = _grade(root, *SUBSET)
    assert run.returncode == 1, run.stderr[-3000:]    # the demo's three unreadable files; everything else graded
    return root


# ------------------------------------------------------------------------------ end to end
def test_the_cluster_grades_like_the_local_pool_through_a_lost_worker_and_an_interruption(cluster, bare, reference,
                                                                                            tmp_path):
    from distributed import Client

    expected = _records(reference / "work")
    cluster.wait_for(2)
    root = tmp_path / "cluster"
    ws = _workspace(root, reference)
    starts: queue.Queue = queue.Queue()
    log_path = root / "first.log"
    with Client(cluster.address, timeout="30s") as watcher, open(log_path, "w") as log:
        watcher.subscribe_topic(TOPIC, lambda event: starts.put(event[1]))
        first = _grade(root, *SUBSET, "--scheduler", cluster.address, popen=True, log=log)
        try:
            for _ in range(4):                      # a few jobs in, one that has just started...
                started = starts.get(timeout=180)
            time.sleep(0.3)
            os.kill(started["pid"], signal.SIGKILL)  # ...loses its worker process mid-job
            _wait(lambda: "its worker was lost mid-run; Dask runs it again" in log_path.read_text()
                  and len(_records(ws)) >= len(expected) // 2, 240, "the lost job's rerun and half of the records")
            first.send_signal(signal.SIGTERM)        # then the instructor's run is interrupted
            first.wait(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
    assert first.returncode != 0, log_path.read_text()[-2000:]
    saved = _records(ws)
    assert len(expected) // 2 <= len(saved) < len(expected), "the interruption must come mid-run"
    for key, record in saved.items():                # every record saved before the interruption is right
        assert record == _as_graded(expected[key]), key

    second = _grade(root, *SUBSET, "--scheduler", cluster.address)
    assert second.returncode == 1, second.stderr[-3000:]
    missing = len(expected) - len(saved)
    assert f"graded {missing} notebooks, {len(saved)} unchanged since the last run" in second.stdout, second.stdout
    assert (root / "grades.csv").read_bytes() == (reference / "grades.csv").read_bytes()
    assert _records(ws) == expected                   # every field of every record but the timing
    assert (root / "totals.csv").read_bytes() == (reference / "totals.csv").read_bytes()


def test_a_job_whose_worker_is_lost_twice_is_ungradable_and_the_rest_is_graded(cluster, reference, tmp_path):
    from distributed import Client

    cluster.wait_for(2)
    students = ("perfect", "missing_average", "blank")
    subs = tmp_path / "class"
    for s in students:
        shutil.copytree(COURSE.demo / s / "03_backward", subs / s / "03_backward")
    root = tmp_path / "out"
    _workspace(root, reference)
    victim: dict = {}

    def kill_its_worker(event):
        msg = event[1]
        victim.setdefault("key", msg["key"])
        if msg["key"] == victim["key"] and victim.get("kills", 0) < 2:
            victim["kills"] = victim.get("kills", 0) + 1
            os.kill(msg["pid"], signal.SIGKILL)

    with Client(cluster.address, timeout="30s") as watcher:
        watcher.subscribe_topic(TOPIC, kill_its_worker)
        # The instructor's machine has no bubblewrap: no student code runs there, so none is asked for.
        run = _grade(root, "--assignment", "03_backward", "--scheduler", cluster.address, submissions=subs,
                     env={"COURSE_GRADER_BWRAP": "no-such-bwrap"})
    assert victim.get("kills") == 2
    assert run.returncode == 1 and "1 notebook(s) could not be graded" in run.stderr, run.stderr[-3000:]
    assert "was lost mid-run; then its worker" in run.stderr
    got = _records(root / "work")
    lost = [k for k, r in got.items() if r["status"] == "ungradable"]
    assert len(lost) == 1 and "lost mid-run" in got[lost[0]]["reason"], got
    expected = _records(reference / "work")
    for key in set(got) - set(lost):                  # the rest goes on, graded exactly as locally
        assert got[key] == expected[key], key
    assert len(got) == len(students)
    cluster.wait_for(2)                                # the nannies brought both workers back


def test_a_worker_that_cannot_sandbox_refuses_with_the_reason(bare, reference, tmp_path):
    bare.wait_for(1)
    subs = tmp_path / "class"
    shutil.copytree(COURSE.demo / "perfect" / "02_forward_cache", subs / "perfect" / "02_forward_cache")
    root = tmp_path / "out"
    _workspace(root, reference)
    run = _grade(root, "--assignment", "02_forward_cache", "--scheduler", bare.address, submissions=subs)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "cannot sandbox student code: bubblewrap (bwrap) is not installed" in run.stderr   # said at the start
    record = json.loads((root / "work" / "results" / "perfect" / "02_forward_cache" / "forward_cache.json").read_text())
    assert record["status"] == "ungradable"
    assert "cannot sandbox student code" in record["reason"] and "(twice)" in record["reason"], record["reason"]


def test_a_client_made_by_the_caller_is_used_and_left_open(bare, reference, tmp_path):
    """From Python (a Dask Gateway's ``cluster.get_client()``): the same run, on the caller's client."""
    from distributed import Client

    from grader.engine import Options, autograde
    from grader.intake.collect import collect
    from grader.workspace import Workspace

    bare.wait_for(1)
    subs = tmp_path / "class"
    shutil.copytree(COURSE.demo / "blank" / "02_forward_cache", subs / "blank" / "02_forward_cache")
    ws = Workspace(_workspace(tmp_path / "out", reference))
    collect(subs, ws, COURSE)
    with Client(bare.address, timeout="30s") as client:
        summary = autograde(ws, Options(scheduler=client, progress=False), COURSE)
        assert client.status == "running"
    assert [f[:3] for f in summary.failures] == [("blank", "02_forward_cache", "forward_cache")]
    assert "cannot sandbox student code" in summary.failures[0][3]


# ----------------------------------------------------------------------------- the pieces
def test_what_a_task_carries_has_the_jobs_seeds_but_neither_the_secret_nor_the_student(reference, monkeypatch):
    import pickle

    from grader.engine import Options, plan, prepare, Summary
    from grader.workspace import Workspace

    ws = Workspace(reference / "work")
    specs = prepare(ws, COURSE)
    jobs = plan(ws, COURSE, specs, Options(force=True, assignments=["03_backward"]), Summary())
    sent = []

    class FakeFuture:
        def __init__(self, key):
            self.key = key

        def add_done_callback(self, fn):
            pass

    class FakeClient:
        def submit(self, fn, payload, key, **kw):
            sent.append((key, payload))
            return FakeFuture(key)

    monkeypatch.setenv("COURSE_GRADER_ISOLATION", "bwrap")      # as --isolation bwrap sets it
    run = ClusterRun(FakeClient(), jobs, ws, Options(scheduler="tcp://nowhere:8786"), lambda *a: None)
    for st in run.books.states.values():
        run.submit(st)
    assert len(sent) == len(jobs) > 5
    for (key, payload), job in zip(sent, jobs):
        blob = pickle.dumps(payload)
        assert SECRET.encode() not in blob and job.student.encode() not in blob and job.student not in key
        spec = specs[(job.assignment, job.notebook)]
        assert payload["derived"] == Seeds(SECRET, job.student).for_spec(spec) and payload["derived"]
        assert payload["data"] == Path(job.path).read_bytes() and payload["fingerprint"] == course_fingerprint()
        assert payload["isolation"] == "bwrap"   # the instructor's choice: a worker's environment is its own
    assert len({p["student"] for _, p in sent}) == len(sent)  # a pseudonym per job


def test_books_record_each_job_once_and_give_up_on_the_second_failure():
    from grader.engine import Job

    a, b, c = (Job(s, "03_backward", "backward", "", "", 6) for s in "abc")
    books = Books([a, b, c])
    sa, sb, sc = (books.states[j.key] for j in (a, b, c))
    for st, key in ((sa, "ka"), (sb, "kb"), (sc, "kc")):
        books.issue(st, key)
    assert books.settle("ka") is sa and books.settle("ka") is None      # a record arriving twice counts once
    assert books.started("ka", "w1") == ""                              # nor does a run after it
    assert books.failed("kb", "the grading job's process died") == "retry"
    books.issue(sb, "kb2")
    assert books.failed("kb", "stale") == ""                            # an old attempt's answer is ignored
    assert books.failed("kb2", "the grading job's process died") == "the grading job's process died (twice)"
    assert books.started("kc", "tcp://w1") == "" and books.started("kc", "tcp://w2") == ""   # lost once: rerun
    assert books.started("kc", "tcp://w1") == ("its worker tcp://w1 was lost mid-run; then its worker tcp://w2 was "
                                               "lost mid-run")
    assert books.left == 2 and books.settle("kc") is sc and books.left == 1


def test_a_worker_with_another_course_version_refuses():
    payload = {"fingerprint": "0" * 16, "options": {"unsafe": True}}
    assert "another version of the course installed" in _refusal(payload)
    assert _refusal({"fingerprint": course_fingerprint(), "options": {"unsafe": True}}) == ""


def test_a_worker_judges_its_sandbox_by_the_isolation_the_task_carries(monkeypatch):
    monkeypatch.setenv("COURSE_GRADER_ISOLATION", "no-such-isolation")   # the worker's own environment: ignored
    task = {"fingerprint": course_fingerprint(), "options": {"unsafe": False}}
    assert _refusal({**task, "isolation": "bwrap"}) == ""                 # this machine has bubblewrap
    refused = _refusal({**task, "isolation": "no-such-choice"})
    assert "cannot sandbox student code: unknown isolation 'no-such-choice'" in refused, refused


def test_the_grading_process_reports_its_own_death_and_its_watchdog(reference):
    spec = (reference / "work" / "template" / "specs" / "03_backward" / "backward.json").read_text()
    data = (COURSE.demo / "infinite_loop" / "03_backward" / "backward.ipynb").read_bytes()
    from grader.spec import NotebookSpec

    derived = Seeds(SECRET, "x").for_spec(NotebookSpec.from_json(json.loads(spec)))
    import base64
    import tempfile

    request = {"spec": spec, "data": base64.b64encode(data).decode(), "student": "x", "derived": derived,
               "options": {"timeout": 6.0, "memory_mb": 2048, "unsafe": False},
               "cache": str(Path(tempfile.gettempdir()) / f"course-grader-cache-{os.getuid()}")}
    proc = GradingProcess()
    assert proc.start() == ""
    reply = proc.run(request, watchdog=2, cancelled=lambda: False)
    assert reply == {"failed": "the grading job ran past its watchdog (2 s) and was stopped"} and not proc.alive

    proc = GradingProcess()
    assert proc.start() == ""
    threading.Timer(1.0, lambda: os.kill(proc.proc.pid, signal.SIGKILL)).start()
    reply = proc.run(request, watchdog=120, cancelled=lambda: False)
    assert reply == {"failed": "the grading job's process died (killed by signal SIGKILL)"}
