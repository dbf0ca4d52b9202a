"""Late submissions, judged the way nbgrader judges them.

- When: nbgrader's ``timestamp.txt`` (written by ``nbgrader submit`` in the format of
  ``Exchange.timestamp_format``, "%Y-%m-%d %H:%M:%S.%f %Z"), read with nbgrader's own
  ``nbgrader.utils.parse_utc``, so that a timestamp nbgrader accepts is read the same here.
- Due: the assignment's ``duedate`` in the nbgrader gradebook the scores go to (what the formgrader
  and ``nbgrader db assignment add ... --duedate`` set), plus the student's extension there, if any;
  ``--due ASSIGNMENT=DATETIME`` sets that due date in the gradebook, as ``nbgrader db assignment add``
  would. A date-time without a zone is UTC, as in nbgrader.
- How late: ``SubmittedAssignment.total_seconds_late`` (nbgrader/api.py), whole assignment at once.
- Penalty: nbgrader's ``LateSubmissionPlugin`` (nbgrader/plugins/latesubmission.py) methods, per
  notebook: "none" records the lateness and takes nothing off; "zero" takes the whole score off
  (penalty = score), bounded to [0, score] as nbgrader's ``AssignLatePenalties`` bounds it. A
  submission the LMS marked late (Canvas's ``_LATE_``) and that has no timestamp counts as late.
The chosen method is kept in the workspace (``late_penalty``), so that a later run without the
option keeps applying it; ``--late-penalty none`` stops it.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

PENALTIES = ("none", "zero")
POLICY_FILE = "late_penalty"


def parse_when(text: str) -> dt.datetime:
    """A date-time as nbgrader reads one (naive, in UTC); ValueError with the text when it cannot."""
    from nbgrader.utils import parse_utc

    try:
        when = parse_utc(text.strip())
    except (ValueError, OverflowError, TypeError) as e:
        raise ValueError(f"not a date and time: {text.strip()!r} ({e})") from None
    if when is None:
        raise ValueError(f"not a date and time: {text!r}")
    return when


def due_options(values: list[str] | None, assignments) -> dict:
    """{assignment: due date in UTC} from ``--due ASSIGNMENT=DATETIME`` options; SystemExit on a bad one."""
    out = {}
    for value in values or []:
        name, sep, when = value.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"course-grader: --due {value!r}: write --due ASSIGNMENT=DATETIME, "
                             "e.g. --due 01_setting=2025-10-03T17:00+02:00")
        if name.strip() not in assignments:
            raise SystemExit(f"course-grader: --due {value!r}: the course has no assignment {name.strip()!r} "
                             f"(it has {', '.join(assignments)})")
        try:
            out[name.strip()] = parse_when(when)
        except ValueError as e:
            raise SystemExit(f"course-grader: --due {value!r}: {e}") from None
    return out


def penalty_method(workspace_root: Path, option: str | None) -> str:
    """The penalty method: the option when given (and then remembered), else the one remembered."""
    path = Path(workspace_root) / POLICY_FILE
    if option is not None:
        if option not in PENALTIES:
            raise SystemExit(f"course-grader: --late-penalty {option!r}: choose one of {', '.join(PENALTIES)}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(option + "\n")
        return option
    try:
        stored = path.read_text().strip()
    except OSError:
        return "none"
    return stored if stored in PENALTIES else "none"


def penalty(method: str, score: float, late: bool) -> float:
    """Points taken off a notebook scored ``score`` (nbgrader's LateSubmissionPlugin, then bounded)."""
    if not late or method == "none":
        return 0.0
    if method == "zero":
        return max(0.0, float(score))
    raise ValueError(f"unknown late penalty method {method!r}")


def read_timestamp(folder: Path) -> tuple[dt.datetime | None, str]:
    """(nbgrader's submission time in UTC, "") from ``folder/timestamp.txt``; (None, why) when there is
    none or it cannot be read (nbgrader itself refuses an unreadable one)."""
    path = Path(folder) / "timestamp.txt"
    if not path.is_file():
        return None, ""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError as e:
        return None, f"nbgrader's timestamp.txt could not be read ({e.strerror})"
    if not text:
        return None, "nbgrader's timestamp.txt is empty: the submission time is not known"
    try:
        return parse_when(text), ""
    except ValueError as e:
        return None, f"nbgrader's timestamp.txt could not be read: {e}"


def duration(seconds: float) -> str:
    """``7800`` -> "2 h 10 min": the largest two units, rounded down, never "0 min" for a late second."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if minutes:
        return f"{minutes} min"
    return f"{max(secs, 1)} s"


def utc(when: dt.datetime | None) -> str:
    """An nbgrader (naive UTC) time as ISO 8601 with its zone, or ""."""
    return when.replace(tzinfo=dt.timezone.utc).isoformat(timespec="seconds") if when else ""


def describe(seconds_late: float | None, lms_late: bool, lms: str = "") -> str:
    """The record's ``late`` words, "" when on time or not known to be late."""
    if seconds_late:
        return f"{duration(seconds_late)} after the due date"
    if lms_late and seconds_late is None:
        return f"marked late by {lms.capitalize() or 'the LMS'} (no submission time in the download)"
    return ""
