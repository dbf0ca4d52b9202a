"""Fixtures of the hub tests: a real JupyterHub started by `make hub`, its users, and headless Chromium.

- ``hub``: `make hub` on free ports of 127.0.0.1 with users of its own (prefix ``hubt-``: an
  instructor and 31 students), its own state folder and exchange in a temporary folder. At the end
  the hub is stopped (SIGTERM to its process group: JupyterHub stops the proxy and every server) and
  `python -m grader.hub.bootstrap down` removes the users, their homes, the ACL entries and the
  exchange, even when a test failed.
- ``browser`` (tests/conftest.py): the run's one headless Chromium, shared with the browser tests.

What they need: root (users are created), JupyterHub's proxy in .hub/ (`make hub-deps`, on which
`make test` depends), setfacl where the venv's interpreter sits under a folder others cannot
traverse (make hub-deps installs it), and for the round trip Chromium and playwright. Missing any,
the tests skip with the command that installs it; under CI (CI=true) that is a failure instead.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from grader.hub.bootstrap import CREDENTIALS, DEFAULT_PROXY
from grader.hub.site import SITE_FILE, Site

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "hubt-"
STUDENTS = 31           # one in the browser, thirty submitting at once
START_TIMEOUT = 120     # seconds; `make hub` with 32 new users is up in ~10 s here

# Timings measured by the tests, {"what (s)": value}: reported at the end, never asserted.
MEASURED: dict[str, float] = {}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _missing() -> str | None:
    """Why the hub tests cannot run here, with what fixes it; None when they can."""
    if os.geteuid() != 0:
        return "the hub tests create Unix users and run JupyterHub as root: run them as root"
    for tool, package in [("useradd", "passwd"), ("runuser", "util-linux"), ("make", "make")]:
        if shutil.which(tool) is None:
            return f"{tool} is missing: install it with `apt-get install {package}`"
    interpreter = Path(os.path.realpath(sys.executable)).parent
    if shutil.which("setfacl") is None and any(not d.stat().st_mode & stat.S_IXOTH for d in interpreter.parents):
        return (f"the class cannot reach {interpreter} without an ACL, and setfacl is missing: run `make hub-deps` "
                "(it installs Debian's acl)")
    if not os.access(DEFAULT_PROXY, os.X_OK):
        return f"JupyterHub's proxy is not installed at {DEFAULT_PROXY}: run `make hub-deps` (needs npm)"
    try:
        import jupyterhub  # noqa: F401
    except ImportError as e:
        return f"{e.name} is missing: run `make setup` (it installs the project with '.[dev]')"
    return None


def require_everything() -> None:
    reason = _missing()
    if reason:
        if in_ci():
            pytest.fail(f"the hub tests must run in CI (CI=true), but {reason}", pytrace=False)
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Hub:
    """A hub started by `make hub`, in a process group of its own."""

    def __init__(self, base: Path):
        self.base = base
        self.state = base / "state"
        self.port = free_port()
        self.args = [f"--prefix={PREFIX}", f"--students={STUDENTS}", f"--state={self.state}",
                     f"--exchange={base / 'exchange'}", f"--port={self.port}", f"--hub-port={free_port()}",
                     f"--proxy-api-port={free_port()}"]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "hub.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        started = time.monotonic()
        with open(self.log_path, "wb") as log:
            # -o: the environment is the one running these tests; never reinstall it from a test.
            self.proc = subprocess.Popen(["make", "-s", "-o", "setup", "-o", "hub-deps", "hub",
                                          "HUB_ARGS=" + " ".join(self.args)],
                                         cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        while time.monotonic() - started < START_TIMEOUT:
            if self.proc.poll() is not None:
                raise RuntimeError(f"make hub exited with {self.proc.returncode}:\n{self.log()}")
            if b"JupyterHub is up at" in self.log_path.read_bytes():
                return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"make hub was not up after {START_TIMEOUT} s:\n{self.log()}")

    @property
    def site(self) -> Site:
        return Site.load(self.state / SITE_FILE)

    @property
    def passwords(self) -> dict[str, str]:
        return json.loads((self.state / CREDENTIALS).read_text())

    def log(self, tail: int = 6000) -> str:
        return self.log_path.read_bytes()[-tail:].decode(errors="replace")

    def as_user_argv(self, user: str, *argv: str) -> list[str]:
        """``argv`` run as ``user`` with the environment their hub server has (runuser, env -i)."""
        env = {"HOME": str(Site.home(user)), "USER": user, "LOGNAME": user, **self.site.environment(user)}
        return ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]

    def as_user(self, user: str, *argv: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run ``argv`` as ``user``, in their home; fails with its output unless ``check`` is false."""
        proc = subprocess.run(self.as_user_argv(user, *argv), cwd=Site.home(user), capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} as {user} exited with {proc.returncode}:\n"
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def stop(self) -> None:
        """SIGTERM to the process group (JupyterHub stops the proxy and the servers), SIGKILL to what is left."""
        if self.proc is None:
            return
        try:
            tree = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        _, alive = psutil.wait_procs(tree, timeout=20)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        self.proc.wait(timeout=5)


def _quiet_lab_settings(site: Site, user: str) -> None:
    """No news or update toast over the page (JupyterLab asks on a first start), as in the browser tests."""
    path = Site.home(user) / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    subprocess.run(["chown", "-R", f"{user}:", str(Site.home(user) / ".jupyter")], check=True)


@pytest.fixture(scope="module")
def hub():
    require_everything()
    base = Path(tempfile.mkdtemp(prefix="backprop-hub-test-"))
    base.chmod(0o755)  # the class reaches the exchange inside it
    hub = Hub(base)
    try:
        MEASURED["make hub: set up 32 users and start, until it answers (s)"] = hub.start()
        for user in (hub.site.instructor, hub.site.students[0]):
            _quiet_lab_settings(hub.site, user)
        yield hub
    finally:
        hub.stop()
        if (hub.state / SITE_FILE).exists():
            subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "grader.hub.bootstrap", "down",
                            f"--state={hub.state}"], cwd=ROOT, check=True, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def measured() -> dict[str, float]:
    """{"what (s)": seconds} for the tests to fill: printed at the end of the run."""
    return MEASURED


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.section("measured on the hub (reported, not asserted)")
        for what, value in MEASURED.items():
            terminalreporter.write_line(f"{what}: {value:.1f}")
