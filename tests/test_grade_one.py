"""The grading job on its own (`course-grader grade-one`), and the course installed from its wheel
into a fresh environment outside the checkout, grading the demo class from there."""
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from grader.job import Seeds
from grader.spec import load_all
from grader.workspace import Course

ROOT = Path(__file__).resolve().parent.parent
COURSE = Course.find(ROOT)
pytestmark = pytest.mark.notebooks
PERFECT = COURSE.demo / "perfect" / "03_backward" / "backward.ipynb"


def _cli(*args, cwd=ROOT, python=sys.executable, env=None):
    return subprocess.run([python, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def specs(tmp_path_factory):
    out = tmp_path_factory.mktemp("specs")
    run = _cli("specs", "--out", str(out), "--workspace", str(out / "work"))
    assert run.returncode == 0, run.stderr
    return out


def test_specs_hold_every_graded_notebook_and_no_hidden_source(specs):
    loaded = load_all(specs)
    assert {k for k in loaded} == {(a, n) for a, nbs in COURSE.layout.items() for n, ex in nbs.items() if ex}
    text = "".join(p.read_text() for p in specs.glob("*/*.json"))
    assert "### BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text


def test_grade_one_with_the_secret_and_with_seeds_only_agree(specs, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("a secret of this test")
    one = _cli("grade-one", str(PERFECT), "--release", str(specs), "--secret", str(secret), "--student", "ann",
               "--out", str(tmp_path / "a.json"), "--timeout", "20")
    assert one.returncode == 0, one.stderr
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["status"] == "graded" and record["version"] == 2 and record["sandbox"] == "bubblewrap"
    assert all(e["status"] == "ok" for e in record["exercises"]) and "10 of 10 points" in one.stdout
    # A worker that is given the job's derived seeds, never the secret, grades the same.
    spec = load_all(specs)[("03_backward", "backward")]
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps(Seeds(secret.read_text(), "ann").for_spec(spec)))
    two = _cli("grade-one", str(PERFECT), "--release", str(specs), "--seeds", str(seeds), "--student", "ann",
               "--out", str(tmp_path / "b.json"), "--timeout", "20")
    assert two.returncode == 0, two.stderr
    other = json.loads((tmp_path / "b.json").read_text())
    assert [e["status"] for e in other["exercises"]] == [e["status"] for e in record["exercises"]]


def test_grade_one_refuses_without_seeds_and_names_unknown_notebooks(specs, tmp_path):
    run = _cli("grade-one", str(PERFECT), "--release", str(specs), "--out", str(tmp_path / "r.json"))
    assert run.returncode != 0 and "--secret" in run.stderr
    stray = tmp_path / "homework.ipynb"
    stray.write_text(PERFECT.read_text())
    run = _cli("grade-one", str(stray), "--release", str(specs), "--secret", str(PERFECT), "--out", str(tmp_path / "r.json"))
    assert run.returncode != 0 and "not one notebook of the course" in run.stderr


def test_no_course_here_is_said_plainly(tmp_path):
    run = _cli("grade", "--demo", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert run.returncode != 0 and "no course here" in run.stderr and "--course DIR" in run.stderr


# ------------------------------------------------------------------------ installed from the wheel
def _fresh_venv(tmp_path: Path) -> Path:
    """A new virtual environment with the course's wheel installed, and its dependencies hard-linked
    from this environment's site-packages (the same packages pip would fetch, without the wait)."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(wheels), str(ROOT)], check=True, capture_output=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    for entry in ours.iterdir():
        name = entry.name.lower()
        if name.startswith(("course_lib", "grader", "__editable__", "backprop_from_scratch", "_backprop")) or \
                name.endswith(".pth") and "editable" in name:
            continue
        target = theirs / entry.name
        if entry.is_dir():
            subprocess.run(["cp", "-al", str(entry), str(target)], check=True)
        elif not target.exists():
            os.link(entry, target)
    bin_dir = Path(sys.executable).parent
    for script in ("jupyter", "jupyter-nbconvert", "alembic"):
        if (bin_dir / script).exists():
            shutil.copy(bin_dir / script, venv / "bin" / script)
    wheel = next(wheels.glob("*.whl"))
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
                   check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ours)})
    return venv


def test_the_wheel_is_complete_and_grades_the_demo_class_from_elsewhere(tmp_path):
    venv = _fresh_venv(tmp_path)
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import course_lib.checks, grader.sandbox.inside, course_lib; "
                                          "print(course_lib.__file__)"], capture_output=True, text=True, cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout, "the installed package must not be the checkout"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = subprocess.run([str(venv / "bin" / "course-grader"), "--course", str(ROOT), "grade", "--demo", "--out",
                          str(elsewhere / "out"), "--timeout", "10", "--no-progress", "--assignment", "02_forward_cache"],
                         capture_output=True, text=True, cwd=elsewhere)
    assert run.returncode == 1, run.stderr[-2000:]   # the demo's two broken files are not gradable; the rest is
    grades = (elsewhere / "out" / "grades.csv").read_text()
    assert "perfect,02_forward_cache,forward_cache,test_relu,1,1,ok," in grades
