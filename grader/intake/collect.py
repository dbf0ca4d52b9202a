"""Importing submissions: nbgrader's layout or an LMS export, from a folder or a .zip.

Accepted names (the notebook part must be a notebook of the course):
  <student>/<assignment>/<notebook>.ipynb      nbgrader's layout
  <student>/<notebook>.ipynb                   a folder per student
  <student>_<notebook>.ipynb                   an LMS export, also with extra fields between
  <student>_<id>_<id>_<notebook>-1.ipynb       (Canvas style, with a resubmission suffix)
Anything else is reported by name and copied to the workspace's set_aside/ folder, never
dropped. A submission that replaces a different earlier one is reported, and the old file is
kept in set_aside/ too.
"""
from __future__ import annotations

import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..workspace import Course, Workspace, sha256

_SUFFIX = re.compile(r"(-\d+| \(\d+\))$")  # LMS resubmission suffixes: name-1, name (2)


def safe_student_id(raw: str) -> str:
    """A student id usable as a folder name and by nbgrader."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", raw.strip()).strip("-.") or "unknown"


@dataclass
class CollectReport:
    placed: list = field(default_factory=list)     # (file, student, assignment, notebook)
    replaced: list = field(default_factory=list)   # (student, assignment, notebook, where the old file went)
    unchanged: list = field(default_factory=list)
    unplaced: list = field(default_factory=list)   # (file, reason)

    def summary(self) -> str:
        lines = [f"collected {len(self.placed)} notebooks ({len(self.unchanged)} unchanged, "
                 f"{len(self.replaced)} replacing an earlier version)"]
        for s, a, n, old in self.replaced:
            lines.append(f"  replaced {s}/{a}/{n}.ipynb (the earlier version is kept at {old})")
        for f, why in self.unplaced:
            lines.append(f"  could not place {f}: {why}")
        return "\n".join(lines)


def _place(rel: Path, course: Course) -> tuple | str:
    """(student, assignment, notebook) for a file at ``rel`` inside the export, or a reason."""
    layout, owners = course.layout, course.notebook_owner()
    if rel.suffix != ".ipynb":
        return "not a notebook (.ipynb)"
    if ".ipynb_checkpoints" in rel.parts or rel.name.startswith("."):
        return "a Jupyter checkpoint or hidden file"
    parts = rel.parts
    stem = _SUFFIX.sub("", rel.stem)
    if len(parts) == 3 and parts[1] in layout:
        if stem in layout[parts[1]]:
            return safe_student_id(parts[0]), parts[1], stem
        return f"assignment {parts[1]} has no notebook called {stem}"
    if len(parts) == 2 and stem in owners:
        return safe_student_id(parts[0]), owners[stem], stem
    if len(parts) == 1:
        for nb in sorted(owners, key=len, reverse=True):
            if stem.endswith("_" + nb):
                student = stem[: -len(nb) - 1].split("_")[0]
                return safe_student_id(student), owners[nb], nb
        return "the name does not end in _<notebook> for any notebook of the course"
    return "unrecognised folder layout (expected <student>/<assignment>/<notebook>.ipynb)"


def collect(source: Path, workspace: Workspace, course: Course) -> CollectReport:
    """Copy every submission found under ``source`` (a folder or a .zip) into the workspace."""

    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"no submissions at {source}")
    report = CollectReport()
    with tempfile.TemporaryDirectory() as tmp:
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise ValueError(f"{source} is neither a folder nor a .zip file")
            with zipfile.ZipFile(source) as z:
                z.extractall(tmp)
            source = Path(tmp)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        seen: dict = {}
        for f in sorted(p for p in source.rglob("*") if p.is_file()):
            rel = f.relative_to(source)
            where = _place(rel, course)
            if isinstance(where, str):
                report.unplaced.append((str(rel), where))
                dest = workspace.set_aside / stamp / "unplaced" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest)
                continue
            if where in seen:
                report.unplaced.append((str(rel), f"a second file for {'/'.join(where)} (already taken from {seen[where]})"))
                dest = workspace.set_aside / stamp / "duplicates" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dest)
                continue
            seen[where] = str(rel)
            target = workspace.submission(*where)
            if target.exists():
                if sha256(target) == sha256(f):
                    report.unchanged.append(where)
                    report.placed.append((str(rel), *where))
                    continue
                old = workspace.set_aside / stamp / "replaced" / target.relative_to(workspace.submitted)
                old.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(target, old)
                report.replaced.append((*where, str(old)))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
            report.placed.append((str(rel), *where))
    return report
