"""Autograding a class in parallel, safely.

nbgrader's sqlite gradebook breaks when two processes grade the same student, so the class is
split into batches of whole (student, assignment) submissions and each batch is graded by its
own nbgrader process in a private course folder with a private copy of the gradebook. The
results (scores, statuses, the message of each check) are read back into JSON records, one
per notebook, which feedback, export and report read. A re-run grades only submissions whose
file changed since their stored result.
"""
from __future__ import annotations

import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import kernel_sandbox
from . import results as R
from .inspect_submission import InvalidNotebook, read_submission, restore_test_cells
from .nbgrader_run import CONFIG, env
from .notebooks import is_test_cell, nbgrader_meta
from .progress import Progress
from .workspace import Course, Workspace, sha256

BUG_TAG = re.compile(r"\[bug: ([a-z_]+)\]")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Warnings go to stdout inside graded kernels: nbgrader fails any test cell that writes to stderr,
# and a correct answer that merely triggers a warning must keep its points.
WARNINGS_TO_STDOUT = ("import warnings as _w, sys as _s; "
                      "_w.showwarning = lambda m, c, f, l, file=None, line=None: _s.stdout.write(_w.formatwarning(m, c, f, l, line))")


@dataclass
class Options:
    workers: int = os.cpu_count() or 1
    timeout: int = 60            # seconds per cell, so one infinite loop costs only its own exercise
    memory_mb: int = 2048        # address-space limit of each grading process and its kernel
    force: bool = False
    assignments: list | None = None  # default: every assignment anybody submitted
    progress: bool = True
    verify: bool = True          # re-check every exercise outside the student's kernel (grader/verify.py)
    in_kernel: bool = False      # also run nbgrader's own autograde in a (sandboxed) kernel, for the
                                 # executed notebooks and one more tampering signal; about twice the time


@dataclass
class Unit:
    """One student's submission of one assignment: the notebooks to grade."""

    student: str
    assignment: str
    notebooks: list = field(default_factory=list)  # (notebook name, prepared nb, notes, sha)


