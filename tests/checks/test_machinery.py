"""The checkers' shared machinery: the Outcome record, what happens to the student's exceptions, object
state, copies and changes, and the course's own cache detector."""
import html
from collections import OrderedDict, namedtuple

import numpy as np
import pytest

from course_lib import bugs, mlp
from course_lib.checks import (IDENTITY_READERS, STATE_READERS, CheckFailed, Outcome, StudentCodeError,
                               object_state, silenced)
from course_lib.checks import core
from course_lib.snapshot import changes, copy_array, copy_data

import course_lib.checks as checks
from checks_harness import EXERCISES, NOTEBOOK_OF, judge, namespace


# ------------------------------------------------------------------ Outcome
def test_a_failed_outcome_reads_as_message_hints_and_the_catalogue_entry():
    outcome = Outcome("backward", False, "failed", "grads['W1'] is wrong.\n  expected ...", ["Divide by N once."],
                      "missing_batch_average", case="a batch of 4")
    text = str(outcome)
    entry = bugs.get("missing_batch_average")
    assert text.startswith("backward: grads['W1'] is wrong.")
    assert "Divide by N once." in text
    assert entry.title in text and f"section {entry.section}" in text and entry.description in text
    assert "[bug:" not in text and "missing_batch_average" not in text
    page = outcome._repr_html_()
    assert html.escape("grads['W1']") in page and entry.title in page


def test_a_passed_outcome_is_the_usual_line():
    assert str(Outcome.ok("relu", 11)) == "✔ relu: correct on all 11 test cases."


@pytest.mark.parametrize("kwargs", [dict(status="maybe"), dict(passed=True, status="failed"),
                                    dict(bug="not_in_the_catalogue")])
def test_an_outcome_that_contradicts_itself_is_refused(kwargs):
    fields = dict(exercise="relu", passed=False, status="failed", message="m")
    fields.update(kwargs)
    with pytest.raises(ValueError):
        Outcome(**fields)


def test_check_failed_carries_the_outcome_and_keeps_the_old_signature():
    failure = CheckFailed(Outcome("relu", False, "failed", "wrong", bug="unstable_softmax"))
    assert isinstance(failure, AssertionError)
    assert (failure.exercise, failure.bug, failure.outcome.status) == ("relu", "unstable_softmax", "failed")
    assert str(failure) == str(failure.outcome)
    old = CheckFailed("softmax", "is wrong", bug="unstable_softmax")
    assert old.outcome == Outcome("softmax", False, "failed", "is wrong", bug="unstable_softmax")


def test_a_passing_checker_prints_its_line_and_returns_the_outcome(capsys):
    ns = namespace(2)
    outcome = checks.check_relu(ns["relu"])
    assert outcome.passed and outcome.status == "ok" and outcome.cases > 0
    assert capsys.readouterr().out == f"✔ relu: correct on all {outcome.cases} test cases.\n"
    with silenced():
        checks.check_relu(ns["relu"])
    assert capsys.readouterr().out == ""


# ------------------------------------------------- exceptions from student code
class GraderTimeout(BaseException):
    """Stands for the grader's own time-out: a BaseException that checkers must let through."""


def _raiser(kind):
    def fn(*args, **kwargs):
        raise kind("from the student's code")
    return fn


def _raising_class(kind):
    class Raising:
        def __init__(self, *args):
            raise kind("from the student's code")
    return Raising


CHECKED = [name for nb, names in EXERCISES.items() for name in names if name != "answers"]
CLASSES = {"Linear", "ReLU", "Tanh", "Sequential", "LeakyReLU"}


def _target(name, kind):
    return _raising_class(kind) if name in CLASSES else _raiser(kind)


@pytest.mark.parametrize("name", CHECKED)
def test_a_base_exception_from_the_student_leaves_every_checker_untouched(name):
    with silenced(), pytest.raises(GraderTimeout):
        getattr(checks, f"check_{name}")(_target(name, GraderTimeout), hidden=True, seed=1)


@pytest.mark.parametrize("name", CHECKED)
def test_the_stub_is_reraised_unchanged_by_every_checker(name):
    with silenced(), pytest.raises(NotImplementedError) as raised:
        getattr(checks, f"check_{name}")(_target(name, NotImplementedError), hidden=False)
    assert str(raised.value) == "from the student's code"


@pytest.mark.parametrize("name", CHECKED)
def test_any_other_exception_is_an_error_outcome_naming_the_inputs(name):
    with silenced(), pytest.raises(StudentCodeError) as raised:
        getattr(checks, f"check_{name}")(_target(name, ZeroDivisionError), hidden=True, seed=2)
    outcome = raised.value.outcome
    assert outcome.status == "error" and not outcome.passed and outcome.case
    assert "ZeroDivisionError" in outcome.message and outcome.case in outcome.message
    assert isinstance(raised.value.__cause__, ZeroDivisionError)
    assert "traceback above" not in str(outcome)


def test_something_that_is_not_callable_is_an_error():
    with silenced(), pytest.raises(StudentCodeError) as raised:
        checks.check_relu(42)
    assert "got int" in raised.value.outcome.message


def test_every_checker_belongs_to_a_notebook():
    names = {n for n in dir(checks) if n.startswith("check_")}
    assert set(NOTEBOOK_OF) == {n.removeprefix("check_") for n in names}


