"""Grading throughput: course-grader with N workers against plain serial `nbgrader autograde`.

python benchmarks/bench_grading.py [--students 50] [--workers 2]

The class is the demo class (grader/demo/submissions) scaled to --students by copying its
gradable students under new names (the unreadable files are left out, since plain nbgrader
cannot read them at all). Both graders get the same per-cell timeout and start from nothing:
each time includes building the gradebook. Results in submissions per minute (a submission is
one student's two notebooks).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import demo  # noqa: E402
from grader.engine import Options, autograde  # noqa: E402
from grader.collect import collect  # noqa: E402
from grader.nbgrader_run import CONFIG, ROOT, env  # noqa: E402
from grader.workspace import Workspace  # noqa: E402

UNREADABLE = {"broken_files", "old_format"}


def scaled_class(dest: Path, n: int) -> list[str]:
    students = [s.name for s in demo.CLASS if s.name not in UNREADABLE and not s.lms_name]
    names = []
    for i in range(n):
        base = students[i % len(students)]
        name = f"{base}_{i:03d}"
        shutil.copytree(demo.OUT / base, dest / name, ignore=shutil.ignore_patterns("*.txt"))
        names.append(name)
    return names


def plain_nbgrader(course: Path, submissions: Path, timeout: int) -> float:
    start = time.perf_counter()
    shutil.copytree(submissions, course / "submitted")
    common = [f"--NbGrader.config_file={CONFIG}", f"--CourseDirectory.root={course}",
              f"--CourseDirectory.source_directory={ROOT / 'solutions'}",
              f"--CourseDirectory.release_directory={course / 'release'}",
              "--CourseDirectory.submitted_directory=submitted", "--CourseDirectory.autograded_directory=autograded",
              f"--db=sqlite:///{course / 'gradebook.db'}", f"--Execute.timeout={timeout}", "--quiet"]
    for a in demo.ASSIGNMENTS:
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", a, "--force", *common],
                       env=env(), cwd=course, check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "*", *common], env=env(), cwd=course,
                   capture_output=True)
    return time.perf_counter() - start


def course_grader(ws_root: Path, submissions: Path, workers: int, timeout: int) -> float:
    start = time.perf_counter()
    ws = Workspace(ws_root)
    collect(submissions, ws)
    autograde(ws, Options(workers=workers, timeout=timeout, progress=False))
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=50)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=int, default=10)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs = tmp / "class"
        scaled_class(subs, args.students)
        ours = course_grader(tmp / "ours", subs, args.workers, args.timeout)
        plain = plain_nbgrader(tmp / "plain", subs, args.timeout)
    per_min = lambda t: 60 * args.students / t  # noqa: E731
    print(f"{args.students} students x {len(demo.ASSIGNMENTS)} notebooks, per-cell timeout {args.timeout} s\n")
    print("| grader | wall time | submissions per minute |\n|---|---|---|")
    print(f"| plain nbgrader autograde (serial) | {plain:.0f} s | {per_min(plain):.1f} |")
    print(f"| course-grader --workers {args.workers} | {ours:.0f} s | {per_min(ours):.1f} |")
    print(f"\ncourse-grader throughput: {plain / ours:.2f}x plain nbgrader")


if __name__ == "__main__":
    main()
