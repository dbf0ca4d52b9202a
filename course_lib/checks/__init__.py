"""One checker per exercise, shared by the visible tests (what a student runs) and the hidden
tests (what the grader runs, with ``hidden=True`` and another seed).

Every checker is ``check_<exercise>(fn, hidden=False, seed=0)``: when ``fn`` is right it prints
one line and returns an :class:`Outcome`; otherwise it raises :class:`CheckFailed` (an
AssertionError) whose ``outcome`` says what was expected, what came back, what to do, and which
catalogued bug the answer matches (status "failed"), or that the student's code raised or returned
something unusable (status "error", a :class:`StudentCodeError`). The stub's NotImplementedError
and any BaseException pass through untouched.

The grader runs the same checkers on proxies of the student's objects and plugs in two readers:
:data:`STATE_READERS` (an object's state, see :func:`object_state`) and :data:`IDENTITY_READERS`
(whether two returned values were one object, see :func:`same_object`).

Modules: outcome (the record), core (calling student code, state, findings), compare (judging
arrays, the one mutation check), recognise (the one recogniser of known mistakes), cases (the
shared test cases), and one module of checkers per notebook: setting, forward, backward, gradient,
hunt, system and digits, layer and depth. The helpers the notebooks use are re-exported by
``hunt``, ``system`` and ``depth`` from where they live (:mod:`course_lib.bughunt`,
:mod:`course_lib.system`, :mod:`course_lib.depth`, :mod:`course_lib.references`).
"""
from .core import IDENTITY_READERS, STATE_READERS, object_state, same_object, silenced  # noqa: F401
from .outcome import CheckFailed, Outcome, StudentCodeError  # noqa: F401

from .setting import *  # noqa: F401,F403
from .forward import *  # noqa: F401,F403
from .backward import (check_backward, check_hidden_layer_backward, check_output_layer_backward,  # noqa: F401
                       check_relu_backward, check_sgd_step, check_softmax_cross_entropy_backward)
from .gradient import *  # noqa: F401,F403
from .hunt import *  # noqa: F401,F403
from .system import *  # noqa: F401,F403
from .depth import *  # noqa: F401,F403

# The reference each exercise is compared with. A graded function must not call it (the grader's
# sandbox makes these unavailable to student code and flags a call); other course_lib helpers that
# a notebook hands out stay available. Every checker has an entry: [] where the exercise has no
# single reference to forbid (train_digits and fit_spirals are meant to use the course's tools).
_A, _L, _M, _G, _R = ("course_lib.activations", "course_lib.losses", "course_lib.mlp", "course_lib.gradcheck",
                      "course_lib.references")
REFERENCES = {
    "check_layer_shapes": [f"{_R}.reference_shapes"],
    "check_affine": ["course_lib.affine.affine_forward"],
    "check_count_parameters": [f"{_R}.reference_count"],
    "check_finite_difference_passes": [f"{_R}.reference_finite_difference_passes", f"{_R}.reference_count"],
    "check_relu": [f"{_A}.relu"],
    "check_softmax": [f"{_L}.softmax", f"{_L}.log_softmax"],
    "check_cross_entropy": [f"{_L}.cross_entropy", f"{_L}.softmax_cross_entropy"],
    "check_forward": [f"{_M}.forward", f"{_M}.predict", f"{_M}.loss"],
    "check_softmax_cross_entropy_backward": [f"{_L}.softmax_cross_entropy_backward"],
    "check_output_layer_backward": ["course_lib.affine.affine_backward"],
    "check_hidden_layer_backward": ["course_lib.affine.affine_backward"],
    "check_relu_backward": [f"{_A}.relu_backward"],
    "check_backward": [f"{_M}.backward"],
    "check_sgd_step": [f"{_M}.sgd_step"],
    "check_numerical_gradient": [f"{_G}.numerical_gradient", f"{_G}.eps_sweep"],
    "check_rel_error": [f"{_G}.rel_error"],
    "check_grad_check_group": [f"{_G}.grad_check", f"{_R}.reference_group_error"],
    "check_cache_unchanged": ["course_lib.bugs.check_cache_unchanged", "course_lib.bugs.backward_changes"],
    "check_interleaved_forward_ok": ["course_lib.bugs.check_interleaved_forward", "course_lib.bugs.interleaving_changes"],
    "check_answers": [],
    "check_fixed_backward": [f"{_M}.backward"],
    "check_overfit_tiny_batch": ["course_lib.train.train"],
    "check_predict": [f"{_M}.predict"],
    "check_train_digits": [],
    "check_Linear": ["course_lib.layers.Linear"],
    "check_ReLU": ["course_lib.layers.ReLU"],
    "check_Tanh": ["course_lib.layers.Tanh"],
    "check_Sequential": ["course_lib.layers.Sequential"],
    "check_sequential_loss_and_grads": [f"{_R}.reference_loss_and_grads"],
    "check_train_sequential": [f"{_R}.reference_train", f"{_R}.reference_loss_and_grads"],
    "check_fit_spirals": [],
}
