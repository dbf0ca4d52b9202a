"""One grading job: (the notebook's spec, one submission, its hidden seeds) -> one result record.

The job replays the student's cells in a sandboxed process, in notebook order, and at each test
cell runs that exercise's checker calls here, in the grader's process, against proxies of the
student's functions: the visible calls as written, the hidden ones with seeds only this job knows.
It is the unit every way of grading runs: the local pool, a Dask cluster, a Gradescope container
(``course-grader grade-one``). It must run in a process's main thread (its deadlines are alarms).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from . import results as R
from .intake import cells as C
from .intake.inspect import InvalidNotebook, read_submission, restore_test_cells
from .notebooks import is_test_cell, nbgrader_meta
from .sandbox import facade, launch, policy
from .sandbox.channel import CourseNames, clean_text
from .sandbox.trusted import (CallTimeout, Session, StudentError, StudentProcessDied, StudentProtocolError,
                              is_proxy, proxy_type_name)
from .spec import NotebookSpec

MAX_RESTARTS = 4
EXERCISE_BUDGET = 3          # an exercise's checks may take this many call time limits in all


@dataclass
class JobOptions:
    timeout: float = 60.0            # seconds a cell or a checked call may run
    memory_mb: int = policy.MEMORY_MB
    unsafe: bool = False             # --unsafe-no-sandbox: the instructor's explicit choice


class Seeds:
    """The hidden checks' seeds of one job: derived from the workspace's secret, per student and
    exercise, or handed over already derived (a cluster worker never sees the secret)."""

    def __init__(self, secret: str | None = None, student: str = "", derived: dict | None = None):
        self.secret, self.student, self.derived = secret, student, derived or {}

    def seed(self, grade_id: str, i: int) -> int:
        key = f"{grade_id}/{i}"
        if key in self.derived:
            return int(self.derived[key])
        if self.secret is None:
            raise KeyError(f"no seed for {key}")
        digest = hashlib.sha256("\x1f".join([self.secret, self.student, grade_id, str(i)]).encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def for_spec(self, spec: NotebookSpec) -> dict:
        """Every seed this spec's hidden calls need, keyed "grade_id/i" (what a remote job is given)."""
        return {f"{e.grade_id}/{i}": self.seed(e.grade_id, i) for e in spec.exercises
                for i, c in enumerate(e.calls) if c.hidden}


# ------------------------------------------------------------------------------ the grader's side
@functools.lru_cache(maxsize=1)
def _course() -> CourseNames:
    return CourseNames(facade.real_names())


@functools.lru_cache(maxsize=1)
def _register_state_reader() -> None:
    """Let the checkers snapshot a student object's state through the student side."""
    from course_lib.checks import core

    readers = getattr(core, "STATE_READERS", None)
    if readers is not None:
        readers.append(lambda obj: obj._session.state(obj) if is_proxy(obj) else None)


def sandbox_status(unsafe: bool) -> launch.Status:
    return launch.unsafe_status() if unsafe else launch.probe()


