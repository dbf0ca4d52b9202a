"""Grading on a Dask cluster against the local pool, on this machine, and what 10,000 notebooks take.

python benchmarks/bench_cluster.py [--jobs 24] [--repeats 3]

The class: --jobs students, each handing in the demo's ``perfect`` 02_forward_cache (a correct
notebook, a short job: the overhead shows most there). Each configuration grades it from a fresh
copy of one workspace (the release built once):

- the local pool (``--workers k``) against a loopback cluster (`dask scheduler`, k `dask worker`
  processes of one thread each), k = 1 and 2, interleaved repeats, medians;
- the steady rate: jobs per second between the first record saved and the last, so that starting
  a pool, or connecting and checking the workers, and the last job's tail are left out; per job
  and worker, against the job's own time (``grade_notebook``, as the record's timing says), and the
  cluster's cost per job against the pool's as a ratio within one run;
- the limits: the scheduler's round trip per task (2,000 trivial ones, then 1,000 that each carry
  as many bytes as a mean grading task), what the instructor's side spends per job (its task:
  reading the file, deriving the seeds, the key) and per record (saving it), and the publishing
  per record, step by step (gradebook, feedback, CSVs, report);
- every notebook of the course graded from a warm pool (``perfect``), for the mean job of a term;
- and from these, on paper, 10,000 notebooks on N worker threads.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import results as R  # noqa: E402
from grader.cluster.loopback import Loopback  # noqa: E402
from grader.engine import Options, Summary, plan, prepare, run_local  # noqa: E402
from grader.intake.collect import collect  # noqa: E402
from grader.workspace import Course, Workspace  # noqa: E402

COURSE = Course.find(Path(__file__).resolve().parent.parent)
NOTEBOOK = COURSE.demo / "perfect" / "02_forward_cache" / "forward_cache.ipynb"


def make_class(dest: Path, n: int, offset: int = 0) -> Path:
    for i in range(offset, offset + n):
        target = dest / f"s{i:05d}" / "02_forward_cache" / "forward_cache.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy(NOTEBOOK, target)
    return dest


def base_workspace(tmp: Path, n: int) -> Workspace:
    ws = Workspace(tmp / "base").create()
    (ws.root / "secret").write_text("bench secret")
    collect(make_class(tmp / "class", n), ws, COURSE)
    prepare(ws, COURSE)
    return ws


def grade(base: Workspace, where: Path, opts: Options) -> tuple:
    """(jobs per second between the first record and the last, [each job's own seconds], [the time between
    one record and the next, less the next job's own time: with one worker, what a job costs beyond itself])."""
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(base.root, where, ignore=shutil.ignore_patterns("results"))
    ws = Workspace(where)
    jobs = plan(ws, COURSE, prepare(ws, COURSE), opts, Summary())
    own, when = [], []

    def on_record(job, record, reason):
        assert record is not None and record["status"] == "graded", reason
        R.save(ws.results, R.NotebookResult.from_json(record))
        own.append(record["timing"]["seconds"])
        when.append(time.perf_counter())

    if opts.scheduler:
        from grader.cluster import run_on_cluster

        run_on_cluster(jobs, ws, opts, on_record)
    else:
        run_local(jobs, ws, opts, on_record)
    beyond = [b - a - o for a, b, o in zip(when, when[1:], own[1:])]
    return (len(when) - 1) / (when[-1] - when[0]), own, beyond


def scheduler_round_trip(address: str, n: int = 2000, size: int = 0) -> float:
    """Seconds per task through the client, the scheduler and a worker and back: ``n`` tasks, each
    submitted on its own as the coordinator submits grading tasks, and waited for. Each carries
    ``size`` bytes of its own, as a grading task carries its spec and submission."""
    from distributed import Client, wait

    payloads = [i.to_bytes(4, "little") * (size // 4) for i in range(n)] if size else list(range(-n, 0))
    fn = len if size else abs
    with Client(address) as c:
        wait([c.submit(fn, p, pure=False) for p in payloads[:50]])    # warm
        start = time.perf_counter()
        wait([c.submit(fn, p, pure=False) for p in payloads])
        return (time.perf_counter() - start) / n


def task_bytes(ws: Workspace) -> int:
    """What a term's mean task carries: a notebook's grading spec and a submission of it (the demo's
    ``perfect``), averaged over the course's graded notebooks."""
    specs = {p.relative_to(ws.specs).with_suffix(""): p.stat().st_size for p in ws.specs.glob("*/*.json")}
    sent = [size + (COURSE.demo / "perfect" / f"{where}.ipynb").stat().st_size for where, size in specs.items()]
    return round(statistics.mean(sent))


def instructor_side(ws: Workspace) -> tuple:
    """(seconds per job to build its task, seconds per record to save it) on the instructor's side."""
    from grader.cluster.coordinator import ClusterRun

    jobs = plan(ws, COURSE, prepare(ws, COURSE), Options(force=True), Summary())

    class Future:
        def __init__(self, key):
            self.key = key

        def add_done_callback(self, fn):
            pass

    class Client:            # takes the task and sends nothing: what is left is this side's own work
        def submit(self, fn, payload, key, **kw):
            return Future(key)

    run = ClusterRun(Client(), jobs, ws, Options(scheduler="none", force=True), lambda *a: None)
    first, *rest = run.books.states.values()
    run.submit(first)                 # imports dask's tokenizer: once per run, not per job
    start = time.perf_counter()
    for st in rest:
        run.submit(st)
    per_job = (time.perf_counter() - start) / len(rest)
    records = R.load_all(ws.results)
    start = time.perf_counter()
    for r in records:
        R.save(ws.results, R.NotebookResult.from_json(json.loads(json.dumps(r.to_json()))))
    return per_job, (time.perf_counter() - start) / len(records)


def publishing(ws: Workspace, tmp: Path, sizes=(50, 400), repeats: int = 2) -> dict:
    """Seconds per record of each publishing step on the one workspace: the slope between two class
    sizes (the run's records copied under new names), medians of ``repeats``, so that fixed costs (the
    report's figures, opening the gradebook) are left out. The gradebook is written twice: as new,
    and again as every later `autograde` rewrites it. Each record has a submission in the workspace,
    taken in turn from the demo class's 02_forward_cache (right answers, catalogued bugs, stubs), so
    that the report's search for copied answers compares answers that differ."""
    from grader.publish import export, feedback, report
    from grader.publish.gradebook import record

    base = R.load_all(ws.results)
    answers = sorted(COURSE.demo.glob("*/02_forward_cache/forward_cache.ipynb"))
    cost: dict = {}
    for rep in range(repeats):
        for size in sizes:
            copy = Workspace(tmp / f"publish{size}-{rep}").create()
            shutil.copytree(ws.template, copy.template)
            records = []
            for i in range(size):
                r = R.NotebookResult.from_json(base[i % len(base)].to_json())
                r.student = f"p{i:05d}"
                records.append(r)
                target = copy.submission(r.student, r.assignment, r.notebook)
                target.parent.mkdir(parents=True)
                shutil.copy(answers[i % len(answers)], target)
            out = tmp / f"published{size}-{rep}"
            out.mkdir()
            steps = {"gradebook, new": lambda: record(copy, records),
                     "gradebook, again": lambda: record(copy, records),
                     "feedback pages": lambda: feedback.write_all(records, out / "feedback", copy.template / "release"),
                     "grades.csv and totals.csv": lambda: export.export(records, out),
                     "report (with copied answers)": lambda: report.write(records, out / "report.html", copy,
                                                                          COURSE)}
            for name, step in steps.items():
                start = time.perf_counter()
                step()
                cost.setdefault((name, size), []).append(time.perf_counter() - start)
    names = dict.fromkeys(name for name, _ in cost)
    return {name: (statistics.median(cost[(name, sizes[1])]) - statistics.median(cost[(name, sizes[0])]))
            / (sizes[1] - sizes[0]) for name in names}


def whole_course(tmp: Path) -> dict:
    """{notebook: its job's seconds} for the demo's ``perfect``, every notebook, from a warm pool: two
    copies are graded by one worker process, and the second copy's time is kept."""
    ws = Workspace(tmp / "course").create()
    (ws.root / "secret").write_text("bench secret")
    for name in ("a_first", "b_second"):
        shutil.copytree(COURSE.demo / "perfect", tmp / "perfect_twice" / name)
    collect(tmp / "perfect_twice", ws, COURSE)
    grade(ws, tmp / "course_run", Options(workers=1, progress=False))
    return {r.notebook: r.timing["seconds"] for r in R.load_all(tmp / "course_run" / "results")
            if r.student == "b_second"}


def main(argv=None):
    import os

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=24)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    n = args.jobs
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"preparing a class of {n} notebooks ...", file=sys.stderr)
        base = base_workspace(tmp, n)
        rates: dict = {}
        own: dict = {}
        beyond: dict = {}
        for k in (1, 2):
            with Loopback(tmp / f"cluster{k}", workers=k) as c:
                c.wait_for(k)
                cluster = Options(workers=k, progress=False, scheduler=c.address)
                grade(base, tmp / "warm", cluster)       # the workers' grading processes start once
                for _ in range(args.repeats):
                    for name, opts in ((f"local {k}", Options(workers=k, progress=False)), (f"cluster {k}", cluster)):
                        rate, o, b = grade(base, tmp / "run", opts)
                        rates.setdefault(name, []).append(rate)
                        own.setdefault(name, []).extend(o)
                        beyond.setdefault(name, []).extend(b)
                        print(f"  {name} worker(s): {rate:.2f} jobs/s", file=sys.stderr)
                if k == 2:
                    size = task_bytes(base)
                    trip = scheduler_round_trip(c.address)
                    trip_full = scheduler_round_trip(c.address, 1000, size)
        per_job_build, per_record_save = instructor_side(Workspace(tmp / "run"))
        steps = publishing(Workspace(tmp / "run"), tmp)
        course = whole_course(tmp)
    load = max(load, os.getloadavg()[0])

    rate = {name: statistics.median(v) for name, v in rates.items()}
    job = {name: statistics.median(v) for name, v in own.items()}
    print(f"\n{n} notebooks (perfect 02_forward_cache), medians of {args.repeats} interleaved runs "
          f"(load average up to {load:.1f} on {os.cpu_count()} cores)\n")
    print("| configuration | jobs per minute | wall per job and worker | the job's own time "
          "| beyond the job (1 worker) |")
    print("|---|---|---|---|---|")
    for name in ("local 1", "cluster 1", "local 2", "cluster 2"):
        k = int(name[-1])
        extra = f"{statistics.median(beyond[name]) * 1000:.1f} ms" if k == 1 else ""
        print(f"| {name} worker(s) | {60 * rate[name]:.0f} | {k / rate[name]:.3f} s | {job[name]:.3f} s | {extra} |")
    over = {k: statistics.median(beyond[k]) for k in ("local 1", "cluster 1")}
    print(f"\ncluster / local, wall per job, 1 worker: {rate['local 1'] / rate['cluster 1']:.2f}x; beyond the job "
          f"itself: {over['cluster 1'] * 1000:.1f} ms on the cluster, {over['local 1'] * 1000:.1f} ms in the pool "
          f"(medians over {len(beyond['cluster 1'])} jobs)")
    print(f"cluster / local, wall per job, 2 workers: {rate['local 2'] / rate['cluster 2']:.2f}x")
    print(f"2 workers / 1 worker, throughput: cluster {rate['cluster 2'] / rate['cluster 1']:.2f}x, "
          f"local {rate['local 2'] / rate['local 1']:.2f}x")
    print(f"\nscheduler round trip per task: {trip * 1000:.2f} ms ({1 / trip:.0f} tasks/s) for a trivial one, "
          f"{trip_full * 1000:.2f} ms ({1 / trip_full:.0f} tasks/s) carrying {size / 1000:.0f} kB, a mean grading "
          "task's spec and submission")
    print(f"instructor's side per job: building its task {per_job_build * 1000:.2f} ms, saving its record "
          f"{per_record_save * 1000:.2f} ms")
    publish_per_record = sum(v for k, v in steps.items() if k != "gradebook, again")
    print("publishing per record (slope from 50 to 400 records): "
          + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in steps.items())
          + f"; {publish_per_record * 1000:.1f} ms in all, the first time")
    mean_job = statistics.mean(course.values())
    print("\nevery notebook of the course (perfect, warm pool): "
          + ", ".join(f"{k} {v:.2f} s" for k, v in sorted(course.items())) + f"; mean {mean_job:.2f} s")

    # ------------------------------------------------------------------ 10,000 notebooks on paper
    overhead = max(0.0, over["cluster 1"])                            # per job, beyond the job itself
    cost = mean_job + overhead
    client = per_job_build + per_record_save                          # the instructor's process, per job
    cap = min(1 / trip_full, 1 / client)                              # jobs/s the scheduler or that process take
    publish = 10_000 * publish_per_record                             # after the grading, on one core
    print(f"\n10,000 notebooks at {cost:.2f} s per job and worker thread (a term's mean job, {mean_job:.2f} s, and "
          f"the cluster's {overhead * 1000:.0f} ms). The scheduler takes at most {1 / trip_full:.0f} such tasks/s and "
          f"the instructor's process {1 / client:.0f} jobs/s: the first limit is reached at about {cost * cap:.0f} "
          f"worker threads. Publishing ({publish_per_record * 1000:.1f} ms a record, one process, after the grading) "
          f"takes as long as the grading itself from about {cost / publish_per_record:.0f} worker threads on.")
    print("| worker threads | grading | then publishing, on the one workspace | in all |")
    print("|---|---|---|---|")
    for workers in (1, 2, 8, 16, 32, 128, 512, 2048):
        grading = 10_000 / min(workers / cost, cap)
        print(f"| {workers} | {grading / 60:.1f} min | {publish / 60:.1f} min | {(grading + publish) / 60:.1f} min |")
    print(f"(a re-run that grades nothing new rewrites the gradebook at {steps['gradebook, again'] * 1000:.1f} ms a "
          f"record: {10_000 * steps['gradebook, again'] / 60:.1f} min)")

if __name__ == "__main__":
    main()
