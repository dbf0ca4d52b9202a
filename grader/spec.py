"""What grading one notebook needs to know about the course: its exercises, their points, the
checker calls of each test cell (hidden ones included) and the released test cells.

A spec is built from the instructor's notebook (solutions/, with the hidden tests) and the student
version nbgrader released, and stored as JSON: it is the "release" a grading job takes, so a job
can run anywhere the course's package is installed (another machine, a Gradescope container)
without the solutions folder. Hidden tests' *source* never leaves the grader: a spec holds the
checker calls they make, which the public solutions show anyway.
"""
from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .notebooks import is_test_cell, nbgrader_meta, strip_hidden_tests

SPEC_VERSION = 1


@dataclass
class CheckCall:
    checker: str        # a function of course_lib.checks
    target: str         # the notebook name it is given (the student's function or class)
    kwargs: dict        # literal keyword arguments (hidden=True, seed=...)
    hidden: bool = False


@dataclass
class ExerciseSpec:
    grade_id: str
    points: float
    calls: list          # [CheckCall]
    visible: str         # the test cell as students see it


@dataclass
class NotebookSpec:
    assignment: str
    notebook: str
    exercises: list = field(default_factory=list)        # [ExerciseSpec] in notebook order
    release_cells: list = field(default_factory=list)    # the released notebook's cells (nbformat dicts)
    version: int = SPEC_VERSION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "NotebookSpec":
        if data.get("version") != SPEC_VERSION:
            raise ValueError(f"a grading spec of version {data.get('version')}; this grader reads {SPEC_VERSION}")
        exercises = [ExerciseSpec(e["grade_id"], float(e["points"]), [CheckCall(**c) for c in e["calls"]], e["visible"])
                     for e in data["exercises"]]
        return cls(data["assignment"], data["notebook"], exercises, data["release_cells"], data["version"])

    def release_nb(self):
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.from_dict(c) for c in self.release_cells]
        return nb

    @property
    def max_score(self) -> float:
        return sum(e.points for e in self.exercises)


def parse_test_cell(source: str) -> list[CheckCall]:
    """The checker calls of a test cell: each statement must be ``checks.check_x(name, k=literal, ...)``."""
    calls = []
    hidden_block = False
    lines = source.splitlines()
    hidden_lines = set()
    for i, line in enumerate(lines, 1):
        if line.strip() == "### BEGIN HIDDEN TESTS":
            hidden_block = True
        elif line.strip() == "### END HIDDEN TESTS":
            hidden_block = False
        elif hidden_block:
            hidden_lines.add(i)
    for statement in ast.parse(source).body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.func.value.id == "checks"
                and len(call.args) == 1 and isinstance(call.args[0], ast.Name)):
            raise ValueError(f"not a checker call: {ast.unparse(statement)}")
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        calls.append(CheckCall(call.func.attr, call.args[0].id, kwargs,
                               hidden=bool(kwargs.get("hidden")) or statement.lineno in hidden_lines))
    return calls


def build(source_nb, release_nb, assignment: str, notebook: str) -> NotebookSpec:
    """The spec of one notebook from the instructor's version and nbgrader's student version."""
    exercises = []
    for cell in source_nb.cells:
        if not is_test_cell(cell):
            continue
        meta = nbgrader_meta(cell)
        exercises.append(ExerciseSpec(meta["grade_id"], float(meta.get("points", 0)), parse_test_cell(cell.source),
                                      strip_hidden_tests(cell.source)))
    cells = [json.loads(json.dumps(c)) for c in release_nb.cells]
    return NotebookSpec(assignment, notebook, exercises, cells)


def save(spec: NotebookSpec, folder: Path) -> Path:
    path = Path(folder) / spec.assignment / f"{spec.notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec.to_json()))
    return path


def load_all(folder: Path) -> dict:
    """{(assignment, notebook): NotebookSpec} for every spec under ``folder``."""
    out = {}
    for path in sorted(Path(folder).glob("*/*.json")):
        spec = NotebookSpec.from_json(json.loads(path.read_text()))
        out[(spec.assignment, spec.notebook)] = spec
    return out
