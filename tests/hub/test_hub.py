"""A class on a real JupyterHub (`make hub`: PAM logins, one server per Unix user), in headless Chromium.

The round trip: the instructor logs in and, in the formgrader, generates and releases notebook 01;
a student logs in, fetches it from the Assignments tab, answers its first exercise, sees the test
pass and submits; the instructor collects (formgrader), sets a due date that the submission missed
(`nbgrader db assignment add --duedate`), grades with course-grader (a command in the instructor's
account: grader/hub/grading.py: the scores and the lateness go into the formgrader's gradebook) and
releases the feedback (formgrader); the student fetches the feedback and opens it. Along the way: the students' servers have no formgrader, and a
student can read neither the instructor's course folder nor the instructor's server.

Then thirty students submit at the same moment (`nbgrader submit`, each as its own Unix user):
every submission reaches the exchange and is collected, every file byte for byte.
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import json
import re
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.utils import parse_utc

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or, under CI, fail) with the install command
    expect = None

from grader.hub.site import Site

pytestmark = pytest.mark.hub

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1280, "height": 800}
RUN_TIMEOUT = 90_000  # ms: a server's first start on a busy 2-core machine, a first kernel
STARTING_AT_ONCE = 4  # students' submit processes importing nbgrader at the same time

# The student's answer to the first exercise, as the browser tests type it.
CORRECT = '''def layer_shapes(N, d0, d1, C):
    return {"X": (N, d0), "W1": (d0, d1), "b1": (d1,), "Z1": (N, d1), "A1": (N, d1),
            "W2": (d1, C), "b2": (C,), "Z2": (N, C), "Yhat": (N, C)}
'''


# ------------------------------------------------------------------------------------- the browser
def log_in(browser, hub, user: str, measured: dict):
    """Log in at the hub's login page; returns the page once the user's JupyterLab is up."""
    page = browser.new_context(viewport=VIEWPORT).new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", hub.passwords[user])
    started = time.monotonic()
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf".*/user/{re.escape(user)}/lab.*"), timeout=RUN_TIMEOUT)
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=RUN_TIMEOUT)
    expect(page.get_by_role("menuitem", name="Nbgrader", exact=True)).to_be_visible(timeout=RUN_TIMEOUT)
    measured[f"log in as {user}: the server spawned and JupyterLab up (s)"] = time.monotonic() - started
    return page


def nbgrader_menu(page, item: str) -> None:
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def open_formgrader(page):
    nbgrader_menu(page, "Formgrader")
    frame = page.frame_locator("iframe[src*='formgrader']")
    expect(frame.locator("#main-table")).to_contain_text("01_setting", timeout=RUN_TIMEOUT)
    return frame


def formgrader_button(frame, assignment: str, column: str, success: str) -> str:
    """Click the formgrader's button in ``column`` of the assignment's row; returns the log it shows."""
    row = frame.locator("#main-table tr", has=frame.locator(f"td.name[data-order='{assignment}']"))
    row.locator(f"td.{column} a").click()
    modal = frame.locator("#success-modal, #error-modal")
    expect(modal).to_be_visible(timeout=RUN_TIMEOUT)
    text = modal.inner_text()
    assert success in text, f"the formgrader's {column} button said:\n{text}"
    modal.get_by_role("button", name="OK").click()
    expect(modal).to_have_count(0)
    return text


def code_cell(panel, text: str):
    return panel.locator(".jp-CodeCell").filter(has=panel.page.locator(".jp-InputArea", has_text=text)).first


def run(cell) -> None:
    """Shift+Enter in the cell, pressed again until its prompt shows it queued; then wait until it ran."""
    page, prompt = cell.page, cell.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    for _ in range(10):
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        try:
            expect(prompt).not_to_have_text(before, timeout=5_000)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError(f"Shift+Enter did not run the cell:\n{cell.inner_text()}")
    expect(prompt).not_to_contain_text("*", timeout=RUN_TIMEOUT)


# --------------------------------------------------------------------------------------- the files
def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


NBGRADER_FILES = {"timestamp.txt", "submission_secret.txt"}  # what `nbgrader submit` adds to a submission


# ---------------------------------------------------------------------------------------- the tests
def test_a_class_round_trip_release_fetch_submit_collect_grade_feedback(hub, browser, measured):
    started = time.monotonic()
    site = hub.site
    student = site.students[0]
    course = site.course_dir
    outbound = site.exchange / site.course_id / "outbound" / "01_setting"

    # The instructor generates the student version and releases it, in the formgrader.
    teacher = log_in(browser, hub, site.instructor, measured)
    frame = open_formgrader(teacher)
    formgrader_button(frame, "01_setting", "assign", "Successfully created the student version of '01_setting'")
    formgrader_button(frame, "01_setting", "release", "Successfully released '01_setting'")
    # What the students get is the course's release, notebooks/ (which a test keeps equal to a fresh
    # release of solutions/), generated here from the instructor's own copy of solutions/.
    assert digest(outbound) == digest(ROOT / "notebooks" / "01_setting")

    # The student: no formgrader anywhere, the Assignments tab instead.
    pupil = log_in(browser, hub, student, measured)
    pupil.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    menu = pupil.locator(".lm-Menu")
    expect(menu).to_contain_text("Assignment List")
    expect(menu).not_to_contain_text("Formgrader")
    pupil.keyboard.press("Escape")
    assert pupil.request.get(f"{hub.url}/user/{student}/formgrader").status == 404
    # ... nor into the instructor's server: the hub refuses the student's login for it.
    other = pupil.request.get(f"{hub.url}/user/{site.instructor}/api/contents/course")
    assert other.status == 403 and "gradebook" not in other.text(), (other.status, other.url, other.text()[:500])

    nbgrader_menu(pupil, "Assignment List")
    assignments = pupil.locator("#assignments")
    assignments.locator("#released_assignments_list .list_item", has_text="01_setting").get_by_role(
        "button", name="Fetch").click()
    fetched = assignments.locator("#fetched_assignments_list")
    expect(fetched).to_contain_text("01_setting", timeout=RUN_TIMEOUT)
    assert digest(Site.home(student) / "01_setting") == digest(ROOT / "notebooks" / "01_setting")
    fetched.get_by_role("button", name="01_setting").click()
    fetched.get_by_text("setting", exact=True).click()

    panel = pupil.locator(".jp-NotebookPanel").filter(has=pupil.locator(".jp-Notebook"))
    expect(panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=RUN_TIMEOUT)
    expect(panel.locator(".jp-NotebookPanel-toolbar")).to_contain_text("Python 3 (backprop course)", timeout=RUN_TIMEOUT)
    run(code_cell(panel, "from course_lib import checks"))
    stub, test = code_cell(panel, "def layer_shapes"), code_cell(panel, "checks.check_layer_shapes(layer_shapes)")
    stub.locator(".cm-content").click()
    pupil.keyboard.press("Control+A")
    pupil.keyboard.insert_text(CORRECT)
    run(stub)
    run(test)
    expect(test.locator(".jp-OutputArea")).to_contain_text("✔ layer_shapes: correct on all", timeout=RUN_TIMEOUT)
    pupil.keyboard.press("Control+S")
    expect(pupil.locator(".jp-mod-dirty")).to_have_count(0, timeout=RUN_TIMEOUT)

    pupil.get_by_role("tab", name="Assignments", exact=True).click()
    fetched.locator(".list_item", has_text="01_setting").get_by_role("button", name="Submit").first.click()
    submitted = assignments.locator("#submitted_assignments_list")
    expect(submitted).to_contain_text("01_setting", timeout=RUN_TIMEOUT)

    # The instructor collects in the formgrader: the student's saved answer is in the course folder.
    formgrader_button(frame, "01_setting", "collect", "Successfully collected submissions of '01_setting'")
    collected = course / "submitted" / student / "01_setting"
    notebook = json.loads((collected / "setting.ipynb").read_text())
    assert any("\"W1\": (d0, d1)" in "".join(c["source"]) for c in notebook["cells"])

    # The due date, set the way nbgrader sets it (the instructor's gradebook), 2 h 10 min before the time
    # nbgrader recorded for the submission: course-grader reads both and says how late it was.
    submitted_at = parse_utc((collected / "timestamp.txt").read_text())
    due = submitted_at - datetime.timedelta(hours=2, minutes=10)
    hub.as_user(site.instructor, str(site.venv / "bin" / "nbgrader"), "db", "assignment", "add", "01_setting",
                f"--duedate={due.strftime('%Y-%m-%d %H:%M:%S.%f')} UTC")

    # ... grades the class with course-grader (a command: grader/hub/grading.py) ...
    graded = hub.as_user(site.instructor, str(site.venv / "bin" / "python"), "-m", "grader.hub.grading", "01_setting")
    assert "1 feedback pages" in graded.stdout, graded.stdout
    out = course / "course-grader" / "01_setting"
    with open(out / "grades.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["student"] == student]
    scores = {r["exercise"]: (r["score"], r["status"]) for r in rows}
    assert scores == {"test_layer_shapes": ("2", "ok"), "test_affine": ("0", "error"),
                      "test_count_parameters": ("0", "error"), "test_finite_difference_passes": ("0", "error")}, (
        scores, graded.stdout[-2000:], graded.stderr[-3000:],
        (out / "feedback" / student / "01_setting" / "setting.html").read_text()[:4000])
    assert {r["seconds_late"] for r in rows} == {"7800"} and {r["late_penalty"] for r in rows} == {"0"}
    # The formgrader's gradebook (the instructor's course/gradebook.db) holds course-grader's scores,
    # under the student's hub username, as nbgrader's own API reads them.
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=site.course_id) as gb:
        notebook = gb.find_submission_notebook("setting", "01_setting", student)
        assert {g.name: g.score for g in notebook.grades} == {k: float(v[0]) for k, v in scores.items()}
        assert notebook.score == 2 and notebook.late_submission_penalty is None
        assert gb.find_submission("01_setting", student).total_seconds_late == 7800

    # ... and releases the feedback in the formgrader (never Generate Feedback: nbgrader's own pages
    # would replace course-grader's and show the hidden tests).
    formgrader_button(frame, "01_setting", "release-feedback", "Successfully released feedback of '01_setting'")

    # The student fetches the feedback and opens it.
    pupil.locator("#refresh_assignments_list").click()
    mine = submitted.locator(".list_item", has_text="01_setting")
    expect(mine).to_contain_text("feedback available to fetch", timeout=RUN_TIMEOUT)
    mine.get_by_role("button", name="Fetch Feedback").click()
    view = submitted.get_by_text("(view feedback)")
    expect(view).to_be_visible(timeout=RUN_TIMEOUT)
    view.click()
    pupil.locator(".jp-DirListing-item", has_text="setting.html").dblclick()
    page = pupil.frame_locator(".jp-HTMLViewer iframe")
    expect(page.locator("h1")).to_have_text("Feedback: 01_setting / setting", timeout=RUN_TIMEOUT)
    expect(page.locator("body")).to_contain_text(f"Student {student}: 2 of 6 points.")
    expect(page.locator("body")).to_contain_text("Submitted 2 h 10 min after the due date")
    expect(page.locator("body")).to_contain_text("test_layer_shapes")

    # What the student could not do: read the instructor's course folder (the gradebook, the source
    # with its hidden tests, the other submissions) or another student's home.
    for path in (course / "gradebook.db", course / "source" / "01_setting" / "setting.ipynb",
                 collected / "setting.ipynb", Site.home(site.students[1]) / ".profile"):
        denied = hub.as_user(student, "cat", str(path), check=False)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, (path, denied)
    measured["the round trip in the browser, from the instructor's login (s)"] = time.monotonic() - started


def test_thirty_students_submit_at_the_same_moment_and_lose_nothing(hub, measured):
    site = hub.site
    students = site.students[1:31]
    assert len(students) == 30
    assignment = "02_forward_cache"
    # The instructor releases it with nbgrader's commands this time.
    nbgrader = str(site.venv / "bin" / "nbgrader")
    hub.as_user(site.instructor, nbgrader, "generate_assignment", assignment)
    hub.as_user(site.instructor, nbgrader, "release_assignment", assignment)
    release = site.course_dir / "release" / assignment

    # Each student's work: the released notebook with an answer of their own, and a file of their own.
    work = {}
    for student in students:
        folder = Site.home(student) / assignment
        shutil.copytree(release, folder)
        nb = json.loads((folder / "forward_cache.ipynb").read_text())
        stub = next(c for c in nb["cells"] if "raise NotImplementedError()" in "".join(c["source"]))
        stub["source"] = ["# " + student + "'s attempt " + secrets.token_hex(8) + "\n", *stub["source"]]
        (folder / "forward_cache.ipynb").write_text(json.dumps(nb, indent=1))
        (folder / "notes.txt").write_bytes(secrets.token_bytes(4096))
        subprocess.run(["chown", "-R", f"{student}:", str(folder)], check=True)
        work[student] = digest(folder)

    # The students announce they are ready in a folder of the hub's (pytest's tmp_path is root's only).
    ready, go = hub.base / "ready", hub.base / "go"
    ready.mkdir()
    ready.chmod(0o1777)
    script = ROOT / "tests" / "hub" / "submit_together.py"
    python = str(site.venv / "bin" / "python")
    # They start a few at a time (thirty Pythons importing nbgrader at once on two cores take about
    # twice as long as the same imports a few at a time); once started, each waits for the signal.
    logs = hub.base / "submit-logs"
    logs.mkdir()
    procs: dict[str, subprocess.Popen] = {}
    waiting = list(students)
    launched = time.monotonic()
    while (n_ready := len(list(ready.iterdir()))) < len(students):
        while waiting and len(procs) - n_ready < STARTING_AT_ONCE:
            student = waiting.pop(0)
            with open(logs / student, "w") as log:
                procs[student] = subprocess.Popen(
                    hub.as_user_argv(student, python, str(script), str(ready), str(go), assignment),
                    cwd=Site.home(student), stdout=log, stderr=subprocess.STDOUT)
        assert time.monotonic() - launched < 240, f"only {n_ready} students got ready"
        ended = {s: (logs / s).read_text()[-2000:] for s, p in procs.items() if p.poll() is not None}
        assert not ended, f"a student's submit ended before the signal: {ended}"
        time.sleep(0.05)
    measured["thirty students' nbgrader started, all waiting to submit (s)"] = time.monotonic() - launched
    started = time.monotonic()
    go.touch()
    for p in procs.values():
        p.wait(timeout=240)
    measured["thirty `nbgrader submit` released at once, until the last returned (s)"] = time.monotonic() - started
    failed = {s: (logs / s).read_text()[-2000:] for s, p in procs.items() if p.returncode != 0}
    assert not failed, failed

    inbound = site.exchange / site.course_id / "inbound"
    stamps = []
    for student in students:
        arrived = sorted(inbound.glob(f"{student}+{assignment}+*"))
        assert len(arrived) == 1, (student, arrived)
        files = digest(arrived[0])
        assert set(files) - set(work[student]) == NBGRADER_FILES
        assert {k: v for k, v in files.items() if k not in NBGRADER_FILES} == work[student], student
        stamps.append(parse_utc((arrived[0] / "timestamp.txt").read_text()))
    measured["spread of the submission times nbgrader recorded (s)"] = (max(stamps) - min(stamps)).total_seconds()

    hub.as_user(site.instructor, nbgrader, "collect", assignment)
    for student in students:
        collected = digest(site.course_dir / "submitted" / student / assignment)
        assert {k: v for k, v in collected.items() if k not in NBGRADER_FILES} == work[student], student

