"""The grading workspace: where collected submissions, the gradebook template, results,
autograded notebooks and feedback live (default grader/work/, ignored by git)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nbformat

from . import notebooks
from .nbgrader_run import ROOT


@dataclass
class Workspace:
    root: Path

    def __post_init__(self):
        self.root = Path(self.root).resolve()

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def template(self) -> Path:
        return self.root / "template"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def set_aside(self) -> Path:
        """Files that collect could not place, or replaced: kept, never deleted."""
        return self.root / "set_aside"

    def secret(self) -> str:
        """A random key of this workspace, never shown to student code: the hidden tests' seeds
        are derived from it, so that the seeds published in solutions/ cannot be answered ahead."""
        path = self.root / "secret"
        if not path.exists():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(16))
            path.chmod(0o600)
        return path.read_text().strip()

    def students(self) -> list[str]:
        if not self.submitted.exists():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if p.is_dir())

    def submission(self, student: str, assignment: str, notebook: str) -> Path:
        return self.submitted / student / assignment / f"{notebook}.ipynb"


@dataclass(frozen=True)
class Course:
    """The course as the grader sees it: assignments, their notebooks, and each notebook's exercises."""

    source: Path = ROOT / "solutions"

    @cached_property
    def sources(self) -> dict:
        """{(assignment, notebook): the instructor's notebook}, read once (the grader only reads them)."""
        return {(p.parent.name, p.stem): nbformat.read(p, as_version=4) for p in notebooks.course_notebooks(self.source)}

    @cached_property
    def layout(self) -> dict:
        """{assignment: {notebook: [Exercise, ...]}} in teaching order."""
        out: dict = {}
        for (assignment, notebook), nb in self.sources.items():
            out.setdefault(assignment, {})[notebook] = notebooks.exercises(nb)
        return out

    def graded_assignments(self) -> list[str]:
        return [a for a, nbs in self.layout.items() if any(nbs.values())]

    def notebook_owner(self) -> dict:
        """{notebook name: assignment} for notebooks whose name is unique in the course."""
        owners: dict = {}
        for a, nbs in self.layout.items():
            for nb in nbs:
                owners.setdefault(nb, []).append(a)
        return {nb: a[0] for nb, a in owners.items() if len(a) == 1}

    def fingerprint(self) -> str:
        """Changes whenever any source notebook changes (the gradebook template is then rebuilt)."""
        h = hashlib.sha256()
        for path in notebooks.course_notebooks(self.source):
            h.update(str(path.relative_to(self.source)).encode())
            h.update(path.read_bytes())
        return h.hexdigest()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
