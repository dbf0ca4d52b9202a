"""A whole class graded by the real command: course-grader against plain nbgrader on the same notebooks.

    python benchmarks/bench_class.py [--students 300] [--workers 2] [--timeout 60] [--plain 6] [--notebooks 7]

The class is generated from the course's own notebooks, in proportions an instructor sees at a
deadline (every student hands in the first --notebooks graded notebooks, by default the seven of the
syllabus, 01 to 07; `--notebooks 11` adds 09 to 12, unless said otherwise):

    55%  every exercise right (the published solutions)
    20%  right but for one catalogued bug (a different one per student, in turn)
    15%  did the first notebooks and handed in the rest untouched (stubs)
     5%  handed in every notebook untouched
     3%  one notebook not handed in at all
     2%  a function that never returns (relu_backward: costs its time limit in the two exercises that call it)

`course-grader grade CLASS --out DIR --workers N` grades it from nothing (a fresh workspace: the
release, the specs and the gradebook are built inside the time). Plain `nbgrader autograde` (serial,
nbgrader's own in-kernel tests, no sandbox) grades the first --plain students of the same class; its
time for the whole class is that figure scaled by the number of notebooks, and is labelled as such.
Both use the same per-cell time limit. Nothing is asserted: this prints a table for the README.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import demo  # noqa: E402
from grader.notebooks import nbgrader_meta  # noqa: E402
from grader.workspace import Course  # noqa: E402

BUGS = ["missing_average", "transposed", "mask_from_gradient", "bias_mean", "in_place", "unstable_softmax",
        "stale_cache", "unstable_predict", "transposed_shapes", "one_sided", "wrong_suspect"]
LOOP = {(demo.B, "relu_backward"): demo._sig("relu_backward", "dA1, Z1", "while True:\n    pass")}
MIX = [("correct", 55), ("one_bug", 20), ("partial", 15), ("blank", 5), ("missing_one", 3), ("loops", 2)]


def _stubs(course: Course) -> dict:
    """{(assignment, solution grade_id): the release's stub}: what an untouched cell holds."""
    out = {}
    for a, nb_name in demo.ASSIGNMENTS.items():
        nb = nbformat.read(course.root / "notebooks" / a / f"{nb_name}.ipynb", as_version=4)
        for c in nb.cells:
            if nbgrader_meta(c).get("solution"):
                out[(a, nbgrader_meta(c)["grade_id"])] = c.source
    return out


def generate(n: int, course: Course, assignments: tuple = demo.ALL[:7]) -> list:
    """``n`` students in MIX's proportions handing in ``assignments`` (student i's kind depends on i only)."""
    bug_solutions = {s.name: s.solutions for s in demo.CLASS if s.name in BUGS}
    stubs = _stubs(course)
    slots = [kind for kind, share in MIX for _ in range(share)]
    students = []
    for i in range(n):
        kind = slots[(i * 37) % len(slots)]     # spread the kinds through the class
        name = f"s{i:04d}_{kind}"
        if kind == "correct":
            s = demo.Student(name, kind, submits=assignments)
        elif kind == "one_bug":
            s = demo.Student(name, kind, solutions=dict(bug_solutions[BUGS[i % len(BUGS)]]), submits=assignments)
        elif kind == "partial":
            done = 2 + i % 4                      # handed in 02..05 solved, the rest as released
            later = set(assignments[done:])
            s = demo.Student(name, kind, solutions={k: v for k, v in stubs.items() if k[0] in later}, submits=assignments)
        elif kind == "blank":
            s = demo.Student(name, kind, blank=True, submits=assignments)
        elif kind == "missing_one":
            s = demo.Student(name, kind, submits=tuple(a for a in assignments if a != assignments[i % len(assignments)]))
        else:
            s = demo.Student(name, kind, solutions=dict(LOOP), submits=assignments)
        students.append(s)
    return students


def course_grader(course: Course, submissions: Path, out: Path, workers: int, timeout: int) -> tuple[float, float]:
    """The whole `course-grader grade` of the class: (seconds in all, seconds until it said what it graded,
    i.e. collecting, releasing, grading and the gradebook; the rest is writing the feedback and the report)."""
    start = time.perf_counter()
    graded_at = None
    proc = subprocess.Popen([str(Path(sys.executable).with_name("course-grader")), "--course", str(course.root),
                             "grade", str(submissions), "--out", str(out), "--workspace", str(out / "work"),
                             "--workers", str(workers), "--timeout", str(timeout), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})   # each line as it is said
    errors: list = []
    drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    drain.start()
    for line in proc.stdout:
        if graded_at is None and line.startswith("graded "):
            graded_at = time.perf_counter() - start
    proc.wait()
    drain.join()
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"course-grader failed:\n{''.join(errors)[-3000:]}")
    return elapsed, graded_at if graded_at is not None else elapsed


