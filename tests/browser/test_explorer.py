"""The loss-curve explorer in a real browser: in JupyterLab (notebook 08) and as the Voilà app.

Every control is moved (integer sliders, log sliders, the weight-decay slider of fixed stops, the
drop-down lists); each time the plots (two <img> whose src becomes a new PNG) change, their alt
text says what the new plots show, and the table's final loss and accuracy equal course_lib's
own run for the settings the controls now show (course_lib.experiments.train_network for the
correct run), to the printed precision. Past depth 2 the bug list is disabled and a note says why.
The Voilà page shows no code, works offline (no request leaves 127.0.0.1, no console error), and
its kernel is gone soon after the page closes, or dies. The slider-to-redraw time is measured:
reported at the end of the run, not asserted. The accessibility audits are in test_accessibility.py.
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

from course_lib import experiments, widgets

pytestmark = pytest.mark.browser

LOAD_TIMEOUT = 90_000     # ms: page load, kernel start and the first training
REDRAW_TIMEOUT = 30_000   # ms: one retrain and redraw takes ~0.1 s here
KERNEL_GONE_WITHIN = 60   # s: the bound for a closed page's kernel
TIMED_MOVES = 10          # slider moves timed per front end and setting
SLIDERS = (ipywidgets.IntSlider, ipywidgets.FloatSlider, ipywidgets.FloatLogSlider, ipywidgets.SelectionSlider)


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
    return float(view.control(name).locator(".noUi-target").evaluate(  # float: JSON sends 1.0 as 1
        "(target, base) => Math.pow(base, Number(target.noUiSlider.get()))", controls()[name].base))


def option_label(name: str, value) -> str:
    for option in controls()[name].options:
        label, v = option if isinstance(option, tuple) else (option, option)
        if v == value:
            return label
    raise KeyError(value)


def expected_runs(settings: widgets.Settings) -> tuple[experiments.NetworkRun, experiments.NetworkRun]:
    """(this run, the correct run) as course_lib makes them: the correct one straight from
    course_lib.experiments.train_network, the one with a bug from course_lib.widgets.run."""
    s = settings
    correct = experiments.train_network(s.dataset, depth=s.depth, width=s.width, activation=s.activation,
                                        init_scheme=s.init_scheme, init_scale=s.init_scale, optimizer=s.optimizer,
                                        lr=s.lr, weight_decay=s.weight_decay, steps=s.steps, seed=s.seed)
    return (correct if s.bug == widgets.NO_BUG else widgets.run(s).run), correct


class ExplorerView:
    """The explorer's widgets inside ``scope`` (a locator) of a page."""

    def __init__(self, page, scope):
        self.page, self.scope = page, scope
        self.figure = scope.locator(".explorer-figure")
        self.image = self.figure.locator("img.explorer-loss")
        self.regions = self.figure.locator("img.explorer-regions")
        self.readout = scope.locator(".explorer-readout")
        self.bug_note = scope.locator(".explorer-bug-note-box")

    def wait_until_shown(self) -> None:
        expect(self.image).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(self.regions).to_be_visible(timeout=LOAD_TIMEOUT)
        expect(self.readout).to_contain_text("final loss", timeout=LOAD_TIMEOUT)

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
        """The controls show ``settings``, the plots have been redrawn and described, and the
        table shows course_lib's numbers for ``settings``."""
        def expected(name, value):
            control = controls()[name]
            if hasattr(control, "options"):
                return option_label(name, value)
            # d3-format's ".3g" keeps trailing zeros ("1.00"): Python's "#.3g".
            return format(value, "#" + control.readout_format) if isinstance(value, float) else str(value)
        assert self.shown() == {name: expected(name, value) for name, value in asdict(settings).items()}
        run, correct = expected_runs(settings)
        bug = "no bug" if settings.bug == widgets.NO_BUG else f"bug: {settings.bug}"
        if old_src is not None:
            expect(self.image).not_to_have_attribute("src", old_src, timeout=REDRAW_TIMEOUT)
        for row, r in zip((1, 2), (run, correct)):
            cells = self.readout.locator("tr").nth(row).locator("td")
            expect(cells.nth(1)).to_have_text(f"{r.final_loss:.4g}", timeout=REDRAW_TIMEOUT)
            expect(cells.nth(2)).to_have_text(f"{r.final_accuracy:.1%}", timeout=REDRAW_TIMEOUT)
        expect(self.readout.locator("tr").nth(1).locator("td").nth(0)).to_contain_text(bug)
        self.expect_described(settings, run, correct)

    def expect_described(self, settings: widgets.Settings, run, correct) -> None:
        """Each plot's alt text is the explorer's description of these settings, and it carries the
        figures the plot shows: the first and last loss of each curve, the training accuracy."""
        loss_alt, regions_alt = widgets.explorer(**asdict(settings)).alt
        expect(self.image).to_have_attribute("alt", loss_alt, timeout=REDRAW_TIMEOUT)
        expect(self.regions).to_have_attribute("alt", regions_alt, timeout=REDRAW_TIMEOUT)
        for r in (run, correct):
            finite = [v for v in r.loss if v == v and abs(v) != float("inf")]
            assert f"from {finite[0]:#.3g} to {finite[-1]:#.3g}" in loss_alt or "same curve" in loss_alt
        assert f"{run.final_accuracy:.1%}" in regions_alt and settings.dataset in regions_alt

    def expect_labelled(self) -> None:
        """Every control shows its label (with its units, where it has some) and is named by it:
        a slider is a keyboard-operable ARIA slider whose accessible name is its label and whose
        value text is its readout, and shows its tooltip on its label; a list is a combobox named
        by its label."""
        for name, control in controls().items():
            element = self.control(name)
            expect(element).to_have_count(1)
            label = element.locator(".widget-label")
            expect(label).to_be_visible()
            expect(label).to_have_text(control.description)
            if isinstance(control, SLIDERS):
                handle = element.get_by_role("slider", name=control.description, exact=True)
                expect(handle).to_have_attribute("tabindex", "0")
                expect(handle).to_have_attribute("aria-valuetext", element.locator(".widget-readout").inner_text())
                expect(label).to_have_attribute("title", control.tooltip)
            else:
                expect(element.get_by_role("combobox", name=control.description, exact=True)).to_be_visible()

    def time_redraws(self, name: str, moves: int) -> list[float]:
        """Milliseconds from each key press on the slider ``name`` until its new plots are decoded and
        painted, measured on the page's clock: the kernel's retraining and drawing, the round trips
        and the browser's work. Each move is to settings not seen before, so nothing is cached."""
        self.figure.evaluate("""figure => {
            window.__keys = []; window.__redraws = [];
            window.addEventListener('keydown', e => window.__keys.push(e.timeStamp), true);
            // The figure widget replaces what it holds on every redraw: wait for both new pictures.
            const widget = figure.parentElement;
            new MutationObserver(() => Promise.all(
                [...widget.querySelectorAll('img')].map(img => img.decode().catch(() => {}))
            ).then(() => requestAnimationFrame(() => window.__redraws.push(performance.now()))
            )).observe(widget, {childList: true});
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


def test_new_controls_in_voila(voila, new_page):
    """The optimizer, weight decay, init scheme and depth controls, and the bug list past depth 2."""
    page, view = open_voila(voila, new_page)
    settings = widgets.Settings()
    view.expect_showing(settings, None)

    # A list: Adam; then the log slider five stops down (PageDown), to a rate Adam can use.
    for name, value in (("optimizer", "adam"), ("init_scheme", "lecun")):
        src = view.src()
        view.choose(name, value)
        settings = replace(settings, **{name: value})
        view.expect_showing(settings, src)
    src = view.src()
    view.move("lr", "PageDown")
    settings = replace(settings, lr=log_slider_value(view, "lr"))
    assert settings.lr == pytest.approx(10 ** -0.5)
    view.expect_showing(settings, src)

    # The weight-decay slider stops at fixed values: one step up, then the last stop (End).
    for key, value in (("ArrowRight", widgets.WEIGHT_DECAYS[1]), ("End", widgets.WEIGHT_DECAYS[-1])):
        src = view.src()
        view.move("weight_decay", key)
        settings = replace(settings, weight_decay=value)
        view.expect_showing(settings, src)

    # A bug with Adam at depth 2, then one layer more: the bug is taken out, the list disabled, and
    # the note says why; back at depth 2 the list works again and the note is gone.
    src = view.src()
    view.choose("bug", "missing_batch_average")
    settings = replace(settings, bug="missing_batch_average")
    view.expect_showing(settings, src)
    expect(view.bug_note).to_be_hidden()
    src = view.src()
    view.move("depth")
    settings = replace(settings, depth=3, bug=widgets.NO_BUG)
    view.expect_showing(settings, src)
    bug_list = view.control("bug").locator("select")
    expect(bug_list).to_be_disabled()
    expect(view.bug_note).to_be_visible()
    expect(view.bug_note).to_contain_text("Bug list off at depth 3")
    expect(view.bug_note).to_contain_text("The bug missing_batch_average was taken out")
    src = view.src()
    view.move("depth", "ArrowLeft")
    settings = replace(settings, depth=2)
    view.expect_showing(settings, src)
    expect(bug_list).to_be_enabled()
    expect(view.bug_note).to_be_hidden()
    assert page.log.errors == []


# Settings under which the seed slider is timed, and the keys and choices that get there.
TIMED = {
    "": (widgets.Settings(), []),
    ", depth 4": (widgets.Settings(depth=4), [("move", "depth", "ArrowRight")] * 2),
    ", depth 8": (widgets.Settings(depth=8), [("move", "depth", "End")]),
    ", depth 8, Adam": (widgets.Settings(depth=8, optimizer="adam"),
                        [("move", "depth", "End"), ("choose", "optimizer", "adam")] + [("move", "lr", "PageDown")] * 4),
}


@pytest.mark.parametrize("what", list(TIMED), ids=lambda w: w.strip(", ").replace(" ", "-") or "default")
def test_slider_to_redraw_time_in_voila(voila, new_page, measured, what):
    page, view = open_voila(voila, new_page)
    settings, actions = TIMED[what]
    for action, name, arg in actions:
        src = view.src()
        getattr(view, action)(name, arg)
        expect(view.image).not_to_have_attribute("src", src, timeout=REDRAW_TIMEOUT)
    settings = replace(settings, lr=log_slider_value(view, "lr"))  # 10 ** -2 after four PageDowns
    view.expect_showing(settings, None)
    measured[f"Voila: slider-to-redraw{what} (ms)"] = view.time_redraws("seed", TIMED_MOVES)
    view.expect_showing(replace(settings, seed=TIMED_MOVES), None)
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


def open_lab(lab, new_page):
    """Notebook 08 opened fresh in JupyterLab and run, as a student would: (page, the explorer's view)."""
    page = new_page()
    page.goto(f"{lab.url}/lab/tree/notebooks/08_explorer/loss_curve_explorer.ipynb?reset")
    panel = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
    expect(panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1, timeout=LOAD_TIMEOUT)
    run_all_cells(page, panel)
    view = ExplorerView(page, panel.locator(".jp-OutputArea-output").filter(has=page.locator(".course-explorer")))
    view.wait_until_shown()
    return page, view


def test_explorer_in_jupyterlab(lab, new_page, shots, measured):
    page, view = open_lab(lab, new_page)
    settings = widgets.Settings()
    view.expect_showing(settings, None)
    view.expect_labelled()

    # A log slider, an integer slider with a step of 10, the drop-down lists, old and new.
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
    # Timed where it always was (two layers, tanh, 190 steps), so that the figures compare.
    measured["JupyterLab: slider-to-redraw (ms)"] = view.time_redraws("seed", TIMED_MOVES)
    settings = replace(settings, seed=TIMED_MOVES)
    view.expect_showing(settings, None)

    for name, value in (("optimizer", "momentum"), ("init_scheme", "glorot")):
        src = view.src()
        view.choose(name, value)
        settings = replace(settings, **{name: value})
        view.expect_showing(settings, src)
    view.scope.scroll_into_view_if_needed()
    page.screenshot(path=shots / "explorer-lab.png")

    # Depth and weight decay, and the bug list that depth 3 switches off.
    for name, value in (("depth", 3), ("weight_decay", widgets.WEIGHT_DECAYS[1])):
        src = view.src()
        view.move(name)
        settings = replace(settings, **{name: value})
        view.expect_showing(settings, src)
    expect(view.control("bug").locator("select")).to_be_disabled()
    expect(view.bug_note).to_contain_text("Bug list off at depth 3")
