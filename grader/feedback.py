"""Feedback pages: one HTML page per student and notebook.

Built from the stored results and the student's own submitted cells, never from the autograded
notebook's test cells: those hold the hidden tests (nbgrader restores full test cells from the
gradebook), and tracebacks through them show hidden lines. A page shows each exercise's score,
status and the check's message, the visible part of each test cell, and any repair made to the
notebook before grading.
"""
from __future__ import annotations

import html
from pathlib import Path

import nbformat

from .notebooks import is_test_cell, nbgrader_meta, strip_hidden_tests
from .results import NotebookResult

MAX_MESSAGE = 3000
_STATUS_COLOUR = {"ok": "#1a7f37", "failed": "#b91c1c", "error": "#b91c1c", "timeout": "#b45309",
                  "missing": "#6b7280", "invalid": "#6b7280", "tampered": "#7c3aed"}
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.45; color: #111; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.status { font-weight: bold; } .note { background: #fff7e6; padding: .5rem; border-left: 4px solid #b45309; }
"""


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters cut)"


def render(result: NotebookResult, release_nb=None) -> str:
    """The page for one notebook. ``release_nb`` (the student version) supplies the visible test code."""
    visible = {}
    if release_nb is not None:
        visible = {nbgrader_meta(c)["grade_id"]: strip_hidden_tests(c.source) for c in release_nb.cells if is_test_cell(c)}
    e = html.escape
    rows = "".join(
        f"<tr><td><code>{e(x.grade_id)}</code></td><td>{x.score:g} / {x.max_score:g}</td>"
        f"<td class='status' style='color:{_STATUS_COLOUR.get(x.status, '#111')}'>{e(x.status)}</td>"
        f"<td>{e(x.bug) if x.bug else ''}</td></tr>"
        for x in result.exercises)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(result.student)}: {e(result.notebook)}</title>"
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>Feedback: {e(result.assignment)} / {e(result.notebook)}</h1>",
             f"<p>Student <b>{e(result.student)}</b>: <b>{result.score:g} of {result.max_score:g}</b> points.</p>"]
    if result.status != "graded":
        parts.append(f"<p class='note'><b>This notebook could not be graded ({e(result.status)}).</b> {e(result.reason)}</p>")
    for note in result.notes:
        parts.append(f"<p class='note'>{e(note)}</p>")
    if result.flags:
        items = "".join(f"<li>{e(f)}</li>" for f in result.flags)
        parts.append("<div class='note'><b>The grader saw signs of an attempt to change how this notebook is "
                     "graded.</b> Scores come only from what your functions return when the grader checks them "
                     f"outside your notebook. What was seen:<ul>{items}</ul></div>")
    parts.append(f"<table><tr><th>exercise</th><th>score</th><th>status</th><th>looks like the known bug</th></tr>{rows}</table>")
    for x in result.exercises:
        if x.status == "ok":
            continue
        parts.append(f"<h2><code>{e(x.grade_id)}</code>: {e(x.status)}</h2>")
        if x.message:
            parts.append(f"<p>What the test said:</p><pre>{e(_clip(x.message))}</pre>")
        if x.grade_id in visible:
            parts.append(f"<p>The visible test you can run yourself:</p><pre>{e(visible[x.grade_id])}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_all(records: list[NotebookResult], out: Path, release_dir: Path) -> list[Path]:
    """Write ``out/<student>/<assignment>/<notebook>.html`` for every record."""
    pages = []
    cache: dict = {}
    for r in records:
        key = (r.assignment, r.notebook)
        if key not in cache:
            path = release_dir / r.assignment / f"{r.notebook}.ipynb"
            cache[key] = nbformat.read(path, as_version=4) if path.exists() else None
        page = out / r.student / r.assignment / f"{r.notebook}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(render(r, cache[key]), encoding="utf-8")
        pages.append(page)
    return pages
