"""Make the README's pictures of the course: `make screenshots`.

The browser tests (tests/browser) take them in headless Chromium against the real servers
(`make lab`, `make explorer`) while they check what the pictures show; this script runs those
tests with their screenshots going to docs/images/. The timings measured on the way (slider to
redraw, kernel shutdown) are written beside them, to docs/images/measurements.json.

    make screenshots            # or: .venv/bin/python docs/make_screenshots.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"

PICTURES = {
    "lab-first-test-passes.png": "JupyterLab: notebook 01, a correct `layer_shapes` typed into the first stub, "
                                 "its visible test passes (✔)",
    "lab-first-test-feedback.png": "JupyterLab: the same test after a wrong `layer_shapes` (W1 transposed): "
                                   "the message names the key, the expected and the returned shape, and why",
    "lab-validate.png": "JupyterLab: the nbgrader Validate button's report (the first exercise passes, "
                        "the next one is still the stub)",
    "lab-formgrader.png": "JupyterLab: the formgrader (Nbgrader → Formgrader) listing the course's assignments",
    "explorer-voila.png": "The loss-curve explorer as a web app (Voilà, `make explorer`): sliders, plots and "
                          "readout, no code",
    "explorer-voila-bug.png": "The explorer with the bug `missing_batch_average` injected: the buggy run (solid) "
                              "against the correct one (dashed)",
    "explorer-lab.png": "The explorer inside notebook 08 in JupyterLab",
}


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    start = time.time()
    # CI=true: a browser test that cannot run fails instead of skipping, so that no picture is
    # silently left stale.
    env = {**os.environ, "BROWSER_SCREENSHOTS": str(IMAGES), "CI": "true"}
    code = subprocess.call([sys.executable, "-m", "pytest", "tests/browser", "-q", "-p", "no:cacheprovider"],
                           cwd=ROOT, env=env)
    stale = [name for name in PICTURES if not (IMAGES / name).exists() or (IMAGES / name).stat().st_mtime < start]
    if code or stale:
        print(f"make_screenshots: the browser tests failed (exit {code}); not updated: {stale}", file=sys.stderr)
        return code or 1
    for name, what in PICTURES.items():
        print(f"docs/images/{name}: {what}")
    measurements = IMAGES / "measurements.json"
    if measurements.exists():
        for what, numbers in json.loads(measurements.read_text()).items():
            print(f"{what}: median {numbers['median']:g} (min {numbers['min']:g}, max {numbers['max']:g}, "
                  f"n={numbers['n']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
