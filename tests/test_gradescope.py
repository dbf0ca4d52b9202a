"""The Gradescope autograder, run as Gradescope runs it: `course-grader gradescope` builds the zip, its
setup.sh installs the course into a fresh environment, and its run_autograder grades a submission
folder in a directory laid out as /autograder is, writing results/results.json. Once with bubblewrap,
once where bubblewrap is refused and cgroups are read-only (as in Gradescope's container): the
student's code then runs as an unprivileged uid, and every attack below is tried through the real
command, as a student would try it."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import demo
from grader.notebooks import nbgrader_meta
from grader.sandbox import launch, uid
from grader.workspace import Course

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.find(ROOT)
pytestmark = pytest.mark.notebooks
ASSIGNMENT, NOTEBOOK = "02_forward_cache", "forward_cache"
TIMEOUT = 5
FORGED = json.dumps({"score": 1000.0, "output": "forged by the student", "tests": []})
# Where bubblewrap is refused and cgroups are read-only, as inside Gradescope's Docker container.
GRADESCOPE_LIKE = {"COURSE_GRADER_BWRAP": "/bin/false", "COURSE_GRADER_NO_CGROUPS": "1"}


def _require(condition, message):
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(message)   # under CI a skip would hide that the defences went untested
        pytest.skip(message)


# ------------------------------------------------------------------------------ the notebooks
def _notebook(solved=True, replace=None, extra=None) -> str:
    """The student version of notebook 02, solved from solutions/ (as grader/demo.py does), with
    solution cells replaced ({grade_id: source}) and an extra cell after the imports."""
    nb = nbformat.read(COURSE.release_dir / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    if solved:
        nb = demo._solved(nb, nbformat.read(COURSE.source / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4))
    for c in nb.cells:
        gid = nbgrader_meta(c).get("grade_id")
        if gid in (replace or {}):
            c.source = replace[gid]
    if extra:
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first + 1, nbformat.v4.new_code_cell(extra))
    return nbformat.writes(nb)


def _hostile(ag) -> str:
    """Every attack on the autograder itself. The probes run when the notebook's cells are replayed;
    their outcomes come back to the student, and to this test, in relu's error message. softmax is
    honest (grading goes on); cross_entropy loops forever; forward is a fork bomb."""
    paths = {"secret": ag.source / "secret", "specs": ag.source / "specs" / ASSIGNMENT / f"{NOTEBOOK}.json",
             "config": ag.source / "config.json", "source": ag.source, "submission": ag.root / "submission",
             "metadata": ag.root / "submission_metadata.json", "reference": ag.reference / "losses.py"}
    probe = f'''
import json as _json, os as _os, signal as _signal, socket as _socket, time as _time
def _probe():
    r = {{"uid": _os.getuid()}}
    for key, path in {json.dumps({k: str(v) for k, v in paths.items()})}.items():
        try:
            data = "|".join(sorted(_os.listdir(path))) if _os.path.isdir(path) else open(path).read()
            r[key] = "BREACH " + data[:40]
        except OSError as e:
            r[key] = type(e).__name__
    try:
        r["grader_env"] = "read " + str(len(open(f"/proc/{{_os.getppid()}}/environ", "rb").read()))
    except OSError as e:
        r["grader_env"] = type(e).__name__
    for key, path in (("write_results", {str(ag.root / "results" / "results.json")!r}),
                      ("write_source", {str(ag.source / "planted.py")!r})):
        try:
            with open(path, "w") as f:
                f.write({FORGED!r})
            r[key] = "BREACH written"
        except OSError as e:
            r[key] = type(e).__name__
    for key, pid in (("kill_parent", _os.getppid()), ("kill_init", 1)):
        try:
            _os.kill(pid, _signal.SIGKILL)
            r[key] = "sent"
        except OSError as e:
            r[key] = type(e).__name__
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line)
    r["no_new_privs"], r["seccomp"] = status["NoNewPrivs"].strip(), status["Seccomp"].strip()
    import ctypes as _ctypes
    libc = _ctypes.CDLL(None, use_errno=True)
    r["new_user_namespace"] = "BREACH made" if libc.unshare(0x10000000) == 0 else _os.strerror(_ctypes.get_errno())
    libc.ptrace.argtypes = [_ctypes.c_long, _ctypes.c_long, _ctypes.c_void_p, _ctypes.c_void_p]
    r["ptrace_parent"] = "BREACH attached" if libc.ptrace(16, _os.getppid(), None, None) == 0 else \
        _os.strerror(_ctypes.get_errno())   # PTRACE_ATTACH
    try:
        _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM).connect(("1.1.1.1", 53))
        r["network"] = "BREACH connected"
    except OSError as e:
        r["network"] = type(e).__name__
    children = []
    for _ in range(64):
        try:
            pid = _os.fork()
        except OSError:
            break
        if pid == 0:
            _time.sleep(30)
            _os._exit(0)
        children.append(pid)
    r["forks"] = len(children)
    for pid in children:
        _os.kill(pid, _signal.SIGKILL)
        _os.waitpid(pid, 0)
    pid = _os.fork()   # a daemon that keeps forging results.json after the notebook is done
    if pid == 0:
        _os.setsid()
        if _os.fork() == 0:
            _os.closerange(3, 1024)
            for _ in range(300):
                try:
                    with open({str(ag.root / "results" / "results.json")!r}, "w") as f:
                        f.write({FORGED!r})
                except OSError:
                    pass
                _time.sleep(0.1)
        _os._exit(0)
    _os.waitpid(pid, 0)
    return r
REPORT = _probe()
'''
    return _notebook(extra=probe, replace={
        "relu": "def relu(Z):\n    raise RuntimeError('REPORT ' + _json.dumps(REPORT))",
        "cross_entropy": "def cross_entropy(Yhat, Y):\n    while True:\n        pass",
        "forward": "def forward(params, X):\n    import os\n    while True:\n        try:\n            os.fork()\n"
                   "        except OSError:\n            pass"})


# ------------------------------------------------------------------------------ the autograder
def _fresh_venv(venv: Path) -> Path:
    """A virtual environment of a Python every user may run (as on Gradescope: not under /root), with
    this environment's packages hard-linked in; setup.sh then pip-installs the course's wheel into it,
    offline, its dependencies already satisfied."""
    version = "python{}.{}".format(*sys.version_info[:2])
    candidates = [Path("/usr/bin") / version, Path("/usr/local/bin") / version, Path(sys._base_executable)]

    def runs_unprivileged(python: Path) -> bool:
        return python.exists() and subprocess.run([str(python), "-c", "pass"], user=uid.base(), group=uid.base(),
                                                  extra_groups=[], capture_output=True).returncode == 0

    python = next((p for p in candidates if runs_unprivileged(p)), None)
    _require(python is not None, f"no {version} that an unprivileged user can run (tried {candidates})")
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                  "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    for entry in ours.iterdir():
        name = entry.name.lower()
        if name.startswith(("course_lib", "grader", "__editable__", "backprop_from_scratch", "_backprop")) or \
                name.endswith(".pth") and "editable" in name:
            continue
        if entry.is_dir():
            subprocess.run(["cp", "-al", str(entry), str(theirs / entry.name)], check=True)
        else:
            os.link(entry, theirs / entry.name)
    return venv


class Autograder:
    """/autograder as Gradescope lays it out, under ``base``; the paths come from the environment."""

    def __init__(self, base: Path, zip_path: Path, venv: Path):
        self.base, self.zip, self.venv = base, zip_path, venv
        self.root = base / "autograder"
        self.source = self.root / "source"
        self.env = {"COURSE_GRADER_AUTOGRADER": str(self.root), "COURSE_GRADER_VENV": str(venv)}

    def install(self) -> subprocess.CompletedProcess:
        (self.root / "submission").mkdir(parents=True)
        (self.root / "results").mkdir()
        with zipfile.ZipFile(self.zip) as zf:
            zf.extractall(self.source)
        for name in ("setup.sh", "run_autograder"):   # zipfile does not restore modes; Gradescope's unzip does
            (self.source / name).chmod(0o755)
        shutil.copy(self.source / "run_autograder", self.root / "run_autograder")
        return subprocess.run(["bash", str(self.source / "setup.sh")], capture_output=True, text=True,
                              env={**os.environ, **self.env, "COURSE_GRADER_APT": "0", "PIP_NO_INDEX": "1"})

    @property
    def reference(self) -> Path:
        site = subprocess.run([str(self.venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                               "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
        return Path(site) / "course_lib"

    def run(self, files: dict, env: dict | None = None) -> tuple[dict, subprocess.CompletedProcess]:
        """Grade a submission ({relative path: text}); a forged results.json is there beforehand."""
        sub, results = self.root / "submission", self.root / "results"
        shutil.rmtree(sub)
        sub.mkdir()
        for rel, content in files.items():
            (sub / rel).parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):   # a link, as an unpacked upload might hold
                (sub / rel).symlink_to(content)
            else:
                (sub / rel).write_text(content)
        (self.root / "submission_metadata.json").write_text(json.dumps({"users": [{"id": 4242, "email": "a@b.c"}]}))
        (results / "results.json").write_text(FORGED)
        run = subprocess.run([str(self.root / "run_autograder")], capture_output=True, text=True, cwd=self.root,
                             env={**os.environ, **self.env, **(env or {})}, timeout=600)
        return json.loads((results / "results.json").read_text()), run


@pytest.fixture(scope="module")
def ag():
    _require(os.geteuid() == 0, "Gradescope runs the autograder as root; so must this test")
    _require(launch.probe_bwrap().ok, f"bubblewrap cannot run here: {launch.probe_bwrap().reason}")
    base = Path(tempfile.mkdtemp(prefix="gradescope-test-"))
    base.chmod(0o755)   # the uid isolation's student process must reach the environment's Python
    try:
        zip_path = base / "autograder.zip"
        build = subprocess.run([sys.executable, "-m", "grader", "gradescope", "--out", str(zip_path), "--assignment",
                                ASSIGNMENT, "--timeout", str(TIMEOUT), "--workspace", str(base / "work")],
                               capture_output=True, text=True, cwd=ROOT)
        assert build.returncode == 0, build.stderr[-3000:]
        grader = Autograder(base, zip_path, _fresh_venv(base / "venv"))
        setup = grader.install()
        assert setup.returncode == 0, (setup.stdout[-3000:], setup.stderr[-3000:])
        grader.setup_log = setup.stdout
        yield grader
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _by_name(document) -> dict:
    return {t["name"].split(": ")[1]: t for t in document["tests"]}


def _leftovers() -> list:
    """Processes of the student uids, and their files in the folders everyone may write to."""
    procs = [p for pids in uid.pids_of(uid.slot_uids()).values() for p in pids]
    files = [e.path for top in uid.SHARED_WRITABLE if os.path.isdir(top) for e in os.scandir(top)
             if uid.base() <= e.stat(follow_symlinks=False).st_uid < uid.base() + uid.SLOTS]
    return procs + files


# ------------------------------------------------------------------------------ the zip and setup.sh
def test_the_zip_has_gradescopes_layout_and_setup_locks_the_course_away(ag):
    with zipfile.ZipFile(ag.zip) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 & 0o777 for i in zf.infolist()}
        specs = zf.read(f"specs/{ASSIGNMENT}/{NOTEBOOK}.json").decode()
    assert {"setup.sh", "run_autograder", "config.json", "secret", "constraints.txt"} <= names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755 and modes["secret"] == 0o600
    assert any(n.startswith("wheels/") and n.endswith(".whl") for n in names)
    assert "BEGIN HIDDEN TESTS" not in specs and "BEGIN SOLUTION" not in specs and "hidden" in specs
    for package in ("course_lib", "grader"):
        assert (ag.reference.parent / package).stat().st_mode & 0o777 == 0o700, package
    assert ag.source.stat().st_mode & 0o777 == 0o700 and (ag.source / "secret").stat().st_mode & 0o777 == 0o600
    assert "isolation bubblewrap" in ag.setup_log


# ------------------------------------------------------------------------------ both isolations
@pytest.fixture(scope="module", params=["bwrap", "uid"])
def graded(request, ag):
    env = {} if request.param == "bwrap" else GRADESCOPE_LIKE
    out = {"mode": request.param}
    out["honest"] = ag.run({f"{NOTEBOOK}.ipynb": _notebook()}, env)
    out["blank"] = ag.run({f"{NOTEBOOK}.ipynb": _notebook(solved=False)}, env)
    out["hostile"] = ag.run({f"{NOTEBOOK}.ipynb": _hostile(ag)}, env)
    time.sleep(1)   # the hostile notebook's daemon would forge results.json now, were it alive
    out["after"] = json.loads((ag.root / "results" / "results.json").read_text())
    out["leftovers"] = _leftovers()
    return out


def _isolation(document) -> str:
    return document["extra_data"]["isolation"]


def test_an_honest_submission_gets_full_marks(graded):
    document, run = graded["honest"]
    assert run.returncode == 0, run.stdout[-3000:]
    assert document["score"] == 8.0 and [t["score"] for t in document["tests"]] == [1, 2, 2, 3], document
    assert all(t["max_score"] == t["score"] and t["output"].startswith("Passed") for t in document["tests"])
    assert document["visibility"] == "visible" and all(t["visibility"] == "visible" for t in document["tests"])
    assert document["stdout_visibility"] == "hidden"


def test_every_output_says_which_isolation_was_used(graded):
    for case in ("honest", "blank", "hostile"):
        document, _ = graded[case]
        label = _isolation(document)
        assert f"Isolation of your code while it was graded: {label}." in document["output"]
        assert [n["sandbox"] for n in document["extra_data"]["notebooks"]] == [label]
        if graded["mode"] == "bwrap":
            assert label == "bubblewrap"
        else:
            assert label.startswith("uid: an unprivileged user") and "bubblewrap cannot create the sandbox" in label


def test_a_blank_submission_scores_nothing_and_says_why(graded):
    document, _ = graded["blank"]
    assert document["score"] == 0 and len(document["tests"]) == 4
    for t in document["tests"]:
        assert t["score"] == 0 and "not done yet" in t["output"] and "NotImplementedError" in t["output"], t


def _report(document) -> dict:
    relu = _by_name(document)["relu"]["output"]
    return json.JSONDecoder().raw_decode(relu.split("REPORT ", 1)[1])[0]


def test_hostile_code_reaches_none_of_the_autograders_files(graded):
    document, _ = graded["hostile"]
    report = _report(document)
    text = json.dumps(document) + json.dumps(graded["after"])
    assert "BREACH" not in text, report
    refused = "FileNotFoundError" if graded["mode"] == "bwrap" else "PermissionError"
    for key in ("secret", "specs", "config", "source", "submission", "metadata", "reference", "write_results",
                "write_source"):
        assert report[key] == refused, (key, report)
    if graded["mode"] == "uid":
        assert uid.base() <= report["uid"] < uid.base() + uid.SLOTS, report
        assert report["grader_env"] == report["kill_parent"] == report["kill_init"] == "PermissionError", report
    assert report["network"] in ("OSError", "PermissionError"), report   # socket() refused by the seccomp filter
    # The filter is loaded, setuid programs gain nothing, and no namespace can be made to escape into
    # (this kernel allows unprivileged user namespaces: only the filter stands in the way).
    assert report["no_new_privs"] == "1" and report["seccomp"] == "2", report
    assert report["new_user_namespace"] == report["ptrace_parent"] == "Operation not permitted", report


def test_hostile_code_cannot_forge_results_or_stop_the_grading(graded, ag):
    document, run = graded["hostile"]
    assert run.returncode == 0, run.stdout[-3000:]
    tests = _by_name(document)
    assert tests["relu"]["score"] == 0 and "RuntimeError" in tests["relu"]["output"]
    assert tests["softmax"]["score"] == 2, tests["softmax"]   # graded on, in spite of everything
    assert tests["cross_entropy"]["score"] == 0 and "time limit" in tests["cross_entropy"]["output"]
    assert tests["forward"]["score"] == 0 and "time limit" in tests["forward"]["output"], tests["forward"]
    assert document["score"] == 2 and graded["after"] == document   # the daemon did not overwrite it
    assert not (ag.source / "planted.py").exists()


def test_forks_are_bounded_and_nothing_outlives_the_grading(graded):
    report = _report(graded["hostile"][0])
    assert 0 < report["forks"] < launch.policy.PROCESSES, report
    assert graded["leftovers"] == [], graded["leftovers"]


def test_the_secret_never_reaches_the_student(graded, ag):
    secret = (ag.source / "secret").read_text().strip()
    for case in ("honest", "blank", "hostile"):
        document, run = graded[case]
        assert secret not in json.dumps(document) and secret not in run.stdout


# ------------------------------------------------------------------------------ what students hand in
def test_no_notebook_is_said_plainly(ag):
    document, run = ag.run({"notes.txt": "my answers are in my head", "answers.pdf": "%PDF-1.4"})
    assert run.returncode == 0 and document["score"] == 0
    assert "No notebook (.ipynb file) was found" in document["output"] and "answers.pdf" in document["output"]


def test_what_a_student_names_is_escaped_and_bounded_in_the_summary(ag):
    # Gradescope renders the top-level output as HTML ("simple_format"); file names are the student's.
    files = {"<img src=x onerror=alert(1)>.ipynb": "{}", **{f"stray{i:03}.ipynb": "{}" for i in range(300)}}
    document, run = ag.run(files)
    assert run.returncode == 0 and document["score"] == 0 and len(document["tests"]) == 4
    assert document["output_format"] == "simple_format" and document["test_output_format"] == "text"
    assert "<img" not in document["output"] and "&lt;img src=x onerror=alert(1)&gt;.ipynb is not a notebook" in \
        document["output"]
    assert "stray008.ipynb" in document["output"] and "stray009.ipynb" not in document["output"]
    assert "... and 291 more files that were not graded." in document["output"]
    assert len(json.dumps(document)) < 60_000


def test_links_in_a_submission_are_never_followed(ag):
    document, _ = ag.run({f"{NOTEBOOK}.ipynb": ag.source / "secret", "specs": ag.source / "specs"})
    secret = (ag.source / "secret").read_text().strip()
    assert document["score"] == 0 and secret not in json.dumps(document) and "check_relu" not in json.dumps(document)
    assert f"{NOTEBOOK}.ipynb is a link, not a file" in document["output"] and "specs is a link" in document["output"]


def test_several_notebooks_grade_the_one_named_so_and_never_guess(ag):
    document, _ = ag.run({f"{NOTEBOOK}.ipynb": _notebook(solved=False), f"{NOTEBOOK} (1).ipynb": _notebook(),
                          "backward.ipynb": (COURSE.release_dir / "03_backward" / "backward.ipynb").read_text()})
    assert document["score"] == 0 and len(document["tests"]) == 4   # the exact name wins, not the better copy
    assert f"{NOTEBOOK} (1).ipynb looks like another copy" in document["output"]
    assert "backward.ipynb is notebook backward.ipynb of 03_backward" in document["output"]
    document, _ = ag.run({f"{NOTEBOOK}-Copy1.ipynb": _notebook(), f"old/{NOTEBOOK} (2).ipynb": _notebook()})
    assert document["score"] == 0 and all("does not guess" in t["output"] for t in document["tests"])


def test_a_renamed_notebook_is_known_by_its_test_cells_and_a_copy_by_its_name(ag, tmp_path):
    from grader.gradescope.submission import find

    with zipfile.ZipFile(ag.zip) as zf:
        course = {tuple(k.split("/")): ids for k, ids in json.loads(zf.read("config.json"))["notebooks"].items()}
    # every graded notebook of the course, so that a stray one can be named
    assert set(course) == {(a, n) for a, nbs in COURSE.layout.items() for n, exercises in nbs.items() if exercises}
    (tmp_path / "homework 2 final.ipynb").write_text(_notebook(solved=False))
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / f"._{NOTEBOOK}.ipynb").write_text("resource fork")
    found = find(tmp_path, {(ASSIGNMENT, NOTEBOOK): None}, course)
    assert found.graded[(ASSIGNMENT, NOTEBOOK)].how == "content" and not found.ignored and not found.problems
    (tmp_path / "homework 2 final.ipynb").unlink()
    (tmp_path / f"smithjane_1001_5001_{NOTEBOOK}-1.ipynb").write_text("not JSON: graded, then said to be invalid")
    found = find(tmp_path, {(ASSIGNMENT, NOTEBOOK): None}, course)
    assert found.graded[(ASSIGNMENT, NOTEBOOK)].how == "copy"


def test_a_notebook_of_another_assignment_is_named_as_such(ag):
    document, _ = ag.run({"backward.ipynb": (COURSE.release_dir / "03_backward" / "backward.ipynb").read_text()})
    assert document["score"] == 0 and len(document["tests"]) == 4
    assert all("backward.ipynb is notebook backward.ipynb of 03_backward, which this assignment does not grade"
               in t["output"] for t in document["tests"])


def test_an_invalid_notebook_is_said_to_be_one(ag):
    document, _ = ag.run({f"{NOTEBOOK}.ipynb": "I could not get Jupyter to work, sorry."})
    assert document["score"] == 0 and len(document["tests"]) == 4
    assert "could not be read as a notebook" in document["output"]
    assert all(t["output"].startswith("Not gradable") for t in document["tests"])


def test_bubblewrap_demanded_but_refused_runs_nothing(ag):
    canary = Path(tempfile.gettempdir()) / f"gradescope-canary-{os.getpid()}"
    notebook = _notebook(extra=f"CANARY = open({str(canary)!r}, 'w').close()",
                         replace={"relu": "def relu(Z):\n    CANARY\n    return np.maximum(Z, 0)"})
    document, _ = ag.run({f"{NOTEBOOK}.ipynb": notebook}, {**GRADESCOPE_LIKE, "COURSE_GRADER_ISOLATION": "bwrap"})
    assert not canary.exists()
    assert document["score"] == 0 and "never runs student code unprotected" in document["tests"][0]["output"]
    assert "none available, so nothing was run" in document["output"]


def test_results_are_written_within_gradescopes_timeout(ag):
    """Past its timeout Gradescope gives 0 and no results: run_autograder stops grading in time. Here
    the submission's time is the reserve kept for writing results and 8 s more, and relu loops."""
    from grader.gradescope.run import RESERVE_SECONDS

    config_file = ag.source / "config.json"
    config = config_file.read_text()
    with zipfile.ZipFile(ag.zip) as zf:
        built = json.loads(zf.read("config.json"))
    assert built["budget_seconds"] == 60 * built["minutes_needed"] >= 60 + built["watchdog_seconds"][
        f"{ASSIGNMENT}/{NOTEBOOK}"]   # a zip of one notebook: the default leaves it all of its watchdog
    config_file.write_text(json.dumps({**json.loads(config), "budget_seconds": RESERVE_SECONDS + 8}))
    looping = _notebook(replace={"relu": "def relu(Z):\n    while True:\n        pass"})
    try:
        started = time.monotonic()
        document, run = ag.run({f"{NOTEBOOK}.ipynb": looping}, GRADESCOPE_LIKE)
        took = time.monotonic() - started
    finally:
        config_file.write_text(config)
    assert run.returncode == 0 and took < RESERVE_SECONDS + 8, (took, run.stdout[-2000:])
    assert document["score"] == 0 and len(document["tests"]) == 4
    for t in document["tests"]:
        assert t["output"].startswith("Not graded (a problem of the autograder") and "ran out" in t["output"], t
    assert _leftovers() == []


