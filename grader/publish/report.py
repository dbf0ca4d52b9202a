"""The class report: score distribution, pass rate per exercise, and the known bugs the class made."""
from __future__ import annotations

import base64
import html
import io
from collections import Counter, defaultdict
from pathlib import Path

import nbformat

from course_lib import bugs

from ..notebooks import nbgrader_meta
from ..results import NotebookResult
from ..workspace import Course, Workspace


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _figures(records: list[NotebookResult]) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = defaultdict(lambda: [0.0, 0.0])
    for r in records:
        totals[r.student][0] += r.final_score
        totals[r.student][1] += r.max_score
    percents = [100 * s / m for s, m in totals.values() if m]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.hist(percents, bins=range(0, 101, 10), color="#1f77b4", edgecolor="k", hatch="/")
    ax.set_xlabel("total score (% of the points available)")
    ax.set_ylabel("students")
    ax.set_title("Score distribution")
    out = {"scores": _png(fig)}

    passes = defaultdict(lambda: [0, 0])
    for r in records:
        for e in r.exercises:
            passes[f"{r.assignment[:2]} {e.grade_id}"][0] += e.status == "ok"
            passes[f"{r.assignment[:2]} {e.grade_id}"][1] += 1
    names = sorted(passes)
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1))
    ax.barh(names, [100 * passes[n][0] / passes[n][1] for n in names], color="#2ca02c", edgecolor="k")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed (%)")
    ax.set_ylabel("exercise")
    ax.set_title("Pass rate per exercise")
    out["passes"] = _png(fig)

    counts = Counter(e.bug for r in records for e in r.exercises if e.bug)
    if counts:
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(counts) + 1))
        names = [n for n, _ in counts.most_common()]
        ax.barh(names, [len({r.student for r in records for e in r.exercises if e.bug == n}) for n in names],
                color="#d62728", edgecolor="k", hatch="\\")
        ax.invert_yaxis()
        ax.set_xlabel("students whose answer matched the bug")
        ax.set_ylabel("known bug (course_lib.bugs)")
        ax.set_title("Known bugs found in the class")
        out["bugs"] = _png(fig)
    return out


def _example(ws: Workspace, course: Course, record: NotebookResult, grade_id: str) -> str:
    """The student's code for the exercise, without their name: what the bug looks like in practice."""
    path = ws.submission(record.student, record.assignment, record.notebook)
    ex = next((e for e in course.layout[record.assignment][record.notebook] if e.grade_id == grade_id), None)
    if ex is None or ex.solution_id is None or not path.exists():
        return ""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:
        return ""
    return next((c.source for c in nb.cells if nbgrader_meta(c).get("grade_id") == ex.solution_id), "")


def _e(text) -> str:
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return html.escape(text if len(text) <= 3000 else text[:3000] + "...")


