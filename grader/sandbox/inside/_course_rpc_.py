"""What the sandbox's course_lib stubs call: the grader runs the real code and answers.

Inside the sandbox, course_lib holds no reference implementation: each of its functions and each
method of its classes is a stub that sends its arguments to the grader, which runs the real one
(and refuses, while an exercise is checked, the reference that exercise is compared with).
"""
from __future__ import annotations

import builtins

PEER = None   # set by the student process's runner


class _Default:
    """Stands for an argument the caller left out: the grader applies the real default."""

    def __repr__(self):
        return "<default>"


DEFAULT = _Default()


class ReferenceUnavailable(RuntimeError):
    """A course_lib function that is not available to this code while its exercise is graded."""


def _raise(reply):
    if reply.get("refused"):
        raise ReferenceUnavailable(reply.get("message", "not available while it is graded"))
    name = reply.get("type")
    cls = getattr(builtins, name, None) if isinstance(name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = RuntimeError
    raise cls(reply.get("message", ""))


def _named(named):
    return tuple((k, v) for k, v in named if v is not DEFAULT)


def _request(op, extra, positional, named, varargs, varkw, method_self=None):
    if PEER is None:
        raise RuntimeError("this copy of course_lib only works inside the grader's sandbox")
    values = {"args": tuple(positional) + tuple(varargs), "kwargs": _named(named) + tuple(varkw.items())}
    reply = PEER.request(op, values, extra=extra, method_self=method_self)
    if reply["op"] == "raise":
        _raise(reply)
    return reply


def call(qualname, positional, named, varargs=(), varkw=None):
    return _request("rpc", {"name": qualname}, positional, named, varargs, varkw or {})["value"]


def method(obj, cls_name, name, positional, named, varargs=(), varkw=None):
    reply = _request("method", {"cls": cls_name, "name": name}, positional, named, varargs, varkw or {},
                     method_self=obj)
    state = reply.get("self_state")
    if state is not None and isinstance(getattr(obj, "__dict__", None), dict):
        obj.__dict__.clear()
        obj.__dict__.update(dict(state))
    return reply["value"]


def construct(obj, cls_name, positional, named, varargs=(), varkw=None):
    reply = _request("construct", {"cls": cls_name}, positional, named, varargs, varkw or {})
    obj.__dict__.update(dict(reply["value"]))


def no_check(*args, **kwargs):
    """Checkers run in the grader's own process, never here."""
    return None
