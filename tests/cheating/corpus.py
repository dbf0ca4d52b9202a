"""The attack corpus: submissions that try to fool, escape or stall the grader, and honest ones that
must never be flagged or lose a point. One attack at least per finding of issue 9 and per clause of
the README's threat model.

`python tests/cheating/corpus.py` writes tests/cheating/submissions/ (committed; a test checks
that it matches this file). Every submission is the student version of a notebook with the
solutions filled in, then changed as described; EXPECTED statuses are stated by hand.
tests/test_cheating.py grades the corpus with the real grading command.

Escape attempts report on themselves: the attack runs when the notebook is replayed and leaves
its findings in EVIDENCE, and the graded relu raises "BREACH: <findings>" if there are any. So a
passing relu proves, through the real command, that the attempt found nothing; and no output of the
grader may contain the word BREACH.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grader.demo import Student, _sig, build  # noqa: E402
from grader.notebooks import is_test_cell, nbgrader_meta  # noqa: E402

F, B, G, H, D, W = "02_forward_cache", "03_backward", "04_gradient_check", "05_bug_hunt", "07_any_depth", "06_whole_system"
T = "11_training"
ASSIGNMENTS = {F: "forward_cache", B: "backward", G: "gradient_check", H: "bug_hunt", W: "whole_system", D: "any_depth",
               T: "training"}
OUT = Path(__file__).resolve().parent / "submissions"

WRONG_RELU = {(F, "relu"): _sig("relu", "Z", "return Z")}  # not a ReLU at all
NOT_DONE_SPIRALS = _sig("fit_spirals", "X, labels", "raise NotImplementedError()")
REPORTING_RELU = {(F, "relu"): _sig("relu", "Z", "if EVIDENCE:\n    raise RuntimeError('BREACH: ' + repr(EVIDENCE)[:500])\n"
                                                 "return np.maximum(Z, 0.0)")}


# What one session leaves for the next (each session must start as if it were the first): the cell
# looks for the traces of an earlier session, then leaves its own.
TRACES = """
def _traces():
    import ctypes, os, socket
    found = [f'file {p}' for p in ('/tmp/.cg-trace', '/dev/shm/.cg-trace', '/dev/.cg-trace') if os.path.exists(p)]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect('\\0cg-trace')
        found.append('abstract socket')
    except OSError:
        pass
    finally:
        s.close()
    if ctypes.CDLL(None, use_errno=True).shmget(0x5eed, 0, 0) >= 0:
        found.append('SysV shared memory')
    for p in os.listdir('/proc'):
        try:
            if p.isdigit() and open(f'/proc/{p}/comm').read().strip() == 'cg-trace':
                found.append(f'process {p}')
        except OSError:
            pass
    return found


def _leave():
    import ctypes, os, socket, time
    for p in ('/tmp/.cg-trace', '/dev/shm/.cg-trace', '/dev/.cg-trace'):
        try:
            open(p, 'w').write('x')
        except OSError:
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget(0x5eed, 4096, 0o1000 | 0o600)   # IPC_CREAT
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                libc.prctl(15, b'cg-trace', 0, 0, 0)   # PR_SET_NAME
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind('\\0cg-trace')
                s.listen(1)
                time.sleep(600)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


try:
    EVIDENCE = _traces() or None
    _leave()
except BaseException:
    EVIDENCE = None