# ---------------------------------------------------------------------------------- replaying
class Replayer:
    """Keeps a student process that has run the cells before the current point of the notebook,
    starting a new one (and skipping the cell responsible) when one times out or ends."""

    def __init__(self, start, cells: list, timeout: float, notes: list, flags: list):
        self.start, self.cells, self.timeout = start, cells, timeout
        self.notes, self.flags = notes, flags
        self.session: Session | None = None
        self.done = 0
        self.skip: set = set()         # cells that ran past the limit or ended the process: only their
                                       # definitions run after that
        self.reported: set = set()
        self.restarts = 0

    def at(self, position: int) -> Session:
        """A live session in which the first ``position`` cells have run."""
        if self.session is None or not self.session.alive or self.done > position:
            if self.session is not None:
                self.session.kill()
                self.restarts += 1
                if self.restarts > MAX_RESTARTS:
                    raise StudentProcessDied("the notebook's process had to be restarted too often")
            self.session = self.start()
            self.done = 0
        while self.done < position:
            cell = self.cells[self.done]
            self.done += 1
            if not cell.source.strip():
                continue
            if cell.index in self.skip:
                defs = C.definitions_after(cell.source, 0)
                if defs.strip():
                    try:
                        self.session.run_cell(cell.index, defs, self.timeout)
                    except (StudentError, CallTimeout, StudentProcessDied, StudentProtocolError):
                        pass
                continue
            self._run(cell)
            if not self.session.alive:
                return self.at(position)
        return self.session

    def _note(self, cell, text, flag=None):
        if cell.index not in self.reported:
            self.reported.add(cell.index)
            self.notes.append(text)
            if flag:
                self.flags.append(R.Flag("notebook", flag, cell.index))

    def _run(self, cell) -> None:
        if cell.syntax_error:
            self._note(cell, f"Cell {cell.index} is not valid Python ({cell.syntax_error}); it was skipped.")
            self.skip.add(cell.index)
            return
        try:
            self.session.run_cell(cell.index, cell.source, self.timeout)
        except StudentError as e:
            self._note(cell, f"Cell {cell.index} raised {e.type_name}: {str(e)[:300]} (line {e.line}); the "
                             "definitions after that line were still made.")
            rest = C.definitions_after(cell.source, e.line)
            if rest.strip():
                try:
                    self.session.run_cell(cell.index, rest, self.timeout)
                except StudentError:
                    pass
        except CallTimeout:
            self.skip.add(cell.index)
            self._note(cell, f"Cell {cell.index} ran past the time limit of {self.timeout:g} s; only its definitions "
                             "were run after that, so that the rest of the notebook could be graded.")
        except StudentProcessDied as e:
            self.skip.add(cell.index)
            self._note(cell, f"Cell {cell.index} ended the notebook's process ({e}); only its definitions were run "
                             "after that, so that the rest of the notebook could be graded.",
                       flag=None if e.memory else f"code in cell {cell.index} ended its own process ({e})")
        except StudentProtocolError as e:
            self.skip.add(cell.index)
            self._note(cell, f"Cell {cell.index} broke the grader's channel; it was skipped.",
                       flag=f"code in cell {cell.index} wrote to the grader's channel ({e})")

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


# -------------------------------------------------------------------------------- checking
def _outcome(failure) -> tuple:
    """(status, bug, message, hints) from a checker's CheckFailed, new style or old."""
    outcome = getattr(failure, "outcome", None)
    if outcome is not None:
        return outcome.status, outcome.bug or "", outcome.message, list(outcome.hints)
    status = "error" if type(failure).__name__ == "StudentCodeError" else "failed"
    text = str(failure)
    if "[bug: " in text:
        text = text[:text.rindex(" [bug: ")]
    return status, getattr(failure, "bug", None) or "", text, []


def _described(exc: BaseException) -> str:
    text = str(exc)
    return text if proxy_type_name(exc) is None else "an object"


