"""The fallback isolation: student code as an unprivileged user of its own, where bubblewrap cannot run.

Inside a container that refuses user namespaces (Gradescope's, Docker's default seccomp profile)
bubblewrap cannot build its sandbox. A grader running as root can still start the student process
as a uid that owns nothing (no account, no files, no other process), with the policy's seccomp
filter, ``no_new_privs``, the rlimits, a cleared environment and a private scratch folder. What that
protects is only what file permissions protect: it hides nothing that every user may read. The
exact promise, and its limits, is docs/gradescope.md's "Isolation" section.

Each student process gets a uid of its own from a small range (COURSE_GRADER_UID_BASE, 32 slots),
claimed with a lock, so that killing "every process of this uid" never touches another job's
student, and nothing one student leaves behind is there for the next user of the slot.
"""
from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SLOTS = 32
DEFAULT_BASE = 59500     # below systemd's dynamic users (61184-65519) and nobody (65534)
# Folders every user may write to: what a student leaves there is removed with its processes.
SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")

# Runs as root with the interpreter's own -I -S, before any student code: becomes the slot's user
# (no groups), sets no_new_privs, loads the seccomp program read from an fd, asks to be killed
# with its parent, then becomes the student process. Plain ctypes: nothing but the standard library.
LOADER = r"""
import ctypes, os, signal, sys
uid, fd = int(sys.argv[1]), int(sys.argv[2])
prog = b""
while True:
    chunk = os.read(fd, 1 << 16)
    if not chunk:
        break
    prog += chunk
os.close(fd)
os.setgroups([])
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
buf = ctypes.create_string_buffer(prog, len(prog))
fprog = Prog(len(prog) // 8, ctypes.addressof(buf))
if libc.prctl(1, signal.SIGKILL, None, 0, 0) != 0 or libc.prctl(38, 1, None, 0, 0) != 0 \
        or libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:
    os.write(2, b"course-grader: the seccomp filter could not be loaded: errno %d\n" % ctypes.get_errno())
    os._exit(70)
os.execv(sys.argv[3], sys.argv[3:])
"""


def base() -> int:
    return int(os.environ.get("COURSE_GRADER_UID_BASE", DEFAULT_BASE))


def lock_dir() -> Path:
    """A folder only root can write, for the slots' locks (a student could not fake a lock there)."""
    for d in (Path("/run/course-grader"), Path(tempfile.gettempdir()) / f"course-grader-locks-{os.geteuid()}"):
        try:
            d.mkdir(mode=0o700, exist_ok=True)
            st = d.lstat()
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077:
            return d
    raise OSError("no private folder for the uid slots' locks (/run/course-grader or the temp folder)")


def accounts_in_range() -> list:
    """The slots' uids that belong to an account of the machine (they must not: the uid would own files)."""
    out = []
    for uid in slot_uids():
        try:
            out.append(f"{uid} ({pwd.getpwuid(uid).pw_name})")
        except KeyError:
            pass
    return out


def slot_uids() -> range:
    return range(base(), base() + SLOTS)


def pids_of(uids) -> dict:
    """{uid: [pids]} of the live (non-zombie) processes whose real, effective or saved uid is one of ``uids``."""
    wanted = {str(u) for u in ([uids] if isinstance(uids, int) else uids)}
    out: dict = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        hit = wanted & set(fields.get("Uid", "").split()[:3])
        if hit and not fields.get("State", "").strip().startswith(("Z", "X")):
            out.setdefault(int(hit.pop()), []).append(int(entry.name))
    return out


def kill_all(uids) -> None:
    """Every process of ``uids`` (one uid or several), however it detached itself (new session, double fork)."""
    for _ in range(100):
        found = pids_of(uids)
        if not found:
            return
        for u, pids in found.items():
            # kill(-1) from the uid itself reaches all of its processes in one pass of the kernel, so a
            # process that keeps forking cannot outrun it; the direct kills cover one that is exiting.
            subprocess.run([sys.executable, "-I", "-S", "-c",
                            "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept ProcessLookupError:\n    pass"],
                           user=u, group=u, extra_groups=[], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10, check=False)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.01)


def remove_files_of(uids) -> None:
    """What ``uids`` (one uid or several) left at the top of the folders every user may write to."""
    wanted = {uids} if isinstance(uids, int) else set(uids)
    for top in SHARED_WRITABLE:
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
                if st.st_uid not in wanted:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    shutil.rmtree(e.path, ignore_errors=True)   # fd-based on Linux: symlinks are not followed
                else:
                    os.unlink(e.path)
            except OSError:
                pass


