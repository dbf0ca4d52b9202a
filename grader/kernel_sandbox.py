"""The kernel nbgrader runs a student's notebook in, started inside bubblewrap.

nbgrader starts kernels from a kernelspec whose command is `python -m grader.kernel_sandbox -f
{connection_file} ...`; this wrapper runs the usual ipykernel with the grader's folders hidden
(COURSE_GRADER_HIDE, os.pathsep-separated), the rest of the file system read-only, and an empty
scratch folder as its working directory. The network stays shared: the kernel talks to nbgrader
over the loopback interface.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from .remote import bwrap_command, sandbox_available

NAME = "course-sandboxed"


def write_kernelspec(share: Path) -> Path:
    """Install the kernelspec under ``share``/kernels (put ``share`` on JUPYTER_PATH)."""
    spec = share / "kernels" / NAME
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "grader.kernel_sandbox", "-f", "{connection_file}"],
        "display_name": "Python 3 (sandboxed for grading)", "language": "python"}))
    return spec


def main(argv: list[str]) -> None:
    connection = Path(argv[argv.index("-f") + 1]).resolve()
    kernel = [sys.executable, "-m", "ipykernel_launcher", *argv]
    if not sandbox_available():
        os.execv(kernel[0], kernel)
    hide = [p for p in os.environ.get("COURSE_GRADER_HIDE", "").split(os.pathsep) if p]
    scratch = Path(tempfile.mkdtemp(prefix="kernel-", dir=os.environ.get("COURSE_GRADER_SCRATCH") or None))
    # Only the connection file itself: its folder may be /tmp, which would expose the workspace.
    cmd = bwrap_command(kernel, hide, scratch, share_net=True, extra_ro=[(connection, connection)])
    os.execvp(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
