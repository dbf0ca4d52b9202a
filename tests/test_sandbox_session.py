"""One sandboxed student process and the grader's side of it (grader/sandbox/trusted.py), through
what honest student code does with course_lib inside the sandbox."""
from __future__ import annotations

import numpy as np
import pytest

from grader.job import _course
from grader.sandbox import facade, launch, policy, trusted


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory):
    if not launch.probe().ok:
        pytest.skip(f"no sandbox here: {launch.probe().reason}")
    return facade.build(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def session(sandbox_dir):
    opened = []

    def start(checkers=()):
        runnable = policy.sandbox_runnable(set(checkers), _course().by_name) if checkers else None
        s = trusted.Session(launch.Launch(sandbox_dir, launch.probe(), launch.Limits()), _course(), timeout=20,
                            runnable=runnable)
        opened.append(s)
        return s
    yield start
    for s in opened:
        s.close()


def test_a_course_generator_is_iterated_from_the_sandbox(session):
    s = session()
    s.run_cell(1, "import numpy as np\nfrom course_lib import train\n"
                  "batches = [b.tolist() for b in train.minibatches(7, 3, np.random.default_rng(0))]")
    got = s.get("batches")
    want = [b.tolist() for b in __import__("course_lib.train", fromlist=["x"]).minibatches(7, 3, np.random.default_rng(0))]
    assert got == want and [len(b) for b in got] == [3, 3, 1]


def test_a_course_function_advances_the_students_own_rng(session):
    """init_params and minibatches draw from the rng the student passes, on the grader's side."""
    from course_lib import train

    s = session()
    s.run_cell(1, "import numpy as np\nfrom course_lib import train\nr = np.random.default_rng(3)\n"
                  "first = [b.tolist() for b in train.minibatches(6, 4, r)]\nnext_draw = int(r.integers(10**9))")
    r = np.random.default_rng(3)
    first = [b.tolist() for b in train.minibatches(6, 4, r)]
    assert s.get("first") == first and s.get("next_draw") == int(r.integers(10**9))


def test_dtype_arguments_reach_course_code_as_dtypes(session):
    s = session()
    s.run_cell(1, "import numpy as np\nfrom course_lib.losses import one_hot\n"
                  "a = one_hot(np.array([0, 2]), 3, dtype=np.float32)\nb = one_hot(np.array([1]), 2, dtype=float)\n"
                  "c = one_hot(np.array([1]), 2, np.dtype('int8'))")
    assert s.get("a").dtype == np.float32 and s.get("b").dtype == np.float64 and s.get("c").dtype == np.int8


def test_a_runnable_function_runs_in_the_sandbox_only_where_nothing_refuses_it(session):
    probe = ("import course_lib.losses as L\n"
             "real = 'exp' in L.softmax.__code__.co_names\n"
             "out = L.softmax(np.array([[0.0, 1.0]])).tolist()")
    free = session(["check_fit_spirals"])                    # notebook 07: softmax is no exercise's reference
    free.run_cell(1, "import numpy as np\n" + probe)
    refused = session(["check_softmax", "check_relu"])       # notebook 02: it is
    refused.run_cell(1, "import numpy as np\n" + probe)
    assert free.get("real") is True and refused.get("real") is False
    assert free.get("out") == refused.get("out")
