"""Shared by every test: figures without a screen, and the one headless Chromium of the run.

``browser``: Debian's Chromium (/usr/bin/chromium, or $CHROMIUM) driven by playwright, started once
per session for the browser tests and the hub tests alike (playwright's sync API allows one instance
at a time in a thread). Where Chromium (or playwright) is missing the tests that need it skip with the
command that installs it; under CI (CI=true) that is a failure instead.
"""
import os
import shutil
import signal

import matplotlib
import psutil
import pytest

matplotlib.use("Agg")  # tests draw figures without a screen
os.environ.setdefault("MPLBACKEND", "Agg")


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # Debian's package
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _missing() -> str | None:
    """Why the tests that drive Chromium cannot run here, with the command that fixes it; None when they can."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"Chromium is not installed at {CHROMIUM}: install it with `sudo apt-get install chromium` "
                "(Debian/Ubuntu; .ci/run does this in CI)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: run `make setup` (it installs the project with '.[dev]')"
    if shutil.which("make") is None:
        return "make is missing: install it with `sudo apt-get install make`"
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium. Skips (fails under CI=true) when it cannot be started."""
    reason = _missing()
    if reason:
        if in_ci():
            pytest.fail(f"the tests that drive Chromium must run in CI (CI=true), but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # A SIGTERM (a CI timeout, `timeout`, `kill`) ends the run like Ctrl-C does: pytest then tears
    # its fixtures down, so the servers and their kernels are stopped rather than left behind.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    started: list[psutil.Process] = []
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                yield chromium
            finally:
                started = [c for c in psutil.Process().children(recursive=True) if _is_browser(c)]
                chromium.close()
    finally:
        signal.signal(signal.SIGTERM, previous)
        # Chromium's helper processes outlive the browser for a moment: wait until they are gone.
        _, alive = psutil.wait_procs(started, timeout=10)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass


def _is_browser(proc: psutil.Process) -> bool:
    """Chromium, its helpers, and playwright's driver (node)."""
    try:
        return any(part in proc.name() for part in ("chrom", "node", "playwright"))
    except psutil.NoSuchProcess:
        return False


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# The files that grade whole classes or start servers, longest first (from the run's --durations):
# under `make test`'s workers (pytest-xdist, a file to a worker) they start first, so that none of them
# is left running alone at the end while the other worker has nothing to do.
LONGEST_FIRST = ["hub/test_hub.py", "test_notebooks.py", "test_cheating.py", "test_grader_demo.py",
                 "test_gradescope.py", "test_cluster.py", "test_secrets.py", "test_grade_one.py",
                 "test_lms_grading.py", "browser/test_explorer.py"]


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    tests = config.rootpath / "tests"

    def key(item):
        try:
            return rank.get(item.path.relative_to(tests).as_posix(), len(rank))
        except ValueError:   # a test from outside tests/
            return len(rank)

    items.sort(key=key)   # stable: the order within a file, and of the other files, is unchanged
