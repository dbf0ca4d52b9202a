"""Running nbgrader with the course configuration from any working directory."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "grader" / "nbgrader_config"  # nbgrader wants the path without ".py"


def env() -> dict:
    """The environment nbgrader needs: this interpreter's bin first on PATH (nbgrader
    runs the `alembic` command from there to create its database)."""
    e = dict(os.environ)
    e["PATH"] = str(Path(sys.executable).parent) + os.pathsep + e.get("PATH", "")
    return e


def nbgrader(*args: str, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` with the course configuration."""
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--NbGrader.config_file={CONFIG}"]
    return subprocess.run(cmd, cwd=ROOT, env=env(), check=check, text=True,
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None)
