"""Starting the student process: bubblewrap, seccomp, cgroups and rlimits, as grader/sandbox/policy.py says.

The process runs as uid 65534 in user, pid, ipc, network, uts and cgroup namespaces of its own, with
every capability dropped, ``no_new_privs`` set (bubblewrap does it) and a seccomp filter; it sees
only the allow-listed folders, read-only, and a private /tmp of bounded size. Its memory (address
space, and in a memory cgroup its pages and its /tmp together), processes, file size, open files
and CPU time are bounded; the wall-clock deadline is the grader's (grader/sandbox/trusted.py).
Without bubblewrap, :func:`probe` says why and how to fix it, and grading refuses to start unless
the instructor asked for ``--unsafe-no-sandbox``.

With bubblewrap, a session's process is forked from a zygote (class Zygote; inside/zygote.py): one
such sandbox per worker thread that has imported numpy and the channel, and that gives each session
the same namespaces, limits, filter and cgroup of its own before any student code runs. A session
the zygote cannot start starts as a process of its own.

Where bubblewrap is installed but its namespaces are refused (inside a container) and the grader is
root, or where COURSE_GRADER_ISOLATION=uid asks for it, the student process runs instead as an
unprivileged uid of its own with the same seccomp filter and limits (grader/sandbox/uid.py): weaker,
said on every output, never silent.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import select as io_select   # (this module has a select() of its own: the isolation)
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import policy, uid

STUDENT = "/opt/course/student.py"
ZYGOTE = "/opt/course/zygote.py"


def bwrap() -> str | None:
    """The bubblewrap executable (COURSE_GRADER_BWRAP names another one, for tests that take it away)."""
    return shutil.which(os.environ.get("COURSE_GRADER_BWRAP", "bwrap"))


@dataclass
class Limits:
    memory_mb: int = policy.MEMORY_MB
    scratch_mb: int = policy.SCRATCH_MB
    file_mb: int = policy.FILE_MB
    processes: int = policy.PROCESSES
    cpu_seconds: int = 600


ISOLATIONS = ("auto", "bwrap", "uid")


@dataclass
class Status:
    """How student code is isolated here: ``kind`` is "bwrap", "uid" (the fallback: an unprivileged
    uid, seccomp and rlimits, no namespaces) or "none" (refused, or --unsafe-no-sandbox)."""

    kind: str
    reason: str = ""
    fix: str = ""
    cgroups: str = ""   # "v1", "v2" or "" (limits then rely on rlimits alone)
    notes: list = field(default_factory=list)
    refused: bool = False   # bubblewrap is installed, but this kernel or container refuses its sandbox
    fallback_from: str = ""  # for "uid": why bubblewrap was not used

    @property
    def ok(self) -> bool:
        return self.kind in ("bwrap", "uid")

    @property
    def label(self) -> str:
        """What every output says about the isolation (the record's ``sandbox`` field)."""
        if self.kind == "bwrap":
            return "bubblewrap"
        if self.kind == "uid":
            why = f" ({self.fallback_from})" if self.fallback_from else ""
            return f"uid: an unprivileged user of its own, seccomp and rlimits, no namespaces{why}"
        if self.reason.endswith("--unsafe-no-sandbox"):
            return "none: --unsafe-no-sandbox"
        return f"none, so nothing runs: {self.reason}"


# ------------------------------------------------------------------------------ seccomp
@functools.lru_cache(maxsize=1)
def seccomp_program() -> bytes:
    """The BPF program of the policy's seccomp filter (built with libseccomp through pyseccomp)."""
    import pyseccomp as sc

    f = sc.SyscallFilter(sc.ALLOW)
    for name in policy.DENIED_SYSCALLS:
        try:
            f.add_rule(sc.ERRNO(policy.ERRNO), name)
        except (ValueError, OSError):   # not a system call on this architecture
            pass
    f.add_rule(sc.ERRNO(38), "clone3")  # ENOSYS: libc then uses clone, whose flags the filter can see
    for flag in policy.CLONE_NAMESPACE_FLAGS:
        f.add_rule(sc.ERRNO(policy.ERRNO), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    f.add_rule(sc.ERRNO(97), "socket", sc.Arg(0, sc.NE, 1))   # EAFNOSUPPORT for all but AF_UNIX
    fd = os.memfd_create("course-grader-bpf", 0)
    with os.fdopen(fd, "w+b") as buf:
        f.export_bpf(buf)
        buf.seek(0)
        return buf.read()


def _memfd(data: bytes) -> int:
    fd = os.memfd_create("course-grader-seccomp", 0)
    os.write(fd, data)
    os.lseek(fd, 0, 0)
    return fd


# ------------------------------------------------------------------------------ cgroups
def cgroup_version() -> str:
    if os.environ.get("COURSE_GRADER_NO_CGROUPS") == "1":   # as in a container whose cgroups are read-only
        return ""
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():
        return "v2" if os.access(root, os.W_OK) else ""
    if (root / "memory").is_dir() and (root / "pids").is_dir() and os.access(root / "memory", os.W_OK) \
            and os.access(root / "pids", os.W_OK):
        return "v1"
    return ""


_COUNTER = itertools.count()


class Cgroup:
    """A memory and pids cgroup for one student process (v1 or v2), removed when it is done."""

    def __init__(self, version: str, memory_bytes: int, pids: int):
        self.version = version
        name = f"course-grader/job-{os.getpid()}-{next(_COUNTER)}"
        root = Path("/sys/fs/cgroup")
        if version == "v2":
            parent = root / "course-grader"
            parent.mkdir(exist_ok=True)
            try:
                (root / "cgroup.subtree_control").write_text("+memory +pids")
                (parent / "cgroup.subtree_control").write_text("+memory +pids")
            except OSError:
                pass
            self.dirs = [root / name]
            self.dirs[0].mkdir()
            (self.dirs[0] / "memory.max").write_text(str(memory_bytes))
            _try_write(self.dirs[0] / "memory.swap.max", "0")
            (self.dirs[0] / "pids.max").write_text(str(pids))
        else:
            self.dirs = [root / "memory" / name, root / "pids" / name]
            for d in self.dirs:
                d.mkdir(parents=True)
            (self.dirs[0] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            _try_write(self.dirs[0] / "memory.memsw.limit_in_bytes", str(memory_bytes))
            (self.dirs[1] / "pids.max").write_text(str(pids))
        self.procs = [str(d / "cgroup.procs") for d in self.dirs]

    def oom_killed(self) -> bool:
        try:
            if self.version == "v2":
                text = (self.dirs[0] / "memory.events").read_text()
            else:
                text = (self.dirs[0] / "memory.oom_control").read_text()
            return any(line.split()[0] == "oom_kill" and int(line.split()[1]) > 0 for line in text.splitlines())
        except (OSError, ValueError, IndexError):
            return False

    def kill_all(self) -> None:
        # Killed processes leave the cgroup within a millisecond or two: look again soon, then less often
        # (at most about half a second in all, as before).
        for delay in [0.001, 0.002, 0.004] + [0.01] * 47:
            pids = set()
            for d in self.dirs:
                try:
                    pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
                except OSError:
                    pass
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(delay)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(20):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _try_write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:
        pass


# ---------------------------------------------------------------------------- the command
def _system_mounts() -> list:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), f"/{name}"]
        elif p.is_dir():
            args += ["--ro-bind", str(p), f"/{name}"]
    if Path("/etc/ld.so.cache").exists():
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def bwrap_argv(sandbox_dir: Path, limits: Limits, seccomp_fd: int | None, inner: list, extra: list = (),
               caps: tuple = ()) -> list:
    """The bubblewrap command line for ``inner`` (policy.py's allow-list). ``caps``: capabilities kept
    inside the sandbox's user namespace (only the zygote's, which drops them before student code runs)."""
    argv = [bwrap() or "bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop",
            "ALL", *(a for cap in caps for a in ("--cap-add", cap)), "--die-with-parent", "--new-session",
            "--disable-userns", "--clearenv"]
    layout = policy.python_layout()
    for k, v in {**policy.ENVIRONMENT, **layout["env"]}.items():
        argv += ["--setenv", k, v]
    argv += _system_mounts()
    for host, inside in layout["mounts"]:
        argv += ["--ro-bind", str(host), str(inside)]
    for hidden in policy.hidden_inside_python(layout):
        argv += ["--tmpfs", hidden]
    argv += ["--ro-bind", str(sandbox_dir), "/opt/course", "--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.scratch_mb << 20), "--tmpfs", "/tmp", *extra, "--remount-ro", "/", "--chdir", "/tmp"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    return argv + ["--", *inner]


def student_argv(rfd: int, wfd: int, sandboxed: bool = True) -> list:
    if sandboxed:
        layout = policy.python_layout()
        return [layout["python"], "-I", "-S", "-B", STUDENT, f"--fds={rfd},{wfd}", *layout["site"]]
    return [sys.executable, "-I", "-S", "-B", STUDENT, f"--fds={rfd},{wfd}", *policy.site_dirs()]


def _prlimit(limits: Limits, nproc: bool = False) -> list:
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        return []
    # RLIMIT_NPROC counts a uid's processes: it bounds a fork bomb only where the uid is the student's own.
    return [prlimit, f"--as={limits.memory_mb << 20}", f"--fsize={limits.file_mb << 20}",
            f"--nofile={policy.OPEN_FILES}", "--core=0", f"--cpu={limits.cpu_seconds}",
            *([f"--nproc={limits.processes}"] if nproc else []), "--"]


class Launch:
    """How one student process is started and stopped (one per sandboxed session)."""

    def __init__(self, sandbox_dir: Path, status: Status, limits: Limits):
        self.sandbox_dir, self.status, self.limits = Path(sandbox_dir), status, limits
        self.cgroup: Cgroup | None = None
        self.slot: uid.Slot | None = None

    def spawn(self, rfd: int, wfd: int) -> subprocess.Popen:
        if self.status.kind == "bwrap" and zygote_enabled():
            proc = self._from_zygote(rfd, wfd)
            if proc is not None:
                return proc
        kind = self.status.kind
        inner = student_argv(rfd, wfd, sandboxed=kind == "bwrap")
        pass_fds = [rfd, wfd]
        if kind == "bwrap":
            seccomp_fd = _memfd(seccomp_program())
            pass_fds.append(seccomp_fd)
            argv = bwrap_argv(self.sandbox_dir, self.limits, seccomp_fd, inner)
        elif kind == "uid":   # the fallback: the student's own uid, the same filter, no namespaces
            public = uid.readable_copy(self.sandbox_dir)
            self.slot = uid.Slot()
            seccomp_fd = _memfd(seccomp_program())
            pass_fds.append(seccomp_fd)
            argv = self.slot.argv(seccomp_fd, [a.replace(STUDENT, str(public / "student.py")) for a in inner])
        else:   # --unsafe-no-sandbox: the instructor's choice, said on every output
            seccomp_fd = None
            argv = [a.replace(STUDENT, str(self.sandbox_dir / "student.py")) for a in inner]
        argv = _prlimit(self.limits, nproc=kind == "uid") + argv
        self.cgroup = self._new_cgroup()
        if self.cgroup is not None:
            argv = ["/bin/sh", "-c", 'for f in "$@"; do [ "$f" = -- ] && break; echo $$ > "$f"; shift; done; '
                                     'shift; exec "$@"', "sh", *self.cgroup.procs, "--", *argv]
        env = {"PATH": "/usr/bin:/bin"} if kind == "bwrap" else dict(policy.ENVIRONMENT)
        cwd = None
        if kind == "uid":
            env, cwd = self.slot.env(env), self.slot.scratch
        elif kind == "none":
            import tempfile

            self._scratch = tempfile.mkdtemp(prefix="course-unsafe-")
            env.update(HOME=self._scratch, MPLCONFIGDIR=str(Path(self._scratch) / ".matplotlib"))
            cwd = self._scratch
        debug = os.environ.get("COURSE_GRADER_DEBUG") == "1"   # a developer's switch: the student side's own errors
        if debug and kind == "bwrap":
            i = argv.index("--clearenv") + 1
            argv[i:i] = ["--setenv", "COURSE_GRADER_DEBUG", "1"]
        elif debug:
            env["COURSE_GRADER_DEBUG"] = "1"
        try:
            return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=None if debug else subprocess.DEVNULL, pass_fds=pass_fds, env=env, cwd=cwd,
                                    start_new_session=True)
        except BaseException:
            self.cleanup()   # no session will: give the uid slot back
            raise
        finally:
            if seccomp_fd is not None:
                os.close(seccomp_fd)

    def _new_cgroup(self) -> "Cgroup | None":
        if not self.status.cgroups:
            return None
        try:
            return Cgroup(self.status.cgroups, (self.limits.memory_mb + self.limits.scratch_mb) << 20,
                          self.limits.processes)
        except OSError as e:
            self.status.notes.append(f"no cgroup for this process ({e}); rlimits only")
            return None

    def _from_zygote(self, rfd: int, wfd: int):
        """The session forked from this worker's zygote, in a cgroup of its own; None if no zygote can
        start one here (the session then starts as a process of its own)."""
        cgroup = self._new_cgroup()
        proc = None
        for _ in range(2):    # a zygote that ended (or was ended) is started again, once
            if not zygote_usable():
                break
            try:
                proc = zygote_for(self.sandbox_dir).fork(rfd, wfd, self.limits, cgroup)
                break
            except ZygoteFailed as e:
                _ZYGOTE_FAILURES.append(str(e))
        if proc is None:
            if cgroup is not None:
                cgroup.remove()
            return None
        self.cgroup = cgroup
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        if isinstance(proc, ZygoteProcess):
            proc.kill()    # its supervisor: the session's init then ends, and with it every process of the session
        else:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        reap(proc, 5)   # bubblewrap's end ends its pid namespace: the cgroup is then mostly empty already
        if self.cgroup is not None:
            self.cgroup.kill_all()
        if self.slot is not None:
            self.slot.kill()

    def hit_memory_limit(self) -> bool:
        return self.cgroup is not None and self.cgroup.oom_killed()

    def cleanup(self) -> None:
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.slot is not None:   # every process of the uid, and its files, go with the session
            self.slot.release()
            self.slot = None
        scratch = getattr(self, "_scratch", None)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
            self._scratch = None


# ------------------------------------------------------------------------------ the zygote
class ZygoteFailed(Exception):
    """The zygote could not start, or could not start a session (the session starts on its own)."""


def zygote_enabled() -> bool:
    """Sessions fork from a zygote unless COURSE_GRADER_ZYGOTE=0 (or the developer's debug switch)."""
    return os.environ.get("COURSE_GRADER_ZYGOTE", "1") != "0" and os.environ.get("COURSE_GRADER_DEBUG") != "1"


_ZYGOTES: dict = {}
_ZYGOTE_LOCK = threading.Lock()
_ZYGOTE_FAILURES: list = []   # why sessions of this process did not fork from a zygote


def zygote_usable() -> bool:
    """A process whose zygote failed three times starts its sessions on their own from then on."""
    return len(_ZYGOTE_FAILURES) < 3


def zygote_for(sandbox_dir: Path) -> "Zygote":
    """This thread's zygote for this sandbox folder (started on first use, again if it ended). One per
    thread: bubblewrap ends with the thread that started it (--die-with-parent), and with it every
    session forked from its zygote, so a session must not depend on another thread's."""
    key = (os.getpid(), threading.get_ident(), str(sandbox_dir))
    with _ZYGOTE_LOCK:
        z = _ZYGOTES.get(key)
        if z is None or not z.alive():
            for k, other in list(_ZYGOTES.items()):   # this one, and those of threads that ended
                if k == key or not other.alive():
                    other.close()
                    del _ZYGOTES[k]
            z = Zygote(Path(sandbox_dir))
            _ZYGOTES[key] = z
        return z


class Zygote:
    """A student process made once per worker thread (grader/sandbox/inside/zygote.py), forked per
    session: a session then starts in about 10 ms instead of 130 (bubblewrap, Python and numpy's imports)."""

    START_SECONDS = 30

    def __init__(self, sandbox_dir: Path):
        self.lock = threading.Lock()
        self.ctrl, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        program_fd = _memfd(seccomp_program())
        layout = policy.python_layout()
        inner = [layout["python"], "-I", "-S", "-B", ZYGOTE, f"--fds={theirs.fileno()},{program_fd}", *layout["site"]]
        argv = bwrap_argv(sandbox_dir, Limits(), None, inner, caps=("CAP_SYS_ADMIN", "CAP_SETPCAP"))
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, pass_fds=[theirs.fileno(), program_fd],
                                         env={"PATH": "/usr/bin:/bin"}, start_new_session=True)
        except OSError as e:
            self.ctrl.close()
            raise ZygoteFailed(f"the zygote could not start ({e})") from None
        finally:
            theirs.close()
            os.close(program_fd)
        ready, _, _ = io_select.select([self.ctrl], [], [], self.START_SECONDS)
        if not ready or self.ctrl.recv(16) != b"ready":
            self.close()
            raise ZygoteFailed("the zygote did not start")

    def alive(self) -> bool:
        return self.proc.poll() is None and self.ctrl.fileno() >= 0

    def fork(self, rfd: int, wfd: int, limits: Limits, cgroup: "Cgroup | None") -> "ZygoteProcess":
        """A new session's student process on (rfd, wfd), in ``cgroup`` before it runs anything."""
        request = self.request(limits)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        proc = None
        try:
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            with self.lock:
                socket.send_fds(self.ctrl, [json.dumps(request).encode()], [rfd, wfd, theirs.fileno()])
            theirs.close()
            size = struct.calcsize("iII")
            _, ancillary, _, _ = self._receive(ours, socket.CMSG_SPACE(size))
            creds = [d for level, kind, d in ancillary if (level, kind) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)]
            if not creds or len(creds[0]) < size:
                raise ZygoteFailed("the zygote's session did not say which process it is")
            proc = ZygoteProcess(struct.unpack("iII", creds[0][:size])[0], ours)
            if cgroup is not None:   # before it runs anything: all it starts is in the cgroup too
                for procs in cgroup.procs:
                    Path(procs).write_text(str(proc.pid))
            ours.send(b"go")
            reply = self._receive(ours)[0]
            if reply != b"started":
                raise ZygoteFailed(f"the zygote's session could not start: {reply[:600].decode(errors='replace')}")
            return proc
        except (OSError, ValueError, struct.error, ZygoteFailed) as e:
            if proc is not None:
                proc.kill()
                reap(proc, 5)
            for sock in (ours, theirs):
                sock.close()
            self.close()
            raise e if isinstance(e, ZygoteFailed) else ZygoteFailed(f"{type(e).__name__}: {e}") from None

    @staticmethod
    def request(limits: Limits) -> dict:
        """What the zygote is told of a session: its limits, in bytes and seconds (as prlimit's)."""
        return {"limits": {"memory": limits.memory_mb << 20, "file": limits.file_mb << 20,
                           "open_files": policy.OPEN_FILES, "cpu": limits.cpu_seconds,
                           "scratch": limits.scratch_mb << 20}}

    def _receive(self, sock: socket.socket, ancillary: int = 0):
        ready, _, _ = io_select.select([sock], [], [], self.START_SECONDS)
        if not ready:
            raise ZygoteFailed("the zygote did not answer")
        return sock.recvmsg(1024, ancillary)

    def close(self) -> None:
        try:
            self.ctrl.close()
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        reap(self.proc, 5)


