"""Same submission, same grade: the demo class's answers graded under 20 different workspace secrets.

The hidden cases are drawn from seeds derived from the secret, so a hidden check that only
sometimes contains the case telling right from wrong would make a grade depend on the workspace.
Every demo notebook whose verdict the hidden cases decide (the published solutions, each
catalogued bug and each mistake of the students' own) is graded here by the real grading job,
in the sandbox, under 20 secrets: every exercise's status, bug and score must be the same each
time, and the ones the demo expects.
"""
from __future__ import annotations

import concurrent.futures
import hashlib
import tempfile
from pathlib import Path

import pytest

from grader import demo
from grader.engine import prepare, run_job
from grader.workspace import Course, Workspace

COURSE = Course.find(Path(__file__).resolve().parent.parent)
SECRETS = 20
# The demo students whose verdicts come from the hidden cases (not from a crash, a file or a loop).
# (Notebooks 06 and 07's correct answers are judged on many seeds in-process, tests/checks/test_honest_seeds.py:
# their training checks cost a second a job here.)
JUDGED = ["perfect", "missing_average", "transposed", "mask_from_gradient", "bias_mean", "in_place",
          "unstable_softmax", "stale_cache", "unstable_predict", "transposed_shapes", "one_sided", "wrong_suspect",
          "tuples_and_dicts"]

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("ws")).create()
    prepare(ws, COURSE)
    return ws.specs


def _jobs() -> list:
    students = {s.name: s for s in demo.CLASS}
    out = []
    for name in JUDGED:
        for a in students[name].handed_in():
            if name == "perfect" and a not in (demo.F, demo.B):
                continue
            nb = demo.ASSIGNMENTS[a]
            out.append((name, a, nb, COURSE.demo / name / a / f"{nb}.ipynb"))
    return out


def _grade(args):
    spec_path, path, student, secret, cache = args
    record = run_job(spec_path, path, student, secret, None, {"timeout": 10.0}, cache)
    return [(e["grade_id"], e["status"], e["bug"], e["score"]) for e in record["exercises"]]


def test_every_verdict_is_the_same_under_twenty_secrets(specs):
    expected = demo.expected_rows(COURSE.layout)
    jobs = _jobs()
    keys = _secrets_list()
    with tempfile.TemporaryDirectory() as cache, concurrent.futures.ProcessPoolExecutor(2) as pool:
        work = [(str(specs / a / f"{nb}.json"), str(path), name, secret, cache)
                for secret in keys for name, a, nb, path in jobs]
        results = list(pool.map(_grade, work, chunksize=4))
    by_job: dict = {}
    for (spec_path, path, name, secret, _), verdicts in zip(work, results):
        by_job.setdefault((name, path), set()).add(tuple(verdicts))
    differing = {k: v for k, v in by_job.items() if len(v) != 1}
    assert not differing, differing
    for (name, path), (verdicts,) in by_job.items():
        assignment = Path(path).parent.name
        for grade_id, status, bug, _ in verdicts:
            assert (status, bug) == expected[(name, assignment, grade_id)], (name, grade_id, status, bug)


def _secrets_list() -> list[str]:
    """Twenty secrets of the kind a workspace makes (fixed, so that a failure can be rerun)."""
    return [hashlib.sha256(f"test_secrets/{i}".encode()).hexdigest()[:32] for i in range(SECRETS)]
