"""Regenerate the student notebooks in notebooks/ from the instructor notebooks in solutions/."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .nbgrader_run import ROOT, nbgrader


def assignments(source: Path = ROOT / "solutions") -> list[str]:
    """The assignment folders of the course, in teaching order."""
    return sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))


def release(dest: Path | None = None, quiet: bool = True, only: list[str] | None = None) -> Path:
    """Generate every assignment's student version into ``dest`` (default notebooks/).

    Solutions are replaced by stubs, hidden tests removed, outputs cleared.
    Assignments that no longer exist in solutions/ are removed from ``dest``.
    Uses a throwaway gradebook: releasing never touches the class's grades.
    """
    dest = Path(dest or ROOT / "notebooks").resolve()
    names = only or assignments()
    if not names:
        raise SystemExit("release: solutions/ holds no assignment folders")
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "release"
        for pattern in (only or ["*"]):
            nbgrader("generate_assignment", pattern, "--force", f"--CourseDirectory.release_directory={staging}",
                     f"--db=sqlite:///{Path(tmp) / 'release.db'}", *(["--quiet"] if quiet else []))
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
