"""Which of a student's statements grading needs to run.

Replaying a whole notebook runs every demonstration, plot and training run in it; grading needs
only the definitions the graded functions depend on. :func:`plan` keeps, of every top-level
statement, those that bind or change a name the graded names depend on (transitively: a function
that reads a global needs the statement that sets it), every definition (they cost nothing), and
every import those use, and blanks the rest, keeping line numbers so that a traceback still points
at the student's line. Where it cannot be sure (``exec``, ``globals()``, ``setattr``, a name bound
only inside a function), the plan says so and the whole notebook is replayed instead.

IPython syntax (``%matplotlib inline``, ``!pip ...``) is first rewritten into plain Python.
"""
from __future__ import annotations

import ast
import re
import builtins
from dataclasses import dataclass, field

_BUILTINS = set(dir(builtins))
_UNCERTAIN_CALLS = {"exec", "eval", "compile", "globals", "locals", "vars", "setattr", "delattr", "__import__",
                    "import_module", "execfile", "run_path", "run_module"}
# Magics that wrap code the student means to run: their code runs as written (the others do nothing
# while grading: there is no IPython in the sandbox).
_RUN_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")
_RUN_LINE_MAGICS = ("%time ", "%timeit ")
_VALUE_OPTIONS = ("-n", "-r", "-p")   # %timeit's options that take a value


def python_source(source: str) -> str:
    """A cell's source as plain Python (IPython magics and shell escapes rewritten), same lines.
    ``%%time`` and friends keep their cell's code, ``%time stmt`` its statement."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith(_RUN_CELL_MAGICS):
        lines[0] = ""
    for k, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(_RUN_LINE_MAGICS):
            words = stripped.split()[1:]
            while words and words[0].startswith("-"):
                option = words.pop(0)
                if option in _VALUE_OPTIONS and words:
                    words.pop(0)
            lines[k] = line[: len(line) - len(stripped)] + " ".join(words)
    source = "\n".join(lines)
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # IPython missing, or a cell it cannot parse either: the cell then fails to compile
        return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


@dataclass
class Statement:
    node: ast.stmt
    binds: set
    uses: set
    mutates: set          # names whose object it changes in place (x[0] = ..., x.append(...))
    definition: bool      # def or class: cheap, always run
    uncertain: bool
    deftime: set = field(default_factory=set)   # names a definition reads when it runs (decorators, defaults...)


@dataclass
class CellPlan:
    index: int
    source: str           # what to run: the kept statements, the others blanked (same line numbers)
    kept: int
    total: int
    syntax_error: str = ""


@dataclass
class Plan:
    cells: list = field(default_factory=list)   # CellPlan per student code cell, in notebook order
    certain: bool = True
    why_uncertain: str = ""


def _names(node) -> set:
    """The global names a statement's code reads when it runs, as the compiler resolves scopes
    (a function's parameters and locals are not globals)."""
    import symtable

    try:
        table = symtable.symtable(ast.unparse(node), "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - _BUILTINS
    out = {s.get_name() for s in table.get_symbols() if s.is_referenced()}

    def walk(t):
        for child in t.get_children():
            if child.get_type() == "function":
                out.update(child.get_globals())
            else:   # a class body: its names that are not its own
                out.update(s.get_name() for s in child.get_symbols() if s.is_referenced() and s.is_global())
            walk(child)
    walk(table)
    return out - _BUILTINS


def _targets(t) -> set:
    if isinstance(t, ast.Name):
        return {t.id}
    if isinstance(t, (ast.Tuple, ast.List)):
        return set().union(*(_targets(e) for e in t.elts)) if t.elts else set()
    if isinstance(t, ast.Starred):
        return _targets(t.value)
    return set()


def _root(t):
    while isinstance(t, (ast.Attribute, ast.Subscript)):
        t = t.value
    return t.id if isinstance(t, ast.Name) else None


def _analyse(node: ast.stmt, modules: set) -> Statement:
    binds, mutates = set(), set()
    definition = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    deftime: set = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        binds.add(node.name)
        a = node.args
        parts = [*node.decorator_list, *a.defaults, *[d for d in a.kw_defaults if d is not None], node.returns,
                 *[x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x is not None]]
        deftime = set().union(*(_names(p) for p in parts if p is not None)) if parts else set()
    elif isinstance(node, ast.ClassDef):
        binds.add(node.name)
        deftime = _names(node)   # a class body runs when the class is defined
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            binds.add((alias.asname or alias.name).split(".")[0])
    else:
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                for t in targets:
                    binds |= _targets(t)
                    if isinstance(t, (ast.Attribute, ast.Subscript)) and _root(t):
                        mutates.add(_root(t))
            elif isinstance(sub, (ast.For, ast.AsyncFor, ast.comprehension)):
                binds |= _targets(sub.target)
            elif isinstance(sub, (ast.With, ast.AsyncWith)):
                for item in sub.items:
                    if item.optional_vars is not None:
                        binds |= _targets(item.optional_vars)
            elif isinstance(sub, ast.NamedExpr):
                binds |= _targets(sub.target)
            elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                binds.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                for alias in sub.names:
                    binds.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(sub, ast.Delete):
                for t in sub.targets:
                    binds |= _targets(t)
                    if _root(t):
                        mutates.add(_root(t))
            elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
                root = _root(sub.func)
                if root and root not in modules:   # x.append(...) may change x; np.random.seed(...) is a module's
                    mutates.add(root)
    uncertain = False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            f = sub.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name in _UNCERTAIN_CALLS:
                uncertain = True
        elif isinstance(sub, ast.ImportFrom) and any(a.name == "*" for a in sub.names):
            uncertain = True
        elif isinstance(sub, ast.Global) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            uncertain = True
    return Statement(node, binds, _names(node), mutates, definition, uncertain, deftime)


def _globals_set_inside_functions(tree_nodes) -> set:
    out = set()
    for node in tree_nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Global):
                out |= set(sub.names)
    return out


def mentions(source: str) -> set[str]:
    """Every identifier a cell's text names: its names, attributes and the words inside its strings
    (``setattr(builtins, "answers", ...)`` names ``answers`` too). Conservative: a superset."""
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))