"""


def probe(name: str, what: str, code: str, **kw) -> Student:
    """An escape attempt that reports on itself (see the module's docstring); ``code`` defines
    ``_attack() -> findings or None``."""
    cell = ("def _attack():\n" + "\n".join("    " + line for line in code.strip().splitlines()) +
            "\n\ntry:\n    EVIDENCE = _attack()\nexcept BaseException as _e:\n    EVIDENCE = None\n")
    return Student(name, what, extra_cell={F: cell}, solutions=dict(REPORTING_RELU), submits=(F,), **kw)


# ---------------------------------------------- 1. no privilege: capabilities, mounts, processes
PRIVILEGE = [
    probe("has_capabilities", "reads its capabilities and no_new_privs", """
status = open('/proc/self/status').read()
found = [l for l in status.splitlines() if l.startswith(('CapEff', 'CapPrm', 'CapAmb')) and int(l.split()[1], 16) != 0]
if 'NoNewPrivs:\\t1' not in status:
    found.append('no_new_privs is off')
if 'Seccomp:\\t2' not in status:
    found.append('no seccomp filter')
import os
if os.getuid() == 0 or os.geteuid() == 0:
    found.append('uid 0')
return found or None"""),
    probe("unmounts_and_remounts", "umount2, mount --remount rw, pivot_root, chroot through ctypes", """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
found = []
if libc.umount2(b'/tmp', 2) == 0: found.append('umount2 /tmp')
if libc.mount(b'none', b'/', None, 32 | 4096, None) == 0: found.append('remount / rw')
if libc.mount(b'tmpfs', b'/mnt', b'tmpfs', 0, None) == 0: found.append('mount tmpfs')
if libc.chroot(b'/tmp') == 0: found.append('chroot')
return found or None"""),
    probe("new_namespaces", "unshare and setns a user namespace, clone3", """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
found = []
if libc.unshare(0x10000000) == 0: found.append('unshare(CLONE_NEWUSER)')
if libc.unshare(0x00020000) == 0: found.append('unshare(CLONE_NEWNS)')
fd = os.open('/proc/self/ns/user', os.O_RDONLY)
if libc.setns(fd, 0) == 0: found.append('setns')
if libc.syscall(435, 0, 0) >= 0: found.append('clone3')
return found or None"""),
    probe("ptraces_and_keys", "ptrace, process_vm_readv, keyctl, bpf, perf_event_open, io_uring", """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
found = []
for name, nr, args in [('ptrace', 101, (16, 1, 0, 0)), ('keyctl', 250, (0, 0, 0, 0)), ('bpf', 321, (0, 0, 0)),
                       ('perf_event_open', 298, (0, 0, -1, -1, 0)), ('io_uring_setup', 425, (8, 0)),
                       ('userfaultfd', 323, (0,)), ('kexec_load', 246, (0, 0, 0, 0)), ('init_module', 175, (0, 0, 0))]:
    r = libc.syscall(nr, *args)
    if r >= 0 or ctypes.get_errno() not in (1, 38, 22, 14):   # EPERM, ENOSYS (and the kernel's own refusals)
        found.append(f'{name}: {r} errno {ctypes.get_errno()}')
return found or None"""),
    probe("sees_other_processes", "looks for the grader's processes through /proc and signals pid 1", """
import os, signal
found = [p for p in os.listdir('/proc') if p.isdigit() and int(p) > 10]
try:
    os.kill(1, 0)
except OSError:
    pass
return (['other pids: ' + ','.join(found[:10])] if len(found) > 3 else None)"""),
    probe("reaches_other_processes", "reads and writes what /proc shows of every process outside its own session "
          "(the sandbox's zygote and supervisors among them): memory, environment, descriptors, OOM score", """
import os
def depth(p):   # how many pid namespaces deep, as /proc sees it: its own session's are as deep as it is
    try:
        for line in open(f'/proc/{p}/status'):
            if line.startswith('NSpid:'):
                return len(line.split()) - 1
    except OSError:
        return None
mine = depth('self')
found = []
for p in (p for p in os.listdir('/proc') if p.isdigit()):
    if depth(p) == mine:
        continue   # one of its own session's processes
    for what in ('status', 'environ', 'cmdline', 'maps', 'mem', 'stat'):
        try:
            open(f'/proc/{p}/{what}', 'rb').read(1)
            found.append(f'read /proc/{p}/{what}')
        except OSError:
            pass
    for what in ('fd', 'task', 'root'):
        try:
            os.listdir(f'/proc/{p}/{what}')
            found.append(f'listed /proc/{p}/{what}')
        except OSError:
            pass
    for what in ('oom_score_adj', 'clear_refs', 'sched'):
        try:
            os.close(os.open(f'/proc/{p}/{what}', os.O_WRONLY))
            found.append(f'may write /proc/{p}/{what}')
        except OSError:
            pass
return found or None"""),
    probe("reaches_the_network", "opens a TCP socket to the grader's machine, and a netlink socket", """
import socket
found = []
for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
    try:
        s = socket.socket(family, socket.SOCK_STREAM if family in (socket.AF_INET, socket.AF_INET6) else socket.SOCK_RAW)
        found.append(f'opened family {family}')
        s.close()
    except OSError:
        pass
return found or None"""),
]

# ---------------------------------------------------- 2. sees nothing of the host but the allow-list
VISIBILITY = [
    probe("walks_the_file_system", "lists what the sandbox shows: anything beyond its allow-list, and any data file "
          "outside the installed packages", """
import os
allowed = {'usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'etc', 'opt', 'tmp', 'proc', 'dev'}
found = [f'/{name}' for name in os.listdir('/') if name not in allowed]
found += [f'/etc/{name}' for name in os.listdir('/etc') if name != 'ld.so.cache']
found += [f'/opt/{name}' for name in os.listdir('/opt') if name not in ('python', 'site', 'course')]
def compiled_stub(root, f):   # __pycache__/x.cpython-3NN.pyc beside its x.py: the same stub, compiled
    source = os.path.join(os.path.dirname(root), f.split('.')[0] + '.py')
    return os.path.basename(root) == '__pycache__' and f.endswith('.pyc') and os.path.isfile(source)
for root, dirs, files in os.walk('/opt/course'):
    found += [os.path.join(root, f) for f in files if not f.endswith(('.py', 'complete')) and not compiled_stub(root, f)]
for root, dirs, files in os.walk('/tmp'):
    found += [os.path.join(root, f) for f in files]
return found or None"""),
    probe("reads_host_secrets", "reads /etc/shadow, /root, /home, SSH keys, environment variables", """
import os
found = []
for path in ('/etc/shadow', '/etc/passwd', '/root/.ssh', '/root', '/home', '/etc/hostname'):
    if os.path.exists(path) and path not in ('/root',):
        found.append(path)
if os.path.isdir('/root') and os.listdir('/root'):
    found.append('/root has ' + ','.join(os.listdir('/root')[:5]))
leak = [k for k in os.environ if k not in ('PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'MPLBACKEND', 'MPLCONFIGDIR',
        'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'PYTHONDONTWRITEBYTECODE', 'PYTHONHASHSEED', 'PWD',
        'LD_LIBRARY_PATH')]
return (found + leak) or None"""),
    probe("reads_the_real_course_lib", "looks for the reference code: the stubs' source, the installed package, its data", """
import ast, inspect, os, sys
import course_lib.activations, course_lib.losses, course_lib.affine, course_lib.mlp
found = []
for module in (course_lib.activations, course_lib.losses, course_lib.affine, course_lib.mlp):
    calls = {n.func.attr for n in ast.walk(ast.parse(inspect.getsource(module)))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    if calls & {'exp', 'maximum', 'sum', 'where', 'max'}:
        found.append(f'reference code in {module.__name__}: {sorted(calls)}')
for d in sys.path:
    for name in ('course_lib', 'grader'):
        p = os.path.join(d, name)
        if os.path.isdir(p) and os.listdir(p) and p != os.path.dirname(os.path.dirname(course_lib.__file__)) + '/course_lib':
            found.append(p)
if os.path.exists(os.path.join(os.path.dirname(course_lib.__file__), 'datasets')):
    found.append('datasets folder')
import marshal, types
def names(code):   # every name a compiled module's code uses, its functions' included
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= names(c)
    return out
for module in (course_lib.activations, course_lib.losses, course_lib.affine, course_lib.mlp):
    cache = os.path.join(os.path.dirname(module.__file__), '__pycache__')
    for f in os.listdir(cache) if os.path.isdir(cache) else []:
        if f.startswith(module.__name__.rsplit('.', 1)[1] + '.'):
            with open(os.path.join(cache, f), 'rb') as pyc:
                used = names(marshal.loads(pyc.read()[16:]))
            if used & {'exp', 'maximum', 'where'}:
                found.append(f'reference code in the compiled {f}: {sorted(used)}')
return found or None"""),
    probe("writes_everywhere", "writes into /, the Python installation, the course package and a big file in /tmp", """
import os, sys
import course_lib
found = []
for path in ('/injected', sys.prefix + '/injected', os.path.dirname(course_lib.__file__) + '/injected.py', '/opt/course/x'):
    try:
        with open(path, 'w') as f:
            f.write('x')
        found.append(path)
    except OSError:
        pass
try:
    with open('/tmp/big', 'wb') as f:
        for _ in range(200):
            f.write(b'x' * (1 << 20))
    found.append('wrote 200 MB to /tmp')
except OSError:
    pass
finally:
    if os.path.exists('/tmp/big'):
        os.remove('/tmp/big')
return found or None"""),
]

# ------------------------------------------ 3. the reference of the exercise, in any form
REFERENCE = [
    Student("calls_reference", "answers relu with course_lib's own relu", solutions={(F, "relu"): "from course_lib.activations import relu"},
            expected={(F, "test_relu"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("delegates_softmax", "its softmax calls course_lib.losses.softmax",
            solutions={(F, "softmax"): _sig("softmax", "Z", "from course_lib.losses import softmax as reference\nreturn reference(Z)")},
            expected={(F, "test_softmax"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("reloads_the_module", "reloads course_lib.activations and loads it again from its file",
            solutions={(F, "relu"): _sig("relu", "Z", "import importlib, importlib.util, course_lib.activations as a\n"
                                                      "a = importlib.reload(a)\n"
                                                      "spec = importlib.util.spec_from_file_location('fresh', a.__file__)\n"
                                                      "fresh = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(fresh)\n"
                                                      "return fresh.relu(Z)")},
            expected={(F, "test_relu"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("unwraps_the_reference", "digs into the reference's closure, globals and code object",
            solutions={(F, "relu"): _sig("relu", "Z", "import course_lib.activations as a\nf = a.relu\n"
                                                      "for cell in (f.__closure__ or ()):\n    f = cell.cell_contents\n"
                                                      "g = type(f)(f.__code__, dict(f.__globals__))\nreturn g(Z)")},
            expected={(F, "test_relu"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("captured_helper", "its forward goes through bugs.forward_shared_cache, which calls mlp.forward",
            solutions={(F, "forward"): _sig("forward", "params, X", "from course_lib import bugs\nYhat, cache = bugs.forward_shared_cache(params, X)\n"
                                                                     "return Yhat, dict(cache)")},
            expected={(F, "test_forward"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("reference_ops", "its relu is the one in mlp.reference_ops()",
            solutions={(F, "relu"): "from course_lib import mlp as _m\nrelu = _m.reference_ops('relu').activation.forward"},
            expected={(F, "test_relu"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("course_lib_filename", "compiles its wrapper with a course_lib file name",
            solutions={(F, "relu"): "import course_lib.activations as _a\n_ns = {'_a': _a}\n"
                                    "exec(compile('def relu(Z):\\n    return _a.relu(Z)\\n', _a.__file__, 'exec'), _ns)\nrelu = _ns['relu']"},
            expected={(F, "test_relu"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("keeps_grader_function", "keeps the backward the grader passes to cache_unchanged and answers fixed_backward with it",
            solutions={(H, "cache_unchanged"): "_KEPT = []\n\n" + _sig("cache_unchanged", "forward, backward, params, X, Y", "\n".join([
                "import copy", "_KEPT.append(backward)", "_, cache = forward(params, X)", "before = copy.deepcopy((cache, params))",
                "backward(params, cache, Y)", "return all(np.array_equal(before[0][k], cache[k]) for k in before[0]) and "
                "all(np.array_equal(before[1][k], params[k]) for k in params)"])),
                       (H, "fixed_backward"): _sig("fixed_backward", "params, cache, Y", "return _KEPT[0](params, cache, Y)")},
            # (Its detector compares only the keys that were there, which the hidden checks catch too.)
            expected={(H, "test_fixed_backward"): ("tampered", ""), (H, "test_cache_unchanged"): ("failed", "")},
            flagged=(H,), submits=(H,)),
    Student("autodiff_backward", "answers backward with course_lib's autodiff engine",
            solutions={(B, "backward"): _sig("backward", "params, cache, Y", "from course_lib import autodiff\n"
                                                                             "loss, grads = autodiff.value_and_grad(autodiff.mlp_loss, params, cache['X'], Y)\n"
                                                                             "return grads")},
            expected={(B, "test_backward"): ("tampered", "")}, flagged=(B,), submits=(B,)),
    Student("laundering_variant", "builds output_layer_backward from a catalogued variant that is right for dW",
            solutions={(B, "output_layer_backward"): _sig("output_layer_backward", "dZ2, A1, W2",
                                                          "from course_lib import bugs\ndA1, dW2, _ = bugs.affine_backward_bias_mean(dZ2, (A1, W2))\n"
                                                          "return dW2, dZ2.sum(axis=0), dA1")},
            expected={(B, "test_output_layer_backward"): ("tampered", "")}, flagged=(B,), submits=(B,)),
    # Value classes (dataclasses) that are references: stubs in the sandbox, so refused like the rest.
    Student("early_stopping_is_the_reference", "answers EarlyStopping with course_lib.train.EarlyStopping (a dataclass)",
            solutions={(T, "EarlyStopping"): "from course_lib.train import EarlyStopping"},
            expected={(T, "test_EarlyStopping"): ("tampered", "")}, flagged=(T,), submits=(T,)),
    Student("cosine_through_the_reference", "its cosine_decay is course_lib.optim.CosineDecay (a frozen dataclass)",
            solutions={(T, "cosine_decay"): "from course_lib.optim import CosineDecay\n\n" + _sig(
                "cosine_decay", "t, lr, total_steps, lr_min=0.0", "return CosineDecay(lr, total_steps, lr_min)(t)")},
            expected={(T, "test_cosine_decay"): ("tampered", "")}, flagged=(T,), submits=(T,)),
]

# ----------------------------------------------------- 4. nothing rebuilt from a class name
OBJECTS = [
    # (These two leave fit_spirals undone: trained through course_lib's layers it is slow, and not the point.)
    Student("linear_is_the_reference", "answers Linear with course_lib.layers.Linear",
            solutions={(D, "Linear"): "from course_lib.layers import Linear", (D, "fit_spirals"): NOT_DONE_SPIRALS},
            expected={(D, "test_Linear"): ("tampered", ""), (D, "test_fit_spirals"): ("error", "")}, flagged=(D,), submits=(D,)),
    Student("linear_subclasses_reference", "subclasses course_lib.layers.Linear without writing anything",
            solutions={(D, "Linear"): "import course_lib.layers as _l\n\nclass Linear(_l.Linear):\n    pass",
                       (D, "fit_spirals"): NOT_DONE_SPIRALS},
            expected={(D, "test_Linear"): ("tampered", ""), (D, "test_fit_spirals"): ("error", "")}, flagged=(D,), submits=(D,)),
    Student("linear_renamed_class", "a class that claims to be course_lib.layers.Linear",
            solutions={(D, "Linear"): "class Linear:\n    __module__ = 'course_lib.layers'\n    __qualname__ = 'Linear'\n"
                                      "    def __init__(self, W, b):\n        self.params = {'W': W, 'b': b}\n"
                                      "    def forward(self, x):\n        return x, (x,)\n    def backward(self, dout, cache):\n"
                                      "        return dout, {}"},
            # Its broken Linear also breaks its own fit_spirals; the other exercises use course_lib's layers.
            expected={(D, "test_Linear"): ("failed", ""), (D, "test_fit_spirals"): ("error", "")}, submits=(D,)),
    Student("always_equal", "returns an object that compares equal to anything",
            solutions={(F, "softmax"): "class Anything:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n\n"
                                       + _sig("softmax", "Z", "return Anything()")},
            expected={(F, "test_softmax"): ("error", ""), (F, "test_forward"): ("error", "")}, submits=(F,)),
    Student("array_subclass", "returns an ndarray subclass whose comparisons always succeed",
            solutions={(F, "softmax"): "class Agreeable(np.ndarray):\n    def __eq__(self, other):\n"
                                       "        return np.ones(np.shape(self), dtype=bool)\n\n"
                                       + _sig("softmax", "Z", "return np.zeros_like(Z).view(Agreeable)")},
            expected={(F, "test_softmax"): ("error", ""), (F, "test_forward"): ("error", "")}, submits=(F,)),
]

# ------------------------------------------------------------- 5. the channel and 6. resources
CHANNEL = [
    Student("reshape_on_a_view", "numerical_gradient writes into x.reshape(-1): right for contiguous x only",
            solutions={(G, "numerical_gradient"): _sig("numerical_gradient", "f, x, eps=1e-5", "\n".join([
                "flat = x.reshape(-1)", "grad = np.zeros(flat.shape)", "for i in range(flat.size):", "    old = flat[i]",
                "    flat[i] = old + eps", "    fp = f()", "    flat[i] = old - eps", "    fm = f()", "    flat[i] = old",
                "    grad[i] = (fp - fm) / (2 * eps)", "return grad.reshape(x.shape)"]))},
            expected={(G, "test_numerical_gradient"): ("failed", ""), (G, "test_grad_check_group"): ("ok", "")}, submits=(G,)),
    Student("forges_a_huge_message", "writes a frame claiming 1.7 GB straight to the grader's channel",
            solutions={(F, "relu"): _sig("relu", "Z", "import os, struct, sys\nout = int(next(a for a in sys.argv if a.startswith('--fds='))"
                                                      ".split(',')[1])\nos.write(out, struct.pack('<4sII', b'CGv1', 1_700_000_000, 0))\n"
                                                      "return np.maximum(Z, 0.0)")},
            expected={(F, "test_relu"): ("tampered", ""), (F, "test_forward"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("floods_the_channel", "sends ten thousand forged requests and garbage",
            solutions={(F, "softmax"): _sig("softmax", "Z", "import os, sys, json, struct\nout = int(next(a for a in sys.argv if a.startswith('--fds='))"
                                                            ".split(',')[1])\nbody = json.dumps({'op': 'rpc', 'mode': 'service', 'name': 'course_lib.losses.softmax'}).encode()\n"
                                                            "for _ in range(10000):\n    os.write(out, struct.pack('<4sII', b'CGv1', len(body), 0) + body)\n"
                                                            "return Z")},
            expected={(F, "test_softmax"): ("tampered", ""), (F, "test_forward"): ("tampered", "")}, flagged=(F,), submits=(F,)),
    Student("ignores_alarms", "ignores SIGALRM and SIGTERM and loops, sending heartbeats to the grader",
            solutions={(F, "relu"): _sig("relu", "Z", "import signal, time\nfor s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):\n"
                                                      "    signal.signal(s, signal.SIG_IGN)\nfrom course_lib.data import tiny_batch\n"
                                                      "while True:\n    tiny_batch()\n    time.sleep(0.01)")},
            expected={(F, "test_relu"): ("timeout", ""), (F, "test_forward"): ("timeout", "")}, submits=(F,)),
    Student("fork_bomb", "forks until something breaks",
            solutions={(F, "relu"): _sig("relu", "Z", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass")},
            expected={(F, "test_relu"): ("timeout", ""), (F, "test_forward"): ("timeout", "")}, submits=(F,)),
    Student("fills_memory", "fills its memory and its /tmp",
            solutions={(F, "softmax"): _sig("softmax", "Z", "chunks = []\nwhile True:\n    chunks.append(np.empty(1 << 24))")},
            expected={(F, "test_softmax"): ("error", ""), (F, "test_forward"): ("error", "")}, submits=(F,)),
    Student("kills_everything", "kill(-1, SIGKILL) from inside the graded function",
            solutions={(F, "relu"): _sig("relu", "Z", "import os, signal\nos.kill(-1, signal.SIGKILL)\nreturn np.maximum(Z, 0.0)")},
            expected={(F, "test_relu"): ("error", ""), (F, "test_forward"): ("error", "")}, submits=(F,)),
    Student("lone_surrogate", "raises an exception whose message is one lone surrogate",
            solutions={(F, "relu"): _sig("relu", "Z", "raise ValueError('\\udc80' * 3)")},
            expected={(F, "test_relu"): ("error", ""), (F, "test_forward"): ("error", "")}, submits=(F,)),
    Student("huge_exception", "raises an exception with 50 MB of text and a deep cause chain",
            solutions={(F, "relu"): _sig("relu", "Z", "e = ValueError('x' * 50_000_000)\nfor _ in range(500):\n"
                                                      "    try:\n        raise RuntimeError('again') from e\n    except RuntimeError as new:\n"
                                                      "        e = new\nraise e")},
            expected={(F, "test_relu"): ("error", ""), (F, "test_forward"): ("error", "")}, submits=(F,)),
]

# ------------------------------------------------------------ replacing what the tests see
PATCHING = [
    Student("patches_numpy", "replaces numpy's comparisons so that any answer looks right",
            extra_cell={F: "import numpy.testing\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
                           "np.array_equal = lambda *a, **k: True\nnumpy.testing.assert_allclose = lambda *a, **k: None"},
            solutions=WRONG_RELU, expected={(F, "test_relu"): ("failed", ""), (F, "test_forward"): ("failed", "")},
            flagged=(F,), submits=(F,)),
    Student("patches_checker", "replaces the course's checker with one that always prints a tick",
            extra_cell={F: "checks.check_relu = lambda *a, **k: print('✔ relu: correct on all 11 test cases.')"},
            solutions=WRONG_RELU, expected={(F, "test_relu"): ("failed", ""), (F, "test_forward"): ("failed", "")},
            flagged=(F,), submits=(F,)),
    Student("hides_tracebacks", "replaces IPython's showtraceback and sys.excepthook",
            extra_cell={F: "import sys\nget_ipython().showtraceback = lambda *a, **k: None\nsys.excepthook = lambda *a: None"},
            solutions=WRONG_RELU, expected={(F, "test_relu"): ("failed", ""), (F, "test_forward"): ("failed", "")},
            flagged=(F,), submits=(F,)),
    Student("edits_test", "replaces the relu test with `pass`", test_edits={(F, "test_relu"): "pass"}, solutions=WRONG_RELU,
            expected={(F, "test_relu"): ("tampered", ""), (F, "test_forward"): ("failed", "")}, flagged=(F,), submits=(F,)),
    Student("deletes_test", "deletes the relu test", test_edits={(F, "test_relu"): None}, solutions=WRONG_RELU,
            expected={(F, "test_relu"): ("tampered", ""), (F, "test_forward"): ("failed", "")}, flagged=(F,), submits=(F,)),
    Student("raises_points", "gives the relu test 50 points",
            edit=lambda a, nb: _test_cell(nb, "test_relu").metadata["nbgrader"].update(points=50) if a == F else None,
            solutions=WRONG_RELU, expected={(F, "test_relu"): ("tampered", ""), (F, "test_forward"): ("failed", "")},
            flagged=(F,), submits=(F,)),
    Student("leaves_traces_between_sessions", "leaves files in /tmp, /dev/shm and /dev, SysV shared memory, an abstract "
            "socket and a daemon, then ends its process in relu: the grader starts a new session for the next "
            "exercise, whose replay looks for all of them", extra_cell={F: TRACES}, submits=(F,),
            solutions={(F, "relu"): _sig("relu", "Z", "if EVIDENCE:\n    raise RuntimeError('BREACH: ' + repr(EVIDENCE)[:500])\n"
                                                      "import os\nos._exit(3)")},
            expected={(F, "test_relu"): ("error", ""), (F, "test_forward"): ("error", "")}),
    Student("ends_kernel_early", "ends its process in the first cell, having solved nothing", blank=True,
            extra_cell={F: "import os\nos._exit(0)"}, submits=(F,),
            expected={(F, g): ("error", "") for g in ("test_relu", "test_softmax", "test_cross_entropy", "test_forward")}),
]

# ----------------------------------------------------------------- 8. predictable hidden inputs
PREDICTION = [
    Student("memorises_the_split", "recognises the held-out split among the public ones and trains on its test half",
            solutions={(W, "train_digits"): _sig("train_digits", "X_train, y_train, seed=0, X_monitor=None, y_monitor=None", "\n".join([
                "from course_lib import data, mlp, train", "from course_lib.losses import one_hot",
                "for k in range(10):", "    split = PUBLIC[k]",
                "    if split.X_train.shape == X_train.shape and np.array_equal(split.X_train, X_train):",
                "        X_all = np.concatenate([X_train, split.X_test]); y_all = np.concatenate([y_train, split.y_test])",
                "        params = mlp.init_params(64, 64, 10, seed=seed)",
                "        h = train.train(params, X_all, one_hot(y_all, 10), lr=0.5, steps=1500, batch_size=64, seed=seed)",
                "        return params, h",
                "params = mlp.init_params(64, 1, 10, seed=seed)   # no split recognised: a network that cannot learn",
                "return params, train.train(params, X_train, one_hot(y_train, 10), lr=0.0, steps=2, seed=seed)"])),
                       (W, "overfit_tiny_batch"): "from course_lib import data as _d\nPUBLIC = [_d.digits(seed=k) for k in range(10)]\n\n"
                       + _sig("overfit_tiny_batch", "params, X, Y, lr=0.5, steps=200", "\n".join([
                           "from course_lib import mlp", "from course_lib.losses import cross_entropy", "losses = []",
                           "for _ in range(steps):", "    Yhat, cache = mlp.forward(params, X)", "    losses.append(cross_entropy(Yhat, Y))",
                           "    mlp.sgd_step(params, mlp.backward(params, cache, Y), lr)", "return losses"]))},
            expected={(W, "test_train_digits"): ("failed", "")}, submits=(W,)),
]

# --------------------------------------------------------------- copying, for the report
COPYING = [
    Student("copies_reference_source", "pastes course_lib's own forward (mlp.forward) as its answer",
            solutions={(F, "forward"): "from course_lib.mlp import reference_ops\n_OPS = reference_ops('relu')\n\n" + _sig(
                "forward", "params, X, ops=_OPS",
                'Z1, _ = ops.affine_forward(X, params["W1"], params["b1"])\nA1 = ops.activation.forward(Z1)\n'
                'Z2, _ = ops.affine_forward(A1, params["W2"], params["b2"])\nYhat = ops.softmax(Z2)\n'
                'return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}')}, submits=(F,)),
    Student("copies_a_friend_a", "writes forward in an unusual way",
            solutions={(F, "forward"): _sig("forward", "params, X", "h = relu(np.dot(X, params['W1']) + params['b1'])\n"
                                                                     "p = softmax(np.dot(h, params['W2']) + params['b2'])\n"
                                                                     "return p, {'X': X, 'Z1': np.dot(X, params['W1']) + params['b1'], 'A1': h, 'Yhat': p}")},
            submits=(F,)),
    Student("copies_a_friend_b", "the same forward with other names",
            solutions={(F, "forward"): _sig("forward", "params, X", "hidden = relu(np.dot(X, params['W1']) + params['b1'])\n"
                                                                     "probs = softmax(np.dot(hidden, params['W2']) + params['b2'])\n"
                                                                     "return probs, {'X': X, 'Z1': np.dot(X, params['W1']) + params['b1'], 'A1': hidden, 'Yhat': probs}")},
            submits=(F,)),
]

ATTACKS = PRIVILEGE + VISIBILITY + REFERENCE + OBJECTS + CHANNEL + PATCHING + PREDICTION

HONEST = [
    Student("honest_perfect", "the instructor's solutions", submits=(F, B, D)),
    Student("honest_style", "numpy under another name, np.einsum, helper functions, and the course's plots",
            extra_cell={F: "import numpy as jnp\nfrom course_lib import plots\n\n"
                           "def _row_max(Z):\n    return Z.max(axis=1, keepdims=True)"},
            solutions={(F, "softmax"): _sig("softmax", "Z", "E = jnp.exp(Z - _row_max(Z))\nreturn E / E.sum(axis=1, keepdims=True)"),
                       (F, "forward"): _sig("forward", "params, X", "\n".join([
                           'Z1 = jnp.einsum("nd,dh->nh", X, params["W1"]) + params["b1"]', "A1 = relu(Z1)",
                           'Yhat = softmax(jnp.einsum("nh,hc->nc", A1, params["W2"]) + params["b2"])',
                           'return Yhat, {"X": X, "Z1": Z1, "A1": A1, "Yhat": Yhat}']))}, submits=(F,)),
    Student("honest_warns", "a correct relu that warns", solutions={(F, "relu"): _sig(
        "relu", "Z", "import warnings\nwarnings.warn('just a warning')\nreturn np.maximum(Z, 0.0)")}, submits=(F,)),
    Student("honest_namedtuple", "returns (Yhat, cache) as a namedtuple and the cache as an OrderedDict",
            solutions={(F, "forward"): "from collections import OrderedDict, namedtuple\nOut = namedtuple('Out', 'Yhat cache')\n\n"
                       + _sig("forward", "params, X", 'Z1 = X @ params["W1"] + params["b1"]\nA1 = relu(Z1)\n'
                                                      'Yhat = softmax(A1 @ params["W2"] + params["b2"])\n'
                                                      'return Out(Yhat, OrderedDict([("X", X), ("Z1", Z1), ("A1", A1), ("Yhat", Yhat)]))')},
            submits=(F,)),
    Student("honest_slots", "layers written with __slots__",
            edit=lambda a, nb: _replace_in(a, nb, D, "Linear", "class Linear:", "class Linear:\n    __slots__ = ('params',)"),
            submits=(D,)),
    Student("honest_display", "IPython display settings, %%time and a figure saved to an absolute path",
            extra_cell={F: "get_ipython().ast_node_interactivity = 'all'\nget_ipython().run_line_magic('config', \"InlineBackend.figure_format = 'svg'\")\n"
                           "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig('/home/alice/figure.png')\n"
                           "open('/home/alice/notes.txt').read()"},
            edit=lambda a, nb: _replace_in(a, nb, F, "relu", "def relu", "%%time\ndef relu"), submits=(F,)),
    Student("honest_loop", "an unfinished while loop: a time-out, not tampering",
            solutions={(B, "relu_backward"): _sig("relu_backward", "dA1, Z1", "i = 0\nout = dA1.copy()\nwhile i < out.size:\n"
                                                                               "    out.flat[i] *= Z1.flat[i] > 0")},
            expected={(B, "test_relu_backward"): ("timeout", ""), (B, "test_backward"): ("timeout", "")}, submits=(B,)),
    Student("honest_debug_print", "prints inside its functions and keeps a debugging global",
            solutions={(F, "relu"): "CALLS = []\n\n" + _sig("relu", "Z", "CALLS.append(Z.shape)\nprint('relu on', Z.shape)\nreturn np.where(Z > 0, Z, 0.0)")},
            submits=(F,)),
]
CORPUS = ATTACKS + HONEST + COPYING


def _test_cell(nb, grade_id):
    return next(c for c in nb.cells if is_test_cell(c) and nbgrader_meta(c)["grade_id"] == grade_id)


def _replace_in(a, nb, assignment, grade_id, old, new):
    from grader.demo import _replace_in as replace

    replace(a, nb, assignment, grade_id, old, new)


def make(out: Path = OUT) -> Path:
    return build(out, CORPUS, ASSIGNMENTS, extra_files={})


if __name__ == "__main__":
    print(f"corpus written to {make()}")
