"""The grader's policy, in one place: what the sandbox shows, what it denies, what it bounds, and
which course_lib code each exercise's answer must not come from.

Student code sees, read-only: the system's libraries (/usr), the Python it runs on and the
installed packages, and a copy of course_lib without its reference code (grader/sandbox/facade.py).
It writes only to a private, size-bounded /tmp. Nothing else of the machine is there: no /home, no
/root, no /etc beyond the loader's cache, no other clone of the course, no submissions, results or
grading workspace, no network.
"""
from __future__ import annotations

import errno
import functools
import os
import sys
import sysconfig
from pathlib import Path

# ------------------------------------------------------------------ course_lib in the sandbox
# Modules whose code runs for real inside the sandbox: they draw, they compute no answers.
SANDBOX_REAL_MODULES = {"course_lib.plots", "course_lib.widgets", "course_lib.explorer_plot"}
# Classes kept real besides dataclasses, named tuples and exceptions (found automatically).
SANDBOX_REAL_CLASSES: set = set()
SANDBOX_REAL_BASES: set = set()

# The reference each exercise is compared with (by its checker). While an exercise is checked,
# the grader refuses these to the student side, in every form (see grader/sandbox/trusted.py).
_A, _L, _M, _G = "course_lib.activations", "course_lib.losses", "course_lib.mlp", "course_lib.gradcheck"
# Other course code that computes the two-layer network's whole gradient: refused with mlp.backward.
_OTHER_BACKWARDS = ["course_lib.autodiff.backward", "course_lib.autodiff.value_and_grad", "course_lib.autodiff.mlp_loss",
                    "course_lib.train.sequential_network", "course_lib.layers.Sequential"]
_R = "course_lib.references"
_B, _I = "course_lib.binary_cross_entropy", "course_lib.init"
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
    "check_backward": [f"{_M}.backward", *_OTHER_BACKWARDS],
    "check_sgd_step": [f"{_M}.sgd_step", "course_lib.optim.SGD"],
    "check_numerical_gradient": [f"{_G}.numerical_gradient", f"{_G}.numerical_gradient_array", f"{_G}.eps_sweep"],
    "check_rel_error": [f"{_G}.rel_error"],
    "check_grad_check_group": [f"{_G}.grad_check", f"{_R}.reference_group_error"],
    "check_cache_unchanged": ["course_lib.bugs.check_cache_unchanged", "course_lib.bugs.backward_changes"],
    "check_interleaved_forward_ok": ["course_lib.bugs.check_interleaved_forward", "course_lib.bugs.interleaving_changes"],
    "check_answers": [],
    "check_fixed_backward": [f"{_M}.backward", *_OTHER_BACKWARDS],
    "check_overfit_tiny_batch": ["course_lib.train.train", "course_lib.train.fit", "course_lib.experiments.train_network"],
    "check_predict": [f"{_M}.predict"],
    # train_digits may use the course's tools; loading the digits itself while it is graded may not
    # (its held-out split and pixel order come from the hidden seed).
    "check_train_digits": ["course_lib.data.digits"],
    "check_Linear": ["course_lib.layers.Linear"],
    "check_ReLU": ["course_lib.layers.ReLU"],
    "check_Tanh": ["course_lib.layers.Tanh"],
    "check_Sequential": ["course_lib.layers.Sequential"],
    "check_sequential_loss_and_grads": [f"{_R}.reference_loss_and_grads"],
    "check_train_sequential": [f"{_R}.reference_train", f"{_R}.reference_loss_and_grads"],
    "check_fit_spirals": [],
    # ---- notebook 09: a layer's numerical gradient, sigmoid with binary cross entropy, batch norm, dropout
    "check_numerical_gradient_array": [f"{_G}.numerical_gradient_array", f"{_G}.numerical_gradient", f"{_G}.eps_sweep"],
    "check_sigmoid_bce_loss": [f"{_B}.sigmoid_binary_cross_entropy", f"{_B}.binary_cross_entropy",
                               f"{_B}.SigmoidBinaryCrossEntropy"],
    "check_sigmoid_bce_backward": [f"{_B}.sigmoid_binary_cross_entropy_backward", f"{_B}.binary_cross_entropy_backward",
                                   f"{_B}.SigmoidBinaryCrossEntropy"],
    "check_batchnorm_forward": ["course_lib.batchnorm.batchnorm_forward", "course_lib.batchnorm.BatchNorm"],
    "check_batchnorm_backward": ["course_lib.batchnorm.batchnorm_backward", "course_lib.batchnorm.BatchNorm"],
    "check_dropout_forward": ["course_lib.dropout.dropout_forward", "course_lib.dropout.Dropout"],
    "check_dropout_backward": ["course_lib.dropout.dropout_backward", "course_lib.dropout.Dropout"],
    # ---- notebook 10: initialisers by name, per-layer statistics, dead units, the leaky ReLU
    # Every course function that draws He or LeCun weights from a seed is a route to initialise's answer.
    "check_initialise": [*(f"{_I}.{n}" for n in ("he", "glorot", "glorot_uniform", "lecun", "zeros", "scaled_normal",
                                                 "variance", "get_initialiser", "stack")),
                         "course_lib.layers.Linear", "course_lib.layers.mlp_stack", f"{_M}.init_params",
                         "course_lib.depth.initial_weights", "course_lib.depth.build_stack"],
    "check_layer_statistics": ["course_lib.diagnostics.network_statistics"],
    "check_dead_units_and_examples": ["course_lib.diagnostics.dead_units", "course_lib.diagnostics.inactive_examples",
                                      "course_lib.dead_relus.dead_units",
                                      "course_lib.dead_relus.examples_with_every_unit_off"],
    "check_LeakyReLU": ["course_lib.layers.LeakyReLU", f"{_A}.leaky_relu", f"{_A}.leaky_relu_backward"],
}

