"""The grading process a cluster worker keeps warm: ``python -m grader.cluster.child``.

It reads one job per line on stdin (JSON: the spec's text, the submission as base64, its derived
seeds, the job options), grades it with ``grader.job.grade_notebook`` in its own main thread (the
job's deadlines are alarms, which only a main thread receives), and writes one JSON line back on
the stdout it was started with. Anything else that prints (the grader's own warnings) goes to
stderr, so that a reply is never mixed with other output.

One such process serves many jobs, like a worker of the local pool, so the imports (1.7-3 s here,
by the load, most of it jsonschema's format checkers that nbformat loads) are paid once per
process, not once per notebook. It exits when its stdin closes or its parent, the Dask worker, goes away.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

_SPECS: dict = {}


def _watch_parent(parent: int) -> None:
    """Leave at once when the Dask worker that started this process is gone (killed with SIGKILL,
    its machine's OOM killer): a job nobody will collect must not keep its slot busy."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(3)


def _limit_memory(memory_mb: int) -> None:
    """The grader's own address space is bounded, as in the local pool (the student processes have
    limits of their own); the soft limit only, so that the next job may set another."""
    import resource

    limit = (memory_mb + 2048) << 20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))


def grade(request: dict) -> dict:
    """One job: the record as a plain dict (JSON)."""
    from .. import spec as S
    from ..job import JobOptions, Seeds, grade_notebook

    text = request["spec"]
    digest = hashlib.sha256(text.encode()).hexdigest()
    spec = _SPECS.get(digest)
    if spec is None:
        spec = _SPECS[digest] = S.NotebookSpec.from_json(json.loads(text))
    options = JobOptions(**request["options"])
    # The job reads the isolation from the environment (grader/sandbox/launch.probe): the instructor's
    # choice, which this run's tasks carry, not whatever the worker was started with.
    os.environ["COURSE_GRADER_ISOLATION"] = request.get("isolation") or "auto"
    _limit_memory(options.memory_mb)
    data = base64.b64decode(request["data"])
    student = request["student"]
    record = grade_notebook(spec, data, student, Seeds(None, student, request["derived"]), options,
                            Path(request["cache"]))
    return record.to_json()


def main() -> int:
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    import course_lib.checks  # noqa: F401  (paid once, before the first job)

    from .. import job  # noqa: F401

    replies.write(json.dumps({"ready": os.getpid()}) + "\n")
    replies.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = {"record": grade(json.loads(line))}
        except Exception as e:  # noqa: BLE001  (a fault of the grader, reported as such, never the student's)
            reply = {"failed": f"the grader failed: {type(e).__name__}: {e}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    return 0


if __name__ == "__main__":   # started by grader/cluster/task.py, with numpy's threads at one
    sys.exit(main())
