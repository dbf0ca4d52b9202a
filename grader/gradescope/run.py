"""What run_autograder does for each submission (Gradescope runs it as root, in /autograder).

1. Lock the autograder's files away from student code: /autograder, its source (the secret, the
   specs), the submission and Gradescope's metadata become root-only; results/ is root's.
2. Write a provisional results.json, so that a run stopped from outside still tells the student.
3. Choose the isolation (bubblewrap, else the unprivileged-uid fallback: never none) and, for the
   fallback, check by a real trial that student code can read none of the autograder's files.
4. Find the notebook(s) (grader/gradescope/submission.py) and grade each with the grading job every
   other way of grading uses (`course-grader grade-one`), in a child process with a watchdog.
5. Kill whatever the student's code left running, then write results.json. Student code is dead
   before the grader writes, and nothing it wrote is read back: a file it forged is replaced.

The paths are Gradescope's unless COURSE_GRADER_AUTOGRADER names another root laid out the same way.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import results as G


class Layout:
    def __init__(self, root: str | None = None):
        self.root = Path(root or os.environ.get("COURSE_GRADER_AUTOGRADER") or "/autograder")
        self.source, self.submission, self.results = self.root / "source", self.root / "submission", self.root / "results"
        self.secret, self.specs, self.config = self.source / "secret", self.source / "specs", self.source / "config.json"
        self.metadata = self.root / "submission_metadata.json"

    def lock_down(self) -> None:
        """Root-only: everything of the autograder but results/, which only root may write."""
        for path, mode in ((self.root, 0o700), (self.source, 0o700), (self.secret, 0o600), (self.metadata, 0o600),
                           (self.submission, 0o700)):
            if path.exists():
                os.chmod(path, mode)
        self.results.mkdir(exist_ok=True)
        os.chmod(self.results, 0o755)


def write_results(layout: Layout, document: dict) -> None:
    """Atomically: a reader (or a crash) never sees half a file, and a file already there is replaced."""
    tmp = layout.results / f".results.json.{os.getpid()}"
    tmp.write_text(json.dumps(document, indent=1))
    os.replace(tmp, layout.results / "results.json")


def student_id(layout: Layout) -> str:
    """Gradescope's user id(s) of the submitters (the hidden seeds differ per student)."""
    try:
        users = json.loads(layout.metadata.read_text()).get("users") or []
        ids = sorted(str(u.get("id") or u.get("email")) for u in users if isinstance(u, dict))
        return "gs-" + "+".join(ids) if ids else "student"
    except (OSError, ValueError, AttributeError):
        return "student"


def check_isolation(layout: Layout):
    """The isolation student code will have, or the reason there is none (then nothing is graded)."""
    from ..sandbox import launch, uid

    status = launch.probe()
    if status.kind != "uid":
        return status, ""
    seen = uid.trial(launch.seccomp_program(), [],
                     [layout.secret, layout.specs, layout.source, layout.submission, layout.metadata],
                     [layout.results, layout.root])
    leaks = [p for p, how in {**seen.get("reads", {}), **seen.get("writes", {})}.items() if how in ("read", "written")]
    for folder, how in seen.get("writes", {}).items():
        if how == "written":
            Path(folder, "written-by-student-code").unlink(missing_ok=True)
    if "error" in seen or leaks:
        return status, (f"student code could reach the autograder's files ({', '.join(leaks)})" if leaks else
                        f"the uid trial failed ({seen['error']})")
    return status, ""


def sweep_student_uids() -> None:
    """Whatever the student's code left behind, in the uid isolation: killed, and its files removed."""
    from ..sandbox import uid

    uid.kill_all(uid.slot_uids())
    uid.remove_files_of(uid.slot_uids())


# As the engine's workers (grader/engine.py): numpy computes with one thread in the grading process.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class Spec:
    """What this process needs of a grading spec (grader/spec.py's JSON): it never imports the grader's
    heavy modules itself; the grading job (a child process) does."""

    assignment: str
    notebook: str
    exercises: list    # [Exercise]


@dataclass
class Exercise:
    grade_id: str
    points: float


def load_specs(folder: Path) -> dict:
    out = {}
    for path in sorted(folder.glob("*/*.json")):
        data = json.loads(path.read_text())
        out[(data["assignment"], data["notebook"])] = Spec(data["assignment"], data["notebook"], [
            Exercise(e["grade_id"], float(e["points"])) for e in data["exercises"]])
    return out


def grade_file(candidate, spec, config: dict, layout: Layout, student: str, work: Path, remaining: float) -> tuple:
    """(record or None, why not) for one notebook, graded by `course-grader grade-one` in a child process,
    stopped after its watchdog or once the ``remaining`` seconds of the submission's time are spent."""
    from .. import results as R

    copy = work / student / f"{spec.notebook}.ipynb"   # under the name grade-one knows it by
    copy.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(candidate.path, os.O_RDONLY | os.O_NOFOLLOW)   # the student's file itself, never a link's target
    with os.fdopen(fd, "rb") as f:
        copy.write_bytes(f.read())
    out = work / f"{spec.assignment}-{spec.notebook}.json"
    cache = Path(tempfile.mkdtemp(prefix="course-grader-facade-"))
    os.chmod(cache, 0o755)   # the uid isolation's student process reads the stubbed course_lib from here
    argv = [sys.executable, "-I", "-m", "grader", "grade-one", str(copy), "--release", str(layout.specs),
            "--secret", str(layout.secret), "--student", student, "--assignment", spec.assignment, "--out", str(out),
            "--timeout", str(config["timeout"]), "--memory", str(config["memory_mb"]), "--cache", str(cache)]
    watchdog = config["watchdog_seconds"][f"{spec.assignment}/{spec.notebook}"]   # the job's own, and a margin
    limit = min(watchdog, remaining)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, **SINGLE_THREADED})
    try:
        log, _ = proc.communicate(timeout=limit)
        why = ""
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        log, _ = proc.communicate()
        why = (f"grading ran past the autograder's limit of {limit:.0f} s and was stopped" if limit == watchdog else
               f"the autograder's time on Gradescope ({config['budget_seconds'] / 60:g} minutes for the whole "
               "submission) ran out while it was being graded")
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"--- grade-one {candidate.rel} ({spec.assignment}/{spec.notebook}):\n{log.strip()}")
    if out.exists():
        return R.NotebookResult.from_json(json.loads(out.read_text())), ""
    tail = [line for line in log.strip().splitlines() if line.strip()][-3:]
    return None, why or ("the grading job ended without a result: " + " ".join(tail))


