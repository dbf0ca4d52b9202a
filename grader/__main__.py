"""course-grader: the instructors' command (also `python -m grader`).

  course-grader release                       regenerate notebooks/ from solutions/
  course-grader collect PATH                  import submissions (a folder or a .zip)
  course-grader autograde [--workers N]       grade what is new or changed
  course-grader feedback | export | report    write feedback pages, the CSVs, the class report
  course-grader grade SUBMISSIONS --out DIR   all of the above in one go
  course-grader grade --demo --out DIR        the same on the demo class in grader/demo/
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .nbgrader_run import ROOT

DEMO = ROOT / "grader" / "demo" / "submissions"
DEFAULT_WORKSPACE = ROOT / "grader" / "work"


def _add_grading_options(p):
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    p.add_argument("--timeout", type=int, default=60, help="seconds one cell may run (default 60)")
    p.add_argument("--memory", type=int, default=2048, help="memory limit per grading kernel, in MB (default 2048)")
    p.add_argument("--force", action="store_true", help="regrade everything, not only what changed")
    p.add_argument("--assignment", action="append", dest="assignments", help="grade only this assignment (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--in-kernel", action="store_true",
                   help="also run nbgrader's own autograde in a sandboxed kernel (the executed notebooks, and one "
                        "more tampering signal); about twice the time")


def _options(args):
    from .engine import Options

    return Options(workers=args.workers, timeout=args.timeout, memory_mb=args.memory, force=args.force,
                   assignments=args.assignments, progress=not args.no_progress, in_kernel=args.in_kernel)


def _print_failures(summary) -> None:
    if summary.failures:
        print(f"\n{len(summary.failures)} notebook(s) could not be graded:", file=sys.stderr)
        for s, a, n, why in summary.failures:
            print(f"  {s}: {a}/{n}.ipynb: {why}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=DEFAULT_WORKSPACE,
                        help=f"where submissions and results are kept (default {DEFAULT_WORKSPACE.relative_to(ROOT)})")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="regenerate notebooks/ from solutions/")
    rel.add_argument("--dest", help="write the student notebooks here instead of notebooks/")
    rel.add_argument("--verbose", action="store_true", help="show nbgrader's log")
    col = sub.add_parser("collect", help="import submissions from a folder or a .zip")
    col.add_argument("path", type=Path)
    _add_grading_options(sub.add_parser("autograde", help="grade every new or changed submission"))
    for name, what in [("feedback", "an HTML page per student and notebook"), ("export", "grades.csv and totals.csv"),
                       ("report", "report.html for the class")]:
        p = sub.add_parser(name, help=f"write {what}")
        p.add_argument("--out", type=Path, default=None, help="output folder (default: the workspace)")
    g = sub.add_parser("grade", help="collect, autograde, feedback, export and report in one command")
    g.add_argument("submissions", type=Path, nargs="?")
    g.add_argument("--demo", action="store_true", help="grade the demo class shipped in grader/demo/")
    g.add_argument("--out", type=Path, required=True)
    _add_grading_options(g)
    args = parser.parse_args(argv)

    from .workspace import Workspace

    if args.command == "release":
        from .release import release

        print(f"student notebooks written to {release(args.dest, quiet=not args.verbose)}")
        return 0

    if args.command == "grade":
        if args.demo == (args.submissions is not None):
            parser.error("grade needs either SUBMISSIONS or --demo")
        return grade(DEMO if args.demo else args.submissions, args.out, _options(args))

    ws = Workspace(args.workspace)
    if args.command == "collect":
        from .collect import collect

        report = collect(args.path, ws)
        print(report.summary())
        return 0
    if args.command == "autograde":
        from .engine import autograde

        summary = autograde(ws, _options(args))
        print(f"graded {summary.graded} notebooks, {summary.skipped} unchanged since the last run")
        _print_failures(summary)
        return summary.exit_code
    out = args.out or ws.root
    return publish(ws, out, only=args.command)


def publish(ws, out: Path, only: str | None = None) -> int:
    """Write feedback pages, the CSVs and the report from the workspace's results."""
    from . import export, feedback, report
    from .results import load_all
    from .workspace import Course

    records = load_all(ws.results)
    if not records:
        print("no results yet: run `course-grader autograde` first", file=sys.stderr)
        return 1
    if only in (None, "feedback"):
        pages = feedback.write_all(records, out / "feedback", ws.template / "release")
        print(f"wrote {len(pages)} feedback pages under {out / 'feedback'}")
    if only in (None, "export"):
        grades, totals = export.export(records, out)
        print(f"wrote {grades} and {totals}")
    if only in (None, "report"):
        print(f"wrote {report.write(records, out / 'report.html', ws, Course())}")
    return 0


def grade(submissions: Path, out: Path, opts) -> int:
    from .collect import collect
    from .engine import autograde
    from .workspace import Workspace

    out = Path(out).resolve()
    ws = Workspace(out / "work")
    report = collect(submissions, ws)
    print(report.summary())
    summary = autograde(ws, opts)
    print(f"graded {summary.graded} notebooks, {summary.skipped} unchanged since the last run")
    code = publish(ws, out)
    _print_failures(summary)
    return summary.exit_code or code


if __name__ == "__main__":
    sys.exit(main())
