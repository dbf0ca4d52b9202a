"""How long the loss-curve explorer (course_lib.widgets) takes to redraw after a slider moves.

A redraw is everything a change triggers: retraining (course_lib.widgets.run), drawing the
two plots to PNG and describing them (their alt text). The script moves the sliders 20 times
around the default settings and prints the median, with no bug, with a bug injected (which
trains twice: the buggy run and the correct one), and then at depth 4 and 8 (SGD, then Adam).
The target is a median under 100 ms for the default settings.

    .venv/bin/python benchmarks/bench_explorer.py
"""
from __future__ import annotations

import statistics
import time

from course_lib import widgets
from course_lib.explorer_plot import figure_html, loss_alt, regions_alt

# 20 slider moves near the defaults (lr 1.0, width 32, init scale 1, 200 steps, seed 0).
CHANGES = [("lr", 0.5), ("width", 48), ("seed", 1), ("init_scale", 0.5), ("steps", 250),
           ("lr", 2.0), ("width", 16), ("seed", 2), ("init_scale", 2.0), ("steps", 150),
           ("lr", 0.2), ("width", 64), ("seed", 3), ("init_scale", 1.0), ("steps", 300),
           ("lr", 1.0), ("width", 32), ("seed", 4), ("init_scale", 0.7), ("steps", 200)]


def time_changes(explorer: widgets.Explorer) -> tuple[list[float], list[float], list[float]]:
    """Seconds per redraw, and the compute and draw parts of the same settings measured alone."""
    redraw, compute, draw = [], [], []
    for name, value in CHANGES:
        widgets._train.cache_clear()  # every change retrains, as it would for settings never seen
        start = time.perf_counter()
        explorer.controls[name].value = value  # the observer retrains and redraws synchronously
        redraw.append(time.perf_counter() - start)
        widgets._train.cache_clear()
        start = time.perf_counter()
        result = widgets.run(explorer.settings)
        compute.append(time.perf_counter() - start)
        start = time.perf_counter()
        loss_png, regions_png = explorer.plot.draw(result)
        figure_html(loss_png, regions_png, loss_alt(result), regions_alt(result, explorer.plot.predicted))
        draw.append(time.perf_counter() - start)
    return redraw, compute, draw


def report(label: str, times: tuple[list[float], list[float], list[float]]) -> float:
    redraw, compute, draw = (1000 * statistics.median(t) for t in times)
    print(f"{label:<34} median redraw {redraw:6.1f} ms  (train {compute:5.1f} ms + draw {draw:5.1f} ms), "
          f"slowest {1000 * max(times[0]):.1f} ms over {len(times[0])} changes")
    return redraw


def main() -> None:
    explorer = widgets.explorer()
    time_changes(explorer)  # warm-up: imports, font cache, first full draw
    median = report("default settings, no bug", time_changes(explorer))
    explorer.controls["bug"].value = "missing_batch_average"
    report("bug missing_batch_average", time_changes(explorer))
    explorer.controls["bug"].value = widgets.NO_BUG
    for depth in (4, 8):
        explorer.controls["depth"].value = depth
        report(f"depth {depth}, SGD", time_changes(explorer))
    explorer.controls["optimizer"].value = "adam"
    report("depth 8, Adam", time_changes(explorer))
    print(f"target: median under 100 ms for the default settings -> {'met' if median < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
