"""The loss-curve explorer in a real browser: in JupyterLab (notebook 08) and as the Voilà app.

Each kind of control is moved (an integer slider, a log slider, a drop-down list); each time the
plot (an <img> whose src becomes a new PNG) changes and the table's final loss and accuracy equal
course_lib.widgets.run for the settings the controls now show, to the printed precision.
The Voilà page shows no code, works offline (no request leaves 127.0.0.1, no console error), and
its kernel is gone soon after the page closes, or dies. The slider-to-redraw time is measured:
reported at the end of the run, not asserted.
"""
from __future__ import annotations

import functools
import re
import time
from dataclasses import asdict, replace

import ipywidgets
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or, under CI, fails) with the install command
    expect = None

from course_lib import widgets

pytestmark = pytest.mark.browser

LOAD_TIMEOUT = 90_000     # ms: page load, kernel start and the first training
REDRAW_TIMEOUT = 30_000   # ms: one retrain and redraw takes ~0.1 s here
KERNEL_GONE_WITHIN = 60   # s: the bound for a closed page's kernel
TIMED_MOVES = 10          # slider moves timed per front end


@functools.cache
def controls() -> dict:
    """The explorer's widgets, built here: the labels, tooltips and options the page must show."""
    return widgets.explorer().controls


def log_slider_value(view, name: str) -> float:
    """The value the log slider ``name`` now sends to the kernel, computed as its view computes it:
    base ** (the noUiSlider position), in JavaScript.

    Python's 10 ** 0.1 is not always the browser's (Math.pow, and the slider's own arithmetic for
    its steps, can differ by an ulp), and some runs are chaotic enough (tanh, a large step) for
    an ulp of the initial scale to change the printed final loss."""
    return view.control(name).locator(".noUi-target").evaluate(
        "(target, base) => Math.pow(base, Number(target.noUiSlider.get()))", controls()[name].base)


def option_label(name: str, value: str) -> str:
    for option in controls()[name].options:
        label, v = option if isinstance(option, tuple) else (option, option)
        if v == value:
            return label
    raise KeyError(value)


