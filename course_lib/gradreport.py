"""The report of a gradient check: the syllabus's verdict bands and what each means (section 4).

:func:`course_lib.gradcheck.grad_check` returns a :class:`GradCheckReport`; this module
holds the bands, the reading of a relative error, and how the report prints itself
(text for ``print``, HTML for a notebook).
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np

# The syllabus's verdict bands for the relative error.
EXCELLENT = 1e-7
ACCEPTABLE = 1e-5
BUG = 1e-3


def verdict(error: float) -> str:
    """The syllabus's reading of a relative error."""
    if error is None or not np.isfinite(error):
        return "bug"
    if error < EXCELLENT:
        return "excellent"
    if error < ACCEPTABLE:
        return "acceptable"
    if error <= BUG:
        return "doubtful"
    return "bug"


_ADVICE = {
    "excellent": "analytic and numerical gradients agree",
    "acceptable": "fine for smooth activations; look for ReLU kinks if you expected better",
    "doubtful": "too large for float64: look for a kink, float32, or a subtle bug",
    "bug": "the analytic gradient is wrong",
}
# What a doubtful or bug-band error means once a pre-activation is known to sit on the kink:
# there even a correct gradient disagrees with central differences, so the number proves nothing.
_KINK_ADVICE = {
    "doubtful": "inconclusive: a pre-activation lies within eps of the ReLU kink; re-check away from it",
    "bug": "above 1e-3, but inconclusive: a pre-activation lies within eps of the ReLU kink, where a correct "
           "gradient disagrees too; re-check away from it",
}
# The verdicts under which a check passes.
PASSING = ("excellent", "acceptable")


@dataclass
class GroupResult:
    """The check of one parameter group."""

    name: str
    shape: tuple
    rel_error: float
    verdict: str
    worst_index: tuple | None = None  # the entry with the largest disagreement


@dataclass
class GradCheckReport:
    """What :func:`grad_check` found.

    A full check has one :class:`GroupResult` per group in ``groups``. A fast check
    that passed checked no group on its own: ``groups`` is empty, ``checked_together``
    names the groups its random directions ran through, ``directional_errors`` holds
    one relative error per direction. ``kinks_near`` counts the ReLU pre-activations
    found within eps of the kink (0 when none, or when no ``kinks`` were given).
    """

    groups: list[GroupResult]
    eps: float
    mode: str = "full"
    directional_errors: list[float] = field(default_factory=list)
    note: str = ""
    checked_together: list[str] = field(default_factory=list)
    parameters_together: int = 0
    kinks_near: int = 0

    @property
    def directional_error(self) -> float | None:
        """The worst relative error over the random directions (None when no direction was checked)."""
        return max(self.directional_errors) if self.directional_errors else None

    @property
    def passed(self) -> bool:
        """True when every group checked is excellent or acceptable (and, for a fast check
        that checked no group on its own, every direction is)."""
        if self.mode == "fast":
            return verdict(self.directional_error) in PASSING
        return all(g.verdict in PASSING for g in self.groups)

    @property
    def inconclusive(self) -> bool:
        """True when the check did not pass but a ReLU pre-activation sits within eps of the kink,
        where a correct gradient can fail it too."""
        return not self.passed and self.kinks_near > 0

    @property
    def max_error(self) -> float:
        """The largest relative error over the groups (over the directions for a fast check)."""
        if self.mode == "fast":
            return self.directional_error
        return max((g.rel_error for g in self.groups), default=0.0)

    def __getitem__(self, name: str) -> GroupResult:
        for g in self.groups:
            if g.name == name:
                return g
        if name in self.checked_together:
            raise KeyError(f"{name} was not checked on its own: the fast check ran random directions through "
                           f"{', '.join(self.checked_together)} at once. Run grad_check without fast=True "
                           "for a result per group.")
        raise KeyError(name)

    def failures(self) -> list[GroupResult]:
        """The groups whose verdict is doubtful or a bug."""
        return [g for g in self.groups if g.verdict not in PASSING]

    def advice(self, group: GroupResult) -> str:
        """What the group's verdict means, given what the check knows about kinks."""
        if self.kinks_near and group.verdict in _KINK_ADVICE:
            return _KINK_ADVICE[group.verdict]
        return _ADVICE[group.verdict]

    def headline(self) -> str:
        status = "passed" if self.passed else "FAILED"
        if self.inconclusive:
            status += f", inconclusive: {self.kinks_near} ReLU pre-activation(s) within eps of the kink"
        return f"Gradient check ({self.mode}, eps={self.eps:g}): {status}"

    def _fast_lines(self) -> list[str]:
        """What a fast check measured: directional derivatives through all groups at once."""
        worst = self.directional_error
        n = len(self.directional_errors)
        return [
            f"  {n} random directions through {', '.join(self.checked_together)} at once "
            f"({self.parameters_together} parameters, {2 * n} loss evaluations)",
            f"  worst directional rel error = {worst:.2e}  {verdict(worst):<10} "
            + ("the gradient agrees with the loss along every direction" if verdict(worst) in PASSING
               else "the gradient disagrees with the loss along some direction"),
            "  No group was checked on its own: a mistake in one group shows here only in proportion to its "
            "share of the whole gradient. For a rel error per group, run grad_check without fast=True.",
        ]

    def __str__(self) -> str:
        lines = [self.headline()]
        if self.mode == "fast":
            lines += self._fast_lines()
        for g in self.groups:
            where = f"  worst entry {g.worst_index}" if g.worst_index is not None and g.verdict == "bug" else ""
            lines.append(f"  {g.name:>6} {str(g.shape):>10}  rel error = {g.rel_error:.2e}  {g.verdict:<10} "
                         f"{self.advice(g)}{where}")
        if self.note:
            lines.append(f"  {self.note}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colours = {"excellent": "#1a7f37", "acceptable": "#4d7c0f", "doubtful": "#b45309", "bug": "#b91c1c"}
        rows = "".join(
            f"<tr><td><code>{html.escape(g.name)}</code></td><td>{g.shape}</td><td>{g.rel_error:.2e}</td>"
            f"<td style='color:{colours[g.verdict]};font-weight:bold'>{g.verdict}</td>"
            f"<td>{html.escape(self.advice(g))}</td></tr>"
            for g in self.groups
        )
        table = ("<table><tr><th>group</th><th>shape</th><th>relative error</th><th>verdict</th><th>meaning</th></tr>"
                 f"{rows}</table>") if self.groups else ""
        fast = "".join(f"<p>{html.escape(line.strip())}</p>" for line in self._fast_lines()) if self.mode == "fast" else ""
        note = f"<p>{html.escape(self.note)}</p>" if self.note else ""
        return f"<div><b>{html.escape(self.headline())}</b>{fast}{table}{note}</div>"