# Kept free of the submission's time on Gradescope, to kill a job, sweep its uid and write results.json.
RESERVE_SECONDS = 30
MIN_START_SECONDS = 20   # less than this left: a notebook is not started


def grade(layout: Layout, started: float | None = None) -> dict:
    from .submission import find

    started = time.monotonic() if started is None else started
    config = json.loads(layout.config.read_text())
    deadline = started + config.get("budget_seconds", 40 * 60) - RESERVE_SECONDS
    os.environ.setdefault("COURSE_GRADER_ISOLATION", config.get("isolation", "auto"))
    specs = {k: s for k, s in load_specs(layout.specs).items() if k[0] in config["assignments"]}
    course = {tuple(k.split("/", 1)): ids for k, ids in config["notebooks"].items()}
    visibility = config.get("visibility", "visible")
    found = find(layout.submission, specs, course)
    status, refused = check_isolation(layout)
    isolation = status.label if status.ok and not refused else \
        f"none available, so nothing was run ({refused or status.reason})"
    tests, summary, records = [], [], []
    with tempfile.TemporaryDirectory(prefix="course-grader-gs-") as work:   # root-only (0700)
        for n, key in enumerate(sorted(specs), 1):
            spec = specs[key]
            status_word = "ungradable"   # unless what was handed in is why it is not graded
            remaining = deadline - time.monotonic()
            if key in found.graded and status.ok and not refused and remaining < MIN_START_SECONDS:
                why = (f"{found.graded[key].rel} was not graded: the autograder's time on Gradescope "
                       f"({config['budget_seconds'] / 60:g} minutes for the whole submission) ran out before it. Submit "
                       "it on its own, or tell your instructor.")
            elif key in found.graded and status.ok and not refused:
                record, why = grade_file(found.graded[key], spec, config, layout, student_id(layout), Path(work),
                                         remaining)
                if status.kind == "uid":
                    sweep_student_uids()
                if record is not None:
                    tests += G.notebook_tests(record, n, visibility)
                    summary.append(G.notebook_summary(record, found.graded[key].rel))
                    records.append({"file": found.graded[key].rel, **{k: getattr(record, k) for k in (
                        "assignment", "notebook", "status", "reason", "sandbox", "sha256", "timing")},
                        "flags": [f.text for f in record.flags]})
                    isolation = record.sandbox or isolation
                    continue
                why = f"The autograder could not grade {found.graded[key].rel}: {why}. Tell your instructor."
            elif key in found.graded:
                why = (f"{found.graded[key].rel} was not graded: the autograder cannot isolate student code here "
                       f"({refused or status.reason}), and it never runs student code unprotected. Tell your instructor.")
            elif key in found.problems:
                why, status_word = found.problems[key], "not_graded"
            else:
                continue   # an autograder for several notebooks: this one was not handed in
            tests += G.absent_tests(spec, n, why, visibility, status_word)
            summary.append(why)
    if None in found.problems:
        summary.append(found.problems[None])
    summary += found.ignored
    summary.append(f"Isolation of your code while it was graded: {isolation}.")
    extra = {"isolation": isolation, "notebooks": records, "not_graded": list(found.ignored) +
             [v for v in found.problems.values()]}
    return G.document(tests, summary, visibility, time.monotonic() - started, extra)


def check() -> int:
    """setup.sh's last step: say, in Gradescope's build log, what isolation this image gives student code."""
    from ..sandbox import launch

    status = launch.probe()
    print(f"course-grader on this image: isolation {status.label if status.ok else 'NONE: ' + status.reason}")
    for note in status.notes:
        print(f"  note: {note}")
    if not status.ok:
        print(f"  fix: {status.fix}")
    return 0


def main(argv: list | None = None) -> int:
    os.umask(0o022)   # the stubbed course_lib must be readable by the student's uid; secrets get their own modes
    parser = argparse.ArgumentParser(prog="run_autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say what isolation student code would have here")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    layout = Layout()
    started = time.monotonic()
    try:
        layout.lock_down()
        write_results(layout, G.document([], ["The autograder stopped before it finished grading this submission, so "
                                              "nothing was graded. Submit again, or tell your instructor."],
                                         "visible", 0, {}))
        document = grade(layout, started)
    except BaseException as e:  # noqa: BLE001  (whatever happens, results.json says so)
        traceback.print_exc(file=sys.stdout)
        document = G.document([], [f"The autograder failed ({type(e).__name__}: {e}); your work was not graded. "
                                   "Tell your instructor."], "visible", time.monotonic() - started, {})
    try:
        write_results(layout, document)
    except OSError:
        traceback.print_exc(file=sys.stdout)
        return 1
    print(f"\nresults.json: {document['score']:g} points in {len(document['tests'])} tests")
    for t in document["tests"]:
        print(f"  {t['number']:>5}  {t['name']:<45} {t['score']:g}/{t['max_score']:g}")
    print(document["output"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
