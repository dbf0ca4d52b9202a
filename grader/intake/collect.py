"""Importing submissions: nbgrader's layout or an LMS download, from a folder or a .zip.

Accepted names (the notebook part must be a notebook of the course):
  <student>/<assignment>/<notebook>.ipynb      nbgrader's layout (`nbgrader collect`'s submitted/), with
                                               nbgrader's timestamp.txt and submission_secret.txt beside it
  <student>/<notebook>.ipynb                   a folder per student
  <name>_<user id>_<attachment id>_<notebook>.ipynb, with _LATE_ and -1 suffixes: a Canvas download
  <Full Name>_<id>_assignsubmission_file_/<notebook>.ipynb (or flat): a Moodle download
  <assignment>_<username>_attempt_<date>_<notebook>.ipynb: a Blackboard download
  <student>_<notebook>.ipynb                   any other LMS (see lms.py for what each form keeps)
Student ids from folders are kept exactly as they are (nbgrader knows the student by them); ids from
an LMS name carry the LMS's id of the student, so that two students of one name never collide.

Anything else is reported by name and copied to the workspace's set_aside/ folder, never dropped.
A submission that replaces a different earlier one is reported, and the old file is kept in
set_aside/ too. Of two files for one notebook of one student, the later upload is taken (Canvas's
larger attachment id, Blackboard's later attempt, the larger resubmission suffix) and the other is
set aside, named.
"""
from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..workspace import Course, Workspace, sha256
from . import lms
from .lms import NBGRADER_FILES, Origin, folder_student_id, safe_student_id  # noqa: F401 (safe_student_id: API)

_SUFFIX = lms.SUFFIX


@dataclass
class CollectReport:
    placed: list = field(default_factory=list)     # (file, student, assignment, notebook)
    replaced: list = field(default_factory=list)   # (student, assignment, notebook, where the old file went)
    unchanged: list = field(default_factory=list)
    unplaced: list = field(default_factory=list)   # (file, reason)
    nbgrader_files: list = field(default_factory=list)   # (file, student, assignment): timestamp.txt and the like
    receipts: list = field(default_factory=list)   # files the LMS adds (kept in set_aside/, not graded)
    late_marks: list = field(default_factory=list)  # (student, assignment, notebook): the LMS marked it late

    def summary(self) -> str:
        lines = [f"collected {len(self.placed)} notebooks ({len(self.unchanged)} unchanged, "
                 f"{len(self.replaced)} replacing an earlier version)"]
        stamps = sum(1 for f, *_ in self.nbgrader_files if Path(f).name == "timestamp.txt")
        if self.nbgrader_files:
            lines.append(f"  kept nbgrader's files of {len({(s, a) for _, s, a in self.nbgrader_files})} submissions "
                         f"({stamps} timestamp.txt, for lateness)")
        if self.late_marks:
            lines.append(f"  {len(self.late_marks)} notebooks marked late by the LMS")
        if self.receipts:
            lines.append(f"  kept {len(self.receipts)} receipts the LMS adds to its download, in set_aside/")
        for s, a, n, old in self.replaced:
            lines.append(f"  replaced {s}/{a}/{n}.ipynb (the earlier version is kept at {old})")
        for f, why in self.unplaced:
            lines.append(f"  could not place {f}: {why}")
        return "\n".join(lines)


@dataclass
class _Notebook:
    where: tuple            # (student, assignment, notebook)
    origin: Origin | None   # what an LMS said about it


@dataclass
class _NbgraderFile:
    student: str
    assignment: str


_RECEIPT = "a receipt the LMS adds"


def _notebook_of(stem: str, course: Course) -> str | None:
    stem = _SUFFIX.sub("", stem)
    return stem if stem in course.notebook_owner() else None


