"""The one record of a check's verdict, shared by the notebook (what a student reads) and the grader.

A checker builds an :class:`Outcome`; when the answer is wrong it raises :class:`CheckFailed`
carrying it, and when it is right it prints one line and returns it. Nothing reads text back out
of a message: the grader takes ``status``, ``bug`` and the rest from the record itself.
"""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field

from .. import bugs

STATUSES = ("ok", "failed", "error")


@dataclass
class Outcome:
    """The verdict of one checker run.

    status: "ok"; "failed" (the answer was judged wrong); or "error" (the student's code raised,
    or returned something unusable). message: what was expected against what came back (plain
    text, several lines allowed). hints: actionable sentences, one per problem the checker saw.
    bug: the :data:`course_lib.bugs.CATALOGUE` name the answer matches, or None. cases: the number
    of cases checked when it passed; case: the label of the case that failed.
    """

    exercise: str
    passed: bool
    status: str
    message: str
    hints: list[str] = field(default_factory=list)
    bug: str | None = None
    cases: int = 0
    case: str = ""

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.passed != (self.status == "ok"):
            raise ValueError(f"passed={self.passed} contradicts status {self.status!r}")
        if self.bug is not None:
            bugs.get(self.bug)  # a name outside the catalogue is a checker's mistake: fail loudly

    @classmethod
    def ok(cls, exercise: str, cases: int) -> "Outcome":
        return cls(exercise, True, "ok", f"correct on all {cases} test cases.", cases=cases)

    @property
    def known_bug(self) -> str:
        """The catalogue's account of ``bug`` as a sentence, or "" when there is none."""
        if self.bug is None:
            return ""
        entry = bugs.get(self.bug)
        return f"This looks like a known bug: {entry.title} (section {entry.section}). {entry.description}"

    def __str__(self) -> str:
        if self.passed:
            return f"✔ {self.exercise}: {self.message}"
        lines = [f"{self.exercise}: {self.message}"]
        lines += [f"  • {hint}" for hint in self.hints]
        if self.bug is not None:
            lines += ["", self.known_bug]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        if self.passed:
            return f'<div style="color:#1a7f37">✔ <b>{esc(self.exercise)}</b>: {esc(self.message)}</div>'
        parts = [f'<div style="border-left:4px solid #cf222e;padding-left:0.6em">',
                 f"<b>{esc(self.exercise)}</b> ({esc(self.status)})",
                 f'<pre style="white-space:pre-wrap;margin:0.3em 0">{esc(self.message)}</pre>']
        if self.hints:
            parts.append("<ul>" + "".join(f"<li>{esc(h)}</li>" for h in self.hints) + "</ul>")
        if self.bug is not None:
            parts.append(f"<p><i>{esc(self.known_bug)}</i></p>")
        parts.append("</div>")
        return "".join(parts)

    def to_dict(self) -> dict:
        """The record as plain data (for JSON)."""
        return asdict(self)


class CheckFailed(AssertionError):
    """A check that did not pass: ``outcome`` is its :class:`Outcome` (``exercise`` and ``bug``
    are copies of its fields, for older callers). str() is the text a student reads.

    Build it from an Outcome, or (older form) as CheckFailed(exercise, message, bug=None).
    """

    def __init__(self, outcome: Outcome | str, message: str | None = None, bug: str | None = None):
        if not isinstance(outcome, Outcome):
            outcome = Outcome(str(outcome), False, "failed", message or "", bug=bug)
        self.outcome = outcome
        self.exercise = outcome.exercise
        self.bug = outcome.bug
        super().__init__(str(outcome))

    def _repr_html_(self) -> str:
        return self.outcome._repr_html_()


class StudentCodeError(CheckFailed):
    """The student's code raised, or returned something that cannot be judged (status "error")."""
