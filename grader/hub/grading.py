"""Grading a hub class with course-grader, and returning its feedback through nbgrader's exchange.

The instructor, in a terminal of their hub server:

    nbgrader collect 01_setting                # the exchange's inbound -> ~/course/submitted/
    python -m grader.hub.grading 01_setting    # course-grader grades them; feedback -> ~/course/feedback/,
                                               # scores -> ~/course/gradebook.db (the formgrader's)
    nbgrader release_feedback 01_setting       # the feedback pages -> the exchange, for the students

(the formgrader's Collect and Release Feedback buttons do the first and the last; its Generate
Feedback button would replace course-grader's pages with nbgrader's own, which show the hidden tests.)

Lateness: the due date is the gradebook's (the formgrader's assignment form, or
``nbgrader db assignment add 01_setting --duedate=...``; ``--due`` sets it from here), the submission
time each student's timestamp.txt; ``--late-penalty zero`` gives a late submission no points (nbgrader's
LateSubmissionPlugin "zero"); by default the lateness is recorded only.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .site import REPO

GRADED = "course-grader"  # course-grader's output and workspace, inside the instructor's (private) course folder
WORKSPACE = "work"         # <course>/course-grader/work: the collected copies, the results, the secret


def run_course_grader(course: Path, out: Path, assignment: str, extra: list[str] = (), repo: Path = REPO) -> int:
    """The one call into course-grader: grade ``course/submitted`` (nbgrader's
    ``<student>/<assignment>/<notebook>.ipynb`` with its timestamp.txt) into ``out``, which then holds
    ``feedback/<student>/<assignment>/<notebook>.html``, grades.csv, totals.csv and report.html.

    The course graded is ``repo``, the checkout (course-grader's ``--course``: its solutions/ is what the
    instructor's source/ mirrors); the workspace is in the instructor's course folder, which only they can
    read (the checkout is read-only to them, and the workspace holds the secret the hidden tests' seeds
    derive from); the
    scores, submission times and late penalties go into the course's gradebook.db, the one the
    formgrader shows, with the due date the formgrader (or ``nbgrader db assignment add --duedate``) set
    there. ``extra``: more course-grader options (``--late-penalty zero``, ``--due A=DATETIME``).
    Returns course-grader's exit code (1: some notebook could not be graded, the others were)."""
    grader = Path(sys.prefix) / "bin" / "course-grader"
    return subprocess.run([str(grader), "--course", str(repo), "--workspace", str(course / GRADED / WORKSPACE),
                           "grade", str(course / "submitted"), "--out", str(out), "--assignment", assignment,
                           "--gradebook", str(course / "gradebook.db"), "--no-progress", *extra]).returncode


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


def grade(assignment: str, course: Path, extra: list[str] = (), repo: Path = REPO) -> int:
    graded = course / GRADED / assignment
    code = run_course_grader(course, graded, assignment, extra, repo)
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
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="the course course-grader grades against, a folder with solutions/ and notebooks/ "
                             f"(default: the checkout this module is in, {REPO})")
    parser.add_argument("--late-penalty", choices=("none", "zero"), default=None,
                        help="for submissions after the due date (course-grader's option; default: as last time, "
                             "else none)")
    parser.add_argument("--due", default=None, metavar="DATETIME",
                        help="set the assignment's due date in the course's gradebook first (ISO 8601, UTC unless "
                             "it has an offset); default: the due date the gradebook has, if any")
    args = parser.parse_args(argv)
    if args.course is None:
        parser.error("no course folder: pass --course, or run it in the instructor's hub server")
    extra = (["--late-penalty", args.late_penalty] if args.late_penalty else []) + \
            (["--due", f"{args.assignment}={args.due}"] if args.due else [])
    return grade(args.assignment, Path(args.course), extra, args.repo)


if __name__ == "__main__":
    sys.exit(main())