@dataclass
class Summary:
    graded: int = 0
    skipped: int = 0                 # unchanged since the last run
    failures: list = field(default_factory=list)   # (student, assignment, notebook, reason): could not be graded

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def ensure_template(ws: Workspace, course: Course) -> None:
    """The gradebook and release that every batch starts from; rebuilt when solutions/ changes."""
    stamp = ws.template / "fingerprint"
    fp = course.fingerprint()
    if stamp.exists() and stamp.read_text() == fp and (ws.template / "gradebook.db").exists():
        return
    shutil.rmtree(ws.template, ignore_errors=True)
    ws.template.mkdir(parents=True)
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force", "--quiet",
           f"--NbGrader.config_file={CONFIG}", f"--CourseDirectory.root={ws.template}",
           f"--CourseDirectory.source_directory={course.source}",
           f"--CourseDirectory.release_directory={ws.template / 'release'}",
           f"--db=sqlite:///{ws.template / 'gradebook.db'}"]
    subprocess.run(cmd, check=True, env=env(), cwd=ws.template, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stamp.write_text(fp)


def plan(ws: Workspace, course: Course, opts: Options, summary: Summary) -> list[Unit]:
    """Units that need grading; missing and invalid notebooks are recorded at once."""
    students = ws.students()
    wanted = opts.assignments or [a for a in course.graded_assignments()
                                  if any((ws.submitted / s / a).exists() for s in students)]
    unknown = [a for a in wanted if a not in course.layout]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {unknown}; the course has {list(course.layout)}")
    units = []
    releases: dict = {}
    for student in students:
        for assignment in wanted:
            unit = Unit(student, assignment)
            for notebook, exercises in course.layout[assignment].items():
                if not exercises:
                    continue
                path = ws.submission(student, assignment, notebook)
                old = _stored(ws, student, assignment, notebook)
                base = dict(student=student, assignment=assignment, notebook=notebook)
                if not path.exists():
                    R.save(ws.results, R.NotebookResult(**base, status="missing", reason="the notebook was not submitted",
                                                        exercises=_zero(exercises, "missing")))
                    continue
                digest = sha256(path)
                if old and old.sha256 == digest and not opts.force:
                    summary.skipped += 1
                    if old.status == "invalid":  # still ungradable: keep saying so
                        summary.failures.append((student, assignment, notebook, old.reason))
                    continue
                try:
                    nb = read_submission(path)
                except InvalidNotebook as e:
                    R.save(ws.results, R.NotebookResult(**base, status="invalid", reason=str(e), sha256=digest,
                                                        exercises=_zero(exercises, "invalid")))
                    summary.failures.append((student, assignment, notebook, str(e)))
                    continue
                if (assignment, notebook) not in releases:  # read once, not once per student
                    releases[(assignment, notebook)] = nbformat.read(
                        ws.template / "release" / assignment / f"{notebook}.ipynb", as_version=4)
                prepared = restore_test_cells(nb, releases[(assignment, notebook)])
                unit.notebooks.append((notebook, prepared.nb, prepared.notes, digest))
            if unit.notebooks:
                units.append(unit)
    return units


def _stored(ws, student, assignment, notebook):
    p = R.result_path(ws.results, student, assignment, notebook)
    return R.NotebookResult.from_json(json.loads(p.read_text())) if p.exists() else None


def _zero(exercises, status):
    return [R.ExerciseResult(e.grade_id, 0.0, e.points, status) for e in exercises]


def _limit_memory(mb: int):
    def apply():
        limit = mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.setsid()  # its own process group, so that a stuck batch can be killed whole
    return apply


def _job_config(job: Path, ws: Workspace, course: Course, opts: Options) -> Path:
    cfg = job / "nbgrader_config.py"
    cfg.write_text(
        f"c = get_config()\nload_subconfig({str(CONFIG) + '.py'!r})\n"
        f"c.CourseDirectory.root = {str(job)!r}\n"
        f"c.CourseDirectory.source_directory = {str(course.source)!r}\n"
        f"c.CourseDirectory.release_directory = {str(ws.template / 'release')!r}\n"
        "c.CourseDirectory.submitted_directory = 'submitted'\n"
        "c.CourseDirectory.autograded_directory = 'autograded'\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(job / 'gradebook.db')!r}\n"
        f"c.Execute.timeout = {int(opts.timeout)}\n"
        f"c.Execute.extra_arguments = ['--HistoryManager.hist_file=:memory:', {'--IPKernelApp.exec_lines=[' + repr(WARNINGS_TO_STDOUT) + ']'!r}]\n"
        # Student code runs in a kernel inside bubblewrap (grader/kernel_sandbox.py).
        f"c.Execute.kernel_name = {kernel_sandbox.NAME!r}\n"
    )
    kernel_sandbox.write_kernelspec(job / "share")
    return cfg


def _job_env(job: Path, ws: Workspace) -> dict:
    from .remote import hidden_paths

    e = env()
    e["JUPYTER_PATH"] = str(job / "share") + os.pathsep + e.get("JUPYTER_PATH", "")
    e["JUPYTER_RUNTIME_DIR"] = str(job / "runtime")
    e["COURSE_GRADER_HIDE"] = os.pathsep.join(str(p) for p in hidden_paths(ws.root))
    e["COURSE_GRADER_SCRATCH"] = str(job / "scratch")
    (job / "scratch").mkdir(exist_ok=True)
    return e


def check_batch(batch: list[Unit], ws: Workspace, course: Course, opts: Options, job: Path) -> list[R.NotebookResult]:
    """Grade a batch by the verified re-check alone: the course's checkers against the student's
    functions in a sandbox (grader/verify.py). The scores go into nbgrader's gradebook afterwards."""
    out = []
    for unit in batch:
        for notebook, nb, notes, digest in unit.notebooks:
            exercises = [R.ExerciseResult(e.grade_id, 0.0, e.points, "") for e in course.layout[unit.assignment][notebook]]
            result = R.NotebookResult(unit.student, unit.assignment, notebook, "graded", notes=list(notes),
                                      sha256=digest, exercises=exercises)
            out.append(_apply_verification(result, nb, ws, course, opts))
    return out


def grade_batch(batch: list[Unit], ws: Workspace, course: Course, opts: Options, job: Path) -> list[R.NotebookResult]:
    """Grade a batch of units with one nbgrader process in a private course folder."""
    shutil.rmtree(job, ignore_errors=True)
    job.mkdir(parents=True)
    shutil.copy(ws.template / "gradebook.db", job / "gradebook.db")
    for unit in batch:
        for notebook, nb, _, _ in unit.notebooks:
            dest = job / "submitted" / unit.student / unit.assignment / f"{notebook}.ipynb"
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest)
    cfg = _job_config(job, ws, course, opts)
    cells = sum(len(nb.cells) for u in batch for _, nb, _, _ in u.notebooks)
    cmd = [sys.executable, "-m", "nbgrader", "autograde", "*", f"--NbGrader.config_file={cfg.with_suffix('')}"]
    log_path = job / "nbgrader.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=job, env=_job_env(job, ws), stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_limit_memory(opts.memory_mb))
        try:
            proc.wait(timeout=opts.timeout * cells + 120)
            crashed = None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            crashed = "grading took longer than the time limit allows for the whole notebook and was stopped"
    log_text = log_path.read_text(errors="replace")
    out = []
    for unit in batch:
        for entry in unit.notebooks:
            result = _read_result(job, unit, entry, course, crashed, log_text)
            if opts.verify:
                try:
                    result = _apply_verification(result, entry[1], ws, course, opts)
                except Exception as e:  # the check itself failed: say so, never guess a score
                    result = R.NotebookResult(unit.student, unit.assignment, entry[0], "error",
                                              reason=f"grader failure while re-checking: {type(e).__name__}: {e}",
                                              sha256="", exercises=_zero(course.layout[unit.assignment][entry[0]], "error"))
            out.append(result)
    for unit in batch:
        src = job / "autograded" / unit.student / unit.assignment
        if src.exists():
            dest = ws.autograded / unit.student / unit.assignment
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(src, dest)
    shutil.rmtree(job, ignore_errors=True)
    return out


