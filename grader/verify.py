"""Verified grading: every exercise re-checked outside the student's kernel, and tampering flagged.

nbgrader runs the hidden tests in the student's own kernel, after the student's code, so that code
can change what the tests see (patch numpy.allclose, return an object equal to anything, replace
IPython's traceback display...). Here the student's cells run in a sandbox (grader/remote.py) and
each test cell's checker calls run in the grader's process against proxies of the student's
functions: a score depends only on what those functions return for the grader's inputs, compared
by code the student's code cannot reach. The hidden tests' seeds are replaced by seeds derived from
a secret of the workspace, so answers hard-coded for the seeds published in solutions/ fail.
"""
from __future__ import annotations

import ast
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from course_lib import checks
from course_lib.checks.core import silenced

from .notebooks import is_test_cell, nbgrader_meta
from .remote import CallTimeout, RemoteError, Sandbox, SandboxDied, hidden_paths, sandbox_available

MAX_RESTARTS = 4


@dataclass
class CheckCall:
    checker: str
    target: str
    kwargs: dict


@dataclass
class Verified:
    passed: bool
    status: str          # ok, failed, error, timeout
    bug: str = ""
    message: str = ""
    flags: list = field(default_factory=list)
    fresh_seed: bool = False  # failed only on a seed of the workspace's own, not on the published ones


@dataclass
class NotebookVerification:
    exercises: dict                                   # grade_id -> Verified
    flags: list = field(default_factory=list)         # notebook-level tampering evidence


def parse_test_cell(source: str) -> list[CheckCall]:
    """The checker calls of a test cell: each statement must be `checks.check_x(name, k=literal, ...)`."""
    calls = []
    for statement in ast.parse(source).body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.func.value.id == "checks"
                and len(call.args) == 1 and isinstance(call.args[0], ast.Name)):
            raise ValueError(f"not a checker call: {ast.unparse(statement)}")
        calls.append(CheckCall(call.func.attr, call.args[0].id,
                               {k.arg: ast.literal_eval(k.value) for k in call.keywords}))
    return calls


def banned_references(calls: list[CheckCall]) -> list[str]:
    return sorted({name for c in calls for name in checks.REFERENCES.get(c.checker, [])})


def derived_seed(secret: str, *parts) -> int:
    digest = hashlib.sha256("\x1f".join([secret, *map(str, parts)]).encode()).digest()
    return int.from_bytes(digest[:4], "little")


def student_cells(nb) -> list[tuple[int, str]]:
    """The code the student wrote or was given: every code cell except the test cells."""
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not is_test_cell(c)]


def verify(nb, source_nb, *, student: str, secret: str, timeout: int, memory_mb: int,
           workspace_root: Path | None) -> NotebookVerification:
    """Check every exercise of ``nb`` (the student's notebook, test cells restored) as the test
    cells of ``source_nb`` (the instructor's notebook, hidden tests included) describe."""
    tests = [(nbgrader_meta(c)["grade_id"], parse_test_cell(c.source)) for c in source_nb.cells if is_test_cell(c)]
    banned = banned_references([call for _, cs in tests for call in cs])
    cells = student_cells(nb)
    flags: list = []
    results: dict = {}
    skipped: set = set()
    sandbox = None
    with tempfile.TemporaryDirectory(prefix="verify-") as scratch:

        def start():
            nonlocal sandbox
            for _ in range(MAX_RESTARTS + 1):
                try:
                    sandbox = Sandbox([c for c in cells if c[0] not in skipped], banned, timeout, memory_mb,
                                      hide=hidden_paths(workspace_root), scratch=Path(scratch) / f"run{len(skipped)}",
                                      use_bwrap=sandbox_available())
                    # A cell that ran out of time will again after a restart: skip it then.
                    skipped.update(run[0] for run in sandbox.cells_run if run[1] == "TimeoutError")
                    return
                except SandboxDied as died:
                    if died.cell is None or died.cell in skipped:
                        raise
                    skipped.add(died.cell)
                    flags.append(f"cell {died.cell} ended the notebook's process ({died}); "
                                 "it was skipped so that the exercises could still be checked")
            raise SandboxDied("the notebook kept ending its own process")

        try:
            start()
            patched = sorted({name for run in sandbox.cells_run for name in run[2]})
            if patched:
                flags.append("student code replaced " + ", ".join(patched))
            access = sorted({a for run in sandbox.cells_run for a in run[4]})
            if access:
                flags.append("student code tried to reach the grader's files: " + "; ".join(access[:10]))
            events = sorted({e for run in sandbox.cells_run for e in run[3]})
            if events:
                flags.append("student code tampered with IPython's error reporting: " + "; ".join(events))
            for grade_id, calls in tests:
                results[grade_id] = _run_exercise(sandbox, calls, secret, student, grade_id)
                if sandbox.proc.poll() is not None:  # killed after a time-out, or it ended itself
                    sandbox.close()
                    if results[grade_id].status != "timeout":
                        results[grade_id].flags.append("the student's process ended itself during the check")
                    start()
        except SandboxDied as died:
            for grade_id, _ in tests:
                results.setdefault(grade_id, Verified(False, "error", message=str(died)))
        finally:
            if sandbox is not None:
                sandbox.close()
    return NotebookVerification(results, flags)


def _runs(calls: list[CheckCall], secret: str, student: str, grade_id: str):
    """Each call as written (the seeds nbgrader used in the notebook), then each hidden call again
    with a seed of this workspace's own, which no published answer can anticipate."""
    for call in calls:
        yield call, dict(call.kwargs), False
    for i, call in enumerate(calls):
        if call.kwargs.get("hidden"):
            yield call, {**call.kwargs, "seed": derived_seed(secret, student, grade_id, i)}, True


def _run_exercise(sandbox: Sandbox, calls: list[CheckCall], secret: str, student: str, grade_id: str) -> Verified:
    before = len(sandbox.flags)
    for call, kwargs, fresh_seed in _runs(calls, secret, student, grade_id):
        checker = getattr(checks, call.checker, None)
        if checker is None:
            return Verified(False, "error", message=f"the course has no checker {call.checker}")
        sandbox.banned_now = checks.REFERENCES.get(call.checker, [])
        try:
            target = sandbox.get(call.target)
            with silenced():
                checker(target, **kwargs)
        except checks.CheckFailed as failure:
            status = "error" if type(failure).__name__ == "StudentCodeError" else "failed"
            return _with_flags(sandbox, before, Verified(False, status, failure.bug or "", str(failure),
                                                         fresh_seed=fresh_seed))
        except NameError as missing:
            return Verified(False, "error", message=f"{missing}: define it in its exercise cell")
        except RemoteError as raised:
            if raised.type_name == "NotImplementedError":
                return Verified(False, "error", message="not done yet: the function still raises NotImplementedError (the stub)")
            return _with_flags(sandbox, before, Verified(False, "error", message=f"{raised}"))
        except CallTimeout:
            return Verified(False, "timeout", message="the test ran past the time limit and was stopped: is there an infinite loop?")
        except SandboxDied as died:
            return _with_flags(sandbox, before, Verified(False, "error", message=f"{died}: the student's process ended"))
        except Exception as bad:  # the checker met something it cannot handle (a proxy where it wanted data...)
            return _with_flags(sandbox, before, Verified(False, "failed", message=f"{type(bad).__name__}: {bad}"))
    return _with_flags(sandbox, before, Verified(True, "ok"))


def _with_flags(sandbox: Sandbox, before: int, result: Verified) -> Verified:
    result.flags += sandbox.flags[before:]
    return result
