"""What a Dask worker runs for one notebook: ``grade_task(payload) -> {"record": ...} | {"failed": ...}``.

A Dask worker runs its tasks in threads, and a grading job needs a main thread (its deadlines are
alarms) and must not take the worker down when it crashes. So the task hands the job to a grading
process of its own (grader/cluster/child.py), one per worker thread, kept warm between jobs:

- a job that kills that process, or runs past its watchdog, comes back as ``{"failed": reason}``
  and the process is replaced; the Dask worker lives on, and the instructor's side retries once;
- a worker that cannot sandbox student code (and was not told --unsafe-no-sandbox), or has
  another version of the course installed, refuses the job with the reason (``{"refused": ...}``);
- a task cancelled by the instructor's side (its run was interrupted, or the job was given up)
  stops its grading process within a second instead of grading for nobody.

Every start is announced on the event topic ``TOPIC`` with the worker's address: that is how the
instructor's side counts the runs lost with their worker (Dask reruns those by itself).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TOPIC = "course-grader-start"
_local = threading.local()


# --------------------------------------------------------------------------- what must match
@functools.lru_cache(maxsize=1)
def course_fingerprint() -> str:
    """A digest of everything a job's result depends on that lives on the worker: course_lib (its
    code and data: the checkers and the reference) and the grader's job, sandbox and intake code.
    A worker whose copy differs could grade differently, so it refuses."""
    import course_lib

    import grader

    lib = Path(course_lib.__file__).resolve().parent
    pkg = Path(grader.__file__).resolve().parent
    # What a wheel and a checkout both hold: code and data, not whatever else lies in the folder.
    files = [(lib, p) for p in sorted([*lib.rglob("*.py"), *lib.rglob("*.npz")]) if "__pycache__" not in p.parts]
    files += [(pkg, pkg / f) for f in ("job.py", "spec.py", "results.py", "notebooks.py")]
    for sub in ("intake", "sandbox"):
        files += [(pkg, p) for p in sorted((pkg / sub).rglob("*.py")) if "__pycache__" not in p.parts]
    h = hashlib.sha256()
    for root, path in files:
        h.update(f"{root.name}/{path.relative_to(root).as_posix()}".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def isolation() -> str:
    """The isolation the instructor chose (``--isolation``, which sets COURSE_GRADER_ISOLATION): a
    task carries it, because a worker's environment is its own."""
    return os.environ.get("COURSE_GRADER_ISOLATION") or "auto"


def _status(choice: str):
    from ..sandbox import launch

    return launch.select(choice)


def worker_facts(choice: str = "auto") -> dict:
    """What the instructor's side checks about each worker before it sends jobs (``client.run``)."""
    status = _status(choice)
    return {"host": socket.gethostname(), "fingerprint": course_fingerprint(), "sandbox": status.ok,
            "kind": status.kind, "label": status.label, "reason": status.reason, "fix": status.fix,
            "python": sys.version.split()[0]}


def _refusal(payload: dict) -> str:
    if payload["fingerprint"] != course_fingerprint():
        return (f"this worker has another version of the course installed (course fingerprint "
                f"{course_fingerprint()}, the instructor's is {payload['fingerprint']}): install the same "
                "version on every worker")
    if not payload["options"]["unsafe"]:
        status = _status(payload.get("isolation", "auto"))
        if not status.ok:
            return f"this worker cannot sandbox student code: {status.reason} (fix: {status.fix})"
    return ""


# --------------------------------------------------------------------------- the warm process
class GradingProcess:
    """One grading process (grader/cluster/child.py) and the job it is running."""

    def __init__(self):
        from ..engine import SINGLE_THREADED

        env = {**os.environ, **SINGLE_THREADED}
        # -P: the working folder is not put on sys.path, so nothing there can shadow the course.
        self.proc = subprocess.Popen([sys.executable, "-P", "-m", "grader.cluster.child"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, cwd=tempfile.gettempdir())
        self.buffer = b""

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def _line(self, deadline: float, cancelled) -> tuple:
        """(reply or None, why not): the next line the process writes, unless it dies, the deadline
        passes, or ``cancelled()`` turns true first."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            if cancelled():
                return None, "cancelled"
            left = deadline - time.monotonic()
            if left <= 0:
                return None, "watchdog"
            ready, _, _ = select.select([fd], [], [], min(1.0, left))
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return None, "died"
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line), ""

    def start(self, timeout: float = 300) -> str:
        """Wait for the process to be ready; '' or why it is not."""
        reply, why = self._line(time.monotonic() + timeout, lambda: False)
        return "" if reply and "ready" in reply else why or "it did not start"

    def run(self, request: dict, watchdog: float, cancelled) -> dict | None:
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            pass   # it died: the read below says how
        reply, why = self._line(time.monotonic() + watchdog, cancelled)
        if reply is not None:
            return reply
        if why == "cancelled":
            self.kill()
            return None
        if why == "watchdog":
            self.kill()
            return {"failed": f"the grading job ran past its watchdog ({watchdog:.0f} s) and was stopped"}
        self.kill()
        code = self.proc.returncode
        how = f"killed by signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
        return {"failed": f"the grading job's process died ({how})"}


def _process() -> GradingProcess | str:
    """This worker thread's grading process, started (again) when there is none alive."""
    proc = getattr(_local, "proc", None)
    if proc is None or not proc.alive:
        proc = GradingProcess()
        why = proc.start()
        if why:
            proc.kill()
            return f"the grading process could not start on this worker ({why})"
        _local.proc = proc
    return proc


# --------------------------------------------------------------------------------- the task
def _cancelled(worker, key) -> bool:
    ts = worker.state.tasks.get(key)
    return ts is None or ts.state == "cancelled"


def grade_task(payload: dict) -> dict:
    """One notebook, on a Dask worker. ``payload``: spec (its JSON text), data (the submission's
    bytes), student (a pseudonym), derived (this job's seeds), options, watchdog, fingerprint."""
    from distributed import get_worker

    worker = get_worker()
    key = worker.get_current_task()
    worker.log_event(TOPIC, {"key": key, "worker": worker.address, "pid": os.getpid()})
    where = f"worker {worker.address} ({socket.gethostname()})"
    refusal = _refusal(payload)
    if refusal:
        return {"refused": f"{where}: {refusal}", "worker": worker.address}
    proc = _process()
    if isinstance(proc, str):
        return {"failed": f"{where}: {proc}", "worker": worker.address}
    request = {"spec": payload["spec"], "data": base64.b64encode(payload["data"]).decode(),
               "student": payload["student"], "derived": payload["derived"], "options": payload["options"],
               "isolation": payload.get("isolation", "auto"),
               "cache": str(Path(tempfile.gettempdir()) / f"course-grader-cache-{os.getuid()}")}
    reply = proc.run(request, payload["watchdog"], lambda: _cancelled(worker, key))
    if reply is None:
        return {"cancelled": True}
    if "failed" in reply:
        reply["failed"] = f"{reply['failed']} on {where}"
    return {**reply, "worker": worker.address}