def _read_result(job, unit, entry, course, crashed, log_text) -> R.NotebookResult:
    from nbgrader.api import Gradebook, MissingEntry

    notebook, _, notes, digest = entry
    exercises = course.layout[unit.assignment][notebook]
    base = dict(student=unit.student, assignment=unit.assignment, notebook=notebook, notes=list(notes), sha256=digest)
    graded_path = job / "autograded" / unit.student / unit.assignment / f"{notebook}.ipynb"
    if crashed or not graded_path.exists():
        reason = crashed or _death_reason(log_text, unit)
        return R.NotebookResult(**base, status="error", reason=reason, exercises=_zero(exercises, "error"))
    graded = nbformat.read(graded_path, as_version=4)
    cells = {nbgrader_meta(c).get("grade_id"): c for c in graded.cells if is_test_cell(c)}
    scores = {}
    with Gradebook(f"sqlite:///{job / 'gradebook.db'}") as gb:
        try:
            nb_sub = gb.find_submission_notebook(notebook, unit.assignment, unit.student)
            scores = {g.name: g.score for g in nb_sub.grades}
        except MissingEntry:
            pass
    ex_results = []
    for ex in exercises:
        cell = cells.get(ex.grade_id)
        score = float(scores.get(ex.grade_id) or 0.0)
        status, bug, message = _cell_status(cell, score, ex.points)
        ex_results.append(R.ExerciseResult(ex.grade_id, score, ex.points, status, bug, message))
    return R.NotebookResult(**base, status="graded", exercises=ex_results)


IN_KERNEL_FOOLED = ("its test passed inside the notebook, but the same function fails the same test when "
                    "the grader runs it outside the notebook: the notebook changed what its tests see")