class ExplorerView:
    """The explorer's widgets inside ``scope`` (a locator) of a page."""

    def __init__(self, page, scope):
        self.page, self.scope = page, scope
        self.image = scope.locator("img.widget-image")
        self.readout = scope.locator(".widget-html").filter(has_text="final loss")

    def wait_until_shown(self) -> None:
        expect(self.image).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(self.readout).to_be_visible(timeout=LOAD_TIMEOUT)

    def control(self, name: str):
        label = self.page.locator(".widget-label", has_text=controls()[name].description)
        return self.scope.locator(".widget-slider, .widget-dropdown").filter(has=label)

    def src(self) -> str:
        return self.image.get_attribute("src")

    def move(self, name: str, key: str = "ArrowRight") -> None:
        """Move a slider one step, with the keyboard, as a reader would after tabbing to it."""
        self.control(name).locator(".noUi-handle").focus()
        self.page.keyboard.press(key)

    def choose(self, name: str, value: str) -> None:
        self.control(name).locator("select").select_option(label=option_label(name, value))

    def shown(self) -> dict[str, str]:
        """What every control shows: a slider's readout, a list's selected option."""
        out = {}
        for name in controls():
            element = self.control(name)
            select = element.locator("select")
            shown = (select.evaluate("s => s.options[s.selectedIndex].text") if select.count()
                     else element.locator(".widget-readout").inner_text())
            out[name] = shown.replace("\xa0", " ")  # ipywidgets shows option labels with no-break spaces
        return out

    def expect_showing(self, settings: widgets.Settings, old_src: str | None) -> None:
        """The controls show ``settings``, the plot has been redrawn, and the table shows
        course_lib's numbers for ``settings``."""
        # d3-format's ".3g" keeps trailing zeros ("1.00"): Python's "#.3g".
        expected_controls = {name: (format(value, "#" + controls()[name].readout_format) if isinstance(value, float)
                                    else str(value) if isinstance(value, int) else option_label(name, value))
                             for name, value in asdict(settings).items()}
        assert self.shown() == expected_controls
        result = widgets.run(settings)
        bug = "no bug" if settings.bug == widgets.NO_BUG else f"bug: {settings.bug}"
        if old_src is not None:
            expect(self.image).not_to_have_attribute("src", old_src, timeout=REDRAW_TIMEOUT)
        for row, run in zip((1, 2), (result.run, result.correct)):
            cells = self.readout.locator("tr").nth(row).locator("td")
            expect(cells.nth(1)).to_have_text(f"{run.final_loss:.4g}", timeout=REDRAW_TIMEOUT)
            expect(cells.nth(2)).to_have_text(f"{run.final_accuracy:.1%}", timeout=REDRAW_TIMEOUT)
        expect(self.readout.locator("tr").nth(1).locator("td").nth(0)).to_contain_text(bug)

    def expect_labelled(self) -> None:
        """Every control shows its label (with its units, where it has some). A slider is a
        keyboard-operable ARIA slider and shows its tooltip on its label; a list is a combobox
        named by its label."""
        for name, control in controls().items():
            element = self.control(name)
            expect(element).to_have_count(1)
            label = element.locator(".widget-label")
            expect(label).to_be_visible()
            expect(label).to_have_text(control.description)
            if isinstance(control, (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider)):
                expect(element.locator(".noUi-handle[role='slider']")).to_have_attribute("tabindex", "0")
                expect(label).to_have_attribute("title", control.tooltip)
            else:
                expect(element.get_by_role("combobox", name=control.description, exact=True)).to_be_visible()

    def time_redraws(self, name: str, moves: int) -> list[float]:
        """Milliseconds from each key press on the slider ``name`` until its new plot is decoded and
        painted, measured on the page's clock: the kernel's retraining and drawing, the round trips
        and the browser's work. Each move is to settings not seen before, so nothing is cached."""
        self.image.evaluate("""img => {
            window.__keys = []; window.__redraws = [];
            window.addEventListener('keydown', e => window.__keys.push(e.timeStamp), true);
            new MutationObserver(() => img.decode().catch(() => {}).then(
                () => requestAnimationFrame(() => window.__redraws.push(performance.now()))
            )).observe(img, {attributes: true, attributeFilter: ['src']});
        }""")
        self.control(name).locator(".noUi-handle").focus()
        for i in range(moves):
            self.page.keyboard.press("ArrowRight")
            self.page.wait_for_function("n => window.__redraws.length >= n", arg=i + 1, timeout=REDRAW_TIMEOUT)
        keys, redraws = self.page.evaluate("[window.__keys, window.__redraws]")
        assert len(keys) == len(redraws) == moves
        return [done - pressed for pressed, done in zip(keys, redraws)]


# ------------------------------------------------------------------------------------------ Voilà
def open_voila(voila, new_page):
    page = new_page()
    page.goto(voila.url + "/")
    view = ExplorerView(page, page.locator("body"))
    view.wait_until_shown()
    return page, view


def screenshot_whole_app(page, path) -> None:
    """Voilà's page scrolls inside #rendered_cells, not the document: grow the viewport to show it all."""
    height = page.evaluate("document.querySelector('#rendered_cells').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height + 20})
    page.screenshot(path=path)


def wait_for_kernels(server, count: int, timeout: float) -> float:
    """Wait until ``server`` runs ``count`` kernels; return the seconds it took."""
    start = time.monotonic()
    while len(server.kernels()) != count:
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{server.name} still runs {len(server.kernels())} kernels after {timeout} s, "
                                 f"expected {count}:\n{server.log()}")
        time.sleep(0.1)
    return time.monotonic() - start


def test_explorer_in_voila(voila, new_page, shots):
    page, view = open_voila(voila, new_page)
    settings = widgets.Settings()
    view.expect_showing(settings, None)

    # A reader sees the text, the controls, the plot and the table: no code.
    assert page.locator(".jp-CodeCell .jp-InputArea, .jp-InputPrompt, .cm-editor, .highlight").count() == 0
    text = page.locator("body").inner_text()
    assert "import" not in text and "explorer()" not in text
    view.expect_labelled()
    screenshot_whole_app(page, shots / "explorer-voila.png")

    # A drop-down list: inject a bug; the table names it and both runs are course_lib's.
    src = view.src()
    view.choose("bug", "missing_batch_average")
    settings = replace(settings, bug="missing_batch_average")
    view.expect_showing(settings, src)
    expect(view.readout).to_contain_text("Injected:")
    screenshot_whole_app(page, shots / "explorer-voila-bug.png")

    # An integer slider, then a log slider (one step is 0.1 in log10: 1 -> 10**0.1).
    src = view.src()
    view.move("width")
    settings = replace(settings, width=33)
    view.expect_showing(settings, src)

    src = view.src()
    view.move("lr")
    settings = replace(settings, lr=log_slider_value(view, "lr"))
    view.expect_showing(settings, src)

    # Offline: nothing was asked of any host but the app's, and nothing failed or logged an error.
    assert page.log.off_host() == []
    assert page.log.failed == []
    assert page.log.errors == []


