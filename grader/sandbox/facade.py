"""The sandbox's copy of course_lib: the same modules, names and signatures, with no reference code.

Every function and every method of every class is replaced by a stub that asks the grader to run
the real one (grader/sandbox/inside/_course_rpc.py); what stays real is what the policy lists
(the plotting helpers), value classes (dataclasses, named tuples, exceptions), constants and module
level code. The checkers become no-ops: they run in the grader's process. The data files are left
out (data.digits is a stub like any other). A student who reads every file the sandbox holds finds
signatures and docstrings, and nothing that computes an exercise's answer.

The copy is generated from the installed course_lib into a cache folder, once per version of it.
"""
from __future__ import annotations

import ast
import compileall
import hashlib
import os
import py_compile
import secrets
import shutil
from pathlib import Path

import course_lib

from . import policy

INSIDE = Path(__file__).with_name("inside")
CHANNEL = Path(__file__).with_name("channel.py")
RPC = "_course_rpc_"


def course_lib_dir() -> Path:
    return Path(course_lib.__file__).resolve().parent


def modules(root: Path | None = None) -> list[tuple[str, Path]]:
    """(dotted module name, file) for every module of course_lib."""
    root = root or course_lib_dir()
    out = []
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def fingerprint() -> str:
    h = hashlib.sha256()
    for path in [*(p for _, p in modules()), *sorted(INSIDE.glob("*.py")), CHANNEL, Path(__file__),
                 Path(policy.__file__)]:
        h.update(str(path.name).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build(cache: Path) -> Path:
    """The sandbox's folder for this course_lib (made once): course_lib/ stubs, the runner, the channel."""
    out = Path(cache) / f"sandbox-{fingerprint()}"
    if (out / "complete").exists():
        return out
    # A name no other process uses: the workers of a fresh workspace build this at the same moment (an
    # id() is the same in processes forked alike, and each then removed the other's half-built folder).
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}-{secrets.token_hex(4)}")
    tmp.mkdir(parents=True)
    names: list = []
    for dotted, path in modules():
        target = tmp / Path(*dotted.split(".")) / "__init__.py" if path.name == "__init__.py" else \
            tmp / Path(*dotted.split(".")[:-1]) / f"{dotted.split('.')[-1]}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        source, defined = transform(path.read_text(), dotted)
        target.write_text(source)
        names += defined
    for f in INSIDE.glob("*.py"):
        shutil.copy(f, tmp / f.name)
    shutil.copy(CHANNEL, tmp / "channel.py")
    (tmp / "course_lib_names.py").write_text(_names_module(names) + f"\nPURE = frozenset({sorted(policy.PURE)!r})\n")
    # Compiled here once: the sandbox's folder is read-only and its Python writes no bytecode, so each
    # student process would otherwise compile every module it imports (the channel alone: 20 ms). Checked
    # against the source's hash, not its time, so that the uid isolation's copy (uid.readable_copy) holds too.
    compileall.compile_dir(tmp, ddir="/opt/course", quiet=2, workers=1,
                           invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    (tmp / "complete").write_text("")
    try:
        tmp.rename(out)
    except OSError:
        if not (out / "complete").exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)   # another process made it first: the same files
    return out


def real_names() -> dict:
    """{qualified name: the real object} for everything the stubs stand for (the grader's side)."""
    import importlib

    out = {}
    for dotted, path in modules():
        _, defined = transform(path.read_text(), dotted)
        module = importlib.import_module(dotted)
        for qual in defined:
            obj = getattr(module, qual.rsplit(".", 1)[1], None)
            if obj is not None:
                out[qual] = obj
    return out


