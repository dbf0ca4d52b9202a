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
hunt, system and digits, layer and depth, layers09 (with bce09, normalise09 and dropout09), init10
(with dead10), and for notebooks 11 and 12 training11, optim11 and fit11, autodiff12, graph12 and
networks12. The helpers the notebooks use are re-exported by
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
from .layers09 import *  # noqa: F401,F403
from .bce09 import *  # noqa: F401,F403
from .normalise09 import *  # noqa: F401,F403
from .dropout09 import *  # noqa: F401,F403
from .init10 import *  # noqa: F401,F403
from .dead10 import *  # noqa: F401,F403

# Notebook 11 (training) and notebook 12 (reverse-mode autodiff).
from .training11 import (check_cosine_decay, check_l2_penalty, check_l2_penalty_gradient,  # noqa: F401
                         check_minibatches, check_update_to_weight_ratio)
from .optim11 import check_Adam, check_Momentum  # noqa: F401
from .fit11 import check_EarlyStopping, check_fit  # noqa: F401
from .autodiff12 import (check_tensor_add, check_tensor_log_softmax, check_tensor_matmul,  # noqa: F401
                         check_tensor_relu, check_tensor_sum, check_unbroadcast)
from .graph12 import check_autodiff_backward, check_topological_order  # noqa: F401
from .networks12 import check_mlp_loss_and_grads, check_residual_loss_and_grads, check_train_autodiff  # noqa: F401