# ------------------------------------------------------------ notebook 11: training that works
# The optimizers and early stopping are refused with the checker's own replays of them. CosineDecay and
# EarlyStopping are dataclasses: being references, they are stubs in the sandbox like any class
# (facade.keeps_real), so that refusing them refuses them everywhere.
_T, _O, _WD, _BT, _C11 = ("course_lib.train", "course_lib.optim", "course_lib.weight_decay", "course_lib.bugs_training",
                          "course_lib.checks.optim11")
REFERENCES.update({
    "check_minibatches": [f"{_T}.minibatches"],
    "check_l2_penalty": [f"{_WD}.l2_penalty"],
    "check_l2_penalty_gradient": [f"{_WD}.l2_penalty_gradient", f"{_WD}.add_weight_decay",
                                  f"{_BT}.l2_penalty_gradient_with_biases", f"{_BT}.l2_penalty_gradient_doubled"],
    "check_cosine_decay": [f"{_O}.CosineDecay"],
    "check_update_to_weight_ratio": [f"{_O}.update_to_weight_ratio"],
    "check_Momentum": [f"{_O}.Momentum", f"{_BT}.MomentumPreviousGradient", f"{_C11}._trajectory"],
    "check_Adam": [f"{_O}.Adam", f"{_BT}.AdamWithoutBiasCorrection", f"{_C11}._trajectory"],
    "check_EarlyStopping": [f"{_T}.EarlyStopping"],
    # fit is meant to use the course's network, sampler and (handed in) optimizer; not its training loops.
    "check_fit": [f"{_T}.fit", f"{_T}._step", f"{_T}.train", "course_lib.checks.fit11.reference_fit",
                  "course_lib.experiments.train_network"],
})

