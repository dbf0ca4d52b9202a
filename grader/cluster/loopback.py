"""A Dask cluster on this machine's loopback: `dask scheduler` and `dask worker` as separate processes,
each in a process group of its own (the tests kill a worker as a machine would lose one; the
benchmark measures through the same network stack a real cluster uses).

    with Loopback(workers=2, where=Path("/tmp/c")) as c:
        ... course-grader grade ... --scheduler c.address
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

DASK = Path(sys.executable).with_name("dask")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Loopback:
    def __init__(self, where: Path, workers: int = 2, threads: int = 1, env: dict | None = None):
        self.where, self.procs, self.env = Path(where), [], env or {}
        self.where.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.threads = threads
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])
        for _ in range(workers):
            self.add_worker()

    def _start(self, name: str, args: list) -> subprocess.Popen:
        with open(self.where / f"{name}.log", "w") as log:
            proc = subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT, cwd=self.where,
                                    start_new_session=True, env={**os.environ, **self.env})
        self.procs.append(proc)
        return proc

    def add_worker(self) -> subprocess.Popen:
        n = len(self.procs) - 1
        return self._start(f"worker{n}", ["worker", self.address, "--nthreads", str(self.threads), "--host",
                                          "127.0.0.1", "--no-dashboard", "--name", f"w{n}"])

    def wait_for(self, n: int, timeout: float = 120) -> None:
        from distributed import Client

        with Client(self.address, timeout="60s") as c:
            c.wait_for_workers(n, timeout=timeout)

    def close(self) -> None:
        for p in reversed(self.procs):
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def __enter__(self) -> "Loopback":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