def test_without_root_a_refused_bubblewrap_is_never_replaced(monkeypatch):
    refused = launch.Status("none", "bubblewrap cannot create the sandbox here: refused", "a fix", refused=True)
    monkeypatch.setattr(launch, "probe_bwrap", lambda: refused)
    monkeypatch.setattr(launch.os, "geteuid", lambda: 1000)
    launch.select.cache_clear()
    try:
        status = launch.select("auto")
        assert status.kind == "none" and not status.ok and "as root" in status.fix
    finally:
        launch.select.cache_clear()


def test_local_grading_falls_back_to_the_uid_isolation_and_keeps_the_workspace_private(ag):
    """The same fallback outside Gradescope: `course-grader grade` as root where bubblewrap is refused,
    from the environment setup.sh made (its Python is one an unprivileged user can run)."""
    submissions = ag.base / "class"
    (submissions / "ann").mkdir(parents=True)
    (submissions / "ann" / f"{NOTEBOOK}.ipynb").write_text(_notebook())
    work = ag.base / "work"   # the builder's workspace: its specs are ready
    work.chmod(0o755)
    run = subprocess.run([str(ag.venv / "bin" / "course-grader"), "--course", str(ROOT), "grade", str(submissions),
                          "--out", str(ag.base / "out"), "--workspace", str(work), "--timeout", str(TIMEOUT),
                          "--no-progress", "--workers", "1"], capture_output=True, text=True,
                         env={**os.environ, **GRADESCOPE_LIKE})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "note: isolation: uid: an unprivileged user" in run.stderr and "readable by its owner only" in run.stderr
    assert work.stat().st_mode & 0o777 == 0o700
    record = json.loads((work / "results" / "ann" / ASSIGNMENT / f"{NOTEBOOK}.json").read_text())
    assert record["sandbox"].startswith("uid: ") and all(e["status"] == "ok" for e in record["exercises"]), record
    page = (ag.base / "out" / "feedback" / "ann" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text()
    report = (ag.base / "out" / "report.html").read_text()
    assert "Graded with the fallback isolation" in page and "an unprivileged user of its own" in page
    assert "1 notebook(s) were graded with the fallback isolation" in report
    assert _leftovers() == []
