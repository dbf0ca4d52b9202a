"""Collecting submissions from every layout course-grader reads: nbgrader's collected folder (with its
timestamp.txt), a folder per student, and the downloads of Canvas, Moodle and Blackboard, from a
folder or a .zip. No kernel runs here: these are file names and copies."""
import json
import zipfile
from pathlib import Path

import pytest

from grader.intake import lms
from grader.intake.collect import collect
from grader.workspace import Course, Workspace

COURSE = Course.find(Path(__file__).resolve().parent.parent)
RELEASED = (COURSE.root / "notebooks" / "02_forward_cache" / "forward_cache.ipynb").read_text()
SETTING = (COURSE.root / "notebooks" / "01_setting" / "setting.ipynb").read_text()
STAMP = "2025-03-01 18:10:30.123456 UTC"   # nbgrader's Exchange.timestamp_format, "%Y-%m-%d %H:%M:%S.%f %Z"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _variant(tag: str) -> str:
    """The released notebook with a mark of its own, so that two uploads differ byte for byte."""
    nb = json.loads(RELEASED)
    nb["metadata"]["which"] = tag
    return json.dumps(nb)


def _placed(report) -> dict:
    return {(s, a, n): f for f, s, a, n in report.placed}


def test_nbgrader_layout_keeps_timestamps_and_ids_and_sets_stray_files_aside(tmp_path):
    src = tmp_path / "submitted"
    for student in ("hubt-student01", "jane.doe@uni.example", "Dana Smith"):
        folder = src / student / "01_setting"
        _write(folder / "setting.ipynb", SETTING)
        _write(folder / "timestamp.txt", STAMP)
        _write(folder / "submission_secret.txt", f"secret of {student}")
    _write(src / "hubt-student01" / "01_setting" / "scratch.py", "print('mine')")
    ws = Workspace(tmp_path / "ws")
    report = collect(src, ws, COURSE)

    # Ids exactly as nbgrader knows them (the hub usernames, whatever their characters).
    assert set(_placed(report)) == {(s, "01_setting", "setting")
                                    for s in ("hubt-student01", "jane.doe@uni.example", "Dana Smith")}
    # nbgrader's own files go beside the notebook, byte for byte, and are not called stray ...
    for student in ("hubt-student01", "jane.doe@uni.example", "Dana Smith"):
        kept = ws.submitted / student / "01_setting"
        assert (kept / "timestamp.txt").read_text() == STAMP
        assert (kept / "submission_secret.txt").read_text() == f"secret of {student}"
    assert not any("timestamp" in f or "secret" in f for f, _ in report.unplaced)
    assert "kept nbgrader's files of 3 submissions (3 timestamp.txt" in report.summary()
    # ... while what the student put there is set aside by name, as before.
    assert report.unplaced == [("hubt-student01/01_setting/scratch.py", "not a notebook (.ipynb)")]
    assert len(list(ws.set_aside.rglob("scratch.py"))) == 1


def test_a_new_timestamp_replaces_the_old_one_which_is_kept(tmp_path):
    src = tmp_path / "submitted"
    folder = src / "ann" / "01_setting"
    _write(folder / "setting.ipynb", SETTING)
    _write(folder / "timestamp.txt", STAMP)
    ws = Workspace(tmp_path / "ws")
    collect(src, ws, COURSE)
    _write(folder / "timestamp.txt", "2025-03-02 09:00:00.000000 UTC")
    again = collect(src, ws, COURSE)
    assert again.unchanged == [("ann", "01_setting", "setting")]
    assert (ws.submitted / "ann" / "01_setting" / "timestamp.txt").read_text().startswith("2025-03-02")
    assert [p.read_text() for p in ws.set_aside.rglob("timestamp.txt")] == [STAMP]


