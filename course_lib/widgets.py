"""An interactive explorer for training a small network on 2-D points (used by notebook 08).

The compute and the drawing are kept apart:

- :func:`run` ``(Settings) -> ExplorerResult`` trains the network with
  :func:`course_lib.experiments.train_network` (any depth, optimizer, weight decay and
  initialisation) and, when a bug from :data:`course_lib.bugs.CATALOGUE` is chosen, trains the
  same two-layer network again with that bug injected. It is a pure function of the settings,
  so tests compare it with course_lib.
- :class:`course_lib.explorer_plot.ExplorerFigure` draws a result as two PNGs, and
  :mod:`course_lib.explorer_plot` says in words what each shows (their alt text).
- :func:`explorer` builds the ipywidgets layout that wires the controls to both.
"""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from importlib import resources

import ipywidgets as widgets
import numpy as np

from . import bugs, data, experiments, init, train
from .activations import ACTIVATIONS
from .explorer_plot import OPTIMIZER_NAMES, ExplorerFigure, figure_html, loss_alt, regions_alt
from .losses import accuracy, cross_entropy
from .optim import OPTIMIZERS, make_optimizer

NO_BUG = "none"
DATASETS = ("spirals", "blobs")
POINTS_PER_CLASS = 60   # 3 classes: 180 points, small enough for a redraw well under 100 ms
DATA_SEED = 0
CLASSES = 3
BUG_DEPTH = 2           # the catalogued bugs break pieces of the two-layer network (course_lib.mlp)
DEPTHS = (2, 8)         # the depth slider's range, in Linear layers
INIT_SCHEMES = {"he": "He: 2 / d_in", "glorot": "Glorot: 2 / (d_in + d_out)", "lecun": "LeCun: 1 / d_in"}
WEIGHT_DECAYS = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


@dataclass(frozen=True)
class Settings:
    """Everything one training run depends on."""

    lr: float = 1.0             # learning rate
    width: int = 32             # units in each hidden layer
    init_scale: float = 1.0     # multiplies every initial weight (hidden: init_scheme; output: LeCun)
    steps: int = 200            # full-batch training steps
    seed: int = 0               # seed of the initial weights
    activation: str = "relu"    # one of course_lib.activations.ACTIVATIONS
    bug: str = NO_BUG           # NO_BUG or a name in course_lib.bugs.CATALOGUE (depth 2 only)
    dataset: str = "spirals"    # one of DATASETS
    optimizer: str = "sgd"      # one of course_lib.optim.OPTIMIZERS
    weight_decay: float = 0.0   # L2 coefficient lambda on the weights
    init_scheme: str = "he"     # one of INIT_SCHEMES, for the hidden layers' weights
    depth: int = 2              # Linear layers: depth - 1 hidden layers


@dataclass(frozen=True)
class ExplorerResult:
    """The run with the chosen bug and the correct run with the same other settings (the same
    object when no bug is chosen), as :class:`course_lib.experiments.NetworkRun`.
    X: (N, 2) and labels: (N,) are the data set both trained on."""

    settings: Settings
    run: experiments.NetworkRun
    correct: experiments.NetworkRun
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


def _train_with_bug(s: Settings) -> experiments.NetworkRun:
    """The two-layer network of ``s`` trained with the bug ``s.bug`` injected: the initial weights,
    optimizer and weight decay of :func:`course_lib.experiments.train_network`, the bug's
    forward and backward (:meth:`course_lib.bugs.Bug.network`), scored with the correct forward."""
    X, labels = dataset(s.dataset)
    net = init.stack([X.shape[1], s.width, CLASSES], s.activation, scheme=s.init_scheme, scale=s.init_scale,
                     seed=s.seed)
    first, _, last = net.layers
    # The layers' own arrays under course_lib.mlp's names: the optimizer's in-place steps train net.
    params = {"W1": first.params["W"], "b1": first.params["b"], "W2": last.params["W"], "b2": last.params["b"]}
    forward, backward = bugs.get(s.bug).network(s.activation)
    history = train.train(params, X, labels, steps=s.steps, forward=forward, backward=backward,
                          optimizer=make_optimizer(s.optimizer, s.lr), weight_decay=s.weight_decay)
    correct_forward, _ = train.sequential_network(net)
    with np.errstate(all="ignore"):
        Yhat, _ = correct_forward(net.named_params(), X)
        final_loss, final_accuracy = cross_entropy(Yhat, labels), accuracy(Yhat, labels)
    return experiments.NetworkRun(tuple(history.loss), tuple(history.accuracy), final_loss, final_accuracy, net,
                                  s.steps)


