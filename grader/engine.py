"""Grading a class: plan one job per submitted notebook, run the jobs in worker processes, keep
every record as it arrives.

Each job (grader/job.py) runs in a worker process of its own pool, single-threaded, with numpy's
thread pools at one thread: no student-facing work ever runs in a thread of this process. A job
that hangs is killed by its watchdog, one that crashes its worker is retried once on a fresh
worker, and one that fails twice is recorded as ungradable with the reason; the rest go on. A
re-run grades only what is new, changed, or not yet graded by this version of the grader.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import results as R
from . import spec as S
from .job import EXERCISE_BUDGET, JobOptions, Seeds
from .progress import Progress
from .workspace import Course, Workspace, sha256

# numpy in the workers computes with one thread: two threads of OpenBLAS in one process, or a
# fork beside them, is how the old grader froze.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}


@dataclass
class Options:
    workers: int = os.cpu_count() or 1
    timeout: int = 60            # seconds a cell or a checked call may run
    memory_mb: int = 2048        # memory limit of each student process
    force: bool = False
    assignments: list | None = None  # default: every assignment anybody submitted
    progress: bool = True
    unsafe: bool = False         # --unsafe-no-sandbox
    scheduler: object = None      # a Dask scheduler's address (grade on that cluster), or a distributed.Client
    gradebook: str | None = None  # --gradebook: the nbgrader gradebook to write the scores into
    due: dict | None = None       # --due: {assignment: due date in UTC}, set in that gradebook
    late_penalty: str | None = None  # --late-penalty: "none" or "zero" (default: as the last run, else none)

    def job_options(self) -> JobOptions:
        return JobOptions(timeout=float(self.timeout), memory_mb=self.memory_mb, unsafe=self.unsafe)


@dataclass
class Job:
    """One submitted notebook to grade."""

    student: str
    assignment: str
    notebook: str
    path: str
    sha256: str
    exercises: int

    @property
    def key(self) -> tuple:
        return (self.student, self.assignment, self.notebook)


@dataclass
class Summary:
    graded: int = 0
    skipped: int = 0                 # unchanged since the last run
    late: list = field(default_factory=list)        # records of late submissions (grader/lateness.py)
    penalty: str = "none"            # the late penalty method applied
    failures: list = field(default_factory=list)   # (student, assignment, notebook, reason): could not be graded

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


# -------------------------------------------------------------------------------- preparing
def is_released(ws: Workspace, fingerprint: str) -> bool:
    """Whether the workspace holds the release, gradebook template and specs of the solutions whose
    Course.fingerprint() this is."""
    stamp = ws.template / "fingerprint"
    return stamp.exists() and stamp.read_text() == fingerprint and (ws.template / "gradebook.db").exists() \
        and ws.specs.exists()


def prepare(ws: Workspace, course: Course) -> dict:
    """nbgrader's release of the course and its gradebook template in the workspace, and one grading
    spec per notebook: rebuilt only when solutions/ changed. Returns {(assignment, notebook): spec}."""
    fp = course.fingerprint()
    if not is_released(ws, fp):
        shutil.rmtree(ws.template, ignore_errors=True)
        ws.template.mkdir(parents=True)
        run = course.nbgrader("generate_assignment", "*", "--force", "--quiet",
                              f"--CourseDirectory.release_directory={ws.template / 'release'}",
                              f"--db=sqlite:///{ws.template / 'gradebook.db'}", check=False, capture=True,
                              workspace=ws.template)
        if run.returncode != 0:
            raise SystemExit(f"course-grader: nbgrader could not release the course:\n{run.stdout[-3000:]}")
        for (assignment, notebook), source in course.sources.items():
            if not course.layout[assignment][notebook]:
                continue   # nothing graded in it (the explorer)
            released = nbformat.read(ws.template / "release" / assignment / f"{notebook}.ipynb", as_version=4)
            S.save(S.build(source, released, assignment, notebook), ws.specs)
        (ws.template / "fingerprint").write_text(fp)
    return S.load_all(ws.specs)


def _stored(ws, key):
    p = R.result_path(ws.results, *key)
    try:
        return R.load(p) if p.exists() else None
    except Exception:  # noqa: BLE001  (damaged or written by an older grader: grade again)
        return None


def plan(ws: Workspace, course: Course, specs: dict, opts: Options, summary: Summary) -> list[Job]:
    """The jobs to run; missing notebooks are recorded at once, unchanged ones skipped."""
    students = ws.students()
    wanted = opts.assignments or [a for a in course.graded_assignments()
                                  if any((ws.submitted / s / a).exists() for s in students)]
    unknown = [a for a in wanted if a not in course.layout]
    if unknown:
        raise SystemExit(f"unknown assignment(s) {unknown}; the course has {list(course.layout)}")
    jobs = []
    for student in students:
        for assignment in wanted:
            for notebook, exercises in course.layout[assignment].items():
                if not exercises:
                    continue
                key = (student, assignment, notebook)
                path = ws.submission(*key)
                if not path.exists():
                    R.save(ws.results, R.NotebookResult(student, assignment, notebook, "missing",
                                                        reason="the notebook was not submitted",
                                                        exercises=[R.ExerciseResult(e.grade_id, 0.0, e.points, "missing")
                                                                   for e in exercises]))
                    continue
                digest = sha256(path)
                old = _stored(ws, key)
                if old and old.sha256 == digest and old.status != "ungradable" and not opts.force:
                    summary.skipped += 1
                    if old.status == "invalid":  # still ungradable: keep saying so
                        summary.failures.append((*key, old.reason))
                    continue
                jobs.append(Job(student, assignment, notebook, str(path), digest, len(exercises)))
    return jobs


# ------------------------------------------------------------------------------------ running
_SPECS: dict = {}


def run_job(spec_path: str, submission: str, student: str, secret: str | None, derived: dict | None,
            options: dict, cache: str) -> dict:
    """One job in a worker process: the record as JSON (a plain dict travels between processes)."""
    from .job import grade_notebook

    mtime = os.path.getmtime(spec_path)
    cached = _SPECS.get(spec_path)
    if cached is None or cached[0] != mtime:
        cached = (mtime, S.NotebookSpec.from_json(json.loads(Path(spec_path).read_text())))
        _SPECS[spec_path] = cached
    data = Path(submission).read_bytes()
    record = grade_notebook(cached[1], data, student, Seeds(secret, student, derived), JobOptions(**options),
                            Path(cache))
    return record.to_json()


def watchdog(job: Job, opts: Options) -> float:
    """How long one job may take before it is killed: every exercise's budget, replays, and a margin."""
    return job_seconds(job.exercises, opts.timeout)