class ZygoteProcess:
    """A session forked from the zygote, as trusted.py sees its process (``poll`` and ``pid``, as a
    Popen's): ``pid`` is its supervisor's, which ends with it and reports its exit status."""

    def __init__(self, pid: int, sock: socket.socket):
        self.pid, self.sock, self.returncode = pid, sock, None
        self.pidfd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.returncode is None and io_select.select([self.pidfd], [], [], 0)[0]:
            status = None
            try:
                self.sock.setblocking(False)
                message = self.sock.recv(32)
                if message.startswith(b"exit "):
                    status = int(message[5:])
            except (OSError, ValueError):
                pass
            self.returncode = os.waitstatus_to_exitcode(status) if status is not None else -signal.SIGKILL
            self._close()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except OSError:
                pass

    def _close(self) -> None:
        for close in (self.sock.close, lambda: os.close(self.pidfd)):
            try:
                close()
            except OSError:
                pass
        self.pidfd = None   # closed: its number may be another descriptor's now


def reap(proc: subprocess.Popen, timeout: float) -> int | None:
    """Wait up to ``timeout`` seconds for ``proc`` to end; its exit status, or None if it has not.
    Woken by the process's pidfd the moment it ends: Popen.wait(timeout) polls with sleeps of up to
    50 ms, about 40 ms of idle core at the end of every grading job."""
    if proc.poll() is None:
        own = getattr(proc, "pidfd", None)    # a zygote's session: its supervisor's, opened as it started
        if own is not None:
            io_select.select([own], [], [], timeout)
            return proc.poll()
        try:
            fd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):   # no pidfds (Linux < 5.3), or the process is already reaped
            fd = None
        if fd is None:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            try:
                io_select.select([fd], [], [], timeout)
            finally:
                os.close(fd)
    return proc.poll()