# -------------------------------------------------------------- object state
class Plain:
    def __init__(self):
        self.params = {"W": np.ones((2, 2))}


class Slotted:
    __slots__ = ("params", "x")

    def __init__(self):
        self.params = {"W": np.ones((2, 2))}


@pytest.mark.parametrize("cls", [Plain, Slotted])
def test_object_state_sees_attributes_in_dict_and_slots(cls):
    layer = cls()
    before = object_state(layer)
    assert before == object_state(cls()) and hash(before) == hash(object_state(cls()))
    layer.params["W"][0, 0] = 2.0
    assert core.state_changes(before, object_state(layer)) == ["params"]
    again = object_state(layer)
    layer.x = np.zeros(3)
    assert core.state_changes(again, object_state(layer)) == ["x"]


def test_object_state_asks_the_registered_readers_first():
    seen = []

    def reader(obj):
        seen.append(obj)
        return ("from the reader",) if isinstance(obj, Plain) else None

    STATE_READERS.append(reader)
    try:
        assert object_state(Plain()) == ("from the reader",)
        assert object_state(Slotted()) != ("from the reader",)
    finally:
        STATE_READERS.remove(reader)
    assert len(seen) == 2


def test_same_object_asks_the_identity_readers_first():
    a, b = {}, {}
    assert core.same_object(a, a) and not core.same_object(a, b)
    IDENTITY_READERS.append(lambda x, y: True)
    try:
        assert core.same_object(a, b)
    finally:
        IDENTITY_READERS.pop()


# ---------------------------------------------------------- copies and changes
def test_copies_keep_the_layout_of_views():
    base = np.arange(24.0).reshape(4, 6)
    for view in (base[:, ::2], base[1:, 1::3].T, base.T, base[::-1, ::-2]):
        copy = copy_array(view)
        assert np.array_equal(copy, view) and copy.strides == view.strides and not np.shares_memory(copy, base)


Pair = namedtuple("Pair", "a b")


@pytest.mark.parametrize("before,edit,want", [
    ({"W": np.zeros(2)}, lambda d: d.__setitem__("dW", np.ones(2)), ["value['dW'] (a new entry)"]),
    ({"W": np.zeros(2)}, lambda d: d["W"].__setitem__(0, 1.0), ["value['W'] (its values changed)"]),
    ({"W": np.zeros(2)}, lambda d: d.__setitem__("W", np.zeros((1, 2))), ["value['W'] (its shape changed)"]),
    ({"W": np.zeros(2)}, lambda d: d.__setitem__("W", np.zeros(2, np.float32)), ["value['W'] (its dtype changed)"]),
    ({"W": np.zeros(2), "b": 1.0}, lambda d: d.pop("b"), ["value['b'] (removed)"]),
    ({"W": [np.zeros(2)]}, lambda d: d["W"].append(3), ["value['W'][1] (a new entry)"]),
    ({"W": np.array([np.nan])}, lambda d: None, []),
])
def test_changes_count_new_keys_as_well_as_values(before, edit, want):
    after = copy_data(before)
    edit(after)
    assert [str(c) for c in changes(before, after)] == want


def test_copy_data_keeps_namedtuples_and_ordered_dicts():
    value = OrderedDict(p=Pair(np.ones(2), [np.zeros(1)]))
    copy = copy_data(value)
    assert type(copy) is OrderedDict and type(copy["p"]) is Pair and not changes(value, copy)
    copy["p"].b[0][0] = 5.0
    assert value["p"].b[0][0] == 0.0


# ------------------------------------------------ the course's cache detector
def _stores_deltas(params, cache, Y):
    grads = mlp.backward(params, cache, Y)
    cache["dZ2"] = (cache["Yhat"] - Y) / len(Y)
    return grads


def _writes_into_params(params, cache, Y):
    grads = mlp.backward(params, cache, Y)
    params["dW1"] = grads["W1"]
    return grads


@pytest.mark.parametrize("backward,ok", [
    (mlp.backward, True),
    (bugs.get("in_place_cache_mutation").network()[1], False),
    (_stores_deltas, False),
    (_writes_into_params, False),
])
def test_the_catalogue_detector_counts_keys_added_to_the_cache_or_params(backward, ok):
    result = bugs.check_cache_unchanged(mlp.forward, backward, mlp.init_params(5, 4, 3, seed=0))
    assert result.ok is ok, result.message


def test_the_hunt_and_system_and_depth_modules_keep_their_notebook_names():
    from course_lib.checks import depth, hunt, system

    for module, names in [(hunt, ["tiny_setting", "gradient_check_suspect", "evidence_table", "catalogue_listing",
                                  "plot_gradient_checks", "large_logits_finite"]),
                          (system, ["syllabus_gradient_check", "catalogue_curves", "validation_split",
                                    "sweep_learning_rates", "plot_sweep", "show_digits"]),
                          (depth, ["initial_weights", "build_stack", "reference_loss_and_grads", "reference_train"])]:
        for name in names:
            assert callable(getattr(module, name)), (module.__name__, name)


def test_a_correct_answer_of_the_corpus_passes_the_visible_and_a_hidden_test():
    from test_corpus import CORPUS

    entry = next(e for e in CORPUS if e.exercise == "relu" and e.status == "ok")
    assert judge(entry, hidden=False, seed=0).passed and judge(entry, hidden=True, seed=5).passed
