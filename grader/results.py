"""What grading produces: one record per student, assignment and notebook, stored as versioned JSON.

Statuses, per exercise:
  ok        full points
  failed    the checks ran and judged the answer wrong
  error     the student's code raised (the stub included), or its process ended, before a check could judge
  timeout   the student's code ran past the time limit
  missing   the notebook was not submitted
  invalid   the file could not be read as a notebook (not JSON, empty, an old nbformat)
  tampered  no points, and the evidence concerns this exercise: its test cell was changed, or its
            graded code reached for the reference it is compared with (``flags`` say what was seen)
  ungradable the grader itself could not grade it (the record's ``reason`` says why); never the student's fault
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

RECORD_VERSION = 2
STATUSES = ("ok", "failed", "error", "timeout", "missing", "invalid", "tampered", "ungradable")


@dataclass
class ExerciseResult:
    grade_id: str
    score: float
    max_score: float
    status: str
    bug: str = ""
    message: str = ""       # the check's verdict in words: never hidden test source
    hints: list = field(default_factory=list)
    traceback: str = ""     # the student's own frames, when their code raised


@dataclass
class Flag:
    """A fact the grader saw, in neutral words: ``scope`` is "notebook" or the exercise it concerns."""

    scope: str
    text: str
    cell: int | None = None


@dataclass
class NotebookResult:
    student: str
    assignment: str
    notebook: str
    status: str            # "graded", "missing", "invalid" or "ungradable"
    reason: str = ""       # why, for anything but "graded"
    notes: list = field(default_factory=list)   # repairs made before grading, cells that failed to run...
    flags: list = field(default_factory=list)   # [Flag]
    sha256: str = ""       # of the submitted file, to regrade only what changed
    exercises: list = field(default_factory=list)
    sandbox: str = ""      # how student code was isolated: "bubblewrap", "uid: ..." (the fallback), "none: ..."
    lms_id: str = ""       # the student's id in the LMS export it came from, when there was one
    late: str = ""         # when the submission was late: by how much, in words ("2 h 10 min after the due date")
    # Added within version 2 (a record without them reads as "not known"): where the file came from,
    # and its lateness as nbgrader computes it (SubmittedAssignment.total_seconds_late).
    lms: str = ""          # "canvas", "moodle", "blackboard"; "" for nbgrader's layout or a folder per student
    lms_file: str = ""     # the file's name in the LMS download, as it was
    submitted_at: str = ""  # nbgrader's timestamp.txt, in UTC (ISO 8601)
    due: str = ""          # the due date it was held to, in UTC, with any nbgrader extension
    seconds_late: float | None = None   # None: no due date or no timestamp; 0: on time
    lms_late: bool = False  # the LMS marked it late (Canvas's _LATE_): the evidence when there is no timestamp
    late_penalty: float = 0.0   # points taken off for lateness (nbgrader's late_submission_penalty)
    timing: dict = field(default_factory=dict)
    version: int = RECORD_VERSION

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    @property
    def final_score(self) -> float:
        """The score after the late penalty: what totals and the gradebook count."""
        return max(0.0, self.score - self.late_penalty)

    def flags_for(self, scope: str) -> list:
        return [f for f in self.flags if f.scope == scope]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "NotebookResult":
        data = dict(data)
        if data.get("version") != RECORD_VERSION:
            raise ValueError(f"a result record of version {data.get('version')}; this grader writes {RECORD_VERSION}")
        known = {f.name for f in fields(ExerciseResult)}
        data["exercises"] = [ExerciseResult(**{k: v for k, v in e.items() if k in known}) for e in data.get("exercises", [])]
        data["flags"] = [Flag(**f) for f in data.get("flags", [])]
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def result_path(results_dir: Path, student: str, assignment: str, notebook: str) -> Path:
    return Path(results_dir) / student / assignment / f"{notebook}.json"


def save(results_dir: Path, result: NotebookResult) -> Path:
    """Write one result atomically (a crash never leaves half a file)."""
    path = result_path(results_dir, result.student, result.assignment, result.notebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(result.to_json(), indent=1, ensure_ascii=True))
    os.replace(tmp, path)
    return path


def load(path: Path) -> NotebookResult:
    return NotebookResult.from_json(json.loads(Path(path).read_text()))


def load_all(results_dir: Path, problems: list | None = None) -> list[NotebookResult]:
    """Every stored result, sorted by student, assignment and notebook. A record that cannot be read
    is skipped and reported in ``problems`` (path, why): one bad file never hides the others."""
    if not Path(results_dir).exists():
        return []
    out = []
    for p in Path(results_dir).glob("*/*/*.json"):
        try:
            out.append(load(p))
        except Exception as e:  # noqa: BLE001  (a damaged or old record: regrade it)
            if problems is not None:
                problems.append((str(p), f"{type(e).__name__}: {e}"))
    return sorted(out, key=lambda r: (r.student, r.assignment, r.notebook))
