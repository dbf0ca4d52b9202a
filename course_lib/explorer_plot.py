"""The loss-curve explorer's picture (course_lib.widgets): two plots and the words that say what they show.

- :class:`ExplorerFigure` draws an :class:`course_lib.widgets.ExplorerResult` on one reused Agg
  figure and cuts it into two PNGs: the loss curves (left) and the decision regions (right).
- :func:`loss_alt` and :func:`regions_alt` describe each plot in a sentence with the figures it
  shows (where the loss starts and ends, how much of the plane each class gets), for readers who
  cannot see it; :func:`figure_html` puts each PNG in an ``<img>`` with that text as its alt.
"""
from __future__ import annotations

import base64
import html
import io

import matplotlib.colors
import matplotlib.ticker
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from . import plots

CLASSES = 3
MARKERS = "os^"
MARKER_NAMES = ("circles", "squares", "triangles")
COLOUR_NAMES = ("blue", "red", "green")   # plots._COLOURS[:3], in words
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "momentum", "adam": "Adam"}

_RUN_STYLE = dict(linestyle="-", color=plots._COLOURS[0], linewidth=2)
_CORRECT_STYLE = dict(linestyle="--", color=plots._COLOURS[1], linewidth=2)


def _log_ticks(low: float, high: float, most: int = 7) -> list[float]:
    """Ticks 1, 2, 5 times powers of ten between low and high, thinned to at most ``most``."""
    decades = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    for subs in ((1, 2, 5), (1, 3), (1,)):
        ticks = [m * 10.0 ** k for k in decades for m in subs if low <= m * 10.0 ** k <= high]
        if len(ticks) <= most:
            return ticks
    return ticks[:: -(-len(ticks) // most)]


def predict(net, X: np.ndarray) -> np.ndarray:
    """The class a trained :class:`course_lib.layers.Sequential` (logits out) gives each row of X: (N, 2) -> (N,)."""
    with np.errstate(all="ignore"):  # a diverged network's NaN logits give class 0, as argmax does
        logits, _ = net.forward(X)
    return logits.argmax(axis=1)


class ExplorerFigure:
    """One figure, drawn with Agg and reused for every redraw: the two loss curves (left, log
    scale) and the decision regions of the chosen run (right, on a coarse grid).

    A redraw repaints only what changes (blitting): the loss panel, and the regions and points
    of the right panel over a saved picture of that panel's frame. :meth:`draw` returns the
    two panels as separate PNGs, cut apart in the gap between them.
    """

    def __init__(self, figsize=(9.5, 3.8), dpi: int = 80, resolution: int = 48):
        self.resolution = resolution
        self.figure = Figure(figsize=figsize, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.loss_ax, self.region_ax = self.figure.subplots(1, 2, width_ratios=[1.3, 1])
        # Fixed margins: a layout engine would re-measure every label on every redraw.
        self.figure.subplots_adjust(left=0.1, right=0.98, bottom=0.14, top=0.9, wspace=0.25)
        ax = self.loss_ax
        (self.run_line,) = ax.plot([], [], label="this run", **_RUN_STYLE)
        (self.correct_line,) = ax.plot([], [], label="correct backward (no bug)", **_CORRECT_STYLE)
        ax.set_yscale("log")
        # Minor ticks and mathtext labels (10^k) cost half of a redraw; plain numbers read as well.
        ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.set_xlabel("training step")
        ax.set_ylabel("cross-entropy loss (log scale)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        ax = self.region_ax
        cmap = matplotlib.colors.ListedColormap(plots._COLOURS[:CLASSES])
        self.regions = ax.imshow(np.zeros((resolution, resolution)), origin="lower", cmap=cmap, alpha=0.3,
                                 vmin=-0.5, vmax=CLASSES - 0.5, interpolation="nearest", aspect="auto")
        self.points = [ax.scatter([], [], s=12, color=plots._COLOURS[c], marker=m, edgecolor="k", linewidth=0.3,
                                  label=f"class {c}") for c, m in zip(range(CLASSES), MARKERS)]
        for axis in (self.loss_ax.xaxis, ax.xaxis, ax.yaxis):
            # Every tick label is rendered text, the bulk of a redraw: a few are enough.
            axis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.set_xlabel("x1 (first input feature)")
        ax.set_ylabel("x2 (second input feature)")
        ax.set_title("Decision regions of this run after training")
        # The animated artists are left out of a full draw; draw() paints them over the saved background.
        self._dynamic = [self.loss_ax, self.regions, *self.points]
        for artist in self._dynamic:
            artist.set_animated(True)
        self._dataset = None
        self._background = None
        self.split = None     # the pixel column where the right panel's picture starts
        self.predicted = None  # (resolution, resolution): the class drawn at each cell of the grid

    def _set_data(self, X: np.ndarray, labels: np.ndarray) -> None:
        xx, yy, self._grid = plots.decision_grid(X, self.resolution)
        extent = (xx.min(), xx.max(), yy.min(), yy.max())
        self.regions.set_extent(extent)
        self.region_ax.set_xlim(extent[:2])
        self.region_ax.set_ylim(extent[2:])
        for c, points in enumerate(self.points):
            points.set_offsets(X[labels == c])
        # New limits, new ticks: save a fresh picture of everything that is not animated.
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        # Cut just left of everything the right panel draws (its tick labels and axis label).
        left_of_regions = self.region_ax.get_tightbbox(self.canvas.get_renderer()).x0
        self.split = int(np.floor(left_of_regions)) - 2
        assert self.split > self.loss_ax.bbox.x1, "the panels overlap: no column to cut the figure at"

    def draw(self, result) -> tuple[bytes, bytes]:
        """Show ``result`` (a :class:`course_lib.widgets.ExplorerResult`) and return the loss panel
        and the decision-region panel as PNG bytes."""
        s = result.settings
        if self._dataset != s.dataset:
            self._set_data(result.X, result.labels)
            self._dataset = s.dataset
        bug = "no bug" if s.bug == "none" else f"bug {s.bug}"
        self.run_line.set_data(np.arange(result.run.steps_run), result.run.loss)
        self.correct_line.set_data(np.arange(result.correct.steps_run), result.correct.loss)
        finite = np.array([v for v in result.run.loss + result.correct.loss if np.isfinite(v) and v > 0])
        low, high = (finite.min(), finite.max()) if finite.size else (0.1, 10.0)
        self.loss_ax.set_ylim(low / 1.5, high * 1.5)
        self.loss_ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(_log_ticks(low / 1.5, high * 1.5)))
        self.loss_ax.set_xlim(0, max(s.steps - 1, 1))
        self.loss_ax.set_title(f"Training loss, {OPTIMIZER_NAMES[s.optimizer]}, depth {s.depth}, {bug}")
        self.predicted = predict(result.run.net, self._grid).reshape(self.resolution, self.resolution)
        self.regions.set_data(self.predicted)
        self.canvas.restore_region(self._background)
        for artist in self._dynamic:
            self.figure.draw_artist(artist)
        pixels = np.asarray(self.canvas.buffer_rgba())
        return _png(pixels[:, :self.split]), _png(pixels[:, self.split:])


def _png(pixels: np.ndarray) -> bytes:
    """RGBA pixels (h, w, 4) as PNG bytes (fast compression: the image is never stored)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


# ------------------------------------------------------------------ the plots in words
def _curve(loss: tuple, steps: int) -> str:
    """What one loss curve does, in words: 'falls from 1.10 to 0.21', with where it stopped if it diverged."""
    finite = [v for v in loss if np.isfinite(v)]
    if not finite:
        return "is not a number from the first step: training stopped at once"
    first, last = finite[0], finite[-1]
    verb = "falls" if last < first else "rises" if last > first else "stays"
    text = f"{verb} from {first:#.3g} to {last:#.3g}" if verb != "stays" else f"stays at {first:#.3g}"
    lowest = int(np.argmin(finite))
    if finite[lowest] < 0.8 * last and 0 < lowest < len(finite) - 1:
        text += f" (lowest {finite[lowest]:#.3g}, at step {lowest})"
    if len(loss) < steps or not np.isfinite(loss[-1]):
        text += f", then becomes infinite or NaN at step {len(loss) - 1}, where training stopped (diverged)"
    return text


def loss_alt(result) -> str:
    """The loss panel in one or two sentences, with the numbers it shows."""
    s = result.settings
    what = (f"Loss curves, log scale, over {s.steps} training steps ({OPTIMIZER_NAMES[s.optimizer]}, "
            f"learning rate {s.lr:.3g}, depth {s.depth}): ")
    if s.bug == "none":
        return what + f"this run {_curve(result.run.loss, s.steps)}. No bug is injected, so the dashed correct run is the same curve."
    same = result.run.loss == result.correct.loss
    return (what + f"this run, with the bug {s.bug}, {_curve(result.run.loss, s.steps)}; the dashed correct run "
            + ("is exactly the same curve." if same else f"{_curve(result.correct.loss, s.steps)}."))


def regions_alt(result, predicted: np.ndarray) -> str:
    """The decision-region panel in words. predicted: the class drawn at each cell of the grid, any shape."""
    s = result.settings
    shares = np.bincount(np.ravel(predicted), minlength=CLASSES) / np.size(predicted)
    classes = ", ".join(f"class {c} ({COLOUR_NAMES[c]} {MARKER_NAMES[c]})" for c in range(CLASSES))
    plane = ", ".join(f"{c} on {shares[c]:.0%}" for c in range(CLASSES))
    return (f"Decision regions of this run after training, on the {s.dataset} data set: {len(result.labels)} "
            f"training points in {classes}. The network classifies {result.run.final_accuracy:.1%} of them "
            f"correctly; it shades the plane as class {plane}.")


def figure_html(loss_png: bytes, regions_png: bytes, loss_text: str, regions_text: str) -> str:
    """Both plots as ``<img>`` elements with their alt text (data: URLs: the page asks no server for them)."""
    images = []
    for png, alt, name in ((loss_png, loss_text, "loss"), (regions_png, regions_text, "regions")):
        width, height = Image.open(io.BytesIO(png)).size
        src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        images.append(f'<img class="explorer-{name}" src="{src}" width="{width}" height="{height}" '
                      f'alt="{html.escape(alt)}">')
    return f'<div class="explorer-figure" style="display: flex; flex-wrap: wrap;">{"".join(images)}</div>'