def plan(cells: list[tuple[int, str]], targets: set[str]) -> Plan:
    """``cells``: (index, plain Python source) of the student's code cells in order; ``targets``: the
    names the test cells grade. Returns what to run of each cell."""
    parsed = []
    modules: set = set()
    for index, source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError as e:
            parsed.append((index, source, None, f"line {e.lineno}: {e.msg}"))
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules |= {(a.asname or a.name).split(".")[0] for a in node.names}
        parsed.append((index, source, tree, ""))
    statements = [(i, _analyse(node, modules)) for i, _, tree, _ in parsed if tree is not None for node in tree.body]
    needed = set(targets)
    kept: set = set()
    grown: set = set()     # statements whose uses are already in ``needed``
    changed = True
    while changed:
        changed = False
        for k, (_, st) in enumerate(statements):
            if st.definition and k not in kept:
                kept.add(k)
                needed |= st.deftime
                changed = True
            if k in grown:
                continue
            if st.binds & needed or st.mutates & needed:
                kept.add(k)
                grown.add(k)
                needed |= st.uses | st.binds
                changed = True
    result = Plan()
    bound = set().union(*(st.binds for k, (_, st) in enumerate(statements) if k in kept)) if kept else set()
    missing_globals = (_globals_set_inside_functions(st.node for _, st in statements) & needed) - \
        {n for k, (_, st) in enumerate(statements) if k in kept and not st.definition for n in st.binds}
    skipped_uncertain = [st for k, (_, st) in enumerate(statements) if k not in kept and st.uncertain]
    if skipped_uncertain or any(st.uncertain for k, (_, st) in enumerate(statements) if k in kept):
        result.certain, result.why_uncertain = False, "the notebook uses exec, globals() or similar"
    elif missing_globals:
        result.certain, result.why_uncertain = False, f"{sorted(missing_globals)} are set only inside functions"
    elif targets - bound and any((targets - bound) & mentions(source) for _, source in cells):
        # A graded name the slice does not bind, but that the code names somewhere (set through a
        # module's attribute, say): run everything. A name no code mentions is simply not there.
        result.certain, result.why_uncertain = False, f"{sorted(targets - bound)} are not defined at top level"
    k = 0
    for index, source, tree, error in parsed:
        if tree is None:
            result.cells.append(CellPlan(index, source, 0, 0, syntax_error=error))
            continue
        lines = source.splitlines()
        keep_lines = [False] * len(lines)
        n_kept = 0
        for node in tree.body:
            if k in kept:
                n_kept += 1
                for ln in range(node.lineno - 1, (node.end_lineno or node.lineno)):
                    if ln < len(keep_lines):
                        keep_lines[ln] = True
                for dec in getattr(node, "decorator_list", []):
                    for ln in range(dec.lineno - 1, dec.end_lineno or dec.lineno):
                        keep_lines[ln] = True
            k += 1
        text = "\n".join(line if keep else "" for line, keep in zip(lines, keep_lines))
        result.cells.append(CellPlan(index, text, n_kept, len(tree.body)))
    return result


def definitions_after(source: str, line: int) -> str:
    """The definitions (def, class, import) of a cell that come after ``line``, the rest blanked: what
    still runs of a cell whose statement at ``line`` raised."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    lines = source.splitlines()
    keep = [False] * len(lines)
    for node in tree.body:
        if node.lineno > line and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                     ast.Import, ast.ImportFrom)):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            for ln in range(first - 1, node.end_lineno or node.lineno):
                keep[ln] = True
    return "\n".join(l if k else "" for l, k in zip(lines, keep))
