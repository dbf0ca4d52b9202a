"""How long each solutions notebook takes to run top to bottom in a fresh kernel (python benchmarks/bench_notebooks.py).

The course's aim is under 20 s each on a 2-core machine. Reported, not asserted: the
test suite checks that they pass, this measures how long they take.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import notebooks  # noqa: E402
ROOT = Path(__file__).resolve().parent.parent


def main(repeats: int = 3) -> None:
    print(f"| notebook | median of {repeats} runs | slowest |\n|---|---|---|")
    for path in notebooks.course_notebooks(ROOT / "solutions"):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run = notebooks.execute(path)
            times.append(time.perf_counter() - start)
            if run.error:
                raise SystemExit(f"{path} failed at cell {run.error[0]}: {run.error[1]} {run.error[2]}")
        print(f"| {path.parent.name} | {statistics.median(times):.1f} s | {max(times):.1f} s |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