# ------------------------------------------------------------------------------ probing
def probe() -> Status:
    """How student code will be isolated here: the isolation COURSE_GRADER_ISOLATION names ("bwrap",
    "uid"), or by default ("auto") bubblewrap, falling back to the uid isolation only where
    bubblewrap is installed but refused and the grader is root. Each is checked by really doing it."""
    return select(os.environ.get("COURSE_GRADER_ISOLATION") or "auto")


@functools.lru_cache(maxsize=None)
def select(choice: str) -> Status:
    if choice not in ISOLATIONS:
        return Status("none", f"unknown isolation {choice!r}", f"choose one of {', '.join(ISOLATIONS)}")
    if choice == "uid":
        return probe_uid()
    status = probe_bwrap()
    if status.ok or choice == "bwrap" or not status.refused:
        return status
    if os.geteuid() != 0:
        return Status("none", status.reason, status.fix + "; or run the grader as root, which then starts student "
                      "code as an unprivileged uid instead (--isolation uid: weaker, see docs/gradescope.md)",
                      refused=True)
    fallback = dataclasses.replace(probe_uid())   # a copy: probe_uid()'s own answer stays as it was
    fallback.notes = list(fallback.notes)
    if not fallback.ok:
        return Status("none", f"{status.reason}; and the uid isolation cannot run either: {fallback.reason}",
                      fallback.fix, refused=True)
    fallback.fallback_from = status.reason
    fallback.notes.insert(0, f"{status.reason}: student code runs as an unprivileged uid instead (no namespaces; "
                             "see docs/gradescope.md for what that hides and what it does not)")
    return fallback


