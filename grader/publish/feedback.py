"""Feedback pages: one HTML page per student and notebook.

Built from the stored results and the released notebook's visible test cells, never from hidden
tests (nbgrader's own feedback shows their source, and tracebacks through them). A page shows each
exercise's score, status and the check's words (with the student's own traceback when their code
raised), the visible test, any repair made before grading, and the facts the grader saw, in
neutral words. Everything a student's code could put in a record is escaped and cut to length.
"""
from __future__ import annotations

import html
from pathlib import Path

import nbformat

from ..notebooks import is_test_cell, nbgrader_meta, strip_hidden_tests
from ..results import NotebookResult

MAX_MESSAGE = 4000
_STATUS_COLOUR = {"ok": "#1a7f37", "failed": "#b91c1c", "error": "#b91c1c", "timeout": "#b45309",
                  "missing": "#6b7280", "invalid": "#6b7280", "tampered": "#7c3aed", "ungradable": "#6b7280"}
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.45; color: #111; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }
.status { font-weight: bold; } .note { background: #fff7e6; padding: .5rem; border-left: 4px solid #b45309; }
"""


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters cut)"


def e(text) -> str:
    return html.escape(_clip(text))


def render(result: NotebookResult, release_nb=None) -> str:
    """The page for one notebook. ``release_nb`` (the student version) supplies the visible test code."""
    visible = {}
    if release_nb is not None:
        visible = {nbgrader_meta(c)["grade_id"]: strip_hidden_tests(c.source) for c in release_nb.cells if is_test_cell(c)}
    rows = "".join(
        f"<tr><td><code>{e(x.grade_id)}</code></td><td>{x.score:g} / {x.max_score:g}</td>"
        f"<td class='status' style='color:{_STATUS_COLOUR.get(x.status, '#111')}'>{e(x.status)}</td>"
        f"<td>{e(x.bug) if x.bug else ''}</td></tr>"
        for x in result.exercises)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(result.student)}: "
             f"{e(result.notebook)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>Feedback: {e(result.assignment)} / {e(result.notebook)}</h1>",
             f"<p>Student <b>{e(result.student)}</b>: <b>{result.final_score:g} of {result.max_score:g}</b> points"
             + (f" ({result.score:g} before the late penalty)" if result.late_penalty else "") + ".</p>"]
    if result.sandbox.startswith("none"):
        parts.append("<p class='note'><b>Graded without the sandbox</b> (the instructor ran the grader with "
                     "--unsafe-no-sandbox).</p>")
    elif result.sandbox.startswith("uid"):   # the fallback where bubblewrap is refused: weaker, so said
        parts.append("<p class='note'><b>Graded with the fallback isolation</b>, not bubblewrap's sandbox: your code "
                     f"ran as {e(result.sandbox.removeprefix('uid: '))}.</p>")
    if result.status != "graded":
        parts.append(f"<p class='note'><b>This notebook could not be graded ({e(result.status)}).</b> "
                     f"{e(result.reason)}</p>")
    if result.late:
        parts.append(f"<p class='note'>{_late_sentence(result)}</p>")
    for note in result.notes[:50]:
        parts.append(f"<p class='note'>{e(note)}</p>")
    if result.flags:
        items = "".join(f"<li>{e(f.text)}</li>" for f in result.flags[:50])
        parts.append("<div class='note'><b>What the grader saw.</b> Your scores come only from what your functions "
                     "return when the grader checks them outside your notebook; an exercise that did not pass and "
                     f"that one of these facts concerns is marked <code>tampered</code>.<ul>{items}</ul></div>")
    parts.append(f"<table><tr><th>exercise</th><th>score</th><th>status</th><th>looks like the known bug</th></tr>"
                 f"{rows}</table>")
    for x in result.exercises:
        if x.status == "ok":
            continue
        parts.append(f"<h2><code>{e(x.grade_id)}</code>: {e(x.status)}</h2>")
        if x.message:
            parts.append(f"<p>What the check said:</p><pre>{e(x.message)}</pre>")
        if x.hints:
            parts.append("<ul>" + "".join(f"<li>{e(h)}</li>" for h in x.hints[:20]) + "</ul>")
        if x.traceback:
            parts.append(f"<p>Where your code raised (your cells' lines):</p><pre>{e(x.traceback)}</pre>")
        if x.grade_id in visible:
            parts.append(f"<p>The visible test you can run yourself:</p><pre>{e(visible[x.grade_id])}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _when(iso: str) -> str:
    """ "2025-03-01T16:00:00+00:00" -> "2025-03-01 16:00:00 UTC" (the record's times are in UTC)."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        return e(iso)


def _late_sentence(result: NotebookResult) -> str:
    """ "Submitted 2 h 10 min after the due date (...)." and what the late penalty took off, escaped."""
    if result.seconds_late:
        text = (f"Submitted {e(result.late)} (due {_when(result.due)}; submitted {_when(result.submitted_at)}, "
                "by nbgrader's record of your submission).")
    else:
        text = e(result.late[:1].upper() + result.late[1:]) + "."
    if result.late_penalty:
        text += (f" The late penalty takes {result.late_penalty:g} of your {result.score:g} points off: "
                 f"{result.final_score:g} count.")
    return text


def write_all(records: list[NotebookResult], out: Path, release_dir: Path) -> tuple[list[Path], list]:
    """Write ``out/<student>/<assignment>/<notebook>.html`` for every record; returns (pages, failures)."""
    pages, failures = [], []
    cache: dict = {}
    for r in records:
        key = (r.assignment, r.notebook)
        if key not in cache:
            path = Path(release_dir) / r.assignment / f"{r.notebook}.ipynb"
            cache[key] = nbformat.read(path, as_version=4) if path.exists() else None
        page = out / r.student / r.assignment / f"{r.notebook}.html"
        try:
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(render(r, cache[key]), encoding="utf-8", errors="backslashreplace")
            pages.append(page)
        except Exception as err:  # noqa: BLE001  (this page only; the others are written)
            failures.append(((r.student, r.assignment, r.notebook), f"{type(err).__name__}: {err}"))
    return pages, failures
