"""The grader's policy (grader/sandbox/policy.py) covers the whole course, and the sandbox's copy of
course_lib (grader/sandbox/facade.py) holds no reference code."""
import ast
import importlib

import pytest

from course_lib import checks
from grader.sandbox import facade, policy


def test_every_checker_has_an_entry_and_every_name_is_course_code():
    names = {n for n in dir(checks) if n.startswith("check_")}
    assert names == set(policy.REFERENCES)
    real = facade.real_names()
    for checker in names:
        for dotted in policy.banned_names(checker):
            assert dotted in real, (checker, dotted)
            assert policy.banned_functions(checker, real).get(dotted), (checker, dotted)


def test_a_catalogued_variant_is_banned_with_the_reference_it_breaks():
    banned = policy.banned_names("check_output_layer_backward")
    assert "course_lib.bugs.affine_backward_transposed" in banned
    assert "course_lib.bugs.affine_backward_bias_mean" in banned
    assert "course_lib.bugs.forward_shared_cache" in policy.banned_names("check_forward")


@pytest.fixture(scope="module")
def sandbox_copy(tmp_path_factory):
    return facade.build(tmp_path_factory.mktemp("facade"))


def test_the_sandbox_copy_computes_nothing(sandbox_copy):
    """No function or method of the copy, outside the modules that only draw, calls numpy."""
    for dotted, _ in facade.modules():
        if dotted in policy.SANDBOX_REAL_MODULES:
            continue
        path = sandbox_copy / "/".join(dotted.split(".")) / "__init__.py"
        if not path.exists():
            path = sandbox_copy / ("/".join(dotted.split(".")) + ".py")
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _in_value_class(tree, node, dotted):
                calls = [ast.unparse(c.func) for c in ast.walk(node) if isinstance(c, ast.Call)]
                assert all(c.startswith("_course_rpc_.") for c in calls), (dotted, node.name, calls)


def _in_value_class(tree, fn, module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and fn in node.body and facade.keeps_real(node, f"{module}.{node.name}"):
            return True
    return False


def test_a_value_class_that_is_a_reference_is_a_stub(sandbox_copy):
    """Dataclasses stay real in the sandbox, except those an exercise is compared with."""
    text = (sandbox_copy / "course_lib" / "optim.py").read_text()
    tree = ast.parse(text)
    cosine = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "CosineDecay")
    calls = [ast.unparse(c.func) for c in ast.walk(cosine) if isinstance(c, ast.Call)]
    assert calls and all(c.startswith("_course_rpc_.") or c == "dataclass" for c in calls), calls
    assert "course_lib.optim.CosineDecay" in policy.refused_anywhere()


def test_the_sandbox_copy_has_no_data_files(sandbox_copy):
    assert not list(sandbox_copy.rglob("*.npz")) and not (sandbox_copy / "course_lib" / "datasets").exists()


def test_every_name_the_stubs_stand_for_exists_in_the_real_package():
    for qual, obj in facade.real_names().items():
        module, _, attr = qual.rpartition(".")
        assert getattr(importlib.import_module(module), attr) is obj


def test_what_the_student_side_may_run_itself_is_never_refused_in_that_notebook():
    """policy.sandbox_runnable: a course function runs inside the sandbox only where no checker of
    the notebook refuses it; everywhere else it stays a stub the grader answers (and refuses)."""
    real = facade.real_names()
    everywhere = {n for c in policy.REFERENCES for n in policy.banned_names(c)}
    for checker in policy.REFERENCES:
        runnable = policy.sandbox_runnable({checker}, real)
        assert not set(runnable) & set(policy.banned_names(checker)), checker
    assert "course_lib.losses.softmax" not in policy.sandbox_runnable({"check_softmax"}, real)
    assert "course_lib.losses.softmax" in policy.sandbox_runnable({"check_fit_spirals"}, real)
    assert set(policy.sandbox_runnable(set(policy.REFERENCES), real)) == set(policy.SANDBOX_RUNNABLE) - everywhere


def test_every_runnable_function_travels_and_finds_its_names_in_the_sandbox_copy(sandbox_copy):
    """Each SANDBOX_RUNNABLE function is sent whole (marshal), and every global its code reads is a
    name the sandbox's module defines (a constant, an import, another stub)."""
    import json

    from grader.sandbox import trusted

    real = facade.real_names()
    functions = {n: real[n] for n in policy.SANDBOX_RUNNABLE}
    sent = {f["name"] for f in json.loads(trusted.runnable_payload(functions))}
    assert sent == set(functions)
    for name, fn in functions.items():
        module, _, _ = name.rpartition(".")
        path = sandbox_copy / (module.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text())
        defined = {t.id for node in ast.walk(tree) if isinstance(node, (ast.Assign, ast.AnnAssign))
                   for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
        defined |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        defined |= {(a.asname or a.name).split(".")[0] for node in ast.walk(tree)
                    if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}

        def globals_read(code):
            names = set(code.co_names)
            for const in code.co_consts:
                if hasattr(const, "co_names"):
                    names |= globals_read(const)
            return names
        missing = {n for n in globals_read(fn.__code__) if n in fn.__globals__ and n not in defined}
        assert not missing, (name, missing)


def _build_in(cache):
    try:
        out = facade.build(cache)
    except Exception as e:   # noqa: BLE001  (the test reports what each process met)
        return f"{type(e).__name__}: {e}"
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if "__pycache__" not in p.parts)


def test_workers_that_build_the_sandbox_copy_at_the_same_moment_all_get_it(tmp_path):
    """A fresh workspace's workers each build the copy as their first job starts: forked alike, they
    used one temporary folder name (an id()) and removed each other's half-built folder."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(4) as pool:
        got = pool.map(_build_in, [tmp_path] * 8)
    assert all(isinstance(g, list) for g in got), [g for g in got if not isinstance(g, list)]
    assert all(g == got[0] for g in got)
    assert "complete" in got[0] and "course_lib/checks/__init__.py" in got[0]
    assert [p.name for p in tmp_path.iterdir()] == [f"sandbox-{facade.fingerprint()}"]   # no half-built folder left
