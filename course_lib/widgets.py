"""An interactive explorer for training the two-layer network (used by notebook 08).

The compute and the drawing are kept apart:

- :func:`run` ``(Settings) -> ExplorerResult`` trains the network of
  :mod:`course_lib.mlp` with :func:`course_lib.train.train`, once with the chosen
  bug from :data:`course_lib.bugs.CATALOGUE` injected and once without it.
  It is a pure function of the settings, so tests compare it with course_lib.
- :class:`ExplorerFigure` draws a result on one reused Agg figure and returns PNG bytes.
- :func:`explorer` builds the ipywidgets layout that wires the controls to both.
"""
from __future__ import annotations

import html
import io
from dataclasses import asdict, dataclass, replace
from functools import lru_cache

import ipywidgets as widgets
import matplotlib.colors
import matplotlib.ticker
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from . import bugs, data, mlp, plots, train
from .activations import ACTIVATIONS
from .losses import accuracy, cross_entropy

NO_BUG = "none"
DATASETS = ("spirals", "blobs")
POINTS_PER_CLASS = 60   # 3 classes: 180 points, small enough for a redraw well under 100 ms
DATA_SEED = 0
CLASSES = 3


@dataclass(frozen=True)
class Settings:
    """Everything one training run depends on."""

    lr: float = 1.0             # learning rate of full-batch gradient descent
    width: int = 32             # hidden units d1
    init_scale: float = 1.0     # multiplies the He (W1) / LeCun (W2) initial weights
    steps: int = 200            # gradient descent steps
    seed: int = 0               # seed of the initial weights
    activation: str = "relu"    # one of course_lib.activations.ACTIVATIONS
    bug: str = NO_BUG           # NO_BUG or a name in course_lib.bugs.CATALOGUE
    dataset: str = "spirals"    # one of DATASETS


@dataclass(frozen=True)
class RunResult:
    """One training run.

    ``loss`` and ``accuracy`` are the per-step records of :class:`course_lib.train.History`
    (measured before each update, by the forward pass that trained). ``final_loss`` and
    ``final_accuracy`` score the trained parameters with the correct forward pass on the
    whole data set. ``params`` are the trained parameters (read-only arrays).
    """

    bug: str
    loss: tuple
    accuracy: tuple
    final_loss: float
    final_accuracy: float
    params: dict
    steps: int

    @property
    def steps_run(self) -> int:
        return len(self.loss)

    @property
    def diverged(self) -> bool:
        """The loss became inf or NaN (training stops there)."""
        return self.steps_run < self.steps or not np.isfinite(self.final_loss)


@dataclass(frozen=True)
class ExplorerResult:
    """The run with the chosen bug and the correct run with the same other settings.
    X: (N, 2) and labels: (N,) are the data set both trained on."""

    settings: Settings
    run: RunResult
    correct: RunResult
    X: np.ndarray
    labels: np.ndarray


@lru_cache(maxsize=None)
def dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The explorer's data set ``name``: X: (N, 2), labels: (N,), read-only."""
    if name == "spirals":
        X, labels = data.spirals(n_per_class=POINTS_PER_CLASS, classes=CLASSES, seed=DATA_SEED)
    elif name == "blobs":
        X, labels = data.blobs(n_per_class=POINTS_PER_CLASS, classes=CLASSES, seed=DATA_SEED)
    else:
        raise ValueError(f"unknown data set {name!r}; choose one of {DATASETS}")
    X.flags.writeable = labels.flags.writeable = False
    return X, labels


@lru_cache(maxsize=64)
def _train(settings: Settings) -> RunResult:
    # Cached so that switching bugs retrains only the buggy run; results are immutable.
    X, labels = dataset(settings.dataset)
    params = mlp.init_params(X.shape[1], settings.width, CLASSES, seed=settings.seed, scale=settings.init_scale)
    if settings.bug == NO_BUG:
        history = train.train(params, X, labels, lr=settings.lr, steps=settings.steps,
                              ops=mlp.reference_ops(settings.activation))
    else:
        forward, backward = bugs.get(settings.bug).network(settings.activation)
        history = train.train(params, X, labels, lr=settings.lr, steps=settings.steps,
                              forward=forward, backward=backward)
    with np.errstate(all="ignore"):
        Yhat, _ = mlp.forward(params, X, mlp.reference_ops(settings.activation))
        final_loss, final_accuracy = cross_entropy(Yhat, labels), accuracy(Yhat, labels)
    for p in params.values():
        p.flags.writeable = False
    return RunResult(settings.bug, tuple(history.loss), tuple(history.accuracy), final_loss, final_accuracy,
                     params, settings.steps)