def check_exercise(replayer: Replayer, position: int, ex, seeds: Seeds, opts: JobOptions) -> R.ExerciseResult:
    """Run one exercise's checker calls; the first that fails gives the verdict."""
    from course_lib import checks
    from course_lib.checks.core import silenced

    result = R.ExerciseResult(ex.grade_id, 0.0, ex.points, "ok")
    started = time.monotonic()
    budget = EXERCISE_BUDGET * opts.timeout
    refused: list = []
    for i, call in enumerate(ex.calls):
        kwargs = dict(call.kwargs)
        if call.hidden:
            kwargs["seed"] = seeds.seed(ex.grade_id, i)
        checker = getattr(checks, call.checker, None)
        if checker is None:
            return _verdict(result, "ungradable", f"the course has no checker {call.checker}")
        try:
            session = replayer.at(position)
        except StudentProcessDied as e:
            return _verdict(result, "error", f"the notebook could not be run up to this exercise: {e}")
        left = budget - (time.monotonic() - started)
        if left <= 0:
            return _verdict(result, "timeout", f"the checks ran past {budget:g} s in all and were stopped")
        session.timeout = min(opts.timeout, left)
        session.refusals.set(policy.banned_functions(call.checker, _course().by_name))
        try:
            target = session.get(call.target)
            with silenced():
                checker(target, **kwargs)
        except checks.CheckFailed as failure:
            status, bug, message, hints = _outcome(failure)
            cause = failure.__cause__
            if isinstance(cause, StudentError):
                result.traceback = cause.student_traceback
            _verdict(result, status, message, bug, hints)
        except StudentError as e:
            if e.type_name == "NameError" and f"'{call.target}'" in str(e):
                _verdict(result, "error", f"{call.target} is not defined: run its exercise cell (and keep its name)")
            elif e.type_name == "NotImplementedError":
                _verdict(result, "error", "not done yet: the function still raises NotImplementedError (the stub)")
            else:
                _verdict(result, "error", f"your code raised {e.type_name}: {str(e)[:1000]}")
                result.traceback = e.student_traceback
        except CallTimeout:
            _verdict(result, "timeout", f"your code ran past the time limit of {session.timeout:g} s and was stopped: "
                                        "is there a loop that never ends?")
        except StudentProcessDied as e:
            _verdict(result, "error", f"the notebook's process ended while {call.target} was checked: {e}")
        except StudentProtocolError as e:
            _verdict(result, "error", "the grader could not read what your code sent back")
            replayer.flags.append(R.Flag(ex.grade_id, f"code of {call.target} wrote to the grader's channel ({e})"))
        except Exception as e:  # the checker met an answer it could not judge: say so in the student's terms
            _verdict(result, "failed", f"the answer could not be checked ({type(e).__name__}: {_described(e)[:300]})")
        finally:
            refused += session.refusals.seen
            session.refusals.set({})
        if result.status != "ok":
            break
    for name in dict.fromkeys(refused):
        replayer.flags.append(R.Flag(ex.grade_id, f"while {ex.grade_id.removeprefix('test_')} was checked, the code "
                                                  f"called {name}, which computes what it is compared with"))
    if result.status == "ok":
        result.score = ex.points
    return result


def _verdict(result, status, message, bug="", hints=()):
    result.status, result.message, result.bug, result.hints = status, clean_text(message, 6000), bug or "", list(hints)
    return result


# ------------------------------------------------------------------------------- static facts
_WATCHED = ("numpy", "builtins", "course_lib", "IPython", "matplotlib", "sys", "copy", "math")
_IPYTHON_REPORTING = {"showtraceback", "showsyntaxerror", "_showtraceback", "set_custom_exc", "excepthook",
                      "_get_exc_info", "showindentationerror"}


def static_flags(student_cells: list) -> list:
    """Code that replaces a library's function, a checker or IPython's error reporting, by cell."""
    out = []
    aliases: dict = {}   # what each imported name stands for, from the cells so far
    for index, source in student_cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[(a.asname or a.name).split(".")[0]] = a.asname and a.name or a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for t in targets:
                if not isinstance(t, ast.Attribute):
                    continue
                dotted = _dotted(t, aliases)
                if dotted is None:
                    continue
                root = dotted.split(".")[0]
                if dotted.startswith("sys.") and dotted not in ("sys.excepthook", "sys.displayhook"):
                    continue
                if root == "get_ipython()" and t.attr not in _IPYTHON_REPORTING:
                    continue
                if root in _WATCHED or root == "get_ipython()":
                    if root == "matplotlib" or dotted.startswith("numpy.random"):
                        continue
                    out.append(R.Flag("notebook", f"code in cell {index} replaced {dotted}", index))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr" \
                    and node.args and isinstance(node.args[0], (ast.Name, ast.Attribute)):
                dotted = _dotted(node.args[0], aliases)
                if dotted and dotted.split(".")[0] in _WATCHED:
                    out.append(R.Flag("notebook", f"code in cell {index} changed an attribute of {dotted} "
                                                  "with setattr", index))
    return out


def _dotted(node, aliases) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_ipython":
        return ".".join(["get_ipython()", *reversed(parts)])
    if not isinstance(node, ast.Name):
        return None
    base = aliases.get(node.id)
    if base is None:
        return None
    return ".".join([base, *reversed(parts)])


