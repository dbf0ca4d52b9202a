"""What an LMS download's file names say: who submitted, their id in the LMS, and whether it was late.

Recognised (each pattern is the LMS's own code, not a guess from samples):

Canvas, "Download Submissions" (instructure/canvas-lms, lib/content_zipper.rb: ``get_filename`` and
``add_upload_submission``): ``<name>[_LATE]_<user id>_<attachment id>_<uploaded file name>``, where
``<name>`` is the student's sortable name lower-cased with every non-word character dropped
("Smith, Jane" -> ``smithjane``), ``LATE`` is there when Canvas judged the submission late, and with
anonymous grading ``<name>_<user id>`` becomes ``anon_<anonymous id>``. A file uploaded twice under
one name is renamed by Canvas to ``name-1.ipynb``. Two students of the same name differ by user id.

Moodle, "Download all submissions" (moodle/moodle, mod/assign/locallib.php: ``download_submissions``):
``<Full Name>_<participant id>_assignsubmission_file_`` then ``/<file>`` (a folder per student, the
default since Moodle 3.1) or ``<file>`` (one flat folder). The participant id is Moodle's id of the
student *in that assignment* (the grading worksheet's "Participant N"), not the Moodle user id; with
blind marking the name is "Participant".

Blackboard Learn (Original), "Assignment File Download":
``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>``, beside a receipt
``<assignment>_<username>_attempt_<...>.txt`` (nbgrader's own example for its ``zip_collect``,
nbgrader/plugins/zipcollect.py, is this form, ``ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1``;
tools that sort these downloads, e.g. vangef/BBGradebookOrganiser, split on ``_attempt_`` too). The
username is Blackboard's unique login id; the attempt time is the server's local time, with no zone,
so it is recorded but not compared with a due date.

Anything else that ends in ``_<notebook>.ipynb`` keeps its first ``_``-separated field as the student
(an unknown LMS: the id it carries, if any, cannot be told from the name, so nothing is dropped
silently: the whole file name is kept as the record's ``lms_file``).
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Files `nbgrader submit` writes beside the notebooks (nbgrader/exchange/default/submit.py): kept in
# the workspace as nbgrader has them, never reported as stray.
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")
ORIGIN_FILE = "lms.json"   # beside the notebooks in the workspace: what the LMS said about them

# Canvas lower-cases the name, so a "LATE" in capitals is always its mark, never a name.
_CANVAS = re.compile(r"^(?:(?!LATE_)(?P<name>\w+?)_)?(?:(?P<late>LATE)_)?(?P<user>\d+|anon_[0-9A-Za-z]+)_"
                     r"(?P<attachment>\d+)_(?P<file>.+)$")
_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")
_BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_(?P<attempt>\d{4}(?:-\d\d){5})"
                         r"(?:_(?P<file>.+)|(?P<receipt>\.txt))$")


@dataclass
class Origin:
    """Who an LMS says sent a file, in the LMS's own terms."""

    lms: str                 # "canvas", "moodle", "blackboard" or "" (a name the grader does not know)
    student: str             # the student's id in the workspace: unique, usable as a folder name
    lms_id: str = ""         # the LMS's id of the student (Canvas user id, Moodle participant id, Blackboard username)
    name: str = ""           # the name as the LMS wrote it
    file: str = ""           # the uploaded file's own name (what the student called it)
    lms_file: str = ""       # the file's name in the download
    late: bool = False       # the LMS marked it late (Canvas's _LATE_)
    attempt: str = ""        # when the LMS says it was submitted, as it wrote it (Blackboard)
    rank: tuple = field(default=(), compare=False)   # orders two uploads of one notebook: the larger is later

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("rank")
        return data


def _slug(text: str) -> str:
    """A name as Canvas writes it: lower case, only word characters."""
    return re.sub(r"\W+", "", text.replace("_", "")).lower()


SUFFIX = re.compile(r"(-\d+| \(\d+\))$")  # resubmission suffixes an LMS adds: name-1, name (2)


def suffix_rank(stem: str) -> int:
    """The resubmission number in ``name-2`` or ``name (2)``; 0 for none."""
    m = SUFFIX.search(stem)
    return int(re.sub(r"\D", "", m.group(1))) if m else 0


def parse_file_name(name: str) -> tuple[Origin, str] | None:
    """(who, the uploaded file's own name) for a top-level file of an LMS download, or None."""
    if m := _BLACKBOARD.match(name):
        user = m["user"]
        origin = Origin("blackboard", user, lms_id=user, name=user, file=m["file"] or "", lms_file=name,
                        attempt=m["attempt"], rank=(m["attempt"],))
        return origin, m["file"] or ""
    if m := _MOODLE.match(name):
        return _moodle(m, name), m["file"]
    if m := _CANVAS.match(name):
        user, slug = m["user"], m["name"] or ""
        student = user if user.startswith("anon_") else f"{slug or 'canvas'}_{user}"
        origin = Origin("canvas", student, lms_id=user, name=slug, file=m["file"], lms_file=name,
                        late=bool(m["late"]), rank=(int(m["attachment"]),))
        return origin, m["file"]
    return None


def parse_folder_name(name: str) -> Origin | None:
    """Who a top-level folder of an LMS download belongs to (Moodle's folder per student), or None."""
    m = _MOODLE.match(name)
    if m and m["file"] == "":
        return _moodle(m, name)
    return None


def _moodle(m, name: str) -> Origin:
    who = m["name"]
    return Origin("moodle", f"{_slug(who) or 'moodle'}_{m['id']}", lms_id=m["id"], name=who, file=m["file"],
                  lms_file=name)


def safe_student_id(raw: str) -> str:
    """A student id usable as a folder name and by nbgrader, made from a name of unknown form."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", raw.strip()).strip("-.") or "unknown"


def folder_student_id(name: str) -> str:
    """The id of a student whose work is in a folder of that name (nbgrader's layout: the hub username,
    which nbgrader's gradebook and its feedback know the student by). Kept exactly, unless it could not
    be a folder name or a student id at all (hidden, a control character, a glob character)."""
    if name and not name.startswith(".") and not re.search(r"[\x00-\x1f\x7f/\\*?\[\]]", name):
        return name
    return safe_student_id(name)


def generic(stem: str, notebook: str, file_name: str) -> Origin:
    """``<student>_<anything>_<notebook>``: the first field is the student; the rest is kept as it was."""
    first = stem[: -len(notebook) - 1].split("_")[0]
    return Origin("", safe_student_id(first), name=first, file=f"{notebook}.ipynb", lms_file=file_name,
                  rank=(suffix_rank(stem),))


def is_lms_receipt(name: str) -> bool:
    """A file the LMS itself adds to a download (Blackboard's per-attempt .txt receipt)."""
    m = _BLACKBOARD.match(name)
    return bool(m) and bool(m["receipt"])


# ------------------------------------------------------------------------------- in the workspace
def save_origin(folder: Path, notebook: str, origin: Origin) -> None:
    """Record, beside the notebooks of one student's assignment, what the LMS said about ``notebook``."""
    path = Path(folder) / ORIGIN_FILE
    data = load_origins(folder)
    data[notebook] = origin.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True))


def load_origins(folder: Path) -> dict:
    """{notebook: Origin as JSON} for one student's assignment; {} when it did not come from an LMS."""
    path = Path(folder) / ORIGIN_FILE
    try:
        data = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