def test_canvas_names_keep_the_user_id_the_late_mark_and_the_later_upload(tmp_path):
    src = tmp_path / "canvas"
    files = {
        "smithjane_1001_5001_forward_cache.ipynb": _variant("jane 1001"),
        "smithjane_1002_5002_forward_cache.ipynb": _variant("jane 1002"),    # another Jane Smith
        "doejohn_LATE_1003_5003_forward_cache.ipynb": _variant("john"),
        "leeann_1004_5004_forward_cache.ipynb": _variant("ann first"),
        "leeann_1004_5010_forward_cache-1.ipynb": _variant("ann again"),     # a resubmission, later
        "anon_x7k2p_5020_setting.ipynb": SETTING,                            # anonymous grading
        "smithjane_1001_5006_notes.pdf": "%PDF",
        "smithjane_1001_5007_homework.ipynb": _variant("not ours"),
        "doejohn_1003_text.html": "<p>a text entry</p>",
    }
    for name, text in files.items():
        _write(src / name, text)
    ws = Workspace(tmp_path / "ws")
    report = collect(src, ws, COURSE)
    placed = _placed(report)
    fc = ("02_forward_cache", "forward_cache")
    assert placed == {("smithjane_1001", *fc): "smithjane_1001_5001_forward_cache.ipynb",
                      ("smithjane_1002", *fc): "smithjane_1002_5002_forward_cache.ipynb",
                      ("doejohn_1003", *fc): "doejohn_LATE_1003_5003_forward_cache.ipynb",
                      ("leeann_1004", *fc): "leeann_1004_5010_forward_cache-1.ipynb",
                      ("anon_x7k2p", "01_setting", "setting"): "anon_x7k2p_5020_setting.ipynb"}
    # Two Jane Smiths: two students, each with their own file.
    assert json.loads(ws.submission("smithjane_1002", *fc).read_text())["metadata"]["which"] == "jane 1002"
    assert json.loads(ws.submission("leeann_1004", *fc).read_text())["metadata"]["which"] == "ann again"
    origins = {s: lms.load_origins(ws.submitted / s / "02_forward_cache")["forward_cache"]
               for s in ("smithjane_1001", "smithjane_1002", "doejohn_1003", "leeann_1004")}
    assert {s: (o["lms"], o["lms_id"], o["late"]) for s, o in origins.items()} == {
        "smithjane_1001": ("canvas", "1001", False), "smithjane_1002": ("canvas", "1002", False),
        "doejohn_1003": ("canvas", "1003", True), "leeann_1004": ("canvas", "1004", False)}
    assert origins["leeann_1004"]["lms_file"] == "leeann_1004_5010_forward_cache-1.ipynb"
    assert report.late_marks == [("doejohn_1003", *fc)]
    unplaced = dict(report.unplaced)
    assert unplaced["leeann_1004_5004_forward_cache.ipynb"].startswith(
        "a second file for leeann_1004/02_forward_cache/forward_cache (a later upload: leeann_1004_5010")
    assert "Canvas upload of smithjane (id 1001), but homework.ipynb is not a notebook" in \
        unplaced["smithjane_1001_5007_homework.ipynb"]
    assert unplaced["smithjane_1001_5006_notes.pdf"] == unplaced["doejohn_1003_text.html"] == "not a notebook (.ipynb)"
    for name in unplaced:
        assert len(list(ws.set_aside.rglob(name))) == 1, name


def test_canvas_resubmission_suffix_of_the_same_attachment_order(tmp_path):
    # One upload renamed by Canvas to -1 and no other: the suffix goes, the notebook is placed.
    src = tmp_path / "canvas"
    _write(src / "cleo_123_456_forward_cache-1.ipynb", RELEASED)
    report = collect(src, Workspace(tmp_path / "ws"), COURSE)
    assert list(_placed(report)) == [("cleo_123", "02_forward_cache", "forward_cache")]