def job_seconds(exercises: int, timeout: float) -> float:
    """The watchdog of a job grading a notebook of ``exercises`` exercises with this call time limit."""
    return (EXERCISE_BUDGET * exercises + 8) * timeout + 60


def _worker_init(memory_mb: int, cache: str, unsafe: bool) -> None:
    import resource

    limit = (memory_mb + 2048) << 20   # the grader's own memory: bounded too
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _warm_up(Path(cache), unsafe)


def _warm_up(cache: Path, unsafe: bool) -> None:
    """What a worker's first job would do before anything of its own: probe the sandbox, build the
    sandbox's copy of course_lib, start this process's zygote. Done as the worker starts, so that it
    overlaps what the grading process does meanwhile. Whatever fails here fails again in the first job,
    which reports it as a grading job does: here it is only left undone."""
    from .job import sandbox_status
    from .sandbox import facade, launch

    try:
        status = sandbox_status(unsafe)
        if not status.ok:
            return
        folder = facade.build(cache)
        if status.kind == "bwrap" and launch.zygote_enabled() and launch.zygote_usable():
            launch.zygote_for(folder)
    except Exception:  # noqa: BLE001  (see the docstring: the first job meets it and says so)
        return


def _pool(opts: Options, cache: Path):
    import multiprocessing

    import pebble

    os.environ.update(SINGLE_THREADED)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["grader", "numpy", "nbformat", "course_lib", "course_lib.checks", "grader.job"])
    return pebble.ProcessPool(max_workers=max(1, opts.workers), context=ctx, initializer=_worker_init,
                              initargs=(opts.memory_mb, str(cache), opts.unsafe))