class Slot:
    """One claimed uid and its private scratch folder, for one student process."""

    def __init__(self):
        self.uid = None
        self._lock = None
        locks = lock_dir()
        for uid in slot_uids():
            fd = os.open(locks / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self.uid, self._lock = uid, fd
            break
        if self.uid is None:
            raise OSError(f"all {SLOTS} student uids from {base()} are in use")
        self._sweep()
        self.scratch = tempfile.mkdtemp(prefix="course-student-")
        os.chown(self.scratch, self.uid, self.uid)

    def _sweep(self) -> None:
        kill_all(self.uid)
        remove_files_of(self.uid)

    def argv(self, seccomp_fd: int, inner: list) -> list:
        """Start ``inner`` (an interpreter's command line) as this slot's user, under the filter."""
        return [inner[0], "-I", "-S", "-c", LOADER, str(self.uid), str(seccomp_fd), *inner]

    def env(self, base_env: dict) -> dict:
        return {**base_env, "HOME": self.scratch, "TMPDIR": self.scratch,
                "MPLCONFIGDIR": str(Path(self.scratch) / ".matplotlib"), "USER": "student", "LOGNAME": "student"}

    def kill(self) -> None:
        if self.uid is not None:
            kill_all(self.uid)

    def release(self) -> None:
        if self.uid is None:
            return
        self._sweep()
        shutil.rmtree(self.scratch, ignore_errors=True)
        os.close(self._lock)
        self.uid = self._lock = None


# ------------------------------------------------------------------------------ checks
def exposure(path: Path) -> str:
    """Why student code running as another uid could not read ``path``'s files, or could change
    them ("" when it can read and cannot change them): the facade folder must be both."""
    path = Path(path).resolve()
    for p in [*reversed(path.parents), path]:
        st = p.stat()
        if not st.st_mode & stat.S_IXOTH:
            return f"{p} is not open to other users (mode {stat.filemode(st.st_mode)})"
        if st.st_uid != 0 or st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return f"{p} may be changed by a user other than root (owner uid {st.st_uid}, mode {stat.filemode(st.st_mode)})"
    for f in path.rglob("*"):
        st = f.lstat()
        if st.st_uid != 0 or st.st_mode & 0o022 or not st.st_mode & stat.S_IROTH \
                or stat.S_ISDIR(st.st_mode) and not st.st_mode & stat.S_IXOTH:
            return f"{f} is not read-only for other users (owner uid {st.st_uid}, mode {stat.filemode(st.st_mode)})"
    return ""


def readable_copy(folder: Path) -> Path:
    """``folder`` (the stubbed course_lib and the runner) where every user can read it and only root
    can change it: itself if it already is, else a copy made once under a root-owned folder (so that
    the grading workspace, with the submissions and the secret, can stay private)."""
    folder = Path(folder)
    if not exposure(folder):
        return folder
    for parent in (Path("/run/course-grader-public"), Path(tempfile.gettempdir()) / f"course-grader-public-{os.geteuid()}"):
        try:
            parent.mkdir(mode=0o755, exist_ok=True)
            st = parent.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
                continue   # not ours, or changeable by others: never use it
            os.chmod(parent, 0o755)
        except OSError:
            continue
        copy = parent / folder.name   # the folder's name is its content's fingerprint
        if not copy.exists():
            tmp = Path(tempfile.mkdtemp(prefix=".copy-", dir=parent))
            shutil.copytree(folder, tmp / "c", copy_function=shutil.copy)
            for p in [tmp / "c", *(tmp / "c").rglob("*")]:
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
            try:
                (tmp / "c").rename(copy)
            except OSError:
                pass   # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
        why = exposure(copy)
        if not why:
            return copy
    raise OSError(f"no folder every user can read for the sandbox's files ({exposure(folder)})")


TRIAL = r"""
import json, os, sys
site, paths, writes = json.loads(sys.argv[1])
sys.path[:0] = site
out = {"uid": os.getuid(), "reads": {}, "writes": {}}
if site:
    try:
        import numpy
        out["numpy"] = "ok"
    except Exception as e:
        out["numpy"] = f"{type(e).__name__}: {e}"
for p in paths:
    try:
        if os.path.isdir(p):
            os.listdir(p)
        else:
            open(p, "rb").close()
        out["reads"][p] = "read"
    except OSError as e:
        out["reads"][p] = type(e).__name__
for d in writes:
    try:
        with open(os.path.join(d, "written-by-student-code"), "x"):
            pass
        out["writes"][d] = "written"
    except OSError as e:
        out["writes"][d] = type(e).__name__
try:
    import socket
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    out["network"] = "open"
except OSError as e:
    out["network"] = type(e).__name__
print(json.dumps(out))
"""


def trial(seccomp_program: bytes, site: list, paths: list = (), writes: list = ()) -> dict:
    """Start a process exactly as a student's is started (a claimed uid, the loader, the filter) and
    report what it could do: import numpy, read each of ``paths``, create a file in each folder of
    ``writes``, open a network socket."""
    from .launch import _memfd

    slot = Slot()
    fd = _memfd(seccomp_program)
    try:
        argv = slot.argv(fd, [sys.executable, "-I", "-S", "-c", TRIAL,
                          json.dumps([list(site), list(map(str, paths)), list(map(str, writes))])])
        run = subprocess.run(argv, capture_output=True, text=True, pass_fds=[fd], timeout=60, cwd=slot.scratch,
                             env=slot.env({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}))
    finally:
        os.close(fd)
        slot.release()
    if run.returncode != 0:
        tail = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit status {run.returncode}"
        return {"error": tail}
    return json.loads(run.stdout)