# ------------------------------------------------------------------------------------ the job
def _slice_may_miss(message: str, plan, student_cells) -> bool:
    """Whether a name the check found undefined might be defined by code the slice left out: only
    then is the whole notebook worth running again (a name no left-out code mentions is not there)."""
    names = set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)(?:'| is not defined)", message)) | \
        set(re.findall(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined", message))
    if "is not defined" not in message or not names:
        return False
    left_out = set().union(*(C.mentions(source) for (_, source), cp in zip(student_cells, plan.cells)
                             if cp.kept < cp.total)) if plan.cells else set()
    return bool(names & left_out)


def grade_notebook(spec: NotebookSpec, data: bytes, student: str, seeds: Seeds, opts: JobOptions,
                   cache: Path) -> R.NotebookResult:
    """Grade one submitted notebook (its bytes) against ``spec``; never raises for the student's doing."""
    started = time.monotonic()
    base = dict(student=student, assignment=spec.assignment, notebook=spec.notebook,
                sha256=hashlib.sha256(data).hexdigest())
    zero = lambda status: [R.ExerciseResult(e.grade_id, 0.0, e.points, status) for e in spec.exercises]  # noqa: E731
    try:
        nb = read_submission(data)
    except InvalidNotebook as e:
        return R.NotebookResult(**base, status="invalid", reason=str(e), exercises=zero("invalid"))
    status = sandbox_status(opts.unsafe)
    if not status.ok and not opts.unsafe:
        return R.NotebookResult(**base, status="ungradable", reason=f"no sandbox: {status.reason}",
                                exercises=zero("ungradable"))
    _register_state_reader()
    prepared = restore_test_cells(nb, spec.release_nb())
    flags = [R.Flag(scope, text) for scope, text in prepared.notes]
    notes = [text for _, text in prepared.notes]
    student_cells, timeline = [], []
    for i, cell in enumerate(prepared.nb.cells):
        if cell.cell_type != "code":
            continue
        if is_test_cell(cell):
            timeline.append(("test", nbgrader_meta(cell).get("grade_id"), len(student_cells)))
        else:
            student_cells.append((i, C.python_source(cell.source)))
    flags += static_flags(student_cells)
    targets = {c.target for e in spec.exercises for c in e.calls}
    plan = C.plan(student_cells, targets)
    if not plan.certain:
        plan = C.Plan([C.CellPlan(i, s, 1, 1) for i, s in student_cells], certain=False,
                      why_uncertain=plan.why_uncertain)
    sandbox_dir = facade.build(cache)
    limits = launch.Limits(memory_mb=opts.memory_mb, cpu_seconds=int(policy.CPU_MARGIN * opts.timeout *
                                                                      (3 + EXERCISE_BUDGET * len(spec.exercises))))

    # Course functions none of this notebook's checkers refuses run on the student side itself.
    runnable = policy.sandbox_runnable({c.checker for e in spec.exercises for c in e.calls}, _course().by_name)

    def start():
        return Session(launch.Launch(sandbox_dir, status, limits), _course(), timeout=opts.timeout,
                       runnable=runnable)

    replayer = Replayer(start, plan.cells, opts.timeout, notes, flags)
    by_id = {e.grade_id: e for e in spec.exercises}
    exercises = {}
    full = None
    try:
        for kind, grade_id, position in timeline:
            ex = by_id.get(grade_id)
            if ex is None or grade_id in exercises:
                continue
            verdict = check_exercise(replayer, position, ex, seeds, opts)
            if verdict.status in ("error", "failed") and plan.certain and _slice_may_miss(verdict.message, plan,
                                                                                          student_cells):
                # The slice left out something the full notebook defines: check again on the whole notebook.
                if full is None:
                    full = Replayer(start, [C.CellPlan(i, s, 1, 1) for i, s in student_cells], opts.timeout, [], [])
                verdict = check_exercise(full, position, ex, seeds, opts)
                replayer.flags += [f for f in full.flags if f not in replayer.flags]
                full.flags.clear()
            exercises[grade_id] = verdict
    finally:
        replayer.close()
        if full is not None:
            full.close()
    record = R.NotebookResult(**base, status="graded", notes=notes, flags=flags,
                              sandbox=status.label,
                              exercises=[exercises.get(e.grade_id) or R.ExerciseResult(e.grade_id, 0.0, e.points,
                                                                                        "error", message="not checked")
                                         for e in spec.exercises])
    for ex in record.exercises:
        if ex.status != "ok" and record.flags_for(ex.grade_id):
            ex.status = "tampered"
    record.timing = {"seconds": round(time.monotonic() - started, 3), "restarts": replayer.restarts,
                     "replayed_statements": sum(c.kept for c in plan.cells), "sliced": plan.certain}
    return record
