"""Regenerate the student notebooks in notebooks/ from the instructor notebooks in solutions/."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .workspace import Course


def assignments(course: Course) -> list[str]:
    """The assignment folders of the course, in teaching order."""
    return sorted(p.name for p in course.source.iterdir() if p.is_dir() and not p.name.startswith("."))


def release(course: Course, dest: Path | None = None, quiet: bool = True, only: list[str] | None = None) -> Path:
    """Generate every assignment's student version into ``dest`` (default the course's notebooks/).

    Solutions are replaced by stubs, hidden tests removed, outputs cleared.
    Assignments that no longer exist in solutions/ are removed from ``dest``.
    Uses a throwaway gradebook: releasing never touches the class's grades.
    """
    dest = Path(dest or course.release_dir).resolve()
    names = only or assignments(course)
    if not names:
        raise SystemExit("release: solutions/ holds no assignment folders")
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "release"
        # One nbgrader process for every assignment, even when only some are wanted: its start-up
        # (over a second) costs more than converting the notebooks it could have skipped.
        course.nbgrader("generate_assignment", "*", "--force", f"--CourseDirectory.release_directory={staging}",
                        f"--db=sqlite:///{Path(tmp) / 'release.db'}", *(["--quiet"] if quiet else []),
                        workspace=Path(tmp))
        missing = [a for a in names if not (staging / a).is_dir()]
        if missing:
            raise SystemExit(f"release: nbgrader produced nothing for {missing}; run with --verbose to see why")
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.iterdir():
            if old.is_dir() and old.name not in names and only is None:
                shutil.rmtree(old)
        for a in names:
            shutil.rmtree(dest / a, ignore_errors=True)
            shutil.copytree(staging / a, dest / a)
    return dest
