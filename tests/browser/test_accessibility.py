"""Accessibility audits of the loss-curve explorer with axe-core, in headless Chromium.

axe-core (bundled by the axe-playwright-python package: nothing downloads at run time) audits the
Voilà app's whole page and, in JupyterLab, the explorer inside notebook 08, each in two states:
as it opens, and with a bug injected and then the depth raised (the bug list disabled, its note
shown). No violation of impact "serious" or "critical" may remain. JupyterLab's own page has
violations of its own (its toolbar buttons, the code editors): they are checked to lie outside
the explorer, and listed, not failed on. Beside axe, the DOM is read directly: every plot is an
<img> whose alt text is the explorer's description of the run shown, every slider is named by its
visible label, and its value text is its readout.
"""
from __future__ import annotations

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or, under CI, fails) with the install command
    expect = None

from course_lib import widgets

from tests.conftest import in_ci
from tests.browser.test_explorer import REDRAW_TIMEOUT, ExplorerView, open_lab, open_voila

pytestmark = pytest.mark.browser

BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe(browser):
    """axe-core's runner; skips with the install command (fails under CI=true) when it is missing."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        reason = "axe-playwright-python is missing: run `make setup` (it installs the project with '.[dev]')"
        if in_ci():
            pytest.fail(f"the accessibility audits must run in CI (CI=true), but {reason}", pytrace=False)
        pytest.skip(reason)
    return Axe()


def violations(axe, page, context: str | None = None) -> list[dict]:
    """axe's violations on the page (or inside the elements matching the CSS selector ``context``)."""
    return axe.run(page, context=context).response["violations"]


def describe(found: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']} ({v['help']}): " + "; ".join(n["html"][:160] for n in v["nodes"][:3])
                     for v in found) or "none"


def blocking(found: list[dict]) -> list[dict]:
    return [v for v in found if v["impact"] in BLOCKING]


def expect_accessible_dom(view: ExplorerView) -> None:
    """What axe cannot judge: that the names and descriptions say the right things."""
    view.expect_labelled()
    for img in (view.image, view.regions):
        alt = img.get_attribute("alt")
        assert alt and len(alt) > 60, alt
    assert view.image.get_attribute("alt").startswith("Loss curves")
    assert view.regions.get_attribute("alt").startswith("Decision regions")


def break_things(view: ExplorerView) -> None:
    """Inject a bug, then raise the depth: the bug list is disabled and the note appears."""
    src = view.src()
    view.choose("bug", "missing_batch_average")
    expect(view.image).not_to_have_attribute("src", src, timeout=REDRAW_TIMEOUT)
    src = view.src()
    view.move("depth")
    expect(view.image).not_to_have_attribute("src", src, timeout=REDRAW_TIMEOUT)
    expect(view.control("bug").locator("select")).to_be_disabled()
    expect(view.bug_note).to_be_visible()
    # The disabled list is described by the note that says why it is off.
    note_id = view.bug_note.locator(".widget-html-content").get_attribute("id")
    expect(view.control("bug").locator("select")).to_have_attribute("aria-describedby", note_id)
    expect(view.image).to_have_attribute("alt", widgets.explorer(depth=3).alt[0], timeout=REDRAW_TIMEOUT)


def test_voila_app_passes_axe(voila, new_page, axe, measured):
    page, view = open_voila(voila, new_page)
    view.wait_until_shown()
    expect_accessible_dom(view)
    found = violations(axe, page)
    measured["Voila: axe violations as it opens (serious or critical)"] = [len(blocking(found))]
    assert blocking(found) == [], describe(found)
    assert found == [], describe(found)  # nor any moderate or minor one

    break_things(view)
    found = violations(axe, page)
    assert found == [], describe(found)
    expect_accessible_dom(view)


def test_explorer_in_jupyterlab_passes_axe(lab, new_page, axe, measured):
    page, view = open_lab(lab, new_page)
    expect_accessible_dom(view)
    found = violations(axe, page, ".course-explorer")
    measured["JupyterLab: axe violations in the explorer (serious or critical)"] = [len(blocking(found))]
    assert found == [], describe(found)

    break_things(view)
    found = violations(axe, page, ".course-explorer")
    assert found == [], describe(found)
    expect_accessible_dom(view)

    # JupyterLab's own page has violations of its own; none of them is in the explorer.
    whole_page = violations(axe, page)
    inside = page.evaluate("""targets => targets.map(t => {
        const el = document.querySelector(t); return !!(el && el.closest('.course-explorer')); })""",
                           [n["target"][-1] for v in whole_page for n in v["nodes"] if len(n["target"]) == 1])
    assert not any(inside), describe(whole_page)
    print("\nJupyterLab's own axe violations (outside the explorer, not the course's to fix):\n" + describe(whole_page))
