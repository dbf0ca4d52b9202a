"""Reading and running course notebooks: which cells are graded, and executing one in a fresh kernel."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def course_notebooks(folder: Path) -> list[Path]:
    """Every notebook of the course under ``folder`` (solutions/ or notebooks/), in teaching order."""
    return sorted(p for p in Path(folder).glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell) -> bool:
    m = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


@dataclass(frozen=True)
class Exercise:
    """A graded test cell: its grade_id, points, and the solution cell it follows."""

    grade_id: str
    points: float
    solution_id: str | None


def exercises(nb) -> list[Exercise]:
    """The notebook's graded test cells in order, each with the nearest solution cell above it."""
    out, last_solution = [], None
    for cell in nb.cells:
        m = nbgrader_meta(cell)
        if m.get("solution"):
            last_solution = m.get("grade_id")
        if is_test_cell(cell):
            out.append(Exercise(m["grade_id"], float(m.get("points", 0)), last_solution))
    return out


def strip_hidden_tests(source: str) -> str:
    """The cell source without its hidden-test block (what a student's copy shows)."""
    lines, hidden = [], False
    for line in source.splitlines():
        if line.strip() == HIDDEN_BEGIN:
            hidden = True
        elif line.strip() == HIDDEN_END:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "\n".join(lines)


@dataclass
class Execution:
    """The result of running a notebook: the executed notebook, and the first error (or None)
    as (cell index, ename, evalue)."""

    nb: object
    error: tuple | None


def execute(path: Path, timeout: int = 120, kernel: str = "python3") -> Execution:
    """Run the notebook at ``path`` top to bottom in a fresh kernel, in its own folder,
    stopping at the first error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as e:
        index = next((i for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if o.get("output_type") == "error"), None)
        return Execution(nb, (index, e.ename, e.evalue))
    return Execution(nb, None)