@lru_cache(maxsize=64)
def _train(s: Settings) -> experiments.NetworkRun:
    # Cached so that switching bugs retrains only the buggy run; results are made read-only.
    if s.bug == NO_BUG:
        result = experiments.train_network(s.dataset, depth=s.depth, width=s.width, activation=s.activation,
                                           init_scheme=s.init_scheme, init_scale=s.init_scale, optimizer=s.optimizer,
                                           lr=s.lr, weight_decay=s.weight_decay, steps=s.steps, seed=s.seed)
    else:
        result = _train_with_bug(s)
    for p in result.net.named_params().values():
        p.flags.writeable = False
    return result


def check(s: Settings) -> None:
    """Raise ValueError, naming the choices, for settings the explorer cannot train."""
    choices = {"activation": ACTIVATIONS, "dataset": DATASETS, "optimizer": OPTIMIZERS, "init_scheme": INIT_SCHEMES}
    for name, allowed in choices.items():
        if getattr(s, name) not in allowed:
            raise ValueError(f"unknown {name} {getattr(s, name)!r}; choose one of {sorted(allowed)}")
    if s.depth < 1:
        raise ValueError(f"depth counts Linear layers and must be at least 1, got {s.depth}")
    if s.bug != NO_BUG:
        bugs.get(s.bug)  # a clear error for an unknown name
        if s.depth != BUG_DEPTH:
            raise ValueError(f"the bug {s.bug} breaks a piece of the two-layer network, so it needs depth "
                             f"{BUG_DEPTH}, not {s.depth}")


def run(settings: Settings = Settings()) -> ExplorerResult:
    """Train with ``settings`` and, for comparison, with the same settings and no bug."""
    check(settings)
    correct = _train(replace(settings, bug=NO_BUG))
    chosen = correct if settings.bug == NO_BUG else _train(settings)
    X, labels = dataset(settings.dataset)
    return ExplorerResult(settings, chosen, correct, X, labels)


# ------------------------------------------------------------------ the table
def _run_row(name: str, r: experiments.NetworkRun) -> str:
    if r.diverged:
        status = f"diverged: training stopped at step {r.steps_run}, where its loss became inf or NaN"
    elif r.final_loss > r.loss[0]:
        status = f"{r.steps_run} steps; the loss went up"
    else:
        status = f"{r.steps_run} steps"
    return (f"<tr><td>{html.escape(name)}</td><td>{r.final_loss:.4g}</td><td>{r.final_accuracy:.1%}</td>"
            f"<td>{status}</td></tr>")


def network_text(s: Settings) -> str:
    """The network and its training in one line, e.g. '2 → 32 → 3 (depth 2), relu, He init × 1, SGD, η = 1, λ = 0'."""
    sizes = " → ".join(str(n) for n in [2] + [s.width] * (s.depth - 1) + [CLASSES])
    return (f"{sizes} (depth {s.depth}), {s.activation}, {INIT_SCHEMES[s.init_scheme].split(':')[0]} init "
            f"× {s.init_scale:.3g}, {OPTIMIZER_NAMES[s.optimizer]}, η = {s.lr:.3g}, λ = {s.weight_decay:g}, "
            f"{s.steps} steps, seed {s.seed}, {s.dataset}")


def readout_html(result: ExplorerResult) -> str:
    """The final loss and training accuracy of both runs, as an HTML table."""
    s = result.settings
    chosen = "this run (no bug)" if s.bug == NO_BUG else f"this run (bug: {s.bug})"
    note = ""
    if s.bug != NO_BUG:
        note = f"<p><b>Injected:</b> {html.escape(str(bugs.get(s.bug)))}</p>"
    return (f"<p>Trained network: {html.escape(network_text(s))}</p>"
            "<table><caption style='text-align: left'>Both runs after training</caption><tr><th scope='col'>run</th><th scope='col'>final loss</th><th scope='col'>training accuracy</th>"
            "<th scope='col'>training</th></tr>"
            f"{_run_row(chosen, result.run)}{_run_row('correct backward (no bug)', result.correct)}</table>{note}")


