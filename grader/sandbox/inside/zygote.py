"""A sandbox's zygote: a student process made once, forked for each session.

Started by the grader (grader/sandbox/launch.py, class Zygote) with the same bubblewrap sandbox as
a student process (the same mounts, user and namespaces, as uid 65534), except that it keeps two
capabilities *inside its user namespace*, CAP_SYS_ADMIN and CAP_SETPCAP, and has no seccomp
filter yet. It imports what every student process imports before student code (numpy, the
channel) and matplotlib (the sandbox's course_lib.plots imports it), makes itself non-dumpable (its
memory, files and descriptors cannot be read through /proc), says "ready", and then only forks: it
never runs student code itself.

For each session the grader sends, on the control socket, the session's limits and three
descriptors (the channel's two pipes and a socket of the session's own). The zygote forks:

- the *supervisor* (still in the zygote's namespaces) tells the grader its pid through the
  session socket (SCM_CREDENTIALS: the kernel gives the grader the pid as the grader sees it), and
  waits until the grader has put it into the session's cgroup. It then makes new mount, pid, ipc,
  network, uts and cgroup namespaces; in the new mount namespace it mounts a fresh /tmp and a
  fresh /dev/shm (so nothing one session writes is seen by the next) and makes /dev read-only,
  and checks that no other mount a session could write to is left. It forks the session's init;
- the *init* (pid 1 of the session's pid namespace: when it ends, every process of the session
  ends) sets the limits (rlimits), drops every capability (bounding, ambient, effective,
  permitted, inheritable), installs the seccomp filter, checks all of that in /proc/self/status,
  and forks the student process, then reaps orphans until the student process ends;
- the *student process* runs student.py's ``run``, exactly as a process started by bubblewrap
  would, but with numpy and the stubs already imported.

When the student process ends, the supervisor sends its wait status to the grader and ends. Any
failure of this setup ends the session before student code runs (an exit status of 120 and up):
the grader then starts the session as a process of its own instead.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import select
import signal
import socket
import stat
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = \
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18, 1 << 21
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_CAPBSET_DROP = 1, 4, 22, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
SECCOMP_MODE_FILTER = 2
CAP_LAST = 63

SETUP_FAILED = 120          # exit statuses of a session whose setup failed (before any student code)
WRITABLE_FS_OK = {"proc", "devpts"}   # file systems in which a session can leave no file

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    pass


def _check(result, what):
    if result != 0:
        raise SetupError(f"{what}: {os.strerror(ctypes.get_errno())}")


def _prctl(*args):
    _check(_libc.prctl(*(ctypes.c_ulong(a) for a in args)), f"prctl{args[:2]}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source, target, fstype, ctypes.c_ulong(flags), data), f"mount {target!r}")


# --------------------------------------------------------------- the session
def _mounts() -> list:
    """(mount point, file system type, per-mount options) of this mount namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            out.append((fields[4].replace("\\040", " "), right.split()[0], fields[5].split(",")))
    return out


def _is_device(path: str) -> bool:
    """A mount of one character device (/dev/null): writing to it writes to the device, not to a file."""
    try:
        return stat.S_ISCHR(os.lstat(path).st_mode)
    except OSError:
        return False


def _private_mounts(scratch_bytes: int) -> None:
    """A fresh /tmp and /dev/shm for this session, /dev read-only, and nothing else writable."""
    _mount(None, b"/", None, MS_REC | MS_PRIVATE)
    size = f"size={int(scratch_bytes)},mode=1777".encode()
    _mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, size)
    # (keeping the flags bubblewrap mounted it with: locked ones may only be added to)
    _mount(None, b"/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_RELATIME)
    fresh = {"/tmp"}
    if os.path.isdir("/dev/shm"):
        _mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, size)
        fresh.add("/dev/shm")
    left = [(point, fs) for point, fs, opts in _mounts()
            if "ro" not in opts and point not in fresh and fs not in WRITABLE_FS_OK and not _is_device(point)]
    if left:
        raise SetupError(f"writable mounts another session would share: {left[:5]}")
    # The session's /proc is the zygote's (a fresh one may not be mounted inside bubblewrap): the
    # processes that outlive the session, bubblewrap's init, the zygote and this supervisor, are
    # covered by an empty, read-only folder, so that nothing of them can be read or written.
    # (Every thread of theirs too: /proc/TID is a way in of its own, though not listed.)
    tasks = {int(t) for pid in {1, os.getppid(), os.getpid()} for t in os.listdir(f"/proc/{pid}/task")}
    for pid in sorted(tasks):
        _mount(b"tmpfs", f"/proc/{pid}".encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
               b"size=4k,mode=0")


