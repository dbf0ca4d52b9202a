"""The course being graded, and the grading workspace.

The course is a folder with ``solutions/`` (the instructor's notebooks, nbgrader's source) and
``notebooks/`` (the released student versions): ``--course DIR``, or the current directory when it
holds one. The grader never guesses it from where it is installed.

The workspace (default ``<course>/grader/work``) holds what grading makes: collected submissions,
the release and grading specs it grades against, results, the gradebook, and a secret of its own
from which the hidden checks' seeds are derived.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import nbformat

from . import notebooks

COURSE_ID = "backprop-from-scratch"
PACKAGE = Path(__file__).resolve().parent
NBGRADER_CONFIG = PACKAGE / "nbgrader_config"   # nbgrader wants the path without ".py"


class NoCourse(SystemExit):
    pass


@dataclass(frozen=True)
class Course:
    """The course as the grader sees it: assignments, their notebooks, and each notebook's exercises."""

    root: Path

    @classmethod
    def find(cls, path: Path | None = None) -> "Course":
        where = Path(path or os.getcwd()).resolve()
        if not notebooks.course_notebooks(where / "solutions"):
            if path is None:
                raise NoCourse(f"course-grader: no course here ({where} has no solutions/<assignment>/<notebook>.ipynb). "
                               "Run it from the course's folder, or pass --course DIR.")
            raise NoCourse(f"course-grader: {where} is not a course folder: it has no "
                           "solutions/<assignment>/<notebook>.ipynb")
        return cls(where)

    @property
    def source(self) -> Path:
        return self.root / "solutions"

    @property
    def release_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def default_workspace(self) -> Path:
        return self.root / "grader" / "work"

    @property
    def demo(self) -> Path:
        return self.root / "grader" / "demo" / "submissions"

    @cached_property
    def sources(self) -> dict:
        """{(assignment, notebook): the instructor's notebook}, read once."""
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
        """Changes whenever any source notebook changes (the release and specs are then rebuilt)."""
        h = hashlib.sha256()
        for path in notebooks.course_notebooks(self.source):
            h.update(str(path.relative_to(self.source)).encode())
            h.update(path.read_bytes())
        return h.hexdigest()

    # ------------------------------------------------------------------ nbgrader
    def nbgrader_env(self, workspace: Path | None = None) -> dict:
        """The environment nbgrader runs in for this course: the config reads these settings, and
        this interpreter's bin comes first on PATH (nbgrader runs `alembic` from there)."""
        e = dict(os.environ)
        e["PATH"] = str(Path(sys.executable).parent) + os.pathsep + e.get("PATH", "")
        e["COURSE_GRADER_COURSE"] = str(self.root)
        if workspace is not None:
            e["COURSE_GRADER_WORKSPACE"] = str(workspace)
        return e

    def nbgrader(self, *args: str, check: bool = True, capture: bool = False, workspace: Path | None = None):
        """Run ``nbgrader ARGS`` with the course's configuration."""
        # `python -m nbgrader`, with grader imported first: it spares nbgrader's start the 1.5 s of
        # jsonschema's IRI parsers (grader/__init__.py).
        cmd = [sys.executable, "-c", "import grader, runpy; runpy.run_module('nbgrader', run_name='__main__')",
               *args, f"--NbGrader.config_file={NBGRADER_CONFIG}"]
        return subprocess.run(cmd, cwd=self.root, env=self.nbgrader_env(workspace), check=check, text=True,
                              stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None)


@dataclass
class Workspace:
    root: Path

    def __post_init__(self):
        self.root = Path(self.root).resolve()

    def create(self) -> "Workspace":
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SystemExit(f"course-grader: cannot create the workspace {self.root} ({e.strerror}); "
                             "pass --workspace DIR, a folder you can write") from None
        if not os.access(self.root, os.W_OK):
            raise SystemExit(f"course-grader: the workspace {self.root} is not writable; pass --workspace DIR")
        return self

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def template(self) -> Path:
        """nbgrader's release of the course and the gradebook template, rebuilt when solutions/ changes."""
        return self.root / "template"

    @property
    def specs(self) -> Path:
        return self.template / "specs"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def set_aside(self) -> Path:
        """Files that collect could not place, or replaced: kept, never deleted."""
        return self.root / "set_aside"

    @property
    def secret_path(self) -> Path:
        return self.root / "secret"

    def secret(self) -> str:
        """A random key of this workspace, never shown to student code: the hidden checks' seeds are
        derived from it, so that the seeds published in solutions/ cannot be answered ahead."""
        path = self.secret_path
        if not path.exists():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(16))
        return path.read_text().strip()

    def students(self) -> list[str]:
        if not self.submitted.exists():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if p.is_dir())

    def submission(self, student: str, assignment: str, notebook: str) -> Path:
        return self.submitted / student / assignment / f"{notebook}.ipynb"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
