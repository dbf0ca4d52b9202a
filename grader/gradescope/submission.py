"""Which file of a Gradescope submission is which notebook of the course.

Students upload what they have: the notebook under its own name, a copy renamed by their browser or
their LMS ("forward_cache (1).ipynb", "forward_cache-Copy1.ipynb"), several notebooks, a notebook of
another assignment, a PDF, nothing gradable. A notebook is known by its nbgrader test cells (their
grade ids are the course's), else by its name; the grader never guesses between two candidates, and
every file that is not graded is named in the results with the reason.
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_DIRS = {"__MACOSX", ".ipynb_checkpoints", ".git"}
# Copies made by browsers, Jupyter and LMSs: "name (1)", "name-1", "name-Copy1", "name - Copy", "name_copy".
_COPY = re.compile(r"(?:\s*\(\d+\)|-\d+|-Copy\d*|\s+-\s+Copy(?:\s*\(\d+\))?|_copy\d*)+$", re.IGNORECASE)


@dataclass
class Candidate:
    path: Path
    rel: str              # as the student named it, relative to the submission folder
    key: tuple | None     # (assignment, notebook) it was recognised as, or None
    how: str = ""         # "name" (exactly the notebook's file name), "copy" (a renamed copy), "content"


@dataclass
class Found:
    graded: dict = field(default_factory=dict)      # {(assignment, notebook): Candidate} to grade
    problems: dict = field(default_factory=dict)    # {(assignment, notebook) or None: why it is not graded}
    ignored: list = field(default_factory=list)     # sentences about files that are not graded


def _grade_ids(path: Path) -> set:
    try:
        nb = json.loads(path.read_bytes())
        cells = nb.get("cells", []) if isinstance(nb, dict) else []
        return {c["metadata"]["nbgrader"]["grade_id"] for c in cells if isinstance(c, dict)
                and isinstance(c.get("metadata", {}).get("nbgrader"), dict) and c["metadata"]["nbgrader"].get("grade")
                and "grade_id" in c["metadata"]["nbgrader"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def recognise(path: Path, rel: str, course: dict) -> Candidate:
    """By its test cells' grade ids when they say which notebook it is, else by its file name.
    ``course``: {(assignment, notebook): the grade ids of its test cells}, for every notebook of the course."""
    ids = _grade_ids(path)
    if ids:
        overlap = {k: len(ids & set(test_ids)) for k, test_ids in course.items()}
        best = max(overlap.values(), default=0)
        winners = [k for k, n in overlap.items() if n == best]
        if best and len(winners) == 1:
            key = winners[0]
            return Candidate(path, rel, key, "name" if path.stem == key[1] else "content")
    stem = path.stem
    for key in course:
        if stem == key[1]:
            return Candidate(path, rel, key, "name")
    plain = _COPY.sub("", stem)
    for key in course:
        if plain == key[1] or plain.endswith("_" + key[1]):   # LMS exports put the student's name first
            return Candidate(path, rel, key, "copy")
    return Candidate(path, rel, None)


def _listing(files: list) -> str:
    shown = ", ".join(files[:10]) + (f" and {len(files) - 10} more" if len(files) > 10 else "")
    return shown or "nothing"


MAX_SENTENCES = 10


def _bounded(sentences: list) -> list:
    """At most MAX_SENTENCES about files not graded: an upload of thousands of files gets a readable summary."""
    if len(sentences) <= MAX_SENTENCES:
        return sentences
    return [*sentences[:MAX_SENTENCES], f"... and {len(sentences) - MAX_SENTENCES} more files that were not graded."]


def find(folder: Path, specs: dict, course: dict) -> Found:
    """What to grade in ``folder``: ``specs`` are the notebooks this autograder grades (keyed
    (assignment, notebook)), ``course`` the test cells' grade ids of every notebook of the course (to
    recognise a renamed notebook, and to say which assignment a stray one belongs to)."""
    found = Found()
    folder = Path(folder)
    files, links = [], []
    for top, dirs, names in os.walk(folder):   # never into a linked folder
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in names:
            p = Path(top) / name
            if name.startswith("._"):
                continue
            # A link could point at the autograder's own files (read as root): only plain files are graded.
            (files if stat.S_ISREG(p.lstat().st_mode) else links).append(p)
        links += [Path(top) / d for d in dirs if (Path(top) / d).is_symlink()]
    files.sort()
    found.ignored += [f"{p.relative_to(folder)} is a link, not a file: it was not read." for p in sorted(links)]
    rels = [str(p.relative_to(folder)) for p in files]
    notebooks = [p for p in files if p.suffix.lower() == ".ipynb"]
    expected = ", ".join(f"{n}.ipynb" for _, n in sorted(specs))
    if not notebooks:
        found.problems[None] = (f"No notebook (.ipynb file) was found in your submission, which holds: {_listing(rels)}. "
                                f"Upload the notebook itself ({expected}), not a PDF, a zip or an export of it.")
        return found
    by_key: dict = {}
    for p in notebooks:
        c = recognise(p, str(p.relative_to(folder)), course)
        if c.key in specs:
            by_key.setdefault(c.key, []).append(c)
        elif c.key is not None:
            found.ignored.append(f"{c.rel} is notebook {c.key[1]}.ipynb of {c.key[0]}, which this assignment does not "
                                 f"grade (it grades {expected}): it was not graded.")
        else:
            found.ignored.append(f"{c.rel} is not a notebook of this course (its test cells and its name are none of "
                                 f"{expected}): it was not graded.")
    for key in sorted(specs):
        cands = by_key.get(key, [])
        exact = [c for c in cands if c.how == "name"]
        if len(cands) == 1:
            found.graded[key] = cands[0]
        elif len(exact) == 1:
            found.graded[key] = exact[0]
            found.ignored += [f"{c.rel} looks like another copy of {key[1]}.ipynb: only {exact[0].rel} was graded."
                              for c in cands if c is not exact[0]]
        elif cands:
            found.problems[key] = (f"Several files could be {key[1]}.ipynb: {_listing([c.rel for c in cands])}. The "
                                   "grader does not guess which one you meant: submit only one of them.")
    found.ignored = _bounded(found.ignored)
    if not found.graded and not found.problems:
        which = " ".join(found.ignored)
        if len(specs) == 1:
            found.problems[next(iter(specs))] = f"{expected} was not in your submission. {which}"
        else:
            found.problems[None] = f"None of the notebooks this autograder grades ({expected}) was in your submission. {which}"
        found.ignored = []
    return found
