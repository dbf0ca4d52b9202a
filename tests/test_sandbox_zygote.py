"""Sessions forked from a zygote (grader/sandbox/inside/zygote.py): each one is the process a session
started on its own would be, a zygote that ends is replaced, and a session the zygote cannot start
starts on its own. (What a session cannot do, and that it starts fresh, is the attack corpus's:
tests/cheating, through the real command.)"""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

from grader.job import _course
from grader.sandbox import facade, launch, trusted


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory):
    status = launch.probe()
    if status.kind != "bwrap":
        message = f"bubblewrap cannot run here: {status.reason}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)   # under CI a skip would hide that the zygote went untested
        pytest.skip(message)
    return facade.build(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def start(sandbox_dir, monkeypatch):
    monkeypatch.setattr(launch, "_ZYGOTE_FAILURES", [])
    opened = []

    def session(limits=None):
        s = trusted.Session(launch.Launch(sandbox_dir, launch.probe(), limits or launch.Limits()), _course(),
                            timeout=20)
        opened.append(s)
        return s
    yield session
    for s in opened:
        s.close()


LOOK = """
import os, resource, sys
import numpy as np
status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines() if ':' in l)
seen = {
    'argv': [a if not a.startswith('--fds=') else '--fds' for a in sys.argv],
    'fds_are_the_channel': all(os.fstat(int(x)) for x in next(a for a in sys.argv if a.startswith('--fds='))[6:].split(',')),
    'pid': os.getpid(), 'uid': os.getuid(),
    'caps': [status[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')],
    'no_new_privs': status['NoNewPrivs'].strip(), 'seccomp': status['Seccomp'].strip(),
    'memory': resource.getrlimit(resource.RLIMIT_AS)[0], 'cpu': resource.getrlimit(resource.RLIMIT_CPU)[0],
    'files': resource.getrlimit(resource.RLIMIT_NOFILE)[0], 'core': resource.getrlimit(resource.RLIMIT_CORE)[0],
    'tmp': sorted(os.listdir('/tmp')), 'tmp_writable': os.access('/tmp', os.W_OK), 'cwd': os.getcwd(),
    'cpu_used': resource.getrusage(resource.RUSAGE_SELF).ru_utime < 5,
    'draw': float(np.random.rand()),
}
"""


def test_a_session_from_the_zygote_is_what_a_process_of_its_own_is(start, monkeypatch):
    limits = launch.Limits(memory_mb=1500, cpu_seconds=77)
    forked = [start(limits) for _ in range(2)]
    assert all(isinstance(s.proc, launch.ZygoteProcess) for s in forked), launch._ZYGOTE_FAILURES
    monkeypatch.setenv("COURSE_GRADER_ZYGOTE", "0")
    alone = start(limits)
    assert isinstance(alone.proc, subprocess.Popen)
    seen = []
    for s in forked + [alone]:
        s.run_cell(1, LOOK)
        seen.append(s.get("seen"))
    a, b, own = seen
    assert a["caps"] == ["0000000000000000"] * 5 and a["no_new_privs"] == "1" and a["seccomp"] == "2"
    assert a["memory"] == 1500 << 20 and a["cpu"] == 77 and a["core"] == 0
    assert a["tmp"] == [] and a["tmp_writable"] and a["cwd"] == "/tmp"
    assert a["draw"] != b["draw"], "every session seeds numpy's global generator afresh, as a new process does"
    for key in ("argv", "fds_are_the_channel", "pid", "uid", "caps", "no_new_privs", "seccomp", "memory", "cpu",
                "files", "core", "tmp", "tmp_writable", "cwd", "cpu_used"):
        assert a[key] == own[key], key


def test_a_zygote_that_ended_is_replaced_and_the_next_session_starts(start):
    first = start()
    first.run_cell(1, "x = 1")
    zygote = next(z for k, z in launch._ZYGOTES.items() if k[0] == os.getpid())
    os.killpg(zygote.proc.pid, signal.SIGKILL)
    launch.reap(zygote.proc, 5)
    second = start()
    assert isinstance(second.proc, launch.ZygoteProcess) and launch._ZYGOTE_FAILURES == []
    second.run_cell(1, "import numpy as np\ny = int(np.arange(4).sum())")
    assert second.get("y") == 6


def test_a_session_the_zygote_cannot_set_up_starts_on_its_own(start, monkeypatch):
    broken = launch.Zygote.request

    def refused(limits):   # a limit setrlimit refuses: the session's init fails before any student code
        request = broken(limits)
        request["limits"]["open_files"] = 1 << 40
        return request
    monkeypatch.setattr(launch.Zygote, "request", staticmethod(refused))
    s = start()
    assert isinstance(s.proc, subprocess.Popen)
    assert launch._ZYGOTE_FAILURES and all("could not start" in f for f in launch._ZYGOTE_FAILURES)
    s.run_cell(1, "z = 41 + 1")
    assert s.get("z") == 42


def test_a_killed_session_takes_every_process_of_its_own_with_it(start):
    s = start()
    if s.launch.cgroup is None:
        pytest.skip("no cgroups here: the session's processes cannot be listed from outside")
    s.run_cell(1, "import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        os.setsid()\n"
                  "        time.sleep(600)\n        os._exit(0)")
    procs = s.launch.cgroup.dirs[0] / "cgroup.procs"
    pids = [int(p) for p in procs.read_text().split()]
    assert s.proc.pid in pids and len(pids) >= 6   # supervisor, init, the student process and its three
    s.close()

    def gone(pid):
        try:
            return open(f"/proc/{pid}/stat").read().split(") ")[1][0] in "ZX"
        except OSError:
            return True
    assert all(gone(pid) for pid in pids)


PLOT = """
import os, sys
preloaded = 'matplotlib' in sys.modules
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
fig.savefig('/tmp/figure.png')
drawn = os.path.getsize('/tmp/figure.png') > 1000
"""


def test_matplotlib_is_imported_once_in_the_zygote_and_draws_in_a_session(start):
    """The zygote imports matplotlib (course_lib.plots does as it is imported: 140 ms of CPU in every
    session of notebooks 04 and 06); a session forked from it draws and saves a figure into its own /tmp."""
    s = start()
    assert isinstance(s.proc, launch.ZygoteProcess), launch._ZYGOTE_FAILURES
    s.run_cell(1, PLOT)
    assert s.get("preloaded") and s.get("drawn")


def _zygotes() -> set:
    """The zygotes' Python processes below this one (bubblewrap's two processes hold zygote.py too)."""
    import psutil

    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.name().startswith("python") and any(a.endswith("/zygote.py") for a in p.cmdline()):
                out.add(p.pid)
        except psutil.Error:   # gone meanwhile
            pass
    return out


def test_the_local_pools_workers_ready_their_sandbox_before_any_job(sandbox_dir, tmp_path):
    """course-grader starts its workers while nbgrader makes a fresh workspace's release (about 8 s of
    one core): each builds the sandbox's copy of course_lib and starts its zygote as it starts, not as
    its first job does. Closing the pool ends them."""
    import time

    from grader import engine

    before = _zygotes()   # this process's own, from the tests above
    cache = tmp_path / "cache"
    built = cache / f"sandbox-{facade.fingerprint()}" / "complete"
    pool = engine.start_pool(engine.Options(workers=2), cache)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (built.exists() and len(_zygotes() - before) == 2):
            time.sleep(0.2)
        assert built.exists()
        assert len(_zygotes() - before) == 2   # one a worker, and no job was given
    finally:
        pool.close()
        pool.join(timeout=30)
    deadline = time.monotonic() + 15
    while _zygotes() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _zygotes() - before == set()
