"""Building the Gradescope autograder zip: `course-grader gradescope --out autograder.zip`.

Layout of the zip (its root is /autograder/source on Gradescope):

  setup.sh          Gradescope runs it once, as root, on its Ubuntu image: apt packages, a Python
                    >= 3.11, a virtual environment with the course's wheel, then the permissions
  run_autograder    Gradescope runs it for every submission: one line, grader.gradescope.run
  config.json       the grading options chosen here (time and memory limits, visibility, isolation)
  secret            the key the hidden checks' seeds derive from, made here (root-only there)
  specs/A/N.json    the grading spec of each notebook graded (no hidden test source in them)
  wheels/*.whl      this course, built from its checkout
  constraints.txt   the versions of every dependency this grader ran with here
"""
from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
DISTRIBUTION = "backprop-from-scratch"

# Gradescope's paths are the defaults; the variables exist so that the same scripts can be run in a
# directory laid out the same way (tests/test_gradescope.py), never to be set on Gradescope itself.
SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (made by
# `course-grader gradescope`). It installs the course's grader into a virtual environment that every
# user can read (where bubblewrap is refused, student code runs as an unprivileged uid and needs the
# same Python), then makes the course's own code and this folder readable by root only.
set -euo pipefail
umask 022
SOURCE="${COURSE_GRADER_AUTOGRADER:-/autograder}/source"
VENV="${COURSE_GRADER_VENV:-/opt/course-grader/venv}"
APT="${COURSE_GRADER_APT:-1}"

if [ "$APT" = 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # bubblewrap and libseccomp: the sandbox and its system call filter; util-linux: prlimit.
    apt-get install -y --no-install-recommends bubblewrap libseccomp2 util-linux ca-certificates
fi

pick_python() {
    for p in python3.13 python3.12 python3.11 python3; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$p"; return 0
        fi
    done
    return 0
}
PYTHON="${COURSE_GRADER_PYTHON:-$(pick_python)}"
if [ ! -x "$VENV/bin/python" ]; then
    if [ -z "$PYTHON" ] && [ "$APT" = 1 ]; then
        # Ubuntu 22.04's python3 is 3.10; its universe has python3.11 (24.04's python3 is 3.12).
        apt-get install -y --no-install-recommends python3.11 python3.11-venv || true
        PYTHON="$(pick_python)"
    fi
    if [ -z "$PYTHON" ]; then
        echo "setup.sh: no Python 3.11 or newer was found or could be installed; set COURSE_GRADER_PYTHON" >&2
        exit 1
    fi
    if [ "$APT" = 1 ]; then   # ensurepip comes in a package of its own on Debian and Ubuntu
        v="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        apt-get install -y --no-install-recommends "python$v-venv" || true
    fi
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check --constraint "$SOURCE/constraints.txt" "$SOURCE"/wheels/*.whl

# Student code never imports the real course_lib or grader (it gets a copy without the reference
# code): readable by root only, like the autograder's own folder with the secret and the specs.
"$VENV/bin/python" -I - <<'EOF'
import os, course_lib, grader
for module in (course_lib, grader):
    os.chmod(os.path.dirname(os.path.abspath(module.__file__)), 0o700)
EOF
chmod 0700 "$SOURCE"
chmod 0600 "$SOURCE/secret"
# What isolation this image gives student code (shown in the build log; every run checks again).
"$VENV/bin/python" -I -m grader.gradescope.run --check || true
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in /autograder (made by `course-grader gradescope`).
exec "${COURSE_GRADER_VENV:-/opt/course-grader/venv}/bin/python" -I -m grader.gradescope.run "$@"
"""


def _wheel(course_root: Path, dest: Path) -> Path:
    if not (course_root / "pyproject.toml").exists():
        raise SystemExit(f"course-grader gradescope: {course_root} has no pyproject.toml; build the autograder from "
                         "a checkout of the course (it puts the course's wheel into the zip)")
    # Built from a copy of what the wheel is made of: setuptools' build/ and *.egg-info stay out of the
    # instructor's checkout, and nothing else of it (a workspace, the demo class) can slip in.
    tree = dest / "source"
    tree.mkdir()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "work", "submissions", ".ipynb_checkpoints")
    for name in ("pyproject.toml", "README.md", "LICENSE", "setup.cfg", "MANIFEST.in"):
        if (course_root / name).exists():
            shutil.copy(course_root / name, tree / name)
    for package in ("course_lib", "grader"):
        shutil.copytree(course_root / package, tree / package, ignore=skip)
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dest), str(tree)],
                         capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if run.returncode != 0 or len(wheels) != 1:
        raise SystemExit(f"course-grader gradescope: the course's wheel could not be built:\n{run.stderr[-3000:]}")
    return wheels[0]


def pins(distribution: str = DISTRIBUTION) -> list[str]:
    """``name==version`` for every package the course needs (its dependencies, and theirs), as
    installed here: Gradescope then installs what this grader was run with, not whatever is newest."""
    import importlib.metadata as md

    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    env = {**default_environment(), "extra": ""}
    seen: dict = {}
    todo = [distribution]
    while todo:
        name = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        key = canonicalize_name(dist.metadata["Name"])
        if key in seen:
            continue
        seen[key] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(req.name)
    seen.pop(canonicalize_name(distribution), None)
    return [f"{k}=={v}" for k, v in sorted(seen.items())]


def _add(zf: zipfile.ZipFile, name: str, data: bytes | str, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build(course, ws, out: Path, *, assignments: list | None = None, timeout: int = 30, memory_mb: int = 2048,
          visibility: str = "visible", isolation: str = "auto", secret_file: Path | None = None,
          minutes: int | None = None) -> dict:
    """Write the autograder zip to ``out``; returns what went into it."""
    from ..engine import prepare
    from ..sandbox.launch import ISOLATIONS

    if visibility not in VISIBILITIES:
        raise SystemExit(f"course-grader gradescope: --visibility must be one of {', '.join(VISIBILITIES)}")
    if isolation not in ISOLATIONS:
        raise SystemExit(f"course-grader gradescope: --isolation must be one of {', '.join(ISOLATIONS)}")
    specs = prepare(ws.create(), course)
    known = sorted({a for a, _ in specs})
    unknown = [a for a in assignments or [] if a not in known]
    if unknown:
        raise SystemExit(f"course-grader gradescope: unknown assignment(s) {unknown}; the graded ones are {known}")
    chosen = {k: s for k, s in specs.items() if not assignments or k[0] in assignments}
    secret = secret_file.read_text().strip() if secret_file else secrets.token_hex(32)
    config = {"version": 1, "assignments": sorted({a for a, _ in chosen}), "timeout": timeout, "memory_mb": memory_mb,
              "visibility": visibility, "isolation": isolation, "course_fingerprint": course.fingerprint(),
              "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              # every notebook of the course by its test cells, to recognise one of another assignment
              "notebooks": {f"{a}/{n}": [e.grade_id for e in s.exercises] for (a, n), s in sorted(specs.items())}}
    config["watchdog_seconds"] = {f"{a}/{n}": worst_case_seconds(s, timeout) for (a, n), s in sorted(chosen.items())}
    # Gradescope's autograder timeout as the instructor sets it: run_autograder writes results.json before it
    # ends, grading no notebook past it (past it, Gradescope gives 0 and shows no results).
    needed = submission_minutes(chosen, timeout)
    config["minutes_needed"] = needed
    config["budget_seconds"] = 60 * (minutes or min(needed, GRADESCOPE_MAX_MINUTES))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = _wheel(course.root, Path(tmp))
        partial = out.with_name(out.name + ".part")
        with zipfile.ZipFile(partial, "w") as zf:
            _add(zf, "setup.sh", SETUP_SH, 0o755)
            _add(zf, "run_autograder", RUN_AUTOGRADER, 0o755)
            _add(zf, "config.json", json.dumps(config, indent=1) + "\n")
            _add(zf, "secret", secret + "\n", 0o600)
            _add(zf, "constraints.txt", "\n".join(pins()) + "\n")
            _add(zf, f"wheels/{wheel.name}", wheel.read_bytes())
            for (assignment, notebook), spec in sorted(chosen.items()):   # as grade-one reads them
                _add(zf, f"specs/{assignment}/{notebook}.json", json.dumps(spec.to_json()))
        partial.replace(out)
    return {"out": out, "specs": chosen, "config": config, "wheel": wheel.name}


# run_autograder gives a grading job this long past its own watchdog before killing it, and needs
# about this long besides (locking the folder down, the uid trial, and run.RESERVE_SECONDS kept
# to kill, sweep and write results.json).
RUN_MARGIN, RUN_OVERHEAD = 60, 60
GRADESCOPE_DEFAULT_MINUTES, GRADESCOPE_MAX_MINUTES = 10, 40   # its autograder timeout (its troubleshooting page)


def worst_case_seconds(spec, timeout: float) -> float:
    """How long run_autograder lets the grading of one notebook run: the job's own watchdog (as
    `course-grader grade` sets it), and the margin after which it is killed."""
    from ..engine import job_seconds

    return job_seconds(len(spec.exercises), timeout) + RUN_MARGIN


def submission_minutes(specs: dict, timeout: float) -> int:
    """The most one submission may take: it may hold every notebook the zip grades, graded one after another."""
    return -(-(sum(worst_case_seconds(s, timeout) for s in specs.values()) + RUN_OVERHEAD) // 60)


def main(course, ws, args) -> int:
    if args.minutes is not None and args.minutes < 1:
        raise SystemExit("course-grader gradescope: --gradescope-timeout is in minutes, at least 1")
    info = build(course, ws, args.out, assignments=args.assignments, timeout=args.timeout, memory_mb=args.memory,
                 visibility=args.visibility, isolation=args.isolation, secret_file=args.secret, minutes=args.minutes)
    names = ", ".join(f"{a}/{n}.ipynb" for a, n in sorted(info["specs"]))
    secret = f"the secret of {args.secret}" if args.secret else "a new secret for the hidden checks' seeds"
    print(f"wrote {info['out']}: grades {names}; holds the course's wheel {info['wheel']} and {secret}")
    needed, minutes = info["config"]["minutes_needed"], info["config"]["budget_seconds"] // 60
    print(f"Upload it to Gradescope (Configure Autograder: Zip file upload, base image Ubuntu 22.04) and set the "
          f"autograder timeout to {minutes:.0f} minutes (Gradescope's default is {GRADESCOPE_DEFAULT_MINUTES}, its "
          f"maximum {GRADESCOPE_MAX_MINUTES}): run_autograder writes results.json within that time. Keep the zip "
          "private: it holds the secret.")
    if needed > minutes:
        several = "holding every notebook it grades " if len(info["specs"]) > 1 else ""
        print(f"note: a submission {several}may take up to {needed:.0f} minutes with --timeout {args.timeout} (each "
              f"notebook's time limits, one notebook after another); what is not graded within {minutes:.0f} gets 0, "
              "with the reason. One zip per assignment (--assignment A), or a lower --timeout, avoids that.",
              file=sys.stderr)
    if minutes > GRADESCOPE_MAX_MINUTES:
        print(f"warning: --gradescope-timeout {minutes:.0f} is more than Gradescope's maximum of "
              f"{GRADESCOPE_MAX_MINUTES} minutes", file=sys.stderr)
    return 0