def write(records: list[NotebookResult], out: Path, ws: Workspace, course: Course) -> Path:
    figs = _figures(records)
    e = _e
    students = sorted({r.student for r in records})
    problems = [r for r in records if r.status != "graded"]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Class report</title><style>"
             "body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;line-height:1.45}"
             "pre{background:#f6f8fa;padding:.6rem;white-space:pre-wrap}td,th{border:1px solid #ccc;padding:.3rem .6rem}"
             "table{border-collapse:collapse}</style></head><body>",
             f"<h1>Class report</h1><p>{len(students)} students, {len(records)} notebooks.</p>",
             f"<img alt='Histogram of total scores' src='{figs['scores']}'>",
             f"<img alt='Pass rate per exercise' src='{figs['passes']}'>"]
    if "bugs" in figs:
        parts.append("<h2>Known bugs</h2>")
        parts.append(f"<img alt='How many students matched each known bug' src='{figs['bugs']}'>")
        seen = set()
        for r in records:
            for x in r.exercises:
                if x.bug and x.bug not in seen:
                    seen.add(x.bug)
                    if x.bug not in bugs.CATALOGUE:
                        continue
                    entry = bugs.get(x.bug)
                    code = _example(ws, course, r, x.grade_id)
                    parts.append(f"<h3>{e(entry.title)} (section {e(entry.section)}): <code>{e(x.bug)}</code></h3>"
                                 f"<p>{e(entry.description)}</p><p>An anonymised example, from exercise "
                                 f"<code>{e(x.grade_id)}</code>:</p><pre>{e(code or '(code not available)')}</pre>"
                                 f"<p>What the check told the student:</p><pre>{e(x.message[:1500])}</pre>")
    unsafe = [r for r in records if r.sandbox.startswith("none")]
    if unsafe:
        parts.append(f"<p style='background:#fde8e8;padding:.5rem'><b>{len(unsafe)} notebook(s) were graded without "
                     "the sandbox</b> (--unsafe-no-sandbox): their student code ran with the grader's rights.</p>")
    fallback = sorted({r.sandbox for r in records if r.sandbox.startswith("uid")})
    if fallback:
        count = sum(r.sandbox.startswith("uid") for r in records)
        parts.append(f"<p style='background:#fff7e6;padding:.5rem'><b>{count} notebook(s) were graded with the "
                     "fallback isolation</b>, not bubblewrap's sandbox (docs/gradescope.md says what it does not hide): "
                     + "; ".join(e(f.removeprefix("uid: ")) for f in fallback) + ".</p>")
    flagged = [r for r in records if r.flags]
    if flagged:
        parts.append("<h2>Suspected tampering</h2><p>Notebooks in which the grader saw something that changes, or "
                     "tries to change, what the tests see: a test cell edited, deleted or moved, the reference of an "
                     "exercise called by the code graded for it, a library function or IPython's error reporting "
                     "replaced, a process that ended itself. Scores come from the sandboxed checks in any case; an "
                     "exercise that did not pass and that a fact concerns is marked <code>tampered</code>.</p>"
                     "<table><tr><th>student</th><th>notebook</th><th>exercises marked tampered</th>"
                     "<th>what was seen</th></tr>")
        for r in flagged:
            marked = ", ".join(x.grade_id for x in r.exercises if x.status == "tampered") or "none"
            seen = "<br>".join(e(f.text) for f in r.flags[:30])
            parts.append(f"<tr><td>{e(r.student)}</td><td>{e(r.assignment)}/{e(r.notebook)}</td><td>{e(marked)}</td>"
                         f"<td>{seen}</td></tr>")
        parts.append("</table>")
    parts += _similar_section(ws, course, e)
    if problems:
        parts.append("<h2>Submissions that could not be graded normally</h2><table><tr><th>student</th>"
                     "<th>notebook</th><th>status</th><th>reason</th></tr>")
        parts += [f"<tr><td>{e(r.student)}</td><td>{e(r.assignment)}/{e(r.notebook)}</td><td>{e(r.status)}</td>"
                  f"<td>{e(r.reason)}</td></tr>" for r in problems]
        parts.append("</table>")
    parts.append("</body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts), encoding="utf-8", errors="backslashreplace")
    return out


def _similar_section(ws: Workspace, course: Course, e) -> list:
    """Answers that match each other, the published solution or course_lib's reference."""
    from ..sandbox.policy import REFERENCES
    from ..spec import load_all
    from .similarity import find

    specs = load_all(ws.specs) if ws.specs.exists() else {}
    references: dict = {}
    for (a, n), spec in specs.items():
        by_id = {x.grade_id: x for x in course.layout[a][n]}
        for ex in spec.exercises:
            sol = by_id.get(ex.grade_id)
            if sol is not None and sol.solution_id:
                for call in ex.calls:
                    references.setdefault(sol.solution_id, []).extend(REFERENCES.get(call.checker, []))
    try:
        matches = find(ws, course, specs, {k: sorted(set(v)) for k, v in references.items()})
    except Exception as err:  # noqa: BLE001  (the report is written without this section, and says why)
        return [f"<h2>Answers that look copied</h2><p>Not computed: {e(type(err).__name__)}: {e(err)}</p>"]
    out = ["<h2>Answers that look copied</h2><p>Solution cells that share at least "
           "90% of their fingerprints (copydetect, names and layout normalised) with another student's, with "
           "the published solution, or with course_lib's reference. What the exercise makes alike does not "
           "count: the stub each cell started from, code that more than a few students (and more than 5% of "
           "the class) wrote the same way, and answers too short to tell. This does not change any score: "
           "it is for you to look at.</p>"]
    if not matches:
        return out + ["<p>None.</p>"]
    out.append("<table><tr><th>notebook</th><th>cell</th><th>answer</th><th>matches</th><th>similarity</th></tr>")
    for m in sorted(matches, key=lambda m: (m.assignment, m.cell, m.first, m.second)):
        out.append(f"<tr><td>{e(m.assignment)}</td><td><code>{e(m.cell)}</code></td><td>{e(m.first)}</td>"
                   f"<td>{e(m.second)}</td><td>{m.similarity:.0%}</td></tr>")
    return out + ["</table>"]