# ------------------------------------------------------------ notebook 12: reverse-mode autodiff
# The graph checkers hand the student's functions graphs of course_lib.autodiff Tensors, so the Tensor
# class stays available there (its shape property is read); the network checkers refuse it whole.
_AD, _BA = "course_lib.autodiff", "course_lib.bugs_autodiff"
_G12, _N12 = "course_lib.checks.graph12", "course_lib.checks.networks12"
_ENGINE = [f"{_AD}.backward", f"{_AD}.value_and_grad", f"{_AD}.topological_order", f"{_AD}.zero_grad",
           f"{_BA}.backward_overwriting_at_fan_out", f"{_BA}.backward_broadcast_not_summed",
           f"{_BA}.backward_breadth_first", f"{_BA}.backward_without_reset", f"{_G12}._wrong_backward",
           f"{_G12}._overwriting", f"{_G12}._overwriting_flipped", f"{_G12}._breadth", f"{_G12}._breadth_flipped",
           f"{_G12}.Graph", f"{_G12}._passes", f"{_G12}._depth_first"]
_HAND_WRITTEN = [f"{_M}.backward", "course_lib.affine.affine_backward", f"{_L}.softmax_cross_entropy_backward",
                 f"{_A}.relu_backward", f"{_R}.reference_loss_and_grads", *_OTHER_BACKWARDS]
REFERENCES.update({
    "check_unbroadcast": [f"{_AD}.unbroadcast"],
    "check_tensor_add": [f"{_AD}.Tensor", "course_lib.checks.autodiff12._reference"],
    "check_tensor_matmul": [f"{_AD}.Tensor", "course_lib.checks.autodiff12._reference"],
    "check_tensor_relu": [f"{_AD}.Tensor", "course_lib.checks.autodiff12._reference", f"{_A}.relu", f"{_A}.relu_backward"],
    "check_tensor_sum": [f"{_AD}.Tensor", "course_lib.checks.autodiff12._reference"],
    "check_tensor_log_softmax": [f"{_AD}.Tensor", "course_lib.checks.autodiff12._reference", f"{_L}.log_softmax",
                                 f"{_L}.softmax_cross_entropy"],
    "check_topological_order": [f"{_AD}.topological_order", f"{_G12}._depth_first", f"{_G12}._nodes"],
    "check_autodiff_backward": _ENGINE,
    "check_mlp_loss_and_grads": [*_ENGINE, f"{_AD}.Tensor", *_HAND_WRITTEN, f"{_N12}._mlp_expected"],
    "check_residual_loss_and_grads": [*_ENGINE, f"{_AD}.Tensor", f"{_AD}.residual_mlp_loss",
                                      f"{_N12}._residual_expected", f"{_N12}.reference_residual_loss"],
    "check_train_autodiff": [*_ENGINE, f"{_AD}.Tensor", *_HAND_WRITTEN, f"{_N12}._reference_train",
                             f"{_N12}._autodiff_train", f"{_T}.train", f"{_T}.fit", f"{_T}._step", f"{_R}.reference_train"],
})

# The catalogue's buggy variants are working code too: a variant of a banned reference is banned
# with it (a variant that is right but for one term would otherwise lend that term out).
_TARGETS = {"affine_backward": "course_lib.affine.affine_backward", "affine_forward": "course_lib.affine.affine_forward",
            "softmax": f"{_L}.softmax", "softmax_cross_entropy_backward": f"{_L}.softmax_cross_entropy_backward",
            "relu_backward": f"{_A}.relu_backward", "leaky_relu_backward": f"{_A}.leaky_relu_backward",
            "forward": f"{_M}.forward", "backward": f"{_M}.backward"}


def banned_names(checker: str) -> list[str]:
    """Every course_lib name refused to the student side while ``checker`` runs."""
    from course_lib import bugs

    names = list(REFERENCES.get(checker, []))
    for bug in bugs.ALL_BUGS.values():
        # A later catalogue's target is dotted inside course_lib ("batchnorm.batchnorm_backward").
        target = _TARGETS.get(bug.target) or (f"course_lib.{bug.target}" if "." in bug.target else None)
        if target in names:
            names.append(f"{bug.variant.__module__}.{bug.variant.__name__}")
    return sorted(set(names))