def _place(rel: Path, course: Course):
    """What the file at ``rel`` inside the export is: a notebook to grade, one of nbgrader's files, an
    LMS receipt, or a reason it cannot be placed."""
    layout, owners = course.layout, course.notebook_owner()
    parts = rel.parts
    if len(parts) == 3 and parts[1] in layout and parts[2] in NBGRADER_FILES:
        return _NbgraderFile(folder_student_id(parts[0]), parts[1])
    if len(parts) == 1 and lms.is_lms_receipt(rel.name):
        return _RECEIPT
    if rel.suffix != ".ipynb":
        return "not a notebook (.ipynb)"
    if ".ipynb_checkpoints" in parts or rel.name.startswith("."):
        return "a Jupyter checkpoint or hidden file"
    stem = _SUFFIX.sub("", rel.stem)
    if len(parts) == 3 and parts[1] in layout:
        if stem in layout[parts[1]]:
            return _Notebook((folder_student_id(parts[0]), parts[1], stem), None)
        return f"assignment {parts[1]} has no notebook called {stem}"
    if len(parts) >= 2 and (origin := lms.parse_folder_name(parts[0])) is not None:
        nb = _notebook_of(rel.stem, course)
        if nb is None:
            return (f"a Moodle upload of {origin.name} (participant {origin.lms_id}), but {rel.name} is not a "
                    "notebook of the course")
        origin.file = rel.name
        return _Notebook((origin.student, owners[nb], nb), origin)
    if len(parts) == 2 and stem in owners:
        return _Notebook((folder_student_id(parts[0]), owners[stem], stem), None)
    if len(parts) == 1:
        parsed = lms.parse_file_name(rel.name)
        if parsed is not None:
            origin, uploaded = parsed
            nb = _notebook_of(Path(uploaded).stem, course) if uploaded.endswith(".ipynb") else None
            if nb is not None:
                origin.rank = (*origin.rank, lms.suffix_rank(Path(uploaded).stem))
                return _Notebook((origin.student, owners[nb], nb), origin)
            if origin.lms:
                return (f"a {origin.lms.capitalize()} upload of {origin.name or origin.student} (id {origin.lms_id}), "
                        f"but {uploaded or rel.name} is not a notebook of the course")
        for nb in sorted(owners, key=len, reverse=True):
            if stem.endswith("_" + nb):
                origin = lms.generic(stem, nb, rel.name)
                return _Notebook((origin.student, owners[nb], nb), origin)
        return "the name does not end in _<notebook> for any notebook of the course"
    return "unrecognised folder layout (expected <student>/<assignment>/<notebook>.ipynb)"


def _keep(f: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(f, dest)
    return dest


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
        aside = workspace.set_aside / stamp
        candidates: dict = {}   # where -> [(file, rel, origin)] in file order
        nbgrader_files = []
        for f in sorted(p for p in source.rglob("*") if p.is_file()):
            rel = f.relative_to(source)
            what = _place(rel, course)
            if isinstance(what, _Notebook):
                candidates.setdefault(what.where, []).append((f, rel, what.origin))
            elif isinstance(what, _NbgraderFile):
                nbgrader_files.append((f, rel, what))
            elif what == _RECEIPT:
                report.receipts.append(str(rel))
                _keep(f, aside / "lms" / rel)
            else:
                report.unplaced.append((str(rel), what))
                _keep(f, aside / "unplaced" / rel)
        for where, files in candidates.items():
            # max() keeps the first of equal ranks: the file that sorts first, as before LMS ranks existed.
            # Ranks are compared only between uploads from one LMS (a Canvas attachment id and a
            # Blackboard attempt time say nothing about each other).
            same = len({c[2].lms if c[2] else None for c in files}) == 1
            chosen = max(files, key=lambda c: c[2].rank if c[2] and same else ())
            for f, rel, origin in files:
                if f is not chosen[0]:
                    later = origin is not None and chosen[2] is not None and chosen[2].rank > origin.rank
                    why = "a later upload" if later else "already taken"
                    report.unplaced.append((str(rel), f"a second file for {'/'.join(where)} ({why}: {chosen[1]})"))
                    _keep(f, aside / "duplicates" / rel)
            _place_notebook(chosen[0], str(chosen[1]), where, workspace, aside, report)
            if chosen[2] is not None:
                lms.save_origin(workspace.submitted / where[0] / where[1], where[2], chosen[2])
                if chosen[2].late:
                    report.late_marks.append(where)
        for f, rel, what in nbgrader_files:
            target = workspace.submitted / what.student / what.assignment / rel.name
            if target.exists() and sha256(target) != sha256(f):
                _keep(target, aside / "replaced" / target.relative_to(workspace.submitted))
            _keep(f, target)
            report.nbgrader_files.append((str(rel), what.student, what.assignment))
    return report


def _place_notebook(f: Path, rel: str, where: tuple, workspace: Workspace, aside: Path, report: CollectReport) -> None:
    target = workspace.submission(*where)
    if target.exists():
        if sha256(target) == sha256(f):
            report.unchanged.append(where)
            report.placed.append((rel, *where))
            return
        old = aside / "replaced" / target.relative_to(workspace.submitted)
        old.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(target, old)
        report.replaced.append((*where, str(old)))
    _keep(f, target)
    report.placed.append((rel, *where))
