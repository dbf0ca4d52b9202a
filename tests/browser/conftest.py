"""Fixtures of the browser tests: the real servers and headless Chromium.

- ``lab``: JupyterLab started by ``make lab`` (the README's command, from the repo root, with the
  course's nbgrader configuration), on a free port of 127.0.0.1, headless and without a token.
- ``voila``: the explorer app started by ``make explorer``, the same way.
- ``browser``: Debian's Chromium driven by playwright, headless (tests/conftest.py: one for every
  test that needs one, the hub tests' too).

Each server runs in a process group of its own and is stopped at teardown with everything it
started, kernels included (they run in sessions of their own, so they are found through the
process tree), even when a test fails. Servers are started once per session, and only if a test
needs them.

Where Chromium (or playwright) is missing the tests skip with the command that installs it;
under CI (CI=true) that is a failure instead. $CHROMIUM overrides the browser's path.
Screenshots and the timings measured go to a temporary directory, or to $BROWSER_SCREENSHOTS
(``make screenshots`` sets docs/images); the timings are also printed at the end of the run.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1280, "height": 800}
SERVER_START_TIMEOUT = 90  # seconds; JupyterLab starts in ~3 s here

# Timings measured by the tests, {"what (unit)": [values]}: reported at the end, never asserted.
_MEASURED: dict[str, list[float]] = {}


class PageLog:
    """Everything a page asked the network for, and every error it logged."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def off_host(self, host: str = "127.0.0.1") -> list[str]:
        """Requests that leave ``host`` (data: and blob: URLs stay in the page)."""
        return [u for u in self.requests
                if not u.startswith(("data:", "blob:")) and not u.startswith((f"http://{host}:", f"ws://{host}:"))]


@pytest.fixture
def new_page(browser):
    """``new_page()`` opens a page in a fresh browser context; ``page.log`` is its :class:`PageLog`.
    Every context is closed at the end of the test."""
    contexts = []

    def make():
        context = browser.new_context(viewport=VIEWPORT)
        contexts.append(context)
        page = context.new_page()
        page.log = PageLog(page)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    """Where screenshots go: $BROWSER_SCREENSHOTS, or a temporary directory."""
    target = os.environ.get("BROWSER_SCREENSHOTS")
    path = Path(target).resolve() if target else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------------------------------ servers
# Straight to 127.0.0.1, whatever proxy the environment names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server started by a ``make`` target, in a process group of its own."""

    def __init__(self, name: str, argv: list[str], port: int, ready_path: str, log: Path, env: dict):
        self.name, self.argv, self.port, self.ready_path, self.log_path, self.env = name, argv, port, ready_path, log, env
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it was ready:\n{self.log()}")
            try:
                with _DIRECT.open(self.url + self.ready_path, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready after {SERVER_START_TIMEOUT} s:\n{self.log()}")

    def log(self, tail: int = 4000) -> str:
        return self.log_path.read_bytes()[-tail:].decode(errors="replace")

    def processes(self) -> list[psutil.Process]:
        """The server's process tree: make, the server, and its kernels."""
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kernels(self) -> list[psutil.Process]:
        """The kernels the server runs now."""
        out = []
        for p in self.processes():
            try:
                if "ipykernel_launcher" in " ".join(p.cmdline()):
                    out.append(p)
            except psutil.NoSuchProcess:
                pass
        return out

    def stop(self) -> None:
        """SIGTERM to the process group (the server shuts its kernels down), then SIGKILL to anything left."""
        if self.proc is None:
            return
        tree = self.processes()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        _, alive = psutil.wait_procs(tree, timeout=15)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        psutil.wait_procs(alive, timeout=5)
        self.proc.wait(timeout=5)


def _server_env(tmp: Path) -> dict:
    # Connection files of this run's kernels stay in its own runtime directory.
    return {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}


@pytest.fixture(scope="session")
def lab(browser, tmp_path_factory):
    """JupyterLab as `make lab` starts it, headless on a free port, without a token.

    Its user settings, workspaces and checkpoints live in a temporary directory: autosave is off,
    so that what the tests type into a course notebook is never written to the repository, and
    no news or update check runs."""
    tmp = tmp_path_factory.mktemp("lab")
    settings = tmp / "settings" / "@jupyterlab"
    for plugin, values in {"docmanager-extension/plugin": {"autosave": False},
                           "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}
                           }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    args = ["--no-browser", "--ip=127.0.0.1", f"--port={port}", "--IdentityProvider.token=", "--ServerApp.password=",
            f"--LabApp.user_settings_dir={tmp / 'settings'}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
            # Opening a notebook makes a checkpoint copy of it: keep those out of the repository.
            f"--FileCheckpoints.checkpoint_dir={tmp / 'checkpoints'}"]
    # -o setup: the environment is the one running these tests; never reinstall it from a test.
    server = Server("JupyterLab (make lab)", ["make", "-s", "-o", "setup", "lab", "LAB_ARGS=" + " ".join(args)],
                    port, "/api/status", tmp / "lab.log", _server_env(tmp))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def voila(browser, tmp_path_factory):
    """The explorer app as `make explorer` starts it, headless on a free port."""
    tmp = tmp_path_factory.mktemp("voila")
    port = free_port()
    args = ["--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
    # Readiness is probed on a static file: a request for the page itself would start a kernel.
    server = Server("Voila (make explorer)", ["make", "-s", "-o", "setup", "explorer", "EXPLORER_ARGS=" + " ".join(args)],
                    port, "/voila/static/voila.js", tmp / "voila.log", _server_env(tmp))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def measured(shots):
    """{"what (unit)": [values]} for the tests to fill: printed at the end of the run and saved as
    measurements.json beside the screenshots."""
    yield _MEASURED
    if _MEASURED:
        (shots / "measurements.json").write_text(json.dumps(_summary(), indent=2) + "\n")


def _summary() -> dict:
    return {what: {"median": round(statistics.median(v), 1), "min": round(min(v), 1), "max": round(max(v), 1),
                   "n": len(v), "values": [round(x, 1) for x in v]} for what, v in _MEASURED.items()}


def pytest_terminal_summary(terminalreporter):
    if not _MEASURED:
        return
    terminalreporter.section("measured in Chromium (reported, not asserted)")
    for what, s in _summary().items():
        terminalreporter.write_line(f"{what}: median {s['median']:g} (min {s['min']:g}, max {s['max']:g}, n={s['n']})")
