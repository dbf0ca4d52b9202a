"""The outcome of one of the bug catalogue's checks, shared by :mod:`course_lib.bugs` and the
modules holding the catalogue's later entries (bugs_layers, bugs_training, bugs_autodiff)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CheckResult:
    """The outcome of one system check: ``ok`` and a sentence saying why."""

    name: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok
