"""The instructor's side of grading on a Dask cluster: send the jobs, keep the books, save each record.

One task per submitted notebook. A task carries all its job needs, so that a worker needs the
course installed and nothing of the instructor's workspace: the notebook's grading spec (the
checker calls, hidden ones included, and the released cells), the submission's bytes, the job's
hidden seeds already derived from the workspace's secret (never the secret), and the options.
The student is named by a pseudonym; the record gets the real name back here.

The books (grader/cluster/books.py) decide what each event means for its job, once.
"""
from __future__ import annotations

import collections
import json
import queue
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .books import Books, JobState
from .task import TOPIC, course_fingerprint, grade_task, isolation, worker_facts


def _say(text: str) -> None:
    print(f"cluster: {text}", file=sys.stderr, flush=True)


def _connect(scheduler):
    """(client, whether it is ours to close). ``scheduler`` is an address, or a ``distributed.Client`` a
    caller made (from Python: a Dask Gateway cluster's ``get_client()``, with the TLS it needs)."""
    from distributed import Client

    if not isinstance(scheduler, str):
        return scheduler, False
    try:
        return Client(scheduler, timeout="20s", set_as_default=False), True
    except (OSError, TimeoutError) as e:
        raise SystemExit(f"course-grader: cannot reach the Dask scheduler at {scheduler} ({e}).\n  Start one with "
                         "`dask scheduler` and workers with `dask worker ADDRESS` (see docs/cluster.md).") from None


def preflight(client, unsafe: bool) -> set:
    """The workers that would refuse jobs, each named with the reason (jobs are kept away from them);
    those that would isolate student code with the uid fallback are named too (their records say so)."""
    facts = client.run(worker_facts, isolation(), on_error="return")
    ours = course_fingerprint()
    if not facts:
        _say("no worker has joined the scheduler yet; the jobs wait for one")
    bad = set()
    for address, f in sorted(facts.items()):
        if isinstance(f, BaseException):
            why = f"cannot run course-grader's jobs ({type(f).__name__}: {f}): is the course installed there?"
        elif f["fingerprint"] != ours:
            why = f"({f['host']}) has another version of the course installed ({f['fingerprint']}, here {ours})"
        elif not f["sandbox"] and not unsafe:
            why = f"({f['host']}) cannot sandbox student code: {f['reason']} (fix: {f['fix']})"
        else:
            if f["kind"] == "uid" and not unsafe:
                _say(f"worker {address} ({f['host']}) isolates student code with the fallback, not bubblewrap: "
                     f"{f['label']} (--isolation bwrap keeps jobs away from such workers)")
            continue
        bad.add(address)
        _say(f"worker {address} {why}; no job goes to it while others can take them")
    return bad


