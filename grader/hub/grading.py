"""Grading a hub class with course-grader, and returning its feedback through nbgrader's exchange.

The instructor, in a terminal of their hub server:

    nbgrader collect 01_setting                # the exchange's inbound -> ~/course/submitted/
    python -m grader.hub.grading 01_setting    # course-grader grades them; feedback -> ~/course/feedback/
    nbgrader release_feedback 01_setting       # the feedback pages -> the exchange, for the students

(the formgrader's Collect and Release Feedback buttons do the first and the last; its Generate
Feedback button would replace course-grader's pages with nbgrader's own, which show the hidden tests.)
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

GRADED = "course-grader"  # course-grader's output, inside the instructor's (private) course folder


def run_course_grader(submissions: Path, out: Path, assignment: str) -> int:
    """The one call into course-grader: grade ``submissions`` (nbgrader's ``<student>/<assignment>/<notebook>.ipynb``)
    into ``out``, which then holds ``feedback/<student>/<assignment>/<notebook>.html``, grades.csv, totals.csv
    and report.html. Returns course-grader's exit code (1: some notebook could not be graded, the others were).

    course-grader's command line is being rewritten: this is the function to adapt."""
    grader = Path(sys.prefix) / "bin" / "course-grader"
    return subprocess.run([str(grader), "grade", str(submissions), "--out", str(out),
                           "--assignment", assignment, "--no-progress"]).returncode


def place_feedback(course: Path, graded: Path, assignment: str) -> list[Path]:
    """Copy each feedback page of ``assignment`` from course-grader's output to where
    ``nbgrader release_feedback`` reads it: ``feedback/<student>/<assignment>/<notebook>.html``, beside the
    submission's ``timestamp.txt`` and ``submission_secret.txt`` (from which nbgrader computes the name the
    student's ``fetch_feedback`` looks for)."""
    placed = []
    for page in sorted((graded / "feedback").glob(f"*/{assignment}/*.html")):
        student = page.parent.parent.name
        submitted = course / "submitted" / student / assignment
        if not (submitted / "submission_secret.txt").is_file():
            raise FileNotFoundError(f"feedback for {student} but no collected submission at {submitted} "
                                    "(did course-grader rename the student?)")
        dest = course / "feedback" / student / assignment
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("timestamp.txt", "submission_secret.txt"):
            shutil.copyfile(submitted / name, dest / name)
        shutil.copyfile(page, dest / page.name)
        # release_feedback copies the page with its mode: the student reads it as "other".
        (dest / page.name).chmod(0o644)
        placed.append(dest / page.name)
    return placed


def grade(assignment: str, course: Path) -> int:
    graded = course / GRADED / assignment
    code = run_course_grader(course / "submitted", graded, assignment)
    placed = place_feedback(course, graded, assignment)
    print(f"{len(placed)} feedback pages under {course / 'feedback'}: "
          f"`nbgrader release_feedback {assignment}` sends them to the students")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.hub.grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("--course", type=Path, default=os.environ.get("BACKPROP_HUB_COURSE_DIR"),
                        help="the instructor's course folder (default: $BACKPROP_HUB_COURSE_DIR, set by the hub)")
    args = parser.parse_args(argv)
    if args.course is None:
        parser.error("no course folder: pass --course, or run it in the instructor's hub server")
    return grade(args.assignment, Path(args.course))


if __name__ == "__main__":
    sys.exit(main())
