"""course-grader: the instructors' command (also `python -m grader`).

  course-grader release                       regenerate notebooks/ from solutions/
  course-grader collect PATH                  import submissions (a folder or a .zip)
  course-grader autograde [--workers N]       grade what is new or changed
  course-grader feedback | export | report    write feedback pages, the CSVs, the class report
  course-grader grade SUBMISSIONS --out DIR   all of the above in one go
  course-grader grade --demo --out DIR        the same on the demo class in grader/demo/
  course-grader grade-one NOTEBOOK --release DIR --secret FILE --out RESULT.json
                                              one grading job, on its own (a cluster or Gradescope runs these)
  course-grader gradescope --out autograder.zip
                                              a Gradescope autograder (docs/gradescope.md)

The course is the current directory, or --course DIR (a folder with solutions/ and notebooks/).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _add_grading_options(p):
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="notebooks graded at once (default: cores)")
    p.add_argument("--timeout", type=int, default=60, help="seconds one cell or one checked call may run (default 60)")
    p.add_argument("--memory", type=int, default=2048, help="memory limit of each student process, in MB (default 2048)")
    p.add_argument("--force", action="store_true", help="regrade everything, not only what changed")
    p.add_argument("--assignment", action="append", dest="assignments", help="grade only this assignment (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--unsafe-no-sandbox", action="store_true", dest="unsafe",
                   help="grade even where the sandbox cannot run: student code then runs with the grader's rights "
                        "(every output says so)")
    p.add_argument("--in-kernel", action="store_true", dest="in_kernel", help=argparse.SUPPRESS)
    p.add_argument("--scheduler", default=None, help="grade on the Dask cluster whose scheduler is at this address "
                                                     "(tcp://HOST:8786)")
    p.add_argument("--gradebook", default=None,
                   help="write the scores into this nbgrader gradebook (sqlite:///PATH or a path), e.g. the course's "
                        "gradebook.db that the formgrader shows (default: <workspace>/gradebook.db)")
    p.add_argument("--due", action="append", metavar="ASSIGNMENT=DATETIME",
                   help="the assignment's due date (ISO 8601; UTC unless it has an offset), set in the gradebook as "
                        "`nbgrader db assignment add --duedate` does; without it, the gradebook's own due date counts")
    p.add_argument("--late-penalty", choices=("none", "zero"), default=None,
                   help="for submissions after the due date: none (record the lateness only) or zero (no points), "
                        "as nbgrader's LateSubmissionPlugin; remembered by the workspace (default: none)")
    _add_isolation(p)


def _add_isolation(p):
    p.add_argument("--isolation", choices=["auto", "bwrap", "uid"], default=None,
                   help="how student code is isolated: bubblewrap, or (as root) an unprivileged uid without namespaces; "
                        "auto (default): bubblewrap, or the uid where bubblewrap is refused and this is root")


def _set_isolation(args) -> None:
    """The sandbox reads the choice from the environment, so that worker processes inherit it."""
    if getattr(args, "isolation", None):
        os.environ["COURSE_GRADER_ISOLATION"] = args.isolation


def _add_canvas_option(p):
    p.add_argument("--canvas-gradebook", type=Path, default=None, metavar="EXPORT.csv",
                   help="a gradebook exported from Canvas: canvas.csv then carries its students' SIS ids and "
                        "sections and its assignment columns (matched by name), so that Canvas updates them")


def _options(args, course):
    from .engine import Options
    from .lateness import due_options
    from .publish.gradebook import gradebook_url

    if getattr(args, "in_kernel", False):
        raise SystemExit("course-grader: --in-kernel is gone. It ran nbgrader's hidden tests inside the student's own "
                         "kernel, where the student's code can change the checkers; every check now runs in the "
                         "grader's process, against the sandboxed student code, with the same tests.")

    gradebook = gradebook_url(args.gradebook, None) if args.gradebook else None  # refused now, not after grading
    return Options(workers=args.workers, timeout=args.timeout, memory_mb=args.memory, force=args.force,
                   assignments=args.assignments, progress=not args.no_progress, unsafe=args.unsafe,
                   scheduler=args.scheduler, gradebook=gradebook, due=due_options(args.due, list(course.layout)),
                   late_penalty=args.late_penalty)


def _print_graded(summary) -> None:
    print(f"graded {summary.graded} notebooks, {summary.skipped} unchanged since the last run")
    if summary.late:
        taken = sum(r.late_penalty for r in summary.late)
        print(f"{len(summary.late)} notebook(s) submitted late (late penalty: {summary.penalty}"
              + (f", {taken:g} points taken off" if taken else "") + ")")


def _print_failures(summary) -> None:
    if summary.failures:
        print(f"\n{len(summary.failures)} notebook(s) could not be graded:", file=sys.stderr)
        for s, a, n, why in summary.failures:
            print(f"  {s}: {a}/{n}.ipynb: {why}", file=sys.stderr)


def _check_sandbox(opts, workspace=None) -> None:
    from .job import sandbox_status

    if opts.unsafe:
        print("WARNING: --unsafe-no-sandbox: student code runs unsandboxed, with this user's rights; it can read "
              "and change anything this user can. Every feedback page and the report say so.", file=sys.stderr)
        return
    if opts.scheduler:
        return   # no student code runs here: each worker checks its own sandbox, and the run names those that cannot
    status = sandbox_status(False)
    if not status.ok:
        raise SystemExit(f"course-grader: refusing to grade: {status.reason}.\n  Fix: {status.fix}.\n"
                         "  (--unsafe-no-sandbox grades anyway, with student code unprotected.)")
    if status.kind == "uid":   # student code then reads what every user may: the workspace must be private
        print(f"note: isolation: {status.label}", file=sys.stderr)
        if workspace is not None and workspace.create().root.stat().st_mode & 0o077:
            workspace.root.chmod(0o700)
            print(f"note: {workspace.root} (submissions, results, the secret) made readable by its owner only",
                  file=sys.stderr)
    for note in status.notes:
        print(f"note: {note}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-grader", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=None, help="the course folder (default: the current directory)")
    parser.add_argument("--workspace", type=Path, default=None,
                        help="where submissions and results are kept (default <course>/grader/work)")
    # The same two options are accepted after the command too (`grade ... --workspace DIR`).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--course", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--workspace", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_parser = sub.add_parser
    sub.add_parser = lambda *a, **k: _add_parser(*a, parents=[common], **k)
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
        if name == "export":
            _add_canvas_option(p)
    g = sub.add_parser("grade", help="collect, autograde, feedback, export and report in one command")
    g.add_argument("submissions", type=Path, nargs="?")
    g.add_argument("--demo", action="store_true", help="grade the demo class shipped in grader/demo/")
    g.add_argument("--out", type=Path, required=True)
    _add_grading_options(g)
    _add_canvas_option(g)
    one = sub.add_parser("grade-one", help="grade one notebook: (release, submission, secret) -> one result record")
    one.add_argument("notebook", type=Path)
    one.add_argument("--release", type=Path, required=True,
                     help="a folder of grading specs (<workspace>/template/specs, or `course-grader specs --out DIR`)")
    one.add_argument("--secret", type=Path, default=None, help="the workspace's secret (the hidden seeds derive from it)")
    one.add_argument("--seeds", type=Path, default=None, help="instead of --secret: a JSON file of derived seeds")
    one.add_argument("--student", default=None, help="the student's id (default: the file's folder name)")
    one.add_argument("--assignment", default=None)
    one.add_argument("--out", type=Path, required=True)
    one.add_argument("--timeout", type=int, default=60)
    one.add_argument("--memory", type=int, default=2048)
    one.add_argument("--cache", type=Path, default=None, help="a folder for the sandbox's files (default: next to --out)")
    one.add_argument("--unsafe-no-sandbox", action="store_true", dest="unsafe")
    _add_isolation(one)
    sp = sub.add_parser("specs", help="write the grading specs of every notebook (what grade-one reads)")
    sp.add_argument("--out", type=Path, required=True)
    gs = sub.add_parser("gradescope", help="build a Gradescope autograder zip (setup.sh, run_autograder, specs, secret)")
    gs.add_argument("--out", type=Path, required=True, help="the zip to write (autograder.zip)")
    gs.add_argument("--assignment", action="append", dest="assignments",
                    help="grade only this assignment's notebook (repeatable; default: every graded notebook)")
    gs.add_argument("--timeout", type=int, default=30, help="seconds one cell or one checked call may run (default 30)")
    gs.add_argument("--memory", type=int, default=2048, help="memory limit of the student process, in MB")
    gs.add_argument("--visibility", default="visible", help="Gradescope's visibility of the tests: visible (default), "
                                                            "after_due_date, after_published or hidden")
    gs.add_argument("--secret", type=Path, default=None,
                    help="use this secret for the hidden seeds (default: a new one; e.g. <workspace>/secret to match "
                         "local grading)")
    gs.add_argument("--gradescope-timeout", type=int, default=None, dest="minutes", metavar="MINUTES",
                    help="the autograder timeout you will set on Gradescope (default: what a submission may need, at "
                         "most Gradescope's maximum of 40): results.json is written within it")
    _add_isolation(gs)
    args = parser.parse_args(argv)
    _set_isolation(args)

    from .workspace import Course, Workspace

    if args.command == "grade-one":
        return grade_one(args)
    course = Course.find(args.course)
    if args.command == "release":
        from .release import release

        print(f"student notebooks written to {release(course, args.dest, quiet=not args.verbose)}")
        return 0
    if args.command == "grade":
        if args.demo == (args.submissions is not None):
            parser.error("grade needs either SUBMISSIONS or --demo")
        out = Path(args.out).resolve()
        workspace = args.workspace or (out / "work" if args.demo else course.default_workspace)
        return grade(course, Workspace(workspace), course.demo if args.demo else args.submissions, out,
                     _options(args, course), canvas=args.canvas_gradebook)
    ws = Workspace(args.workspace or course.default_workspace)
    if args.command == "gradescope":
        from .gradescope.build import main as build_gradescope

        args.isolation = args.isolation or "auto"
        return build_gradescope(course, ws, args)
    if args.command == "specs":
        from .engine import prepare

        ws.create()
        specs = prepare(ws, course)
        from . import spec as S

        for s in specs.values():
            S.save(s, args.out)
        print(f"wrote {len(specs)} grading specs under {args.out}")
        return 0
    if args.command == "collect":
        from .intake.collect import collect

        report = collect(args.path, ws.create(), course)
        print(report.summary())
        return 0
    if args.command == "autograde":
        from .engine import autograde

        opts = _options(args, course)
        _check_sandbox(opts, ws)
        summary = autograde(ws.create(), opts, course)
        _print_graded(summary)
        _print_failures(summary)
        return summary.exit_code
    out = args.out or ws.root
    return publish(course, ws, out, only=args.command, canvas=getattr(args, "canvas_gradebook", None))


def publish(course, ws, out: Path, only: str | None = None, canvas: Path | None = None) -> int:
    """Write feedback pages, the CSVs and the report from the workspace's results. One record that
    cannot be written never stops the others: it is named, and the rest is written."""
    from .publish import publish as run

    return run(course, ws, Path(out), only, canvas=canvas)


def grade(course, ws, submissions: Path, out: Path, opts, canvas: Path | None = None) -> int:
    from .engine import autograde
    from .intake.collect import collect

    _check_sandbox(opts, ws)
    ws.create()
    report = collect(submissions, ws, course)
    print(report.summary())
    summary = autograde(ws, opts, course)
    _print_graded(summary)
    code = publish(course, ws, out, canvas=canvas)
    _print_failures(summary)
    return summary.exit_code or code


def grade_one(args) -> int:
    """One job on its own: read the spec and the seeds, grade, write the record."""
    from . import spec as S
    from .engine import run_job
    from .job import JobOptions

    path = args.notebook.resolve()
    specs = S.load_all(args.release)
    if not specs:
        raise SystemExit(f"grade-one: no grading specs under {args.release}")
    stem = path.stem
    matches = [k for k in specs if k[1] == stem and (args.assignment is None or k[0] == args.assignment)]
    if len(matches) != 1:
        raise SystemExit(f"grade-one: {path.name} is not one notebook of the course (known: "
                         f"{sorted(n for _, n in specs)}); pass --assignment if a name is shared")
    assignment, notebook = matches[0]
    student = args.student or path.parent.name
    secret = args.secret.read_text().strip() if args.secret else None
    derived = json.loads(args.seeds.read_text()) if args.seeds else None
    if secret is None and derived is None:
        raise SystemExit("grade-one: pass --secret FILE or --seeds FILE (the hidden checks need their seeds)")
    if not args.unsafe:
        from .job import sandbox_status

        status = sandbox_status(False)
        if not status.ok:
            raise SystemExit(f"grade-one: refusing to grade: {status.reason}.\n  Fix: {status.fix}.")
    import tempfile

    cache = args.cache or Path(tempfile.gettempdir()) / "course-grader-cache"
    options = {"timeout": float(args.timeout), "memory_mb": args.memory, "unsafe": args.unsafe}
    spec_path = Path(args.release) / assignment / f"{notebook}.json"
    record = run_job(str(spec_path), str(path), student, secret, derived, options, str(cache))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, args.out)
    print(f"{student}: {assignment}/{notebook}: {sum(e['score'] for e in record['exercises']):g} of "
          f"{sum(e['max_score'] for e in record['exercises']):g} points ({record['status']})")
    return 0 if record["status"] == "graded" else 1


if __name__ == "__main__":
    sys.exit(main())