def plain_nbgrader(course: Course, submissions: Path, students: list, work: Path, timeout: int) -> tuple[float, int]:
    """Plain `nbgrader autograde` of ``students`` (serial, in-kernel). Returns (seconds, notebooks)."""
    (work / "submitted").mkdir(parents=True)
    notebooks = 0
    for s in students:
        shutil.copytree(submissions / s.name, work / "submitted" / s.name)
        notebooks += sum(1 for _ in (work / "submitted" / s.name).rglob("*.ipynb"))
    # The course's own nbgrader configuration, with this workspace's folders (as course-grader sets them).
    release = [f"--CourseDirectory.release_directory={work / 'release'}", f"--ExecutePreprocessor.timeout={timeout}",
               f"--Execute.timeout={timeout}", "--quiet"]
    start = time.perf_counter()
    course.nbgrader("generate_assignment", "*", "--force", *release, capture=True, workspace=work)
    course.nbgrader("autograde", "*", *release, check=False, capture=True, workspace=work)
    elapsed = time.perf_counter() - start
    graded = sum(1 for _ in (work / "autograded").rglob("*.ipynb"))
    if graded != notebooks:
        raise SystemExit(f"plain nbgrader graded {graded} of {notebooks} notebooks")
    return elapsed, notebooks


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=300)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=int, default=60)
    p.add_argument("--plain", type=int, default=6, help="students plain nbgrader grades (0: skip it)")
    p.add_argument("--notebooks", type=int, default=7, choices=range(1, len(demo.ALL) + 1),
                   help="hand in the first N graded notebooks (7: the syllabus's 01-07; 11: all)")
    p.add_argument("--keep", type=Path, help="copy course-grader's output and workspace here (its job records "
                                              "say where the time went)")
    args = p.parse_args(argv)
    course = Course.find(ROOT)
    students = generate(args.students, course, demo.ALL[: args.notebooks])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = demo.build(tmp / "class", students, extra_files={}, course=course)
        total = sum(1 for _ in subs.rglob("*.ipynb"))
        ours, graded = course_grader(course, subs, tmp / "out", args.workers, args.timeout)
        if args.keep:
            shutil.copytree(tmp / "out", args.keep, dirs_exist_ok=True)
        plain = plain_nbgrader(course, subs, students[: args.plain], tmp / "plain", args.timeout) if args.plain else None
    kinds = {k: sum(1 for s in students if s.what == k) for k, _ in MIX}
    print(f"{args.students} students, {total} notebooks ({', '.join(f'{v} {k}' for k, v in kinds.items())}); "
          f"time limit {args.timeout} s; {os.cpu_count()} cores\n")
    print("| grader | notebooks graded | wall time | per student |\n|---|---|---|---|")
    print(f"| course-grader grade --workers {args.workers} | {total} | {ours / 60:.1f} min | {ours / args.students:.2f} s |")
    print(f"| (of which collecting, releasing, grading and the gradebook) | | {graded / 60:.1f} min | |")
    print(f"| (of which feedback pages, CSVs and the report) | | {(ours - graded):.0f} s | |")
    if plain:
        secs, n = plain
        scaled = secs / n * total
        print(f"| plain nbgrader autograde (serial), {args.plain} students | {n} | {secs / 60:.1f} min | "
              f"{secs / args.plain:.2f} s |")
        print(f"| plain nbgrader, scaled to the class | ({total}) | {scaled / 60:.0f} min | "
              f"{scaled / args.students:.2f} s |")
        print(f"\ncourse-grader: {scaled / ours:.1f}x the throughput of plain nbgrader on this class")


if __name__ == "__main__":
    main()