def bug_note_html(depth: int, removed: str | None = None) -> str:
    """Why the bug list is off at this depth (empty at depth 2, where it applies)."""
    if depth == BUG_DEPTH:
        return ""
    taken = f" The bug {html.escape(removed)} was taken out." if removed else ""
    return (f"<p class='explorer-bug-note'><b>Bug list off at depth {depth}.</b> The catalogued bugs break pieces "
            f"of the two-layer network (syllabus section 5), so they apply at depth {BUG_DEPTH} only: set the "
            f"depth to {BUG_DEPTH} to inject one.{taken}</p>")


# ------------------------------------------------------------------ controls
_STYLE = {"description_width": "170px"}
_LAYOUT = {"width": "400px"}   # two columns fit JupyterLab's notebook beside its file browser


def _controls(s: Settings) -> dict:
    common = dict(style=_STYLE, layout=_LAYOUT, continuous_update=False)
    lists = dict(style=_STYLE, layout=_LAYOUT)
    bug_options = [(NO_BUG, NO_BUG)] + [(f"{b.name} (section {b.section})", b.name) for b in bugs.CATALOGUE.values()]
    return {
        "lr": widgets.FloatLogSlider(value=s.lr, base=10, min=-3, max=1, step=0.1, readout_format=".3g",
                                     description="learning rate η", **common,
                                     tooltip="Step size of each update (log scale, no units): SGD moves by "
                                             "η times the gradient, Adam by about η per weight."),
        "width": widgets.IntSlider(value=s.width, min=1, max=64, description="hidden width (units)", **common,
                                   tooltip="Number of units in each hidden layer."),
        "init_scale": widgets.FloatLogSlider(value=s.init_scale, base=10, min=-2, max=1.5, step=0.1,
                                             readout_format=".3g", description="init scale (× std)", **common,
                                             tooltip="Multiplies every initial weight: the hidden layers' drawn "
                                                     "with the init scheme, the output layer's with LeCun's "
                                                     "N(0, 1/d_in); 1 is the standard (log scale)."),
        "steps": widgets.IntSlider(value=s.steps, min=10, max=300, step=10, description="training steps", **common,
                                   tooltip="Number of full-batch training steps."),
        "seed": widgets.IntSlider(value=s.seed, min=0, max=20, description="seed (initial weights)", **common,
                                  tooltip="Seed of the random initial weights; the data set stays the same."),
        "activation": widgets.Dropdown(value=s.activation, options=list(ACTIVATIONS), description="hidden activation φ",
                                       tooltip="The elementwise activation after each hidden layer.", **lists),
        "bug": widgets.Dropdown(value=s.bug, options=bug_options, description="bug injected (depth 2)",
                                tooltip="A bug from the catalogue (syllabus section 5) swapped into the two-layer "
                                        "network; the correct run is drawn beside it.", **lists),
        "dataset": widgets.Dropdown(value=s.dataset, options=list(DATASETS), description="data set",
                                    tooltip=f"2-D points in {CLASSES} classes, {POINTS_PER_CLASS} per class.", **lists),
        "optimizer": widgets.Dropdown(value=s.optimizer, description="optimizer",
                                      options=[("SGD", "sgd"), ("momentum (μ = 0.9)", "momentum"),
                                               ("Adam (β = 0.9, 0.999)", "adam")],
                                      tooltip="How each step uses the gradient: plain SGD, classical momentum, "
                                              "or Adam (course_lib.optim).", **lists),
        "weight_decay": widgets.SelectionSlider(value=s.weight_decay, options=[(f"{v:g}", v) for v in WEIGHT_DECAYS],
                                                description="weight decay λ", **common,
                                                tooltip="L2 penalty (λ/2)·Σ‖W‖² added to the loss: every step "
                                                        "also pulls the weights (not the biases) towards 0."),
        "init_scheme": widgets.Dropdown(value=s.init_scheme, description="init scheme (variance)",
                                        options=[(label, name) for name, label in INIT_SCHEMES.items()],
                                        tooltip="Variance of the hidden layers' initial weights "
                                                "(course_lib.init); the output layer always uses LeCun's.", **lists),
        "depth": widgets.IntSlider(value=s.depth, min=DEPTHS[0], max=DEPTHS[1], description="depth (Linear layers)",
                                   tooltip="Number of Linear layers: depth − 1 hidden layers of the same width.",
                                   **common),
    }


