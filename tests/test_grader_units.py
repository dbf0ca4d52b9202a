"""The grader's pieces that need no kernel: collecting submissions, reading them, restoring tests."""
import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader.intake.collect import collect
from grader.intake.inspect import InvalidNotebook, read_submission, restore_test_cells
from grader.notebooks import is_test_cell, nbgrader_meta, strip_hidden_tests
from grader.workspace import Course, Workspace

COURSE = Course.find(Path(__file__).resolve().parent.parent)
ROOT = COURSE.root

RELEASED = ROOT / "notebooks" / "02_forward_cache" / "forward_cache.ipynb"


def _write(path, text="{}"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_collect_places_every_layout_and_reports_the_rest(tmp_path):
    src = tmp_path / "export"
    nb = RELEASED.read_text()
    _write(src / "ann" / "02_forward_cache" / "forward_cache.ipynb", nb)
    _write(src / "ben" / "backward.ipynb", nb)
    _write(src / "cleo_123_456_forward_cache-1.ipynb", nb)
    _write(src / "Dana Smith_forward_cache.ipynb", nb)
    _write(src / "ann" / "notes.txt", "hi")
    _write(src / "eve_homework.ipynb", nb)
    ws = Workspace(tmp_path / "ws")
    report = collect(src, ws, COURSE)
    placed = sorted(p[1:] for p in report.placed)
    assert placed == [("Dana-Smith", "02_forward_cache", "forward_cache"), ("ann", "02_forward_cache", "forward_cache"),
                      ("ben", "03_backward", "backward"), ("cleo_123", "02_forward_cache", "forward_cache")]
    unplaced = dict(report.unplaced)
    assert set(unplaced) == {"ann/notes.txt", "eve_homework.ipynb"}
    assert (ws.set_aside).rglob("notes.txt")
    assert "could not place eve_homework.ipynb" in report.summary()


def test_collect_from_a_zip_and_never_overwrites_silently(tmp_path):
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("ann_forward_cache.ipynb", RELEASED.read_text())
    ws = Workspace(tmp_path / "ws")
    assert len(collect(z, ws, COURSE).placed) == 1
    again = collect(z, ws, COURSE)
    assert again.unchanged and not again.replaced
    changed = json.loads(RELEASED.read_text())
    changed["metadata"]["edited"] = True
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("ann_forward_cache.ipynb", json.dumps(changed))
    third = collect(z, ws, COURSE)
    assert len(third.replaced) == 1
    kept = list(ws.set_aside.rglob("forward_cache.ipynb"))
    assert len(kept) == 1 and kept[0].read_text() == RELEASED.read_text()


def test_collect_refuses_what_is_not_there(tmp_path):
    with pytest.raises(FileNotFoundError):
        collect(tmp_path / "nope", Workspace(tmp_path / "ws"), COURSE)
    _write(tmp_path / "x.txt", "not a zip")
    with pytest.raises(ValueError):
        collect(tmp_path / "x.txt", Workspace(tmp_path / "ws"), COURSE)


@pytest.mark.parametrize("content,reason", [("", "empty"), ("hello", "not valid JSON"), ("[1, 2]", "not a Jupyter notebook"),
                                            (json.dumps({"nbformat": 3, "worksheets": []}), "nbformat 3")])
def test_unreadable_submissions_get_a_reason(tmp_path, content, reason):
    with pytest.raises(InvalidNotebook, match=reason):
        read_submission(_write(tmp_path / "x.ipynb", content))


def test_deleted_edited_and_moved_test_cells_are_restored():
    release = nbformat.read(RELEASED, 4)
    nb = nbformat.read(RELEASED, 4)
    tests = [c for c in nb.cells if is_test_cell(c)]
    nb.cells.remove(tests[0])
    tests[1].source = "pass"
    nb.cells.remove(tests[2])
    nb.cells.insert(0, tests[2])
    prepared = restore_test_cells(nb, release)
    ids = lambda n: [nbgrader_meta(c)["grade_id"] for c in n.cells if is_test_cell(c)]  # noqa: E731
    assert ids(prepared.nb) == ids(release)
    sources = {nbgrader_meta(c)["grade_id"]: c.source for c in prepared.nb.cells if is_test_cell(c)}
    assert sources == {nbgrader_meta(c)["grade_id"]: c.source for c in release.cells if is_test_cell(c)}
    text = " ".join(t for _, t in prepared.notes)
    assert "deleted" in text and "edited" in text


def test_strip_hidden_tests():
    src = "visible()\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nafter()"
    assert strip_hidden_tests(src) == "visible()\nafter()"


def test_course_layout_lists_every_graded_exercise():
    layout = COURSE.layout
    assert "02_forward_cache" in layout and layout["02_forward_cache"]["forward_cache"]
    assert all(e.points > 0 for nbs in layout.values() for exs in nbs.values() for e in exs)