@functools.lru_cache(maxsize=1)
def refused_anywhere() -> frozenset:
    """Every name some checker refuses (such a name is never real code inside the sandbox)."""
    return frozenset(n for checker in REFERENCES for n in banned_names(checker))


# Bases whose own code every layer shares (a student's layer may build on them): never refused.
GENERIC_BASES = {"course_lib.layers.Layer"}


def banned_functions(checker: str, real: dict) -> dict:
    """{name: [the functions whose code is refused]}. For a class: every function it has, its own or
    inherited from course code (``ReLU.forward`` is ``_Elementwise.forward`` calling ``relu``), except
    what the generic bases define."""
    import inspect

    generic = {id(real[g]) for g in GENERIC_BASES if g in real}
    out = {}
    for name in banned_names(checker):
        obj = real.get(name)
        if obj is None:
            continue
        if isinstance(obj, type):
            funcs = []
            for attr in dir(obj):
                owner = next((k for k in obj.__mro__ if attr in vars(k)), None)
                if owner is None or owner is object or id(owner) in generic:
                    continue
                raw = inspect.getattr_static(obj, attr)
                if isinstance(raw, (staticmethod, classmethod)):
                    raw = raw.__func__
                elif isinstance(raw, property):
                    raw = raw.fget
                if hasattr(raw, "__code__") and str(getattr(raw, "__module__", "")).startswith("course_lib"):
                    funcs.append(raw)
        elif hasattr(obj, "__code__"):
            funcs = [obj]
        else:
            continue
        out[name] = funcs
    return out


# Course functions that neither change their arguments nor keep state: their calls from the sandbox
# may travel by value, without the shared objects' bookkeeping (much faster in a training loop).
# A call whose arguments are not plain data, or whose result is not, still takes the general path.
PURE = frozenset([
    *(f"{_A}.{n}" for n in ("relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "tanh", "tanh_backward",
                            "sigmoid", "sigmoid_backward")),
    *(f"{_L}.{n}" for n in ("softmax", "log_softmax", "one_hot", "as_one_hot", "cross_entropy", "softmax_cross_entropy",
                            "softmax_cross_entropy_backward", "accuracy")),
    "course_lib.affine.affine_forward", "course_lib.affine.affine_backward",
    *(f"{_M}.{n}" for n in ("forward", "backward", "loss", "predict", "init_params")),
    f"{_G}.rel_error", f"{_G}.verdict",
    *(f"course_lib.data.{n}" for n in ("tiny_batch", "spirals", "blobs")),
    *(f"{_R}.{n}" for n in ("reference_shapes", "reference_count", "reference_finite_difference_passes")),
])

# Course functions the student side may run itself, in a notebook none of whose exercises refuses
# them: they keep no state, read no files, and call other course code only through the module's
# names (so a refused name stays refused: inside the sandbox it is still a stub the grader answers).
# Their code is sent at the session's start (trusted.Session), never written to the sandbox's files;
# the student could call them through the grader anyway, this only spares the round trips.
SANDBOX_RUNNABLE = frozenset([
    *(f"{_A}.{n}" for n in ("relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "tanh", "tanh_backward",
                            "sigmoid", "sigmoid_backward")),
    *(f"{_L}.{n}" for n in ("softmax", "log_softmax", "one_hot", "as_one_hot", "cross_entropy", "softmax_cross_entropy",
                            "softmax_cross_entropy_backward", "accuracy")),
    "course_lib.affine.affine_forward", "course_lib.affine.affine_backward",
    *(f"{_M}.{n}" for n in ("forward", "backward", "loss", "predict", "sgd_step")),
    f"{_G}.rel_error",
])