@functools.lru_cache(maxsize=1)
def probe_uid() -> Status:
    """Can student code run here as an unprivileged uid of its own, under the filter? (A real trial.)"""
    if os.geteuid() != 0:
        return Status("none", "the uid isolation needs the grader to run as root (to start student code as another "
                              "user)", "run the grader as root, or install bubblewrap where user namespaces are allowed")
    taken = uid.accounts_in_range()
    if taken:
        return Status("none", f"the student uids {uid.base()}-{uid.base() + uid.SLOTS - 1} include accounts of this "
                              f"machine ({', '.join(taken[:3])})",
                      "set COURSE_GRADER_UID_BASE to the first of 32 uids no account uses")
    try:
        program = seccomp_program()
    except Exception as e:  # pyseccomp missing, or libseccomp not found
        return Status("none", f"the seccomp filter cannot be built ({type(e).__name__}: {e})",
                      "install libseccomp (`apt-get install libseccomp2`) and the Python package pyseccomp")
    import course_lib

    reference = Path(course_lib.__file__).resolve().parent
    try:
        seen = uid.trial(program, policy.site_dirs(), [reference / "__init__.py"])
    except (OSError, subprocess.SubprocessError) as e:
        return Status("none", f"a process could not be started as an unprivileged uid ({e})",
                      "check that `setpriv --reuid 59500 --regid 59500 --clear-groups true` works as root")
    if "error" in seen or seen.get("numpy") != "ok":
        return Status("none", f"an unprivileged uid cannot run this Python ({sys.executable}): "
                              f"{seen.get('error') or seen.get('numpy')}",
                      "install the grader into a Python that every user can run and read (a venv under /opt, as the "
                      "Gradescope setup.sh does), not under a private home such as /root")
    status = Status("uid", cgroups=cgroup_version())
    if seen.get("network") == "open":
        status.notes.append("the seccomp filter did not stop a network socket in the uid trial")
    if not status.cgroups:
        status.notes.append("cgroups are not writable here: memory is bounded per process (address space), processes "
                            "by the uid's own count (RLIMIT_NPROC)")
    if seen["reads"].get(str(reference / "__init__.py")) == "read":
        status.notes.append(f"student code can read the course's reference code ({reference}) in the uid isolation: "
                            "make that folder root-only (chmod 0700), as the Gradescope setup.sh does")
    return status


