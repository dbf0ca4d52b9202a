"""The books of one cluster run: who is running what, and what has been recorded. Pure
bookkeeping, no Dask in it (grader/cluster/coordinator.py feeds it Dask's events).

They decide, per job, once:
- a record that arrives is saved at once (``on_record``), and only the first for a job counts;
- a job whose grading process died, ran past its watchdog, or that a worker refused, is sent
  again once (away from workers that refused), then recorded ungradable with the reason;
- a job whose worker was lost mid-run (killed, out of memory, its machine gone) is rerun by Dask
  itself; each run that started and was lost counts as a failure too, from the start events the
  tasks announce, so a job that takes down two workers is given up (ungradable, with the reason)
  and its third run cancelled. Dask's own limit (``distributed.scheduler.allowed-failures``,
  3 by default: ``KilledWorker`` after 4 lost workers) counts every task that was merely
  assigned to a lost worker as suspicious, so it is a backstop here, not the rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MAX_FAILURES = 2                 # as in the local pool: retried once, given up on the second failure


@dataclass
class JobState:
    job: object
    attempt: int = 0
    key: str = ""                                 # the Dask key of its current attempt
    starts: int = 0                               # runs of that key started so far
    worker: str = ""                              # where the last one started
    failures: list = field(default_factory=list)  # why each failed run failed
    avoid: set = field(default_factory=set)       # workers that refused it
    done: bool = False


class Books:
    """Who is running what, and what has been recorded: pure bookkeeping, no Dask in it."""

    def __init__(self, jobs: list):
        self.states = {j.key: JobState(j) for j in jobs}
        self.by_key: dict = {}       # Dask key -> JobState
        self.left = len(self.states)

    def issue(self, st: JobState, key: str) -> None:
        st.attempt += 1
        st.key, st.starts = key, 0
        self.by_key[key] = st

    def current(self, key: str) -> JobState | None:
        """The open job whose current attempt is ``key`` (None: another client's, stale, or settled)."""
        st = self.by_key.get(key)
        return st if st is not None and not st.done and st.key == key else None

    def started(self, key: str, worker: str) -> str:
        """A run of ``key`` started on ``worker``. When it is not the first, the run before it started
        and never came back: its worker was lost, and that counts as a failure. Returns "" to let the
        run go on, or the reason to give the job up."""
        st = self.current(key)
        if st is None:
            return ""
        st.starts += 1
        lost, st.worker = st.worker, worker
        if st.starts == 1:
            return ""
        return self._failure(st, f"its worker {lost} was lost mid-run") or ""

    def failed(self, key: str, reason: str, worker: str = "") -> str:
        """A run ended without a record: "retry", "" (stale: ignore) or the final reason."""
        st = self.current(key)
        if st is None:
            return ""
        if worker:
            st.avoid.add(worker)
        return self._failure(st, reason) or "retry"

    def _failure(self, st: JobState, reason: str) -> str | None:
        st.failures.append(reason)
        if len(st.failures) < MAX_FAILURES:
            return None
        reasons = list(dict.fromkeys(st.failures))
        return f"{reasons[0]} (twice)" if len(reasons) == 1 else "; then ".join(st.failures)

    def settle(self, key: str) -> JobState | None:
        """Close the job whose current attempt is ``key``, the first time only (None: already closed)."""
        st = self.current(key)
        if st is not None:
            st.done = True
            self.left -= 1
        return st
