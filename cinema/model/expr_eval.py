"""Evaluation of parsed expressions: value semantics, whitelisted functions, closures.

A syntax tree from :mod:`cinema.model.expr` compiles into nested Python closures (no ``eval``):
each takes a :class:`Scope` (the values of the per-event names) and returns a value. Values are
the decoded payload types of :mod:`recorder.payload` and plain Python scalars and containers;
field access (``a.b``) reads dict keys, record fields and enum ``name`` / ``value`` only, never a
Python attribute.

Evaluation is total: a type error, a missing field, an index out of range or a division by zero
raises inside the closures, and the nearest ``and`` / ``or`` / ``not`` operand (or the whole
condition) that sees it counts as false. :meth:`Scope.note_error` counts such failures.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

from cinema.model.expr import (
    ARITHMETIC,
    Attr,
    Binary,
    BoolOp,
    Call,
    Index,
    ListLit,
    Lit,
    Name,
    Node,
    Unary,
)
from cinema.model.pattern import Pattern, PatternError, compile_regex
from recorder.payload.semantics import (
    CALL_WRAPPERS,
    EvalFailure,
    contains,
    display,
    equal,
    get_field,
    get_item,
    matches,
    message_type,
    truth,
    type_name,
)
from recorder.payload.semantics import FAILURES as _FAILURES
from recorder.payload.semantics import FUNCTIONS as _FUNCS
from recorder.payload.semantics import arith as _arith
from recorder.payload.semantics import compare as _compare
from recorder.payload.semantics import number as _number

__all__ = [
    "CALL_WRAPPERS",
    "FAILURES",
    "EvalFailure",
    "Fn",
    "Scope",
    "compile_node",
    "display",
    "equal",
    "guarded",
    "message_type",
    "truth",
    "type_name",
]


#: Exceptions that mean "this operand cannot be evaluated for this event".
FAILURES: tuple[type[BaseException], ...] = (*_FAILURES, PatternError)


class Scope(abc.ABC):
    """The values of the per-event names for one event (subclassed by the event scope)."""

    @abc.abstractmethod
    def get(self, name: str) -> Any:
        """The value of a name from :data:`cinema.model.expr.NAMES`."""
        ...

    def changed(self, fn: Fn) -> bool:
        """Whether ``fn`` differs from its value at the process's previous state change."""
        return False

    def note_error(self) -> None:  # noqa: B027 - an optional hook, a no-op by default
        """Called once for each operand whose evaluation failed."""


Fn = Callable[[Scope], Any]


# --------------------------------------------------------------------------- value semantics
# One definition for the model and the sandbox: recorder.payload.semantics.


def _regex(pattern: str) -> Pattern:
    return compile_regex(pattern)  # cached there


# --------------------------------------------------------------------------- compilation


def guarded(fn: Fn) -> Fn:
    """A boolean operand: its failure counts as false (and is counted)."""

    def run(s: Scope) -> bool:
        try:
            return truth(fn(s))
        except FAILURES:
            s.note_error()
            return False

    return run


def compile_node(node: Node) -> Fn:
    """Compile a syntax tree into a closure ``fn(scope) -> value`` (may raise a failure)."""
    if isinstance(node, Lit):
        value = node.value
        return lambda s: value
    if isinstance(node, Name):
        name = node.name
        return lambda s: s.get(name)
    if isinstance(node, ListLit):
        items = [compile_node(i) for i in node.items]
        return lambda s: [f(s) for f in items]
    if isinstance(node, Attr):
        obj, field = compile_node(node.obj), node.name
        return lambda s: get_field(obj(s), field)
    if isinstance(node, Index):
        obj, idx = compile_node(node.obj), compile_node(node.index)
        return lambda s: get_item(obj(s), idx(s))
    if isinstance(node, Unary):
        operand = compile_node(node.operand)
        if node.op == "not":
            test = guarded(operand)
            return lambda s: not test(s)
        if node.op == "-":
            return lambda s: -_number(operand(s))
        return lambda s: _number(operand(s))
    if isinstance(node, BoolOp):
        left, right = guarded(compile_node(node.left)), guarded(compile_node(node.right))
        if node.op == "and":
            return lambda s: left(s) and right(s)
        return lambda s: left(s) or right(s)
    if isinstance(node, Binary):
        return _compile_binary(node)
    if isinstance(node, Call):
        return _compile_call(node)
    raise TypeError(f"not an expression node: {node!r}")


def _compile_binary(node: Binary) -> Fn:
    left, right, op = compile_node(node.left), compile_node(node.right), node.op
    if op in ARITHMETIC:
        return lambda s: _arith(op, left(s), right(s))
    if op == "in":
        return lambda s: contains(right(s), left(s))
    if op == "not in":
        return lambda s: not contains(right(s), left(s))
    if op == "~":
        pattern = node.regex

        def match(s: Scope) -> bool:
            rx = pattern
            if rx is None:
                p = right(s)
                if not isinstance(p, str):
                    raise EvalFailure("the right side of '~' must be a string")
                rx = _regex(p)
            return matches(rx, left(s))

        return match
    return lambda s: _compare(op, left(s), right(s))


def _compile_call(node: Call) -> Fn:
    args = [compile_node(a) for a in node.args]
    if node.func == "changed":
        inner = args[0]
        return lambda s: s.changed(inner)
    impl = _FUNCS[node.func]
    return lambda s: impl([a(s) for a in args])
