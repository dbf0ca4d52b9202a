"""One checker per exercise, shared by the visible tests (what a student runs) and the
hidden tests (what the grader runs, with ``hidden=True`` and another seed).

Every checker is ``check_<exercise>(fn, hidden=False, seed=0)``: it prints one line
when ``fn`` is right and raises :class:`CheckFailed` (an AssertionError) with an
actionable message otherwise.
"""
from .core import CheckFailed  # noqa: F401

from .setting import *  # noqa: F401,F403
from .forward import *  # noqa: F401,F403
from .backward import (check_backward, check_hidden_layer_backward, check_output_layer_backward,  # noqa: F401
                       check_relu_backward, check_sgd_step, check_softmax_cross_entropy_backward)
from .gradient import *  # noqa: F401,F403
from .hunt import *  # noqa: F401,F403
from .system import *  # noqa: F401,F403
from .depth import *  # noqa: F401,F403
