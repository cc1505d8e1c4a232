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

from cinema.model import present
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
from recorder.payload import EnumValue, Opaque, Pid, Record, Ref, Truncated

__all__ = [
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


class EvalFailure(Exception):
    """A value an operator or function cannot work with (internal; never escapes a condition)."""


#: Exceptions that mean "this operand cannot be evaluated for this event".
FAILURES: tuple[type[BaseException], ...] = (
    EvalFailure, TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError,
    AttributeError, RecursionError, PatternError,
)  # fmt: skip

# Tuple messages whose first element marks a GenServer call / cast wrapper; the request is the
# last element (e.g. ("$call", from, request), ("$cast", request)).
CALL_WRAPPERS = frozenset({"$call", "$cast", "$gen_call", "$gen_cast"})


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


def _norm(v: Any) -> Any:
    if isinstance(v, (Pid, Ref)):
        return v.n
    return v


def equal(a: Any, b: Any) -> bool:
    """``==`` of the language: pids and refs equal their numbers, enums their name or value."""
    a, b = _norm(a), _norm(b)
    if isinstance(a, EnumValue) and not isinstance(b, EnumValue):
        return bool(a.name == b) if isinstance(b, str) else bool(a.value == b)
    if isinstance(b, EnumValue) and not isinstance(a, EnumValue):
        return equal(b, a)
    return bool(a == b)


def _number(v: Any) -> int | float:
    v = _norm(v)
    if isinstance(v, (int, float)):
        return v
    raise EvalFailure(f"expected a number, got {type_name(v)}")


def truth(v: Any) -> bool:
    """Truthiness: false, none, 0, "" and empty containers are false; anything else true."""
    if v is None or v is False:
        return False
    if isinstance(v, (int, float, str, list, tuple, dict, set, frozenset, bytes)):
        return bool(v)
    return True


def type_name(v: Any) -> str:
    """The name ``type()`` returns: ``"int"``, ``"str"``, ``"none"``, a record's type name..."""
    if v is None:
        return "none"
    if isinstance(v, (Record, EnumValue, Opaque)):
        return v.type_name
    if isinstance(v, Pid):
        return "pid"
    if isinstance(v, Ref):
        return "ref"
    if isinstance(v, Truncated):
        return "truncated"
    return type(v).__name__


def display(v: Any) -> str:
    """The text of a value (what ``str()`` returns and ``~`` matches against): a string as it
    is, anything else in the one text form every panel shows (:func:`present.full`)."""
    return v if isinstance(v, str) else present.full(v)


def message_type(m: Any) -> str:
    """The type of a message: a tuple's leading string (inside call/cast wrappers), a record's
    or enum's unqualified type name, a plain string message itself, a map's ``"type"``, else
    its type name."""
    for _ in range(4):  # wrappers nest at most a few levels
        if isinstance(m, tuple) and m and isinstance(m[0], str) and m[0] in CALL_WRAPPERS:
            if len(m) < 2:
                return m[0]
            m = m[-1]
            continue
        break
    if isinstance(m, tuple) and m and isinstance(m[0], str):
        return m[0]
    if isinstance(m, str):
        return m
    if isinstance(m, dict) and isinstance(m.get("type"), str):
        return str(m["type"])
    if isinstance(m, (Record, EnumValue)):
        return m.type_name.rpartition(".")[2]  # "bank.Withdraw" -> "Withdraw"
    return type_name(m)


def get_field(obj: Any, name: str) -> Any:
    """``obj.name``: a map key, a record field, an enum's ``name`` / ``value``."""
    if isinstance(obj, dict):
        if name in obj:
            return obj[name]
        raise EvalFailure(f"no key {name!r}")
    if isinstance(obj, Record):
        for key, value in obj.fields:
            if key == name:
                return value
        raise EvalFailure(f"{obj.type_name} has no field {name!r}")
    if isinstance(obj, EnumValue) and name in ("name", "value"):
        return obj.name if name == "name" else obj.value
    raise EvalFailure(f"a {type_name(obj)} has no field {name!r}")


def get_item(obj: Any, key: Any) -> Any:
    """``obj[key]``: sequences by integer, maps by key, records by field name."""
    key = _norm(key)
    if isinstance(obj, (list, tuple, str)):
        if isinstance(key, int) and not isinstance(key, bool):
            return obj[key]
        raise EvalFailure("a sequence index must be an integer")
    if isinstance(obj, dict):
        return obj[key]
    if isinstance(obj, Record) and isinstance(key, str):
        return get_field(obj, key)
    raise EvalFailure(f"a {type_name(obj)} cannot be indexed")


def contains(container: Any, item: Any) -> bool:
    """``item in container``: substring for strings, keys for maps, items for the rest."""
    if isinstance(container, str):
        if isinstance(item, str):
            return item in container
        raise EvalFailure("'in <string>' needs a string on the left")
    if isinstance(container, dict):
        return any(equal(item, k) for k in container)
    if isinstance(container, (list, tuple, set, frozenset)):
        return any(equal(item, x) for x in container)
    if isinstance(container, Record):
        return any(equal(item, k) for k, _ in container.fields)
    raise EvalFailure(f"cannot look inside a {type_name(container)}")


def _regex(pattern: str) -> Pattern:
    return compile_regex(pattern)  # cached there


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    a, b = _norm(a), _norm(b)
    if isinstance(a, EnumValue):
        a = a.value
    if isinstance(b, EnumValue):
        b = b.value
    if a is None or b is None:
        raise EvalFailure("cannot order none")
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    x, y = _number(a), _number(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        return x / y
    return x % y


def _length(v: Any) -> int:
    if isinstance(v, (str, list, tuple, dict, set, frozenset, bytes)):
        return len(v)
    if isinstance(v, Record):
        return len(v.fields)
    raise EvalFailure(f"a {type_name(v)} has no length")


def _extreme(pick: Callable[..., Any], args: list[Any]) -> Any:
    items = args
    if len(args) == 1:
        only = args[0]
        if not isinstance(only, (list, tuple, set, frozenset)):
            raise EvalFailure("min()/max() of one value needs a list")
        items = list(only)
    return pick(_norm(x) for x in items)


def _startswith(s: Any, prefix: Any, end: bool) -> bool:
    if not isinstance(s, str) or not isinstance(prefix, str):
        raise EvalFailure("startswith()/endswith() work on strings")
    return s.endswith(prefix) if end else s.startswith(prefix)


_FUNCS: dict[str, Callable[[list[Any]], Any]] = {
    "len": lambda a: _length(a[0]),
    "type": lambda a: type_name(a[0]),
    "abs": lambda a: abs(_number(a[0])),
    "min": lambda a: _extreme(min, a),
    "max": lambda a: _extreme(max, a),
    "str": lambda a: display(a[0]),
    "contains": lambda a: contains(a[0], a[1]),
    "startswith": lambda a: _startswith(a[0], a[1], False),
    "endswith": lambda a: _startswith(a[0], a[1], True),
}


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
            v = left(s)  # none has no text to search (the event list shows nothing for it)
            return v is not None and rx.search(display(v))

        return match
    return lambda s: _compare(op, left(s), right(s))


def _compile_call(node: Call) -> Fn:
    args = [compile_node(a) for a in node.args]
    if node.func == "changed":
        inner = args[0]
        return lambda s: s.changed(inner)
    impl = _FUNCS[node.func]
    return lambda s: impl([a(s) for a in args])