# ----------------------------------------------------------------- the transform
def transform(source: str, module: str) -> tuple[str, list]:
    """The sandbox version of one module's source, and the qualified names it defines."""
    tree = ast.parse(source)
    real_module = module in policy.SANDBOX_REAL_MODULES
    body, defined = [], []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            qual = f"{module}.{node.name}"
            defined.append(qual)
            if real_module:
                body.append(node)
            elif module.startswith("course_lib.checks") and node.name.startswith("check_"):
                body.append(_no_check(node))
            else:
                body.append(_stub_function(node, qual))
        elif isinstance(node, ast.ClassDef):
            qual = f"{module}.{node.name}"
            defined.append(qual)
            body.append(node if real_module or keeps_real(node, qual) else _stub_class(node, qual))
        else:
            body.append(node)
    marks = [ast.parse(f"{q.rsplit('.', 1)[1]}.__course_name__ = {q!r}").body[0] for q in defined]
    header = ast.parse(f"import {RPC}").body
    tree.body = _after_future(body, header) + marks
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n", defined


def _after_future(body, header):
    i = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        i = 1
    while i < len(body) and isinstance(body[i], ast.ImportFrom) and body[i].module == "__future__":
        i += 1
    return body[:i] + header + body[i:]


def keeps_real(node: ast.ClassDef, qual: str) -> bool:
    """Whether a class stays real code in the sandbox: a value class (a dataclass, a named tuple, an
    exception) that no exercise is compared with. A value class that is some exercise's reference
    (optim.CosineDecay, train.EarlyStopping) is a stub like any other class, so that it can be refused."""
    return _is_value_class(node) and qual not in policy.refused_anywhere()


def _is_value_class(node: ast.ClassDef) -> bool:
    for dec in node.decorator_list:
        name = dec.func if isinstance(dec, ast.Call) else dec
        if (isinstance(name, ast.Name) and name.id == "dataclass") or \
                (isinstance(name, ast.Attribute) and name.attr == "dataclass"):
            return True
    for base in node.bases:
        text = ast.unparse(base)
        if text.split(".")[-1] in ("NamedTuple", "Exception", "Warning", "UserWarning", "AssertionError",
                                   "ValueError", "RuntimeError", "Enum") or text in policy.SANDBOX_REAL_BASES:
            return True
    return node.name in policy.SANDBOX_REAL_CLASSES


def _docstring(node):
    if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
            and isinstance(node.body[0].value.value, str):
        return [node.body[0]]
    return []


def _call_parts(args: ast.arguments, skip_first: bool):
    pos = list(args.posonlyargs)
    regular = list(args.args)
    if skip_first:
        (pos if pos else regular).pop(0)
    positional = ast.List([ast.Name(a.arg, ast.Load()) for a in pos], ast.Load())
    named = ast.List([ast.Tuple([ast.Constant(a.arg), ast.Name(a.arg, ast.Load())], ast.Load())
                      for a in regular + list(args.kwonlyargs)], ast.Load())
    varargs = ast.Name(args.vararg.arg, ast.Load()) if args.vararg else ast.Tuple([], ast.Load())
    varkw = ast.Name(args.kwarg.arg, ast.Load()) if args.kwarg else ast.Dict([], [])
    return [positional, named, varargs, varkw]


def _default_args(args: ast.arguments) -> ast.arguments:
    """The same parameters, without annotations, every default replaced by the stub's marker."""
    marker = ast.Attribute(ast.Name(RPC, ast.Load()), "DEFAULT", ast.Load())
    strip = lambda a: ast.arg(a.arg)  # noqa: E731
    return ast.arguments(
        posonlyargs=[strip(a) for a in args.posonlyargs], args=[strip(a) for a in args.args],
        vararg=strip(args.vararg) if args.vararg else None, kwonlyargs=[strip(a) for a in args.kwonlyargs],
        kw_defaults=[marker if d is not None else None for d in args.kw_defaults],
        kwarg=strip(args.kwarg) if args.kwarg else None, defaults=[marker for _ in args.defaults])


def _rpc(func: str, *parts):
    return ast.Return(ast.Call(ast.Attribute(ast.Name(RPC, ast.Load()), func, ast.Load()), list(parts), []))


def _stub_function(node, qual, decorators=()):
    body = _docstring(node) + [_rpc("call", ast.Constant(qual), *_call_parts(node.args, skip_first=False))]
    return ast.FunctionDef(node.name, _default_args(node.args), body, list(decorators), None)