def sandbox_runnable(checkers, real: dict) -> dict:
    """{name: function} of SANDBOX_RUNNABLE that no checker among ``checkers`` refuses."""
    refused = {n for c in checkers for n in banned_names(c)}
    return {n: real[n] for n in sorted(SANDBOX_RUNNABLE - refused) if n in real}


# -------------------------------------------------------------------------------- file system
def python_layout() -> dict:
    """Where the student process's Python is, inside the sandbox: the interpreter's own installation
    at /opt/python (unless it is part of /usr, which is shown anyway) and each folder of installed
    packages at /opt/site/N. No path of the grading machine appears: not its home, not the course.
    Returns {"mounts": [(host path, sandbox path)], "python": interpreter in the sandbox,
    "site": [sandbox site folders], "env": {extra environment}}."""
    real = Path(os.path.realpath(sys.executable))
    base = Path(sys.base_prefix).resolve()
    mounts, env = [], {}
    if base.is_relative_to("/usr"):
        python = str(real)
    else:
        mounts.append((base, Path("/opt/python")))
        python = str(Path("/opt/python") / real.relative_to(base)) if real.is_relative_to(base) else str(real)
        # The interpreter finds libpython through an absolute run path into its real prefix.
        env["LD_LIBRARY_PATH"] = "/opt/python/lib"
    site = []
    for i, d in enumerate(site_dirs()):
        host = Path(d).resolve()
        if host.is_relative_to(base) and not base.is_relative_to("/usr"):
            site.append(str(Path("/opt/python") / host.relative_to(base)))
        elif host.is_relative_to("/usr"):
            site.append(str(host))
        else:
            mounts.append((host, Path(f"/opt/site/{i}")))
            site.append(f"/opt/site/{i}")
    return {"mounts": mounts, "python": python, "site": site, "env": env}


def site_dirs() -> list[str]:
    """Where the installed packages are (numpy, matplotlib...), for the student process's sys.path."""
    out = []
    for key in ("purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p and p not in out:
            out.append(p)
    return out


def hidden_inside_python(layout: dict) -> list[str]:
    """course_lib and the grader as installed packages (a wheel install puts them in site-packages),
    as sandbox paths: covered by empty folders, so that only the stubbed copy can be imported."""
    out = []
    for host, inside in zip(site_dirs(), layout["site"]):
        for name in ("course_lib", "grader"):
            if (Path(host) / name).exists():
                out.append(f"{inside}/{name}")
    return out


# ------------------------------------------------------------------------------------ limits
MEMORY_MB = 2048        # address space of the student process, and its memory with its /tmp
SCRATCH_MB = 64         # its private /tmp
FILE_MB = 64            # the largest file it may write
PROCESSES = 16          # threads and processes together (numpy runs single-threaded here)
OPEN_FILES = 256
CPU_MARGIN = 2.0        # CPU seconds allowed: this many times the wall-clock budget of a job

# Environment of the student process: nothing of the grader's.
ENVIRONMENT = {
    "PATH": "/usr/bin:/bin", "HOME": "/tmp", "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
    "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/.matplotlib", "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
}

# --------------------------------------------------------------------------------- seccomp
# System calls the student process may not make (each fails with EPERM): everything that could
# change what the sandbox shows, look into another process, or reach the kernel's attack surface.
DENIED_SYSCALLS = [
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "unshare", "setns", "ptrace", "process_vm_readv", "process_vm_writev",
    "kcmp", "pidfd_getfd", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "init_module", "finit_module", "delete_module",
    "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    "iopl", "ioperm", "name_to_handle_at", "open_by_handle_at", "lookup_dcookie", "vhangup",
    "fanotify_init", "personality", "mknod", "mknodat", "uselib",
]
# clone() may not make namespaces; clone3 hides its flags, so it is refused (libc falls back to clone).
CLONE_NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000,
                         0x00000080]
ERRNO = errno.EPERM