@functools.lru_cache(maxsize=1)
def probe_bwrap() -> Status:
    """Can this machine sandbox student code with bubblewrap as the policy says? (Checked by really doing it.)"""
    if not bwrap():
        return Status("none", "bubblewrap (bwrap) is not installed",
                      "install it: `apt-get install bubblewrap` (Debian, Ubuntu) or `dnf install bubblewrap`")
    try:
        program = seccomp_program()
    except Exception as e:  # pyseccomp missing, or libseccomp not found
        return Status("none", f"the seccomp filter cannot be built ({type(e).__name__}: {e})",
                      "install libseccomp (`apt-get install libseccomp2`) and the Python package pyseccomp")
    fd = _memfd(program)
    try:
        argv = [bwrap(), "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
                "--die-with-parent", "--new-session", "--disable-userns", *_system_mounts(), "--proc", "/proc",
                "--dev", "/dev", "--remount-ro", "/", "--seccomp", str(fd), "--", "/bin/true"]
        run = subprocess.run(argv, capture_output=True, text=True, pass_fds=[fd], timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return Status("none", f"bubblewrap could not start ({e})", "check that bwrap runs: `bwrap --version`")
    finally:
        os.close(fd)
    if run.returncode != 0:
        reason = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit status {run.returncode}"
        return Status("none", f"bubblewrap cannot create the sandbox here: {reason}",
                      "user namespaces are probably disabled: as root, `sysctl -w kernel.unprivileged_userns_clone=1` "
                      "or `sysctl -w user.max_user_namespaces=10000`; in a container, run it with "
                      "`--security-opt seccomp=unconfined` or use a VM", refused=True)
    status = Status("bwrap", cgroups=cgroup_version())
    if not status.cgroups:
        status.notes.append("cgroups are not writable here: processes are not bounded as a group, and memory only "
                            "per process (run the grader as root to bound both)")
    return status


def unsafe_status() -> Status:
    return Status("none", "the instructor asked for --unsafe-no-sandbox", cgroups="")