def start_pool(opts: Options, cache: Path):
    """The local pool, its workers started at once: each readies its sandbox (see _warm_up) while this
    process goes on (nbgrader's release of a fresh workspace takes about 8 s of one core)."""
    pool = _pool(opts, cache)
    pool.schedule(_nothing)   # a pool starts its workers with its first task
    return pool


def _nothing() -> None:
    return None


def run_local(jobs: list[Job], ws: Workspace, opts: Options, on_record, pool=None) -> None:
    """Run ``jobs`` on this machine (in ``pool``, from start_pool, if given); ``on_record(job,
    record_or_None, reason)`` as each one ends."""
    import concurrent.futures

    from pebble import ProcessExpired

    secret = ws.secret()
    options = asdict(opts.job_options())
    pool = pool or _pool(opts, ws.cache)
    attempts: dict = {}
    try:
        def submit(job):
            attempts[job.key] = attempts.get(job.key, 0) + 1
            spec_path = str(ws.specs / job.assignment / f"{job.notebook}.json")
            fut = pool.schedule(run_job, args=(spec_path, job.path, job.student, secret, None, options, str(ws.cache)),
                                timeout=watchdog(job, opts))
            fut.job = job
            return fut

        pending = {submit(j) for j in jobs}
        while pending:
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for fut in done:
                job = fut.job
                try:
                    record = fut.result()
                    on_record(job, record, "")
                    continue
                except concurrent.futures.TimeoutError:
                    reason = f"the grading job ran past its watchdog ({watchdog(job, opts):.0f} s) and was stopped"
                except ProcessExpired as e:
                    reason = f"the grading job's process died ({e})"
                except Exception as e:  # noqa: BLE001  (a fault of the grader: reported, never the student's)
                    reason = f"the grader failed: {type(e).__name__}: {e}"
                if attempts[job.key] < 2:
                    pending.add(submit(job))
                else:
                    on_record(job, None, reason + " (twice)")
    finally:
        pool.close()
        pool.join(timeout=30)


def autograde(ws: Workspace, opts: Options, course: Course) -> Summary:
    """Grade everything new or changed in the workspace (everything with ``force``)."""
    summary = Summary()
    # A release to make (a fresh workspace, or changed solutions) is slow and uses one core: the local
    # workers start meanwhile. With nothing to release the pool starts only if there are jobs.
    pool = start_pool(opts, ws.cache) if not opts.scheduler and not is_released(ws, course.fingerprint()) else None
    try:
        specs = prepare(ws, course)
        ws.secret()
        jobs = plan(ws, course, specs, opts, summary)
    except BaseException:
        if pool is not None:
            pool.stop()
            pool.join(timeout=30)
        raise
    bar = Progress(len(jobs), "grading", enabled=opts.progress and bool(jobs))

    def on_record(job: Job, record: dict | None, reason: str) -> None:
        if record is None:
            spec = specs[(job.assignment, job.notebook)]
            result = R.NotebookResult(job.student, job.assignment, job.notebook, "ungradable", reason=reason,
                                      sha256="", exercises=[R.ExerciseResult(e.grade_id, 0.0, e.points, "ungradable")
                                                            for e in spec.exercises])
        else:
            result = R.NotebookResult.from_json(record)
        R.save(ws.results, result)
        summary.graded += 1
        if result.status in ("invalid", "ungradable"):
            summary.failures.append((job.student, job.assignment, job.notebook, result.reason))
        bar.advance()

    if jobs:
        if opts.scheduler:
            from .cluster import run_on_cluster

            run_on_cluster(jobs, ws, opts, on_record)
        else:
            run_local(jobs, ws, opts, on_record, pool)
            pool = None
    if pool is not None:   # started for nothing: no job
        pool.close()
        pool.join(timeout=30)
    bar.close()
    from .lateness import penalty_method
    from .publish.gradebook import record

    summary.penalty = penalty_method(ws.root, opts.late_penalty)
    records = R.load_all(ws.results)
    for result in record(ws, records, opts.gradebook, opts.due, summary.penalty):
        R.save(ws.results, result)   # its lateness or LMS origin changed
    summary.late = [r for r in records if r.late]
    return summary


def _print(*a):
    print(*a, file=sys.stderr)
