"""JupyterLab as students and instructors get it from `make lab`, driven in headless Chromium.

A student opens the first notebook, types a solution into its first stub and runs the visible
test: a correct one passes, a wrong one gets a message that names the problem. The nbgrader
extension's Validate button is there and validates; the formgrader opens for the instructor.
"""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or, under CI, fails) with the install command
    expect = None

from course_lib import checks
from course_lib.checks.core import CheckFailed

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]

FIRST_NOTEBOOK = "notebooks/01_setting/setting.ipynb"
RUN_TIMEOUT = 60_000  # ms; a cell of notebook 01 runs in well under a second once the kernel is up

CORRECT = '''def layer_shapes(N, d0, d1, C):
    return {"X": (N, d0), "W1": (d0, d1), "b1": (d1,), "Z1": (N, d1), "A1": (N, d1),
            "W2": (d1, C), "b2": (C,), "Z2": (N, C), "Yhat": (N, C)}
'''
# The classic slip of section 5.1: W1 written the wrong way round.
WRONG = CORRECT.replace('"W1": (d0, d1)', '"W1": (d1, d0)')


def _define(source: str):
    namespace: dict = {}
    exec(source, namespace)
    return namespace["layer_shapes"]


def feedback_for(source: str) -> str:
    """The message course_lib's checker gives for this solution (its first line)."""
    try:
        checks.check_layer_shapes(_define(source))
    except CheckFailed as failure:
        return str(failure).splitlines()[0]
    raise AssertionError("the wrong solution passed the checker")


def no_dialog(page) -> None:
    """Fail with its text if JupyterLab shows a dialog (a dead kernel, a changed file, ...)."""
    texts = page.locator(".jp-Dialog").all_inner_texts()
    assert not texts, f"JupyterLab shows a dialog: {texts}"


def open_notebook(page, lab, path: str):
    """Open ``path`` in JupyterLab (a fresh workspace) and wait until its kernel is idle."""
    page.goto(f"{lab.url}/lab/tree/{path}?reset")
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=RUN_TIMEOUT)
    panel = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
    expect(panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=RUN_TIMEOUT)
    return panel


def code_cell(panel, text: str):
    """The code cell whose source contains ``text``."""
    return panel.locator(".jp-CodeCell").filter(has=panel.page.locator(".jp-InputArea", has_text=text)).first


def set_source(cell, source: str) -> None:
    """Replace the cell's source, as if typed (inserted verbatim: no auto-indent)."""
    page = cell.page
    no_dialog(page)
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)


def run(cell) -> None:
    """Run the cell (Shift+Enter in its editor) and wait until it has finished.

    Right after the page loads JupyterLab may not yet take the notebook for the current document
    and ignore the key: it is pressed again until the cell's prompt shows it was queued."""
    page = cell.page
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text()
    for _ in range(10):
        no_dialog(page)
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        try:
            # The prompt shows [*] while the cell waits or runs, and [n] when it is done.
            expect(prompt).not_to_have_text(before, timeout=5_000)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError(f"Shift+Enter did not run the cell:\n{cell.inner_text()}")
    expect(prompt).not_to_contain_text("*", timeout=RUN_TIMEOUT)


def show_from(cell) -> None:
    """Scroll the notebook so that ``cell`` is at the top (for a screenshot of it and what follows)."""
    cell.evaluate("el => el.scrollIntoView({block: 'start'})")


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_notebook_first_stub_correct_then_wrong(lab, new_page, shots):
    committed = sha256(ROOT / FIRST_NOTEBOOK)
    page = new_page()
    panel = open_notebook(page, lab, FIRST_NOTEBOOK)
    run(code_cell(panel, "from course_lib import checks"))
    stub = code_cell(panel, "def layer_shapes")
    test = code_cell(panel, "checks.check_layer_shapes(layer_shapes)")
    output = test.locator(".jp-OutputArea")

    set_source(stub, CORRECT)
    run(stub)
    run(test)
    expect(output).to_contain_text("✔ layer_shapes: correct on all", timeout=RUN_TIMEOUT)
    expect(output.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
    show_from(stub)
    page.screenshot(path=shots / "lab-first-test-passes.png")

    set_source(stub, WRONG)
    run(stub)
    run(test)
    message = feedback_for(WRONG)
    assert "'W1'" in message and "transpose" in message, message
    expect(output).to_contain_text(message, timeout=RUN_TIMEOUT)
    expect(output).not_to_contain_text("✔")
    show_from(stub)
    page.screenshot(path=shots / "lab-first-test-feedback.png")

    # Autosave is off in the tests' Lab settings and nothing saved: the course notebook is untouched.
    assert sha256(ROOT / FIRST_NOTEBOOK) == committed


@pytest.fixture
def notebook_copy():
    """A copy of the first student notebook in a git-ignored folder under the repo root (Lab serves
    the repo root): the Validate button saves the notebook before it validates it."""
    folder = ROOT / "build" / "browser-tests"
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "setting.ipynb"
    shutil.copyfile(ROOT / FIRST_NOTEBOOK, copy)
    yield copy.relative_to(ROOT).as_posix()
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.parent.rmdir()  # build/ too, when the tests made it
    except OSError:
        pass


def test_validate_button_validates_the_students_notebook(lab, new_page, shots, notebook_copy):
    page = new_page()
    panel = open_notebook(page, lab, notebook_copy)
    validate = panel.locator(".jp-Toolbar").get_by_role("button", name="Validate")
    expect(validate).to_be_visible()
    set_source(code_cell(panel, "def layer_shapes"), CORRECT)
    page.get_by_role("tab", name=re.compile(r"^File Browser")).click()  # hide the copy's folder from the picture
    validate.click()
    # nbgrader saves, runs the visible tests in a fresh kernel and reports: the first exercise now
    # passes, the next (affine) is still the stub.
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Validation Results", timeout=RUN_TIMEOUT)
    expect(dialog).to_contain_text("checks.check_affine(affine)")
    expect(dialog).to_contain_text("NotImplementedError")
    expect(dialog).not_to_contain_text("checks.check_layer_shapes(layer_shapes)")
    page.screenshot(path=shots / "lab-validate.png")


def test_formgrader_opens_for_the_instructor(lab, new_page, shots):
    page = new_page()
    page.goto(f"{lab.url}/lab?reset")
    expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=RUN_TIMEOUT)
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Formgrader(?! \(local\))")).click()
    frame = page.frame_locator("iframe[src*='formgrader']")
    expect(frame.locator("h1", has_text="Manage Assignments")).to_be_visible(timeout=RUN_TIMEOUT)
    # The course's assignments (solutions/<assignment>/) are listed from the course configuration.
    table = frame.locator("#main-table")
    expect(table).to_contain_text("01_setting", timeout=RUN_TIMEOUT)
    # For the picture: hide the file browser (the formgrader then lays itself out in columns)
    # and show the table of assignments.
    page.get_by_role("tab", name=re.compile(r"^File Browser")).click()
    table.scroll_into_view_if_needed()
    page.screenshot(path=shots / "lab-formgrader.png")