def _drop_everything(limits: dict, program: bytes) -> None:
    """Limits, no capability at all, the seccomp filter: then check them as the kernel reports them."""
    for name, value in (("RLIMIT_AS", limits["memory"]), ("RLIMIT_FSIZE", limits["file"]),
                        ("RLIMIT_NOFILE", limits["open_files"]), ("RLIMIT_CORE", 0), ("RLIMIT_CPU", limits["cpu"])):
        resource.setrlimit(getattr(resource, name), (int(value), int(value)))
    for cap in range(CAP_LAST + 1):
        if _libc.prctl(ctypes.c_ulong(PR_CAPBSET_DROP), ctypes.c_ulong(cap), 0, 0, 0) != 0 \
                and ctypes.get_errno() != 22:   # EINVAL: no such capability on this kernel
            raise SetupError(f"PR_CAPBSET_DROP {cap}: {os.strerror(ctypes.get_errno())}")
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = struct.pack("Ii", 0x20080522, 0)          # _LINUX_CAPABILITY_VERSION_3, this process
    data = ctypes.create_string_buffer(24)              # two words of effective, permitted, inheritable: none
    _check(_libc.capset(ctypes.c_char_p(header), data), "capset")
    _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    filters = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("HP", len(program) // 8, ctypes.addressof(filters))
    _check(_libc.prctl(ctypes.c_ulong(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER),
                       ctypes.c_char_p(fprog), 0, 0), "seccomp")
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    wrong = [k for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb") if int(status[k].strip(), 16) != 0]
    if status["NoNewPrivs"].strip() != "1":
        wrong.append("NoNewPrivs")
    if status["Seccomp"].strip() != "2":
        wrong.append("Seccomp")
    if wrong:
        raise SetupError(f"still has {wrong}")


def _init(limits, program, rfd, wfd, parent_alive, status_w) -> None:
    """Pid 1 of the session: limits, no privilege, the filter; then the student process. It writes
    b"S" to the supervisor once the student process runs, and then that process's wait status."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if select.select([parent_alive], [], [], 0)[0]:    # the supervisor ended before the line above
        raise SetupError("the supervisor ended")
    os.setsid()
    os.chdir("/tmp")
    _drop_everything(limits, program)
    student = os.fork()
    if student == 0:
        os.close(status_w)
        os.close(parent_alive)
        _student(rfd, wfd)
    os.close(rfd)
    os.close(wfd)
    os.write(status_w, b"S")
    while True:
        pid, status = os.waitpid(-1, 0)
        if pid == student:
            os.write(status_w, struct.pack("i", status))
            os._exit(0)


def _student(rfd: int, wfd: int) -> None:
    low, high = sorted((rfd, wfd))
    os.closerange(3, low)
    os.closerange(low + 1, high)
    os.closerange(high + 1, 1 << 16)
    _prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)   # as a process of its own is: its own /proc entries are its own
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # The command line a student process started on its own has (student.py's docstring)
    sys.argv = [os.path.join(HERE, "student.py"), f"--fds={rfd},{wfd}",
                *(a for a in sys.argv[1:] if not a.startswith("--"))]
    import numpy
    import student

    numpy.random.seed()   # a fresh process seeds numpy's global generator from the OS as it imports numpy
    try:
        student.run(rfd, wfd)
    finally:
        os._exit(0)


def _supervise(request: dict, rfd: int, wfd: int, session: socket.socket, program: bytes) -> None:
    zygote = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != zygote:
        raise SetupError("the zygote ended")
    me = struct.pack("iII", os.getpid(), os.getuid(), os.getgid())
    session.sendmsg([b"pid"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, me)])
    if session.recv(8) != b"go":      # the grader has put this process into the session's cgroup
        raise SetupError("no go from the grader")
    try:
        _namespaces(request)
    except BaseException as e:  # noqa: BLE001
        session.send(b"failed " + f"{type(e).__name__}: {e}".encode()[:500])
        raise
    _start(request, rfd, wfd, session, program)


def _namespaces(request: dict) -> None:
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWCGROUP),
           "unshare")
    _private_mounts(request["limits"]["scratch"])


def _start(request: dict, rfd: int, wfd: int, session: socket.socket, program: bytes) -> None:
    alive_r, alive_w = os.pipe()
    status_r, status_w = os.pipe()
    init = os.fork()
    if init == 0:
        try:
            session.close()
            os.close(alive_w)
            os.close(status_r)
            _init(request["limits"], program, rfd, wfd, alive_r, status_w)
        except BaseException as e:  # noqa: BLE001  (said to the grader, which starts the session anew)
            try:
                os.write(status_w, b"F" + f"{type(e).__name__}: {e}".encode()[:500])
            except BaseException:  # noqa: BLE001
                pass
        os._exit(SETUP_FAILED + 1)
    os.close(rfd)
    os.close(wfd)
    os.close(status_w)
    os.close(alive_r)
    first = os.read(status_r, 1)
    if first != b"S":
        why = os.read(status_r, 600) if first == b"F" else b"the session's init ended"
        session.send(b"failed " + why)
        os.waitpid(init, 0)
        return
    session.send(b"started")
    data = b""
    while len(data) < 4:
        chunk = os.read(status_r, 4 - len(data))
        if not chunk:
            break
        data += chunk
    _, init_status = os.waitpid(init, 0)
    status = struct.unpack("i", data)[0] if len(data) == 4 else init_status
    session.send(b"exit %d" % status)


def _fork_session(ctrl: socket.socket, request: dict, fds: list, program: bytes) -> None:
    rfd, wfd, session_fd = fds
    pid = os.fork()
    if pid == 0:
        code = SETUP_FAILED
        try:
            ctrl.close()
            session = socket.socket(fileno=session_fd)
            _supervise(request, rfd, wfd, session, program)
            code = 0
        except BaseException:  # noqa: BLE001  (the grader sees the exit status, and starts the session anew)
            pass
        os._exit(code)
    for fd in fds:
        os.close(fd)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main() -> None:
    ctrl_fd, program_fd = (int(x) for x in next(a for a in sys.argv[1:] if a.startswith("--fds="))[6:].split(","))
    with os.fdopen(program_fd, "rb") as f:
        program = f.read()
    if not program or len(program) % 8:
        raise SystemExit("no seccomp program")
    _prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    sys.path[:0] = [HERE]
    import student

    student.preload()   # (course_lib's stubs are not: some call the grader as they are imported)
    import matplotlib  # noqa: F401  (course_lib.plots imports it: 140 ms of CPU in every session of notebooks 04, 06)
    import numpy

    numpy.random.seed()   # its first call imports what seeding needs (15 ms): once here, not in every session
    ctrl = socket.socket(fileno=ctrl_fd)
    gc.freeze()   # what it imported is left out of every collection: no session copies those pages to collect them
    ctrl.send(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(ctrl, 1 << 16, 3)
        except OSError:
            return
        _reap()
        if not message:
            return           # the grader closed the socket: this worker is done
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        try:
            request = json.loads(message)
        except ValueError:
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("limits"), dict):
            for fd in fds:
                os.close(fd)
            continue
        _fork_session(ctrl, request, fds, program)


if __name__ == "__main__":
    main()