def test_moodle_folders_and_flat_names_and_blackboard_attempts(tmp_path):
    src = tmp_path / "lms"
    _write(src / "Jane Smith_4711_assignsubmission_file_" / "forward_cache.ipynb", _variant("moodle 4711"))
    _write(src / "Jane Smith_4712_assignsubmission_file_forward_cache.ipynb", _variant("moodle 4712"))
    _write(src / "Participant_4713_assignsubmission_file_" / "setting.ipynb", SETTING)
    _write(src / "Homework 2_jsmith_attempt_2025-03-01-17-05-03_forward_cache.ipynb", _variant("bb"))
    _write(src / "Homework 2_jsmith_attempt_2025-03-01-17-05-03.txt", "Name: Jane Smith (jsmith)\n")
    ws = Workspace(tmp_path / "ws")
    report = collect(src, ws, COURSE)
    fc = ("02_forward_cache", "forward_cache")
    assert set(_placed(report)) == {("janesmith_4711", *fc), ("janesmith_4712", *fc),
                                    ("participant_4713", "01_setting", "setting"), ("jsmith", *fc)}
    assert report.unplaced == []
    assert report.receipts == ["Homework 2_jsmith_attempt_2025-03-01-17-05-03.txt"]
    assert len(list((ws.set_aside).rglob("*_attempt_*.txt"))) == 1
    moodle = lms.load_origins(ws.submitted / "janesmith_4711" / "02_forward_cache")["forward_cache"]
    assert (moodle["lms"], moodle["lms_id"], moodle["name"]) == ("moodle", "4711", "Jane Smith")
    bb = lms.load_origins(ws.submitted / "jsmith" / "02_forward_cache")["forward_cache"]
    assert (bb["lms"], bb["lms_id"], bb["attempt"]) == ("blackboard", "jsmith", "2025-03-01-17-05-03")


def test_any_other_lms_name_keeps_its_first_field_and_its_file_name(tmp_path):
    src = tmp_path / "lms"
    _write(src / "Dana Smith_forward_cache.ipynb", RELEASED)
    _write(src / "eve_homework.ipynb", RELEASED)
    ws = Workspace(tmp_path / "ws")
    report = collect(src, ws, COURSE)
    assert list(_placed(report)) == [("Dana-Smith", "02_forward_cache", "forward_cache")]
    assert lms.load_origins(ws.submitted / "Dana-Smith" / "02_forward_cache")["forward_cache"]["lms_file"] == \
        "Dana Smith_forward_cache.ipynb"
    assert dict(report.unplaced) == {"eve_homework.ipynb": "the name does not end in _<notebook> for any notebook "
                                                           "of the course"}


def test_a_canvas_zip(tmp_path):
    z = tmp_path / "submissions.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("smithjane_LATE_1001_5001_forward_cache.ipynb", RELEASED)
        f.writestr("smithjane_1002_5002_forward_cache.ipynb", _variant("other jane"))
        f.writestr("smithjane_1002_5003_notes.txt", "my notes")
    ws = Workspace(tmp_path / "ws")
    report = collect(z, ws, COURSE)
    assert {s for s, _, _ in _placed(report)} == {"smithjane_1001", "smithjane_1002"}
    assert report.late_marks == [("smithjane_1001", "02_forward_cache", "forward_cache")]
    assert dict(report.unplaced) == {"smithjane_1002_5003_notes.txt": "not a notebook (.ipynb)"}


@pytest.mark.parametrize("name,expected", [
    ("smithjane_1001_5001_forward_cache.ipynb", ("canvas", "smithjane_1001", "1001", False, "forward_cache.ipynb")),
    ("smithjane_LATE_1001_5001_forward_cache.ipynb", ("canvas", "smithjane_1001", "1001", True, "forward_cache.ipynb")),
    ("LATE_anon_Ab12c_5001_01_notes.ipynb", ("canvas", "anon_Ab12c", "anon_Ab12c", True, "01_notes.ipynb")),
    ("müllerjosé_77_88_setting (2).ipynb", ("canvas", "müllerjosé_77", "77", False, "setting (2).ipynb")),
    ("Jane Smith_4711_assignsubmission_file_setting.ipynb", ("moodle", "janesmith_4711", "4711", False, "setting.ipynb")),
    ("HW_1_jsmith_attempt_2025-03-01-17-05-03_setting.ipynb", ("blackboard", "jsmith", "jsmith", False, "setting.ipynb")),
])
def test_lms_file_names(name, expected):
    origin, uploaded = lms.parse_file_name(name)
    assert (origin.lms, origin.student, origin.lms_id, origin.late, uploaded) == expected


def test_plain_names_are_no_lms_name():
    assert lms.parse_file_name("ann_forward_cache.ipynb") is None
    assert lms.parse_file_name("Dana Smith_forward_cache.ipynb") is None
    assert lms.folder_student_id("hubt-student01") == "hubt-student01"
    assert lms.folder_student_id(".hidden") == "hidden"
    assert lms.folder_student_id("a*b") == "a-b"