class ClusterRun:
    """One `autograde` on a cluster: ``run()`` returns when every job has its record."""

    def __init__(self, client, jobs: list, ws, opts, on_record, bad_workers: set = frozenset()):
        from .. import spec as S
        from ..engine import watchdog
        from ..job import Seeds

        self.client, self.ws, self.opts, self.on_record = client, ws, opts, on_record
        self.books = Books(jobs)
        self.events: queue.Queue = queue.Queue()
        self.futures: dict = {}
        secret = ws.secret()
        options = asdict(opts.job_options())
        choice = isolation()
        texts = {}
        self.payloads = {}
        for n, st in enumerate(self.books.states.values()):
            job = st.job
            where = (job.assignment, job.notebook)
            if where not in texts:
                texts[where] = (Path(ws.specs) / job.assignment / f"{job.notebook}.json").read_text()
            self.payloads[job.key] = dict(spec=texts[where], student=f"job-{n:06d}", options=options,
                                          isolation=choice, watchdog=watchdog(job, opts),
                                          fingerprint=course_fingerprint())
        specs = {where: S.NotebookSpec.from_json(json.loads(text)) for where, text in texts.items()}
        # Only this side knows the secret: each job takes the seeds of its own hidden calls.
        self._seeds = lambda job: Seeds(secret, job.student).for_spec(specs[(job.assignment, job.notebook)])
        self.bad_workers = set(bad_workers)
        self._checked = 0.0
        self._nthreads: dict = {}      # worker address -> threads, as last read

    # ------------------------------------------------------------------------- sending
    def window(self) -> int:
        """How many jobs to keep on the cluster at once: two per worker thread (a queue for each thread,
        without handing the scheduler ten thousand notebooks at once), re-read every few seconds."""
        now = time.monotonic()
        if now - self._checked > 5:
            self._checked = now
            try:
                self._nthreads = self.client.nthreads()
            except Exception:  # noqa: BLE001  (keep the last figures)
                pass
        return max(8, 2 * sum(self._nthreads.values()))

    def submit(self, st: JobState) -> None:
        from dask.base import tokenize

        job = st.job
        payload = dict(self.payloads[job.key], data=Path(job.path).read_bytes(), derived=self._seeds(job))
        # The key names no student: the same inputs give the same key (and the same record).
        token = tokenize(job.sha256, payload["spec"], payload["derived"], payload["options"], payload["isolation"],
                         st.attempt)
        key = f"course-grader-{token}"
        self.books.issue(st, key)
        workers = None
        avoid = st.avoid | self.bad_workers
        if avoid:
            workers = [w for w in self._nthreads if w not in avoid] or None
        fut = self.client.submit(grade_task, payload, key=key, workers=workers, allow_other_workers=False,
                                 retries=0)
        self.futures[key] = fut
        fut.add_done_callback(lambda f: self.events.put(("done", f)))

    # ------------------------------------------------------------------------ receiving
    def _final(self, st: JobState, reason: str) -> None:
        if self.books.settle(st.key) is not None:
            fut = self.futures.pop(st.key, None)
            if fut is not None and not fut.done():
                fut.cancel()   # its task notices within a second and stops its grading process
            self.on_record(st.job, None, reason)

    def _started(self, msg: dict) -> None:
        st = self.books.current(msg["key"])
        reason = self.books.started(msg["key"], msg["worker"])
        if st is not None and st.starts > 1:
            _say(f"{st.job.student}: {st.job.assignment}/{st.job.notebook}: its worker was lost mid-run; "
                 + (f"given up ({reason})" if reason else f"Dask runs it again on {msg['worker']}"))
        if reason:
            self._final(st, reason)

    def _outcome(self, fut, st: JobState) -> tuple:
        """(record, "", "") for a record of this job, or (None, why the run failed, the worker that refused)."""
        if fut.status == "cancelled":
            return None, "the cluster cancelled the job", ""
        if fut.status != "finished":
            exc = fut.exception()
            return None, f"{type(exc).__name__}: {exc}", ""     # KilledWorker: Dask's own limit on lost workers
        reply = fut.result()
        record = reply.get("record")
        if record is not None:
            job = st.job
            if (record.get("sha256"), record.get("assignment"), record.get("notebook")) != \
                    (job.sha256, job.assignment, job.notebook):
                return None, "the record that came back is not this notebook's", ""
            return record, "", ""
        if "refused" in reply:
            worker = reply.get("worker", "")
            if worker not in self.bad_workers:
                self.bad_workers.add(worker)
                _say(f"{reply['refused']}; no more jobs go to it while others can take them")
            return None, reply["refused"], worker
        return None, reply.get("failed") or "the task came back cancelled", ""

    def _done(self, fut) -> None:
        self.futures.pop(fut.key, None)
        st = self.books.current(fut.key)
        if st is None:
            fut.release()   # settled already: a second answer is never recorded
            return
        if fut.status == "cancelled" and self.client.status != "running":
            return          # the connection is gone: run() says so
        record, why, worker = self._outcome(fut, st)
        fut.release()
        if record is not None:
            self.books.settle(fut.key)
            record["student"] = st.job.student
            self.on_record(st.job, record, "")
            return
        verdict = self.books.failed(fut.key, why, worker)
        if verdict == "retry":
            self.submit(st)
        elif verdict:
            self._final(st, verdict)

    def run(self) -> None:
        self.client.subscribe_topic(TOPIC, lambda event: self.events.put(("start", event[1])))
        waiting = collections.deque(self.books.states.values())
        try:
            while self.books.left:
                while waiting and len(self.futures) < self.window():
                    self.submit(waiting.popleft())
                try:
                    kind, item = self.events.get(timeout=5)
                except queue.Empty:
                    if self.client.status not in ("running", "connecting"):
                        raise SystemExit(self._lost())
                    continue
                if kind == "start":
                    self._started(item)
                else:
                    self._done(item)
                if self.client.status in ("closed", "closing"):
                    raise SystemExit(self._lost())
        finally:
            if self.client.status == "running":
                if self.futures:
                    self.client.cancel(list(self.futures.values()))   # interrupted: stop this run's tasks now
                self.client.unsubscribe_topic(TOPIC)

    def _lost(self) -> str:
        left = self.books.left
        return (f"course-grader: lost the Dask scheduler at {self.opts.scheduler}; {left} notebook(s) not graded. "
                "Every record that arrived is saved: the same command grades only the rest.")


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_on_cluster(jobs: list, ws, opts, on_record) -> None:
    """Grade ``jobs`` on the Dask cluster at ``opts.scheduler``; ``on_record(job, record_or_None, reason)``
    for each, as in ``engine.run_local``."""
    import signal
    import threading

    client, ours = _connect(opts.scheduler)
    # A batch system ends a job with SIGTERM: close the client then too, so that the scheduler
    # cancels this run's tasks at once (the records saved so far stay, and a re-run grades the rest).
    previous = signal.signal(signal.SIGTERM, _interrupted) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        run = ClusterRun(client, jobs, ws, opts, on_record, preflight(client, opts.unsafe))
        try:
            run.run()
        except KeyboardInterrupt:
            raise SystemExit(f"course-grader: interrupted; {run.books.left} notebook(s) not graded yet. Every record "
                             "that arrived is saved: the same command grades only the rest.") from None
    finally:
        if ours:
            client.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