def test_slider_to_redraw_time_in_voila(voila, new_page, measured):
    page, view = open_voila(voila, new_page)
    times = view.time_redraws("seed", TIMED_MOVES)
    measured["Voila: slider-to-redraw (ms)"] = times
    view.expect_showing(widgets.Settings(seed=TIMED_MOVES), None)
    assert page.log.errors == []


def test_closing_the_page_shuts_its_kernel_down(voila, new_page, measured):
    wait_for_kernels(voila, 0, KERNEL_GONE_WITHIN)  # the pages of earlier tests are closed
    page, _ = open_voila(voila, new_page)
    assert len(voila.kernels()) == 1
    page.close()
    seconds = wait_for_kernels(voila, 0, KERNEL_GONE_WITHIN)
    measured["Voila: kernel gone after the page closed (s)"] = [seconds]


def test_a_page_that_cannot_say_goodbye_loses_its_kernel_too(voila, new_page, measured):
    """A page whose shutdown request is lost (a crashed tab, a dropped connection): Voilà culls its
    kernel once no page is connected to it and it has been idle for a while (explorer/voila.py)."""
    wait_for_kernels(voila, 0, KERNEL_GONE_WITHIN)
    page, _ = open_voila(voila, new_page)
    assert len(voila.kernels()) == 1
    page.evaluate("window.fetch = () => Promise.resolve()")  # the goodbye goes nowhere
    page.close()
    seconds = wait_for_kernels(voila, 0, KERNEL_GONE_WITHIN)
    measured["Voila: kernel culled after a page left without a goodbye (s)"] = [seconds]


# ------------------------------------------------------------------------------------- JupyterLab
def run_all_cells(page, panel) -> None:
    """Run → Run All Cells, as the notebook tells students. The menu item is enabled once the
    notebook is the current document, so it is retried until the first cell starts running."""
    panel.locator(".jp-Cell").first.click()
    first_prompt = panel.locator(".jp-CodeCell .jp-InputPrompt").first
    for _ in range(20):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        item = page.get_by_role("menuitem", name=re.compile(r"^Run All Cells"))
        if item.get_attribute("aria-disabled") != "true":
            item.click()
            try:
                expect(first_prompt).not_to_have_text(re.compile(r"^\s*\[ \]:\s*$"), timeout=5_000)
                return
            except AssertionError:
                continue
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
    raise AssertionError("Run -> Run All Cells did not run the notebook")


def test_explorer_in_jupyterlab(lab, new_page, shots, measured):
    page = new_page()
    page.goto(f"{lab.url}/lab/tree/notebooks/08_explorer/loss_curve_explorer.ipynb?reset")
    panel = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
    expect(panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=LOAD_TIMEOUT)
    run_all_cells(page, panel)
    view = ExplorerView(page, panel.locator(".jp-OutputArea-output").filter(has=page.locator("img.widget-image")))
    view.wait_until_shown()
    settings = widgets.Settings()
    view.expect_showing(settings, None)
    view.expect_labelled()

    # A log slider, an integer slider with a step of 10, a drop-down list.
    src = view.src()
    view.move("init_scale")
    settings = replace(settings, init_scale=log_slider_value(view, "init_scale"))
    view.expect_showing(settings, src)

    src = view.src()
    view.move("steps", "ArrowLeft")
    settings = replace(settings, steps=190)
    view.expect_showing(settings, src)

    src = view.src()
    view.choose("activation", "tanh")
    settings = replace(settings, activation="tanh")
    view.expect_showing(settings, src)
    view.scope.scroll_into_view_if_needed()
    page.screenshot(path=shots / "explorer-lab.png")

    measured["JupyterLab: slider-to-redraw (ms)"] = view.time_redraws("seed", TIMED_MOVES)
    view.expect_showing(replace(settings, seed=TIMED_MOVES), None)