def _apply_verification(result: R.NotebookResult, nb, ws: Workspace, course: Course, opts: Options) -> R.NotebookResult:
    """Scores from the sandboxed re-check; tampering evidence from it, from the notebook's test cells,
    and from any exercise that passed in the kernel but not outside it."""
    from .verify import verify

    source = course.sources[(result.assignment, result.notebook)]
    v = verify(nb, source, student=result.student, secret=ws.secret(), timeout=opts.timeout,
               memory_mb=opts.memory_mb, workspace_root=ws.root)
    notebook_flags = list(v.flags) + [n for n in result.notes if "test cell" in n]
    flags = list(notebook_flags)
    for ex in result.exercises:
        checked = v.exercises.get(ex.grade_id)
        if checked is None:
            continue
        passed_in_kernel = ex.status == "ok"
        if checked.passed:
            ex.score, ex.status, ex.bug, ex.message = ex.max_score, "ok", "", ""
            continue
        ex.score, ex.status, ex.bug, ex.message = 0.0, checked.status, checked.bug, checked.message
        own = list(checked.flags)
        if passed_in_kernel and not checked.fresh_seed:
            own.append(IN_KERNEL_FOOLED)
        flags += [f"{ex.grade_id}: {f}" for f in own]
        if own or notebook_flags:
            ex.status = "tampered"
    if result.status == "error" and any("ended the notebook's process" in f for f in v.flags):
        result.status, result.reason = "graded", ""  # the exercises were checked after all
    result.flags = flags
    return result


def _cell_status(cell, score, points) -> tuple[str, str, str]:
    if cell is None:
        return "error", "", "the test cell did not run"
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if any(o.get("ename") == "CellTimeoutError" for o in errors):
        return "timeout", "", "the test ran past the time limit and was stopped: is there an infinite loop?"
    if errors and errors[0].get("ename") == "NotImplementedError":
        return "error", "", "not done yet: the function still raises NotImplementedError (the stub)"
    if errors:
        e = errors[0]
        message = ANSI.sub("", f"{e.get('ename')}: {e.get('evalue')}").strip()
        m = BUG_TAG.search(message)
        # StudentCodeError: the check caught an exception raised inside the student's function.
        status = "failed" if e.get("ename") in ("CheckFailed", "AssertionError") else "error"
        return status, m.group(1) if m else "", message[:4000]
    if score >= points:
        return "ok", "", ""
    stderr = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")
    return "failed", "", ("the test cell wrote to stderr: " + stderr[:500]) if stderr else "the test did not award the points"


def _death_reason(log_text: str, unit: Unit) -> str:
    if "MemoryError" in log_text or "Cannot allocate memory" in log_text:
        return "the notebook ran out of memory and the kernel stopped"
    if "DeadKernelError" in log_text or "Kernel died" in log_text or "kernel died" in log_text.lower():
        return ("the notebook's kernel died while it ran (a call such as os._exit, or running out of memory), "
                "so the tests after that point never ran")
    return "nbgrader could not grade this notebook; the instructor's log has the details"


def autograde(ws: Workspace, opts: Options, course: Course | None = None) -> Summary:
    """Grade everything new or changed in the workspace (everything with ``force``)."""
    course = course or Course()
    summary = Summary()
    ensure_template(ws, course)
    ws.secret()  # made once here, before the worker threads read it
    units = plan(ws, course, opts, summary)
    if not units:
        return summary
    workers = max(1, opts.workers)
    if opts.in_kernel or not opts.verify:
        size = max(1, min(8, math.ceil(len(units) / (workers * 3))))  # amortise nbgrader's start-up, keep the bar moving
        run = grade_batch
    else:
        size, run = 1, check_batch
    batches = [units[i:i + size] for i in range(0, len(units), size)]
    bar = Progress(sum(len(u.notebooks) for u in units), "grading", enabled=opts.progress)
    with ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(run, b, ws, course, opts, ws.jobs / f"batch{i}"): b for i, b in enumerate(batches)}
        for fut in as_completed(futures):
            try:
                batch_results = fut.result()
            except Exception as e:  # the grader itself failed for this batch: the others go on
                batch_results = [R.NotebookResult(u.student, u.assignment, n, "error", reason=f"grader failure: {e}",
                                                  sha256="", exercises=_zero(course.layout[u.assignment][n], "error"))
                                 for u in futures[fut] for n, *_ in u.notebooks]
            for r in batch_results:
                R.save(ws.results, r)
                summary.graded += 1
                if r.status == "error" and r.reason.startswith("grader failure"):
                    summary.failures.append((r.student, r.assignment, r.notebook, r.reason))
            bar.advance(len(batch_results))
    bar.close()
    shutil.rmtree(ws.jobs, ignore_errors=True)
    from .gradebook import record

    record(ws, R.load_all(ws.results))
    return summary
