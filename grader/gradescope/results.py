"""results.json in the format of Gradescope's autograder specification, from the grading job's records.

One test per exercise (name, number, score, max_score, output, visibility); the top level has the
score, a summary for the whole submission (what was graded, what was not and why, the isolation the
code ran in), the visibility, and ``stdout_visibility: hidden`` (stdout is for the instructor). A test's
output is the check's message, its hints and the student's own traceback: never the hidden tests'
source, which the grader never has in a message to begin with (grader/spec.py keeps only their calls).
"""
from __future__ import annotations

import html

MAX_TEST_OUTPUT = 12000   # characters of one test's output (the check's message, hints, the student's traceback)
MAX_PARAGRAPH = 3000      # characters of one paragraph of the top-level output

STATUS_WORDS = {
    "ok": "Passed",
    "failed": "Not yet right",
    "error": "Your code raised an error, or is not done yet",
    "timeout": "Ran past the time limit",
    "tampered": "No points: the notebook changed what grading relies on",
    "invalid": "Not gradable",
    "missing": "Not submitted",
    "ungradable": "Not graded (a problem of the autograder, not of your work: tell your instructor)",
    "not_graded": "Not graded",
}


def exercise_name(grade_id: str) -> str:
    return grade_id.removeprefix("test_")


def exercise_output(ex, flags: list) -> str:
    parts = [f"{STATUS_WORDS.get(ex.status, ex.status)}: {ex.score:g} of {ex.max_score:g} point(s)."]
    if ex.message:
        parts.append(ex.message)
    parts += [f"Hint: {h}" for h in ex.hints]
    if ex.traceback:
        parts.append("Where your code raised it:\n" + ex.traceback)
    parts += [f"Seen while grading: {f.text}" for f in flags]
    return "\n\n".join(parts)


def _test(name, number, score, max_score, output, visibility) -> dict:
    return {"name": name, "number": number, "score": float(score), "max_score": float(max_score), "output": output,
            "visibility": visibility}


def notebook_tests(record, n: int, visibility: str) -> list[dict]:
    """The tests of one graded notebook (record: a grader.results.NotebookResult)."""
    out = []
    for i, ex in enumerate(record.exercises, 1):
        output = exercise_output(ex, record.flags_for(ex.grade_id))
        if record.status != "graded" and record.reason:
            output += f"\n\n{record.reason}"
        out.append(_test(f"{record.notebook}.ipynb: {exercise_name(ex.grade_id)}", f"{n}.{i}", ex.score, ex.max_score,
                         output, visibility))
    return out


def absent_tests(spec, n: int, why: str, visibility: str, status: str = "not_graded") -> list[dict]:
    """Zero for every exercise of a notebook that was not graded, each saying why: ``status`` is
    "not_graded" (what was handed in does not allow it) or "ungradable" (the autograder's fault)."""
    return [_test(f"{spec.notebook}.ipynb: {exercise_name(e.grade_id)}", f"{n}.{i}", 0, e.points,
                  f"{STATUS_WORDS[status]}: 0 of {e.points:g} point(s).\n\n{why}", visibility)
            for i, e in enumerate(spec.exercises, 1)]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters cut)"


def document(tests: list, summary: list, visibility: str, seconds: float, extra: dict) -> dict:
    """The whole results.json. Gradescope renders the top-level output as HTML ("simple_format", its
    default: a newline becomes a line break) and test outputs as plain text in a <pre>: the summary
    holds file names the student chose, so it is escaped; every text is cut to a bounded length."""
    for t in tests:
        t["output"] = _clip(t["output"], MAX_TEST_OUTPUT)
    output = "\n\n".join(html.escape(_clip(s, MAX_PARAGRAPH), quote=False) for s in summary if s)
    return {"score": float(sum(t["score"] for t in tests)), "execution_time": int(round(seconds)),
            "output": output, "output_format": "simple_format", "test_output_format": "text",
            "test_name_format": "text", "visibility": visibility, "stdout_visibility": "hidden",
            "tests": tests, "extra_data": extra}


def notebook_summary(record, rel: str) -> str:
    """One paragraph per graded notebook: its score, the repairs and the facts the grader saw."""
    head = f"{rel} ({record.assignment}/{record.notebook}.ipynb): {record.score:g} of {record.max_score:g} points."
    if record.status == "invalid":
        head += f" It could not be read as a notebook: {record.reason}"
    elif record.status != "graded":
        head += f" It was not graded: {record.reason}"
    lines = [head, *record.notes]
    lines += [f"Seen while grading: {f.text}" for f in record.flags_for("notebook")]
    return "\n".join(lines)
