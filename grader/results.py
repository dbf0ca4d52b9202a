"""What grading produces: one record per student, assignment and notebook, stored as JSON.

Statuses, per exercise:
  ok       full points
  failed   the tests ran and found the answer wrong (partly or wholly)
  error    the student's code raised, or the notebook's kernel died, before the test could judge
  timeout  a cell ran past the per-exercise time limit
  missing  the notebook was not submitted
  invalid  the file could not be read as a notebook (not JSON, empty, an old nbformat)
  tampered the answer earned no points and the notebook shows an attempt to fool the grader
           (the notebook's ``flags`` say what was seen)
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("ok", "failed", "error", "timeout", "missing", "invalid", "tampered")


@dataclass
class ExerciseResult:
    grade_id: str
    score: float
    max_score: float
    status: str
    bug: str = ""
    message: str = ""  # what the visible feedback shows: the check's message, never hidden test source


@dataclass
class NotebookResult:
    student: str
    assignment: str
    notebook: str
    status: str            # "graded", "missing", "invalid" or "error"
    reason: str = ""       # why, for anything but "graded"
    notes: list = field(default_factory=list)  # e.g. test cells restored, extra files ignored
    flags: list = field(default_factory=list)  # evidence of tampering, for the report and the feedback
    sha256: str = ""       # of the submitted file, to regrade only what changed
    exercises: list = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "NotebookResult":
        data = dict(data)
        data["exercises"] = [ExerciseResult(**e) for e in data.get("exercises", [])]
        return cls(**data)


def result_path(results_dir: Path, student: str, assignment: str, notebook: str) -> Path:
    return results_dir / student / assignment / f"{notebook}.json"


def save(results_dir: Path, result: NotebookResult) -> None:
    """Write one result atomically (a crash never leaves half a file)."""
    path = result_path(results_dir, result.student, result.assignment, result.notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result.to_json(), indent=1))
    os.replace(tmp, path)


def load_all(results_dir: Path) -> list[NotebookResult]:
    """Every stored result, sorted by student, assignment and notebook."""
    if not results_dir.exists():
        return []
    out = [NotebookResult.from_json(json.loads(p.read_text())) for p in results_dir.glob("*/*/*.json")]
    return sorted(out, key=lambda r: (r.student, r.assignment, r.notebook))