def _no_check(node):
    body = _docstring(node) + [_rpc("no_check")]
    return ast.FunctionDef(node.name, ast.arguments(posonlyargs=[], args=[], vararg=ast.arg("args"), kwonlyargs=[],
                                                    kw_defaults=[], kwarg=ast.arg("kwargs"), defaults=[]),
                           body, [], None)


def _stub_class(node: ast.ClassDef, qual: str) -> ast.ClassDef:
    body = _docstring(node) + [ast.parse(f"__course_class__ = {qual!r}").body[0]]
    for item in node.body[len(_docstring(node)):]:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body.append(item)   # class attributes (e.g. staticmethod(activations.relu), itself a stub)
            continue
        decos = [ast.unparse(d) for d in item.decorator_list]
        if "staticmethod" in decos:
            body.append(_stub_function(item, f"{qual}.{item.name}", [ast.Name("staticmethod", ast.Load())]))
        elif "classmethod" in decos:
            args = _call_parts(item.args, skip_first=True)
            stub = ast.FunctionDef(item.name, _default_args(item.args),
                                   _docstring(item) + [_rpc("call", ast.Constant(f"{qual}.{item.name}"), *args)],
                                   [ast.Name("classmethod", ast.Load())], None)
            body.append(stub)
        elif item.name == "__init__":
            args = _call_parts(item.args, skip_first=True)
            first = ast.Name((item.args.posonlyargs or item.args.args)[0].arg, ast.Load())
            body.append(ast.FunctionDef(item.name, _default_args(item.args),
                                        _docstring(item) + [ast.Expr(ast.Call(
                                            ast.Attribute(ast.Name(RPC, ast.Load()), "construct", ast.Load()),
                                            [first, ast.Constant(qual), *args], []))], [], None))
        elif any(d == "property" for d in decos) or any(d.endswith(".setter") for d in decos):
            if any(d.endswith(".setter") for d in decos):
                continue
            first = ast.Name((item.args.posonlyargs or item.args.args)[0].arg, ast.Load())
            body.append(ast.FunctionDef(item.name, _default_args(item.args),
                                        _docstring(item) + [_rpc("method", first, ast.Constant(qual),
                                                                 ast.Constant(item.name),
                                                                 ast.List([], ast.Load()), ast.List([], ast.Load()))],
                                        [ast.Name("property", ast.Load())], None))
        else:
            args = _call_parts(item.args, skip_first=True)
            first = ast.Name((item.args.posonlyargs or item.args.args)[0].arg, ast.Load())
            body.append(ast.FunctionDef(item.name, _default_args(item.args),
                                        _docstring(item) + [_rpc("method", first, ast.Constant(qual),
                                                                 ast.Constant(item.name), *args)], [], None))
    return ast.ClassDef(node.name, node.bases, node.keywords, body, node.decorator_list)


def _names_module(names: list) -> str:
    return f'''"""The course_lib names the sandbox's stubs stand for (generated)."""
import importlib

NAMES = {sorted(names)!r}


class _Names:
    """Course functions and classes by qualified name, found through the stubs' markers."""

    def __init__(self):
        self.by_name = _Lazy()

    def name(self, obj):
        if isinstance(obj, type) or type(obj).__name__ == "function":
            q = obj.__dict__.get("__course_name__") if hasattr(obj, "__dict__") else None
            return q if isinstance(q, str) and q in self.by_name else None
        return None

    def class_of(self, obj):
        for cls in type(obj).__mro__:
            q = cls.__dict__.get("__course_name__")
            if isinstance(q, str) and q in self.by_name:
                return q
        return None

    def is_tuple_class(self, q):
        cls = self.by_name.get(q)
        return isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")

    @property
    def classes(self):
        return _Lazy(classes_only=True)


class _Lazy:
    def __init__(self, classes_only=False):
        self.classes_only = classes_only

    def __contains__(self, q):
        return q in _SET

    def get(self, q, default=None):
        if q not in _SET:
            return default
        module, _, attr = q.rpartition(".")
        obj = getattr(importlib.import_module(module), attr, default)
        if self.classes_only and not isinstance(obj, type):
            return default
        return obj


_SET = frozenset(NAMES)


def course_names():
    return _Names()
'''
