"""The project's own promises: one dependency list, README commands that CI really runs."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pip_requirements() -> dict:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    out = {}
    for r in reqs:
        name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", r).groups()
        out[name.lower()] = spec.replace("==", "=").replace(" ", "")
    return out


def _conda_requirements() -> dict:
    """conda's packages, and those environment.yml installs with pip (not on conda-forge)."""
    out = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"(?:  |      )- ([A-Za-z0-9_.-]+)(.*)$", line)
        if in_deps and m and m.group(1) not in ("python", "pip", "-e"):
            out[m.group(1).lower()] = m.group(2).replace(" ", "")
    return out


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert _conda_requirements() == _pip_requirements()


def test_environment_yml_installs_the_project_and_python_311():
    text = (ROOT / "environment.yml").read_text()
    assert "  - python=3.11" in text
    assert re.search(r"^\s+- -e \.$", text, re.M)


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[2] == "```sh", "the README's first lines are the two commands"
    commands = [l.split("#")[0].strip() for l in lines[3:5]]
    assert commands == ["make lab", "make test"]
    ci = [l.strip() for l in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "make test" in ci


def test_readme_lists_every_exercise_with_its_points():
    import nbformat

    from grader import notebooks

    readme = (ROOT / "README.md").read_text()
    for path in notebooks.course_notebooks(ROOT / "solutions"):
        exercises = notebooks.exercises(nbformat.read(path, 4))
        row = next(l for l in readme.splitlines() if l.startswith(f"| `{path.parent.name}/{path.stem}`"))
        for ex in exercises:
            name = ex.grade_id.removeprefix("test_")
            if name.startswith("answers_"):  # listed as `answers_A` ... `answers_F` (1 each)
                assert "`answers_A` … `answers_F` (1 each)" in row and ex.points == 1
                continue
            assert f"`{name}` ({ex.points:g}" in row, (name, ex.points, row)
        total = sum(e.points for e in exercises)
        assert row.rstrip(" |").endswith(f"| {total:g}" if exercises else "| –"), row


def test_generated_junk_is_ignored():
    ignored = (ROOT / ".gitignore").read_text()
    for pattern in (".venv/", ".ipynb_checkpoints/", "__pycache__/", "*.db", ".hypothesis/"):
        assert pattern in ignored