# The two columns of controls, top to bottom.
TRAINING = ("optimizer", "lr", "weight_decay", "steps", "seed", "dataset")
NETWORK = ("depth", "width", "activation", "init_scheme", "init_scale", "bug")


def accessibility_script() -> widgets.Output:
    """A hidden output that runs course_lib/explorer_a11y.js in the page: it names each slider of
    the explorer by its label (ipywidgets 8 leaves them nameless: jupyter-widgets/ipywidgets#2650)."""
    source = resources.files("course_lib").joinpath("explorer_a11y.js").read_text()
    out = widgets.Output(layout={"display": "none"})
    out.outputs = ({"output_type": "display_data", "metadata": {},
                    "data": {"application/javascript": source, "text/plain": ""}},)
    return out


class Explorer(widgets.VBox):
    """The explorer's layout. ``controls`` maps each :class:`Settings` field to its widget;
    every change retrains (:func:`run`), redraws ``plot`` into ``figure`` (two ``<img>`` with
    alt text) and rewrites ``readout``. At depths other than 2 the bug list is disabled and
    ``bug_note`` says why."""

    def __init__(self, settings: Settings = Settings()):
        super().__init__()
        check(settings)
        self.add_class("course-explorer")
        self.controls = _controls(settings)
        self.bug_note = widgets.HTML(layout=_LAYOUT)
        self.bug_note.add_class("explorer-bug-note-box")
        self.controls["bug"].add_class("explorer-bug-list")
        self.plot = ExplorerFigure()
        self.figure = widgets.HTML()
        self.readout = widgets.HTML()
        self.readout.add_class("explorer-readout")
        columns = [widgets.VBox([widgets.HTML(f"<h2 style='font-size: 1.2em; margin: 0.4em 0'>{title}</h2>")]
                                + [self.controls[n] for n in names] + extra)
                   for title, names, extra in (("Training", TRAINING, []), ("Network", NETWORK, [self.bug_note]))]
        self.children = [widgets.HBox(columns), self.figure, self.readout, accessibility_script()]
        self._quiet, self._removed_bug = False, None
        self._sync_bug_list()
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.update()

    @property
    def settings(self) -> Settings:
        return Settings(**{name: control.value for name, control in self.controls.items()})

    def _sync_bug_list(self) -> None:
        """Enable the bug list at depth 2; elsewhere take any bug out, disable the list and say why."""
        depth, bug = self.controls["depth"].value, self.controls["bug"]
        if depth == BUG_DEPTH:
            self._removed_bug = None
        elif bug.value != NO_BUG:
            self._removed_bug = bug.value
            self._quiet = True  # one retrain for the depth change, not another for the bug's
            try:
                bug.value = NO_BUG
            finally:
                self._quiet = False
        bug.disabled = depth != BUG_DEPTH
        self.bug_note.value = bug_note_html(depth, self._removed_bug)

    def _changed(self, change) -> None:
        if self._quiet:
            return
        if change["owner"] is self.controls["depth"]:
            self._sync_bug_list()
        self.update()

    def update(self) -> None:
        """Retrain for the current controls and redraw."""
        self.result = run(self.settings)
        loss_png, regions_png = self.plot.draw(self.result)
        self.alt = (loss_alt(self.result), regions_alt(self.result, self.plot.predicted))
        self.figure.value = figure_html(loss_png, regions_png, *self.alt)
        self.readout.value = readout_html(self.result)


def explorer(**settings) -> Explorer:
    """The explorer, starting from the default :class:`Settings` with ``settings`` overriding them."""
    unknown = set(settings) - set(asdict(Settings()))
    if unknown:
        raise TypeError(f"unknown settings {sorted(unknown)}; the settings are {list(asdict(Settings()))}")
    return Explorer(Settings(**settings))