def run(settings: Settings = Settings()) -> ExplorerResult:
    """Train with ``settings`` and, for comparison, with the same settings and no bug."""
    if settings.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {settings.activation!r}; choose one of {sorted(ACTIVATIONS)}")
    if settings.bug != NO_BUG:
        bugs.get(settings.bug)  # a clear error for an unknown name
    correct = _train(replace(settings, bug=NO_BUG))
    chosen = correct if settings.bug == NO_BUG else _train(settings)
    X, labels = dataset(settings.dataset)
    return ExplorerResult(settings, chosen, correct, X, labels)


# ------------------------------------------------------------------ drawing
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


class ExplorerFigure:
    """One figure, drawn with Agg and reused for every redraw: the two loss curves
    (left, log scale) and the decision regions of the chosen run (right, on a coarse grid).

    A redraw repaints only what changes (blitting): the loss panel, and the regions,
    points and title of the right panel over a saved picture of that panel's frame.
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
        ax.set_xlabel("gradient descent step")
        ax.set_ylabel("cross-entropy loss (log scale)")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        ax = self.region_ax
        cmap = matplotlib.colors.ListedColormap(plots._COLOURS[:CLASSES])
        self.regions = ax.imshow(np.zeros((resolution, resolution)), origin="lower", cmap=cmap, alpha=0.3,
                                 vmin=-0.5, vmax=CLASSES - 0.5, interpolation="nearest", aspect="auto")
        self.points = [ax.scatter([], [], s=12, color=plots._COLOURS[c], marker=m, edgecolor="k", linewidth=0.3,
                                  label=f"class {c}") for c, m in zip(range(CLASSES), "os^")]
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

    def draw(self, result: ExplorerResult) -> bytes:
        """Show ``result`` and return the figure as PNG bytes."""
        s = result.settings
        if self._dataset != s.dataset:
            self._set_data(result.X, result.labels)
            self._dataset = s.dataset
        bug = "no bug" if s.bug == NO_BUG else f"bug {s.bug}"
        self.run_line.set_data(np.arange(result.run.steps_run), result.run.loss)
        self.correct_line.set_data(np.arange(result.correct.steps_run), result.correct.loss)
        finite = np.array([v for v in result.run.loss + result.correct.loss if np.isfinite(v) and v > 0])
        low, high = (finite.min(), finite.max()) if finite.size else (0.1, 10.0)
        self.loss_ax.set_ylim(low / 1.5, high * 1.5)
        self.loss_ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator(_log_ticks(low / 1.5, high * 1.5)))
        self.loss_ax.set_xlim(0, max(s.steps - 1, 1))
        self.loss_ax.set_title(f"Training loss, {bug}")
        with np.errstate(all="ignore"):
            predicted = mlp.predict(result.run.params, self._grid, mlp.reference_ops(s.activation))
        self.regions.set_data(predicted.reshape(self.resolution, self.resolution))
        self.canvas.restore_region(self._background)
        for artist in self._dynamic:
            self.figure.draw_artist(artist)
        return self.png()

    def png(self) -> bytes:
        """The canvas as it stands, as PNG bytes (fast compression: the image is never stored)."""
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(self.canvas.buffer_rgba())).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


def _run_row(name: str, r: RunResult) -> str:
    if r.diverged:
        status = f"diverged: training stopped at step {r.steps_run}, where its loss became inf or NaN"
    elif r.final_loss > r.loss[0]:
        status = f"{r.steps_run} steps; the loss went up"
    else:
        status = f"{r.steps_run} steps"
    return (f"<tr><td>{html.escape(name)}</td><td>{r.final_loss:.4g}</td><td>{r.final_accuracy:.1%}</td>"
            f"<td>{status}</td></tr>")


def readout_html(result: ExplorerResult) -> str:
    """The final loss and training accuracy of both runs, as an HTML table."""
    s = result.settings
    chosen = "this run (no bug)" if s.bug == NO_BUG else f"this run (bug: {s.bug})"
    note = ""
    if s.bug != NO_BUG:
        note = f"<p><b>Injected:</b> {html.escape(str(bugs.get(s.bug)))}</p>"
    return ("<table><tr><th>run</th><th>final loss</th><th>training accuracy</th><th>training</th></tr>"
            f"{_run_row(chosen, result.run)}{_run_row('correct backward (no bug)', result.correct)}</table>{note}")


# ------------------------------------------------------------------ controls
_STYLE = {"description_width": "190px"}
_LAYOUT = {"width": "430px"}


def _controls(s: Settings) -> dict:
    common = dict(style=_STYLE, layout=_LAYOUT, continuous_update=False)
    bug_options = [(NO_BUG, NO_BUG)] + [(f"{b.name} (section {b.section})", b.name) for b in bugs.CATALOGUE.values()]
    return {
        "lr": widgets.FloatLogSlider(value=s.lr, base=10, min=-3, max=1, step=0.1, readout_format=".3g",
                                     description="learning rate η", **common,
                                     tooltip="Step size of gradient descent, θ ← θ − η·∇L (log scale, no units)."),
        "width": widgets.IntSlider(value=s.width, min=1, max=64, description="hidden width (neurons)", **common,
                                   tooltip="Number of hidden units d1 of the two-layer network."),
        "init_scale": widgets.FloatLogSlider(value=s.init_scale, base=10, min=-2, max=1.5, step=0.1,
                                             readout_format=".3g", description="init scale (× He std)", **common,
                                             tooltip="Multiplies the standard initial weights (He for W1, "
                                                     "LeCun for W2, which the syllabus calls Xavier-like); "
                                                     "1 is the standard (log scale)."),
        "steps": widgets.IntSlider(value=s.steps, min=10, max=300, step=10, description="training steps", **common,
                                   tooltip="Number of full-batch gradient descent steps."),
        "seed": widgets.IntSlider(value=s.seed, min=0, max=20, description="seed (initial weights)", **common,
                                  tooltip="Seed of the random initial weights; the data set stays the same."),
        "activation": widgets.Dropdown(value=s.activation, options=list(ACTIVATIONS), style=_STYLE, layout=_LAYOUT,
                                       description="hidden activation φ",
                                       tooltip="The elementwise activation between the two layers."),
        "bug": widgets.Dropdown(value=s.bug, options=bug_options, style=_STYLE, layout=_LAYOUT,
                                description="bug injected in backward",
                                tooltip="A bug from the catalogue (syllabus section 5) swapped into the network; "
                                        "the correct run is drawn beside it."),
        "dataset": widgets.Dropdown(value=s.dataset, options=list(DATASETS), style=_STYLE, layout=_LAYOUT,
                                    description="data set",
                                    tooltip=f"2-D points in {CLASSES} classes, {POINTS_PER_CLASS} per class."),
    }


class Explorer(widgets.VBox):
    """The explorer's layout. ``controls`` maps each :class:`Settings` field to its widget;
    every change retrains (:func:`run`), redraws ``plot`` into ``image`` and rewrites ``readout``."""

    def __init__(self, settings: Settings = Settings()):
        super().__init__()
        self.controls = _controls(settings)
        self.plot = ExplorerFigure()
        self.image = widgets.Image(format="png")
        self.readout = widgets.HTML()
        names = list(self.controls)
        left = widgets.VBox([self.controls[n] for n in names[:4]])
        right = widgets.VBox([self.controls[n] for n in names[4:]])
        self.children = [widgets.HBox([left, right]), self.image, self.readout]
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.update()

    @property
    def settings(self) -> Settings:
        return Settings(**{name: control.value for name, control in self.controls.items()})

    def _changed(self, _change) -> None:
        self.update()

    def update(self) -> None:
        """Retrain for the current controls and redraw."""
        self.result = run(self.settings)
        self.image.value = self.plot.draw(self.result)
        self.readout.value = readout_html(self.result)


def explorer(**settings) -> Explorer:
    """The explorer, starting from the default :class:`Settings` with ``settings`` overriding them."""
    unknown = set(settings) - set(asdict(Settings()))
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; the settings are {list(asdict(Settings()))}")
    return Explorer(Settings(**settings))
