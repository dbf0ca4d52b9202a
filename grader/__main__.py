"""course-grader: the instructors' command (python -m grader)."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="course-grader", description="Release and grade the Backprop from Scratch course.")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="regenerate notebooks/ from solutions/")
    rel.add_argument("--dest", help="write the student notebooks here instead of notebooks/")
    rel.add_argument("--verbose", action="store_true", help="show nbgrader's log")
    args = parser.parse_args(argv)

    if args.command == "release":
        from .release import release

        out = release(args.dest, quiet=not args.verbose)
        print(f"student notebooks written to {out}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
